"""report rollups: daily totals and participant visit chains, kept in step by the app

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 20:13:43.146295

Adds the four roll-up tables reports read (see outreach.reports.rollups), fills them from
the encounters already stored, and widens the participant index to (hash, day, zone), which
the roll-ups' participant chains and returning-participant counts look up.
"""
from datetime import date

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Same constants as outreach.models; copied so this migration never changes with the app.
NO_ZONE = 0
ALL_ZONES = -1
FIRST_VISIT = date(1, 1, 1)


def upgrade():
    op.create_table('report_day',
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('zone_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('encounters', sa.Integer(), nullable=False),
    sa.Column('people_served', sa.Integer(), nullable=False),
    sa.Column('syringes_collected', sa.Integer(), nullable=False),
    sa.Column('naloxone_reversals_reported', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('local_date', 'zone_id', name=op.f('pk_report_day')),
    sqlite_with_rowid=False,
    )
    op.create_table('report_day_referral',
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('zone_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('referral_type_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('encounters', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('local_date', 'zone_id', 'referral_type_id', name=op.f('pk_report_day_referral')),
    sqlite_with_rowid=False,
    )
    op.create_table('report_day_supply',
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('zone_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('item_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('encounters', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('local_date', 'zone_id', 'item_id', name=op.f('pk_report_day_supply')),
    sqlite_with_rowid=False,
    )
    op.create_table('report_participant_day',
    sa.Column('zone_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('prev_date', sa.Date(), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('zone_id', 'local_date', 'prev_date', name=op.f('pk_report_participant_day')),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('encounter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_encounter_participant_hash'))
        batch_op.create_index('ix_encounter_participant_day', ['participant_hash', 'local_date', 'zone_id'], unique=False)

    _backfill()


def _backfill():
    """Fill the roll-ups from the encounters already stored (voided ones excluded)."""
    encounter = sa.table(
        'encounter',
        sa.column('id', sa.Uuid()),
        sa.column('local_date', sa.Date()),
        sa.column('zone_id', sa.Integer()),
        sa.column('participant_hash', sa.String()),
        sa.column('people_served', sa.Integer()),
        sa.column('syringes_collected', sa.Integer()),
        sa.column('naloxone_reversals_reported', sa.Integer()),
        sa.column('voided_at', sa.DateTime()),
    )
    supply = sa.table('encounter_supply', sa.column('encounter_id', sa.Uuid()), sa.column('item_id', sa.Integer()), sa.column('quantity', sa.Integer()))
    referral = sa.table('encounter_referral', sa.column('encounter_id', sa.Uuid()), sa.column('referral_type_id', sa.Integer()))
    live = encounter.c.voided_at.is_(None)
    zone = sa.func.coalesce(encounter.c.zone_id, sa.literal_column(str(NO_ZONE)))

    op.execute(
        sa.table('report_day', *(sa.column(n) for n in ('local_date', 'zone_id', 'encounters', 'people_served', 'syringes_collected', 'naloxone_reversals_reported')))
        .insert()
        .from_select(
            ['local_date', 'zone_id', 'encounters', 'people_served', 'syringes_collected', 'naloxone_reversals_reported'],
            sa.select(encounter.c.local_date, zone, sa.func.count(), sa.func.sum(encounter.c.people_served), sa.func.sum(encounter.c.syringes_collected), sa.func.sum(encounter.c.naloxone_reversals_reported))
            .where(live)
            .group_by(encounter.c.local_date, zone),
        )
    )
    joined_supply = supply.join(encounter, supply.c.encounter_id == encounter.c.id)
    op.execute(
        sa.table('report_day_supply', *(sa.column(n) for n in ('local_date', 'zone_id', 'item_id', 'encounters', 'quantity')))
        .insert()
        .from_select(
            ['local_date', 'zone_id', 'item_id', 'encounters', 'quantity'],
            sa.select(encounter.c.local_date, zone, supply.c.item_id, sa.func.count(), sa.func.sum(supply.c.quantity))
            .select_from(joined_supply)
            .where(live)
            .group_by(encounter.c.local_date, zone, supply.c.item_id),
        )
    )
    joined_referral = referral.join(encounter, referral.c.encounter_id == encounter.c.id)
    op.execute(
        sa.table('report_day_referral', *(sa.column(n) for n in ('local_date', 'zone_id', 'referral_type_id', 'encounters')))
        .insert()
        .from_select(
            ['local_date', 'zone_id', 'referral_type_id', 'encounters'],
            sa.select(encounter.c.local_date, zone, referral.c.referral_type_id, sa.func.count())
            .select_from(joined_referral)
            .where(live)
            .group_by(encounter.c.local_date, zone, referral.c.referral_type_id),
        )
    )
    coded = sa.and_(live, encounter.c.participant_hash.is_not(None))
    visits = sa.union_all(
        sa.select(encounter.c.participant_hash, zone.label('scope'), encounter.c.local_date).where(coded).distinct(),
        sa.select(encounter.c.participant_hash, sa.literal(ALL_ZONES, sa.Integer).label('scope'), encounter.c.local_date).where(coded).distinct(),
    ).subquery('visits')
    chained = sa.select(
        visits.c.scope,
        visits.c.local_date,
        sa.func.coalesce(
            sa.func.lag(visits.c.local_date).over(partition_by=[visits.c.scope, visits.c.participant_hash], order_by=visits.c.local_date),
            sa.literal(FIRST_VISIT, sa.Date),
        ).label('prev_date'),
    ).subquery('chained')
    prev = chained.c.prev_date
    op.execute(
        sa.table('report_participant_day', *(sa.column(n) for n in ('zone_id', 'local_date', 'prev_date', 'participants')))
        .insert()
        .from_select(
            ['zone_id', 'local_date', 'prev_date', 'participants'],
            sa.select(chained.c.scope, chained.c.local_date, prev, sa.func.count()).group_by(chained.c.scope, chained.c.local_date, prev),
        )
    )


def downgrade():
    with op.batch_alter_table('encounter', schema=None) as batch_op:
        batch_op.drop_index('ix_encounter_participant_day')
        batch_op.create_index(batch_op.f('ix_encounter_participant_hash'), ['participant_hash'], unique=False)

    op.drop_table('report_participant_day')
    op.drop_table('report_day_supply')
    op.drop_table('report_day_referral')
    op.drop_table('report_day')
