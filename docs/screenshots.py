"""The README's screenshots: the three report outputs of the fixtures' records, in headless Chromium.

    .venv/bin/python docs/screenshots.py      # writes docs/img/{report,analysis,multiqc}.png

Needs Debian's chromium and chromium-driver, multiqc and Pillow (the test extra brings them).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from genotel.report.analysis_page import write_analysis_page
from genotel.report.inputs import load_entries
from genotel.service.analysis import analyse, analysis_row

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
DAYS = ("2026-11-02", "2026-11-12", "2026-11-24")


def records(folder: Path) -> Path:
    """The fixtures' records as --output lines, named after their fixture, dated over three weeks."""
    lines = folder / "records.jsonl"
    with lines.open("w") as stream:
        for index, path in enumerate(sorted((ROOT / "tests" / "golden").glob("*.json"))):
            case = json.loads(path.read_text())
            record = {**case["record"], "record_id": str(uuid.uuid4()), "created": f"{DAYS[index % 3]}T10:00:00Z"}
            name = f"fixtures/{path.stem}"  # the golden case: one name per record
            stream.write(json.dumps({"file": name, "record": record}) + "\n")
    return lines


def shoot(page: Path, target: Path, anchor: str, ready: str, height: int = 1000) -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size=1280,{height}",
                     "--hide-scrollbars"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(page.as_uri())
        deadline = time.monotonic() + 60
        while not driver.execute_script(ready) and time.monotonic() < deadline:
            time.sleep(0.1)
        driver.execute_script(f"document.querySelector({anchor!r}).scrollIntoView()")
        time.sleep(0.5)
        driver.save_screenshot(str(target))
    finally:
        driver.quit()
    image = Image.open(target).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    genotel = [sys.executable, "-c", "from genotel.cli import run; run()"]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        lines = records(folder)
        subprocess.run([*genotel, "report", str(lines), "-o", str(folder / "report.html")], check=True)
        rows = [analysis_row(entry.record) for entry in load_entries([str(lines)])]
        write_analysis_page({**analyse(rows), "scope": "all"}, folder / "analysis.html")
        subprocess.run([*genotel, "multiqc", str(lines), "-o", str(folder / "mqc")], check=True)
        subprocess.run([sys.executable, "-m", "multiqc", str(folder / "mqc"), "-o", str(folder / "mqc_out"),
                        "--no-version-check", "--no-ai", "-q"], check=True)  # fmt: skip
        rendered = "return document.body.dataset.rendered === 'true'"
        shoot(folder / "report.html", OUT / "report.png", "#shares", rendered)
        shoot(folder / "analysis.html", OUT / "analysis.png", "h2", rendered)
        multiqc_ready = "return !!document.querySelector('#genotel_gains_plot.js-plotly-plot')"
        shoot(folder / "mqc_out" / "multiqc_report.html", OUT / "multiqc.png", "#genotel", multiqc_ready)


if __name__ == "__main__":
    main()
