"""The collector's analysis as a page: `genotel analysis --html` and `GET /v1/analysis/report`.

Input is the analysis as the API returns it (a dict); the page shows the groups as heat maps of
their gain against their data type's (median and size-weighted), flagged groups first, the
fields that dominate each flagged group's compressed bytes, the groups' table, and the weekly
trends when the records span more than a week.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .page import Page, Plot, table_controls, write_page

PALETTE = plotly.colors.qualitative.Dark24 + plotly.colors.qualitative.Light24
NAME_KEYS = ("sequencer", "mapper", "variant_caller", "base_caller", "study")
COLUMNS = (
    ("flags", "flag", "text"),
    ("data_type", "type", "text"),
    ("sequencer", "sequencer", "text"),
    ("mapper", "mapper", "text"),
    ("variant_caller", "variant caller", "text"),
    ("base_caller", "base caller", "text"),
    ("study", "study", "text"),
    ("count", "records", "number"),
    ("text_bytes", "bytes as text", "bytes"),
    ("share_of_data_type_bytes", "% of type's bytes", "number"),
    ("median_genozip_gain", "median gain", "number"),
    ("vs_data_type_percent", "vs type %", "number"),
    ("weighted_genozip_gain", "weighted gain", "number"),
    ("weighted_vs_data_type_percent", "weighted vs type %", "number"),
    ("fields", "largest fields (by bytes)", "text"),
)


def combination(group: dict[str, Any]) -> str:
    """A group's tools and study as one label: sequencer · mapper · variant caller · base caller · study."""
    return " · ".join(str(group.get(key) or "-") for key in NAME_KEYS)


def is_flagged(group: dict[str, Any]) -> bool:
    return bool(group.get("flagged") or group.get("flagged_weighted"))


