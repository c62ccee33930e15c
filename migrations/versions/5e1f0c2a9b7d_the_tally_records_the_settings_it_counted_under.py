"""the tally records the settings it counted under

The state row held a string key of the settings; the ledger's writes now read the settings
themselves, to add to the sums under what they were counted with. The old row is dropped: the
tally job rebuilds the sums (and the row) on its next run, and until then the scorecard reads
the ledger.

Revision ID: 5e1f0c2a9b7d
Revises: 3bcbad0653fa
Create Date: 2026-12-03 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1f0c2a9b7d'
down_revision = '3bcbad0653fa'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM score_tally_state")
    with op.batch_alter_table('score_tally_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('half_life_days', sa.Double(), nullable=False))
        batch_op.add_column(sa.Column('meeting_tolerance_us', sa.BigInteger(), nullable=False))
        batch_op.add_column(sa.Column('deadline_tolerance_us', sa.BigInteger(), nullable=False))
        batch_op.drop_column('rules_key')


def downgrade():
    op.execute("DELETE FROM score_tally_state")
    with op.batch_alter_table('score_tally_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rules_key', sa.String(length=200), nullable=False))
        batch_op.drop_column('deadline_tolerance_us')
        batch_op.drop_column('meeting_tolerance_us')
        batch_op.drop_column('half_life_days')
