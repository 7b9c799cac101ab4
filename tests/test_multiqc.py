"""genotel multiqc: custom-content files read by the real MultiQC, beside another tool's log."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pysam

from genotel.report.multiqc import sample_name

from browser import open_page
from conftest import FIXTURES, run_cli
from test_report import batch, golden_records

GENOTEL_PLOTS = "div.hc-plot[id^='genotel_']"
MULTIQC_READY = """
const plots = Array.from(document.querySelectorAll(arguments[0]));
return plots.length && plots.every(p => p.classList.contains('js-plotly-plot')) ? 'true' : '';
"""


def read_tsv(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as stream:
        return {row["Sample"]: row for row in csv.DictReader(stream, delimiter="\t")}


def run_multiqc(folder: Path, out: Path) -> None:
    command = [sys.executable, "-m", "multiqc", str(folder), "-o", str(out), "--no-version-check", "--no-ai", "-q"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr


def test_multiqc_shows_a_genotel_section(tmp_path: Path) -> None:
    records = golden_records() + batch(30)
    lines = tmp_path / "records.jsonl"
    lines.write_text("".join(json.dumps({"file": f"/data/run/sample{i}.bam", "record": r}) + "\n"
                             for i, r in enumerate(records)))  # fmt: skip
    logs = tmp_path / "logs"
    result = run_cli("multiqc", lines, "-o", logs)
    assert result.code == 0, result.err
    assert sorted(p.name for p in logs.iterdir()) == [
        "genotel_field_shares_mqc.json", "genotel_gains_mqc.json", "genotel_general_stats_mqc.json"]  # fmt: skip
    (logs / "aln_bwa.flagstat").write_text(pysam.flagstat(str(FIXTURES / "aln_bwa.bam")))  # another tool's log
    run_multiqc(logs, tmp_path / "out")
    data = tmp_path / "out" / "multiqc_data"
    stats = read_tsv(data / "multiqc_general_stats.txt")
    gain_column = "custom_content_genotel_general_stats-genozip_gain"
    for index, record in enumerate(records):
        row = stats[f"sample{index}"]
        expected = record["genozip_gain"]
        assert (float(row[gain_column]) if row[gain_column] else None) == expected
    assert "aln_bwa" in stats  # the samtools module read its log beside genotel's files
    gains = read_tsv(data / "multiqc_genotel_gains_plot.txt")
    assert float(gains["sample0"]["codec"]) == records[0]["source_gain"]
    shares = read_tsv(data / "multiqc_genotel_field_shares_plot.txt")
    first = {name: float(value) for name, value in shares["sample0"].items() if name != "Sample" and value}
    assert round(sum(first.values()), 1) == 100.0
    rendered = open_page(tmp_path / "out" / "multiqc_report.html", tmp_path / "multiqc.png", height=2000,
                         plots=GENOTEL_PLOTS, ready=MULTIQC_READY)  # fmt: skip
    assert rendered.state == "true" and rendered.console == []
    drawn = {plot["id"]: plot for plot in rendered.plots}
    assert set(drawn) == {"genotel_gains_plot", "genotel_field_shares_plot"}
    assert all(plot["drawn"] and plot["traces"] and plot["points"] for plot in drawn.values())
    assert "genotel" in rendered.text and "Samtools" in rendered.text


def test_sample_names_lose_genomics_extensions() -> None:
    assert [sample_name(p) for p in ("/d/a.vcf.gz", "b.fastq.gz", "c.sorted.bam", ".bam", "d.txt")] == [
        "a", "b", "c.sorted", ".bam", "d.txt"]  # fmt: skip


def test_multiqc_never_replaces_a_foreign_file(tmp_path: Path) -> None:
    records = tmp_path / "records.json"
    records.write_text(json.dumps(golden_records()[0]))
    logs = tmp_path / "logs"
    logs.mkdir()
    foreign = logs / "genotel_gains_mqc.json"
    foreign.write_text('{"id": "someone_else"}')
    result = run_cli("multiqc", records, "-o", logs)
    assert result.code == 2 and "was not written by genotel" in result.err
    assert foreign.read_text() == '{"id": "someone_else"}' and len(list(logs.iterdir())) == 1
    foreign.unlink()
    assert run_cli("multiqc", records, "-o", logs).code == 0
    assert run_cli("multiqc", records, "-o", logs).code == 0  # its own files: replaced
    assert json.loads(foreign.read_text())["id"] == "genotel_gains"
