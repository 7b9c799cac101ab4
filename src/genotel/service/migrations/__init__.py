"""The collector's schema migrations (Alembic), run programmatically: no alembic.ini.

Each file in `versions/` is one named, numbered migration; the app upgrades the database to the
newest one at startup, inside one transaction (PostgreSQL and SQLite both have transactional
DDL). To add a migration, copy the newest file, bump `revision`/`down_revision` and write its
`upgrade()`; never edit a migration that has shipped.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

VERSION_TABLE = "genotel_schema_version"
HERE = Path(__file__).resolve().parent


def _config(connection: Connection, secret: bytes) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    config.attributes["secret"] = secret  # migrations that mask keys need it
    return config


def upgrade_to_head(connection: Connection, secret: bytes) -> str:
    """Upgrade the schema reached through `connection` to the newest version; returns it."""
    command.upgrade(_config(connection, secret), "head")
    version = current_version(connection)
    assert version is not None  # an upgrade to head always leaves a version behind
    return version


def current_version(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()
