"""the bag: per-worker stock events; tracked supply items and their thresholds

Revision ID: 0006_stock
Revises: 0005_overdose
Create Date: 2026-11-29 23:20:00

Adds ``supply_item.stock_tracked`` (false for every existing item) and
``supply_item.low_stock_threshold`` (none), and the tables ``stock_event`` (a load-out,
count or adjustment made on a phone with its UUID) and ``stock_event_line`` (its items).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_stock'
down_revision = '0005_overdose'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('supply_item', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('stock_tracked', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column('low_stock_threshold', sa.Integer(), nullable=True))
    op.create_table('stock_event',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['worker_id'], ['user.id'], name=op.f('fk_stock_event_worker_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_event'))
    )
    with op.batch_alter_table('stock_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_event_local_date'), ['local_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_event_worker_id'), ['worker_id'], unique=False)
    op.create_table('stock_event_line',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('expected', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_stock_event_line_quantity_nonnegative')),
    sa.ForeignKeyConstraint(['event_id'], ['stock_event.id'], name=op.f('fk_stock_event_line_event_id_stock_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['supply_item.id'], name=op.f('fk_stock_event_line_item_id_supply_item')),
    sa.PrimaryKeyConstraint('event_id', 'item_id', name=op.f('pk_stock_event_line'))
    )
    with op.batch_alter_table('stock_event_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_event_line_item_id'), ['item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('stock_event_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_event_line_item_id'))
    op.drop_table('stock_event_line')
    with op.batch_alter_table('stock_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_event_worker_id'))
        batch_op.drop_index(batch_op.f('ix_stock_event_local_date'))
    op.drop_table('stock_event')
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a copy of the table: dropping the old
    # supply_item while encounter lines still point at it breaks their foreign keys.
    with op.batch_alter_table('supply_item', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('low_stock_threshold')
        batch_op.drop_column('stock_tracked')
