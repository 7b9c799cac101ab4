"""64-bit hashes of many byte strings at once: a compiled loop over the strings, and `mix64` in numpy.

Used to count distinct values (hash_issues) and to match read names between files (--deep)
without keeping the strings. `hash_strings` is a polynomial over the bytes (mod 2**64) finished
with the splitmix64 mixer so that every output bit depends on every input byte; collisions among
2**32 values are about one in four billion. `string_hashes` also gives the cheaper word hash
(eight bytes per step) that distinct-value counting uses for short values.
"""

from __future__ import annotations

import numba
import numpy as np

from ..batches import Ranges, Strings

_MULTIPLIER = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime, a good odd multiplier
_LENGTH_SALT = np.uint64(0x9E3779B97F4A7C15)

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


def hash_strings(strings: Strings) -> np.ndarray:
    """One uint64 hash per string (equal strings hash equal, across batches and processes)."""
    return string_hashes(*string_ranges(strings), -1)


@numba.njit(cache=True, nogil=True)
def string_hashes(buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray, word_max: int) -> np.ndarray:
    """One uint64 hash per string `buffer[starts[i]:ends[i]]`.

    Strings up to `word_max` bytes get the word hash: the length times a salt, then each
    little-endian 8-byte word (the last one zero-padded) xored in and mixed. Longer ones get the
    polynomial hash: sum of (byte + 1) * MULTIPLIER**(bytes after it), mod 2**64, xored with the
    length times the salt and mixed.
    """
    count = len(starts)
    hashes = np.empty(count, dtype=np.uint64)
    for index in range(count):
        start, end = starts[index], ends[index]
        length = np.uint64(end - start)
        if end - start <= word_max:
            mixed = length * _LENGTH_SALT
            word_start = start
            while word_start + 8 <= end:  # whole words: a loop of constant length, one load once compiled
                word = np.uint64(0)
                for byte in range(8):
                    word |= np.uint64(buffer[word_start + byte]) << np.uint64(8 * byte)
                mixed = mix_scalar(mixed ^ word)
                word_start += 8
            if word_start < end:  # the last word, short
                word = np.uint64(0)
                for byte in range(end - word_start):
                    word |= np.uint64(buffer[word_start + byte]) << np.uint64(8 * byte)
                mixed = mix_scalar(mixed ^ word)
            hashes[index] = mix_scalar(mixed ^ _LENGTH_SALT)
        else:
            total = np.uint64(0)
            for position in range(start, end):
                total = total * _MULTIPLIER + np.uint64(buffer[position]) + np.uint64(1)
            hashes[index] = mix_scalar(total ^ (length * _LENGTH_SALT))
    return hashes


@numba.njit(cache=True, nogil=True)
def mix_scalar(value: np.uint64) -> np.uint64:
    """The splitmix64 finaliser of one value (as `mix64`)."""
    value ^= value >> _SHIFTS[0]
    value *= _MIX_1
    value ^= value >> _SHIFTS[1]
    value *= _MIX_2
    return value ^ (value >> _SHIFTS[2])


def string_ranges(strings: Strings | Ranges) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The strings' buffer (uint8), starts and ends (int64) as contiguous arrays: the types the kernels
    over strings (`string_hashes`, `read_name_fields.cut_tokens`) are compiled for."""
    buffer = np.ascontiguousarray(strings.buffer, dtype=np.uint8)
    starts = np.ascontiguousarray(strings.starts, dtype=np.int64)
    return buffer, starts, np.ascontiguousarray(strings.ends, dtype=np.int64)
