"""The BED statistics of a file, accumulated batch by batch and mergeable in file order.

`ContigOrder` decides `contigs` and `sorted_by` from the runs of equal contigs (docs/record.md,
BED): the contig names are looked at only where they change, so a sorted file costs one name per
contig. `BedTally` adds the line counts, the header programs, the NAME values (hash_issues form
1, within `--sample`) and, with the probe, the field streams.
"""

from __future__ import annotations

import itertools

import numpy as np

from ...batches import Ranges
from ...stats.cardinality import CardinalityAccumulator
from ...stats.distinct_hashes import value_hashes
from ...stats.gain import GainProbe
from ..base import SimpleTally
from .fields import add_bed_streams
from .header import HeaderPrograms
from .parse import BedBatch

LEXICOGRAPHIC, GENOME, UNSORTED = "lexicographic", "genome", "none"


class ContigOrder:
    """Runs of equal contigs in file order: how many, which names, and whether they are sorted."""

    def __init__(self) -> None:
        self.runs = 0
        self.distinct: set[bytes] = set()
        self.lexicographic = True  # each run's contig above the one before, in byte order
        self.starts_ascending = True  # within a run, start never decreases
        self.first: tuple[bytes, int] | None = None  # (contig, start) of the first line
        self.last: tuple[bytes, int] | None = None  # (contig, start) of the last line

    @property
    def ordered(self) -> bool:
        """Whether the file can still be sorted in one of the two orders."""
        return self.starts_ascending and self.runs == len(self.distinct)

    def add(self, batch: BedBatch) -> None:
        heads = batch.run_heads
        if len(heads):
            first_last = (int(batch.starts[0]), int(batch.starts[-1]))
            self.add_runs(batch.data, batch.cuts[heads, 0], batch.cuts[heads, 1], first_last, batch.first_unsorted < 0)

    def add_runs(
        self, data: np.ndarray, contig_starts: np.ndarray, contig_ends: np.ndarray, first_last: tuple[int, int],
        starts_ascending: bool,
    ) -> None:  # fmt: skip
        """Add a batch's runs: the contig of each is `data[contig_starts[i]:contig_ends[i]]`.

        `first_last` are the starts of the batch's first and last lines; `starts_ascending` says
        whether start never decreased within a run of the batch.
        """
        part = ContigOrder()
        part.runs = len(contig_starts)
        part.starts_ascending = starts_ascending
        if self.ordered:  # sorted so far: one run per contig, each name looked at in Python
            names = [data[s:e].tobytes() for s, e in zip(contig_starts.tolist(), contig_ends.tolist(), strict=True)]
            part.distinct = set(names)
            part.lexicographic = all(a < b for a, b in itertools.pairwise(names))
            first, last = names[0], names[-1]
        else:  # the order is lost for good (a contig came back, or a start went down): names by their hashes
            values = Ranges(data, contig_starts, contig_ends)
            _, where = np.unique(value_hashes(values), return_index=True)
            part.distinct = {values[int(index)] for index in where}
            part.lexicographic = False
            first, last = values[0], values[len(values) - 1]
        part.first = (first, first_last[0])
        part.last = (last, first_last[1])
        self.merge(part)

    def merge(self, later: ContigOrder) -> None:
        """Add the runs of the part of the file that follows this one."""
        if later.first is None:
            return
        runs = later.runs
        if self.last is not None:
            if self.last[0] == later.first[0]:  # the run goes on across the boundary
                runs -= 1
                self.starts_ascending &= later.first[1] >= self.last[1]
            else:
                self.lexicographic &= self.last[0] < later.first[0]
        else:
            self.first = later.first
        self.runs += runs
        self.distinct |= later.distinct
        self.lexicographic &= later.lexicographic
        self.starts_ascending &= later.starts_ascending
        self.last = later.last

    def sorted_by(self) -> str:
        """`lexicographic` (sort -k1,1 -k2,2n), `genome` (contigs in blocks, another order) or `none`."""
        if not self.ordered:
            return UNSORTED
        return LEXICOGRAPHIC if self.lexicographic else GENOME


class BedTally(SimpleTally):
    """Everything the BED record counts, batch by batch."""

    def __init__(self, probe: GainProbe | None = None) -> None:
        self.probe = probe
        self.records = 0
        self.text_size = 0
        self.columns = 0
        self.order = ContigOrder()
        self.programs = HeaderPrograms()
        self.names = CardinalityAccumulator("NAME")

    def add(self, batch: BedBatch, within: int) -> None:
        """Count the batch; NAME values only of its first `within` data lines; every line's streams into the probe."""
        self.records += len(batch)
        self.text_size += batch.text_size
        self.columns = self.columns or batch.columns
        self.order.add(batch)
        if len(batch.header_starts):  # header lines after the first data line
            self.programs.add(batch.header_lines())
        if within and batch.names is not None:
            self.names.add(batch.names if within == len(batch) else batch.names.head(within))
        if self.probe is not None:
            add_bed_streams(self.probe, batch)

    def merge(self, later: BedTally) -> None:
        """Add the tally of the part of the file that follows this one (its probe's streams are merged apart)."""
        self.records += later.records
        self.text_size += later.text_size
        self.columns = self.columns or later.columns
        self.order.merge(later.order)
        self.programs.merge(later.programs)
        self.names.merge(later.names)
