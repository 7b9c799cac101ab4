"""The collector against hostile and unlucky input, on a real `genotel serve` (SQLite and PostgreSQL):
strings and numbers a store cannot hold, one failing record among many, 64-bit overflows, keys
at rest, record_id spellings, key options, private folders, slow clients and the spool."""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import socket
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from genotel.client import upload as client
from genotel.client.upload import spool_record
from genotel.service.db import Database, records
from genotel.service.licences import LicenceCache, create_licence, find_licence
from genotel.service.records import record_row
from genotel.service.secret import licence_key
from genotel.service.writer import Writer

from collector import ADMIN_TOKEN, SERVER_SECRET, Server, postgres_schema_url
from conftest import run_cli
from test_service_e2e import activate, make_record, new_licence, signed, upload

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
pytestmark = pytest.mark.usefixtures("server_secret")
POISON_ID = "0badc0de-0000-4000-8000-000000000000"


def body_with(**changes: object) -> bytes:
    data = json.loads(make_record().to_json(indent=None))
    data.update(changes)
    return json.dumps(data, allow_nan=True).encode()


def raw_body(field: str, json_value: str) -> bytes:
    """A record body whose `field` is the JSON text `json_value`, as sent (e.g. a lone surrogate escape)."""
    data = json.loads(make_record().to_json(indent=None))
    data[field] = "PLACEHOLDER"
    return json.dumps(data).replace('"PLACEHOLDER"', json_value).encode()


@pytest.fixture
def poisoned(server: Server) -> Iterator[str]:
    """A trigger that makes the database fail on one record_id (as a store failure would)."""
    engine = sa.create_engine(server.database_url)
    if server.database_url.startswith("sqlite"):
        create = [f"CREATE TRIGGER poison BEFORE INSERT ON records WHEN NEW.record_id = '{POISON_ID}' "
                  "BEGIN SELECT RAISE(ABORT, 'poisoned record'); END"]  # fmt: skip
        drop = ["DROP TRIGGER poison"]
    else:
        create = [
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.record_id = '" + POISON_ID + "' THEN "
            "RAISE EXCEPTION 'poisoned record'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON records FOR EACH ROW EXECUTE FUNCTION poison()",
        ]
        drop = ["DROP TRIGGER poison ON records", "DROP FUNCTION poison()"]
    with engine.begin() as connection:
        for statement in create:
            connection.exec_driver_sql(statement)
    try:
        yield POISON_ID
    finally:
        with engine.begin() as connection:
            for statement in drop:
                connection.exec_driver_sql(statement)
        engine.dispose()


