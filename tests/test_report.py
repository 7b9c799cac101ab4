"""genotel report: records in (three input shapes), one offline HTML page out, drawn by Chromium."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from genotel.record_fields import explain_hash_issue, parse_field_gains, parse_qual_acgt
from genotel.report.inputs import load_entries

from browser import open_page
from conftest import FIXTURES, ROOT, run_cli

GOLDEN = ROOT / "tests" / "golden"
FILTER_VCF = """
document.body.dataset.updated = 'false';
const select = document.getElementById('data-type');
select.value = 'VCF';
select.dispatchEvent(new Event('change'));
"""


def golden_records() -> list[dict[str, object]]:
    """The records of every fixture (the golden files), each with its own record_id."""
    records = []
    for path in sorted(GOLDEN.glob("*.json")):
        record = json.loads(path.read_text())["record"]
        records.append({**record, "record_id": str(uuid.uuid4()), "created": "2026-12-01T10:00:00Z"})
    return records


def batch(count: int) -> list[dict[str, object]]:
    """`count` records cycling through the fixtures' records, each a distinct record."""
    base = golden_records()
    return [{**base[i % len(base)], "record_id": str(uuid.uuid4())} for i in range(count)]


def test_record_strings_read_back() -> None:
    gains = parse_field_gains("QUAL,57.3%,3.5X; a,b,1.0%,2.0X; broken; SEQ,x%,1X")
    assert [(g.name, g.share, g.ratio) for g in gains] == [("QUAL", 57.3, 3.5), ("a,b", 1.0, 2.0)]
    qual = parse_qual_acgt("GC≐――F――――B")
    assert qual == {"A": [38, 34, 28], "C": [37], "G": [], "T": [33]}
    assert parse_qual_acgt(None) == {} and parse_qual_acgt("AB") == {}
    assert "fit no known naming scheme" in explain_hash_issue("QNAME,,,,ec536_a-1,ec536_a-2")
    field = explain_hash_issue("INFO/XX,INFO,512.0 KB,104%,v⸲1,v2")
    assert "INFO/XX (in INFO)" in field and "512.0 KB" in field and "104%" in field and "v,1" in field
    assert "no relation" in explain_hash_issue("read1/1;read1")


def test_fixture_records_and_a_batch_render_in_chromium(tmp_path: Path) -> None:
    records, more = golden_records(), batch(30)  # every fixture's record, then 30 more: 64 files
    telemetry = tmp_path / "records.json"  # --telemetry=PATH files carry no path
    telemetry.write_text(json.dumps(records))
    lines = tmp_path / "records.jsonl"  # --output lines do
    lines.write_text("".join(json.dumps({"file": f"/data/run/s{i}.bam", "record": r}) + "\n"
                             for i, r in enumerate(more)))  # fmt: skip
    page = tmp_path / "report.html"
    result = run_cli("report", telemetry, lines, "-o", page)
    assert result.code == 0, result.err
    text = page.read_text()
    assert "https://" not in re.sub(r'<script id="plotly-gz".*?</script>', "", text, flags=re.S)
    assert "<script src" not in text and "<link" not in text  # nothing fetched
    assert str(tmp_path) not in text and "records.json" not in text  # the inputs' own paths are not shown
    assert "/data/run/s29.bam" in text  # the --output lines' paths are: they stay local
    rendered = open_page(page, tmp_path / "report.png", height=3000, run_js=FILTER_VCF)
    assert rendered.state == "true" and rendered.errors == [] and rendered.console == []
    drawn = {plot["id"]: plot for plot in rendered.plots}
    assert set(drawn) == {"gains", "shares", "ratios", "qual", "type-gains", "type-shares", "counts"}
    assert all(plot["drawn"] and plot["traces"] for plot in drawn.values())
    assert all(plot["points"] for name, plot in drawn.items() if name != "qual")
    every = records + more
    vcf = sum(record["data_type"] == "VCF" for record in every)
    assert drawn["gains"]["points"] == 2 * vcf  # the filter left the VCF files only, both gains each
    assert drawn["qual"]["points"] == 0  # VCF records have no qualities: the per-file rows are gone
    with_probe = sum(record["genozip_gain"] is not None for record in every)  # across files: not filtered
    assert drawn["type-gains"]["points"] == with_probe + len(every)
    assert f"{vcf} of {len(every)} files" in rendered.text
    assert "paths from the `--output` lines" in rendered.text
    probed = [r for r in every if r["genozip_gain"]]
    together = sum(r["source"]["txt_size"] for r in probed) / sum(r["source"]["txt_size"] / r["genozip_gain"]
                                                                   for r in probed)  # fmt: skip
    assert f"gain of all bytes together {together:.1f}" in rendered.text
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_inputs_in_three_shapes(tmp_path: Path) -> None:
    records = golden_records()[:3]
    one = tmp_path / "one.json"
    one.write_text(json.dumps(records[0], indent=2))
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(json.dumps(r) for r in records[1:]) + "\n\n")
    entries = load_entries([str(one), str(export)])
    assert [entry.record.record_id for entry in entries] == [r["record_id"] for r in records]
    assert all(entry.path is None and entry.label.startswith(entry.record.data_type) for entry in entries)


def test_records_made_by_genotel_record(tmp_path: Path) -> None:
    output = tmp_path / "records.jsonl"
    assert run_cli("record", FIXTURES / "calls.vcf", FIXTURES / "genes.gff", "--output", output).code == 0
    page = tmp_path / "report.html"
    assert run_cli("report", output, "-o", page).code == 0
    paths = [entry.path for entry in load_entries([str(output)])]
    assert paths == [str(FIXTURES / name) for name in ("calls.vcf", "genes.gff")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json\n", "line 1: not JSON"),
        ('{"schema": "genotel.record/1"}', "not a genotel record"),
        ("[1, 2]", "item 1: not a genotel record"),
        ("", "no records in"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = run_cli("report", bad, "-o", tmp_path / "r.html")
    assert result.code == 2 and message in result.err and str(bad) in result.err
    assert len(result.err.strip().splitlines()) == 1 and not (tmp_path / "r.html").exists()


def test_never_replaces_an_input(tmp_path: Path) -> None:
    records = tmp_path / "records.json"
    records.write_text(json.dumps(golden_records()[0]))
    before = records.read_bytes()
    result = run_cli("report", records, "-o", records)
    assert result.code == 2 and "that is one of the input files" in result.err and records.read_bytes() == before
    assert run_cli("report", tmp_path / "missing.json", "-o", tmp_path / "r.html").code == 2


def test_replaces_only_its_own_page(tmp_path: Path) -> None:
    records = tmp_path / "records.json"
    records.write_text(json.dumps(golden_records()[0]))
    page = tmp_path / "report.html"
    page.write_text("<html>someone's page</html>")
    result = run_cli("report", records, "-o", page)
    assert result.code == 2 and "was not written by genotel" in result.err
    assert page.read_text() == "<html>someone's page</html>"
    page.unlink()
    assert run_cli("report", records, "-o", page).code == 0
    first = page.read_text()
    assert run_cli("report", records, "-o", page).code == 0 and page.read_text() == first  # its own: replaced
