"""`genotel diff`: every field kind compared as the regression contract says, exit 0/1/2."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from genotel.cli import main

from conftest import run_cli

GOLDEN = Path(__file__).resolve().parent / "golden"
BAM = json.loads((GOLDEN / "aln_bwa_bam.json").read_text(encoding="utf-8"))["record"]
VCF = json.loads((GOLDEN / "calls_vcf.json").read_text(encoding="utf-8"))["record"]


def write(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


def write_lines(path: Path, entries: list[object]) -> Path:
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    return path


def changed(**updates: object) -> dict[str, object]:
    record = copy.deepcopy(BAM)
    record.update(updates)
    return record


def diff_json(tmp_path: Path, old: object, new: object, *options: str) -> tuple[int, dict[str, object]]:
    result = run_cli("diff", write(tmp_path / "old.json", old), write(tmp_path / "new.json", new), "--json", *options)
    assert result.err == ""
    return result.code, json.loads(result.out)


def changes_of(report: dict[str, object]) -> list[dict[str, object]]:
    return [change for file in report["files"] for change in file["changes"]]  # type: ignore[attr-defined]


def another_run() -> dict[str, object]:
    """BAM's record as another run on another machine makes it: only the run keys differ."""
    return changed(record_id="another", created="2030-01-01T00:00:00Z", genotel_version="9.9", license_num=7,
                   flags=BAM["flags"].replace("file_i=1/1", "file_i=3/5"))  # fmt: skip


def test_identical_records_are_the_same_and_run_keys_are_ignored(tmp_path: Path) -> None:
    code, report = diff_json(tmp_path, BAM, another_run())
    assert (code, report["same"], changes_of(report)) == (0, True, [])
    result = run_cli("diff", tmp_path / "old.json", tmp_path / "new.json")
    assert result.code == 0
    assert "same: 1 same" in result.out


@pytest.mark.parametrize("include", ["genotel_version", "license_num", "file_i", "record_id,created"])
def test_include_compares_a_run_key(tmp_path: Path, include: str) -> None:
    code, report = diff_json(tmp_path, changed(record_id="one", created="2029-01-01T00:00:00Z"), another_run(),
                             "--include", include)  # fmt: skip
    assert code == 1
    named = {change["item"] if change["field"] == "flags" else change["field"] for change in changes_of(report)}
    assert named == set(include.split(","))


FEATURES = BAM["features"]
QUAL = BAM["qual_acgt"]
GAIN = BAM["fields_gain"]
HASH = BAM["hash_issues"][0]
EDITS: dict[str, tuple[Callable[[], dict[str, object]], dict[str, object]]] = {
    "data_type": (lambda: changed(data_type="CRAM"), {"field": "data_type", "old": "BAM", "new": "CRAM"}),
    "source count": (lambda: changed(source={**BAM["source"], "num_lines": 6723}),
                     {"field": "source", "item": "num_lines", "old": 6722, "new": 6723}),
    "programs added": (lambda: changed(programs="bwa;samtools;picard;"),
                       {"field": "programs", "note": "added picard"}),
    "programs order": (lambda: changed(programs="samtools;bwa;"),
                       {"field": "programs", "note": "same programs, in another order"}),
    "feature value": (lambda: changed(features=FEATURES.replace("sorted_by=POS", "sorted_by=NONE")),
                      {"field": "features", "item": "sorted_by", "old": "POS", "new": "NONE"}),
    "feature added": (lambda: changed(features=FEATURES + "deep=99.0%;"),
                      {"field": "features", "item": "deep", "old": None, "new": "99.0%", "note": "added"}),
    "flags": (lambda: changed(flags=BAM["flags"].replace("sample=all", "sample=100")),
              {"field": "flags", "item": "sample", "old": "all", "new": "100"}),
    "qual_acgt ranks": (lambda: changed(qual_acgt=QUAL.replace("GCFEB1D0>@", "GCFBE1D0>@", 1)),
                        {"field": "qual_acgt", "item": "C", "note": "moved E 4→5, B 5→4"}),
    "qual_acgt null": (lambda: changed(qual_acgt=None), {"field": "qual_acgt", "old": QUAL, "new": None}),
    "fields_gain share": (lambda: changed(fields_gain=GAIN.replace("QUAL,57.3%", "QUAL,57.4%")),
                          {"field": "fields_gain", "item": "QUAL", "old": "57.3%,3.5X", "new": "57.4%,3.5X",
                           "note": "share +0.2%"}),
    "fields_gain ratio": (lambda: changed(fields_gain=GAIN.replace("SEQ,18.7%,10.7X", "SEQ,18.7%,9.0X")),
                          {"field": "fields_gain", "item": "SEQ", "note": "ratio -15.9%"}),
    "fields_gain stream gone": (lambda: changed(fields_gain=GAIN.replace("; RNEXT,0.0%,373.4X", "")),
                                {"field": "fields_gain", "item": "RNEXT", "new": None, "note": "removed"}),
    "fields_gain order": (lambda: changed(fields_gain="; ".join(reversed(GAIN.split("; ")))),
                          {"field": "fields_gain", "item": None, "note": "same items, in another order"}),
    "genozip_gain": (lambda: changed(genozip_gain=6.5), {"field": "genozip_gain", "old": 6.4, "new": 6.5}),
    "source_gain": (lambda: changed(source_gain=5.3), {"field": "source_gain", "note": "-1.9%"}),
    "gain probe skipped": (lambda: changed(fields_gain=None, genozip_gain=None),
                           {"field": "genozip_gain", "old": 6.4, "new": None}),
    "hash_issues": (lambda: changed(hash_issues=[HASH.replace("ec536_a-1213", "ec536_a-1")]),
                    {"field": "hash_issues", "old": HASH, "new": None, "note": "removed"}),
    "schema": (lambda: changed(schema="genotel.record/2"), {"field": "schema", "new": "genotel.record/2"}),
}  # fmt: skip


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_each_field_kind_changed_is_named(tmp_path: Path, edit: str) -> None:
    make, expected = EDITS[edit]
    code, report = diff_json(tmp_path, BAM, make())
    assert code == 1
    assert report["files"][0]["status"] == "changed"  # type: ignore[index]
    found = [change for change in changes_of(report) if all(change.get(k) == v for k, v in expected.items())]
    assert found, changes_of(report)


