"""The engine and upload client install without the collector: `genotel[server]` is an extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from genotel.service.cli import SERVER_MODULES

from conftest import FIXTURES, run_cli

ROOT = Path(__file__).resolve().parent.parent
SERVER_LIBRARIES = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg")


def test_the_collector_libraries_are_an_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = " ".join(project["dependencies"])
    server = " ".join(project["optional-dependencies"]["server"])
    for library in SERVER_LIBRARIES:
        assert library not in required
        assert library in server
    assert "plotly" not in required
    assert "plotly" in " ".join(project["optional-dependencies"]["report"])


def test_record_and_upload_import_no_collector_library(tmp_path: Path) -> None:
    """A record, and the client that would send it, run without loading any server library."""
    script = f"""
import io, json, sys
from genotel.cli import main
import genotel.client.upload
out = io.StringIO()
code = main(["record", {str(FIXTURES / "aln_bwa.bam")!r}, "--json"], stdout=out)
print(json.dumps({{"code": code, "loaded": sorted(m for m in {SERVER_LIBRARIES!r} if m in sys.modules)}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={"GENOTEL_HOME": str(tmp_path)})  # fmt: skip
    assert json.loads(done.stdout.splitlines()[-1]) == {"code": 0, "loaded": []}


@pytest.mark.parametrize("command", [["serve"], ["admin", "licence", "list"], ["admin", "migrate"]])
def test_collector_commands_say_how_to_install_the_collector(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GENOTEL_HOME", str(tmp_path))
    for library in SERVER_MODULES:
        monkeypatch.setitem(sys.modules, library, None)  # as if not installed: importing it fails
    result = run_cli(*command)
    assert result.code == 2
    assert result.err == (
        "genotel: error: the collector is not installed (missing fastapi, uvicorn, sqlalchemy, alembic): "
        "pip install 'genotel[server]'\n"
    )
    assert list(tmp_path.iterdir()) == []  # no database was made


@pytest.mark.parametrize(
    "command", [["report", "records.json", "-o", "out.html"], ["multiqc", "records.json", "-o", "qc"],
                ["analysis", "--html", "page.html"]],
)  # fmt: skip
def test_report_commands_say_how_to_install_plotly(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GENOTEL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "plotly", None)  # as if not installed
    result = run_cli(*command)
    assert result.code == 2
    why = "the reports need plotly, which is not installed: pip install 'genotel[report]'"
    assert result.err == f"genotel: error: {why}\n"
    assert sorted(path.name for path in tmp_path.iterdir()) in ([], ["home"])
