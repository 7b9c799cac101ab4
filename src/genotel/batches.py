"""Columnar record batches: what extractors produce and statistics accumulators consume.

A batch holds a few thousand records as numpy arrays: fixed-width fields as one array each,
variable-length fields as one byte buffer plus offsets (record i spans
`buffer[offsets[i]:offsets[i+1]]`), so every accumulator reads the same decoded arrays. The
byte-range copying that extractors and statistics share (`gather`, `byte_rows`, `values_at`,
`range_positions`) copies whole items per range, not an index per byte.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Strings:
    """Variable-length byte strings: one buffer and `len + 1` offsets."""

    buffer: np.ndarray  # uint8
    offsets: np.ndarray  # int64, offsets[0] == 0

    @classmethod
    def from_list(cls, items: list[bytes]) -> Strings:
        lengths = np.fromiter((len(item) for item in items), dtype=np.int64, count=len(items))
        offsets = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(np.frombuffer(b"".join(items), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, index: int) -> bytes:
        return self.buffer[self.offsets[index] : self.offsets[index + 1]].tobytes()

    def head(self, count: int, start: int = 0) -> Strings:
        """Strings `start..start+count`, as Strings of their own (no copy of the bytes)."""
        offsets = self.offsets[start : start + count + 1]
        return Strings(self.buffer[offsets[0] : offsets[-1]], offsets - offsets[0])

    @property
    def starts(self) -> np.ndarray:
        return self.offsets[:-1]

    @property
    def ends(self) -> np.ndarray:
        return self.offsets[1:]

    def to_list(self) -> list[bytes]:
        data = self.buffer.tobytes()
        bounds = self.offsets.tolist()
        return [data[start:end] for start, end in itertools.pairwise(bounds)]


class LazyStrings(Strings):
    """Strings built only when first used; single items are read without building them all.

    A fast reader hands these over so that a field nobody reads costs nothing.
    """

    def __init__(self, count: int, build: Callable[[], Strings], item: Callable[[int], bytes]) -> None:
        self._count = count
        self._build = build
        self._item = item
        self._built: Strings | None = None

    def _strings(self) -> Strings:
        if self._built is None:
            self._built = self._build()
        return self._built

    @property  # type: ignore[override]
    def buffer(self) -> np.ndarray:
        return self._strings().buffer

    @property  # type: ignore[override]
    def offsets(self) -> np.ndarray:
        return self._strings().offsets

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> bytes:
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._item(index)


class Ranges:
    """Byte strings left where they are: string i is `buffer[starts[i]:ends[i]]` (no copy made).

    What `Strings` offers the statistics (`len`, one item, `buffer`, `starts`, `ends`) for values
    cut out of a chunk of text, which then need not be gathered end to end.
    """

    def __init__(self, buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        self.buffer = buffer
        self.starts = starts
        self.ends = ends

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> bytes:
        return self.buffer[self.starts[index] : self.ends[index]].tobytes()

    def head(self, count: int, start: int = 0) -> Ranges:
        """Strings `start..start+count` (no copy)."""
        return Ranges(self.buffer, self.starts[start : start + count], self.ends[start : start + count])

    def to_list(self) -> list[bytes]:
        if not len(self.starts):
            return []
        low, high = int(self.starts.min()), int(self.ends.max())
        data = self.buffer[low:high].tobytes()  # one copy of the span they lie in
        spans = zip(self.starts.tolist(), self.ends.tolist(), strict=True)
        return [data[start - low : end - low] for start, end in spans]


def gather_strings(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> Strings:
    """`buffer[starts[i]:starts[i] + lengths[i]]` for every i, as Strings (no Python loop)."""
    lengths = lengths.astype(np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    starts = starts.astype(np.int64)
    return Strings(gather(buffer, starts, starts + lengths), offsets)


def raw_items(buffer: np.ndarray, width: int) -> np.ndarray:
    """Item i is the `width` bytes at `buffer[i:]` as one raw (void) value, a view.

    A fancy index on it copies many byte ranges at arbitrary offsets with one memcpy each.
    """
    void = np.dtype((np.void, width))
    return np.ndarray(shape=(len(buffer) - width + 1,), dtype=void, buffer=buffer, strides=(1,))


def byte_rows(buffer: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Row i is a copy of `buffer[starts[i]:starts[i] + width]` (uint8, shape (len(starts), width))."""
    return raw_items(buffer, width)[starts].view(np.uint8).reshape(len(starts), width)


