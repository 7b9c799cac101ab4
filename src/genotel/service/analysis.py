"""The first analysis: where does compression do badly?

Records are grouped by the combination of data type, sequencer, mapper, variant caller, base
caller and study type, all derived from the record's `features` and `programs` strings when it
is stored. Each group gets its record count, its median `genozip_gain` (records without a gain
are counted but left out of the median), and the fields with the largest mean share of the
compressed size (from `fields_gain`). A group whose median gain is more than 20 % below the median of its data
type is flagged: that combination compresses worse than its peers. The functions here are pure
(no web framework); `analyse_database` pages through the table so memory stays bounded by the
number of groups, not of records.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from genotel.record import Record
from genotel.record_fields import parse_fields_gain, parse_items, program_tokens

from .analysis_sizes import SizeTotals, group_size_figures, source_size, trends
from .db import Database, records

FLAG_RATIO = 0.8  # flagged: group median < 80 % of its data type's median
TOP_FIELDS = 5
PAGE_ROWS = 5000
GROUP_KEYS = ("data_type", "sequencer", "mapper", "variant_caller", "base_caller", "study")

# (pattern, name): a program token containing the pattern (case-insensitive) names the tool.
# More specific patterns first, so that e.g. "Mutect2" is not taken for some generic name.
VARIANT_CALLERS: tuple[tuple[str, str], ...] = (
    ("haplotypecaller", "GATK HaplotypeCaller"),
    ("mutect", "GATK Mutect2"),
    ("unifiedgenotyper", "GATK UnifiedGenotyper"),
    ("genotypegvcfs", "GATK GenotypeGVCFs"),
    ("deepvariant", "DeepVariant"),
    ("deepsomatic", "DeepSomatic"),
    ("dragen", "DRAGEN"),
    ("bcftools_call", "bcftools call"),
    ("freebayes", "freebayes"),
    ("varscan", "VarScan"),
    ("strelka", "Strelka"),
    ("octopus", "Octopus"),
    ("platypus", "Platypus"),
    ("clair", "Clair"),
    ("longshot", "Longshot"),
    ("lofreq", "LoFreq"),
    ("vardict", "VarDict"),
    ("sentieon", "Sentieon"),
    ("glnexus", "GLnexus"),
    ("manta", "Manta"),
    ("delly", "DELLY"),
    ("sniffles", "Sniffles"),
    ("gencall", "Illumina GenCall"),
)
BASE_CALLERS: tuple[tuple[str, str], ...] = (
    ("dorado", "dorado"),
    ("guppy", "guppy"),
    ("albacore", "albacore"),
    ("bonito", "bonito"),
    ("deepconsensus", "DeepConsensus"),
    ("ccs", "ccs"),
    ("bcl2fastq", "bcl2fastq"),
    ("bcl-convert", "BCL Convert"),
    ("bclconvert", "BCL Convert"),
)


def _first_known(tokens: Iterable[str], table: tuple[tuple[str, str], ...]) -> str | None:
    for token in tokens:
        lowered = token.lower()
        for pattern, name in table:
            if pattern in lowered:
                return name
    return None


def derive_columns(data_type: str, programs: str | None, features: str | None) -> dict[str, str | None]:
    """The analysis columns of one record: sequencer, mapper, variant caller, base caller, study."""
    items = parse_items(features)
    tokens = program_tokens(programs)
    is_variants = data_type in ("VCF", "BCF")
    return {
        "sequencer": items.get("sequencer") or None,
        "mapper": items.get("mapper") or None,
        "variant_caller": _first_known(tokens, VARIANT_CALLERS) if is_variants else None,
        "base_caller": None if is_variants else _first_known(tokens, BASE_CALLERS),
        "study": items.get("study") or None,
    }


@dataclass
class _Group:
    count: int = 0
    gains: list[float] = field(default_factory=list)
    share_sums: dict[str, float] = field(default_factory=dict)
    with_fields: int = 0
    sizes: SizeTotals = field(default_factory=SizeTotals)

    def add(self, gain: float | None, fields_gain: str | None, txt_size: int | None = None,
            disk_size: int | None = None) -> None:  # fmt: skip
        self.count += 1
        if gain is not None:
            self.gains.append(gain)
        shares = parse_fields_gain(fields_gain)
        if shares:
            self.with_fields += 1
            for name, share in shares.items():
                self.share_sums[name] = self.share_sums.get(name, 0.0) + share
        self.sizes.add(gain, shares, txt_size, disk_size)

    def top_fields(self) -> list[dict[str, object]]:
        ranked = sorted(self.share_sums.items(), key=lambda item: (-item[1], item[0]))[:TOP_FIELDS]
        return [{"field": name, "share": round(total / self.with_fields, 1)} for name, total in ranked]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def analyse(rows: Iterable[Mapping[str, object]]) -> dict[str, object]:
    """The analysis of `rows`: mappings with the GROUP_KEYS, `genozip_gain` and `fields_gain`, and
    optionally `txt_size`, `disk_size` (for the size-weighted figures) and `created` (for trends)."""
    groups: dict[tuple[object, ...], _Group] = {}
    by_type: dict[str, _Group] = {}
    dated: list[tuple[str, str | None, float | None, int | None]] = []
    total = 0
    for row in rows:
        total += 1
        gain = row["genozip_gain"]
        gain = float(gain) if gain is not None else None  # type: ignore[arg-type]
        gain = gain if gain is not None and math.isfinite(gain) else None  # NaN would make every median NaN
        key = tuple(row[name] for name in GROUP_KEYS)
        sizes = (row.get("txt_size"), row.get("disk_size"))
        groups.setdefault(key, _Group()).add(gain, row["fields_gain"], *sizes)  # type: ignore[arg-type]
        by_type.setdefault(str(row["data_type"]), _Group()).add(gain, None, *sizes)  # type: ignore[arg-type]
        dated.append((str(row["data_type"]), row.get("created"), gain, sizes[0]))  # type: ignore[arg-type]
    type_medians = {name: _median(group.gains) for name, group in by_type.items()}
    out_groups = []
    for key, group in groups.items():
        median = _median(group.gains)
        reference = type_medians[str(key[0])]
        relative = round(100.0 * (median - reference) / reference, 1) if median is not None and reference else None
        out_groups.append(
            {
                **dict(zip(GROUP_KEYS, key, strict=True)),
                "count": group.count,
                "median_genozip_gain": median,
                "vs_data_type_percent": relative,
                "top_fields": group.top_fields(),
                "flagged": median is not None and bool(reference) and median < FLAG_RATIO * reference,  # type: ignore[operator]
                **group_size_figures(group.sizes, by_type[str(key[0])].sizes, FLAG_RATIO),
            }
        )
    out_groups.sort(key=lambda g: (str(g["data_type"]), -int(g["count"]), tuple(str(g[k]) for k in GROUP_KEYS)))  # type: ignore[call-overload]
    data_types = [
        {"data_type": name, "count": group.count, "median_genozip_gain": type_medians[name],
         "weighted_genozip_gain": group.sizes.weighted_gain(), "text_bytes": group.sizes.text_bytes}
        for name, group in sorted(by_type.items())
    ]  # fmt: skip
    return {"records": total, "flag_ratio": FLAG_RATIO, "data_types": data_types, "groups": out_groups,
            "trends": trends(dated)}  # fmt: skip


def analyse_database(database: Database, licence: int | None = None, min_size: int = 0) -> dict[str, object]:
    """The analysis over every stored record, or over one licence's records; with `min_size`, over
    the records of files of at least that many bytes on disk."""
    txt_size, disk_size = source_size(database, "txt_size"), source_size(database, "disk_size")
    columns = [records.c[name] for name in GROUP_KEYS] + [records.c.genozip_gain, records.c.fields_gain,
                                                          records.c.created, txt_size.label("txt_size"),
                                                          disk_size.label("disk_size")]  # fmt: skip

    def pages() -> Iterable[Mapping[str, object]]:
        last_id = 0
        while True:  # keyset pages: short reads, no transaction held across the whole table
            query = sa.select(records.c.id, *columns).where(records.c.id > last_id).order_by(records.c.id)
            if licence is not None:
                query = query.where(records.c.license_num == licence)
            if min_size:
                query = query.where(disk_size >= min_size)
            with database.read() as connection:
                page = connection.execute(query.limit(PAGE_ROWS)).mappings().all()
            yield from page
            if len(page) < PAGE_ROWS:
                return
            last_id = int(page[-1]["id"])

    result = analyse(pages())
    result["scope"] = "all" if licence is None else f"licence {licence}"
    result["min_size"] = min_size
    return result


def analysis_row(record: Record) -> dict[str, object]:
    """What the analysis reads of one record (as `analyse_database` reads it from the table)."""
    return {"data_type": record.data_type, "genozip_gain": record.genozip_gain, "fields_gain": record.fields_gain,
            "txt_size": record.source.txt_size, "disk_size": record.source.disk_size, "created": record.created,
            **derive_columns(record.data_type, record.programs, record.features)}  # fmt: skip
