"""The shape every format package has, and what it hands to record assembly.

An extractor `open`s a file as a `Reading`: its header bytes, its record batches, a fresh
`Tally` of the format's own statistics, and the `Extraction` made from a finished tally. The
engine runs the one pass over the batches (engine.py); docs/architecture.md shows the path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..options import Options
from ..sniff import Sniffed, is_bgzf
from ..stats.cardinality import CardinalityResult
from ..stats.gain import GainProbe

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


def read_name_issues(results: Iterable[CardinalityResult], misfits: list[str]) -> list[HashIssue]:
    """hash_issues of a format with read names: form 1 for its dictionary fields (`field_issues`),
    then form 2 for the read names no flavour parses (`misfits`), when there are any."""
    issues = field_issues(results)
    if misfits:
        issues.append(HashIssue(2, misfits))
    return issues


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


class Batch(Protocol):
    """Records of one format as columns; `first_record` is the 1-based number of the first.

    A format with base qualities also has `count_qualities(accumulator, within)`.
    """

    first_record: int

    def __len__(self) -> int: ...


class Tally(Protocol):
    """A format's statistics over the batches of a file (or of one part of it).

    Made by `Reading.tally(probe)`; the probe (None under --no-gain) gets the field streams of
    every record, the rest only the first `within` records of each batch (--sample).
    """

    def add(self, batch: Any, within: int) -> None: ...

    def close(self) -> None:
        """Finish background work, raising its errors (the pass is complete)."""
        ...

    def abort(self) -> None:
        """Stop background work without waiting for it (the pass failed)."""
        ...


class SimpleTally:
    """The base of a tally without background work: nothing to close or abort."""

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class Part(Protocol):
    """One part of a file, read in its own thread (only readings with `parts` have them).

    After `batches` is exhausted, `leftover` holds the bytes of a record the part's
    end cut short and `stopped` the problem that ended it early (a corrupt block), if any.
    """

    leftover: bytes
    stopped: str | None

    def batches(self) -> Iterator[Any]: ...

    def tally(self, probe: GainProbe | None) -> Any:
        """A fresh tally of the format (whose `merge` takes the tally of the part after it)."""
        ...

    def continued(self, leftover: bytes) -> Part:
        """This part read again, its first record starting with the previous part's `leftover`."""
        ...


class Reading(Protocol):
    """One opened file of a format (a context manager's value, see `Extractor.open`).

    `fallback`, when set, opens the file again with a reader that reads every file this one may
    decline: the engine calls it when the pass raises `bgzf.CannotProve`. A reading that can be
    split has `parts(count)`, a list of `Part`s in file order (one when not worth splitting).
    """

    header_text: bytes  # fed to the probe as TXT_HEADER before any batch (b"" for none)
    fallback: Callable[[], AbstractContextManager[Reading]] | None

    def batches(self) -> Iterator[Any]: ...

    def tally(self, probe: GainProbe | None) -> Any: ...

    def extraction(self, tally: Any, streams: list[tuple[str, int, int]] | None) -> Extraction:
        """The record's plain values; `streams` are the probe's per stream (TXT_HEADER first)."""
        ...


class Extractor(Protocol):
    """One format family: SAM/BAM/CRAM, VCF/BCF, GFF/GTF, FASTQ or FASTA."""

    data_types: tuple[str, ...]

    def open(self, path: Path, sniffed: Sniffed, options: Options) -> AbstractContextManager[Reading]:
        """The file opened for one pass; raises `GenotelError` for a bad header."""
        ...


def sample_within(batch: Batch, sample: int | None) -> int:
    """How many of the batch's first records fall inside `--sample` (all without it)."""
    count = len(batch)
    if sample is None:
        return count
    return max(0, min(count, sample - batch.first_record + 1))


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
