"""the screen lock, known to the server

Revision ID: 0010_session_lock
Revises: 0009_seal_keys
Create Date: 2026-12-05 14:00:00

Adds ``user_session.locked_at`` (set while the phone that holds the session is locked: the
session then reaches nothing but unlocking, locking and signing out) and
``user_session.unlock_key_hash`` (the hash of the random key a phone seals under its PIN).
Every open session starts unlocked and without a key.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_session_lock'
down_revision = '0009_seal_keys'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('user_session', sa.Column('locked_at', sa.DateTime(), nullable=True))
    op.add_column('user_session', sa.Column('unlock_key_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('user_session') as batch:
        batch.drop_column('unlock_key_hash')
        batch.drop_column('locked_at')
