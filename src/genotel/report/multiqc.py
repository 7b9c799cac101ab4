"""MultiQC custom content from records: `genotel multiqc RECORDS... -o DIR`.

Writes `genotel_*_mqc.json` files that MultiQC picks up by name (custom content): a general
statistics table (gains, text size, hash issues) and a "genotel" section with bar graphs of the
gains (the probe against the file's own codec) and of the share of the compressed size per
field (each field the same colour as in `genotel report`). Samples are named after the file
(the base name of the path in `--output` lines) or, for records without one, by data type and
record id.
"""

from __future__ import annotations

import json
from pathlib import Path

from genotel.errors import UsageError
from genotel.record_fields import parse_field_gains

from .inputs import Entry
from .output import check_replaceable, write_text
from .records_page import field_colours

MARKER = '"id": "genotel_'  # how a file genotel wrote starts
# Fields of their own in the shares graph (the largest over all files; the rest are added up): up to
# 12, fewer for many files so the graph stays near BAR_BUDGET bars (MultiQC draws ~0.6 ms per bar).
TOP_FIELDS = 12
MIN_FIELDS = 3
BAR_BUDGET = 4000
OTHER_FIELDS = "other fields"
SECTION = {
    "parent_id": "genotel",
    "parent_name": "genotel",
    "parent_description": "Compressibility of each file as genotel's probe measured it: the gain when each field is "
    "compressed on its own, against the file's own codec, and which fields take the compressed bytes.",
}


# Removed from file names, as MultiQC cleans its sample names, so that rows meet other tools' rows.
EXTENSIONS = (".gz", ".bgz", ".bz2", ".sam", ".bam", ".cram", ".vcf", ".bcf", ".fastq", ".fq", ".fasta", ".fa",
              ".fna", ".faa", ".gff3", ".gff", ".gtf")  # fmt: skip


def sample_name(path: str) -> str:
    """A file's sample name: its base name without genomics extensions (`a.vcf.gz` -> `a`)."""
    name = Path(path).name
    while (stripped := next((name[: -len(e)] for e in EXTENSIONS if name.endswith(e) and len(name) > len(e)), None)):
        name = stripped
    return name


def sample_names(entries: list[Entry]) -> list[str]:
    """One distinct MultiQC sample name per entry."""
    names, seen = [], {}
    for entry in entries:
        name = sample_name(entry.path) if entry.path else entry.label
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def general_stats(entries: list[Entry], names: list[str]) -> dict[str, object]:
    return {
        "id": "genotel_general_stats",
        "plot_type": "generalstats",
        "pconfig": [
            {"genozip_gain": {"title": "Gain", "description": "genotel: text size / compressed size, each field "
                              "compressed on its own", "format": "{:,.1f}", "scale": "Greens"}},
            {"source_gain": {"title": "Codec gain", "description": "genotel: text size / size on disk (the file's "
                             "own codec)", "format": "{:,.1f}", "scale": "Blues"}},
            {"text_mb": {"title": "Text MB", "description": "genotel: size of the file as text, MB",
                         "format": "{:,.1f}", "scale": "Purples", "hidden": True}},
            {"hash_issues": {"title": "Hash issues", "description": "genotel: values that would trouble a "
                             "compressor's dictionaries", "format": "{:,.0f}", "scale": "Reds"}},
        ],
        "data": {
            name: {key: value for key, value in {
                "genozip_gain": entry.record.genozip_gain, "source_gain": entry.record.source_gain,
                "text_mb": round(entry.record.source.txt_size / 1e6, 3), "hash_issues": len(entry.record.hash_issues),
            }.items() if value is not None}
            for name, entry in zip(names, entries, strict=True)
        },
    }  # fmt: skip


def gains_graph(entries: list[Entry], names: list[str]) -> dict[str, object]:
    return {
        "id": "genotel_gains",
        **SECTION,
        "section_name": "Gain per file",
        "description": "Text size over compressed size: the probe (each field compressed on its own) and the file's "
        "own codec (BGZF, gzip, CRAM...). A large gap: the fields compress far better apart.",
        "plot_type": "bargraph",
        "pconfig": {"id": "genotel_gains_plot", "title": "genotel: gain per file", "ylab": "gain",
                    "stacking": "group", "cpswitch": False, "tt_decimals": 1},
        "categories": {"probe": {"name": "probe (all fields)", "color": "#1f77b4"},
                       "codec": {"name": "file's own codec", "color": "#ff7f0e"}},
        "data": {
            name: {key: value for key, value in (("probe", e.record.genozip_gain), ("codec", e.record.source_gain))
                   if value is not None}
            for name, e in zip(names, entries, strict=True)
        },
    }


def shares_graph(entries: list[Entry], names: list[str]) -> dict[str, object] | None:
    top = max(MIN_FIELDS, min(TOP_FIELDS, BAR_BUDGET // len(entries) - 1))
    colours = dict(list(field_colours(entries).items())[:top])
    data: dict[str, dict[str, float]] = {}
    for name, entry in zip(names, entries, strict=True):
        shares: dict[str, float] = {}
        for gain in parse_field_gains(entry.record.fields_gain):
            field = gain.name if gain.name in colours else OTHER_FIELDS
            shares[field] = round(shares.get(field, 0.0) + gain.share, 1)
        if shares:
            data[name] = shares
    if not data:
        return None
    return {
        "id": "genotel_field_shares",
        **SECTION,
        "section_name": "Share of the compressed size per field",
        "description": f"Which fields take the compressed bytes (genotel's probe): the {top} largest fields "
        "over all files, each in the same colour as in `genotel report`, and the other fields together.",
        "plot_type": "bargraph",
        "pconfig": {"id": "genotel_field_shares_plot", "title": "genotel: share of the compressed size per field",
                    "ylab": "% of the compressed size", "cpswitch": False, "ymax": 100, "tt_decimals": 1},
        "categories": {field: {"name": field, "color": colour}
                       for field, colour in [*colours.items(), (OTHER_FIELDS, "#bbbbbb")]},
        "data": data,
    }


def write_custom_content(entries: list[Entry], folder: Path) -> list[Path]:
    """Write the custom-content files into `folder` (created if missing); the paths written."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder")
    names = sample_names(entries)
    contents = [general_stats(entries, names), gains_graph(entries, names), shares_graph(entries, names)]
    files = [(folder / f"{content['id']}_mqc.json", content) for content in contents if content is not None]
    for path, _ in files:  # refuse before writing anything if one of them is not genotel's
        if path.exists():
            check_replaceable(path, MARKER)
    folder.mkdir(parents=True, exist_ok=True)
    for path, content in files:
        write_text(path, json.dumps(content, indent=1, ensure_ascii=False) + "\n", MARKER)
    return [path for path, _ in files]
