"""`genotel check GOLDEN FILES`: record and compare in one step; `--update` after a reviewed change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import run_cli

FILES = ("calls.vcf", "genes.gff", "names_unparsed.fastq")


def golden_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def copy_fixtures(fixtures: Path, folder: Path) -> list[Path]:
    folder.mkdir()
    return [Path(shutil.copy(fixtures / name, folder / name)) for name in FILES]


def test_update_round_trip(fixtures: Path, tmp_path: Path) -> None:
    vcf, gff, fastq = copy_fixtures(fixtures, tmp_path / "data")
    golden = tmp_path / "golden.jsonl"
    missing = run_cli("check", golden, vcf, gff)
    assert (missing.code, missing.err.count("\n")) == (2, 1)
    assert f"{golden}: no such file" in missing.err

    written = run_cli("check", golden, vcf, gff, "--update")
    assert written.code == 0, written.err
    assert f"{golden}: 0 replaced, 2 appended, 0 kept" in written.err
    entries = golden_of(golden)
    assert [entry["file"] for entry in entries] == [str(vcf), str(gff)]
    assert [entry["record"]["data_type"] for entry in entries] == ["VCF", "GFF"]
    assert not {"record_id", "created"} & set(entries[0]["record"])  # volatile keys stay out of the golden set

    same = run_cli("check", golden, vcf, gff)
    assert same.code == 0, same.out
    assert "same: 2 same" in same.out
    before = golden.read_bytes()
    assert run_cli("check", golden, vcf, gff, "--update").code == 0
    assert golden.read_bytes() == before  # nothing changed: the file is left as it was

    entries[0]["record"]["source"]["num_lines"] += 1  # the golden says one more line than the file has
    golden.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    drift = run_cli("check", golden, vcf, gff, fastq, "--json")
    assert drift.code == 1
    report = json.loads(drift.out)
    assert [(file["file"], file["status"]) for file in report["files"]] == [
        (str(vcf), "changed"), (str(gff), "same"), (str(fastq), "added")]  # fmt: skip
    assert report["files"][0]["changes"][0]["item"] == "num_lines"

    updated = run_cli("check", golden, vcf, gff, fastq, "--update")
    assert updated.code == 0
    assert f"{golden}: 1 replaced, 1 appended, 1 kept" in updated.err
    assert [entry["file"] for entry in golden_of(golden)] == [str(vcf), str(gff), str(fastq)]
    assert run_cli("check", golden, vcf, gff, fastq).code == 0


def test_a_golden_file_not_given_is_reported_and_kept_by_update(fixtures: Path, tmp_path: Path) -> None:
    vcf, gff, _ = copy_fixtures(fixtures, tmp_path / "data")
    golden = tmp_path / "golden.jsonl"
    assert run_cli("check", golden, vcf, gff, "--update").code == 0
    result = run_cli("check", golden, vcf)
    assert result.code == 1
    assert f"{gff}  removed (only in {golden})" in result.out
    assert run_cli("check", golden, vcf, "--update").code == 0
    assert [entry["file"] for entry in golden_of(golden)] == [str(vcf), str(gff)]


def test_same_options_as_the_golden_or_the_flags_differ(fixtures: Path, tmp_path: Path) -> None:
    vcf = copy_fixtures(fixtures, tmp_path / "data")[0]
    golden = tmp_path / "golden.jsonl"
    assert run_cli("check", golden, vcf, "--update", "--no-gain").code == 0
    assert run_cli("check", golden, vcf, "--no-gain").code == 0
    result = run_cli("check", golden, vcf, "--json")
    assert result.code == 1
    changed = {(change["field"], change["item"]) for change in json.loads(result.out)["files"][0]["changes"]}
    assert {("flags", "codec"), ("fields_gain", None), ("genozip_gain", None)} <= changed


def test_a_file_that_cannot_be_recorded_is_exit_2_and_update_writes_nothing(fixtures: Path, tmp_path: Path) -> None:
    vcf, gff, _ = copy_fixtures(fixtures, tmp_path / "data")
    golden = tmp_path / "golden.jsonl"
    assert run_cli("check", golden, vcf, "--update").code == 0
    before = golden.read_bytes()
    broken = tmp_path / "data" / "broken.vcf"
    broken.write_bytes(vcf.read_bytes()[:-200] + b"chr1\tnot-a-position\n")
    result = run_cli("check", golden, vcf, gff, broken, "--update")
    assert result.code == 2
    assert f"genotel: error: {broken}:" in result.err
    assert f"{golden} left as it was" in result.err
    assert golden.read_bytes() == before
    assert run_cli("check", golden, vcf, broken).code == 2


def test_update_refuses_a_golden_set_without_paths(fixtures: Path, tmp_path: Path) -> None:
    vcf = copy_fixtures(fixtures, tmp_path / "data")[0]
    golden = tmp_path / "golden.json"
    assert run_cli("record", vcf, f"--telemetry={golden}").code == 0  # one record, no path
    before = golden.read_bytes()
    assert run_cli("check", golden, vcf).code == 0  # compared by order: one record each
    result = run_cli("check", golden, vcf, "--update")
    assert result.code == 2
    assert "--update needs a file path in every entry" in result.err
    assert golden.read_bytes() == before


def test_update_never_writes_over_an_input(fixtures: Path, tmp_path: Path) -> None:
    vcf, gff, _ = copy_fixtures(fixtures, tmp_path / "data")
    before = vcf.read_bytes()
    result = run_cli("check", vcf, vcf, gff, "--update")
    assert result.code == 2
    assert "that is one of the input files; genotel never writes to an input" in result.err
    assert vcf.read_bytes() == before
