"""Typed SQLAlchemy models.

Privacy by design: nothing here can hold a participant's name, birth date, contact details,
location finer than a coarse zone, or free text about a participant. Participant codes arrive
raw from phones but only their keyed hash (``participant_hash``) is ever stored.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm as so
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from outreach.extensions import db


def utcnow() -> datetime:
    """The current time in UTC, without tzinfo (every stored time is naive UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Role(enum.IntEnum):
    """Roles nest: a higher role can do everything a lower one can."""

    WORKER = 1
    SUPERVISOR = 2
    ADMIN = 3

    @property
    def key(self) -> str:
        return self.name.lower()

    @classmethod
    def from_key(cls, key: str) -> Role:
        return cls[key.upper()]


class User(db.Model):
    """A staff account. Participants are never users."""

    __tablename__ = "user"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    role_level: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=Role.WORKER)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    # Changing this token signs the account out of every device at its next request.
    session_token: so.Mapped[str] = so.mapped_column(
        sa.String(32), default=lambda: uuid.uuid4().hex
    )
    failed_logins: so.Mapped[int] = so.mapped_column(default=0)
    last_failed_login_at: so.Mapped[datetime | None]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_login_at: so.Mapped[datetime | None]

    @property
    def role(self) -> Role:
        return Role(self.role_level)

    @role.setter
    def role(self, value: Role) -> None:
        self.role_level = int(value)

    def has_role(self, needed: Role) -> bool:
        return self.role_level >= needed

    def set_password(self, password: str) -> None:
        from flask import current_app

        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def rotate_session_token(self) -> None:
        """End every signed-in session of this account (each carries the old token)."""
        self.session_token = uuid.uuid4().hex

    # The token of the signed-in session this request came with (see outreach.auth.sessions);
    # both cookies carry it, as Flask-Login's user id. Not a column.
    session_key = None
    # Whether that session is locked (the phone's screen lock); set with session_key.
    session_locked = False

    # Flask-Login protocol.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        if not self.session_key:
            raise RuntimeError("Start a session (outreach.auth.sessions.start) before login_user")
        return self.session_key

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.key}>"


class UserSession(db.Model):
    """One signed-in device. Its cookies carry a random token; only the token's hash is here."""

    __tablename__ = "user_session"

    # SHA-256 (hex) of the token, so a copy of the database cannot be replayed as cookies.
    id: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    # The account's session_token when this began: rotating it ends every session at once.
    generation: so.Mapped[str] = so.mapped_column(sa.String(32))
    # "Keep me signed in": lasts from created_at; otherwise from last_seen_at (a shift).
    remember: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_seen_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(index=True)
    revoked_at: so.Mapped[datetime | None]
    # The phone's screen lock, as the server knows it: while set, this session reaches
    # nothing but unlocking, locking and signing out (outreach/auth/lock.py).
    locked_at: so.Mapped[datetime | None]
    # SHA-256 (hex) of the random key the phone sealed under its PIN: handing it back unlocks.
    unlock_key_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    user: so.Mapped[User] = so.relationship()


class RateLimitCounter(db.Model):
    """A rate-limit or sign-in throttle counter shared by every app process and server.

    ``key`` is a keyed hash of what is counted (a user, a client address, a username), so no
    address or unknown username is stored.
    """

    __tablename__ = "rate_limit_counter"

    key: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    # "user:<id>" for sign-in throttles on an account, so a supervisor can lift them.
    scope: so.Mapped[str | None] = so.mapped_column(sa.String(64), index=True)
    count: so.Mapped[int] = so.mapped_column(default=0)
    last_at: so.Mapped[datetime]
    expires_at: so.Mapped[datetime] = so.mapped_column(index=True)


