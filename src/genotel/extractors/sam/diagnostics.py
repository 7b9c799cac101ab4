"""What the SAM family's record makes of its tally: read-name flavour and technology, the
dictionary fields in a fixed order, and the probe's streams in a fixed order."""

from __future__ import annotations

from collections import Counter

import numpy as np

from ...stats.cardinality import CardinalityResult
from ...stats.gain import HEADER_STREAM
from ...stats.readnames import UNKNOWN, UNKNOWN_TECHNOLOGY, ReadNameAccumulator, ReadNameResult
from .fields import SAM_COLUMNS, SamDictionaryAccumulator, SamText

# `@RG PL:` values (SAM spec, upper-cased) as the technology names the read-name flavours use.
PLATFORMS = {
    "ILLUMINA": "Illumina",
    "ONT": "ONT",
    "NANOPORE": "ONT",
    "PACBIO": "PacBio",
    "IONTORRENT": "IonTorrent",
    "ELEMENT": "Element",
    "ULTIMA": "Ultima",
    "DNBSEQ": "MGI",
    "MGI": "MGI",
    "BGI": "MGI",
    "LS454": "LS454",
    "SOLID": "SOLiD",
    "CAPILLARY": "Capillary",
    "HELICOS": "Helicos",
    "SINGULAR": "Singular",
}


def read_names(names: ReadNameAccumulator, header_text: str) -> ReadNameResult:
    """Flavour, technology (or the header's platform) and misfit names."""
    result = names.result() or ReadNameResult(UNKNOWN, UNKNOWN_TECHNOLOGY)
    if result.technology == UNKNOWN_TECHNOLOGY:
        result.technology = header_platform(header_text) or UNKNOWN_TECHNOLOGY
    return result


def field_results(dictionary: SamDictionaryAccumulator, sampled: int) -> list[CardinalityResult]:
    """Every dictionary field's distinct values, in `field_rank` order (not the batching's)."""
    return sorted(dictionary.results(sampled), key=lambda result: field_rank(result.name))


def ordered_streams(streams: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The probe's streams in a fixed order (header, columns, tags by name, Other), whatever the
    batching and the parts were."""
    rank = {name: index for index, name in enumerate(SAM_COLUMNS)}
    rank[HEADER_STREAM] = -1
    return sorted(streams, key=lambda size: (size[0] == "Other", rank.get(size[0], 99), size[0]))


def field_rank(name: str) -> tuple[int, int, str]:
    """Dictionary fields in a fixed order: QNAME, its tokens by number, RNAME, CIGAR, tags by name."""
    if name == "QNAME":
        return (0, 0, "")
    if name.startswith("QNAME") and name[5:].isdigit():
        return (1, int(name[5:]), "")
    return (2, {"RNAME": 0, "CIGAR": 1}.get(name, 2), name)


def header_platform(header_text: str) -> str | None:
    """The most common `PL:` of the header's @RG lines, as a technology name (None without one)."""
    platforms: Counter[str] = Counter()
    for line in header_text.splitlines():
        if line.startswith("@RG\t"):
            for item in line.split("\t")[1:]:
                if item.startswith("PL:") and item[3:].strip():
                    value = item[3:].strip()
                    platforms[PLATFORMS.get(value.upper(), value)] += 1
    return platforms.most_common(1)[0][0] if platforms else None


def head_text(text: SamText, count: int) -> SamText:
    """The SAM text of the first `count` records of a batch."""
    columns = {}
    for name, column in text.columns.items():
        keep = count if column.records is None else int(np.searchsorted(column.records, count))  # in file order
        if keep:
            columns[name] = column.subset(slice(0, keep))
    return SamText(count, columns, text.fields_per_record[:count])
