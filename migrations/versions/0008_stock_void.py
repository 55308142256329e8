"""voiding a stock event entered by mistake

Revision ID: 0008_stock_void
Revises: 0007_funder
Create Date: 2026-11-30 02:40:00

Adds ``stock_event.voided_at``, ``voided_by_id`` (the supervisor) and ``void_reason``, as
encounters and overdose responses have them: a voided event stays stored and no bag counts
it. Every stored event stays as it is (not voided).

On SQLite the columns are added and dropped in place (ALTER TABLE … ADD/DROP COLUMN), never
by batch mode's copy of the table: dropping the old stock_event with foreign keys on deletes
every stock_event_line (ON DELETE CASCADE). So the foreign key is written in the column
itself, which DROP COLUMN removes with it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_stock_void'
down_revision = '0007_funder'
branch_labels = None
depends_on = None

FK = 'fk_stock_event_voided_by_id_user'


def _sqlite():
    return op.get_bind().dialect.name == 'sqlite'


def upgrade():
    op.add_column('stock_event', sa.Column('voided_at', sa.DateTime(), nullable=True))
    if _sqlite():
        op.execute(
            'ALTER TABLE stock_event ADD COLUMN voided_by_id INTEGER '
            f'CONSTRAINT {FK} REFERENCES "user" (id)'
        )
    else:
        op.add_column('stock_event', sa.Column('voided_by_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(FK), 'stock_event', 'user', ['voided_by_id'], ['id'])
    op.add_column('stock_event', sa.Column('void_reason', sa.String(length=200), nullable=True))


def downgrade():
    if not _sqlite():
        op.drop_constraint(op.f(FK), 'stock_event', type_='foreignkey')
    with op.batch_alter_table('stock_event', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_by_id')
        batch_op.drop_column('voided_at')
