"""The collector app in-process (FastAPI's TestClient on a SQLite file): validation, limits,
authentication, licences, housekeeping, the stored row and the OpenAPI description."""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from genotel.record import Record, Source
from genotel.service import protocol
from genotel.service.app import create_app
from genotel.service.db import Database, nonces, records
from genotel.service.licences import create_licence
from genotel.service.records import record_row, store_record
from genotel.service.settings import Settings
from genotel.service.writer import Writer

with warnings.catch_warnings():  # Starlette would rather use httpx2; httpx works the same here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
TOKEN = "in-process-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def make_record(**fields: object) -> Record:
    values: dict[str, object] = {
        "genotel_version": "test", "data_type": "BAM", "features": "mapper=bwa;sequencer=Illumina;",
        "source_gain": 4.0, "flags": "", "programs": "ID:basecaller PN:dorado;minimap2;",
        "source": Source(codec="BGZF", disk_size=100, txt_size=400, num_lines=10),
    }  # fmt: skip
    values.update(fields)
    return Record(**values)  # type: ignore[arg-type]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'collector.sqlite3'}"


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=database_url, admin_token=TOKEN))) as test_client:
        yield test_client


@pytest.fixture
def licence(client: TestClient) -> tuple[int, str]:
    made = client.post("/v1/licences", json={"type": "research"}, headers=ADMIN).json()
    return int(made["licence"]), str(made["key"])


def post(client: TestClient, licence: tuple[int, str], body: bytes, path: str = "/v1/records") -> object:
    headers = protocol.signed_headers(*licence, "POST", path, body)
    return client.post(path, content=body, headers={**headers, "content-type": "application/json"})


def record_json(**fields: object) -> dict[str, object]:
    return json.loads(make_record(**fields).to_json(indent=None))


@pytest.mark.parametrize(
    ("change", "location", "words"),
    [
        (lambda d: d.pop("features"), ["body", "features"], "Field required"),
        (lambda d: d.update(color="red"), ["body", "color"], "Extra inputs are not permitted"),
        (lambda d: d.update(data_type="PDF"), ["body", "data_type"], "Input should be 'SAM'"),
        (lambda d: d["source"].update(disk_size=-1), ["body", "source", "disk_size"], "greater than or equal to 0"),
        (lambda d: d.update(source_gain="high"), ["body", "source_gain"], "valid number"),
        (lambda d: d.update(schema="genotel.record/9"), ["body", "schema"], "unsupported record schema"),
        (lambda d: d.update(record_id="42"), ["body", "record_id"], "must be a UUID"),
    ],
    ids=["missing", "extra", "data_type", "negative", "type", "schema", "record_id"],
)
def test_schema_errors_are_422_with_the_field_and_reason(
    client: TestClient, licence: tuple[int, str], change: object, location: list[str], words: str
) -> None:
    data = record_json()
    change(data)  # type: ignore[operator]
    answer = post(client, licence, json.dumps(data).encode())
    assert answer.status_code == 422  # type: ignore[attr-defined]
    detail = answer.json()["detail"][0]  # type: ignore[attr-defined]
    assert detail["loc"] == location and words in detail["msg"]


def test_invalid_json_is_422(client: TestClient, licence: tuple[int, str]) -> None:
    answer = post(client, licence, b'{"schema": ')
    assert answer.status_code == 422 and answer.json()["detail"][0]["type"] == "json_invalid"  # type: ignore[attr-defined]


def _padded(total: int) -> bytes:
    """A valid record body of exactly `total` bytes."""
    base = make_record(hash_issues=[""]).to_json(indent=None).encode()
    padded = make_record(hash_issues=["x" * (total - len(base))]).to_json(indent=None).encode()
    assert len(padded) == total
    return padded


