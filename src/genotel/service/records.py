"""Storing, exporting, deleting and purging records.

A record is stored whole (its validated JSON) plus the columns the analysis groups on. Its
`record_id` (a canonical UUID), unique per licence, is the dedup: an upload that is retried
after a lost answer inserts nothing the second time (INSERT ... ON CONFLICT DO NOTHING), and
the caller answers 200 instead of 201 so that the client stops retrying either way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import sqlalchemy as sa

from genotel.record import Record

from .analysis import derive_columns
from .db import Database, nonces, records

EXPORT_PAGE_ROWS = 1000
SECONDS_PER_DAY = 86_400


def record_row(record: Record, license_num: int, received_at: int) -> dict[str, object]:
    """The table row of a validated record."""
    return {
        "record_id": record.record_id,
        "license_num": license_num,
        "received_at": received_at,
        "created": record.created,
        "schema": record.schema_,
        "data_type": record.data_type,
        "genozip_gain": record.genozip_gain,
        "source_gain": record.source_gain,
        "programs": record.programs,
        "features": record.features,
        "fields_gain": record.fields_gain,
        **derive_columns(record.data_type, record.programs, record.features),
        "body": record.model_dump_json(by_alias=True),
    }


def store_record(database: Database, record: Record, license_num: int) -> bool:
    """Store `record` for `license_num`; False when the licence already stored its record_id."""
    row = record_row(record, license_num, int(time.time()))
    with database.write() as connection:
        return database.insert_new(connection, records, row)


def export_records(database: Database, license_num: int) -> Iterator[str]:
    """The licence's records as JSON lines, oldest first, read in short keyset pages."""
    last_id = 0
    while True:
        query = (
            sa.select(records.c.id, records.c.body)
            .where(records.c.license_num == license_num, records.c.id > last_id)
            .order_by(records.c.id)
            .limit(EXPORT_PAGE_ROWS)
        )
        with database.read() as connection:
            page = connection.execute(query).all()
        for row in page:
            yield row.body + "\n"
        if len(page) < EXPORT_PAGE_ROWS:
            return
        last_id = page[-1].id


def delete_records(database: Database, license_num: int) -> int:
    """Delete every record of the licence; returns how many were deleted."""
    with database.write() as connection:
        return connection.execute(sa.delete(records).where(records.c.license_num == license_num)).rowcount


def purge_expired(database: Database, retention_days: int, now: float | None = None) -> int:
    """Delete records received more than `retention_days` ago; returns how many."""
    cutoff = int((time.time() if now is None else now) - retention_days * SECONDS_PER_DAY)
    with database.write() as connection:
        return connection.execute(sa.delete(records).where(records.c.received_at < cutoff)).rowcount


def forget_nonces(database: Database, older_than: int) -> int:
    """Nonces older than the replay window can go: their requests' timestamps are refused anyway."""
    with database.write() as connection:
        return connection.execute(sa.delete(nonces).where(nonces.c.seen_at < older_than)).rowcount
