"""The telemetry record: its typed model, its JSON form and its compact strings.

This module is the only place that knows the wire format of the record (see
`docs/record.md`). It imports no numpy, pysam or web framework:
the collector service imports it and nothing else of the engine. The statistics modules hand
it plain Python values (lists of counts, lists of names) and it renders them.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .formats import DATA_TYPES

SCHEMA = "genotel.record/1"

DataType = Literal[DATA_TYPES]  # type: ignore[valid-type]
Codec = Literal["BGZF", "GZ", "CRAM", "BCF", "NONE"]

# qual_acgt: the four base groups in this order, joined by two U+2015.
QUAL_BASES = "ACGT"
QUAL_GROUP_SEPARATOR = "\u2015\u2015"
QUAL_MAX_PER_GROUP = 16
# '=' is written as U+2250 so that the string survives key=value parsers.
QUAL_EQUALS_SUBSTITUTE = "\u2250"

# hash_issues: separators inside an example value are replaced so entries stay splittable.
EXAMPLE_COMMA = "\u2e32"
EXAMPLE_SEMICOLON = "\uff1b"
EXAMPLE_MAX_CHARS = 100


class Source(BaseModel):
    """What the file is on disk and in its plain text form."""

    model_config = ConfigDict(extra="forbid")

    codec: Codec
    disk_size: int = Field(ge=0)
    txt_size: int = Field(ge=0)
    num_lines: int = Field(ge=0)


class Record(BaseModel):
    """One telemetry record, describing one input file. Field order is the JSON key order."""

    model_config = ConfigDict(extra="forbid")

    schema_: str = Field(default=SCHEMA, alias="schema")
    record_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    created: str = Field(default_factory=lambda: utc_now_iso())
    genotel_version: str
    license_num: int | None = None
    data_type: DataType
    source: Source
    features: str
    fields_gain: str | None = None
    genozip_gain: float | None = None
    source_gain: float
    flags: str
    programs: str | None = None
    qual_acgt: str | None = None
    hash_issues: list[str] = Field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The record as JSON-ready data, keys in contract order."""
        return self.model_dump(mode="json", by_alias=True)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Record:
        return cls.model_validate(data)


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def one_decimal(value: float) -> float:
    """Round half-up-ish to one decimal as the spec's gains are written."""
    return round(value + 0.0, 1)


def without_nul(text: str) -> str:
    """A text taken from a file, less its NUL characters: no record string holds NUL (a database
    cannot store it, and the collector refuses it)."""
    return text.replace("\x00", "")


def render_programs(names: Iterable[str]) -> str | None:
    """`name;` per program, in order of first appearance, exact-token dedup; None if empty."""
    seen: list[str] = []
    for name in names:
        # A ';' inside a name would split it into two programs when the string is read back.
        token = without_nul(name).strip().replace(";", EXAMPLE_SEMICOLON)
        if token and token not in seen:
            seen.append(token)
    return "".join(f"{token};" for token in seen) or None


def render_qual_acgt(counts: Sequence[Sequence[int]], offset: int = 33) -> str:
    """Render per-base quality counts as the spec's qual_acgt string.

    `counts[b][q]` is how often base `QUAL_BASES[b]` was seen with quality value `q`; the quality
    character is `chr(q + offset)`. Per base: characters sorted by count (highest first), ties
    by the lower character, at most 16, zero counts left out.
    """
    if len(counts) != len(QUAL_BASES):
        raise ValueError("qual_acgt needs one row of counts per base A, C, G, T")
    groups = []
    for row in counts:
        nonzero = [(-count, q) for q, count in enumerate(row) if count > 0]
        nonzero.sort()
        chars = (chr(q + offset) for _, q in nonzero[:QUAL_MAX_PER_GROUP])
        groups.append("".join(chars).replace("=", QUAL_EQUALS_SUBSTITUTE))
    return QUAL_GROUP_SEPARATOR.join(groups)


def render_items(items: Iterable[tuple[str, object]]) -> str:
    """`key=value;` items, each ending in `;` (the features string)."""
    return "".join(f"{without_nul(str(key))}={without_nul(str(value))};" for key, value in items)


def render_flags(items: Iterable[str]) -> str:
    """The flags string: items joined by `; `."""
    return "; ".join(items)


def escape_example(value: str) -> str:
    """An example value inside a hash_issues entry: separators replaced, cut to 100 chars."""
    return without_nul(value).replace(",", EXAMPLE_COMMA).replace(";", EXAMPLE_SEMICOLON)[:EXAMPLE_MAX_CHARS]


def format_contigs(count: int, bases: int) -> str:
    """`N (bases)` as in `hdr_contigs=2 (48502)` and `ref_contigs=298 (3235006512)`."""
    return f"{count} ({bases})"


def format_percent(part: int, whole: int) -> str:
    """A share as a percentage with one decimal, e.g. `99.6%`; `0.0%` of nothing."""
    share = 100.0 * part / whole if whole else 0.0
    return f"{share:.1f}%"


def format_table_size(entries: int) -> str:
    """Entry count with binary units and one decimal: `512.0 KB`; below 1,024 entries `512 B`."""
    if entries < 1024:
        return f"{entries} B"
    value = float(entries)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024:
            return f"{value:.1f} {unit}"
    return f"{value:.1f} PB"


def render_cardinality_issue(name: str, parent: str, table_entries: int, occupancy: int, examples: list[str]) -> str:
    """hash_issues form 1: `NAME,PARENT,TABLE,OCC%,v1,...,v6`."""
    values = ",".join(escape_example(value) for value in examples)
    return f"{without_nul(name)},{without_nul(parent)},{format_table_size(table_entries)},{occupancy}%,{values}"


def render_unparsed_names(examples: list[str]) -> str:
    """hash_issues form 2: `QNAME,,,,n1,...,n6`."""
    return "QNAME,,,," + ",".join(escape_example(value) for value in examples)


def render_fields_gain(streams: Iterable[tuple[str, int, int]]) -> tuple[str, float]:
    """fields_gain and genozip_gain from (name, text size, compressed size) per stream.

    Items `NAME,P%,RX` sorted by compressed size, largest first (ties by name), joined by `; `.
    Shares are rounded by largest remainder, so that they always add up to exactly 100.0.
    """
    rows = [(name, text, compressed) for name, text, compressed in streams if compressed > 0]
    total_compressed = sum(compressed for _, _, compressed in rows)
    total_text = sum(text for _, text, _ in rows)
    if not total_compressed:
        return "", 0.0
    rows.sort(key=lambda row: (-row[2], row[0]))
    tenths = largest_remainder([1000 * compressed / total_compressed for _, _, compressed in rows], 1000)
    items = [
        f"{without_nul(name)},{share / 10:.1f}%,{text / compressed:.1f}X"
        for (name, text, compressed), share in zip(rows, tenths, strict=True)
    ]
    return "; ".join(items), one_decimal(total_text / total_compressed)


def largest_remainder(values: Sequence[float], total: int) -> list[int]:
    """Round `values` (which add up to `total`) to integers that still add up to `total`."""
    floors = [int(value) for value in values]
    missing = total - sum(floors)
    by_remainder = sorted(range(len(values)), key=lambda index: (floors[index] - values[index], index))
    for index in by_remainder[:missing]:
        floors[index] += 1
    return floors
