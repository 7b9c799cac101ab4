"""Statistics over unaligned reads (FASTQ): read lengths, a sample of read names, interleaving.

The read-name sample is kept in file order, so that a later part of a split file merges
after the earlier one; it also feeds the read-name flavour once that is detected.
"""

from __future__ import annotations

import re

import numpy as np

# Interleaving is decided over the first this-many consecutive pairs (records 1+2, 3+4, ...).
INTERLEAVE_PAIRS = 1000
# ... and a file is interleaved when at least this share of them are mates. Not 100 %: one
# oddly named pair must not flip the answer; a single-end file, whose consecutive reads are
# never mates, scores near 0 %.
INTERLEAVE_MIN_SHARE = 0.9

_NAME_END = re.compile(rb"[ \t]")
_MATE_SUFFIX = re.compile(rb"/([12])$")
_CASAVA_MATE = re.compile(rb"([12]):")


class ReadLengthAccumulator:
    """Number of reads and of bases, for the mean read length."""

    def __init__(self) -> None:
        self.records = 0
        self.bases = 0

    def add(self, lengths: np.ndarray) -> None:
        self.records += len(lengths)
        self.bases += int(lengths.sum())

    def merge(self, other: ReadLengthAccumulator) -> None:
        self.records += other.records
        self.bases += other.bases

    def mean(self) -> float:
        return self.bases / self.records if self.records else 0.0


class ReadNameSample:
    """The header lines (without `@`) of the first `limit` records, in file order."""

    def __init__(self, limit: int = 2 * INTERLEAVE_PAIRS) -> None:
        self.limit = limit
        self.headers: list[bytes] = []

    @property
    def wanted(self) -> int:
        """How many more headers the sample takes."""
        return self.limit - len(self.headers)

    def add(self, headers: list[bytes]) -> None:
        self.headers.extend(headers[: self.wanted])

    def merge(self, other: ReadNameSample) -> None:
        """Merge the sample of the part of the file that follows this one."""
        self.add(other.headers)

    def result(self) -> list[bytes]:
        return list(self.headers)


def mate_key(header: bytes) -> tuple[bytes, int | None]:
    """A read's name without its mate mark, and the mate number (1, 2 or None when unmarked).

    The name is the header up to the first space or tab. The mate is marked either by a
    `/1` or `/2` suffix of the name (older Illumina, many tools) or by a comment starting with
    `1:` or `2:` (CASAVA 1.8: `@name 1:N:0:ATCACG`).
    """
    found = _NAME_END.search(header)
    name, comment = (header[: found.start()], header[found.end() :]) if found else (header, b"")
    suffix = _MATE_SUFFIX.search(name)
    if suffix:
        return name[: suffix.start()], int(suffix.group(1))
    casava = _CASAVA_MATE.match(comment)
    return name, int(casava.group(1)) if casava else None


def are_mates(first: bytes, second: bytes) -> bool:
    """Whether two consecutive headers are read 1 and read 2 of one fragment.

    Same name once mate marks are removed, and marked 1 then 2 (or both unmarked, as SRA
    writes both mates of a spot under one name).
    """
    name_1, mate_1 = mate_key(first)
    name_2, mate_2 = mate_key(second)
    return name_1 == name_2 and (mate_1, mate_2) in ((1, 2), (None, None))


def is_interleaved(headers: list[bytes]) -> bool:
    """Whether the records whose headers these are (in file order) alternate read 1, read 2.

    Over the first `INTERLEAVE_PAIRS` pairs (records 1+2, 3+4, ...): true when there is at
    least one pair and at least `INTERLEAVE_MIN_SHARE` of the pairs are mates.
    """
    pairs = list(zip(headers[0 : 2 * INTERLEAVE_PAIRS : 2], headers[1 : 2 * INTERLEAVE_PAIRS : 2], strict=False))
    if not pairs:
        return False
    mates = sum(are_mates(first, second) for first, second in pairs)
    return mates >= INTERLEAVE_MIN_SHARE * len(pairs)
