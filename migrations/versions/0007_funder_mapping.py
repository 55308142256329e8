"""funder report templates: where catalogue entries count in each template

Revision ID: 0007_funder
Revises: 0006_stock
Create Date: 2026-11-29 23:20:00

Adds ``funder_category_map``: for one funder template (a YAML file in
outreach/funder/templates, by its key), which of the template's categories a supply item or
referral type counts in. Empty table: every template uses its own defaults.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_funder'
down_revision = '0006_stock'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('funder_category_map',
    sa.Column('template_key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('entry_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('template_key', 'kind', 'entry_id', name=op.f('pk_funder_category_map'))
    )


def downgrade():
    op.drop_table('funder_category_map')
