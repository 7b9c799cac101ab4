"""`genotel report`: the page of a set of records, per file and across files."""

from __future__ import annotations

import html
import math
import statistics
from collections import Counter

import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from genotel.record import QUAL_BASES
from genotel.record_fields import explain_hash_issue, parse_field_gains, parse_items, parse_qual_acgt, program_tokens

from .inputs import Entry
from .page import Page, Plot, table_controls

PLOT_LIMIT = 100  # per-file plots show this many files at first (the page's selector changes it)
PALETTE = plotly.colors.qualitative.Dark24 + plotly.colors.qualitative.Light24 + plotly.colors.qualitative.Alphabet
# Features shown in their own columns; the others are the file's study features.
OWN_COLUMNS = ("num_lines", "sequencer", "mapper", "QNAME")
COLUMNS = (
    ("label", "file", "text"),
    ("data_type", "type", "text"),
    ("disk_size", "bytes on disk", "bytes"),
    ("txt_size", "bytes as text", "bytes"),
    ("genozip_gain", "gain (probe)", "number"),
    ("source_gain", "gain (own codec)", "number"),
    ("top_field", "largest field", "text"),
    ("sequencer", "sequencer", "text"),
    ("mapper", "mapper", "text"),
    ("qname", "read names", "text"),
    ("programs", "programs", "text"),
    ("study", "study features", "text"),
    ("issues", "hash issues", "number"),
)


def field_colours(entries: list[Entry]) -> dict[str, str]:
    """One colour per field name for the whole report, the largest fields first in the palette."""
    totals: Counter[str] = Counter()
    for entry in entries:
        for gain in parse_field_gains(entry.record.fields_gain):
            totals[gain.name] += gain.share
    ranked = sorted(totals, key=lambda name: (-totals[name], name))
    return {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(ranked)}


def table_row(entry: Entry) -> dict[str, object]:
    record = entry.record
    items = parse_items(record.features)
    gains = parse_field_gains(record.fields_gain)
    study = "; ".join(f"{key}={value}" for key, value in items.items() if key not in OWN_COLUMNS)
    return {
        "label": entry.label,
        "data_type": record.data_type,
        "disk_size": record.source.disk_size,
        "txt_size": record.source.txt_size,
        "genozip_gain": record.genozip_gain,
        "source_gain": record.source_gain,
        "top_field": f"{gains[0].name} {gains[0].share:.1f}%" if gains else None,
        "sequencer": items.get("sequencer"),
        "mapper": items.get("mapper"),
        "qname": items.get("QNAME"),
        "programs": ", ".join(program_tokens(record.programs)) or None,
        "study": study or None,
        "issues": len(record.hash_issues),
    }


def gains_plot(entries: list[Entry]) -> Plot:
    traces, rows = [], []
    for name, attribute, colour in (("gain of the probe (all fields)", "genozip_gain", "#1f77b4"),
                                    ("gain of the file's own codec", "source_gain", "#ff7f0e")):  # fmt: skip
        points = [(index, getattr(e.record, attribute)) for index, e in enumerate(entries)]
        points = [(index, value) for index, value in points if value is not None]
        traces.append(go.Bar(name=name, x=[value for _, value in points], orientation="h", marker_color=colour,
                             hovertemplate="%{y}: %{x}<extra></extra>"))  # fmt: skip
        rows.append([index for index, _ in points])
    figure = go.Figure(traces)
    _per_file_layout(figure, "text size / compressed size")
    figure.update_layout(barmode="group", bargap=0.15)
    return Plot("gains", "Gain per file", figure, rows=rows, row_height=24, section="Per file",
                note="The probe compresses each field on its own (as a field-aware compressor would); the file's "
                     "own codec is BGZF, gzip, CRAM... as stored. A large gap: the fields compress far better "
                     "apart.")  # fmt: skip


def shares_plot(entries: list[Entry], colours: dict[str, str]) -> Plot:
    per_file = [parse_field_gains(entry.record.fields_gain) for entry in entries]
    traces, rows = [], []
    for name, colour in colours.items():
        points = [(index, gain) for index, gains in enumerate(per_file) for gain in gains if gain.name == name]
        traces.append(go.Bar(
            name=name, x=[gain.share for _, gain in points], customdata=[gain.ratio for _, gain in points],
            orientation="h", marker_color=colour,
            hovertemplate=f"%{{y}}<br>{html.escape(name)}: %{{x:.1f}}% of the compressed size, "
                          "ratio %{customdata:.1f}X<extra></extra>",
        ))  # fmt: skip
        rows.append([index for index, _ in points])
    figure = go.Figure(traces)
    _per_file_layout(figure, "% of the compressed size")
    figure.update_layout(barmode="stack", xaxis_range=[0, 100])
    return Plot("shares", "Share of the compressed size per field", figure, rows=rows, section="Per file",
                note="Each field has the same colour in every file. Hover for the field's ratio.")


