"""The study type as an analysis column: `study`, from the record's `study=` feature.

Records stored before genotel wrote `study=` keep a null study (the analysis groups them
as such); records that carry it get the column filled from their stored features.

Revision ID: 0003_study
Revises: 0002_derived_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_study"
down_revision = "0002_derived_keys"
branch_labels = None
depends_on = None

PAGE_ROWS = 5000


def upgrade() -> None:
    connection = op.get_bind()
    # A plain ALTER (SQLite has ADD COLUMN): a batch copy would rebuild the whole table.
    op.add_column("records", sa.Column("study", sa.Text, nullable=True))
    records = sa.table("records", sa.column("id", sa.BigInteger), sa.column("features", sa.Text),
                       sa.column("study", sa.Text))  # fmt: skip
    last_id = 0
    while True:
        query = sa.select(records.c.id, records.c.features).where(records.c.id > last_id)
        rows = connection.execute(query.order_by(records.c.id).limit(PAGE_ROWS)).all()
        for row_id, features in rows:
            study = study_item(features)
            if study:
                connection.execute(sa.update(records).where(records.c.id == row_id).values(study=study))
        if len(rows) < PAGE_ROWS:
            return
        last_id = int(rows[-1][0])


def study_item(features: str | None) -> str | None:
    """The value of the first `study=` item of a features string (written here, not imported:
    a migration must keep doing what it did when it shipped)."""
    for item in (features or "").split(";"):
        key, sep, value = item.partition("=")
        if sep and key.strip() == "study":
            return value.strip() or None
    return None


def downgrade() -> None:
    op.drop_column("records", "study")
