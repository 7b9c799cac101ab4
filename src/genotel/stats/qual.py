"""qual_acgt: counts of (base, quality) pairs over every base that has a quality.

Bases come either as ASCII letters with their phred values (`add`), or as BAM stores them,
4-bit codes beside the qualities (`count_code_pairs` then `add_code_counts`), which counts
without decoding a single base.
"""

from __future__ import annotations

import numpy as np

from ..batches import PackedBases, byte_rows

NUM_QUALITY_VALUES = 256  # a BAM quality byte; 255 means "absent" and is never counted
NUM_BASE_CODES = 16  # BAM's 4-bit base codes
ACGT_CODES = [1, 2, 4, 8]  # the codes of A, C, G, T
_ROW_ALIGN = 16  # records of rare lengths are counted in rows of a multiple of 16 bases
_COMMON_WIDTH = 64  # records sharing a length this often get rows of their own width
_CHUNK_BASES = 100_000  # about a thousand reads at a time: the key arrays stay in cache

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

    Returns the counts and how many records contributed. Records are taken in rows of equal
    width, gathered with one fancy index per row set, and the code of base i and its quality
    form the key `code * 256 + phred` of one bincount; the padding after a record's last base
    (or its odd half byte) is set to key 0 (code `=`, never an A/C/G/T).
    """
    counts = np.zeros(NUM_BASE_CODES * NUM_QUALITY_VALUES, dtype=np.int64)
    chosen = np.flatnonzero(packed.has_quality[:records])
    if not len(chosen):
        return counts.reshape(NUM_BASE_CODES, NUM_QUALITY_VALUES), 0
    lengths = packed.seq_length[chosen]
    # Rows as wide as the records (rounded up to even) where many share a length; the others
    # in rows of a multiple of 16, with the bases past their end masked.
    widths = lengths + (lengths & 1)
    values, frequency = np.unique(widths, return_counts=True)
    rare = values[frequency < _COMMON_WIDTH]
    if len(rare):
        scattered = np.isin(widths, rare)
        widths[scattered] = -(-widths[scattered] // _ROW_ALIGN) * _ROW_ALIGN
    if np.any(widths != widths[0]):  # rows of one width at a time
        order = np.argsort(widths, kind="stable")
        chosen, lengths, widths = chosen[order], lengths[order], widths[order]
    seq_starts = packed.seq_start[chosen]
    quality_starts = seq_starts + (lengths + 1) // 2
    bounds = np.flatnonzero(np.diff(widths)) + 1
    for first, stop in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(widths)]]), strict=True):
        width = int(widths[first])
        step = max(1, _CHUNK_BASES // width)
        for start in range(int(first), int(stop), step):
            rows = slice(start, min(start + step, int(stop)))
            _count_rows(packed.buffer, width, seq_starts[rows], quality_starts[rows], lengths[rows], counts)
    return counts.reshape(NUM_BASE_CODES, NUM_QUALITY_VALUES), len(chosen)


def _count_rows(
    buffer: np.ndarray,
    width: int,
    seq_starts: np.ndarray,
    quality_starts: np.ndarray,
    lengths: np.ndarray,
    counts: np.ndarray,
) -> None:
    codes = byte_rows(buffer, seq_starts, width // 2)
    keys = np.empty((len(seq_starts), width), dtype=np.uint16)
    keys[:, 0::2] = codes >> 4
    keys[:, 1::2] = codes & 0xF
    keys <<= 8
    keys |= byte_rows(buffer, quality_starts, width)
    if np.any(lengths != width):
        keys[np.arange(width) >= lengths[:, None]] = 0
    counts += np.bincount(keys.ravel(), minlength=len(counts))