def test_rank_moves_name_each_moved_character(tmp_path: Path) -> None:
    _, report = diff_json(tmp_path, changed(qual_acgt="ABCD――AB――A――"), changed(qual_acgt="BAD――AB――AE――"))
    notes = {change["item"]: change["note"] for change in changes_of(report)}
    assert notes == {"A": "moved A 1→2, B 2→1, D 4→3; gone C from 3", "G": "new E at 2"}


def test_text_report_names_the_file_and_each_change(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", BAM)
    new = write(tmp_path / "new.json", changed(features=FEATURES.replace("paired=100.0%", "paired=50.0%")))
    result = run_cli("diff", old, new)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == f"{old} vs {new}"
    assert lines[1] == "record  changed"
    assert lines[2].split() == ["features", "paired", "100.0%", "→", "50.0%"]
    assert lines[3].startswith("different: 0 same, 1 changed (gains exact as printed; ignored: record_id")
    assert "\x1b[" not in result.out  # piped: plain


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    old, new = write(tmp_path / "old.json", BAM), write(tmp_path / "new.json", changed(data_type="CRAM"))
    out = Terminal()
    assert main(["diff", str(old), str(new)], stdout=out, stderr=io.StringIO()) == 1
    assert "\x1b[" in out.getvalue()
    assert "BAM" in out.getvalue() and "CRAM" in out.getvalue()


@pytest.mark.parametrize(
    ("old", "new", "tolerance", "code"),
    [
        (10.0, 10.5, "5%", 0),  # exactly 5 % of the old value: within
        (10.0, 9.5, "0.05", 0),
        (10.0, 10.6, "5%", 1),
        (10.0, 9.4, "5%", 1),
        (6.4, 6.4, None, 0),  # default: equal as printed
        (6.4, 6.5, None, 1),
        (0.0, 0.1, "50%", 1),  # relative to 0: any change is beyond
    ],
)
def test_gain_tolerance_boundaries(tmp_path: Path, old: float, new: float, tolerance: str | None, code: int) -> None:
    options = ("--gain-tolerance", tolerance) if tolerance else ()
    for key in ("genozip_gain", "source_gain"):
        assert diff_json(tmp_path, changed(**{key: old}), changed(**{key: new}), *options)[0] == code, key
    share = (f"QUAL,{old:.1f}%,3.5X", f"QUAL,{new:.1f}%,3.5X")
    ratio = (f"QUAL,57.3%,{old:.1f}X", f"QUAL,57.3%,{new:.1f}X")
    for before, after in (share, ratio):
        gains = (changed(fields_gain=GAIN.replace("QUAL,57.3%,3.5X", text)) for text in (before, after))
        assert diff_json(tmp_path, *gains, *options)[0] == code, (before, after)


def test_with_a_tolerance_the_order_of_fields_gain_is_free(tmp_path: Path) -> None:
    reordered = changed(fields_gain="; ".join(reversed(GAIN.split("; "))))
    assert diff_json(tmp_path, BAM, reordered, "--gain-tolerance", "1%")[0] == 0


def test_beyond_tolerance_says_how_far(tmp_path: Path) -> None:
    _, report = diff_json(tmp_path, changed(genozip_gain=10.0), changed(genozip_gain=11.0), "--gain-tolerance", "5%")
    assert changes_of(report) == [{"field": "genozip_gain", "item": None, "old": 10.0, "new": 11.0,
                                   "note": "+10.0%, beyond 5.0%"}]  # fmt: skip


def test_hash_issues_are_a_set(tmp_path: Path) -> None:
    entries = ["RNAME,,2 B,100%,a", "CIGAR,,2 B,50%,b", "QNAME,,,,x"]
    code, _ = diff_json(tmp_path, changed(hash_issues=entries), changed(hash_issues=entries[::-1]))
    assert code == 0
    code, report = diff_json(tmp_path, changed(hash_issues=entries), changed(hash_issues=[*entries[:2], "QNAME,,,,y"]))
    assert code == 1
    assert [(c["old"], c["new"]) for c in changes_of(report)] == [("QNAME,,,,x", None), (None, "QNAME,,,,y")]


def test_sets_by_file_report_files_added_and_removed(tmp_path: Path) -> None:
    old = write_lines(tmp_path / "old.jsonl", [{"file": "a.bam", "record": BAM}, {"file": "c.vcf", "record": VCF}])
    new = write_lines(tmp_path / "new.jsonl", [{"file": "./c.vcf", "record": VCF}, {"file": "b.bam", "record": BAM},
                                               {"file": "d.bam", "record": changed(data_type="CRAM")}])  # fmt: skip
    result = run_cli("diff", old, new, "--json")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["matched_by"] == "file"
    statuses = {file["file"]: file["status"] for file in report["files"]}
    assert statuses == {"a.bam": "removed", "c.vcf": "same", "b.bam": "added", "d.bam": "added"}
    text = run_cli("diff", old, new).out
    assert f"a.bam  removed (only in {old})" in text
    assert f"b.bam  added (only in {new})" in text
    assert "different: 1 same, 2 added, 1 removed" in text


def test_sets_without_paths_match_by_order(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", [BAM, VCF])
    new = write_lines(tmp_path / "export.jsonl", [BAM, VCF, changed(data_type="SAM")])  # `records export` lines
    result = run_cli("diff", old, new)
    assert result.code == 1
    assert "matched by order (not every record names its file)" in result.out.splitlines()[0]
    assert f"#3  added (only in {new})" in result.out
    assert run_cli("diff", new, old).out.count("#3  removed") == 1
    assert run_cli("diff", old, write_lines(tmp_path / "same.jsonl", [BAM, VCF])).code == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"schema": "genotel.record/1",', "not JSON (Expecting property name enclosed in double quotes) at line 1"),
        (json.dumps(BAM) + "\n" + json.dumps(VCF) + "\n{oops\n", "not a JSON line (Expecting property name "
                                                                 "enclosed in double quotes) at line 3"),
        ("[1, 2]", "expected a record (a JSON object), found int"),
        ('{"schema": "x"}', "not a genotel record (genotel_version: Field required)"),
        (json.dumps({**BAM, "source": {**BAM["source"], "disk_size": -1}}),
         "not a genotel record (source.disk_size: Input should be greater than or equal to 0)"),
        (json.dumps({"file": 3, "record": BAM}), "the entry's \"file\" is not a string"),
        (json.dumps({"file": "a", "record": BAM}) + "\n" + json.dumps({"file": "./a", "record": BAM}),
         "two records describe ./a"),
        (b"\xff\xfe".decode("latin-1"), "cannot read it"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: str, problem: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content.encode("latin-1" if content.startswith("\xff") else "utf-8"))
    result = run_cli("diff", write(tmp_path / "ok.json", BAM), bad)
    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines() == [result.err.strip()]
    assert result.err.startswith(f"genotel: error: {bad}: {problem}")


def test_a_missing_file_and_bad_options_are_exit_2(tmp_path: Path) -> None:
    ok = write(tmp_path / "ok.json", BAM)
    for args in ([ok, tmp_path / "none.json"], [ok, ok, "--gain-tolerance", "5"], [ok, ok, "--include", "flags"]):
        result = run_cli("diff", *args)
        assert result.code == 2, args
        assert len(result.err.splitlines()) == 1, result.err
