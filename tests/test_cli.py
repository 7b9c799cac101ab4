"""The command line: output modes, --telemetry, and the exit-code boundary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import genotel.runner

from conftest import FIXTURES, run_cli


def test_summary_on_the_terminal_names_the_file_and_fields() -> None:
    result = run_cli("record", FIXTURES / "aln_bwa.bam")
    assert result.code == 0
    assert "aln_bwa.bam: BAM (BGZF)" in result.out
    assert "programs     bwa;samtools;" in result.out


def test_json_is_one_object_for_one_file_and_an_array_for_several() -> None:
    one = run_cli("record", FIXTURES / "aln_bwa.bam", "--json").json()
    assert isinstance(one, dict) and one["data_type"] == "BAM"
    several = run_cli("record", FIXTURES / "aln_bwa.bam", FIXTURES / "aln_qname.sam", "--json").json()
    assert [record["data_type"] for record in several] == ["BAM", "SAM"]  # type: ignore[union-attr,index]
    assert [record["flags"][-10:] for record in several] == ["file_i=1/2", "file_i=2/2"]  # type: ignore[index]


def test_telemetry_writes_the_exact_records_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "telemetry.json"
    result = run_cli("record", FIXTURES / "aln_bwa.bam", f"--telemetry={target}", "--json")
    assert result.code == 0
    assert json.loads(target.read_text()) == result.json()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["telemetry.json"]
    run_cli("record", FIXTURES / "aln_bwa.bam", FIXTURES / "aln_minimap2.bam", f"--telemetry={target}")
    assert [record["programs"] for record in json.loads(target.read_text())] == ["bwa;samtools;", "minimap2;samtools;"]


def test_records_never_hold_names_or_paths() -> None:
    args = ("record", FIXTURES / "aln_bwa.bam", FIXTURES / "aln_bwa.cram", "--reference", FIXTURES / "ref.fa", "--json")
    # hash_issues examples are the only raw values a record may hold (docs/record.md); --redact hashes them.
    records = run_cli(*args).json()
    text = json.dumps([{**record, "hash_issues": []} for record in records])  # type: ignore[dict-item, union-attr]
    redacted = run_cli(*args, "--redact").out
    for secret in ("aln_bwa", "fixtures", "sample1", "rg1", "ec536", "reads_R1", "ref.fa"):
        assert secret not in text
        assert secret not in redacted


def test_a_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "empty.bam").write_bytes(b"")
    files = (tmp_path / "empty.bam", FIXTURES / "aln_bwa.bam", tmp_path / "missing")
    result = run_cli("record", *files, "--json", "--jobs", "1")
    assert result.code == 2
    assert result.json()["data_type"] == "BAM"  # type: ignore[index]
    assert result.json()["flags"].endswith("file_i=2/3")  # type: ignore[index]
    assert result.err.splitlines() == [
        f"genotel: error: {tmp_path / 'empty.bam'}: is empty",
        f"genotel: error: {tmp_path / 'missing'}: no such file",
    ]  # a few named files: each failure is its one line, no batch summary


@pytest.mark.parametrize(
    "argv",
    [["record"], ["record", "x", "--sample", "0"], ["record", "x", "--threads", "two"], ["frobnicate"], []],
)
def test_usage_errors_exit_2_with_one_line(argv: list[str]) -> None:
    result = run_cli(*argv)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert result.err.startswith("genotel: error: ")


def test_a_bug_exits_1_and_still_does_the_other_files(monkeypatch: pytest.MonkeyPatch) -> None:
    real = genotel.runner.make_record

    def make_record_with_a_bug(path: str, *args: object) -> object:
        if str(path).endswith(".sam"):
            raise RuntimeError("simulated bug")
        return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(genotel.runner, "make_record", make_record_with_a_bug)
    result = run_cli("record", FIXTURES / "aln_qname.sam", FIXTURES / "aln_bwa.bam", "--json", "--jobs", "1")
    assert result.code == 1
    assert "internal error (a bug)" in result.err and "simulated bug" in result.err
    assert result.json()["data_type"] == "BAM"  # type: ignore[index]


def test_the_installed_console_script_exits_2_without_a_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "genotel"
    done = subprocess.run([script, "record", tmp_path / "nope.bam"], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr == f"genotel: error: {tmp_path / 'nope.bam'}: no such file\n"


def test_version() -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli("--version")
    assert exit_info.value.code == 0


def test_inspect_shows_the_probe_as_a_table() -> None:
    result = run_cli("inspect", FIXTURES / "aln_bwa.bam")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["field", "text", "bytes", "compressed", "share", "ratio"]
    rows = [line.split() for line in lines[1:] if line and not line.startswith(("total", " ")) and "%" in line]
    record = run_cli("record", FIXTURES / "aln_bwa.bam", "--json").json()
    assert [row[0] for row in rows] == [item.split(",")[0] for item in record["fields_gain"].split("; ")]  # type: ignore[index]
    text_total = sum(int(row[1].replace(",", "")) for row in rows)
    assert text_total == record["source"]["txt_size"]  # type: ignore[index]
    assert "programs     bwa;samtools;" in result.out


def test_inspect_of_a_bad_file_is_one_line() -> None:
    result = run_cli("inspect", FIXTURES / "nope.bam")
    assert result.code == 2 and result.err.strip().count("\n") == 0
