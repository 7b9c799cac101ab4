"""Distinct-value counting for hash_issues form 1, in bounded memory.

Each dictionary field gets one `CardinalityAccumulator`. Values are reduced to 64-bit hashes
(`hashing.py`), kept exactly in an open-addressing hash table up to `EXACT_CAP`; past it the
count comes from a HyperLogLog sketch (2**16 registers, standard error 0.4 %) that runs from the
start, so memory stays bounded. The table model and report thresholds are docs/record.md's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..batches import Strings, byte_rows, select_records
from ..textio import decode_text
from .hashing import hash_strings, mix64

MODEL_RECORDS = 10_000  # the table is sized from the distinct values of the first 10,000 records
EXACT_CAP = 2_000_000  # distinct hashes kept exactly (a 32 MB table); beyond, HyperLogLog
HLL_BITS = 16
REPORT_MIN_DISTINCT = 1_000_000
REPORT_MAX_RECORDS_PER_VALUE = 16
EXAMPLES_EACH_END = 3
WORD_HASH_MAX = 256  # longer values are hashed byte by byte (the padded matrix would be wide)
_WORD_SALT = np.uint64(0x9E3779B97F4A7C15)
# Keeps the first `length % 8` bytes of a little-endian word (all eight for 0).
_LAST_WORD_MASKS = np.array([(1 << 64) - 1] + [(1 << (8 * k)) - 1 for k in range(1, 8)], dtype=np.uint64)
# Last new values kept: more than shown, so that merging a later part (whose new values may
# have been seen in the earlier part) still finds the last three of the whole file.
LAST_KEPT = 32


class DistinctHashes:
    """An exact set of uint64 hashes: an open-addressing table (linear probing), whole batches at once.

    A batch's repeats are found first by one sort (`first_occurrences`), so the table sees each
    value once, in ascending order. Each probing round is a few numpy calls over the hashes
    still unresolved; the table grows 4x when half full, so rounds stay few. Zero marks an empty
    slot, so a hash of zero is stored as one (a 2**-64 chance of merging two values; the
    HyperLogLog sketch still sees the true hash). Pickled (a part read in another process), it
    travels as its values only, and the table is rebuilt where it is used again.
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
            self.insert(packed)  # type: ignore[arg-type]
        return self.table

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        table = self._table()
        keys = _stored(hashes)
        found = np.zeros(len(keys), dtype=bool)
        pending = np.arange(len(keys))
        slots = self._slots(keys)
        mask = len(table) - 1
        while len(pending):
            held = table[slots]
            found[pending[held == keys]] = True
            going_on = (held != keys) & (held != 0)
            pending, keys, slots = pending[going_on], keys[going_on], (slots[going_on] + 1) & mask
        return found

    def add(self, hashes: np.ndarray) -> np.ndarray:
        """Insert a batch; true where a hash is new to the set and first of its value in the batch."""
        keys, first_index = first_occurrences(hashes)  # the table then sees each value once
        first_new = np.zeros(len(hashes), dtype=bool)
        first_new[first_index[self.insert(keys)]] = True
        return first_new

    def insert(self, keys: np.ndarray) -> np.ndarray:
        """Insert distinct non-zero keys; true where a key was not in the set yet.

        Ascending keys (as `first_occurrences` gives them) probe the table in ascending slots,
        which the memory system serves better than random ones.
        """
        self._table()
        self._make_room(len(keys))
        stored = np.zeros(len(keys), dtype=bool)
        pending = np.arange(len(keys))
        slots = self._slots(keys)
        mask = len(self.table) - 1
        table = self.table
        while len(pending):
            held = table[slots]
            going_on = held != keys  # an empty slot (0) holds no key
            claimed = np.flatnonzero(held == 0)
            if len(claimed):
                # Distinct keys may claim the same empty slot in one round: one of them holds it
                # after the write, the others probe on. Only the claimed slots are read again.
                table[slots[claimed]] = keys[claimed]
                won = claimed[table[slots[claimed]] == keys[claimed]]
                stored[pending[won]] = True
                going_on[won] = False
            pending, keys, slots = pending[going_on], keys[going_on], (slots[going_on] + 1) & mask
        self.size += int(np.count_nonzero(stored))
        return stored

    def values(self) -> np.ndarray:
        if self.table is None:
            return self._packed  # type: ignore[return-value]
        return self.table[self.table != 0]

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return (keys >> np.uint64(64 - self.bits)).astype(np.intp)

    def _make_room(self, incoming: int) -> None:
        """Grow (and re-insert) so that the table stays at most half full after `incoming` more.

        It grows 4x at a time: re-inserting costs about as much as inserting, so fewer rounds of it.
        """
        bits = self.bits
        while (self.size + incoming) * 2 > (1 << bits):
            bits += 2
        if bits != self.bits:
            stored = self.values()
            self.bits, self.table, self.size = bits, np.zeros(1 << bits, dtype=np.uint64), 0
            self.insert(stored)


def _stored(hashes: np.ndarray) -> np.ndarray:
    return np.where(hashes == 0, np.uint64(1), hashes)


