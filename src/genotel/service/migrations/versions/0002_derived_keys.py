"""Keys derived from the server secret; record_id canonical and unique per licence.

Licence keys issued so far are kept masked with the secret (`key_mask`), the clear `key` column
goes. Every record_id becomes its canonical UUID spelling (in the column and in the stored
body); spellings of one UUID stored twice for one licence keep their first row.

Revision ID: 0002_derived_keys
Revises: 0001_initial
"""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from alembic import context, op

from genotel.service.secret import mask_key

revision = "0002_derived_keys"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    secret: bytes = context.config.attributes["secret"]
    connection = op.get_bind()
    op.create_table(
        "collector_state",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    # Plain ALTERs on licences (SQLite has them): a batch copy would drop the table that records refer to.
    op.add_column("licences", sa.Column("key_mask", sa.String(256), nullable=True))
    licences = sa.table("licences", sa.column("number", sa.BigInteger), sa.column("key", sa.String),
                        sa.column("key_mask", sa.String))  # fmt: skip
    for number, key in connection.execute(sa.select(licences.c.number, licences.c.key)).all():
        masked = mask_key(secret, number, key)
        connection.execute(sa.update(licences).where(licences.c.number == number).values(key_mask=masked))
    op.drop_column("licences", "key")
    _canonical_record_ids(connection)
    with op.batch_alter_table("records") as batch:
        batch.drop_constraint("uq_records_record_id", type_="unique")
        batch.create_unique_constraint("uq_records_licence_record_id", ["license_num", "record_id"])


def _canonical_record_ids(connection: sa.Connection) -> None:
    records = sa.table("records", sa.column("id", sa.BigInteger), sa.column("record_id", sa.String),
                       sa.column("license_num", sa.BigInteger), sa.column("body", sa.Text))  # fmt: skip
    rows = connection.execute(
        sa.select(records.c.id, records.c.license_num, records.c.record_id).order_by(records.c.id)
    ).all()
    first: set[tuple[int, str]] = set()
    for row_id, licence, record_id in rows:
        try:
            canonical = str(uuid.UUID(record_id))
        except ValueError:  # not a UUID (stored around the API): left as it is
            canonical = record_id
        if (licence, canonical) in first:
            connection.execute(sa.delete(records).where(records.c.id == row_id))
            continue
        first.add((licence, canonical))
        if canonical != record_id:
            body = json.loads(connection.execute(sa.select(records.c.body).where(records.c.id == row_id)).scalar_one())
            body["record_id"] = canonical
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            connection.execute(sa.update(records).where(records.c.id == row_id).values(record_id=canonical, body=text))


def downgrade() -> None:
    raise NotImplementedError("keys derived from the secret cannot be written back in clear")
