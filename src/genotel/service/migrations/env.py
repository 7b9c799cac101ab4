"""Alembic's environment: run the migrations on the connection that the app hands over."""

from __future__ import annotations

from alembic import context

from genotel.service.db import metadata
from genotel.service.migrations import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
