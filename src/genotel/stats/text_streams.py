"""Cutting a chunk of text into the probe's field streams, in numpy, copying each byte once.

An extractor marks its named fields as labelled ranges; every byte outside them is `Other`
(label 0). The pieces are put in label order, each label's in file order, and copied once
(`gather_blocked`), so each stream comes out contiguous and in file order and every byte lands
in exactly one stream. `group_ranges` takes ranges in file order (FASTA), `gather_groups` pieces
already grouped (GFF); with at most `MASK_MAX_LABELS` labels one byte mask per label is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..batches import Strings
from .gain import GainProbe

OTHER = 0
GATHER_BLOCK_BYTES = 1 << 16  # blocks small enough to keep the index arrays in cache
MASK_MAX_LABELS = 4  # up to this many labels, one mask per label beats the gather (FASTA: 3)
_GT, _SEMICOLON = ord(">"), ord(";")


@dataclass
class Grouped:
    """The bytes of a chunk grouped by label: label k is `buffer[byte_bounds[k]:byte_bounds[k + 1]]`."""

    buffer: np.ndarray  # uint8
    byte_bounds: np.ndarray  # int64, labels + 1
    piece_bounds: np.ndarray  # int64, labels + 1: where each label's pieces sit in `lengths`
    lengths: np.ndarray  # int64, the length of every piece, grouped by label

    def text(self, label: int) -> np.ndarray:
        return self.buffer[self.byte_bounds[label] : self.byte_bounds[label + 1]]

    def strings(self, label: int, limit: int | None = None) -> Strings:
        """The pieces of `label` as strings, in file order; only the first `limit` of them if given."""
        lengths = self.lengths[self.piece_bounds[label] : self.piece_bounds[label + 1]]
        if limit is not None:
            lengths = lengths[:limit]
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        start = int(self.byte_bounds[label])
        return Strings(self.buffer[start : start + int(offsets[-1])], offsets)


def gather_groups(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, piece_bounds: np.ndarray) -> Grouped:
    """Copy the ranges, already ordered by label (label k is pieces piece_bounds[k]:piece_bounds[k + 1])."""
    lengths = ends - starts
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Grouped(gather_blocked(data, starts, lengths, offsets), offsets[piece_bounds], piece_bounds, lengths)


def gaps_between(starts: np.ndarray, ends: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of `data[:size]` around the ranges (in file order, not overlapping), as ranges; some empty."""
    return np.concatenate(([0], ends)), np.concatenate((starts, [size]))


def group_ranges(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray, labels: np.ndarray, label_count: int
) -> Grouped:
    """Group the ranges `data[starts[i]:ends[i]]` (in file order, not overlapping) by `labels[i]`.

    The bytes between the ranges (and before the first, after the last) join label 0, so the
    labels' texts add up to `len(data)`.
    """
    gap_start, gap_end = gaps_between(starts, ends, len(data))
    piece_start = np.concatenate((gap_start, starts))
    piece_end = np.concatenate((gap_end, ends))
    piece_label = np.concatenate((np.zeros(len(gap_start), dtype=np.int16), labels.astype(np.int16)))
    order = np.argsort(piece_label, kind="stable")  # a radix sort: labels are small integers
    piece_bounds = np.searchsorted(piece_label[order], np.arange(label_count + 1))
    if label_count > MASK_MAX_LABELS:
        return gather_groups(data, piece_start[order], piece_end[order], piece_bounds)
    # Few labels over the whole chunk (FASTA): one byte-mask per label is cheaper than an index per byte.
    # The owner of each byte, from the pieces in file order (gaps and ranges alternate).
    alternating = np.empty(2 * len(starts) + 1, dtype=np.int8)
    alternating[0::2], alternating[1::2] = 0, labels
    lengths_in_order = np.empty(2 * len(starts) + 1, dtype=np.int64)
    lengths_in_order[0::2], lengths_in_order[1::2] = gap_end - gap_start, ends - starts
    owner = np.repeat(alternating, lengths_in_order)
    buffer = np.concatenate([data[owner == label] for label in range(label_count)])
    lengths = (piece_end - piece_start)[order]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Grouped(buffer, offsets[piece_bounds], piece_bounds, lengths)


def gather_blocked(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The bytes of the ranges `data[starts[i]:starts[i] + lengths[i]]`, concatenated, in cache-sized blocks.

    `offsets` is 0 then the cumulative lengths: range i lands at out[offsets[i]:offsets[i + 1]].
    """
    total = int(offsets[-1])
    out = np.empty(total, dtype=np.uint8)
    cuts = np.searchsorted(offsets[1:], np.arange(GATHER_BLOCK_BYTES, total, GATHER_BLOCK_BYTES)).tolist()
    low = 0
    for high in [*cuts, len(starts)]:
        if high > low:
            out_start, out_end = int(offsets[low]), int(offsets[high])
            # Output byte k comes from k + (start of its range - where the range lands in the output).
            index = np.repeat(starts[low:high] - offsets[low:high], lengths[low:high])
            index += np.arange(out_start, out_end)
            out[out_start:out_end] = data[index]
        low = high
    return out


def add_grouped(probe: GainProbe, grouped: Grouped, names: list[str]) -> None:
    """Add each label's text to the probe stream of its name (label k is `names[k]`)."""
    for label, name in enumerate(names):
        if grouped.byte_bounds[label + 1] > grouped.byte_bounds[label]:
            probe.add(name, grouped.text(label))


def strip_line_ends(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Line ends without a `\\r` before the newline (`ends` exclude the newline already)."""
    return ends - ((ends > starts) & (data[np.maximum(ends - 1, 0)] == 13))


def sequence_ranges(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray, desc: int, seq: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FASTA lines as ranges: `>` lines labelled `desc`, sequence lines `seq`.

    `ends` must exclude `\\r\\n`. Blank lines and `;` comment lines make no range (they are
    Other), nor do the line ends.
    """
    lengths = ends - starts
    first = np.where(lengths > 0, data[np.minimum(starts, max(len(data) - 1, 0))], 0)
    header = first == _GT
    keep = (lengths > 0) & (first != _SEMICOLON)
    return starts[keep], ends[keep], np.where(header[keep], desc, seq).astype(np.int16)
