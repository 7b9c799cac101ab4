"""Columnar record batches: what extractors produce and statistics accumulators consume.

A batch holds a few thousand records as numpy arrays: fixed-width fields as one array each,
variable-length fields as one contiguous byte buffer plus an offsets array (record i spans
`buffer[offsets[i]:offsets[i+1]]`). The same batch feeds every accumulator, so nothing is
decoded twice, and a faster extractor only has to produce the same arrays.
"""

from __future__ import annotations

import itertools
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

    def to_list(self) -> list[bytes]:
        data = self.buffer.tobytes()
        bounds = self.offsets.tolist()
        return [data[start:end] for start, end in itertools.pairwise(bounds)]


def select_records(strings: Strings, keep: np.ndarray) -> np.ndarray:
    """The concatenated bytes of the records where `keep` is true (no Python loop)."""
    if keep.all():
        return strings.buffer
    per_byte = np.repeat(keep, strings.lengths)
    return strings.buffer[per_byte]


@dataclass
class AlignmentBatch:
    """Records of a SAM/BAM/CRAM file.

    `first_record` is the 1-based number of the batch's first record in the file. Positions
    are 0-based (`pos == -1` when unplaced), `ref_id` is the header's contig index (-1 for
    `*`). `qualities` holds phred values (not ASCII) and is empty for a record without them.
    `text_size` is the batch's size as SAM text lines, newlines included.
    """

    first_record: int
    flag: np.ndarray  # uint16
    ref_id: np.ndarray  # int32
    pos: np.ndarray  # int64
    names: Strings
    sequences: Strings
    qualities: Strings
    text_size: int
    tag_signatures: frozenset[str] = frozenset()  # names of tag signatures seen (e.g. AGeNT)

    def __len__(self) -> int:
        return len(self.flag)