def ratios_plot(entries: list[Entry], colours: dict[str, str]) -> Plot:
    fields = list(colours)
    per_file = [{gain.name: gain.ratio for gain in parse_field_gains(e.record.fields_gain)} for e in entries]
    z = [[_log_ratio(ratios.get(name)) for name in fields] for ratios in per_file]
    ratios = [[ratios.get(name) for name in fields] for ratios in per_file]
    figure = go.Figure(go.Heatmap(
        x=fields, z=z, customdata=ratios, colorscale="Viridis", zmin=0, zmax=3, hoverongaps=False,
        hovertemplate="%{y}<br>%{x}: %{customdata:.1f}X<extra></extra>",
        colorbar={"title": {"text": "ratio"}, "tickvals": [0, 1, 2, 3], "ticktext": ["1X", "10X", "100X", "1000X"]},
    ))  # fmt: skip
    _per_file_layout(figure, "")
    figure.update_layout(xaxis={"side": "top", "type": "category"})
    return Plot("ratios", "Ratio per field (text size / compressed size)", figure, rows=[list(range(len(entries)))],
                row_keys=("z", "customdata"), drop_empty_columns=True, base_height=180, section="Per file",
                note="Dark: the field hardly compresses. Blank: the file has no such field.")  # fmt: skip


def qual_plot(entries: list[Entry]) -> Plot | None:
    rows, suffixes, z = [], [], []
    for index, entry in enumerate(entries):
        ranked = parse_qual_acgt(entry.record.qual_acgt)
        for base in QUAL_BASES if ranked else ():
            values = ranked[base]
            rows.append(index)
            suffixes.append(f" · {base}")
            z.append([*values, *[None] * (16 - len(values))])
    if not rows:
        return None
    figure = go.Figure(go.Heatmap(
        x=list(range(1, 17)), z=z, colorscale="RdYlGn", zmin=0, zmax=45, xgap=1, ygap=1,
        hovertemplate="%{y}, rank %{x}: Q%{z}<extra></extra>", hoverongaps=False,
        colorbar={"title": {"text": "phred"}},
    ))  # fmt: skip
    _per_file_layout(figure, "rank (1 = the base's most frequent quality)")
    return Plot("qual", "Base qualities per base (qual_acgt)", figure, rows=[rows], suffixes=[suffixes],
                row_keys=("z",), row_height=12, base_height=160, section="Per file",
                note="Per file, four rows (A, C, G, T): the qualities seen with that base, most frequent first. "
                     "Few colours: binned qualities (they compress well); many: full-resolution "
                     "qualities.")  # fmt: skip


def type_shares_plot(entries: list[Entry], colours: dict[str, str]) -> Plot:
    by_type: dict[str, list[dict[str, float]]] = {}
    for entry in entries:
        gains = parse_field_gains(entry.record.fields_gain)
        if gains:
            by_type.setdefault(entry.record.data_type, []).append({gain.name: gain.share for gain in gains})
    types = sorted(by_type)
    traces = []
    for name, colour in colours.items():
        means = [sum(files.get(name, 0.0) for files in by_type[kind]) / len(by_type[kind]) for kind in types]
        if any(means):
            traces.append(go.Bar(name=name, y=types, x=means, orientation="h", marker_color=colour,
                                 hovertemplate=f"%{{y}}: {html.escape(name)} %{{x:.1f}}%<extra></extra>"))  # fmt: skip
    figure = go.Figure(traces)
    figure.update_layout(barmode="stack", height=140 + 40 * len(types), xaxis_title="mean % of the compressed size",
                         margin={"t": 20}, legend={"traceorder": "normal"})  # fmt: skip
    return Plot("type-shares", "Mean share of the compressed size per field, by data type", figure,
                section="Across files")


def type_gains_plot(entries: list[Entry]) -> Plot:
    figure = go.Figure()
    for name, attribute, colour in (("probe", "genozip_gain", "#1f77b4"), ("own codec", "source_gain", "#ff7f0e")):
        pairs = [(e.record.data_type, getattr(e.record, attribute)) for e in entries]
        pairs = [(kind, value) for kind, value in pairs if value is not None]
        figure.add_trace(go.Box(name=name, x=[v for _, v in pairs], y=[k for k, _ in pairs], orientation="h",
                                marker_color=colour, boxpoints="all", jitter=0.4, pointpos=0))  # fmt: skip
    kinds = len({entry.record.data_type for entry in entries})
    figure.update_layout(boxmode="group", height=160 + 60 * kinds, xaxis_title="gain", margin={"t": 20})
    return Plot("type-gains", "Gain by data type: the probe against the files' own codec", figure,
                section="Across files")


