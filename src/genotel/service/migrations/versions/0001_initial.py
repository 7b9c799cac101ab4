"""Initial schema: licences, records (whole JSON plus analysis columns), request nonces.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "licences",
        sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("license_num", sa.BigInteger, sa.ForeignKey("licences.number"), nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
        sa.Column("created", sa.String(64), nullable=False),
        sa.Column("schema", sa.String(64), nullable=False),
        sa.Column("data_type", sa.String(16), nullable=False),
        sa.Column("genozip_gain", sa.Float, nullable=True),
        sa.Column("source_gain", sa.Float, nullable=False),
        sa.Column("programs", sa.Text, nullable=True),
        sa.Column("features", sa.Text, nullable=False),
        sa.Column("fields_gain", sa.Text, nullable=True),
        sa.Column("sequencer", sa.Text, nullable=True),
        sa.Column("mapper", sa.Text, nullable=True),
        sa.Column("variant_caller", sa.Text, nullable=True),
        sa.Column("base_caller", sa.Text, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint("record_id", name="uq_records_record_id"),
    )
    op.create_index("ix_records_license_num", "records", ["license_num"])
    op.create_index("ix_records_received_at", "records", ["received_at"])
    op.create_index("ix_records_data_type", "records", ["data_type"])
    op.create_table(
        "nonces",
        sa.Column("license_num", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("seen_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_nonces_seen_at", "nonces", ["seen_at"])


def downgrade() -> None:
    op.drop_table("nonces")
    op.drop_table("records")
    op.drop_table("licences")
