"""The upload client without a collector: configuration, policy, stamping, the spool, and what
happens when the collector cannot be reached (nothing lost, the right exit code and message)."""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from genotel.client import upload as client
from genotel.client.upload import LICENSE_ERROR, ClientConfig
from genotel.record import Record, Source

from conftest import FIXTURES, run_cli

VCF = FIXTURES / "calls.vcf"


@pytest.fixture
def home(isolated_home: Path) -> Path:
    """This test's GENOTEL_HOME (tests/conftest.py): its own configuration and spool."""
    return isolated_home


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def configure(licence_type: str = "student", telemetry: bool = True, server: str | None = None) -> ClientConfig:
    mandatory = licence_type in ("student", "evaluation")
    config = ClientConfig(server or closed_port_url(), 123456789, "k" * 64, licence_type, mandatory,
                          telemetry or mandatory)  # fmt: skip
    client.save_config(config)
    return config


def make_record() -> Record:
    source = Source(codec="NONE", disk_size=10, txt_size=10, num_lines=1)
    return Record(genotel_version="test", data_type="VCF", source=source, features="", source_gain=1.0, flags="")


def test_config_is_private_and_round_trips(home: Path) -> None:
    config = configure("research", telemetry=False)
    path = home / "client.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert client.load_config() == config
    assert [p.name for p in home.iterdir()] == ["client.json"]  # no temporary file left behind


def test_default_locations_follow_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GENOTEL_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert client.config_dir() == tmp_path / "cfg" / "genotel"
    assert client.spool_dir() == tmp_path / "data" / "genotel" / "spool"


def test_unreadable_config_is_one_line_error(home: Path) -> None:
    home.mkdir()
    (home / "client.json").write_text("{not json")
    result = run_cli("record", VCF)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "client configuration is unreadable" in result.err


@pytest.mark.parametrize(
    ("environ", "out"),
    [({}, False), ({"DO_NOT_TRACK": "1"}, True), ({"DO_NOT_TRACK": "0"}, False),
     ({"GENOTEL_NO_TELEMETRY": "yes"}, True), ({"GENOTEL_NO_TELEMETRY": ""}, False),
     ({"DO_NOT_TRACK": "false"}, False), ({"DO_NOT_TRACK": "true"}, True)],
)  # fmt: skip
def test_opt_out_variables(environ: dict[str, str], out: bool) -> None:
    assert client.opted_out(environ) is out


@pytest.mark.parametrize(
    ("licence_type", "telemetry", "send_once", "environ", "sends"),
    [
        ("student", False, False, {"DO_NOT_TRACK": "1"}, True),
        ("evaluation", False, False, {"GENOTEL_NO_TELEMETRY": "1"}, True),
        ("research", False, False, {}, False),
        ("research", False, True, {}, True),
        ("standard", True, False, {}, True),
        ("standard", True, False, {"DO_NOT_TRACK": "1"}, False),
        ("enterprise", True, True, {"DO_NOT_TRACK": "1"}, True),
    ],
)
def test_policy(licence_type: str, telemetry: bool, send_once: bool, environ: dict[str, str], sends: bool) -> None:
    mandatory = licence_type in ("student", "evaluation")
    config = ClientConfig("http://x", 1, "k", licence_type, mandatory, telemetry or mandatory)
    assert client.should_send(config, send_once, environ) is sends


def test_nothing_happens_without_a_licence(home: Path) -> None:
    err = io.StringIO()
    assert client.deliver([make_record()], send_once=False, err=err) == 0
    assert err.getvalue() == "" and not home.exists()
    result = run_cli("record", VCF, "--telemetry")
    assert result.code == 2 and result.err.count("\n") == 1 and "no licence is activated" in result.err


def test_written_and_printed_records_carry_the_licence(tmp_path: Path, home: Path) -> None:
    configure("research", telemetry=False)
    written = tmp_path / "telemetry.json"
    result = run_cli("record", VCF, "--json", f"--telemetry={written}")
    assert result.code == 0, result.err
    assert json.loads(written.read_text())["license_num"] == 123456789
    assert json.loads(result.out)["license_num"] == 123456789
    assert not (home / "spool").exists()  # --telemetry=PATH sends nothing


def test_spool_files_are_atomic_private_and_ordered(home: Path) -> None:
    first, second = make_record(), make_record()
    paths = [client.spool_record(first), client.spool_record(second)]
    os.utime(paths[0], ns=(1, 1))  # make the order by age unambiguous
    assert client.spooled() == paths
    assert Record.model_validate_json(paths[1].read_text()) == second
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in paths)
    assert sorted(p.name for p in (home / "spool").iterdir()) == sorted(p.name for p in paths)
    moved = client.set_aside(paths[0])
    assert moved.parent.name == "rejected" and client.spooled() == [paths[1]]


def test_mandatory_upload_failure_keeps_the_record_and_exits_3(home: Path) -> None:
    configure("student")
    result = run_cli("record", VCF)
    assert result.code == 3
    assert LICENSE_ERROR in result.err.splitlines()
    (spooled,) = client.spooled()
    assert Record.model_validate_json(spooled.read_text()).license_num == 123456789


def test_optional_upload_failure_warns_and_keeps_the_record(home: Path) -> None:
    configure("enterprise", telemetry=True)
    result = run_cli("record", VCF)
    assert result.code == 0
    assert "could not upload 1 telemetry record" in result.err and LICENSE_ERROR not in result.err
    assert len(client.spooled()) == 1
    upload = run_cli("upload")
    assert upload.code == 3 and "1 kept in the spool" in upload.out
    assert len(client.spooled()) == 1


def test_a_corrupt_spool_file_is_set_aside(home: Path) -> None:
    config = configure("research")
    client.spool_dir().mkdir(parents=True)
    (client.spool_dir() / "broken.json").write_text("{")
    err = io.StringIO()
    report = client.send_files(config, client.spooled(), err)
    assert report.rejected == 1 and "not a valid record" in err.getvalue()
    assert (client.spool_dir() / "rejected" / "broken.json").exists()


def test_commands_need_an_activation() -> None:
    for args in (["upload"], ["records", "export"], ["records", "delete", "--yes"], ["analysis"], ["activate"]):
        result = run_cli(*args)
        assert result.code == 2 and result.err.count("\n") == 1, args


def test_error_answers_become_one_line() -> None:
    detail = json.dumps({"detail": [{"loc": ["body", "source", "disk_size"], "msg": "too small"}]}).encode()
    assert client.describe_error(422, detail) == "HTTP 422: source.disk_size: too small"
    assert client.describe_error(401, b'{"detail": "replayed request"}') == "HTTP 401: replayed request"
    assert client.describe_error(502, b"<html>") == "HTTP 502"


def test_record_stays_light_without_a_licence(home: Path) -> None:
    """`genotel record` must not import the web stack when nothing is sent."""
    code = (
        "import sys; from genotel.cli import main; rc = main(['record', sys.argv[1]]);"
        "print(rc, sorted(m for m in ('fastapi', 'httpx', 'sqlalchemy', 'uvicorn', 'alembic') if m in sys.modules))"
    )
    env = {**os.environ, "GENOTEL_HOME": str(home)}
    result = subprocess.run([sys.executable, "-c", code, str(VCF)], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.splitlines()[-1] == "0 []"
