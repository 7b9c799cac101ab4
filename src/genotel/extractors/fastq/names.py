"""Statistics over FASTQ read names: read lengths, flavour and technology, interleaving, hash_issues.

`FastqNameStats` cuts each header into the read name (up to the first space or tab) and the
comment, and keeps the read-name flavour and its misfits (hash_issues form 2), a sample of whole
headers for interleaving, and the distinct values of `QNAME` and its tokens (form 1, as for SAM).
With `--sample N` all of these see the first N records only.
"""

from __future__ import annotations

import re

import numpy as np

from ...batches import Strings
from ...stats.cardinality import CardinalityResult
from ...stats.line_spans import gather_lines
from ...stats.read_name_fields import DictionaryFields
from ...stats.readnames import UNKNOWN, UNKNOWN_TECHNOLOGY, ReadNameAccumulator, ReadNameResult

# Interleaving is decided over the first this-many consecutive pairs (records 1+2, 3+4, ...).
INTERLEAVE_PAIRS = 1000
# ... and a file is interleaved when at least this share of them are mates. Not 100 %: one
# oddly named pair must not flip the answer; a single-end file, whose consecutive reads are
# never mates, scores near 0 %.
INTERLEAVE_MIN_SHARE = 0.9

_NAME_END = re.compile(rb"[ \t]")
_SPACE, _TAB = ord(" "), ord("\t")
# The dictionary fields take at most this many names at a time, which bounds the temporaries of
# a chunk of very short reads. The pieces (this and the reader's chunks) also decide which values
# count as new once exact counting has stopped (hash_issues examples of huge files), so changing
# them changes records.
CARDINALITY_SLICE = 1 << 16
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


def split_headers(headers: Strings) -> tuple[Strings, np.ndarray]:
    """Each header's read name (up to its first space or tab) and where its comment starts.

    The comment starts are offsets into `headers.buffer` (the header's end when it has none).
    """
    buffer, starts, ends = headers.buffer, headers.offsets[:-1], headers.offsets[1:]
    blanks = np.flatnonzero((buffer == _SPACE) | (buffer == _TAB))
    if not len(blanks):
        return headers, ends
    first = blanks[np.minimum(np.searchsorted(blanks, starts), len(blanks) - 1)]
    has_comment = (first >= starts) & (first < ends)
    name_ends = np.where(has_comment, first, ends)
    lengths = name_ends - starts
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Strings(gather_lines(buffer, starts, lengths), offsets), np.where(has_comment, first + 1, ends)


class FastqNameStats:
    """Read-name flavour, interleaving sample and dictionary fields of a FASTQ file's first records.

    `add` takes the headers of consecutive records in file order, those within --sample only.
    """

    def __init__(self) -> None:
        self.records = 0
        self.flavour = ReadNameAccumulator()
        self.pairs = ReadNameSample()
        self.dictionary = DictionaryFields()

    def add(self, headers: Strings) -> None:
        count = len(headers)
        if count == 0:
            return
        names, comment_starts = split_headers(headers)
        for start in range(0, count, CARDINALITY_SLICE):
            self.dictionary.add_names(names.head(min(CARDINALITY_SLICE, count - start), start))
        listed = min(count, max(self.flavour.sample_names - len(self.flavour.names), self.pairs.wanted))
        if listed > 0:  # the first few thousand records only: Python objects are affordable here
            text = headers.buffer[: headers.offsets[listed]].tobytes()
            ends = headers.offsets[1 : listed + 1].tolist()
            comments = [text[start:end] for start, end in zip(comment_starts[:listed].tolist(), ends, strict=True)]
            self.flavour.add(names.head(listed).to_list(), comments)
            self.pairs.add(headers.head(listed).to_list())
        self.records += count

    def flavour_result(self) -> ReadNameResult:
        """Flavour, technology and misfits; `Unknown`/`unknown` and none without any name."""
        return self.flavour.result() or ReadNameResult(UNKNOWN, UNKNOWN_TECHNOLOGY)

    def interleaved(self) -> bool:
        return is_interleaved(self.pairs.result())

    def field_results(self) -> list[CardinalityResult]:
        """The distinct values of QNAME and its tokens (hash_issues form 1 reports the overflowing)."""
        return self.dictionary.results(self.records)
