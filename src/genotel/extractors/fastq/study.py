"""The study type of a FASTQ file, from the layout of its first reads (most FASTQ: `unknown`).

`FastqStudyEvidence` keeps the first `EVIDENCE_READS` reads within `--sample`: their lengths
and the first bases of each. A single-cell barcode read (10x, Drop-seq) is short, of one length,
and starts with a cell barcode that repeats over the reads while the UMI after it hardly does;
amplicon reads start at a few primers (and, unlike small RNAs, hold no adapter: their inserts
are longer than the adapter's place). Nothing else in a FASTQ tells a study, so everything else
is `unknown`.
"""

from __future__ import annotations

import numpy as np

from ...batches import byte_rows
from ..study import UNKNOWN, share
from .parse import FastqBatch

EVIDENCE_READS = 100_000
PREFIX_BASES = 12  # the shortest cell barcode (Drop-seq); a primer is longer
MIN_READS = 1000
BARCODE_READ_LENGTHS = (20, 30)  # Drop-seq 20 (12 + 8), 10x v2 26, v3 28: barcode + UMI only
BARCODE_DIVERSITY_RATIO = 0.5  # distinct barcodes at most this share of the distinct rests
AMPLICON_MIN_LENGTH = 40
# Adapters read through when the insert is shorter than the read (small RNA): TruSeq, TruSeq
# small RNA, Nextera. Amplicons are longer than the adapter's place in most reads.
ADAPTERS = (b"AGATCGGAAGAGC", b"TGGAATTCTCGG", b"CTGTCTCTTATACACATCT")
ADAPTER_READS = 1000  # reads kept to look for adapters
AMPLICON_READS_PER_PREFIX = 20  # the prefixes of 80 % of the reads hold this many reads each on average
COVERAGE_CORE = 0.8


class FastqStudyEvidence:
    """Read lengths and first bases of the first reads; `merge` adds a later part's reads."""

    def __init__(self) -> None:
        self.reads = 0
        self.lengths: list[np.ndarray] = []
        self.prefixes: list[np.ndarray] = []  # PREFIX_BASES bytes per read (reads that long)
        self.rests: list[np.ndarray] = []  # the bases after the prefix, for barcode-length reads
        self.first_reads: list[bytes] = []  # the first ADAPTER_READS reads' bases

    def add(self, batch: FastqBatch, within: int) -> None:
        count = min(within, EVIDENCE_READS - self.reads)
        if count <= 0:
            return
        self.reads += count
        sequences = batch.sequences
        lengths = sequences.lengths[:count]
        starts = sequences.offsets[:count]
        self.lengths.append(lengths.copy())
        kept = min(count, ADAPTER_READS - len(self.first_reads))
        self.first_reads.extend(sequences[index] for index in range(kept))
        long_enough = lengths >= PREFIX_BASES
        if not long_enough.all():
            starts = starts[long_enough]
        if len(starts):
            self.prefixes.append(_keys(byte_rows(sequences.buffer, starts, PREFIX_BASES)))
        low, high = BARCODE_READ_LENGTHS
        if len(lengths) and low <= int(lengths[0]) <= high and (lengths == lengths[0]).all():
            rest = int(lengths[0]) - PREFIX_BASES
            self.rests.append(_keys(byte_rows(sequences.buffer, sequences.offsets[:count] + PREFIX_BASES, rest)))

    def merge(self, later: FastqStudyEvidence) -> None:
        room = EVIDENCE_READS - self.reads
        if room <= 0 or later.reads > room:
            return  # a part read in parallel: its reads are not the next ones of the window
        self.reads += later.reads
        self.lengths.extend(later.lengths)
        self.prefixes.extend(later.prefixes)
        self.rests.extend(later.rests)
        self.first_reads.extend(later.first_reads[: ADAPTER_READS - len(self.first_reads)])

    def study(self) -> str:
        """`scRNA-seq`, `amplicon` or `unknown` (docs/record.md)."""
        if self.reads < MIN_READS:
            return UNKNOWN
        lengths = np.concatenate(self.lengths)
        prefixes = np.concatenate(self.prefixes) if self.prefixes else np.zeros(0, dtype=np.uint64)
        low, high = BARCODE_READ_LENGTHS
        one_length = bool((lengths == lengths[0]).all())
        if one_length and low <= int(lengths[0]) <= high and self.rests:
            rests = np.concatenate(self.rests)
            if len(rests) == self.reads:
                barcodes, rest_values = len(np.unique(prefixes)), len(np.unique(rests))
                if barcodes <= BARCODE_DIVERSITY_RATIO * rest_values:
                    return "scRNA-seq"
            return UNKNOWN
        if share(int(np.count_nonzero(lengths >= AMPLICON_MIN_LENGTH)), self.reads) < 0.5 or not len(prefixes):
            return UNKNOWN
        _, counts = np.unique(prefixes, return_counts=True)
        ordered = np.sort(counts)[::-1]
        core = int(np.searchsorted(np.cumsum(ordered), COVERAGE_CORE * len(prefixes))) + 1
        if len(prefixes) < AMPLICON_READS_PER_PREFIX * core:
            return UNKNOWN
        with_adapter = sum(any(adapter in read for adapter in ADAPTERS) for read in self.first_reads)
        return UNKNOWN if share(with_adapter, len(self.first_reads)) >= 0.5 else "amplicon"


# Each byte as a 3-bit code: A, C, G, T and N (either case) apart, any other letter one code.
_CODES = np.full(256, 6, dtype=np.uint64)
for _code, _letters in enumerate((b"Aa", b"Cc", b"Gg", b"Tt", b"Nn")):
    _CODES[list(_letters)] = _code + 1
MAX_KEY_BASES = 64 // 3  # bases a 64-bit key holds exactly


def _keys(rows: np.ndarray) -> np.ndarray:
    """Each row of bases (at most MAX_KEY_BASES) as one integer, equal for equal rows."""
    assert rows.shape[1] <= MAX_KEY_BASES
    keys = np.zeros(len(rows), dtype=np.uint64)
    for column in range(rows.shape[1]):  # column by column: no 8-byte copy of every base at once
        keys |= _CODES[rows[:, column]] << np.uint64(3 * column)
    return keys