class CatalogMixin:
    """Shared columns of the admin-edited catalogues. Keys never change once used."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    key: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    # Spanish display name; the English name is used when this is empty.
    name_es: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    sort_order: so.Mapped[int] = so.mapped_column(default=0)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)

    def display_name(self, lang: str) -> str:
        if lang == "es" and self.name_es:
            return self.name_es
        return self.name


class SupplyItem(CatalogMixin, db.Model):
    """Something handed out: a syringe size, naloxone, a test strip, a kit."""

    __tablename__ = "supply_item"

    unit: so.Mapped[str] = so.mapped_column(sa.String(32), default="each")
    category: so.Mapped[str] = so.mapped_column(sa.String(32), default="other")
    # Space-separated quick amounts for the logging form, e.g. "10 20 50".
    quick_amounts: so.Mapped[str] = so.mapped_column(sa.String(64), default="1")
    # Counted as syringes distributed (for the distributed vs collected ratio).
    is_syringe: so.Mapped[bool] = so.mapped_column(default=False)
    # Counted as naloxone kits given.
    is_naloxone: so.Mapped[bool] = so.mapped_column(default=False)
    # Doses one unit holds (a nasal kit of two sprays is 2): funders count naloxone in doses.
    doses_per_unit: so.Mapped[int] = so.mapped_column(default=1, server_default="1")
    # Kept in workers' bags (outreach.stock): loaded, handed out, counted at shift end.
    stock_tracked: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    # A bag holding this many or fewer is "running low" on the phone; None: never warned.
    low_stock_threshold: so.Mapped[int | None]


class ReferralType(CatalogMixin, db.Model):
    """A kind of referral a worker can make: treatment, wound care, housing..."""

    __tablename__ = "referral_type"


class Zone(CatalogMixin, db.Model):
    """A coarse named area. Never a point location."""

    __tablename__ = "zone"


class Encounter(db.Model):
    """One anonymous contact with a participant, as logged on a phone."""

    __tablename__ = "encounter"
    __table_args__ = (
        sa.CheckConstraint("people_served >= 1", name="people_served_positive"),
        sa.CheckConstraint("syringes_collected >= 0", name="syringes_collected_nonnegative"),
        sa.CheckConstraint("naloxone_reversals_reported >= 0", name="reversals_nonnegative"),
        sa.Index("ix_encounter_local_date_zone", "local_date", "zone_id"),
        # One participant's visit days (per zone): the roll-ups' participant chains read it,
        # and so do returning-participant counts.
        sa.Index("ix_encounter_participant_day", "participant_hash", "local_date", "zone_id"),
    )

    # Made on the phone at save time; the idempotency key of the sync API.
    id: so.Mapped[uuid.UUID] = so.mapped_column(sa.Uuid, primary_key=True)
    occurred_at: so.Mapped[datetime] = so.mapped_column(index=True)
    # The day it happened in PROGRAM_TIMEZONE, fixed at ingest so reports group by local day.
    local_date: so.Mapped[date]
    zone_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("zone.id"))
    # HMAC-SHA256 of the normalised participant code (hex); the raw code is never stored.
    participant_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    people_served: so.Mapped[int] = so.mapped_column(default=1)
    syringes_collected: so.Mapped[int] = so.mapped_column(default=0)
    naloxone_reversals_reported: so.Mapped[int] = so.mapped_column(default=0)
    # Collected syringes weighed instead of counted, in grams (0: none weighed).
    syringes_collected_grams: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    worker_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    received_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    voided_at: so.Mapped[datetime | None]
    voided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    void_reason: so.Mapped[str | None] = so.mapped_column(sa.String(200))

    zone: so.Mapped[Zone | None] = so.relationship()
    worker: so.Mapped[User | None] = so.relationship(foreign_keys=[worker_id])
    supplies: so.Mapped[list[EncounterSupply]] = so.relationship(
        back_populates="encounter", cascade="all, delete-orphan"
    )
    referrals: so.Mapped[list[EncounterReferral]] = so.relationship(
        back_populates="encounter", cascade="all, delete-orphan"
    )


class EncounterSupply(db.Model):
    """How many of one item were handed out in one encounter."""

    __tablename__ = "encounter_supply"
    __table_args__ = (sa.CheckConstraint("quantity >= 1", name="quantity_positive"),)

    encounter_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("encounter.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("supply_item.id"), primary_key=True, index=True
    )
    quantity: so.Mapped[int]

    encounter: so.Mapped[Encounter] = so.relationship(back_populates="supplies")
    item: so.Mapped[SupplyItem] = so.relationship()


class EncounterReferral(db.Model):
    """A referral made during one encounter."""

    __tablename__ = "encounter_referral"

    encounter_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("encounter.id", ondelete="CASCADE"), primary_key=True
    )
    referral_type_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("referral_type.id"), primary_key=True, index=True
    )

    encounter: so.Mapped[Encounter] = so.relationship(back_populates="referrals")
    referral_type: so.Mapped[ReferralType] = so.relationship()


class OverdoseResponse(db.Model):
    """An overdose a worker responded to or heard of: when, where (coarse zone), naloxone
    doses, who gave them, whether EMS was called and the outcome. Choices only: no names
    and no free text about the people involved."""

    __tablename__ = "overdose_response"
    __table_args__ = (
        sa.CheckConstraint("naloxone_doses >= 0", name="naloxone_doses_nonnegative"),
        sa.CheckConstraint("ems_called IN ('yes', 'no', 'unknown')", name="ems_called_choice"),
        sa.CheckConstraint(
            "outcome IN ('alive', 'transported', 'died', 'unknown')", name="outcome_choice"
        ),
        sa.Index("ix_overdose_response_local_date_zone", "local_date", "zone_id"),
    )

    # Made on the phone at save time; the idempotency key of the sync API.
    id: so.Mapped[uuid.UUID] = so.mapped_column(sa.Uuid, primary_key=True)
    occurred_at: so.Mapped[datetime]
    # The day it happened in PROGRAM_TIMEZONE, fixed at ingest (as for encounters).
    local_date: so.Mapped[date]
    zone_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("zone.id"))
    naloxone_doses: so.Mapped[int] = so.mapped_column(default=0)
    # Who gave naloxone: one flag per kind of giver (none set: nobody, or not known).
    given_by_worker: so.Mapped[bool] = so.mapped_column(default=False)
    given_by_participant: so.Mapped[bool] = so.mapped_column(default=False)
    given_by_bystander: so.Mapped[bool] = so.mapped_column(default=False)
    given_by_ems: so.Mapped[bool] = so.mapped_column(default=False)
    ems_called: so.Mapped[str] = so.mapped_column(sa.String(8))
    outcome: so.Mapped[str] = so.mapped_column(sa.String(12))
    worker_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    received_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    voided_at: so.Mapped[datetime | None]
    voided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    void_reason: so.Mapped[str | None] = so.mapped_column(sa.String(200))

    zone: so.Mapped[Zone | None] = so.relationship()
    worker: so.Mapped[User | None] = so.relationship(foreign_keys=[worker_id])


class StockEvent(db.Model):
    """A worker's bag changing: a load-out, an end-of-shift count, or an adjustment.

    Made on the phone with a UUID (the idempotency key, as for encounters). What a bag holds
    is worked out when read (outreach.stock.ledger), never stored, so a record arriving late
    changes the figures instead of leaving them wrong.
    """

    __tablename__ = "stock_event"

    id: so.Mapped[uuid.UUID] = so.mapped_column(sa.Uuid, primary_key=True)
    # "load", "count" or "adjustment" (outreach.stock.contract.EVENT_TYPES).
    type: so.Mapped[str] = so.mapped_column(sa.String(16))
    worker_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    occurred_at: so.Mapped[datetime]
    # The day in PROGRAM_TIMEZONE, fixed at ingest, as for encounters.
    local_date: so.Mapped[date] = so.mapped_column(index=True)
    received_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    # Voided by a supervisor (outreach.stock.voids): kept, but no bag counts it.
    voided_at: so.Mapped[datetime | None]
    voided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    void_reason: so.Mapped[str | None] = so.mapped_column(sa.String(200))

    worker: so.Mapped[User] = so.relationship(foreign_keys=[worker_id])
    lines: so.Mapped[list[StockEventLine]] = so.relationship(
        back_populates="event", cascade="all, delete-orphan"
    )


class StockEventLine(db.Model):
    """One item of a stock event.

    ``quantity``: loaded (load), counted in the bag (count), or taken out of the bag
    (adjustment). ``expected``: for a count, what the phone expected the bag to hold.
    ``reason``: why the bag holds less than expected (outreach.stock.contract.REASONS).
    """

    __tablename__ = "stock_event_line"
    __table_args__ = (sa.CheckConstraint("quantity >= 0", name="quantity_nonnegative"),)

    event_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("stock_event.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("supply_item.id"), primary_key=True, index=True
    )
    quantity: so.Mapped[int]
    expected: so.Mapped[int | None]
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(16))

    event: so.Mapped[StockEvent] = so.relationship(back_populates="lines")
    item: so.Mapped[SupplyItem] = so.relationship()


class AuditEvent(db.Model):
    """Who did what and when, for every admin action and every void."""

    __tablename__ = "audit_event"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow, index=True)
    # Null when the action came from the command line.
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    action: so.Mapped[str] = so.mapped_column(sa.String(64))
    target_type: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    target_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # Structured details (names, old and new values); never participant data.
    details: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)

    actor: so.Mapped[User | None] = so.relationship()


directory_service_referral = sa.Table(
    "directory_service_referral",
    db.metadata,
    sa.Column(
        "service_id",
        sa.ForeignKey("directory_service.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("referral_type_id", sa.ForeignKey("referral_type.id"), primary_key=True),
)


class DirectoryService(db.Model):
    """A local service participants can be referred to."""

    __tablename__ = "directory_service"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(160))
    address: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    phone: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    # {"mon": [["09:00", "17:00"]], "tue": [], ...} in PROGRAM_TIMEZONE; a range whose end
    # is earlier than its start runs past midnight.
    hours: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    languages: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    # "walk_in", "appointment" or "both".
    access: so.Mapped[str] = so.mapped_column(sa.String(16), default="walk_in")
    public_notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # Never shown publicly nor cached for signed-out visitors.
    staff_notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)

    referral_types: so.Mapped[list[ReferralType]] = so.relationship(
        secondary=directory_service_referral
    )


class Card(db.Model):
    """A safety card rendered from the Markdown content files at seed time."""

    __tablename__ = "card"
    __table_args__ = (sa.UniqueConstraint("slug", "lang", name="uq_card_slug_lang"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(80))
    lang: so.Mapped[str] = so.mapped_column(sa.String(8))
    title: so.Mapped[str] = so.mapped_column(sa.String(160))
    summary: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    category: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    sort_order: so.Mapped[int] = so.mapped_column(default=0)
    # Sanitised HTML made from the Markdown body.
    body_html: so.Mapped[str] = so.mapped_column(sa.Text)
    sources: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    reviewed: so.Mapped[date]
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)


# Daily roll-ups: what reports read. They are kept in step with the encounter tables in the
# same transaction by outreach.encounters.rollups (ingest and voids) and can be rebuilt
# from them at any time (``flask --app outreach reports rebuild``). Zone and catalogue ids are
# plain integers without foreign keys, so that "no zone" can be a key part: NO_ZONE (0).

NO_ZONE = 0
# Participant chains are kept per zone and for the whole program under this id.
ALL_ZONES = -1
# prev_date of a participant's first visit ever (in the chain's scope).
FIRST_VISIT = date(1, 1, 1)
# On SQLite the rows live in primary-key order, so a date range is one contiguous read.
WITHOUT_ROWID = {"sqlite_with_rowid": False}


class ProgramSetting(db.Model):
    """A setting the admin changes in /admin (not the environment): one row per key."""

    __tablename__ = "program_setting"

    key: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    value: so.Mapped[str] = so.mapped_column(sa.String(255))
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)


class ReportDay(db.Model):
    """Totals of the non-voided encounters of one local day in one zone."""

    __tablename__ = "report_day"
    __table_args__ = dict(WITHOUT_ROWID)

    local_date: so.Mapped[date] = so.mapped_column(primary_key=True)
    zone_id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    encounters: so.Mapped[int] = so.mapped_column(default=0)
    people_served: so.Mapped[int] = so.mapped_column(default=0)
    syringes_collected: so.Mapped[int] = so.mapped_column(default=0)
    naloxone_reversals_reported: so.Mapped[int] = so.mapped_column(default=0)
    syringes_collected_grams: so.Mapped[int] = so.mapped_column(default=0, server_default="0")


class ReportDaySupply(db.Model):
    """Quantity of one item handed out on one day in one zone, and in how many encounters."""

    __tablename__ = "report_day_supply"
    __table_args__ = dict(WITHOUT_ROWID)

    local_date: so.Mapped[date] = so.mapped_column(primary_key=True)
    zone_id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    item_id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    encounters: so.Mapped[int] = so.mapped_column(default=0)
    quantity: so.Mapped[int] = so.mapped_column(default=0)


class ReportDayReferral(db.Model):
    """Encounters with one referral type on one day in one zone."""

    __tablename__ = "report_day_referral"
    __table_args__ = dict(WITHOUT_ROWID)

    local_date: so.Mapped[date] = so.mapped_column(primary_key=True)
    zone_id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    referral_type_id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    encounters: so.Mapped[int] = so.mapped_column(default=0)


class ReportParticipantDay(db.Model):
    """Participant visit chains, counted: makes distinct participants over any period a sum.

    For each participant and scope (a zone, NO_ZONE, or ALL_ZONES), the days with at least
    one non-voided encounter form a chain d1 < d2 < ...; each day counts once under
    (local_date=d_k, prev_date=d_(k-1)), the first under prev_date=FIRST_VISIT. A participant
    seen in [start, end] has exactly one visit day there whose previous visit is before
    start, so distinct participants = sum over local_date in [start, end], prev_date < start;
    returning ones (seen before start) are those with prev_date > FIRST_VISIT.
    """

    __tablename__ = "report_participant_day"
    __table_args__ = dict(WITHOUT_ROWID)

    zone_id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    local_date: so.Mapped[date] = so.mapped_column(primary_key=True)
    prev_date: so.Mapped[date] = so.mapped_column(primary_key=True)
    participants: so.Mapped[int] = so.mapped_column(default=0)


ROLLUP_MODELS = (ReportDay, ReportDaySupply, ReportDayReferral, ReportParticipantDay)


class FunderCategoryMap(db.Model):
    """Where one catalogue entry counts in one funder template (set by an admin in /admin).

    Without a row, the template's own defaults decide (``outreach.funder.mapping``); a row
    with an empty category keeps the entry out of that template's figures.
    """

    __tablename__ = "funder_category_map"

    template_key: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    # "supplies" (supply_item ids) or "referrals" (referral_type ids): two catalogues, so no
    # foreign key; catalogue entries are deactivated, never deleted.
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), primary_key=True)
    entry_id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    category: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
