"""Loading a report page in headless Chromium (Debian's `chromium` and `chromium-driver`).

`open_page(path)` loads the file from disk, waits until the page says it has drawn, and returns
what the page holds: every plot element with its number of traces and data points, the
JavaScript errors (caught by the page and from the browser's console), and a screenshot.
Without Chromium the tests skip, except under CI=true, where a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium")
WAIT_SECONDS = 60  # a bound on waiting, not a measurement

GENOTEL_PLOTS = "div.plot"
GENOTEL_READY = "return document.body.dataset.rendered || ''"
PLOTS_SCRIPT = """
return Array.from(document.querySelectorAll(arguments[0])).map(element => ({
  id: element.id,
  drawn: element.classList.contains('js-plotly-plot') && !!element.querySelector('svg.main-svg'),
  traces: (element.data || []).length,
  points: (element.data || []).reduce((sum, trace) => sum + ((trace.z || trace.x || []).length), 0),
  marks: element.querySelectorAll('g.point, g.hm image, g.heatmaplayer image, g.box path.box').length,
}));
"""


@dataclass
class RenderedPage:
    state: str
    plots: list[dict[str, object]]
    errors: list[str]
    console: list[str]
    text: str
    screenshot: Path


def require_browser() -> None:
    if CHROMEDRIVER and CHROMIUM:
        return
    message = "headless Chromium needs Debian's chromium and chromium-driver (.ci/run installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def open_page(page: Path, screenshot: Path, width: int = 1400, height: int = 1000, run_js: str = "",
              plots: str = GENOTEL_PLOTS, ready: str = GENOTEL_READY) -> RenderedPage:  # fmt: skip
    """Load `page` in headless Chromium and report what it drew (after running `run_js`, if given).

    `plots` selects the plot elements; `ready` is a script whose result, once not empty, says the
    page has drawn (genotel's pages set `data-rendered` on their body).
    """
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # type: ignore[assignment]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--no-first-run", "--disable-extensions"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get(page.resolve().as_uri())
        wait = WebDriverWait(driver, WAIT_SECONDS)
        wait.until(lambda d: d.execute_script(ready, plots))
        if run_js:
            driver.execute_script(run_js)
            wait.until(lambda d: d.execute_script("return document.body.dataset.updated === 'true'"))
        state = driver.execute_script(ready, plots)
        drawn = driver.execute_script(PLOTS_SCRIPT, plots)
        errors = driver.execute_script("return window.genotelErrors || []")
        text = driver.execute_script("return document.body.innerText")
        driver.save_screenshot(str(screenshot))
        console = [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    finally:
        driver.quit()
    return RenderedPage(state, drawn, errors, console, text, screenshot)
