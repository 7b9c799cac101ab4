"""The analysis by bytes and as a page: on a real collector (SQLite and PostgreSQL) over loopback, and the page
of the fixtures' records drawn in headless Chromium.

Three groups of BAM records: many bytes that compress well (Illumina), tiny files that compress
badly (ONT: flagged by the median, too small to matter by bytes) and many bytes that compress
worse than the rest (MGI: flagged by the size-weighted gain only).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from genotel.record import Record, Source
from genotel.report.analysis_page import write_analysis_page
from genotel.service.analysis import analyse, analysis_row

from browser import open_page
from collector import ADMIN_TOKEN, Server
from conftest import run_cli
from test_report import batch, golden_records
from test_service_e2e import activate, make_record, signed, upload

pytestmark = pytest.mark.usefixtures("server_secret")  # `genotel admin` runs in this process

# (sequencer, mapper, gain, txt_size, records)
GROUPS = (
    ("Illumina", "bwa", 10.0, 1_000_000, 4),
    ("ONT", "minimap2", 3.0, 2_000, 3),
    ("MGI", "bwa", 6.0, 1_000_000, 2),
)
WEEKS = ("2026-11-02T09:00:00Z", "2026-11-10T09:00:00Z", "2026-11-18T09:00:00Z")
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def upload_groups(collector: Server) -> tuple[int, str]:
    number, key = activate(collector, "research", telemetry="yes")
    index = 0
    for sequencer, mapper, gain, txt_size, count in GROUPS:
        for _ in range(count):
            record = make_record(
                features=f"mapper={mapper};sequencer={sequencer};", genozip_gain=gain, created=WEEKS[index % 3],
                source=Source(codec="BGZF", disk_size=txt_size // 4, txt_size=txt_size, num_lines=10),
                fields_gain="TXT_HEADER,70.0%,2.0X; QUAL,30.0%,3.0X" if txt_size < 10_000 else
                            "QUAL,60.0%,3.0X; SEQ,40.0%,4.0X",
            )  # fmt: skip
            index += 1
            assert upload(collector, number, key, record.to_json(indent=None).encode()).status_code == 201
    return number, key


def test_analysis_by_bytes_and_its_page(server: Server, tmp_path: Path) -> None:
    number, key = upload_groups(server)
    path = f"/v1/analysis?licence={number}"
    result = httpx.get(server.url + path, headers=ADMIN).json()
    groups = {g["sequencer"]: g for g in result["groups"]}
    (bam,) = result["data_types"]
    text, compressed = 6_006_000, 4 * 100_000 + 3 * 2_000 / 3 + 2 * 1_000_000 / 6
    assert bam["text_bytes"] == text and bam["weighted_genozip_gain"] == round(text / compressed, 2)
    assert groups["ONT"]["flagged"] and not groups["ONT"]["flagged_weighted"]  # 0.1 % of the bytes
    assert groups["MGI"]["flagged_weighted"] and not groups["MGI"]["flagged"]
    assert groups["MGI"]["disk_bytes"] == 500_000 and groups["MGI"]["weighted_genozip_gain"] == 6.0
    assert groups["ONT"]["top_fields_by_bytes"][0] == {"field": "TXT_HEADER", "share": 70.0}
    assert [(t["week"], t["count"]) for t in result["trends"]] == [("2026-11-02", 3), ("2026-11-09", 3),
                                                                   ("2026-11-16", 3)]  # fmt: skip
    large = httpx.get(f"{server.url}{path}&min_size=1000", headers=ADMIN).json()
    assert large["records"] == 6 and large["min_size"] == 1000
    assert {g["sequencer"] for g in large["groups"]} == {"Illumina", "MGI"}

    table = run_cli("analysis")  # the activated licence, its own records
    assert table.code == 0 and "size-weighted" in table.out
    assert any(line.startswith("   W BAM    MGI") for line in table.out.splitlines()), table.out
    page = tmp_path / "analysis.html"
    written = run_cli("analysis", "--html", page, "--min-size", "1000")
    assert written.code == 0 and "6 records" in written.out and "files of at least 1,000 bytes" in page.read_text()

    report = f"/v1/analysis/report?licence={number}"
    assert httpx.get(server.url + report).status_code == 401
    answer = httpx.get(server.url + "/v1/analysis/report", headers=signed(number, key, "GET", "/v1/analysis/report"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert httpx.get(server.url + report + "0", headers=signed(number, key, "GET", report + "0")).status_code == 403
    served = tmp_path / "served.html"
    served.write_text(httpx.get(server.url + report, headers=ADMIN).text)
    if server.database_url.startswith("sqlite"):  # the browser once: the page does not depend on the backend
        rendered = open_page(served, tmp_path / "analysis.png", height=2000)
        assert rendered.state == "true" and rendered.errors == [] and rendered.console == []
        drawn = {plot["id"]: plot for plot in rendered.plots}
        assert set(drawn) == {"heatmap", "flagged-fields", "trends"}
        assert all(plot["drawn"] and plot["traces"] and plot["points"] for plot in drawn.values())
        assert drawn["heatmap"]["points"] == 2 * 3  # median and weighted maps, three combinations each
        assert "3 of 3 groups" in rendered.text and "9 records" in rendered.text


def test_page_of_the_fixtures_records_and_a_batch(tmp_path: Path) -> None:
    records = [*golden_records(), *batch(30)]  # 64 records of every fixture, over three weeks
    rows = [{**analysis_row(Record.from_dict(record)), "created": WEEKS[index % 3]}
            for index, record in enumerate(records)]  # fmt: skip
    result = {**analyse(rows), "scope": "all", "min_size": 0}
    assert result["trends"] and any(group["flagged"] or group["flagged_weighted"] for group in result["groups"])
    page = tmp_path / "analysis.html"
    write_analysis_page(result, page)
    rendered = open_page(page, tmp_path / "analysis.png", height=2000)
    assert rendered.state == "true" and rendered.errors == [] and rendered.console == []
    drawn = {plot["id"]: plot for plot in rendered.plots}
    assert set(drawn) == {"heatmap", "flagged-fields", "trends"}
    assert all(plot["drawn"] and plot["traces"] and plot["points"] for plot in drawn.values())
    assert f"{len(result['groups'])} of {len(result['groups'])} groups" in rendered.text
