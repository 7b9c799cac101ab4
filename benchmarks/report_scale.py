"""Size and render time of genotel's three report outputs for N records, in headless Chromium.

    .venv/bin/python benchmarks/report_scale.py [--records 1000] [--rounds 3]

Records: the fixtures' records (tests/golden) cycled to N, each with its own record_id, as
`--output` JSON lines with a path each (the heaviest labels a report gets). Outputs: `genotel
report`, the analysis page (the records' analysis, built as the collector builds it) and the
MultiQC report made from `genotel multiqc`. Render time: navigation start to the page saying it
has drawn (genotel's pages: `data-render-ms`; MultiQC: every genotel plot drawn, timed from here).
Needs Debian's chromium and chromium-driver, and multiqc (the test extra).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from genotel.report.analysis_page import write_analysis_page
from genotel.report.inputs import load_entries
from genotel.service.analysis import analyse, analysis_row

ROOT = Path(__file__).resolve().parent.parent
MULTIQC_READY = """
const plots = Array.from(document.querySelectorAll("div.hc-plot[id^='genotel_']"));
return plots.length && plots.every(p => p.classList.contains('js-plotly-plot'));
"""


def make_records(count: int, folder: Path) -> Path:
    base = [json.loads(path.read_text())["record"] for path in sorted((ROOT / "tests" / "golden").glob("*.json"))]
    lines = folder / "records.jsonl"
    with lines.open("w") as stream:
        for index in range(count):
            record = {**base[index % len(base)], "record_id": str(uuid.uuid4()), "created": "2026-12-01T10:00:00Z"}
            stream.write(json.dumps({"file": f"/data/project/run{index // 100}/sample{index}.bam", "record": record}))
            stream.write("\n")
    return lines


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def render_seconds(page: Path, multiqc: bool) -> float:
    """One cold load in a fresh browser."""
    driver = browser()
    try:
        started = time.monotonic()
        driver.get(page.as_uri())
        wait = WebDriverWait(driver, 120, poll_frequency=0.02)
        if multiqc:
            wait.until(lambda d: d.execute_script(MULTIQC_READY))
            return time.monotonic() - started
        wait.until(lambda d: d.execute_script("return document.body.dataset.rendered"))
        return int(driver.execute_script("return document.body.dataset.renderMs")) / 1000
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        lines = make_records(args.records, folder)
        genotel = [sys.executable, "-c", "from genotel.cli import run; run()"]
        started = time.monotonic()
        subprocess.run([*genotel, "report", str(lines), "-o", str(folder / "report.html")], check=True)
        report_build = time.monotonic() - started
        rows = [analysis_row(entry.record) for entry in load_entries([str(lines)])]
        write_analysis_page(analyse(rows), folder / "analysis.html")
        subprocess.run([*genotel, "multiqc", str(lines), "-o", str(folder / "mqc")], check=True)
        subprocess.run([sys.executable, "-m", "multiqc", str(folder / "mqc"), "-o", str(folder / "mqc_out"),
                        "--no-version-check", "--no-ai", "-q"], check=True)  # fmt: skip
        outputs = {"genotel report": (folder / "report.html", False),
                   "analysis page": (folder / "analysis.html", False),
                   "MultiQC report": (folder / "mqc_out" / "multiqc_report.html", True)}  # fmt: skip
        print(f"{args.records} records; genotel report built in {report_build:.2f} s (wall, with start-up)")
        print("| output | size MB | render s (median) | rounds |")
        print("|---|---:|---:|---|")
        for title, (page, multiqc) in outputs.items():
            times = [render_seconds(page, multiqc) for _ in range(args.rounds)]
            rounds = ", ".join(f"{t:.2f}" for t in times)
            print(f"| {title} | {page.stat().st_size / 1e6:.2f} | {statistics.median(times):.2f} | {rounds} |")


if __name__ == "__main__":
    main()