def ordered_groups(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Flagged groups first (by how far below their data type they are), then the others."""
    def key(group: dict[str, Any]) -> tuple[object, ...]:
        relative = group.get("weighted_vs_data_type_percent")
        if relative is None:
            relative = group.get("vs_data_type_percent")
        return (not is_flagged(group), relative if relative is not None else float("inf"), group["data_type"])

    return sorted(result["groups"], key=key)


def heatmap_plot(groups: list[dict[str, Any]]) -> Plot:
    labels = list(dict.fromkeys(combination(group) for group in groups))
    types = sorted({group["data_type"] for group in groups})
    cells = {(combination(g), g["data_type"]): g for g in groups}
    titles = ("median gain vs its data type's", "size-weighted gain vs its data type's")
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.03, subplot_titles=titles)
    for column, (relative_key, gain_key, flag_key) in enumerate((
        ("vs_data_type_percent", "median_genozip_gain", "flagged"),
        ("weighted_vs_data_type_percent", "weighted_genozip_gain", "flagged_weighted"),
    ), start=1):  # fmt: skip
        z, labels_in_cells, hover = [], [], []
        for label in labels:
            row_z, row_labels, row_hover = [], [], []
            for kind in types:
                group = cells.get((label, kind))
                value = group.get(relative_key) if group else None
                row_z.append(value)
                row_labels.append("" if value is None else f"{value:+.0f}%")
                if group is None:
                    row_hover.append("")
                    continue
                gain = group.get(gain_key)
                mark = " FLAGGED" if group.get(flag_key) else ""
                row_hover.append(f"gain {gain if gain is not None else '-'}, {_percent(value)} vs type; "
                                 f"{group['count']} records, {group['text_bytes']:,} bytes{mark}")  # fmt: skip
            z.append(row_z)
            labels_in_cells.append(row_labels)
            hover.append(row_hover)
        figure.add_trace(go.Heatmap(
            x=types, y=labels, z=z, text=labels_in_cells, customdata=hover, texttemplate="%{text}", colorscale="RdBu",
            zmid=0, zmin=-100, zmax=100, hoverongaps=False, showscale=column == 2,
            colorbar={"title": {"text": "% vs type"}},
            hovertemplate="%{x} · %{y}<br>%{customdata}<extra></extra>",
        ), row=1, col=column)  # fmt: skip
    figure.update_yaxes(autorange="reversed", type="category", automargin=True)
    figure.update_xaxes(type="category")
    figure.update_layout(height=200 + 28 * len(labels), margin={"t": 50})
    return Plot("heatmap", "Gain of each combination against its data type", figure, section="Combinations",
                note="Rows: sequencer · mapper · variant caller · base caller · study; flagged combinations first. "
                     "Red: compresses worse than its data type. Left: median over records; right: all the "
                     "group's bytes together (small files count for little).")  # fmt: skip


def flagged_fields_plot(groups: list[dict[str, Any]]) -> Plot | None:
    flagged = [group for group in groups if is_flagged(group)]
    if not flagged:
        return None
    labels = [f"{group['data_type']} · {combination(group)}" for group in flagged]
    per_group = [{f["field"]: f["share"] for f in group.get("top_fields_by_bytes") or group["top_fields"]}
                 for group in flagged]  # fmt: skip
    names = list(dict.fromkeys(name for shares in per_group for name in shares))
    traces = [go.Bar(name=name, y=labels, x=[shares.get(name) for shares in per_group], orientation="h",
                     marker_color=PALETTE[index % len(PALETTE)],
                     hovertemplate=f"%{{y}}<br>{html.escape(name)}: %{{x:.1f}}%<extra></extra>")
              for index, name in enumerate(names)]  # fmt: skip
    figure = go.Figure(traces)
    figure.update_layout(barmode="stack", height=160 + 30 * len(labels), xaxis_title="% of the compressed bytes",
                         yaxis={"autorange": "reversed", "automargin": True}, margin={"t": 20})  # fmt: skip
    return Plot("flagged-fields", "What dominates the compressed size of each flagged group", figure,
                section="Flagged groups",
                note="The group's five largest fields by share of its compressed bytes (all its records together).")


def trends_plot(trends: list[dict[str, Any]]) -> Plot | None:
    if not trends:
        return None
    figure = go.Figure()
    for index, kind in enumerate(sorted({t["data_type"] for t in trends})):
        weeks = [t for t in trends if t["data_type"] == kind]
        colour = PALETTE[index % len(PALETTE)]
        figure.add_trace(go.Scatter(x=[t["week"] for t in weeks], y=[t["median_genozip_gain"] for t in weeks],
                                    name=f"{kind} median", mode="lines+markers", line={"color": colour},
                                    customdata=[t["count"] for t in weeks],
                                    hovertemplate="week of %{x}: %{y} (%{customdata} records)<extra></extra>"))
        figure.add_trace(go.Scatter(x=[t["week"] for t in weeks], y=[t["weighted_genozip_gain"] for t in weeks],
                                    name=f"{kind} weighted", mode="lines+markers",
                                    line={"color": colour, "dash": "dot"}))  # fmt: skip
    figure.update_layout(height=420, xaxis_title="week", yaxis_title="gain", margin={"t": 20})
    return Plot("trends", "Gain per week, by data type", figure, section="Over time",
                note="By the records' creation time; solid: median, dotted: size-weighted.")


def table_row(group: dict[str, Any]) -> dict[str, Any]:
    flags = ("median " if group.get("flagged") else "") + ("weighted" if group.get("flagged_weighted") else "")
    fields = group.get("top_fields_by_bytes") or group.get("top_fields") or []
    return {
        **{key: group.get(key) for key, _, _ in COLUMNS},
        "flags": flags.strip() or None,
        "fields": ", ".join(f"{f['field']} {f['share']}%" for f in fields) or None,
        "flagged_any": is_flagged(group),
    }


def intro_html(result: dict[str, Any]) -> str:
    ratio = round(100 - 100 * float(result["flag_ratio"]))
    size = f"; files of at least {result['min_size']:,} bytes on disk" if result.get("min_size") else ""
    types = "".join(
        f"<tr><td>{html.escape(t['data_type'])}</td><td class='number'>{t['count']:,}</td>"
        f"<td class='number'>{t.get('text_bytes', 0):,}</td><td class='number'>{_gain(t['median_genozip_gain'])}</td>"
        f"<td class='number'>{_gain(t.get('weighted_genozip_gain'))}</td></tr>"
        for t in result["data_types"]
    )
    return (
        f"<p>{result['records']:,} records ({html.escape(str(result.get('scope', 'all')))}{size}).</p>"
        f'<p class="note">A group is flagged when its median gain is more than {ratio} % below its data type\'s '
        f"median, or when its size-weighted gain (all its text bytes over all its compressed bytes) is more than "
        f"{ratio} % below its data type's and it holds at least 1 % of the data type's bytes.</p>"
        "<table style='width:auto'><thead><tr><th>data type</th><th>records</th><th>bytes as text</th>"
        f"<th>median gain</th><th>weighted gain</th></tr></thead><tbody>{types}</tbody></table>"
    )


def analysis_page(result: dict[str, Any]) -> Page:
    """The page of one analysis result."""
    groups = ordered_groups(result)
    candidates = [heatmap_plot(groups), flagged_fields_plot(groups)] if groups else []
    plots = [plot for plot in [*candidates, trends_plot(result.get("trends") or [])] if plot is not None]
    data = {
        "table": {"columns": [{"key": k, "label": label, "kind": kind} for k, label, kind in COLUMNS],
                  "rows": [table_row(group) for group in groups], "noun": "groups"},
        "data_types": sorted({group["data_type"] for group in groups}),
    }  # fmt: skip
    controls = table_controls("Groups", "sequencer, mapper, caller...")
    return Page("genotel analysis", intro=intro_html(result), plots=plots, data=data, footer=[controls])


def _gain(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f} %"


def write_analysis_page(result: dict[str, Any], path: Path) -> None:
    """Write the page of `result` to `path`."""
    write_page(analysis_page(result), path)
