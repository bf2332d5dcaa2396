"""Initial catalog schema: images, versions, aliases, tags.

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 19:59:06.980276
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('images',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account', sa.String(length=12), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=63).with_variant(sa.String(length=63, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name_key', sa.String(length=63).with_variant(sa.String(length=63, collation='C'), 'postgresql'), nullable=False),
    sa.Column('role_arn', sa.String(length=2048), nullable=False),
    sa.Column('description', sa.String(length=512), nullable=True),
    sa.Column('display_name', sa.String(length=128), nullable=True),
    sa.Column('next_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.String(length=1024), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('modified_at', sa.Float(), nullable=False),
    sa.Column('pending_status', sa.String(length=16), nullable=True),
    sa.Column('pending_reason', sa.String(length=1024), nullable=True),
    sa.Column('due_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'region', 'name_key', name='uq_images_name')
    )
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.create_index('ix_images_due', ['due_at'], unique=False)

    op.create_table('image_tags',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('image_id', 'key', name='uq_tags_key')
    )
    op.create_table('image_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('client_token', sa.String(length=36), nullable=False),
    sa.Column('base_image', sa.String(length=255), nullable=False),
    sa.Column('container_image', sa.String(length=255), nullable=True),
    sa.Column('vendor_guidance', sa.String(length=16), nullable=True),
    sa.Column('job_type', sa.String(length=16), nullable=True),
    sa.Column('ml_framework', sa.String(length=128), nullable=True),
    sa.Column('programming_lang', sa.String(length=128), nullable=True),
    sa.Column('processor', sa.String(length=8), nullable=True),
    sa.Column('horovod', sa.Boolean(), nullable=True),
    sa.Column('release_notes', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.String(length=1024), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('modified_at', sa.Float(), nullable=False),
    sa.Column('pending_status', sa.String(length=16), nullable=True),
    sa.Column('pending_reason', sa.String(length=1024), nullable=True),
    sa.Column('due_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('image_id', 'client_token', name='uq_versions_token'),
    sa.UniqueConstraint('image_id', 'version', name='uq_versions_number')
    )
    with op.batch_alter_table('image_versions', schema=None) as batch_op:
        batch_op.create_index('ix_versions_created', ['image_id', 'created_at'], unique=False)
        batch_op.create_index('ix_versions_due', ['due_at'], unique=False)

    op.create_table('version_aliases',
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=128).with_variant(sa.String(length=128, collation='C'), 'postgresql'), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['image_versions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'alias', name='pk_version_aliases')
    )
    with op.batch_alter_table('version_aliases', schema=None) as batch_op:
        batch_op.create_index('ix_aliases_version', ['version_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('version_aliases', schema=None) as batch_op:
        batch_op.drop_index('ix_aliases_version')

    op.drop_table('version_aliases')
    with op.batch_alter_table('image_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_versions_due')
        batch_op.drop_index('ix_versions_created')

    op.drop_table('image_versions')
    op.drop_table('image_tags')
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.drop_index('ix_images_due')

    op.drop_table('images')
