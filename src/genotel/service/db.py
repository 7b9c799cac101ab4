"""The collector's storage: SQLAlchemy Core tables, the engine, and schema upgrades.

The same Core code runs on SQLite (the embedded default) and PostgreSQL. On SQLite every write
goes through one process-wide lock (one writer, as SQLite wants; readers run beside it thanks to
WAL), so concurrent uploads queue in Python instead of spinning on SQLITE_BUSY. The schema is
versioned with Alembic (`service/migrations/`) and upgraded in place when the app starts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()
# Record ids and licence numbers are 64-bit on PostgreSQL; SQLite's INTEGER PRIMARY KEY is its rowid.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

licences = sa.Table(
    "licences",
    metadata,
    sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(128), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("record_id", sa.String(64), nullable=False),
    sa.Column("license_num", sa.BigInteger, sa.ForeignKey("licences.number"), nullable=False, index=True),
    sa.Column("received_at", sa.BigInteger, nullable=False, index=True),  # Unix seconds, collector's clock
    sa.Column("created", sa.String(64), nullable=False),  # the client's ISO time, as sent
    sa.Column("schema", sa.String(64), nullable=False),
    sa.Column("data_type", sa.String(16), nullable=False, index=True),
    sa.Column("genozip_gain", sa.Float, nullable=True),
    sa.Column("source_gain", sa.Float, nullable=False),
    sa.Column("programs", sa.Text, nullable=True),
    sa.Column("features", sa.Text, nullable=False),
    sa.Column("fields_gain", sa.Text, nullable=True),
    # Derived at upload time from programs/features, for the analysis.
    sa.Column("sequencer", sa.Text, nullable=True),
    sa.Column("mapper", sa.Text, nullable=True),
    sa.Column("variant_caller", sa.Text, nullable=True),
    sa.Column("base_caller", sa.Text, nullable=True),
    sa.Column("body", sa.Text, nullable=False),  # the whole validated record as JSON
    sa.UniqueConstraint("record_id", name="uq_records_record_id"),  # the dedup: one row per record_id
)

# Nonces of accepted signed requests, kept for the replay window (then purged).
nonces = sa.Table(
    "nonces",
    metadata,
    sa.Column("license_num", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("seen_at", sa.BigInteger, nullable=False, index=True),
)


class Database:
    """An engine plus the write discipline of its backend."""

    def __init__(self, url: str) -> None:
        self.url = sa.engine.make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = _make_engine(self.url, self.is_sqlite)
        self._write_lock = threading.Lock() if self.is_sqlite else None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on error."""
        if self._write_lock is None:
            with self.engine.begin() as connection:
                yield connection
            return
        with self._write_lock, self.engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    def insert_statement(self, table: sa.Table) -> Any:
        """INSERT ... ON CONFLICT DO NOTHING in this backend's dialect: dedup without races."""
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(table).on_conflict_do_nothing()

    def insert_new(self, connection: Connection, table: sa.Table, row: dict[str, Any]) -> bool:
        """Insert `row` unless it clashes with a stored one; True if it was new.

        RETURNING tells whether a row went in: psycopg reports no rowcount for this statement.
        """
        key = next(iter(table.primary_key.columns))
        return connection.execute(self.insert_statement(table).values(row).returning(key)).first() is not None

    def upgrade(self) -> str:
        """Bring the schema to the newest version in place; returns that version."""
        from .migrations import upgrade_to_head

        with self.write() as connection:
            return upgrade_to_head(connection)

    def schema_version(self) -> str | None:
        from .migrations import current_version

        with self.read() as connection:
            return current_version(connection)

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: sa.engine.URL, is_sqlite: bool) -> Engine:
    if not is_sqlite:
        return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer; NORMAL sync is durable across a process crash.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine
