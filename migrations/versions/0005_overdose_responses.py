"""overdose responses

Revision ID: 0005_overdose
Revises: 0004_ssp
Create Date: 2026-11-29 23:10:00

Adds ``overdose_response``: an overdose a worker responded to or heard of (when, zone,
naloxone doses, who gave them, whether EMS was called, the outcome). Choices only; no names
and no free text. Synced from phones under the same idempotent contract as encounters.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_overdose'
down_revision = '0004_ssp'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('overdose_response',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('zone_id', sa.Integer(), nullable=True),
    sa.Column('naloxone_doses', sa.Integer(), nullable=False),
    sa.Column('given_by_worker', sa.Boolean(), nullable=False),
    sa.Column('given_by_participant', sa.Boolean(), nullable=False),
    sa.Column('given_by_bystander', sa.Boolean(), nullable=False),
    sa.Column('given_by_ems', sa.Boolean(), nullable=False),
    sa.Column('ems_called', sa.String(length=8), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('voided_at', sa.DateTime(), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('void_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("ems_called IN ('yes', 'no', 'unknown')", name=op.f('ck_overdose_response_ems_called_choice')),
    sa.CheckConstraint("outcome IN ('alive', 'transported', 'died', 'unknown')", name=op.f('ck_overdose_response_outcome_choice')),
    sa.CheckConstraint('naloxone_doses >= 0', name=op.f('ck_overdose_response_naloxone_doses_nonnegative')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['user.id'], name=op.f('fk_overdose_response_voided_by_id_user')),
    sa.ForeignKeyConstraint(['worker_id'], ['user.id'], name=op.f('fk_overdose_response_worker_id_user')),
    sa.ForeignKeyConstraint(['zone_id'], ['zone.id'], name=op.f('fk_overdose_response_zone_id_zone')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overdose_response'))
    )
    with op.batch_alter_table('overdose_response', schema=None) as batch_op:
        batch_op.create_index('ix_overdose_response_local_date_zone', ['local_date', 'zone_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_overdose_response_worker_id'), ['worker_id'], unique=False)


def downgrade():
    op.drop_table('overdose_response')
