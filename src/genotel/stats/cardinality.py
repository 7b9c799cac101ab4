"""Distinct-value counting for hash_issues form 1, in bounded memory.

Each dictionary field (QNAME, its tokens, RNAME, CIGAR, text tags, VCF ID, GFF attributes...)
gets one `CardinalityAccumulator`. Values are reduced to 64-bit hashes (`hashing.py`); the
distinct hashes are kept exactly, in sorted levels merged like an LSM tree, up to
`EXACT_CAP`; past it the count comes from a HyperLogLog sketch (2**16 registers, standard
error 0.4 %) that runs from the start, so memory stays bounded whatever the file size.

The table model and the report thresholds are the contract's (RECORD.md, hash_issues form 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..batches import Strings
from .hashing import hash_strings

MODEL_RECORDS = 10_000  # the table is sized from the distinct values of the first 10,000 records
EXACT_CAP = 2_000_000  # distinct hashes kept exactly (16 MB); beyond, HyperLogLog
HLL_BITS = 16
REPORT_MIN_DISTINCT = 1_000_000
REPORT_MAX_RECORDS_PER_VALUE = 16
EXAMPLES_EACH_END = 3


class DistinctHashes:
    """An exact set of uint64 hashes: sorted levels of doubling size (an LSM tree)."""

    def __init__(self) -> None:
        self.levels: list[np.ndarray] = []
        self.size = 0

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hashes), dtype=bool)
        for level in self.levels:
            where = np.searchsorted(level, hashes)
            where[where == len(level)] = 0
            found |= level[where] == hashes
        return found

    def insert_new(self, new_hashes: np.ndarray) -> None:
        """Add hashes known to be absent and distinct."""
        if len(new_hashes) == 0:
            return
        level = np.sort(new_hashes)
        self.size += len(level)
        while self.levels and len(self.levels[-1]) <= len(level):
            level = np.concatenate((self.levels.pop(), level))
            level.sort(kind="stable")
        self.levels.append(level)


class HyperLogLog:
    """A cardinality sketch over uint64 hashes (Flajolet et al. 2007, with linear counting)."""

    def __init__(self, bits: int = HLL_BITS) -> None:
        self.bits = bits
        self.registers = np.zeros(1 << bits, dtype=np.uint8)

    def add(self, hashes: np.ndarray) -> None:
        if len(hashes) == 0:
            return
        index = (hashes >> np.uint64(64 - self.bits)).astype(np.int64)
        rest = (hashes << np.uint64(self.bits)) | np.uint64(1 << (self.bits - 1))  # sentinel bit
        np.maximum.at(self.registers, index, (leading_zeros(rest) + 1).astype(np.uint8))

    def merge(self, other: HyperLogLog) -> None:
        np.maximum(self.registers, other.registers, out=self.registers)

    def estimate(self) -> float:
        size = len(self.registers)
        alpha = 0.7213 / (1 + 1.079 / size)
        raw = alpha * size * size / float(np.sum(np.ldexp(1.0, -self.registers.astype(np.int64))))
        zeros = int(np.count_nonzero(self.registers == 0))
        if raw <= 2.5 * size and zeros:
            return size * math.log(size / zeros)
        return raw


def leading_zeros(values: np.ndarray) -> np.ndarray:
    """Count of leading zero bits of each uint64 (values must be non-zero)."""
    high = (values >> np.uint64(32)).astype(np.float64)
    low = (values & np.uint64(0xFFFFFFFF)).astype(np.float64)
    # float64 holds every 32-bit value exactly, so floor(log2) of each half is exact.
    with np.errstate(divide="ignore"):
        high_bit = np.where(high > 0, 32 + np.floor(np.log2(high)), np.floor(np.log2(low)))
    return (63 - high_bit).astype(np.int64)


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


class CardinalityAccumulator:
    """Distinct values of one dictionary field, with the first and last new values as examples."""

    def __init__(self, name: str, parent: str = "", exact_cap: int = EXACT_CAP) -> None:
        self.name = name
        self.exact_cap = exact_cap
        self.parent = parent
        self.records = 0  # records that carry the field
        self.model_distinct = 0  # distinct values within the first MODEL_RECORDS records
        self.exact: DistinctHashes | None = DistinctHashes()
        self.sketch = HyperLogLog()
        self.first_values: list[bytes] = []
        self.last_values: list[bytes] = []

    def add(self, values: Strings) -> None:
        """One value per record carrying the field, in file order."""
        count = len(values)
        if count == 0:
            return
        hashes = hash_strings(values)
        unique, first_index = np.unique(hashes, return_index=True)
        self.sketch.add(unique)  # repeats cannot raise a register: the batch's distinct hashes suffice
        if self.exact is not None:
            fresh = ~self.exact.contains(unique)
            self.exact.insert_new(unique[fresh])
            new_index = np.sort(first_index[fresh])
            if self.exact.size > self.exact_cap:
                self.exact = None  # the sketch takes over; memory stays bounded
        else:
            new_index = np.sort(first_index)  # approximate once exact counting has stopped
        if self.records < MODEL_RECORDS:
            in_model = new_index[new_index < MODEL_RECORDS - self.records]
            self.model_distinct += len(in_model)
        self.records += count
        if len(new_index):
            if len(self.first_values) < EXAMPLES_EACH_END:
                self.first_values += [values[int(i)] for i in new_index[: EXAMPLES_EACH_END - len(self.first_values)]]
            self.last_values = (self.last_values + [values[int(i)] for i in new_index[-EXAMPLES_EACH_END:]])[
                -EXAMPLES_EACH_END:
            ]

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
        decoded = [value.decode("utf-8", "replace") for value in self.first_values]
        if distinct > EXAMPLES_EACH_END:
            tail = [value.decode("utf-8", "replace") for value in self.last_values]
            overlap = max(0, 2 * EXAMPLES_EACH_END - distinct)  # few values: the ends overlap
            decoded += tail[overlap:]
        return decoded
