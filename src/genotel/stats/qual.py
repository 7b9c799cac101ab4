"""qual_acgt: counts of (base, quality) pairs over every base that has a quality."""

from __future__ import annotations

import numpy as np

NUM_QUALITY_VALUES = 256  # a BAM quality byte; 255 means "absent" and is never counted

# Byte -> base index: A C G T (either case) -> 0..3, anything else -> 4 (not counted).
BASE_INDEX = np.full(256, 4, dtype=np.uint16)
for _index, _base in enumerate(b"ACGT"):
    BASE_INDEX[_base] = _index
    BASE_INDEX[_base + 32] = _index  # lower case


class QualAcgtAccumulator:
    """Counts of quality values per base A, C, G, T."""

    def __init__(self) -> None:
        self.counts = np.zeros((4, NUM_QUALITY_VALUES), dtype=np.int64)
        self.records_with_quality = 0

    def add(self, bases: np.ndarray, qualities: np.ndarray, records: int) -> None:
        """Count aligned base bytes (ASCII) and quality values (phred, 0-based), one per base.

        `records` is how many records contributed, so that a file whose records carry no
        qualities at all can be told apart from one whose qualities fall on no A/C/G/T.
        """
        if bases.shape != qualities.shape:
            raise ValueError("bases and qualities must pair one to one")
        self.records_with_quality += records
        if bases.size == 0:
            return
        # One key per base: base index in the high byte, quality in the low byte; a single
        # bincount then counts every pair of the batch.
        keys = BASE_INDEX[bases] * NUM_QUALITY_VALUES + qualities.astype(np.uint16)
        pair_counts = np.bincount(keys, minlength=5 * NUM_QUALITY_VALUES)
        self.counts += pair_counts[: 4 * NUM_QUALITY_VALUES].reshape(4, NUM_QUALITY_VALUES)

    def merge(self, other: QualAcgtAccumulator) -> None:
        self.counts += other.counts
        self.records_with_quality += other.records_with_quality

    def result(self) -> list[list[int]] | None:
        """`[base][phred] -> count`, or None if no record carried qualities."""
        if self.records_with_quality == 0:
            return None
        return self.counts.tolist()
