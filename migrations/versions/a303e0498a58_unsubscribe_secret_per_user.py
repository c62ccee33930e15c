"""a secret per user for the digest's unsubscribe link

Revision ID: a303e0498a58
Revises: 5e1f0c2a9b7d
Create Date: 2026-12-03 14:03:33.070487

"""
import secrets

from alembic import op
import sqlalchemy as sa
import vendortrack.database


# revision identifiers, used by Alembic.
revision = 'a303e0498a58'
down_revision = '5e1f0c2a9b7d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unsubscribe_secret', sa.String(length=64), nullable=True))

    # Every existing user gets a secret of their own (as models.user.new_unsubscribe_secret makes
    # them), so the links already sent, signed with the user's id alone, stop working.
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('unsubscribe_secret', sa.String))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(user.c.id)).all():
        connection.execute(
            user.update().where(user.c.id == user_id).values(unsubscribe_secret=secrets.token_urlsafe(32))
        )

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('unsubscribe_secret', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_user_unsubscribe_secret'), ['unsubscribe_secret'])


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_unsubscribe_secret'), type_='unique')
        batch_op.drop_column('unsubscribe_secret')