def counts_plot(entries: list[Entry]) -> Plot:
    kinds = (("sequencer", "sequencer"), ("mapper", "mapper"), ("QNAME", "read names"))
    counts = {title: Counter(parse_items(e.record.features).get(key) for e in entries) for key, title in kinds}
    counts["programs"] = Counter(token for e in entries for token in program_tokens(e.record.programs))
    figure = make_subplots(rows=1, cols=len(counts), subplot_titles=list(counts), horizontal_spacing=0.12)
    for column, (title, counter) in enumerate(counts.items(), start=1):
        ranked = [(name, count) for name, count in counter.most_common(15) if name is not None]
        figure.add_trace(go.Bar(y=[n for n, _ in ranked], x=[c for _, c in ranked], orientation="h", name=title,
                                showlegend=False, hovertemplate="%{y}: %{x} files<extra></extra>"),
                         row=1, col=column)  # fmt: skip
        figure.update_yaxes(autorange="reversed", row=1, col=column)
    figure.update_layout(height=420, margin={"t": 40})
    return Plot("counts", "Files per sequencer, mapper, read-name flavour and program (top 15 each)", figure,
                section="Across files")


def _per_file_layout(figure: go.Figure, x_title: str) -> None:
    figure.update_layout(
        xaxis_title=x_title, margin={"t": 30, "l": 10}, legend={"traceorder": "normal"},
        yaxis={"autorange": "reversed", "type": "category", "automargin": True},
    )  # fmt: skip


def _log_ratio(ratio: float | None) -> float | None:
    return round(math.log10(max(ratio, 1.0)), 2) if ratio is not None else None


def summary_html(entries: list[Entry]) -> str:
    by_type = Counter(entry.record.data_type for entry in entries)
    gains = [e.record.genozip_gain for e in entries if e.record.genozip_gain is not None]
    text = sum(e.record.source.txt_size for e in entries)
    probed = [e.record for e in entries if e.record.genozip_gain]
    probed_text = sum(record.source.txt_size for record in probed)
    compressed = sum(record.source.txt_size / record.genozip_gain for record in probed)  # type: ignore[operator]
    parts = [f"{len(entries)} files ({', '.join(f'{count} {kind}' for kind, count in sorted(by_type.items()))})",
             f"{text:,} bytes as text"]  # fmt: skip
    if gains:
        parts.append(f"median gain {statistics.median(gains):.1f}")
    if compressed:
        parts.append(f"gain of all bytes together {probed_text / compressed:.1f}")
    local = any(entry.path for entry in entries)
    paths = ("The file names are the paths from the `--output` lines: they stay in this report, on your machine."
             if local else "The records carry no file names; files are named by data type and record id.")  # fmt: skip
    return f'<p>{html.escape("; ".join(parts))}.</p><p class="note">{html.escape(paths)}</p>'


ISSUES = """
<h2>Hash issues</h2>
<p class="note">Values that would trouble a compressor's dictionaries, per file (of the files the filter shows).</p>
<p id="issues-none" class="note">No file shown has hash issues.</p>
<ul id="issues-list"></ul>
"""


def records_page(entries: list[Entry]) -> Page:
    """The report of `entries`: a sortable table, per-file plots that follow it, plots across files."""
    colours = field_colours(entries)
    plots = [gains_plot(entries), shares_plot(entries, colours), ratios_plot(entries, colours)]
    qual = qual_plot(entries)
    if qual is not None:
        plots.append(qual)
    plots += [type_gains_plot(entries), type_shares_plot(entries, colours), counts_plot(entries)]
    data = {
        "table": {"columns": [{"key": k, "label": label, "kind": kind} for k, label, kind in COLUMNS],
                  "rows": [table_row(entry) for entry in entries]},
        "issues": [[explain_hash_issue(issue) for issue in entry.record.hash_issues] for entry in entries],
        "data_types": sorted({entry.record.data_type for entry in entries}),
        "limit": PLOT_LIMIT,
    }  # fmt: skip
    controls = table_controls("Files", "name, program, sequencer...", per_file_plots=True)
    return Page("genotel report", intro=summary_html(entries), plots=plots, data=data, sections=[controls],
                footer=[ISSUES])
