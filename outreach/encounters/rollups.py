"""Daily roll-ups: kept in step with ingest and voids, in the same transaction.

Reports read these small tables instead of scanning every encounter (see bench/README.md).
Everything here works on a SQLAlchemy Core connection that is already inside the writing
transaction, so the roll-ups can never disagree with the encounters they summarise.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import date

import sqlalchemy as sa

from outreach.database import dialect_insert
from outreach.encounters.records import CleanEncounter
from outreach.models import ALL_ZONES
from outreach.models import FIRST_VISIT
from outreach.models import NO_ZONE
from outreach.models import ROLLUP_MODELS
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.models import ReportDay
from outreach.models import ReportDayReferral
from outreach.models import ReportDaySupply
from outreach.models import ReportParticipantDay

# Namespace of the PostgreSQL advisory locks that serialise changes to one participant's
# visit chain (two transactions adding visits of one participant must not both read the
# chain before either writes it). SQLite needs none: its writers take the lock at BEGIN.
ADVISORY_LOCK_NAMESPACE = 0x0E7C
# Participants read per query when loading visit days.
HASH_CHUNK = 500

encounter = Encounter.__table__
encounter_supply = EncounterSupply.__table__
encounter_referral = EncounterReferral.__table__
report_day = ReportDay.__table__
report_day_supply = ReportDaySupply.__table__
report_day_referral = ReportDayReferral.__table__
report_participant_day = ReportParticipantDay.__table__


def _zone_key(c: CleanEncounter) -> int:
    return NO_ZONE if c.zone_id is None else c.zone_id


def read_encounter(connection: sa.Connection, encounter_id: uuid.UUID) -> CleanEncounter:
    """The stored encounter with its lines, read through ``connection`` (to void it)."""
    row = connection.execute(
        sa.select(
            encounter.c.id,
            encounter.c.occurred_at,
            encounter.c.local_date,
            encounter.c.zone_id,
            encounter.c.participant_hash,
            encounter.c.people_served,
            encounter.c.syringes_collected,
            encounter.c.naloxone_reversals_reported,
            encounter.c.syringes_collected_grams,
        ).where(encounter.c.id == encounter_id)
    ).one()
    supplies = dict(
        connection.execute(
            sa.select(encounter_supply.c.item_id, encounter_supply.c.quantity).where(
                encounter_supply.c.encounter_id == encounter_id
            )
        ).all()
    )
    referrals = list(
        connection.scalars(
            sa.select(encounter_referral.c.referral_type_id).where(
                encounter_referral.c.encounter_id == encounter_id
            )
        )
    )
    return CleanEncounter(*row, supplies=supplies, referral_type_ids=referrals)


def apply(connection: sa.Connection, contributions: Iterable[CleanEncounter], sign: int) -> None:
    """Add (sign=+1, after inserting) or remove (sign=-1, after voiding) encounters.

    Call it after the encounter rows themselves changed, inside the same transaction.
    """
    contributions = list(contributions)
    if not contributions:
        return
    # Lock first: whoever holds these locks has finished inserting, and takes row locks on
    # roll-up rows (in sorted order) only afterwards, so concurrent syncs cannot deadlock.
    chain_deltas = _participant_chain_deltas(connection, contributions, sign)
    day, supply, referral = _counter_deltas(contributions, sign)
    _upsert(connection, report_day, day)
    _upsert(connection, report_day_supply, supply)
    _upsert(connection, report_day_referral, referral)
    _upsert(connection, report_participant_day, chain_deltas)
    if sign < 0 or any(v["participants"] < 0 for v in chain_deltas.values()):
        _delete_empty(connection, report_day, day, "encounters")
        _delete_empty(connection, report_day_supply, supply, "encounters")
        _delete_empty(connection, report_day_referral, referral, "encounters")
        _delete_empty(connection, report_participant_day, chain_deltas, "participants")


def _counter_deltas(contributions: list[CleanEncounter], sign: int):
    # Plain dicts of running sums: Counter.update per record was a visible cost of ingest.
    day: dict[tuple, list[int]] = {}
    supply: dict[tuple, list[int]] = {}
    referral: dict[tuple, int] = {}
    for c in contributions:
        key = (c.local_date, _zone_key(c))
        totals = day.get(key)
        if totals is None:
            totals = day[key] = [0, 0, 0, 0, 0]
        totals[0] += sign
        totals[1] += sign * c.people_served
        totals[2] += sign * c.syringes_collected
        totals[3] += sign * c.naloxone_reversals_reported
        totals[4] += sign * c.syringes_collected_grams
        for item_id, quantity in c.supplies.items():
            line = supply.get((*key, item_id))
            if line is None:
                line = supply[(*key, item_id)] = [0, 0]
            line[0] += sign
            line[1] += sign * quantity
        for referral_type_id in set(c.referral_type_ids):
            referral_key = (*key, referral_type_id)
            referral[referral_key] = referral.get(referral_key, 0) + sign
    day_columns = ("encounters", "people_served", "syringes_collected")
    day_columns += ("naloxone_reversals_reported", "syringes_collected_grams")
    return (
        {key: dict(zip(day_columns, totals, strict=True)) for key, totals in day.items()},
        {key: {"encounters": n, "quantity": q} for key, (n, q) in supply.items()},
        {key: {"encounters": n} for key, n in referral.items()},
    )


def _participant_chain_deltas(
    connection: sa.Connection, contributions: list[CleanEncounter], sign: int
) -> dict[tuple, dict[str, int]]:
    """How the participant visit chains change, by comparing them before and after."""
    # Per participant and scope: the batch's records per day.
    changed: dict[tuple[str, int], dict[date, int]] = {}
    for c in contributions:
        if c.participant_hash is None:
            continue
        for scope in (ALL_ZONES, _zone_key(c)):
            days = changed.setdefault((c.participant_hash, scope), {})
            days[c.local_date] = days.get(c.local_date, 0) + 1
    if not changed:
        return {}
    hashes = sorted({h for h, _scope in changed})
    if connection.dialect.name == "postgresql":
        keys = sorted({int(h[:7], 16) for h in hashes})
        connection.execute(
            sa.text(
                "SELECT pg_advisory_xact_lock(:namespace, k)"
                " FROM unnest(CAST(:keys AS integer[])) AS k"
            ),
            {"namespace": ADVISORY_LOCK_NAMESPACE, "keys": keys},
        )

    # Visit days now (this transaction's own change included), per participant and scope.
    after: dict[tuple[str, int], dict[date, int]] = {}
    for participant, zone_id, local_date, count in _visit_days(connection, hashes):
        for chain_key in ((participant, ALL_ZONES), (participant, zone_id)):
            days = after.setdefault(chain_key, {})
            days[local_date] = days.get(local_date, 0) + count

    deltas: dict[tuple, int] = {}
    for chain_key, batch_days in changed.items():
        now_days = after.get(chain_key, {})
        scope = chain_key[1]
        # Only the batch's days differ between before and now. Those that start (sign +1)
        # or stop (sign -1) being a visit day change the chain; a participant seen again on
        # a visit day (the usual case within a day) leaves it as it was.
        flipped = {
            day
            for day, count in batch_days.items()
            if (now_days.get(day, 0) > 0) != (now_days.get(day, 0) - sign * count > 0)
        }
        if not flipped:
            continue
        # The longer of the two chains holds the flipped days; the other is it without them.
        visit_days = [day for day, count in now_days.items() if count > 0]
        longer = sorted(visit_days) if sign > 0 else sorted({*visit_days, *flipped})
        gained, lost = _chain_difference(longer, flipped)
        for pair in gained:
            deltas[(scope, *pair)] = deltas.get((scope, *pair), 0) + sign
        for pair in lost:
            deltas[(scope, *pair)] = deltas.get((scope, *pair), 0) - sign
    return {key: {"participants": n} for key, n in deltas.items() if n}


def _chain_difference(
    longer: list[date], removed: set[date]
) -> tuple[list[tuple[date, date]], list[tuple[date, date]]]:
    """The (day, previous day) pairs only in the chain ``longer``, and those only in the
    chain ``longer`` without the days ``removed`` (all of which are in ``longer``).

    The same as comparing ``_chain_pairs`` of both chains, but looking only around the
    removed days (found by bisection), not along the whole chain: a pair changes only when
    it holds a removed day, or when a run of removed days separates a day from its previous.
    """
    positions = sorted(bisect.bisect_left(longer, day) for day in removed)
    marked = set(positions)
    last = len(longer) - 1
    only_longer, only_shorter = [], []
    for i in positions:
        previous = longer[i - 1] if i else FIRST_VISIT
        only_longer.append((longer[i], previous))
        if i < last and i + 1 not in marked:
            only_longer.append((longer[i + 1], longer[i]))
        if i - 1 in marked:
            continue
        # The first removed day of a run: the day after the run follows the day before it.
        end = i
        while end + 1 in marked:
            end += 1
        if end < last:
            only_shorter.append((longer[end + 1], previous))
    return only_longer, only_shorter


def _visit_days(connection: sa.Connection, hashes: list[str]) -> Iterator[tuple]:
    """(participant hash, zone id or NO_ZONE, local day, live encounters) for every day the
    participants ``hashes`` were seen.

    Written for the driver (``ix_encounter_participant_day`` answers it): built with
    SQLAlchemy, the statement spent more time coercing and rendering its hundreds of hashes
    than the database spent answering it. Days come back through the column type's result
    processor, as SQLAlchemy would return them.
    """
    dialect = connection.dialect
    to_date = encounter.c.local_date.type.dialect_impl(dialect).result_processor(dialect, None)
    select = (
        "SELECT participant_hash, COALESCE(zone_id, %d), local_date, COUNT(*) FROM encounter "
        "WHERE participant_hash %s AND voided_at IS NULL "
        "GROUP BY participant_hash, COALESCE(zone_id, %d), local_date"
    )
    for start in range(0, len(hashes), HASH_CHUNK):
        chunk = hashes[start : start + HASH_CHUNK]
        if dialect.name == "postgresql":
            # One array parameter: planned much faster than a long IN list.
            condition, parameters = "= ANY(%s::varchar[])", (chunk,)
        else:
            condition, parameters = f"IN ({', '.join('?' * len(chunk))})", tuple(chunk)
        rows = connection.exec_driver_sql(select % (NO_ZONE, condition, NO_ZONE), parameters)
        if to_date is None:
            yield from rows
        else:
            for participant, zone_id, local_date, count in rows:
                yield participant, zone_id, to_date(local_date), count


def _chain_pairs(days: Mapping[date, int]) -> list[tuple[date, date]]:
    ordered = sorted(d for d, count in days.items() if count > 0)
    return list(zip(ordered, [FIRST_VISIT, *ordered], strict=False))


def _upsert(
    connection: sa.Connection, table: sa.Table, deltas: Mapping[tuple, Mapping[str, int]]
) -> None:
    """Add each delta to its row, creating rows as needed, in key order (no deadlocks)."""
    rows = []
    key_columns = [c.name for c in table.primary_key.columns]
    value_columns = [c.name for c in table.columns if not c.primary_key]
    for key in sorted(deltas):
        values = deltas[key]
        if not any(values.values()):
            continue
        rows.append(
            dict(zip(key_columns, key, strict=True)) | {c: values[c] for c in value_columns}
        )
    if not rows:
        return
    statement = dialect_insert(connection, table)
    statement = statement.on_conflict_do_update(
        index_elements=key_columns,
        set_={c: table.c[c] + statement.excluded[c] for c in value_columns},
    )
    connection.execute(statement, rows)


def _delete_empty(
    connection: sa.Connection,
    table: sa.Table,
    deltas: Mapping[tuple, Mapping[str, int]],
    column: str,
) -> None:
    keys = [key for key, values in deltas.items() if values[column] < 0]
    if not keys:
        return
    key_columns = [c.name for c in table.primary_key.columns]
    statement = sa.delete(table).where(
        table.c[column] <= 0,
        *(table.c[name] == sa.bindparam(f"k_{name}") for name in key_columns),
    )
    connection.execute(
        statement,
        [{f"k_{n}": v for n, v in zip(key_columns, key, strict=True)} for key in sorted(keys)],
    )


def rebuild(connection: sa.Connection) -> None:
    """Recompute every roll-up from the encounter tables (demo data, repairs)."""
    for model in ROLLUP_MODELS:
        connection.execute(sa.delete(model.__table__))
    live = encounter.c.voided_at.is_(None)
    zone = sa.func.coalesce(encounter.c.zone_id, sa.literal_column(str(NO_ZONE)))

    connection.execute(
        sa.insert(report_day).from_select(
            [
                "local_date",
                "zone_id",
                "encounters",
                "people_served",
                "syringes_collected",
                "naloxone_reversals_reported",
                "syringes_collected_grams",
            ],
            sa.select(
                encounter.c.local_date,
                zone,
                sa.func.count(),
                sa.func.sum(encounter.c.people_served),
                sa.func.sum(encounter.c.syringes_collected),
                sa.func.sum(encounter.c.naloxone_reversals_reported),
                sa.func.sum(encounter.c.syringes_collected_grams),
            )
            .where(live)
            .group_by(encounter.c.local_date, zone),
        )
    )
    connection.execute(
        sa.insert(report_day_supply).from_select(
            ["local_date", "zone_id", "item_id", "encounters", "quantity"],
            sa.select(
                encounter.c.local_date,
                zone,
                encounter_supply.c.item_id,
                sa.func.count(),
                sa.func.sum(encounter_supply.c.quantity),
            )
            .join_from(encounter_supply, encounter)
            .where(live)
            .group_by(encounter.c.local_date, zone, encounter_supply.c.item_id),
        )
    )
    connection.execute(
        sa.insert(report_day_referral).from_select(
            ["local_date", "zone_id", "referral_type_id", "encounters"],
            sa.select(
                encounter.c.local_date,
                zone,
                encounter_referral.c.referral_type_id,
                sa.func.count(),
            )
            .join_from(encounter_referral, encounter)
            .where(live)
            .group_by(encounter.c.local_date, zone, encounter_referral.c.referral_type_id),
        )
    )
    coded = sa.and_(live, encounter.c.participant_hash.is_not(None))
    visits = sa.union_all(
        sa.select(encounter.c.participant_hash, zone.label("scope"), encounter.c.local_date)
        .where(coded)
        .distinct(),
        sa.select(
            encounter.c.participant_hash,
            sa.literal(ALL_ZONES, sa.Integer).label("scope"),
            encounter.c.local_date,
        )
        .where(coded)
        .distinct(),
    ).subquery("visits")
    chained = sa.select(
        visits.c.scope,
        visits.c.local_date,
        sa.func.coalesce(
            sa.func.lag(visits.c.local_date).over(
                partition_by=[visits.c.scope, visits.c.participant_hash],
                order_by=visits.c.local_date,
            ),
            sa.literal(FIRST_VISIT, sa.Date),
        ).label("prev_date"),
    ).subquery("chained")
    prev = chained.c.prev_date
    connection.execute(
        sa.insert(report_participant_day).from_select(
            ["zone_id", "local_date", "prev_date", "participants"],
            sa.select(chained.c.scope, chained.c.local_date, prev, sa.func.count()).group_by(
                chained.c.scope, chained.c.local_date, prev
            ),
        )
    )


def snapshot(connection: sa.Connection) -> dict[str, set[tuple]]:
    """Every non-empty roll-up row, to compare the kept roll-ups with a rebuild."""
    result = {}
    for model in ROLLUP_MODELS:
        table = model.__table__
        count_column = "participants" if model is ReportParticipantDay else "encounters"
        rows = connection.execute(sa.select(table).where(table.c[count_column] != 0))
        result[table.name] = {tuple(row) for row in rows}
    return result
