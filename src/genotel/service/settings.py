"""The collector's settings and where its default SQLite database lives.

`GENOTEL_HOME`, when set, holds everything genotel keeps (client configuration, spool, the
collector's default database); otherwise the XDG data directory (`~/.local/share/genotel`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..paths import data_dir, private_dir
from .protocol import MAX_BODY_BYTES, REPLAY_WINDOW_SECONDS

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8740
DEFAULT_RETENTION_DAYS = 365
# An idle keep-alive connection is closed after this many seconds (see also connections.py).
KEEP_ALIVE_SECONDS = 5.0
DATABASE_FILE = "collector.sqlite3"
ADMIN_TOKEN_VARIABLE = "GENOTEL_ADMIN_TOKEN"



def default_database_url() -> str:
    """SQLite in the data directory: the embedded default, nothing to install or run."""
    folder = private_dir(data_dir())
    return f"sqlite:///{folder / DATABASE_FILE}"


@dataclass(frozen=True)
class Settings:
    """Everything `create_app` needs; the CLI fills it from options and the environment."""

    database_url: str
    retention_days: int = DEFAULT_RETENTION_DAYS
    # Bearer token for operator access (every licence's records, analysis, licence creation).
    # None disables operator access over HTTP; `genotel admin` still works on the database.
    admin_token: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    replay_window_seconds: int = REPLAY_WINDOW_SECONDS
    # How often the background task forgets old nonces and purges records past retention.
    housekeeping_seconds: float = 60.0
    # None: GENOTEL_SERVER_SECRET, else the secret file in the data folder (service/secret.py).
    server_secret: bytes | None = None

    @classmethod
    def from_environment(cls, database_url: str | None = None, **overrides: object) -> Settings:
        token = overrides.pop("admin_token", None) or os.environ.get(ADMIN_TOKEN_VARIABLE) or None
        return cls(database_url=database_url or default_database_url(), admin_token=token, **overrides)  # type: ignore[arg-type]


def display_url(url: str) -> str:
    """The database URL with any password hidden, for log lines."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