def test_body_limit_is_64_kib(client: TestClient, licence: tuple[int, str]) -> None:
    assert post(client, licence, _padded(65_536)).status_code == 201  # type: ignore[attr-defined]
    too_big = post(client, licence, _padded(65_537))
    assert too_big.status_code == 413 and "65536" in too_big.json()["detail"]  # type: ignore[attr-defined]
    # Without a Content-Length (chunked), the limit holds too.
    body = _padded(70_000)
    headers = protocol.signed_headers(*licence, "POST", "/v1/records", body)
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
    assert client.post("/v1/records", content=chunks, headers=headers).status_code == 413


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda h: h.pop(protocol.HEADER_SIGNATURE), "not authenticated"),
        (lambda h: h.update({protocol.HEADER_TIMESTAMP: "soon"}), "whole number"),
        (lambda h: h.update({protocol.HEADER_NONCE: "n" * 65}), "nonce"),
        (lambda h: h.update({protocol.HEADER_LICENCE: "123456789"}), "licence number or the signature is wrong"),
        (lambda h: h.update({protocol.HEADER_SIGNATURE: "0" * 64}), "licence number or the signature is wrong"),
    ],
    ids=["unsigned", "timestamp", "nonce", "licence", "signature"],
)
def test_bad_signatures_are_401(client: TestClient, licence: tuple[int, str], change: object, words: str) -> None:
    body = make_record().to_json(indent=None).encode()
    headers = protocol.signed_headers(*licence, "POST", "/v1/records", body)
    change(headers)  # type: ignore[operator]
    answer = client.post("/v1/records", content=body, headers={**headers, "content-type": "application/json"})
    assert answer.status_code == 401 and words in answer.json()["detail"]


def test_refusing_a_signature_never_reads_the_database(client: TestClient, licence: tuple[int, str]) -> None:
    """An unknown licence number costs what a known one with a wrong signature costs: no query."""
    number, key = licence
    statements: list[str] = []
    engine = client.app.state.database.engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for signer in (number, 100000001, 999999999):
        headers = protocol.signed_headers(signer, "0" * 64, "GET", "/v1/analysis", b"")
        assert client.get("/v1/analysis", headers=headers).status_code == 401
    assert statements == []
    headers = protocol.signed_headers(number, key, "GET", "/v1/analysis", b"")
    assert client.get("/v1/analysis", headers=headers).status_code == 200 and statements  # the listener works


def test_signature_covers_the_path_and_method(client: TestClient, licence: tuple[int, str]) -> None:
    number, key = licence
    signed_get = protocol.signed_headers(number, key, "GET", f"/v1/licences/{number}/records", b"")
    assert client.delete(f"/v1/licences/{number}/records", headers=signed_get).status_code == 401
    assert client.get(f"/v1/licences/{number}", headers=signed_get).status_code == 401


def test_admin_token_rules(database_url: str, client: TestClient, licence: tuple[int, str]) -> None:
    number, _ = licence
    assert client.post("/v1/records", json=record_json(), headers=ADMIN).status_code == 403
    assert client.get(f"/v1/licences/{number}", headers=ADMIN).json()["type"] == "research"
    assert client.get("/v1/licences/100000000", headers=ADMIN).status_code == 404
    assert client.post("/v1/licences", json={"type": "gold"}, headers=ADMIN).status_code == 422
    path = "/v1/licences"
    body = json.dumps({"type": "student"}).encode()
    as_licence = protocol.signed_headers(*licence, "POST", path, body)
    assert client.post(path, content=body, headers=as_licence).status_code == 403
    with TestClient(create_app(Settings(database_url=database_url, admin_token=None))) as no_admin:
        assert no_admin.get("/v1/analysis", headers=ADMIN).status_code == 401


def test_licence_info_tells_the_policy(client: TestClient) -> None:
    for licence_type, mandatory in [("student", True), ("evaluation", True), ("enterprise", False)]:
        made = client.post("/v1/licences", json={"type": licence_type}, headers=ADMIN).json()
        path = f"/v1/licences/{made['licence']}"
        info = client.get(path, headers=protocol.signed_headers(made["licence"], made["key"], "GET", path, b"")).json()
        assert info == {"licence": made["licence"], "type": licence_type, "telemetry_mandatory": mandatory}


def test_stored_row_has_the_whole_record_and_analysis_columns(
    client: TestClient, licence: tuple[int, str], database_url: str
) -> None:
    record = make_record(genozip_gain=7.5, fields_gain="QUAL,70.0%,2.0X; SEQ,30.0%,4.0X",
                         features="mapper=bwa;sequencer=Illumina;study=targeted;")  # fmt: skip
    assert post(client, licence, record.to_json(indent=None).encode()).status_code == 201  # type: ignore[attr-defined]
    database = Database(database_url)
    with database.read() as connection:
        row = connection.execute(sa.select(records)).mappings().one()
    database.dispose()
    assert Record.model_validate_json(row["body"]) == record.model_copy(update={"license_num": licence[0]})
    assert (row["sequencer"], row["mapper"], row["base_caller"], row["variant_caller"]) == (
        "Illumina", "bwa", "dorado", None,
    )  # fmt: skip
    assert row["genozip_gain"] == 7.5 and row["license_num"] == licence[0] and row["study"] == "targeted"


