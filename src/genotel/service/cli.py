"""The collector's commands: `genotel serve` and `genotel admin ...`.

Like datasette, the CLI only parses options and hands over: `serve` builds `Settings`, calls
`create_app` and runs uvicorn; `admin` works on the database directly (no server needed).
Imports of FastAPI, SQLAlchemy and uvicorn happen inside the handlers, so that `genotel record`
stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from ..argtypes import positive_float, positive_int
from ..errors import UsageError

LICENCE_TYPES = ("student", "evaluation", "research", "standard", "enterprise")
# What the collector needs beyond the engine: the `server` extra (pyproject.toml).
SERVER_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "alembic")

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


def needs_server(handler: Handler) -> Handler:
    """Run `handler` only where the collector's libraries are installed; else say how to get them."""

    @functools.wraps(handler)
    def checked(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        missing = []
        for name in SERVER_MODULES:
            try:
                importlib.import_module(name)
            except ImportError:
                missing.append(name)
        if missing:
            raise UsageError(f"the collector is not installed (missing {', '.join(missing)}): "
                             "pip install 'genotel[server]'")  # fmt: skip
        return handler(args, out, err)

    return checked


def register(commands: Any) -> None:
    """Add `serve` and `admin` to the genotel command parser."""
    serve = commands.add_parser("serve", help="run the collector service")
    serve.set_defaults(handler=_serve)
    _database_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8740, help="port to listen on (default 8740)")
    serve.add_argument(
        "--retention-days", type=positive_int, default=365, metavar="N", help="purge records older than N days"
    )
    serve.add_argument(
        "--admin-token", metavar="TOKEN", help="operator bearer token (better: the GENOTEL_ADMIN_TOKEN variable)"
    )
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument("--read-timeout", type=positive_float, default=10.0, metavar="SECONDS",
                       help="close a connection whose request has not fully arrived in this time (default 10)")
    serve.add_argument("--max-connections", type=positive_int, default=512, metavar="N",
                       help="refuse connections past N open ones with 503 (default 512)")  # fmt: skip

    admin = commands.add_parser("admin", help="collector administration on the database")
    _database_option(admin)
    # type(admin): genotel's parser class, which turns usage errors into exit code 2.
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, parser_class=type(admin))
    licence = admin_commands.add_parser("licence", help="licences")
    licence_commands = licence.add_subparsers(dest="licence_command", required=True, parser_class=type(licence))
    create = licence_commands.add_parser("create", help="create a licence and print its number and key")
    create.add_argument("--type", required=True, choices=LICENCE_TYPES)
    create.add_argument("--json", action="store_true", help='print {"licence": N, "key": "..."}')
    create.set_defaults(handler=_licence_create)
    listing = licence_commands.add_parser("list", help="list licences with their record counts")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_licence_list)
    purge = admin_commands.add_parser("purge", help="delete records older than the retention period now")
    purge.add_argument("--retention-days", type=positive_int, default=365, metavar="N")
    purge.set_defaults(handler=_purge)
    migrate = admin_commands.add_parser("migrate", help="upgrade the database schema and print its version")
    migrate.set_defaults(handler=_migrate)


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="URL",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db (default: SQLite in the data directory)",
    )  # fmt: skip


def _open_database(url: str | None) -> Any:
    """The database at `url` (or the default), upgraded to the current schema."""
    import sqlalchemy.exc

    from .db import Database
    from .settings import default_database_url, display_url

    url = url or default_database_url()
    try:
        database = Database(url)
        database.upgrade()
    except (sqlalchemy.exc.SQLAlchemyError, ValueError, OSError) as exc:
        raise UsageError(f"cannot open the database {display_url(url)}: {str(exc).splitlines()[0]}") from exc
    return database


@contextlib.contextmanager
def _database(url: str | None) -> Iterator[Any]:
    """`_open_database`, disposed of when the command is done with it."""
    database = _open_database(url)
    try:
        yield database
    finally:
        database.dispose()


@needs_server
def _serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import uvicorn

    from .app import create_app
    from .connections import guarded_protocol
    from .settings import KEEP_ALIVE_SECONDS, Settings, display_url

    database = _open_database(args.db)  # fail with one line, before uvicorn starts, if the database is unusable
    database.dispose()
    settings = Settings.from_environment(args.db, retention_days=args.retention_days, admin_token=args.admin_token,
                                         server_secret=database.secret)  # fmt: skip
    print(f"genotel collector on http://{args.host}:{args.port} (database {display_url(settings.database_url)})",
          file=err, flush=True)  # fmt: skip
    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, log_level="warning",
        access_log=args.access_log, timeout_graceful_shutdown=5, proxy_headers=False,
        http=guarded_protocol(args.read_timeout, args.max_connections), timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )  # fmt: skip
    return 0


@needs_server
def _licence_create(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .licences import create_licence

    with _database(args.db) as database:
        licence = create_licence(database, args.type)
    if args.json:
        print(json.dumps({"licence": licence.number, "key": licence.key, "type": licence.type}), file=out)
    else:
        print(f"licence {licence.number} ({licence.type})\nkey     {licence.key}", file=out)
    return 0


@needs_server
def _licence_list(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .licences import list_licences

    with _database(args.db) as database:
        rows = list_licences(database)
    if args.json:
        print(json.dumps(rows), file=out)
    for row in [] if args.json else rows:
        print(f"{row['licence']}  {row['type']:<10}  {row['records']} records", file=out)
    return 0


@needs_server
def _purge(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .records import purge_expired

    with _database(args.db) as database:
        purged = purge_expired(database, args.retention_days)
    print(f"purged {purged} records older than {args.retention_days} days", file=out)
    return 0


@needs_server
def _migrate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _database(args.db) as database:
        print(f"schema version {database.schema_version()}", file=out)
    return 0
