"""calendar feed secret and scope per user

Revision ID: d79665f49c2d
Revises: 7cc48f5a7a29
Create Date: 2026-11-22 08:51:24.185738

"""
from alembic import op
import sqlalchemy as sa
import vendortrack.database


# revision identifiers, used by Alembic.
revision = 'd79665f49c2d'
down_revision = '7cc48f5a7a29'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('calendar_scope', sa.Enum('mine', 'all', name='calendarscope', native_enum=False, length=32), server_default='mine', nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_user_calendar_secret'), ['calendar_secret'])


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_calendar_secret'), type_='unique')
        batch_op.drop_column('calendar_scope')
        batch_op.drop_column('calendar_secret')