def values_at(buffer: np.ndarray, positions: np.ndarray, dtype: str) -> np.ndarray:
    """The little-endian values of `dtype` starting at each byte offset of `positions`."""
    kind = np.dtype(dtype)
    return raw_items(buffer, kind.itemsize)[positions].view(kind)


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

    No index per byte where it can be helped:
    - ranges all of one length (SEQ, QUAL, fixed-width names): one item of that width per
      range, a memcpy each;
    - otherwise each range is copied as one `COPY_WIDTH`-byte item to its place in the output,
      in ascending order, so the bytes an item writes past its range are overwritten by the
      ranges that follow (numpy assigns a 1-D fancy index in order). Longer ranges and those
      too close to the end of `data` to read a whole item are copied after the others, in items
      that stay inside their range.
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


def select_records(strings: Strings, keep: np.ndarray) -> np.ndarray:
    """The concatenated bytes of the records where `keep` is true (no Python loop)."""
    if keep.all():
        return strings.buffer
    per_byte = np.repeat(keep, strings.lengths)
    return strings.buffer[per_byte]


# BAM's 4-bit base codes as the letters htslib and pysam print.
BAM_BASES = np.frombuffer(b"=ACMGRSVTWYHKDBN", dtype=np.uint8)
# Byte b of packed bases as its two letters, the high nibble's first (little-endian uint16).
_BASE_PAIRS = BAM_BASES[np.arange(256) >> 4].astype("<u2") | BAM_BASES[np.arange(256) & 0xF].astype("<u2") << 8


@dataclass
class PackedBases:
    """SEQ and QUAL of records as BAM stores them, left in place in an inflated BAM buffer.

    Record i's `seq_length[i]` 4-bit base codes (two per byte, high nibble first; 1, 2, 4 and
    8 are A, C, G and T) start at `buffer[seq_start[i]]`, and its phred qualities follow them.
    `has_quality[i]` is false where QUAL is absent (first byte 0xff) or the record has no bases.
    """

    buffer: np.ndarray  # uint8
    seq_start: np.ndarray  # int64
    seq_length: np.ndarray  # int64
    has_quality: np.ndarray  # bool

    @property
    def quality_start(self) -> np.ndarray:
        return self.seq_start + (self.seq_length + 1) // 2

    def sequences(self) -> Strings:
        """The bases as ASCII letters (`=ACMGRSVTWYHKDBN`)."""
        packed = gather_strings(self.buffer, self.seq_start, (self.seq_length + 1) // 2)
        # One lookup per byte gives both its letters.
        letters = _BASE_PAIRS[packed.buffer].view(np.uint8)
        odd = (self.seq_length % 2) == 1
        if odd.any():  # drop the padding nibble after an odd number of bases
            keep = np.ones(len(letters), dtype=bool)
            keep[2 * packed.offsets[1:][odd] - 1] = False
            letters = letters[keep]
        offsets = np.zeros(len(self.seq_length) + 1, dtype=np.int64)
        np.cumsum(self.seq_length, out=offsets[1:])
        return Strings(letters, offsets)

    def qualities(self) -> Strings:
        """Phred values; empty for records without qualities."""
        return gather_strings(self.buffer, self.quality_start, np.where(self.has_quality, self.seq_length, 0))

    def slice(self, start: int, stop: int) -> PackedBases:
        return PackedBases(
            self.buffer, self.seq_start[start:stop], self.seq_length[start:stop], self.has_quality[start:stop]
        )
