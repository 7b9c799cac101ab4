"""Distinct-value counting for hash_issues form 1, in bounded memory.

Each dictionary field gets one `CardinalityAccumulator`. Values are reduced to 64-bit hashes
(`hashing.py`), kept exactly in an open-addressing hash table up to `EXACT_CAP`; past it the
count comes from a HyperLogLog sketch (2**16 registers, standard error 0.4 %) that runs from the
start, so memory stays bounded (both in `distinct_hashes.py`, imported on first use: numba is
loaded only by a pass that counts). The table model and report thresholds are docs/record.md's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..batches import Ranges, Strings
from ..textio import decode_text

if TYPE_CHECKING:
    from .distinct_hashes import DistinctHashes

MODEL_RECORDS = 10_000  # the table is sized from the distinct values of the first 10,000 records
EXACT_CAP = 2_000_000  # distinct hashes kept exactly (a 32 MB table); beyond, HyperLogLog
REPORT_MIN_DISTINCT = 1_000_000
REPORT_MAX_RECORDS_PER_VALUE = 16
EXAMPLES_EACH_END = 3
# Last new values kept: more than shown, so that merging a later part (whose new values may
# have been seen in the earlier part) still finds the last three of the whole file.
LAST_KEPT = 32


class InexactMerge(Exception):
    """A later part's kept examples do not tell the whole file's examples: read it in one part.

    Raised when too few of the later part's first or last kept new values are new to the part
    before it, while it had more new values than it kept.
    """


@dataclass
class CardinalityResult:
    name: str
    parent: str
    distinct: int
    records: int
    table_entries: int
    occupancy_percent: int
    examples: list[str] = field(default_factory=list)

    @property
    def reported(self) -> bool:
        """The contract's rule: OCC over 100 %, or over a million values repeating rarely."""
        return self.occupancy_percent > 100 or (
            self.distinct > REPORT_MIN_DISTINCT and self.records < REPORT_MAX_RECORDS_PER_VALUE * self.distinct
        )


def pick(values: Strings | Ranges, indices: np.ndarray) -> list[bytes]:
    """Strings `indices` (ascending) of `values` as bytes: for `Strings` with one copy of the
    bytes they span, for `Ranges` (which may lie far apart in their buffer) one by one."""
    if isinstance(values, Ranges):
        return [values[index] for index in indices.tolist()]
    return Ranges(values.buffer, values.starts[indices], values.ends[indices]).to_list()