@pytest.fixture(scope="module")
def refused_licence(server: Server) -> tuple[int, str]:
    """One licence for the uploads that must all be refused."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENOTEL_SERVER_SECRET", SERVER_SECRET)
        return new_licence(server, "research")


@pytest.mark.parametrize(
    ("field", "json_value"),
    [("features", '"x\\u0000y"'), ("programs", '"bwa\\ud800;"'), ("genozip_gain", "NaN"), ("source_gain", "Infinity"),
     ("source_gain", "1e400"), ("fields_gain", '"QUAL,nan%,infX"'), ("fields_gain", '"QUAL,250.0%,3.0X"'),
     ("created", '"last tuesday"'), ("created", '"2026-02-30T10:00:00Z"'), ("hash_issues", '["a\\u0000"]'),
     ("license_num", str(2**63)), ("record_id", '"not-a-uuid"')],
)  # fmt: skip
def test_what_a_store_cannot_hold_is_422(server: Server, refused_licence: tuple[int, str], field: str,
                                         json_value: str) -> None:  # fmt: skip
    number, key = refused_licence
    answer = upload(server, number, key, raw_body(field, json_value))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][:2] == ["body", field]
    assert server.count(number) == 0


def test_one_failing_record_fails_alone(server: Server, poisoned: str) -> None:
    bad_number, bad_key = new_licence(server, "research")
    good_number, good_key = new_licence(server, "research")
    bodies = [make_record().to_json(indent=None).encode() for _ in range(60)]
    codes: list[int] = []

    def send_good(part: list[bytes]) -> None:
        with httpx.Client() as session:
            for body in part:
                headers = signed(good_number, good_key, "POST", "/v1/records", body)
                codes.append(session.post(f"{server.url}/v1/records", content=body, headers=headers).status_code)

    threads = [threading.Thread(target=send_good, args=(bodies[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    bad = [upload(server, bad_number, bad_key, make_record(record_id=poisoned).to_json(indent=None).encode())
           for _ in range(3)]  # fmt: skip
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in bad] == [500] * 3
    assert codes == [201] * 60 and server.count(good_number) == 60 and server.count(bad_number) == 0


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend (PostgreSQL: a schema of its own, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'collector.sqlite3'}"
        return
    urls = postgres_schema_url()
    yield next(urls)
    next(urls, None)


def test_writer_retries_a_failed_batch_one_by_one(database_url: str) -> None:
    database = Database(database_url, secret=SERVER_SECRET.encode())
    database.upgrade()
    number = create_licence(database, "research").number
    good = [record_row(make_record(), number, 1) for _ in range(2)]
    broken = {**record_row(make_record(), number, 1), "features": None}  # NOT NULL: the database refuses it
    writer = Writer(database)

    async def one_batch() -> list[object]:
        jobs = [asyncio.ensure_future(writer.submit(number, nonce, 1, row))
                for nonce, row in (("a", good[0]), ("b", broken), ("c", good[1]))]  # fmt: skip
        await asyncio.sleep(0)  # each job runs up to its queue.put: all are queued before the writer starts
        writer.start()
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        results = asyncio.run(one_batch())
    finally:
        writer.stop()
    with database.read() as connection:
        stored = set(connection.execute(sa.select(records.c.record_id)).scalars())
    database.dispose()
    assert results[0] == (True, True) and results[2] == (True, True)
    assert isinstance(results[1], sa.exc.IntegrityError)
    assert stored == {good[0]["record_id"], good[1]["record_id"]}


def test_migration_masks_issued_keys_and_canonicalises_record_ids(database_url: str) -> None:
    import alembic.command  # here, not at collection: test_packaging needs alembic not imported yet

    from genotel.service import migrations

    secret = SERVER_SECRET.encode()
    issued = secrets.token_hex(32)
    value, other = uuid.uuid4(), str(uuid.uuid4())
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:  # a database of the first schema version, as it was used
        alembic.command.upgrade(migrations._config(connection, secret), "0001_initial")
        connection.execute(sa.text("INSERT INTO licences (number, key, type, created_at) VALUES (123456789, :k, "
                                   "'research', 1)"), {"k": issued})  # fmt: skip
        for record_id in (str(value).upper(), value.hex, other):  # two spellings of one record, stored twice
            body = json.dumps({"record_id": record_id, "schema": "genotel.record/1"})
            connection.execute(sa.text(
                "INSERT INTO records (record_id, license_num, received_at, created, schema, data_type, source_gain, "
                "features, body) VALUES (:r, 123456789, 1, '2026-01-01T00:00:00Z', 'genotel.record/1', 'BAM', 1.0, "
                "'', :b)"), {"r": record_id, "b": body})  # fmt: skip
    engine.dispose()
    database = Database(database_url, secret=secret)
    assert database.upgrade() == "0003_study"
    with database.read() as connection:
        rows = [tuple(row) for row in connection.execute(sa.text("SELECT * FROM licences"))]
        stored = connection.execute(sa.select(records.c.record_id, records.c.body).order_by(records.c.id)).all()
    cache = LicenceCache(database)
    found = find_licence(database, 123456789)
    database.dispose()
    assert not any(issued in str(cell) for row in rows for cell in row)
    assert found is not None and found.key == issued and cache.key(123456789) == issued  # the issued key still works
    assert cache.key(987654321) == licence_key(secret, 987654321)
    assert [row.record_id for row in stored] == [str(value), other]
    assert json.loads(stored[0].body)["record_id"] == str(value)


def test_migration_fills_the_study_column_from_stored_features(database_url: str) -> None:
    """Schema 0003 adds `study`: stored records that carry `study=` get it, older ones stay null."""
    import alembic.command

    from genotel.service import migrations

    secret = SERVER_SECRET.encode()
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:  # a database of schema 0002 holding a record of each kind
        alembic.command.upgrade(migrations._config(connection, secret), "0002_derived_keys")
        connection.execute(sa.text("INSERT INTO licences (number, type, created_at) VALUES (123456789, 'research', 1)"))
        for record_id, features in ((str(uuid.uuid4()), "num_lines=3;mapper=STAR;study=RNA-seq;"),
                                    (str(uuid.uuid4()), "num_lines=3;mapper=bwa;")):  # fmt: skip
            connection.execute(sa.text(
                "INSERT INTO records (record_id, license_num, received_at, created, schema, data_type, source_gain, "
                "features, body) VALUES (:r, 123456789, 1, '2026-01-01T00:00:00Z', 'genotel.record/1', 'BAM', 1.0, "
                ":f, '{}')"), {"r": record_id, "f": features})  # fmt: skip
    engine.dispose()
    database = Database(database_url, secret=secret)
    assert database.upgrade() == "0003_study"
    with database.read() as connection:
        studies = connection.execute(sa.select(records.c.study).order_by(records.c.id)).scalars().all()
    database.dispose()
    assert studies == ["RNA-seq", None]


def test_out_of_range_integers_are_refused_not_500(server: Server) -> None:
    for number in (str(2**63), str(2**64), "9" * 30, "0", "-5", "1_000", "١٢٣"):
        headers = {"X-Genotel-Licence": number, "X-Genotel-Timestamp": str(int(time.time())),
                   "X-Genotel-Nonce": "n", "X-Genotel-Signature": "0" * 64}  # fmt: skip
        answer = httpx.get(f"{server.url}/v1/analysis", headers={k: v.encode() for k, v in headers.items()})
        assert answer.status_code == 401, number
    for path in (f"/v1/licences/{2**63}/records", f"/v1/licences/{2**64}", "/v1/licences/0/records",
                 f"/v1/analysis?licence={2**63}", "/v1/analysis?licence=-1"):  # fmt: skip
        answer = httpx.get(server.url + path, headers=ADMIN)
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == "licence", path
    answer = httpx.delete(f"{server.url}/v1/licences/{2**63}/records", headers=ADMIN)
    assert answer.status_code == 422
    unknown = httpx.get(f"{server.url}/v1/licences/999999999", headers=ADMIN)
    assert unknown.status_code == 404


def test_keys_are_not_stored(server: Server) -> None:
    number, key = new_licence(server, "standard")
    engine = sa.create_engine(server.database_url)
    with engine.connect() as connection:
        columns = {column["name"] for column in sa.inspect(connection).get_columns("licences")}
        rows = [tuple(row) for row in connection.execute(sa.text("SELECT * FROM licences"))]
    engine.dispose()
    assert "key" not in columns and rows
    assert not any(key in str(cell) for row in rows for cell in row)
    path = f"/v1/licences/{number}"
    assert httpx.get(server.url + path, headers=signed(number, key, "GET", path)).status_code == 200


def test_unknown_and_known_numbers_are_refused_alike(server: Server) -> None:
    number, _ = new_licence(server, "research")
    path = "/v1/analysis"
    answers = []
    for signer in (number, 123456789, 2**62):
        headers = signed(signer, "0" * 64, "GET", path)
        answers.append(httpx.get(server.url + path, headers=headers))
    assert {answer.status_code for answer in answers} == {401}
    assert len({answer.text for answer in answers}) == 1


def test_record_id_is_canonical_and_per_licence(server: Server) -> None:
    number, key = new_licence(server, "research")
    other, other_key = new_licence(server, "research")
    value = uuid.uuid4()
    spellings = [str(value), str(value).upper(), value.hex, "{" + str(value) + "}", f"urn:uuid:{value}"]
    codes = [upload(server, number, key, body_with(record_id=spelling)).status_code for spelling in spellings]
    assert codes == [201, 200, 200, 200, 200] and server.count(number) == 1
    path = f"/v1/licences/{number}/records"
    exported = httpx.get(server.url + path, headers=signed(number, key, "GET", path)).text.splitlines()
    assert [json.loads(line)["record_id"] for line in exported] == [str(value)]
    # Another licence with the same record_id stores its own record and learns nothing (201, not 200).
    assert upload(server, other, other_key, body_with(record_id=value.hex.upper())).status_code == 201
    assert server.count(other) == 1


def test_new_licence_refuses_unknown_fields(server: Server) -> None:
    answer = httpx.post(f"{server.url}/v1/licences", json={"type": "research", "owner": "x"}, headers=ADMIN)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "owner"]


def test_key_options_of_activate(server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    number, key = new_licence(server, "research")
    base = ["activate", "--server", server.url, "--licence", str(number)]
    key_file = tmp_path / "key.txt"
    key_file.write_text(key + "\n")
    from_file = run_cli(*base, "--key-file", key_file)
    assert from_file.code == 0 and from_file.err == "", from_file.err
    monkeypatch.setattr("sys.stdin", io.StringIO(key + "\n"))
    assert run_cli(*base, "--key", "-").code == 0
    monkeypatch.setenv("GENOTEL_LICENCE_KEY", key)
    assert run_cli(*base).code == 0
    monkeypatch.delenv("GENOTEL_LICENCE_KEY")
    visible = run_cli(*base, "--key", key)
    assert visible.code == 0 and "other users" in visible.err and key not in visible.err
    missing = run_cli(*base, "--key-file", tmp_path / "nothing")
    assert missing.code == 2 and len(missing.err.splitlines()) == 1 and "nothing" in missing.err
    assert client.load_config().key == key  # type: ignore[union-attr]


def test_folders_and_files_are_private(server: Server, isolated_home: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    activate(server, "student")
    spool_record(make_record())
    assert stat.S_IMODE(isolated_home.stat().st_mode) == 0o700
    assert stat.S_IMODE((isolated_home / "spool").stat().st_mode) == 0o700
    collector_home = tmp_path / "collector-home"
    monkeypatch.setenv("GENOTEL_HOME", str(collector_home))
    monkeypatch.delenv("GENOTEL_SERVER_SECRET")
    assert run_cli("admin", "licence", "list").code == 0  # the default database and a new secret
    assert stat.S_IMODE(collector_home.stat().st_mode) == 0o700
    for name in ("collector.sqlite3", "server.secret"):
        assert stat.S_IMODE((collector_home / name).stat().st_mode) == 0o600, name
    monkeypatch.setenv("GENOTEL_SERVER_SECRET", "another-secret-" + "x" * 32)
    wrong = run_cli("admin", "licence", "list")
    assert wrong.code == 2 and "server secret is not the one" in wrong.err and len(wrong.err.splitlines()) == 1


def test_a_record_that_keeps_failing_is_set_aside(server: Server, poisoned: str, isolated_home: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(client, "BACKOFF_SECONDS", 0.0)
    number, _ = activate(server, "research", telemetry="yes")
    stuck = spool_record(make_record(record_id=poisoned, license_num=number))
    os.utime(stuck, (1, 1))  # the oldest in the spool: sent first
    for run in range(1, client.SERVER_ERROR_RUNS + 1):
        spool_record(make_record(license_num=number))
        result = run_cli("upload")
        assert server.count(number) == run, result.err + result.out  # the record behind it went through
        if run < client.SERVER_ERROR_RUNS:
            assert result.code == 3 and stuck.exists()
    assert result.code == 2 and "1 refused" in result.out
    assert poisoned in result.err and "set aside" in result.err
    assert not stuck.exists() and (isolated_home / "spool" / "rejected" / stuck.name).exists()
    assert run_cli("upload").out.startswith("sent 0 record(s)")


def test_slow_clients_are_cut_off_and_connections_bounded(tmp_path: Path) -> None:
    running = Server(f"sqlite:///{tmp_path / 'slow.sqlite3'}", tmp_path, "--read-timeout", "1.5",
                     "--max-connections", "6")  # fmt: skip
    running.start()
    try:
        slow = []
        for partial in (b"", b"GET /v1/health HTTP/1.1\r\nHost: x\r\n",
                        b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"half\":"):
            for _ in range(2):
                sock = socket.create_connection(("127.0.0.1", running.port))
                sock.sendall(partial)
                slow.append(sock)
        extra = socket.create_connection(("127.0.0.1", running.port))  # the seventh: refused at once
        extra.settimeout(30)
        assert extra.recv(1024).startswith(b"HTTP/1.1 503")
        for sock in slow:  # each is closed by the collector (recv ends), none answered
            sock.settimeout(30)
            assert sock.recv(1024) == b""
            sock.close()
        extra.close()
        assert httpx.get(f"{running.url}/v1/health").status_code == 200  # room again once they are gone
    finally:
        running.stop()


def test_openapi_document_lists_the_answers(server: Server) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            expected = {"400", "413"} | (set() if path == "/v1/health" else {"401", "403", "422"})
            assert expected <= set(operation["responses"]), (method, path)
    assert "404" in spec["paths"]["/v1/licences/{licence}"]["get"]["responses"]
    record = spec["components"]["schemas"]["UploadedRecord"]["properties"]
    assert record["record_id"]["format"] == "uuid"
