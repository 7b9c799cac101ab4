"""Byte spans of many lines at once (read headers, names, sequences), copied as fixed-width rows.

`batches.gather` copies each span as 16-byte items (two or more for longer spans); when the
spans are short and of similar length it is faster to copy each span's row of the longest
span's width whole (one memcpy per row, as `batches.byte_rows` does) and cut the padding away
with a ready-made mask per length.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..batches import byte_rows, gather

MAX_PADDED_WIDTH = 512  # spans up to this long are copied as padded rows


def gather_lines(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The bytes `data[starts[i]:starts[i] + lengths[i]]`, concatenated (spans inside `data`)."""
    gathered = padded_lines(data, starts, lengths)
    return gathered if gathered is not None else gather(data, starts, starts + lengths)


def padded_lines(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray | None:
    """`gather_lines` as fixed-width rows, or None where rows would not pay (long or scattered lengths).

    Rows as wide as the longest span are copied whole (one memcpy each, no index per byte) and,
    unless every span has that length, a ready-made row mask per length cuts the padding away.
    """
    if not len(lengths):
        return np.zeros(0, dtype=np.uint8)
    width = int(lengths.max())
    if width == 0:
        return np.zeros(0, dtype=np.uint8)
    if int(lengths.min()) == width:  # most files have one read length: no padding at all
        return byte_rows(data, starts, width).ravel()
    if width > MAX_PADDED_WIDTH or int(starts.max()) + width > len(data):
        return None
    if len(lengths) * width > 2 * int(lengths.sum()):  # mostly padding: a few long outliers
        return None
    return byte_rows(data, starts, width)[_row_masks(width)[lengths]]


@lru_cache(maxsize=16)
def _row_masks(width: int) -> np.ndarray:
    """Row `length` is true in its first `length` places (shape (width + 1, width))."""
    return np.arange(width)[None, :] < np.arange(width + 1)[:, None]