class CardinalityAccumulator:
    """Distinct values of one dictionary field, with the first and last new values as examples."""

    def __init__(self, name: str, parent: str = "", exact_cap: int = EXACT_CAP) -> None:
        self.name = name
        self.exact_cap = exact_cap
        self.parent = parent
        self.records = 0  # records that carry the field
        self.model_distinct = 0  # distinct values within the first MODEL_RECORDS records
        # Their hashes and the record (0-based) where each first appeared, for an exact merge.
        self.model_hashes: list[np.ndarray] = []
        self.model_at: list[np.ndarray] = []
        from .distinct_hashes import DistinctHashes, HyperLogLog

        self.exact: DistinctHashes | None = DistinctHashes()
        self.sketch = HyperLogLog()
        self.first_values: list[bytes] = []
        self.last_values: list[bytes] = []

    def add(self, values: Strings | Ranges) -> None:
        """One value per record carrying the field, in file order."""
        count = len(values)
        if count == 0:
            return
        from .distinct_hashes import DistinctHashes, value_hashes

        hashes = value_hashes(values)
        registers = self.sketch.registers
        if self.exact is None:  # past the cap: the batch's first occurrences count as new
            new = DistinctHashes.for_count(count).add(hashes, registers)
        elif self.exact.size + count <= self.exact_cap:
            new = self.exact.add(hashes, registers)
        else:  # this batch may cross the cap: look before inserting (no table grown only to be dropped)
            # (Every value seen before raised the sketch when it was new: raising it again changes nothing.)
            first = DistinctHashes.for_count(count).add(hashes, registers)
            new = first & ~self.exact.contains(hashes)
            if self.exact.size + int(np.count_nonzero(new)) > self.exact_cap:
                self.exact, new = None, first  # the sketch takes over; memory stays bounded
            else:
                self.exact.add(hashes[new])
        new_index = np.flatnonzero(new)  # in file order
        if self.records < MODEL_RECORDS:
            in_model = new_index[new_index < MODEL_RECORDS - self.records]
            self.model_distinct += len(in_model)
            self.model_hashes.append(hashes[in_model])
            self.model_at.append(in_model + self.records)
        self.records += count
        if len(new_index):
            if len(self.first_values) < EXAMPLES_EACH_END:
                self.first_values += [values[int(i)] for i in new_index[: EXAMPLES_EACH_END - len(self.first_values)]]
            self.last_values = (self.last_values + pick(values, new_index[-LAST_KEPT:]))[-LAST_KEPT:]

    def merge(self, other: CardinalityAccumulator) -> None:
        """Merge the accumulator of the part of the file that follows this one (read elsewhere).

        Exact where it can be: the distinct hashes unite (exactly, while both parts stayed
        under the cap; else the sketches, whose registers take their maxima), the first values
        stay this part's, and the model count is exact (each part keeps the hashes of the new
        values of its first MODEL_RECORDS records). The other part's examples only know that
        part: its new values are checked against this part's exact set (when there is one) and
        its last values follow ours, which is exact unless exact counting stopped.
        """
        if other.records == 0:
            return
        fresh_first = self._new_values(other.first_values)
        fresh_last = self._new_values(other.last_values)
        if self.records < MODEL_RECORDS and other.model_hashes:
            theirs, at = np.concatenate(other.model_hashes), np.concatenate(other.model_at)
            within = at < MODEL_RECORDS - self.records
            theirs, at = theirs[within], at[within]
            mine = np.concatenate(self.model_hashes) if self.model_hashes else np.zeros(0, np.uint64)
            new = ~np.isin(theirs, mine)
            self.model_distinct += int(np.count_nonzero(new))
            self.model_hashes.append(theirs[new])
            self.model_at.append(at[new] + self.records)
        if self.exact is not None and other.exact is not None:
            theirs = other.exact.values()
            fresh = theirs[~self.exact.contains(theirs)]
            self._check_examples(len(fresh), fresh_first, fresh_last, other)
            if self.exact.size + len(fresh) > self.exact_cap:
                self.exact = None  # decided before inserting: no table grown only to be dropped
            else:
                self.exact.add(fresh)
        else:
            self.exact = None
        self.sketch.merge(other.sketch)
        self.records += other.records
        room = EXAMPLES_EACH_END - len(self.first_values)
        if room > 0:
            self.first_values += fresh_first[:room]
        self.last_values = (self.last_values + fresh_last)[-LAST_KEPT:]

    def _check_examples(
        self, fresh: int, fresh_first: list[bytes], fresh_last: list[bytes], other: CardinalityAccumulator
    ) -> None:
        """Raise `InexactMerge` unless the later part's kept values hold the examples it adds.

        `fresh` is how many of its distinct values are new to this part; the first (last) ones
        among them are its kept first (last) values that are new here, unless it kept fewer
        values than it had and fewer of those are new here than the examples need.
        """
        room = max(0, EXAMPLES_EACH_END - len(self.first_values))
        if len(fresh_first) < min(room, fresh) and len(other.first_values) >= EXAMPLES_EACH_END:
            raise InexactMerge(self.name)
        if len(fresh_last) < min(EXAMPLES_EACH_END, fresh) and len(other.last_values) >= LAST_KEPT:
            raise InexactMerge(self.name)

    def _new_values(self, values: list[bytes]) -> list[bytes]:
        """The values not seen by this accumulator (all of them once exact counting has stopped)."""
        if self.exact is None or not values:
            return list(values)
        from .distinct_hashes import value_hashes

        seen = self.exact.contains(value_hashes(Strings.from_list(values)))
        return [value for value, known in zip(values, seen.tolist(), strict=True) if not known]

    @property
    def distinct(self) -> int:
        if self.exact is not None:
            return self.exact.size
        return round(self.sketch.estimate())

    def result(self, total_records: int | None = None) -> CardinalityResult:
        """Apply the table model; `total_records` is the file's record count (defaults to ours)."""
        records = self.records if total_records is None else total_records
        sampled = min(self.records, MODEL_RECORDS)
        estimate = self.model_distinct * records / sampled if sampled else 0
        table = 1 << max(0, math.ceil(math.log2(max(5 * estimate, 1))))
        distinct = self.distinct
        examples = self._examples(distinct)
        occupancy = distinct * 100 // table
        return CardinalityResult(self.name, self.parent, distinct, self.records, table, occupancy, examples)

    def _examples(self, distinct: int) -> list[str]:
        decoded = [decode_text(value) for value in self.first_values]
        if distinct > EXAMPLES_EACH_END:
            tail = [decode_text(value) for value in self.last_values[-EXAMPLES_EACH_END:]]
            overlap = max(0, 2 * EXAMPLES_EACH_END - distinct)  # few values: the ends overlap
            decoded += tail[overlap:]
        return decoded
