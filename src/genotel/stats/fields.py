"""Tab-separated fields of many lines at once, and gathering their bytes, in numpy.

Shared by the formats whose text is tab-separated (SAM, VCF, GFF/GTF): the compressibility
probe cuts each line into its fields with these functions, without a Python loop over lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..batches import byte_rows, raw_items

TAB = 9


@dataclass
class Fields:
    """Every field of a set of lines: field f of line `line[f]` is `data[start[f]:end[f]]`."""

    start: np.ndarray  # int64
    end: np.ndarray  # int64
    line: np.ndarray  # int64, index of the line the field belongs to
    column: np.ndarray  # int64, 0-based position of the field in its line
    per_line: np.ndarray  # int64, fields per line


def split_fields(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, separator: int = TAB) -> Fields:
    """Split lines `data[starts[i]:ends[i]]` at `separator` (lines must not overlap, in order)."""
    if len(starts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Fields(empty, empty, empty, empty, empty)
    region = data[starts[0] : ends[-1]]
    separators = np.flatnonzero(region == separator) + starts[0]
    # Keep only separators inside a line (the region may hold bytes between lines, e.g. '\n').
    line_of_separator = np.searchsorted(starts, separators, side="right") - 1
    inside = separators < ends[line_of_separator]
    separators, line_of_separator = separators[inside], line_of_separator[inside]
    per_line = np.bincount(line_of_separator, minlength=len(starts)).astype(np.int64) + 1
    field_start = np.sort(np.concatenate((starts, separators + 1)))
    field_end = np.sort(np.concatenate((separators, ends)))
    line = np.repeat(np.arange(len(starts), dtype=np.int64), per_line)
    first_field = np.cumsum(per_line) - per_line
    column = np.arange(len(line), dtype=np.int64) - np.repeat(first_field, per_line)
    return Fields(field_start.astype(np.int64), field_end.astype(np.int64), line, column, per_line)


COPY_WIDTH = 16  # bytes per copied item in `gather`: most fields (and VCF values) are shorter
GATHER_BLOCK = 1 << 16  # ranges per step of `gather_by_positions`
MAX_ROW_WIDTH = 4096  # equal-length ranges up to this long are copied as one item each


class Scratch:
    """Work arrays kept from batch to batch: a fresh multi-MB array costs its page faults each time."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype: type) -> np.ndarray:
        """An uninitialised array of `size` items, reused from the last call with `name`."""
        array = self._arrays.get(name)
        if array is None or len(array) < size:
            array = self._arrays[name] = np.empty(size + size // 4, dtype=dtype)
        return array[:size]


def range_positions(first: np.ndarray, counts: np.ndarray, step: int = 1) -> np.ndarray:
    """`first[i] + step * k` for every k below `counts[i]`, for every i, concatenated."""
    counts = counts.astype(np.int64)
    before = np.cumsum(counts) - counts
    return np.repeat(first - step * before, counts) + step * np.arange(int(counts.sum()), dtype=np.int64)


def gather(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, scratch: Scratch | None = None) -> np.ndarray:
    """The bytes of the ranges `data[starts[i]:ends[i]]`, concatenated in order.

    No index per byte where it can be helped (an index per byte costs ~5 ns a byte):
    - ranges all of one length (SEQ, QUAL, fixed-width names): one item of that width per
      range, a memcpy each;
    - otherwise each range is copied as one `COPY_WIDTH`-byte item to its place in the output,
      in ascending order, so the bytes an item writes past its range are overwritten by the
      ranges that follow (numpy assigns a 1-D fancy index in order). Longer ranges and those
      too close to the end of `data` to read a whole item are copied after the others, in items
      that stay inside their range. 2x (SAM columns) to 3x (SEQ, QUAL) faster than by position.
    """
    lengths = ends - starts
    if len(lengths) and (lengths == lengths[0]).all():
        width = int(lengths[0])
        if width == 0:
            return np.zeros(0, dtype=np.uint8)
        if width <= MAX_ROW_WIDTH and int(starts.max()) + width <= len(data):
            return byte_rows(data, starts, width).ravel()
    destinations = np.cumsum(lengths)
    total = int(destinations[-1]) if len(destinations) else 0
    destinations -= lengths
    out = np.empty(total + COPY_WIDTH, dtype=np.uint8)
    if not total:
        return out[:0]
    if len(data) < COPY_WIDTH:  # no whole item to read
        return gather_by_positions(data, starts, ends, scratch)
    short = lengths <= COPY_WIDTH
    by_item = short & (starts <= len(data) - COPY_WIDTH)
    items_out, items_in = raw_items(out, COPY_WIDTH), raw_items(data, COPY_WIDTH)
    if by_item.all():
        items_out[destinations] = items_in[starts]
        return out[:total]
    items_out[destinations[by_item]] = items_in[starts[by_item]]
    long = np.flatnonzero(~short)
    if len(long):
        _copy_long(items_out, items_in, starts[long], destinations[long], lengths[long])
    near_end = np.flatnonzero(short & ~by_item & (lengths > 0))  # an item would read past `data`
    if len(near_end):
        copied = gather_by_positions(data, starts[near_end], ends[near_end], scratch)
        out[range_positions(destinations[near_end], lengths[near_end])] = copied
    return out[:total]


def gather_by_positions(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray, scratch: Scratch | None = None
) -> np.ndarray:
    """`gather` through one position per byte (for ranges at the end of `data`; the reference).

    Per block of ranges, a position array of ones with the jump to the next range written at
    each range's first byte, summed: cheaper than repeating each start per byte, and the blocks
    keep the 8-byte positions small (a few MB, reused through `scratch`, not eight times the batch).
    """
    lengths = ends - starts
    nonempty = lengths > 0
    if not nonempty.all():
        starts, lengths = starts[nonempty], lengths[nonempty]
    out = np.empty(int(lengths.sum()), dtype=np.uint8)
    written = 0
    for first in range(0, len(starts), GATHER_BLOCK):
        block_starts, block_lengths = starts[first : first + GATHER_BLOCK], lengths[first : first + GATHER_BLOCK]
        size = int(block_lengths.sum())
        steps = np.empty(size, dtype=np.int64) if scratch is None else scratch.get("steps", size, np.int64)
        steps.fill(1)
        steps[0] = block_starts[0]
        steps[np.cumsum(block_lengths[:-1])] = block_starts[1:] - (block_starts[:-1] + block_lengths[:-1] - 1)
        np.cumsum(steps, out=steps)
        np.take(data, steps, out=out[written : written + size])
        written += size
    return out


def _copy_long(
    items_out: np.ndarray, items_in: np.ndarray, starts: np.ndarray, destinations: np.ndarray, lengths: np.ndarray
) -> None:
    """Copy ranges longer than an item: items at offsets 0, COPY_WIDTH, ... while whole, one ending at the end."""
    tail = lengths - COPY_WIDTH
    items_out[destinations + tail] = items_in[starts + tail]
    offset = 0
    while len(starts):
        items_out[destinations + offset] = items_in[starts + offset]
        offset += COPY_WIDTH
        more = lengths - offset > COPY_WIDTH
        starts, destinations, lengths = starts[more], destinations[more], lengths[more]


def separators_text(per_line: np.ndarray, separator: int = TAB) -> np.ndarray:
    """The separator bytes of lines with `per_line` fields each, with their newlines, in order."""
    counts = per_line  # (fields - 1) separators + 1 newline per line
    total = int(counts.sum())
    text = np.full(total, separator, dtype=np.uint8)
    text[np.cumsum(counts) - 1] = 10
    return text
