"""The collector's storage: SQLAlchemy Core tables, the engine, and schema upgrades.

The same Core code runs on SQLite (the embedded default) and PostgreSQL. On SQLite every write
goes through one process-wide lock (one writer, as SQLite wants; readers run beside it thanks to
WAL), so concurrent uploads queue in Python instead of spinning on SQLITE_BUSY. The schema is
versioned with Alembic (`service/migrations/`) and upgraded in place when the app starts. A
SQLite file is created readable by its owner only (0600, in a 0700 folder when genotel makes it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..paths import private_dir
from . import secret as server_secret

metadata = sa.MetaData()
# Record ids and licence numbers are 64-bit on PostgreSQL; SQLite's INTEGER PRIMARY KEY is its rowid.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MAX_BIGINT = 2**63 - 1  # the largest integer either backend stores

licences = sa.Table(
    "licences",
    metadata,
    sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
    # Keys are derived from the server secret (secret.py); only keys issued before that are kept,
    # masked with the secret. Null for every licence made since.
    sa.Column("key_mask", sa.String(256), nullable=True),
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
    sa.Column("study", sa.Text, nullable=True),  # the `study=` feature (migration 0003)
    sa.Column("body", sa.Text, nullable=False),  # the whole validated record as JSON
    # The dedup: one row per licence and record_id (a canonical UUID).
    sa.UniqueConstraint("license_num", "record_id", name="uq_records_licence_record_id"),
)

# Nonces of accepted signed requests, kept for the replay window (then purged).
nonces = sa.Table(
    "nonces",
    metadata,
    sa.Column("license_num", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("seen_at", sa.BigInteger, nullable=False, index=True),
)

# Named values of the collector itself: the fingerprint of its secret.
collector_state = sa.Table(
    "collector_state",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
SECRET_FINGERPRINT = "secret_fingerprint"


class Database:
    """An engine plus the write discipline of its backend."""

    def __init__(self, url: str, secret: bytes | None = None) -> None:
        self.url = sa.engine.make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = _make_engine(self.url, self.is_sqlite)
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._secret = secret

    @property
    def secret(self) -> bytes:
        """The server secret (loaded on first use when none was given)."""
        if self._secret is None:
            self._secret = server_secret.load_secret()
        return self._secret

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
        """Bring the schema to the newest version in place and check the secret; returns the version."""
        from .migrations import upgrade_to_head

        with self.write() as connection:
            version = upgrade_to_head(connection, self.secret)
            stored = connection.execute(
                sa.select(collector_state.c.value).where(collector_state.c.name == SECRET_FINGERPRINT)
            ).scalar()
            expected = server_secret.fingerprint(self.secret)
            if stored is None:
                connection.execute(collector_state.insert().values(name=SECRET_FINGERPRINT, value=expected))
            elif stored != expected:
                raise server_secret.SecretError(
                    "the server secret is not the one this database was made with (the licence keys would not "
                    f"match): set {server_secret.SECRET_VARIABLE} or restore {server_secret.SECRET_FILE}"
                )
            return version

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
        _create_private_file(Path(url.database))
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


def _create_private_file(path: Path) -> None:
    """An empty database file with mode 0600 (SQLite gives its -wal and -shm files the same mode)."""
    private_dir(path.parent)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
