"""vendor links: asks, answers, contacts' language and zone

Revision ID: c71e117113fe
Revises: ce5d3f837e83
Create Date: 2026-12-03 20:00:44.593243

"""
from alembic import op
import sqlalchemy as sa
import vendortrack.database


# revision identifiers, used by Alembic.
revision = 'c71e117113fe'
down_revision = 'ce5d3f837e83'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('vendor_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('asked_by_id', sa.Integer(), nullable=False),
    sa.Column('asked_at', vendortrack.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('automatic', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('emailed_to', sa.String(length=254), server_default='', nullable=False),
    sa.Column('expires_at', vendortrack.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', vendortrack.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('first_opened_at', vendortrack.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_opened_at', vendortrack.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opens', sa.Integer(), server_default='0', nullable=False),
    sa.Column('first_answered_at', vendortrack.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(commitment_id IS NULL) <> (complaint_id IS NULL)', name=op.f('ck_vendor_link_one_item')),
    sa.ForeignKeyConstraint(['asked_by_id'], ['user.id'], name=op.f('fk_vendor_link_asked_by_id_user')),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitment.id'], name=op.f('fk_vendor_link_commitment_id_commitment')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_vendor_link_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_vendor_link_contact_id_contact')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user.id'], name=op.f('fk_vendor_link_revoked_by_id_user')),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_vendor_link_vendor_id_vendor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_vendor_link_token_hash'))
    )
    with op.batch_alter_table('vendor_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_link_commitment_id'), ['commitment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_link_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_link_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_vendor_link_vendor_id_asked_at', ['vendor_id', 'asked_at'], unique=False)

    op.create_table('vendor_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('confirmed', 'proposed', 'done', 'cannot', 'answered', 'dated_answer', 'reply', name='answerkind', native_enum=False, length=32), nullable=False),
    sa.Column('at', vendortrack.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('proposed_due_at', vendortrack.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', vendortrack.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer_due_at', vendortrack.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('case_owner_name', sa.String(length=200), nullable=False),
    sa.Column('apologised', sa.Boolean(), nullable=True),
    sa.Column('state', sa.Enum('recorded', 'waiting', 'accepted', 'declined', 'superseded', name='answerstate', native_enum=False, length=32), nullable=False),
    sa.Column('decided_at', vendortrack.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitment.id'], name=op.f('fk_vendor_answer_commitment_id_commitment')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_vendor_answer_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_vendor_answer_contact_id_contact')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_vendor_answer_decided_by_id_user')),
    sa.ForeignKeyConstraint(['link_id'], ['vendor_link.id'], name=op.f('fk_vendor_answer_link_id_vendor_link')),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_vendor_answer_vendor_id_vendor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_answer'))
    )
    with op.batch_alter_table('vendor_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_answer_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_answer_commitment_id'), ['commitment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_answer_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index('ix_vendor_answer_link_id_at', ['link_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_vendor_answer_vendor_id'), ['vendor_id'], unique=False)

    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_contact_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_complaint_event_actor_contact_id_contact'), 'contact', ['actor_contact_id'], ['id'])

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))

    with op.batch_alter_table('ledger_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_contact_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ledger_event_actor_contact_id_contact'), 'contact', ['actor_contact_id'], ['id'])

    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ask_to_confirm', sa.Boolean(), server_default=sa.false(), nullable=False))




def downgrade():
    
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.drop_column('ask_to_confirm')

    with op.batch_alter_table('ledger_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ledger_event_actor_contact_id_contact'), type_='foreignkey')
        batch_op.drop_column('actor_contact_id')

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('language')

    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_complaint_event_actor_contact_id_contact'), type_='foreignkey')
        batch_op.drop_column('actor_contact_id')

    with op.batch_alter_table('vendor_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_answer_vendor_id'))
        batch_op.drop_index('ix_vendor_answer_link_id_at')
        batch_op.drop_index(batch_op.f('ix_vendor_answer_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_vendor_answer_commitment_id'))
        batch_op.drop_index(batch_op.f('ix_vendor_answer_address'))

    op.drop_table('vendor_answer')
    with op.batch_alter_table('vendor_link', schema=None) as batch_op:
        batch_op.drop_index('ix_vendor_link_vendor_id_asked_at')
        batch_op.drop_index(batch_op.f('ix_vendor_link_contact_id'))
        batch_op.drop_index(batch_op.f('ix_vendor_link_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_vendor_link_commitment_id'))

    op.drop_table('vendor_link')

