"""End to end: a real `genotel serve` (uvicorn) on loopback, driven by the genotel client CLI.

Every test runs twice: against SQLite and against the real PostgreSQL server (the `server`
fixture of tests/collector.py).
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from genotel.client.upload import LICENSE_ERROR, spool_record
from genotel.record import Record, Source
from genotel.service import protocol

from collector import ADMIN_TOKEN, Server
from conftest import FIXTURES, run_cli

VCF = FIXTURES / "calls.vcf"
pytestmark = pytest.mark.usefixtures("server_secret")


@pytest.fixture
def client_home(isolated_home: Path) -> Path:
    """This test's GENOTEL_HOME (tests/conftest.py): its own configuration and spool."""
    return isolated_home


def new_licence(server: Server, licence_type: str) -> tuple[int, str]:
    result = run_cli("admin", "--db", server.database_url, "licence", "create", "--type", licence_type, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, dict) and set(data) >= {"licence", "key"}
    return int(data["licence"]), str(data["key"])


def activate(server: Server, licence_type: str, telemetry: str | None = None) -> tuple[int, str]:
    number, key = new_licence(server, licence_type)
    extra = ["--telemetry", telemetry] if telemetry else []
    with tempfile.TemporaryDirectory() as folder:
        key_file = Path(folder) / "key"
        key_file.write_text(key)
        result = run_cli("activate", "--server", server.url, "--licence", str(number), "--key-file", key_file, *extra)
    assert result.code == 0, result.err
    return number, key


def exported_ids() -> list[str]:
    result = run_cli("records", "export")
    assert result.code == 0, result.err
    return [json.loads(line)["record_id"] for line in result.out.splitlines()]


def spool_files(home: Path) -> list[Path]:
    return sorted((home / "spool").glob("*.json"))


def signed(number: int, key: str, method: str, path: str, body: bytes = b"") -> dict[str, str]:
    headers = protocol.signed_headers(number, key, method, path, body)
    return {**headers, "content-type": "application/json"} if body else headers


def upload(server: Server, number: int, key: str, body: bytes) -> httpx.Response:
    """POST a record body signed as licence `number`."""
    headers = signed(number, key, "POST", "/v1/records", body)
    return httpx.post(f"{server.url}/v1/records", content=body, headers=headers)


def make_record(**fields: object) -> Record:
    values: dict[str, object] = {
        "genotel_version": "test", "data_type": "BAM", "features": "mapper=bwa;", "source_gain": 4.0, "flags": "",
        "source": Source(codec="BGZF", disk_size=100, txt_size=400, num_lines=10),
    }  # fmt: skip
    values.update(fields)
    return Record(**values)  # type: ignore[arg-type]


def test_health_openapi_and_authentication_everywhere(server: Server) -> None:
    health = httpx.get(f"{server.url}/v1/health").json()
    assert health["status"] == "ok" and health["schema_version"] == "0003_study"
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert {"/v1/records", "/v1/licences/{licence}/records", "/v1/analysis"} <= set(paths)
    calls = [("POST", "/v1/records"), ("GET", "/v1/licences/1/records"), ("DELETE", "/v1/licences/1/records"),
             ("GET", "/v1/analysis"), ("GET", "/v1/licences/1")]  # fmt: skip
    for method, path in calls:
        assert httpx.request(method, server.url + path).status_code == 401, path


