"""64-bit hashes of many byte strings at once, in numpy.

Used to count distinct values (hash_issues) and to match read names between files (--deep)
without keeping the strings. The hash is a polynomial over the bytes (mod 2**64, computed with
numpy's wrapping uint64 arithmetic) finished with the splitmix64 mixer so that every output bit
depends on every input byte; collisions among 2**32 values are about one in four billion.
"""

from __future__ import annotations

import numpy as np

from ..batches import Strings

_MULTIPLIER = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime, a good odd multiplier
_LENGTH_SALT = np.uint64(0x9E3779B97F4A7C15)
_powers = np.ones(1, dtype=np.uint64)


def _powers_up_to(length: int) -> np.ndarray:
    """MULTIPLIER**k for k < length (mod 2**64), grown on demand and cached."""
    global _powers
    if len(_powers) < length:
        size = max(length, 2 * len(_powers))
        powers = np.empty(size, dtype=np.uint64)
        powers[0] = 1
        with np.errstate(over="ignore"):
            for index in range(1, size):
                powers[index] = powers[index - 1] * _MULTIPLIER
        _powers = powers
    return _powers


_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))


def mix64(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The splitmix64 finaliser, element-wise on uint64, into `out` (which may be `values`).

    In place with one scratch array: half the memory traffic of one temporary per operation.
    """
    shifted = np.right_shift(values, _SHIFTS[0])
    with np.errstate(over="ignore"):
        out = np.bitwise_xor(values, shifted, out=out)
        np.multiply(out, _MIX_1, out=out)
        np.right_shift(out, _SHIFTS[1], out=shifted)
        out ^= shifted
        np.multiply(out, _MIX_2, out=out)
        np.right_shift(out, _SHIFTS[2], out=shifted)
        out ^= shifted
    return out


HASH_CHUNK_BYTES = 1 << 20  # per-byte temporaries are 8 bytes wide: keep them ~8 MB each


def hash_strings(strings: Strings) -> np.ndarray:
    """One uint64 hash per string (equal strings hash equal, across batches and processes)."""
    count = len(strings)
    hashes = np.empty(count, dtype=np.uint64)
    first = 0
    while first < count:
        # Strings up to about HASH_CHUNK_BYTES of text at a time (at least one string).
        limit = strings.offsets[first] + HASH_CHUNK_BYTES
        last = max(first + 1, int(np.searchsorted(strings.offsets, limit, side="right")) - 1)
        last = min(last, count)
        hashes[first:last] = _hash_range(strings, first, last)
        first = last
    return hashes


def _hash_range(strings: Strings, first: int, last: int) -> np.ndarray:
    offsets = strings.offsets[first : last + 1]
    lengths = np.diff(offsets)
    base = int(offsets[0])
    total = int(offsets[-1]) - base
    sums = np.zeros(last - first, dtype=np.uint64)
    if total:
        data = strings.buffer[base : base + total].astype(np.uint64)
        ends = np.repeat(offsets[1:] - base, lengths)
        from_end = ends - 1 - np.arange(total, dtype=np.int64)
        powers = _powers_up_to(int(lengths.max()))
        with np.errstate(over="ignore"):
            terms = (data + np.uint64(1)) * powers[from_end]
        nonempty = lengths > 0
        sums[nonempty] = np.add.reduceat(terms, (offsets[:-1] - base)[nonempty])
    with np.errstate(over="ignore"):
        return mix64(sums ^ (lengths.astype(np.uint64) * _LENGTH_SALT))
