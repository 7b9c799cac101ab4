"""A real `genotel serve` for the service tests: started once per backend for the whole run.

`server` (session scope, a pytest plugin named in conftest.py) runs against SQLite and against
the PostgreSQL server at 127.0.0.1:5432 (database `test`, in a schema of its own that is dropped
afterwards). Under CI=true a missing PostgreSQL fails the run instead of skipping it.
`server_secret` gives `genotel admin` in the test process the server's secret.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

ADMIN_TOKEN = "e2e-" + secrets.token_hex(8)
SERVER_SECRET = secrets.token_hex(32)  # shared by the server and `genotel admin` (each has its own home)
POSTGRES_URL = os.environ.get("GENOTEL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`genotel serve` in a subprocess: started, polled until ready, stopped."""

    def __init__(self, database_url: str, home: Path, *options: str) -> None:
        self.database_url = database_url
        self.home = home
        self.options = options
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-c", "from genotel.cli import run; run()", "serve", "--db", self.database_url,
                   "--port", str(self.port), *self.options]  # fmt: skip
        env = {**os.environ, "GENOTEL_HOME": str(self.home), "GENOTEL_ADMIN_TOKEN": ADMIN_TOKEN,
               "GENOTEL_SERVER_SECRET": SERVER_SECRET}  # fmt: skip
        log = open(self.home / "server.log", "ab")  # noqa: SIM115 (the process owns it)
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"genotel serve exited: {(self.home / 'server.log').read_text()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("genotel serve did not become ready")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None

    def count(self, licence: int | None = None) -> int:
        """Rows in the records table (straight from the database, not through the API)."""
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                query = "SELECT count(*) FROM records" + (" WHERE license_num = :n" if licence is not None else "")
                return int(connection.execute(sa.text(query), {"n": licence}).scalar_one())
        finally:
            engine.dispose()


def postgres_schema_url() -> Iterator[str]:
    """A fresh schema in the `test` database, as a URL whose search_path points into it."""
    schema = f"genotel_test_{os.getpid()}_{secrets.token_hex(4)}"
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable: {str(exc).splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # in CI the PostgreSQL suite must run, never silently skip
        pytest.skip(message)
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp(f"collector-{request.param}")
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{home / 'collector.sqlite3'}"])
    else:
        urls = postgres_schema_url()
    url = next(urls)
    running = Server(url, home)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        for _ in urls:  # drops the PostgreSQL schema
            pass


@pytest.fixture
def server_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """`genotel admin` in this process derives keys with the server's secret."""
    monkeypatch.setenv("GENOTEL_SERVER_SECRET", SERVER_SECRET)
