"""Reading a record's compact strings back: features, fields_gain, qual_acgt and hash_issues.

The inverse of the renderers in `record.py`, for the reports and the collector's analysis.
Malformed items are skipped, never raised: a report or an analysis must not fail on one odd
record. Imports nothing heavier than the standard library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .record import EXAMPLE_COMMA, EXAMPLE_SEMICOLON, QUAL_BASES, QUAL_EQUALS_SUBSTITUTE, QUAL_GROUP_SEPARATOR

QUAL_OFFSET = 33


@dataclass(frozen=True)
class FieldGain:
    """One `NAME,P%,RX` item of fields_gain."""

    name: str
    share: float  # % of the compressed size
    ratio: float  # text size / compressed size


def parse_items(features: str | None) -> dict[str, str]:
    """`key=value;` items as a dict (first occurrence wins)."""
    items: dict[str, str] = {}
    for item in (features or "").split(";"):
        key, sep, value = item.partition("=")
        if sep and key.strip() and key.strip() not in items:
            items[key.strip()] = value.strip()
    return items


def parse_field_gains(fields_gain: str | None) -> list[FieldGain]:
    """`NAME,P%,RX; ...` as FieldGain items, in the record's order."""
    gains: list[FieldGain] = []
    for item in (fields_gain or "").split(";"):
        parts = item.strip().rsplit(",", 2)  # a name could hold a comma; the numbers cannot
        if len(parts) != 3 or not parts[1].endswith("%") or not parts[2].endswith("X"):
            continue
        try:
            share, ratio = float(parts[1][:-1]), float(parts[2][:-1])
        except ValueError:
            continue
        if math.isfinite(share) and math.isfinite(ratio):  # stored before uploads were checked: skipped
            gains.append(FieldGain(parts[0], share, ratio))
    return gains


def parse_fields_gain(fields_gain: str | None) -> dict[str, float]:
    """`NAME,P%,RX; ...` as {NAME: P} (a name given twice adds up)."""
    shares: dict[str, float] = {}
    for gain in parse_field_gains(fields_gain):
        shares[gain.name] = shares.get(gain.name, 0.0) + gain.share
    return shares


def program_tokens(programs: str | None) -> list[str]:
    """The `name;` items of programs."""
    return [token.strip() for token in (programs or "").split(";") if token.strip()]


def parse_qual_acgt(qual_acgt: str | None) -> dict[str, list[int]]:
    """Per base A, C, G, T: its phred values ranked by count (most frequent first); {} for null."""
    if not qual_acgt:
        return {}
    groups = qual_acgt.split(QUAL_GROUP_SEPARATOR)
    if len(groups) != len(QUAL_BASES):
        return {}
    return {
        base: [ord(char) - QUAL_OFFSET for char in group.replace(QUAL_EQUALS_SUBSTITUTE, "=")]
        for base, group in zip(QUAL_BASES, groups, strict=True)
    }


def _example(value: str) -> str:
    return value.replace(EXAMPLE_COMMA, ",").replace(EXAMPLE_SEMICOLON, ";")


def explain_hash_issue(entry: str) -> str:
    """One hash_issues entry in words (forms 1-3 of docs/record.md)."""
    parts = entry.split(",")
    if len(parts) >= 4 and parts[0] == "QNAME" and parts[1:4] == ["", "", ""]:
        names = ", ".join(_example(value) for value in parts[4:] if value)
        return (f"Read names that fit no known naming scheme, so a compressor cannot split them into "
                f"tokens: {names}")  # fmt: skip
    if len(parts) >= 4 and parts[3].endswith("%"):
        name, parent, table, occupancy = parts[:4]
        where = f" (in {parent})" if parent else ""
        examples = ", ".join(_example(value) for value in parts[4:] if value)
        return (f"{name}{where} has so many distinct values that a dictionary of {table} entries would be "
                f"{occupancy} full: it compresses as free text, not as a list of repeated values. "
                f"Examples: {examples}")  # fmt: skip
    names = [_example(value) for value in entry.split(";")]
    if len(names) == 2:
        return (f"--deep found no relation between the FASTQ read names and the alignment names "
                f"(first FASTQ name: {names[0]}; first alignment name: {names[1]})")  # fmt: skip
    return f"Unrecognised entry: {entry}"
