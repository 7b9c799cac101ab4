"""An exact set of 64-bit hashes and a HyperLogLog sketch, filled by compiled loops (numba); value hashes.

The distinct-value counting of `cardinality.py` runs on these; they are apart so that importing
`cardinality` (its result type is everywhere) does not load numba.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..batches import Ranges, Strings
from .hashing import string_hashes, string_ranges

HLL_BITS = 16
WORD_HASH_MAX = 256  # longer values get the polynomial hash, byte by byte


def value_hashes(values: Strings | Ranges) -> np.ndarray:
    """A 64-bit hash of each value, depending only on its bytes (equal across batches and parts).

    Values up to WORD_HASH_MAX bytes get the word hash (eight bytes a step), longer ones the
    polynomial one (`hashing.string_hashes`).
    """
    return string_hashes(*string_ranges(values), WORD_HASH_MAX)


class DistinctHashes:
    """An exact set of uint64 hashes: an open-addressing table (linear probing) filled by a compiled loop.

    The table grows 4x before it would be more than half full. Zero marks an empty slot, so a
    hash of zero is stored as one (a 2**-64 chance of merging two values; the HyperLogLog sketch
    still sees the true hash).
    """

    MIN_BITS = 12

    def __init__(self, bits: int = MIN_BITS) -> None:
        self.bits = bits
        self.table = np.zeros(1 << bits, dtype=np.uint64)
        self.size = 0

    @classmethod
    def for_count(cls, count: int) -> DistinctHashes:
        """An empty set whose table holds `count` hashes without growing."""
        return cls(max(cls.MIN_BITS, (2 * count - 1).bit_length()))

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """True where a hash is in the set."""
        found = np.zeros(len(hashes), dtype=bool)
        probe_table(self.table, self.size, _as_hashes(hashes), 0, False, found, _NO_SKETCH)
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
            self.size, done = probe_table(self.table, self.size, hashes, done, True, new, sketch)
            if done == len(hashes):
                return new
            self._grow()

    def values(self) -> np.ndarray:
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
        DistinctHashes.for_count(len(hashes)).add(hashes, self.registers)

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