def test_startup_purges_expired_records_and_old_nonces(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    licence = create_licence(database, "standard")
    kept, expired = make_record(), make_record()
    for record in (kept, expired):
        store_record(database, record, licence.number)
    old = int(time.time()) - 31 * 86_400
    with database.write() as connection:
        connection.execute(sa.update(records).where(records.c.record_id == expired.record_id).values(received_at=old))
        connection.execute(sa.insert(nonces).values(license_num=licence.number, nonce="old", seen_at=old))
    settings = Settings(database_url=database_url, retention_days=30, admin_token=TOKEN)
    with TestClient(create_app(settings)):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the housekeeping task runs right after startup
            with database.read() as connection:
                ids = connection.execute(sa.select(records.c.record_id)).scalars().all()
                nonce_count = connection.execute(sa.select(sa.func.count()).select_from(nonces)).scalar_one()
            if len(ids) == 1 and nonce_count == 0:
                break
            time.sleep(0.02)
    database.dispose()
    assert ids == [kept.record_id] and nonce_count == 0


def test_schema_is_versioned_and_upgrades_are_idempotent(database_url: str) -> None:
    database = Database(database_url)
    assert database.schema_version() is None
    assert database.upgrade() == "0003_study"
    assert database.upgrade() == "0003_study"
    with database.read() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
    database.dispose()
    assert mode == "wal"


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    upload = spec["paths"]["/v1/records"]["post"]
    assert {"200", "201", "422"} <= set(upload["responses"])
    assert upload["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/UploadedRecord")
    rules = spec["components"]["schemas"]["UploadedRecord"]["properties"]
    assert rules["record_id"]["format"] == "uuid" and rules["created"]["pattern"].endswith("(Z|\\+00:00)$")
    assert rules["source_gain"]["maximum"] == 1e12 and "pattern" in rules["features"]
    assert {"400", "401", "403", "413", "422"} <= set(upload["responses"])
    assert "404" in spec["paths"]["/v1/licences/{licence}"]["get"]["responses"]
    schemes = spec["components"]["securitySchemes"]
    assert {schemes[name]["name"] for name in ("licence", "timestamp", "nonce", "signature")} == {
        protocol.HEADER_LICENCE, protocol.HEADER_TIMESTAMP, protocol.HEADER_NONCE, protocol.HEADER_SIGNATURE,
    }  # fmt: skip
    assert schemes["admin"] == {"type": "http", "scheme": "bearer", "description": "the operator's admin token"}
    signed_or_admin = [{"licence": [], "timestamp": [], "nonce": [], "signature": []}, {"admin": []}]
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            if path == "/v1/health":
                assert "security" not in operation
            else:
                assert operation["security"] == signed_or_admin and "401" in operation["responses"], path
    export = spec["paths"]["/v1/licences/{licence}/records"]["get"]
    assert "application/x-ndjson" in export["responses"]["200"]["content"]
    assert set(spec["paths"]["/v1/licences/{licence}/records"]) == {"get", "delete"}


def test_group_commit_answers_as_if_requests_came_one_by_one(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    number = create_licence(database, "research").number
    first, second = make_record(), make_record()
    writer = Writer(database)
    writer.start()

    async def burst() -> list[tuple[bool, bool]]:
        return await asyncio.gather(
            writer.submit(number, "a", 1, record_row(first, number, 1)),  # stored
            writer.submit(number, "a", 1, record_row(second, number, 1)),  # nonce replayed: refused, not stored
            writer.submit(number, "b", 1, record_row(first, number, 1)),  # the same record again: already stored
            writer.submit(number, "c", 1, None),  # a signed request that is not an upload
        )

    try:
        results = asyncio.run(burst())
    finally:
        writer.stop()
    with database.read() as connection:
        stored = connection.execute(sa.select(records.c.record_id)).scalars().all()
    database.dispose()
    assert results == [(True, True), (False, False), (True, False), (True, False)]
    assert stored == [first.record_id]