def first_occurrences(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A batch's distinct hashes, ascending (zero stored as one), and where each first occurs.

    One argsort and a `minimum.reduceat` over the runs of equal hashes (the same results as
    `np.unique(return_index=True)`, tested).
    """
    keys = _stored(hashes)
    order = np.argsort(keys)
    ordered = keys[order]
    run_starts = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=run_starts[1:])
    if run_starts.all():  # no repeats (read names of a FASTQ): the order is the answer
        return ordered, order
    starts = np.flatnonzero(run_starts)
    return ordered[starts], np.minimum.reduceat(order, starts)


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


def value_hashes(values: Strings) -> np.ndarray:
    """A 64-bit hash of each value, depending only on its bytes (equal across batches and parts).

    Values up to WORD_HASH_MAX bytes are hashed eight bytes at a time: copied into a
    zero-padded matrix whose rows are read as 64-bit words, one column of words mixed in per
    step; longer ones by `hash_strings`.
    """
    lengths = np.diff(values.offsets)
    count = len(lengths)
    hashes = np.empty(count, dtype=np.uint64)
    if not count:
        return hashes
    long = lengths > WORD_HASH_MAX
    if long.any():
        hashes[long] = hash_strings(_subset(values, long))
        short = np.flatnonzero(~long)
        if not len(short):
            return hashes
    else:
        short = slice(None)  # type: ignore[assignment]
    starts, lengths = values.offsets[:-1][short], lengths[short]
    width = max(8, -(-int(lengths.max()) // 8) * 8)
    padded = np.concatenate([values.buffer, np.zeros(width, dtype=np.uint8)])
    words = byte_rows(padded, starts, width).view("<u8")
    word_counts = (lengths + 7) // 8
    # Only each value's last word can hold bytes past its end (the next value's): clear them.
    # Later words are never mixed in (below), so they need no clearing.
    # (Through the flat view: a 2-D fancy index costs twice as much.)
    last_words = np.arange(0, words.size, words.shape[1]) + np.maximum(word_counts - 1, 0)
    words.reshape(-1)[last_words] &= _LAST_WORD_MASKS[lengths & 7]
    mixed = lengths.astype(np.uint64) * _WORD_SALT
    fewest_words = int(word_counts.min())
    for column in range(words.shape[1]):
        if column < fewest_words:
            mixed ^= words[:, column]
            mix64(mixed, out=mixed)
        else:
            np.copyto(mixed, mix64(mixed ^ words[:, column]), where=column < word_counts)
    mixed ^= _WORD_SALT
    hashes[short] = mix64(mixed, out=mixed)
    return hashes


def _subset(values: Strings, keep: np.ndarray) -> Strings:
    lengths = np.diff(values.offsets)[keep]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Strings(select_records(values, keep), offsets)


def pick(values: Strings, indices: np.ndarray) -> list[bytes]:
    """Strings `indices` (ascending) of `values` as bytes, with one copy of the bytes they span."""
    if not len(indices):
        return []
    starts, ends = values.offsets[indices].tolist(), values.offsets[indices + 1].tolist()
    low = starts[0]
    text = values.buffer[low : ends[-1]].tobytes()
    return [text[start - low : end - low] for start, end in zip(starts, ends, strict=True)]


def all_equal(values: Strings) -> bool:
    """Whether every string equals the first (one comparison over the bytes, no hashing)."""
    lengths = np.diff(values.offsets)
    if len(lengths) == 0 or (lengths != lengths[0]).any():
        return False
    width = int(lengths[0])
    rows = values.buffer[values.offsets[0] : values.offsets[-1]].reshape(len(lengths), width)
    if not np.array_equal(rows[-1], rows[0]):  # read names of one length differ at once: no full pass
        return False
    return bool((rows == rows[0]).all())


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
        if all_equal(values):  # constant fields (RNAME, RG:Z, tokens such as an instrument) hash once
            hashes = np.broadcast_to(value_hashes(Strings(values.buffer, values.offsets[:2])), (count,))
            keys, first_index = _stored(hashes[:1]), np.zeros(1, np.int64)
        else:
            hashes = value_hashes(values)
            keys, first_index = first_occurrences(hashes)
        if self.exact is not None:
            if self.exact.size + len(keys) <= self.exact_cap:
                stored = self.exact.insert(keys)
            else:  # this batch may cross the cap: look before inserting (no table grown only to be dropped)
                stored = ~self.exact.contains(keys)
                if self.exact.size + int(np.count_nonzero(stored)) > self.exact_cap:
                    self.exact = None  # the sketch takes over; memory stays bounded
                else:
                    self.exact.insert(keys[stored])
            first_index = first_index[stored]
        # (Once exact counting has stopped, the batch's first occurrences count as new.)
        # New values in file order; when every record is one (read names), no sort is needed.
        new_index = np.arange(count) if len(first_index) == count else np.sort(first_index)
        self.sketch.add(hashes[new_index])  # values seen before cannot raise a register
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
                self.exact.insert(fresh)
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