@pytest.mark.parametrize("licence_type", ["student", "evaluation"])
def test_mandatory_licences_always_send(server: Server, licence_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
    number, _ = activate(server, licence_type, telemetry="no")
    monkeypatch.setenv("GENOTEL_NO_TELEMETRY", "1")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    result = run_cli("record", VCF)
    assert result.code == 0, result.err
    assert server.count(number) == 1
    assert len(exported_ids()) == 1


@pytest.mark.parametrize("licence_type", ["research", "standard", "enterprise"])
def test_paid_licences_send_only_when_chosen(
    server: Server, licence_type: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    number, _ = activate(server, licence_type, telemetry="no")
    assert run_cli("record", VCF).code == 0
    assert server.count(number) == 0
    assert run_cli("record", VCF, "--telemetry").code == 0  # this run only
    assert server.count(number) == 1
    written = tmp_path / "telemetry.json"
    assert run_cli("record", VCF, f"--telemetry={written}").code == 0  # writes, never sends
    assert json.loads(written.read_text())["license_num"] == number
    assert server.count(number) == 1
    # Re-activating (with only --telemetry) switches telemetry on.
    assert run_cli("activate", "--telemetry", "yes").code == 0
    assert run_cli("record", VCF).code == 0
    assert server.count(number) == 2
    for variable in ("GENOTEL_NO_TELEMETRY", "DO_NOT_TRACK"):
        monkeypatch.setenv(variable, "1")
        assert run_cli("record", VCF).code == 0
        monkeypatch.delenv(variable)
    assert server.count(number) == 2
    assert all(record_line for record_line in exported_ids())


def test_spool_server_down_then_up_arrives_once(server: Server, client_home: Path) -> None:
    number, _ = activate(server, "student")
    server.stop()
    try:
        result = run_cli("record", VCF, VCF)
    finally:
        server.start()
    assert result.code == 3
    assert LICENSE_ERROR in result.err.splitlines()
    files = spool_files(client_home)
    assert len(files) == 2
    spooled_ids = sorted(json.loads(path.read_text())["record_id"] for path in files)
    upload = run_cli("upload")
    assert upload.code == 0, upload.err
    assert "sent 2 record(s)" in upload.out
    assert spool_files(client_home) == []
    assert server.count(number) == 2
    # An acknowledgement lost on the way: the record is sent again, and stored once.
    again = next(line for line in run_cli("records", "export").out.splitlines())
    (client_home / "spool" / "again.json").write_text(again)
    assert "1 already stored" in run_cli("upload").out
    assert run_cli("upload").out.startswith("sent 0 record(s)")
    assert server.count(number) == 2
    assert sorted(exported_ids()) == spooled_ids


def test_a_later_record_run_flushes_the_spool(server: Server, client_home: Path) -> None:
    number, _ = activate(server, "evaluation")
    left_behind = spool_record(make_record(license_num=number))  # as a failed earlier run leaves it
    result = run_cli("record", VCF)
    assert result.code == 0, result.err
    assert "also sent 1 record(s)" in result.err
    assert not left_behind.exists() and server.count(number) == 2


def test_replay_tamper_and_stale_requests_refused(server: Server) -> None:
    number, key = new_licence(server, "research")
    body = make_record().to_json(indent=None).encode()
    headers = signed(number, key, "POST", "/v1/records", body)
    assert httpx.post(f"{server.url}/v1/records", content=body, headers=headers).status_code == 201
    replay = httpx.post(f"{server.url}/v1/records", content=body, headers=headers)
    assert replay.status_code == 401 and "replayed" in replay.json()["detail"]
    tampered = body.replace(b'"source_gain":4.0', b'"source_gain":5.0')
    assert httpx.post(f"{server.url}/v1/records", content=tampered, headers=headers).status_code == 401
    stale_time = str(int(time.time()) - 2 * protocol.REPLAY_WINDOW_SECONDS)
    stale = dict(headers, **{protocol.HEADER_TIMESTAMP: stale_time, protocol.HEADER_NONCE: "fresh"})
    stale[protocol.HEADER_SIGNATURE] = protocol.signature(key, "POST", "/v1/records", stale_time, "fresh", body)
    answer = httpx.post(f"{server.url}/v1/records", content=body, headers=stale)
    assert answer.status_code == 401 and "timestamp" in answer.json()["detail"]
    assert server.count(number) == 1


def test_one_licence_cannot_touch_another(server: Server) -> None:
    a_number, a_key = new_licence(server, "standard")
    b_number, b_key = new_licence(server, "standard")
    body = make_record().to_json(indent=None).encode()
    assert httpx.post(f"{server.url}/v1/records", content=body,
                      headers=signed(b_number, b_key, "POST", "/v1/records", body)).status_code == 201  # fmt: skip
    path = f"/v1/licences/{b_number}/records"
    for method in ("GET", "DELETE"):
        answer = httpx.request(method, server.url + path, headers=signed(a_number, a_key, method, path))
        assert answer.status_code == 403, method
    claimed = make_record(license_num=b_number).to_json(indent=None).encode()
    answer = httpx.post(f"{server.url}/v1/records", content=claimed,
                        headers=signed(a_number, a_key, "POST", "/v1/records", claimed))  # fmt: skip
    assert answer.status_code == 403
    wrong_key = httpx.get(server.url + path, headers=signed(b_number, a_key, "GET", path))
    assert wrong_key.status_code == 401
    analysis = f"/v1/analysis?licence={b_number}"
    assert httpx.get(server.url + analysis, headers=signed(a_number, a_key, "GET", analysis)).status_code == 403
    assert httpx.get(server.url + path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    admin = httpx.get(server.url + path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert admin.status_code == 200 and len(admin.text.splitlines()) == 1
    assert server.count(b_number) == 1


def test_export_and_delete(server: Server) -> None:
    other, _ = activate(server, "student")
    assert run_cli("record", VCF).code == 0
    number, _ = activate(server, "student")
    for _ in range(3):
        assert run_cli("record", VCF).code == 0
    ids = exported_ids()
    assert len(ids) == len(set(ids)) == 3
    export = run_cli("records", "export")
    assert all(json.loads(line)["license_num"] == number for line in export.out.splitlines())
    refused = run_cli("records", "delete")
    assert refused.code == 2 and server.count(number) == 3
    deleted = run_cli("records", "delete", "--yes")
    assert deleted.code == 0 and "deleted 3 record(s)" in deleted.out
    assert exported_ids() == [] and server.count(number) == 0
    assert server.count(other) == 1


def test_retention_purges_old_records(server: Server) -> None:
    number, _ = activate(server, "student")
    assert run_cli("record", VCF).code == 0
    assert run_cli("record", VCF).code == 0
    old_id = exported_ids()[0]
    engine = sa.create_engine(server.database_url)
    with engine.begin() as connection:  # this record arrived 400 days ago
        connection.execute(sa.text("UPDATE records SET received_at = :t WHERE record_id = :r"),
                           {"t": int(time.time()) - 400 * 86_400, "r": old_id})  # fmt: skip
    engine.dispose()
    purge = run_cli("admin", "--db", server.database_url, "purge", "--retention-days", "365")
    assert purge.code == 0 and "purged 1 records" in purge.out
    assert old_id not in exported_ids() and server.count(number) == 1


def test_analysis_flags_weak_groups(server: Server) -> None:
    number, key = activate(server, "research", telemetry="yes")
    illumina = "mapper=bwa;QNAME=Illumina;sequencer=Illumina;study=WGS;"
    ont = "mapper=minimap2;QNAME=ONT;sequencer=ONT;"  # a record made before genotel wrote study=
    dorado = "ID:basecaller PN:dorado;minimap2;"
    rows = [(illumina, "bwa;samtools;", 10.0), (illumina, "bwa;", 11.0), (illumina, "bwa;", 12.0),
            (ont, dorado, 6.0), (ont, dorado, 7.0)]  # fmt: skip
    for features, programs, gain in rows:
        record = make_record(features=features, programs=programs, genozip_gain=gain,
                             fields_gain="QUAL,60.0%,3.0X; SEQ,30.0%,4.0X; QNAME,10.0%,9.0X")  # fmt: skip
        assert upload(server, number, key, record.to_json(indent=None).encode()).status_code == 201
    vcf = make_record(data_type="VCF", features="num_samples=1;", programs="DeepVariant;", genozip_gain=None)
    assert upload(server, number, key, vcf.to_json(indent=None).encode()).status_code == 201
    result = run_cli("analysis", "--json")
    assert result.code == 0, result.err
    analysis = json.loads(result.out)
    assert analysis["records"] == 6 and analysis["scope"] == f"licence {number}"
    groups = {(g["data_type"], g["sequencer"]): g for g in analysis["groups"]}
    ont_group = groups[("BAM", "ONT")]
    assert ont_group["flagged"] and ont_group["median_genozip_gain"] == 6.5 and ont_group["base_caller"] == "dorado"
    assert not groups[("BAM", "Illumina")]["flagged"] and groups[("BAM", "Illumina")]["mapper"] == "bwa"
    assert groups[("BAM", "Illumina")]["study"] == "WGS" and ont_group["study"] is None
    assert groups[("VCF", None)]["variant_caller"] == "DeepVariant"
    assert groups[("VCF", None)]["median_genozip_gain"] is None and not groups[("VCF", None)]["flagged"]
    assert [f["field"] for f in ont_group["top_fields"]] == ["QUAL", "SEQ", "QNAME"]
    table = run_cli("analysis")
    assert table.code == 0 and "!W BAM    ONT" in table.out  # flagged by the median and by bytes
    assert any(" WGS " in line and "Illumina" in line for line in table.out.splitlines())
    everyone = httpx.get(f"{server.url}/v1/analysis", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    assert everyone["scope"] == "all" and everyone["records"] >= 6


def test_oversized_and_invalid_bodies(server: Server) -> None:
    number, key = new_licence(server, "research")
    huge = make_record(hash_issues=["x" * 70_000]).to_json(indent=None).encode()
    assert upload(server, number, key, huge).status_code == 413
    data = json.loads(make_record().to_json(indent=None))
    data["data_type"] = "PDF"
    body = json.dumps(data).encode()
    answer = upload(server, number, key, body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "data_type"]
    assert server.count(number) == 0


def test_activate_with_a_wrong_key_fails_cleanly(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    number, _ = new_licence(server, "student")
    monkeypatch.setenv("GENOTEL_LICENCE_KEY", "not-the-key")
    result = run_cli("activate", "--server", server.url, "--licence", str(number))
    assert result.code == 2
    assert len(result.err.splitlines()) == 1 and "401" in result.err
    unknown = run_cli("records", "export")
    assert unknown.code == 2 and "no licence is activated" in unknown.err


def test_record_ids_stay_unique_across_clients(server: Server) -> None:
    number, key = new_licence(server, "research")
    record = make_record(record_id=str(uuid.uuid4()))
    body = record.to_json(indent=None).encode()
    codes = [upload(server, number, key, body).status_code for _ in range(3)]
    assert codes == [201, 200, 200] and server.count(number) == 1


def test_a_refused_record_is_set_aside_not_lost(server: Server, client_home: Path) -> None:
    number, _ = activate(server, "research", telemetry="yes")
    refused = spool_record(make_record(license_num=number, schema="genotel.record/9"))
    result = run_cli("upload")
    assert result.code == 2 and "1 refused" in result.out
    assert "unsupported record schema" in result.err
    assert not refused.exists() and (client_home / "spool" / "rejected" / refused.name).exists()
    assert run_cli("upload").out.startswith("sent 0 record(s)") and server.count(number) == 0
