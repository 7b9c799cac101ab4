"""Distinct-value counting for hash_issues form 1, in bounded memory.

Each dictionary field gets one `CardinalityAccumulator`. Values are reduced to 64-bit hashes
(`hashing.py`), kept exactly in an open-addressing hash table up to `EXACT_CAP`; past it the
count comes from a HyperLogLog sketch (2**16 registers, standard error 0.4 %) that runs from the
start, so memory stays bounded. The table model and report thresholds are docs/record.md's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np

from ..batches import Strings
from ..textio import decode_text
from .hashing import contiguous, string_hashes

MODEL_RECORDS = 10_000  # the table is sized from the distinct values of the first 10,000 records
EXACT_CAP = 2_000_000  # distinct hashes kept exactly (a 32 MB table); beyond, HyperLogLog
HLL_BITS = 16
REPORT_MIN_DISTINCT = 1_000_000
REPORT_MAX_RECORDS_PER_VALUE = 16
EXAMPLES_EACH_END = 3
WORD_HASH_MAX = 256  # longer values are hashed byte by byte (the padded matrix would be wide)
# Last new values kept: more than shown, so that merging a later part (whose new values may
# have been seen in the earlier part) still finds the last three of the whole file.
LAST_KEPT = 32


class DistinctHashes:
    """An exact set of uint64 hashes: an open-addressing table (linear probing) filled by a compiled loop.

    The table grows 4x before it would be more than half full. Zero marks an empty slot, so a
    hash of zero is stored as one (a 2**-64 chance of merging two values; the HyperLogLog sketch
    still sees the true hash). Pickled (a part read in another process), it travels as its
    values only, and the table is rebuilt where it is used again.
    """

    MIN_BITS = 12

    def __init__(self, bits: int = MIN_BITS) -> None:
        self.bits = bits
        self.table: np.ndarray | None = np.zeros(1 << bits, dtype=np.uint64)
        self.size = 0
        self._packed: np.ndarray | None = None  # the values, while the table is not built

    def __getstate__(self) -> dict[str, object]:
        return {"bits": self.bits, "size": self.size, "packed": self.values()}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.bits, self.size = state["bits"], state["size"]  # type: ignore[assignment]
        self.table, self._packed = None, state["packed"]  # type: ignore[assignment]

    def _table(self) -> np.ndarray:
        if self.table is None:
            packed, self._packed = self._packed, None
            self.table, self.size = np.zeros(1 << self.bits, dtype=np.uint64), 0
            self.add(packed)  # type: ignore[arg-type]
        return self.table

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """True where a hash is in the set."""
        found = np.zeros(len(hashes), dtype=bool)
        probe_table(self._table(), self.size, _as_hashes(hashes), 0, False, found, _NO_SKETCH)
        return found

    def add(self, hashes: np.ndarray, registers: np.ndarray | None = None) -> np.ndarray:
        """Insert a batch in order; true where a hash is new to the set (its first occurrence).

        The new hashes also raise the HyperLogLog `registers`, if given.
        """
        hashes = _as_hashes(hashes)
        new = np.zeros(len(hashes), dtype=bool)
        sketch = _NO_SKETCH if registers is None else registers
        done = 0
        while True:
            self.size, done = probe_table(self._table(), self.size, hashes, done, True, new, sketch)
            if done == len(hashes):
                return new
            self._grow()

    def values(self) -> np.ndarray:
        if self.table is None:
            return self._packed  # type: ignore[return-value]
        return self.table[self.table != 0]

    def _grow(self) -> None:
        """A table 4x as large, with the values re-inserted: re-inserting costs about as much as inserting."""
        stored = self.values()
        self.bits, self.table, self.size = self.bits + 2, np.zeros(1 << (self.bits + 2), dtype=np.uint64), 0
        self.add(stored)


_NO_SKETCH = np.zeros(0, dtype=np.uint8)
_TOP_BIT = np.uint64(1 << 63)


def _as_hashes(hashes: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(hashes, dtype=np.uint64)


@numba.njit(cache=True, nogil=True)
def probe_table(
    table: np.ndarray,
    size: int,
    hashes: np.ndarray,
    start: int,
    insert: bool,
    marks: np.ndarray,
    registers: np.ndarray,
) -> tuple[int, int]:
    """Look up `hashes[start:]`, in order, in the open-addressing `table` that holds `size` keys.

    With `insert`, each hash not in the table is stored (zero as one) and marked in `marks`,
    and raises the HyperLogLog `registers` (when not empty); it stops before the table would
    be more than half full. Without, `marks` says which hashes are in the table. The slot is
    the key's top bits; a full slot of another key sends the probe to the next. Returns the
    new size and where it stopped (`len(hashes)` when done).
    """
    mask = len(table) - 1
    shift = np.uint64(64 - _log2(len(table)))
    sketch_bits = _log2(len(registers))
    for index in range(start, len(hashes)):
        key = hashes[index]
        if key == 0:
            key = np.uint64(1)
        slot = np.intp(key >> shift)
        while table[slot] != 0 and table[slot] != key:
            slot = (slot + 1) & mask
        if not insert:
            marks[index] = table[slot] == key
        elif table[slot] == 0:
            if 2 * (size + 1) > len(table):
                return size, index
            table[slot] = key
            size += 1
            marks[index] = True
            if sketch_bits > 0:
                sketch_raise(registers, sketch_bits, hashes[index])
    return size, len(hashes)


@numba.njit(cache=True, nogil=True)
def sketch_raise(registers: np.ndarray, bits: int, value: np.uint64) -> None:
    """Raise the HyperLogLog register of one hash: its top `bits` pick the register, the rank is
    one more than the leading zeros of the rest (a sentinel bit bounds it)."""
    register = np.intp(value >> np.uint64(64 - bits))
    rest = (value << np.uint64(bits)) | (np.uint64(1) << np.uint64(bits - 1))
    rank = 1
    while rest < _TOP_BIT:
        rest <<= np.uint64(1)
        rank += 1
    if rank > registers[register]:
        registers[register] = rank


@numba.njit(cache=True, nogil=True)
def _log2(size: int) -> int:
    """log2 of a power of two (0 for 0)."""
    bits = 0
    while (1 << bits) < size:
        bits += 1
    return bits


class HyperLogLog:
    """A cardinality sketch over uint64 hashes (Flajolet et al. 2007, with linear counting).

    Its registers are raised by `DistinctHashes.add` as new values arrive.
    """

    def __init__(self, bits: int = HLL_BITS) -> None:
        self.bits = bits
        self.registers = np.zeros(1 << bits, dtype=np.uint8)

    def add(self, hashes: np.ndarray) -> None:
        """Raise the registers by every hash (a value seen before raises nothing)."""
        DistinctHashes().add(hashes, self.registers)

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


def value_hashes(values: Strings) -> np.ndarray:
    """A 64-bit hash of each value, depending only on its bytes (equal across batches and parts).

    Values up to WORD_HASH_MAX bytes get the word hash (eight bytes a step), longer ones the
    polynomial one (`hashing.string_hashes`).
    """
    return string_hashes(*contiguous(values), WORD_HASH_MAX)


def pick(values: Strings, indices: np.ndarray) -> list[bytes]:
    """Strings `indices` (ascending) of `values` as bytes, with one copy of the bytes they span."""
    if not len(indices):
        return []
    starts, ends = values.offsets[indices].tolist(), values.offsets[indices + 1].tolist()
    low = starts[0]
    text = values.buffer[low : ends[-1]].tobytes()
    return [text[start - low : end - low] for start, end in zip(starts, ends, strict=True)]


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
        self.exact: DistinctHashes | None = DistinctHashes()
        self.sketch = HyperLogLog()
        self.first_values: list[bytes] = []
        self.last_values: list[bytes] = []

    def add(self, values: Strings) -> None:
        """One value per record carrying the field, in file order."""
        count = len(values)
        if count == 0:
            return
        hashes = value_hashes(values)
        registers = self.sketch.registers
        if self.exact is None:  # past the cap: the batch's first occurrences count as new
            new = DistinctHashes().add(hashes, registers)
        elif self.exact.size + count <= self.exact_cap:
            new = self.exact.add(hashes, registers)
        else:  # this batch may cross the cap: look before inserting (no table grown only to be dropped)
            # (Every value seen before raised the sketch when it was new: raising it again changes nothing.)
            first = DistinctHashes().add(hashes, registers)
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

    def _new_values(self, values: list[bytes]) -> list[bytes]:
        """The values not seen by this accumulator (all of them once exact counting has stopped)."""
        if self.exact is None or not values:
            return list(values)
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
