"""The batch of the SAM family: records of a SAM, BAM or CRAM file as columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...batches import PackedBases, Strings
from .fields import SamText


@dataclass
class AlignmentBatch:
    """Records of a SAM/BAM/CRAM file.

    `first_record` is the 1-based number of the batch's first record in the file. Positions
    are 0-based (`pos == -1` when unplaced), `ref_id` is the header's contig index (-1 for
    `*`). `qualities` holds phred values (not ASCII) and is empty for a record without them.
    `mate_ref_id` and `mate_pos` are RNEXT and PNEXT the same way (RNEXT `=` resolved).
    `text_size` is the batch's size as SAM text lines, newlines included. A BAM reader may
    also give `packed`: the same bases and qualities as BAM stores them, for counting without
    decoding (then `sequences` and `qualities` are built from it on first use).
    `sam_text(full)` builds the batch's SAM text columns when asked (all of them, or without
    `full` only the dictionary fields QNAME, RNAME, CIGAR and Z/H tags); `text_size` is its
    size in bytes.
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
    packed: PackedBases | None = None
    sam_text: Callable[[bool], SamText] | None = None
    mate_ref_id: np.ndarray | None = None  # int32
    mate_pos: np.ndarray | None = None  # int64

    def __len__(self) -> int:
        return len(self.flag)
