"""The shape every extractor has, and what it hands to record assembly.

Every format family has the same verbs: `read_header` (header facts), `batches` (columnar
record batches) and `extract` (one streaming pass through the statistics accumulators,
returning `Extraction`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..options import Options
from ..sniff import Sniffed, is_bgzf
from ..stats.cardinality import CardinalityResult

# The features item saying that header text (or a read name) was not UTF-8 (read as Latin-1).
HEADER_UTF8_INVALID = ("header_utf8", "invalid")
# The last 28 bytes of every well-formed BGZF file: an empty block marking the end.
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


@dataclass
class HashIssue:
    """One hash_issues entry before rendering (and before --redact hashes its examples).

    form 1: a dictionary field of high cardinality (name, parent, table size, occupancy);
    form 2: read names the flavour parser cannot classify (examples only);
    form 3: --deep found no relationship (examples: first FASTQ name, first QNAME).
    """

    form: int
    examples: list[str]
    name: str = ""
    parent: str = ""
    table_entries: int = 0
    occupancy_percent: int = 0


def field_issues(results: Iterable[CardinalityResult]) -> list[HashIssue]:
    """hash_issues form 1: an entry for each dictionary field whose distinct values overflow the
    table model (`CardinalityResult.reported`), in the order given."""
    return [
        HashIssue(1, found.examples, found.name, found.parent, found.table_entries, found.occupancy_percent)
        for found in results
        if found.reported
    ]


@dataclass
class Extraction:
    """Everything an extractor found in one file, as plain Python values (no numpy)."""

    data_type: str
    codec: str
    disk_size: int
    txt_size: int
    num_lines: int
    features: list[tuple[str, object]]
    programs: list[str] | None = None
    qual_counts: list[list[int]] | None = None  # [base A,C,G,T][phred value] -> count
    hash_issues: list[HashIssue] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # format-specific flags, e.g. reference=EXTERNAL
    streams: list[tuple[str, int, int]] | None = None  # probe: (stream, text size, compressed size)


class Extractor(Protocol):
    """One format family: SAM/BAM/CRAM, VCF/BCF, GFF/GTF, FASTQ or FASTA."""

    data_types: tuple[str, ...]

    def read_header(self, path: Path, sniffed: Sniffed, options: Options) -> Any:
        """Header facts of the file (format-specific type)."""
        ...

    def batches(self, path: Path, header: Any, options: Options) -> Iterator[Any]:
        """Columnar batches of records, in file order."""
        ...

    def extract(self, path: Path, sniffed: Sniffed, options: Options) -> Extraction:
        """One streaming pass over the file, returning the record's fields."""
        ...


def bgzf_eof_missing(path: str | os.PathLike[str]) -> bool:
    """Whether a BGZF file (BAM, BCF, BGZF text) lacks its end-of-file block.

    htslib warns and reads such a file (one still being written, or cut at a block boundary by
    a transfer); genotel reads it too and says so in the record. A file cut inside a block
    fails while it is read, naming the record or line.
    """
    with open(path, "rb") as raw:
        head = raw.read(len(BGZF_EOF))
        raw.seek(0, os.SEEK_END)
        size = raw.tell()
        raw.seek(max(0, size - len(BGZF_EOF)))
        tail = raw.read()
    return is_bgzf(head) and tail != BGZF_EOF
