"""seal keys kept in the database, shared by every app server

Revision ID: 0009_seal_keys
Revises: 0008_stock_void
Create Date: 2026-12-05 14:00:00

Each app server used to make its own ``seal_keys.json``: two servers behind one proxy then
refused each other's sealed codes. The keys now live here, each private key wrapped
(AES-256-GCM) by a key derived from a setting (outreach/sealing.py), so every server of a
site uses the same keys and a database backup restores them. An existing key file is
imported on first use after the upgrade, so codes phones sealed to it still open.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_seal_keys'
down_revision = '0008_stock_void'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'seal_key',
        sa.Column('kid', sa.String(length=100), nullable=False),
        sa.Column('public_jwk', sa.Text(), nullable=False),
        sa.Column('wrapped_private_key', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('retired_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('kid', name=op.f('pk_seal_key')),
    )


def downgrade():
    op.drop_table('seal_key')
