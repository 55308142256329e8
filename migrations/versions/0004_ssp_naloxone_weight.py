"""naloxone doses per catalogue unit; syringes collected by weight

Revision ID: 0004_ssp
Revises: 0003_trust
Create Date: 2026-11-29 21:20:00

Adds ``supply_item.doses_per_unit`` (how many naloxone doses one unit holds; funders count
naloxone in doses). Every existing item gets 1, except the shipped nasal naloxone kit
(key ``naloxone_nasal``), a kit of two sprays, which gets 2: seeding only fills a new
program, so existing programs get the value here. Admins change it in /admin.

Adds ``encounter.syringes_collected_grams`` and ``report_day.syringes_collected_grams``
(collected syringes weighed instead of counted; 0 for every existing record) and
``program_setting`` (settings admins change in /admin, such as syringes per pound).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_ssp'
down_revision = '0003_trust'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('supply_item', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('doses_per_unit', sa.Integer(), server_default='1', nullable=False)
        )
    for table in ('encounter', 'report_day'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('syringes_collected_grams', sa.Integer(), server_default='0', nullable=False)
            )
    op.create_table('program_setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_program_setting'))
    )
    supply_item = sa.table('supply_item', sa.column('key', sa.String), sa.column('doses_per_unit', sa.Integer))
    op.execute(
        supply_item.update().where(supply_item.c.key == 'naloxone_nasal').values(doses_per_unit=2)
    )


def downgrade():
    op.drop_table('program_setting')
    for table in ('report_day', 'encounter'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('syringes_collected_grams')
    with op.batch_alter_table('supply_item', schema=None) as batch_op:
        batch_op.drop_column('doses_per_unit')
