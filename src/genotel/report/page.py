"""The HTML shell of genotel's report pages: one file, nothing fetched from the network.

plotly.js (the copy inside the plotly package, so it matches the figures' schema) is embedded
once, gzip-compressed and base64-encoded; the page inflates it with the browser's
DecompressionStream. Figures are plotly figures as JSON in one data block; `page.js` draws them
and sorts and filters the files table.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from genotel import __version__

from .output import write_text

GENERATOR = '<meta name="generator" content="genotel'  # how a page genotel wrote starts
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
p.note { color: #555; font-size: 0.9em; }
.controls { display: flex; gap: 1em; align-items: center; flex-wrap: wrap; margin: 0.5em 0; }
.table-box { max-height: 28em; overflow: auto; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; width: 100%; }
th { position: sticky; top: 0; background: #f4f4f4; cursor: pointer; text-align: left; }
th, td { padding: 0.2em 0.5em; border-bottom: 1px solid #eee; vertical-align: top; }
tbody tr { content-visibility: auto; contain-intrinsic-size: auto 1.6em; }  /* lay out the rows in view only */
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.flagged td { background: #fdecea; }
.plot { width: 100%; min-height: 200px; }
"""


@dataclass
class Plot:
    """One plot of a page.

    A per-file plot has `rows`: per trace, the file (index into the table's rows) of each point or
    heat-map row. Its traces carry no y: the page sets it from the files' labels (plus `suffixes`,
    per trace and row), so the plot follows the table's sorting and filtering; `row_keys` are the
    trace attributes laid out by row.
    """

    id: str
    title: str
    figure: go.Figure
    note: str = ""
    rows: list[list[int]] | None = None
    suffixes: list[list[str]] | None = None
    row_keys: tuple[str, ...] = ("x", "customdata")
    drop_empty_columns: bool = False
    row_height: int = 18
    base_height: int = 140
    section: str = ""

    def as_data(self) -> dict[str, object]:
        figure = json.loads(pio.to_json(self.figure, validate=False, engine="json"))
        figure.get("layout", {}).pop("template", None)  # one shared template, in the page's data
        return {"id": self.id, "figure": figure, "rows": self.rows, "suffixes": self.suffixes,
                "row_keys": list(self.row_keys), "drop_empty_columns": self.drop_empty_columns,
                "row_height": self.row_height, "base_height": self.base_height}  # fmt: skip


@dataclass
class Page:
    """A report page: a title, HTML sections, plots, and optionally a sortable files table."""

    title: str
    intro: str = ""
    plots: list[Plot] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)  # the table, issues, data types...
    sections: list[str] = field(default_factory=list)  # HTML before the plots
    footer: list[str] = field(default_factory=list)  # HTML after the plots

    def render(self) -> str:
        payload = {**self.data, "plots": [plot.as_data() for plot in self.plots], "template": _template()}
        data_json = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        body = [f"<h1>{html.escape(self.title)}</h1>", self.intro, *self.sections]
        current = None
        for plot in self.plots:
            if plot.section and plot.section != current:
                body.append(f"<h2>{html.escape(plot.section)}</h2>")
                current = plot.section
            body.append(f"<h3>{html.escape(plot.title)}</h3>")
            if plot.note:
                body.append(f'<p class="note">{plot.note}</p>')
            body.append(f'<div class="plot" id="{html.escape(plot.id)}"></div>')
        body += self.footer
        return "\n".join([
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'{GENERATOR} {__version__}">',
            f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>",
            *body,
            f'<script id="plotly-gz" type="application/octet-stream">{_packed_plotly()}</script>',
            f'<script id="genotel-data" type="application/json">{_script_safe(data_json)}</script>',
            f"<script>{_script_safe(_page_js())}</script>",
            "</body></html>",
        ])  # fmt: skip


def table_controls(title: str, placeholder: str, per_file_plots: bool = False) -> str:
    """The sortable, filterable table of a page (filled by page.js from the page's data)."""
    limit = ("""<label>plots show <select id="limit"><option value="50">50</option><option value="100">100</option>
    <option value="250">250</option><option value="0">all</option></select> files</label>""" if per_file_plots else "")
    follow = "; the per-file plots follow the table's order and filter" if per_file_plots else ""
    return f"""
<h2>{html.escape(title)}</h2>
<div class="controls">
  <label>filter <input id="filter" type="search" placeholder="{html.escape(placeholder)}"></label>
  <label>data type <select id="data-type"><option value="">all</option></select></label>
  {limit}
  <span id="shown"></span>
</div>
<p class="note">Click a column to sort{follow}.</p>
<div class="table-box"><table id="files"><thead><tr></tr></thead><tbody></tbody></table></div>
"""


def write_page(page: Page, path: Path) -> None:
    """Write the page to `path`: a new file, or one an earlier genotel page wrote (replaced atomically)."""
    write_text(path, page.render(), GENERATOR)


def _script_safe(text: str) -> str:
    """Text that cannot close its <script> element early."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


@functools.cache
def _packed_plotly() -> str:
    return base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


@functools.cache
def _page_js() -> str:
    return resources.files("genotel.report").joinpath("page.js").read_text(encoding="utf-8")


@functools.cache
def _template() -> object:
    return pio.templates["plotly_white"].to_plotly_json()
