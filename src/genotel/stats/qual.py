"""qual_acgt: counts of (base, quality) pairs over every base that has a quality.

Bases come either as ASCII letters with their phred values (`add`), or as BAM stores them,
4-bit codes beside the qualities (`count_code_pairs`, a kernel over the records, then
`add_code_counts`), which counts without decoding a single base.
"""

from __future__ import annotations

import numba
import numpy as np

from ..batches import PackedBases

NUM_QUALITY_VALUES = 256  # a BAM quality byte; 255 means "absent" and is never counted
NUM_BASE_CODES = 16  # BAM's 4-bit base codes
ACGT_CODES = [1, 2, 4, 8]  # the codes of A, C, G, T

_KEY_BLOCK = 1 << 18  # bases counted per bincount in `add` (2 MB of keys)
# The bytes of A C G T (lower case is 32 above).
_ACGT_BYTES = np.frombuffer(b"ACGT", dtype=np.uint8).astype(np.intp)


class QualAcgtAccumulator:
    """Counts of quality values per base A, C, G, T."""

    def __init__(self) -> None:
        self.counts = np.zeros((4, NUM_QUALITY_VALUES), dtype=np.int64)
        self.records_with_quality = 0

    def add(self, bases: np.ndarray, qualities: np.ndarray, records: int, phred_offset: int = 0) -> None:
        """Count aligned base bytes (ASCII) and quality bytes (phred + `phred_offset`), one per base.

        `records` is how many records contributed, so that a file whose records carry no
        qualities at all can be told apart from one whose qualities fall on no A/C/G/T.
        FASTQ passes its quality characters with `phred_offset` 33, saving a pass to subtract it
        (a byte below the offset counts as uint8 arithmetic wraps it, as a subtraction would).
        """
        if bases.shape != qualities.shape:
            raise ValueError("bases and qualities must pair one to one")
        self.records_with_quality += records
        if bases.size == 0:
            return
        # One key per base, base byte then quality byte: `base * 256 + quality`, written as the
        # two low bytes of a 64-bit word (no lookup table, no arithmetic per base), so that
        # bincount counts the words as they are instead of first widening a copy of every key.
        # A block at a time: the words stay in cache and the buffer is reused.
        bases, qualities = bases.ravel(), qualities.ravel()
        step = min(bases.size, _KEY_BLOCK)
        words = np.zeros(step, dtype="<i8")
        key_bytes = words.view(np.uint8).reshape(step, 8)
        by_byte = np.zeros(1 << 16, dtype=np.int64)
        for start in range(0, bases.size, step):
            size = min(step, bases.size - start)
            key_bytes[:size, 0] = qualities[start : start + size]
            key_bytes[:size, 1] = bases[start : start + size]
            block = np.bincount(words[:size])
            by_byte[: len(block)] += block
        pairs = by_byte.reshape(256, 256)
        counts = pairs[_ACGT_BYTES] + pairs[_ACGT_BYTES + 32]  # upper and lower case
        self.counts += np.roll(counts, -phred_offset, axis=1) if phred_offset else counts

    def add_code_counts(self, code_counts: np.ndarray, records: int) -> None:
        """Add counts of (BAM 4-bit base code, phred) pairs, shaped [16][256], from `records` records."""
        self.records_with_quality += records
        self.counts += code_counts[ACGT_CODES]

    def merge(self, other: QualAcgtAccumulator) -> None:
        self.counts += other.counts
        self.records_with_quality += other.records_with_quality

    def result(self) -> list[list[int]] | None:
        """`[base][phred] -> count`, or None if no record carried qualities."""
        if self.records_with_quality == 0:
            return None
        return self.counts.tolist()


def count_code_pairs(packed: PackedBases, records: int | None = None) -> tuple[np.ndarray, int]:
    """Counts [code][phred] over every base of the first `records` records that have qualities.

    Returns the counts and how many records contributed.
    """
    counts = np.zeros((NUM_BASE_CODES, NUM_QUALITY_VALUES), dtype=np.int64)
    records = len(packed.seq_start) if records is None else min(records, len(packed.seq_start))
    contributed = _count_pairs(packed.buffer, packed.seq_start, packed.seq_length, packed.has_quality, records, counts)
    return counts, contributed


@numba.njit(cache=True, nogil=True)
def _count_pairs(
    buffer: np.ndarray,
    seq_start: np.ndarray,
    seq_length: np.ndarray,
    has_quality: np.ndarray,
    records: int,
    counts: np.ndarray,
) -> int:
    """Add each base's (4-bit code, quality) of the first `records` records with qualities to `counts`."""
    contributed = 0
    for record in range(records):
        if not has_quality[record]:
            continue
        contributed += 1
        bases, length = seq_start[record], seq_length[record]
        qualities = bases + (length + 1) // 2
        for index in range(length):
            pair = np.int64(buffer[bases + index // 2])
            code = pair >> 4 if index % 2 == 0 else pair & 0xF  # high nibble first
            counts[code, buffer[qualities + index]] += 1
    return contributed
