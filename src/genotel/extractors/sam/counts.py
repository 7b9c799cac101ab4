"""Counts over alignment records: records, pairing, mapping, sort order, text size."""

from __future__ import annotations

import re

import numpy as np

from .batch import AlignmentBatch

_DIGIT_RUNS = re.compile(rb"(\d+)")
_UNPLACED = np.int64(1) << 30  # unplaced records sort after every contig (keys stay below 2**63)


def natural_key(name: bytes) -> tuple[object, ...]:
    """Sort key comparing digit runs as numbers, as `samtools sort -n` orders read names."""
    parts: list[object] = _DIGIT_RUNS.split(name)
    for index in range(1, len(parts), 2):
        parts[index] = int(parts[index])  # type: ignore[arg-type]
    return tuple(parts)


class AlignmentCountsAccumulator:
    """Record, pairing and mapping counts, text size, and whether the order is by POS or QNAME.

    Sort order is decided by the data, not the header's claim: the records are coordinate
    sorted if (contig index, position) never decreases, and name sorted if read names never
    decrease in natural order. Merging keeps the boundary keys so split parts merge exactly.
    """

    def __init__(self) -> None:
        self.records = 0
        self.paired = 0
        self.mapped = 0
        self.text_size = 0
        self.tag_signatures: set[str] = set()
        self.by_position = True
        self.by_name = True
        self.first_position_key: int | None = None
        self.last_position_key: int | None = None
        self.first_name_key: tuple[object, ...] | None = None
        self.last_name_key: tuple[object, ...] | None = None

    def add(self, batch: AlignmentBatch) -> None:
        if len(batch) == 0:
            return
        self.records += len(batch)
        self.paired += int(np.count_nonzero(batch.flag & 0x1))
        self.mapped += int(np.count_nonzero((batch.flag & 0x4) == 0))
        self.text_size += batch.text_size
        self.tag_signatures |= batch.tag_signatures
        self._add_positions(batch)
        self._add_names(batch)

    def _add_positions(self, batch: AlignmentBatch) -> None:
        contig = np.where(batch.ref_id < 0, _UNPLACED, batch.ref_id.astype(np.int64))
        keys = (contig << 32) | (batch.pos + 1)
        first, last = int(keys[0]), int(keys[-1])
        if self.first_position_key is None:
            self.first_position_key = first
        if self.by_position:
            ordered = bool(np.all(keys[1:] >= keys[:-1]))
            after_previous = self.last_position_key is None or first >= self.last_position_key
            self.by_position = ordered and after_previous
        self.last_position_key = last

    def _add_names(self, batch: AlignmentBatch) -> None:
        names = batch.names
        if self.first_name_key is None:
            self.first_name_key = natural_key(names[0])
        if self.by_name:
            # A Python loop, but only while the file still looks name-sorted: a coordinate
            # sorted file fails within its first batch.
            keys = [natural_key(name) for name in names.to_list()]
            previous = self.last_name_key
            for key in keys:
                if previous is not None and key < previous:
                    self.by_name = False
                    break
                previous = key
        self.last_name_key = natural_key(names[len(names) - 1])

    def merge(self, other: AlignmentCountsAccumulator) -> None:
        """Merge the accumulator of the part of the file that follows this one."""
        if other.records == 0:
            return
        if self.records == 0:
            self.__dict__.update(other.__dict__)
            return
        assert other.first_position_key is not None and other.first_name_key is not None
        assert self.last_position_key is not None and self.last_name_key is not None
        self.by_position = self.by_position and other.by_position and other.first_position_key >= self.last_position_key
        self.by_name = self.by_name and other.by_name and not other.first_name_key < self.last_name_key
        self.records += other.records
        self.paired += other.paired
        self.mapped += other.mapped
        self.text_size += other.text_size
        self.tag_signatures |= other.tag_signatures
        self.last_position_key = other.last_position_key
        self.last_name_key = other.last_name_key

    def sorted_by(self, declared: str | None) -> str:
        """`POS`, `QNAME` or `NONE`; the header's @HD SO breaks ties (e.g. 0 or 1 record)."""
        if self.by_position and self.by_name:
            # The data fit both orders (no or few records): the header's claim decides.
            if declared == "queryname":
                return "QNAME"
            return "POS" if declared == "coordinate" or self.records > 1 else "NONE"
        if self.by_position:
            return "POS"
        if self.by_name:
            return "QNAME"
        return "NONE"
