"""`genotel.testing.assert_record_matches`: the pytest assertion, its message the diff report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from genotel.errors import InputError
from genotel.record import Record
from genotel.testing import assert_record_matches

from conftest import ROOT, run_cli

GOLDEN = ROOT / "tests" / "golden"


def case_record(name: str) -> dict[str, object]:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))["record"]


def test_a_file_matches_its_golden_case_and_a_golden_set(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_record_matches(fixtures / "calls.vcf", GOLDEN / "calls_vcf.json")  # a golden case file
    assert_record_matches(fixtures / "aln_bwa.bam", case_record("aln_bwa_bam_sample100"), sample=100)
    golden = tmp_path / "golden.jsonl"
    files = [fixtures / "genes.gff", fixtures / "calls.vcf"]
    assert run_cli("check", golden, *files, "--update").code == 0
    for path in files:
        assert_record_matches(path, golden)  # the set's entry for this path
    monkeypatch.chdir(ROOT)
    assert_record_matches("fixtures/calls.vcf", golden)  # another spelling of a path in the set


def test_a_difference_raises_with_the_report(fixtures: Path) -> None:
    golden = case_record("calls_vcf")
    golden["genozip_gain"] = round(float(golden["genozip_gain"]) * 1.04, 1)  # type: ignore[arg-type]
    with pytest.raises(AssertionError) as raised:
        assert_record_matches(fixtures / "calls.vcf", golden)
    message = str(raised.value)
    assert f"{fixtures / 'calls.vcf'}  changed" in message
    assert re.search(r"genozip_gain +[\d.]+ → [\d.]+ +\(-[\d.]+%\)", message), message
    assert "\x1b[" not in message
    assert_record_matches(fixtures / "calls.vcf", golden, gain_tolerance="5%")
    assert_record_matches(fixtures / "calls.vcf", golden, gain_tolerance=0.05)


def test_records_and_included_keys(fixtures: Path) -> None:
    made = Record.from_dict(run_cli("record", fixtures / "genes.gff", "--json").json())  # type: ignore[arg-type]
    golden = {**made.to_dict(), "record_id": "other", "genotel_version": "0.0.1"}
    assert_record_matches(made, golden)
    with pytest.raises(AssertionError, match=r"genotel_version +0\.0\.1 → "):
        assert_record_matches(made, golden, include=["genotel_version"])
    with pytest.raises(ValueError, match="genotel_versoin"):
        assert_record_matches(made, golden, include=["genotel_versoin"])


def test_no_golden_record_for_the_file_is_an_error(fixtures: Path, tmp_path: Path) -> None:
    golden = tmp_path / "golden.jsonl"
    assert run_cli("check", golden, fixtures / "genes.gff", "--update").code == 0
    with pytest.raises(InputError, match=r"golden\.jsonl: no record for .*calls\.vcf among its 1 records"):
        assert_record_matches(fixtures / "calls.vcf", golden)
