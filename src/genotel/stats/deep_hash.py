"""Hashes of read bases and qualities for --deep, fast for short reads, and sorted lookups.

Bases and qualities are most of a FASTQ's bytes, and --deep hashes them twice (FASTQ and
alignment side), so they are hashed eight bytes at a time rather than byte by byte. Read names
are hashed with `hashing.hash_strings`.
"""

from __future__ import annotations

import numpy as np

from ..batches import Strings, byte_rows, gather_strings
from .hashing import hash_strings, mix64

WORD_HASH_MAX = 1024  # longer strings are hashed byte by byte (hash_strings)
WORD_BLOCK_BYTES = 4 << 20  # padded matrix of one block of strings
_LENGTH_SALT = np.uint64(0x9E3779B97F4A7C15)
_COMPLEMENT = np.arange(256, dtype=np.uint8)
for _base, _pair in zip(b"ACGTNacgtnRYKMBVDH", b"TGCANtgcanYRMKVBHD", strict=True):
    _COMPLEMENT[_base] = _pair
COMPLEMENT_BYTES = _COMPLEMENT.tobytes()


def content_hashes(
    strings: Strings, rows: np.ndarray | None = None, reverse: np.ndarray | None = None, complement: bool = False
) -> np.ndarray:
    """A 64-bit hash of each string (of `strings[rows]`), those marked `reverse` reversed first
    (and base-complemented if `complement`).

    Bases and qualities are hashed eight bytes at a time: the strings of a block are copied
    into a zero-padded matrix whose rows are read as 64-bit words, and one column of words is
    mixed in per step. Strings longer than `WORD_HASH_MAX` (long reads) go to `hash_strings`.
    A string's hash depends only on its bytes, never on the batch it came in.
    """
    starts, lengths = strings.offsets[:-1], strings.lengths
    if rows is not None:
        starts, lengths = starts[rows], lengths[rows]
    count = len(lengths)
    reverse = np.zeros(count, dtype=bool) if reverse is None else reverse
    hashes = np.empty(count, dtype=np.uint64)
    if not count:
        return hashes
    long = lengths > WORD_HASH_MAX
    if long.any():
        picked = gather_strings(strings.buffer, starts[long], lengths[long])
        hashes[long] = hash_strings(oriented(picked, reverse[long], complement))
    short = np.flatnonzero(~long)
    if not len(short):
        return hashes
    width = max(8, -(-int(lengths[short].max()) // 8) * 8)
    padded = np.concatenate([strings.buffer, np.zeros(width, dtype=np.uint8)])
    for first in range(0, len(short), max(1, WORD_BLOCK_BYTES // width)):
        block = short[first : first + max(1, WORD_BLOCK_BYTES // width)]
        hashes[block] = _word_hashes(padded, starts[block], lengths[block], reverse[block], complement, width)
    return hashes


def _word_hashes(
    padded: np.ndarray, starts: np.ndarray, lengths: np.ndarray, reverse: np.ndarray, complement: bool, width: int
) -> np.ndarray:
    matrix = byte_rows(padded, starts, width)
    columns = np.arange(width)
    uniform = bool(np.all(lengths == lengths[0]))
    if not uniform or lengths[0] != width:
        matrix[columns[None, :] >= lengths[:, None]] = 0
    if reverse.any():
        flipped = matrix[reverse]
        if uniform:
            size = int(lengths[0])
            flipped[:, :size] = flipped[:, size - 1 :: -1] if size else flipped[:, :0]
        else:
            kept = lengths[reverse][:, None]
            flipped = np.take_along_axis(flipped, np.where(columns < kept, kept - 1 - columns, columns), axis=1)
        matrix[reverse] = _COMPLEMENT[flipped] if complement else flipped
    words = matrix.view("<u8")
    word_counts = (lengths + 7) // 8
    hashes = lengths.astype(np.uint64) * _LENGTH_SALT
    for column in range(words.shape[1]):
        mixed = mix64(hashes ^ words[:, column])
        hashes = mixed if uniform else np.where(column < word_counts, mixed, hashes)
    return mix64(hashes ^ _LENGTH_SALT)


def oriented(strings: Strings, reverse: np.ndarray, complement: bool) -> Strings:
    """The strings with those marked `reverse` reversed (and base-complemented if `complement`)."""
    if not reverse.any():
        return strings
    lengths = strings.lengths
    owner = np.repeat(np.arange(len(lengths)), lengths)
    positions = np.arange(len(strings.buffer), dtype=np.int64)
    flipped = strings.offsets[:-1][owner] + strings.offsets[1:][owner] - 1 - positions
    per_byte = reverse[owner]
    data = strings.buffer[np.where(per_byte, flipped, positions)]
    if complement:
        data = np.where(per_byte, _COMPLEMENT[data], data)
    return Strings(data, strings.offsets)


def lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Where each key is (or would be) in `sorted_keys`, clipped to a valid index.

    The keys are searched in sorted order: successive binary searches then walk nearby paths
    of the big array, about twice as fast as in arrival order.
    """
    order = np.argsort(keys)
    at = np.empty(len(keys), dtype=np.int64)
    at[order] = np.searchsorted(sorted_keys, keys[order])
    return np.minimum(at, len(sorted_keys) - 1)
