"""The batch of the SAM family: records of a SAM, BAM or CRAM file as columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...batches import PackedBases, Strings, select_records
from ...bgzf import CannotProve
from ...stats.qual import QualAcgtAccumulator, count_code_pairs
from .fields import SamText

HIGHEST_PRINTABLE_QUALITY = 94  # phred + 33 stays ASCII up to here


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

    def count_qualities(self, quality: QualAcgtAccumulator, within: int) -> None:
        """Feed qual_acgt the first `within` records that have both bases and qualities.

        Packed (BAM) bases are counted without decoding; a quality above 93 there means a QUAL
        character htslib would print as non-ASCII, which the fast reader declines.
        """
        if self.packed is not None:
            code_counts, with_quality = count_code_pairs(self.packed)
            if code_counts[:, HIGHEST_PRINTABLE_QUALITY + 1 :].any():
                raise CannotProve("a quality above 94 (its QUAL character is not ASCII)")
            if within == len(self):
                quality.add_code_counts(code_counts, with_quality)
            elif within:
                quality.add_code_counts(*count_code_pairs(self.packed, within))
            return
        if not within:
            return
        sequence_lengths = self.sequences.lengths
        keep = (sequence_lengths > 0) & (self.qualities.lengths == sequence_lengths)
        keep[within:] = False
        bases, values = select_records(self.sequences, keep), select_records(self.qualities, keep)
        quality.add(bases, values, int(np.count_nonzero(keep)))
