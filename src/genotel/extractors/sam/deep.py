"""--deep's file reading: the FASTQ pass that builds the read index, and the alignments' first QNAMEs.

The SAM extractor calls `build_deep_index` once per alignment file, before its own pass, and
feeds every batch of that pass to a `deep_pairing.DeepAccumulator`. Everything the index keeps is
described in `deep_pairing.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import GenotelError, InputError
from ...options import Options
from ...sniff import Sniffed, sniff
from ..base import Extraction, HashIssue
from ..fastq.parse import NumpyFastqReader
from .batch import AlignmentBatch
from .deep_pairing import PROBE_RECORDS, DeepAccumulator, FastqIndex, FastqIndexBuilder, Probe
from .header import SamHeader
from .htslib import open_alignments

PRIMARY_EXCLUDED = 0x900  # secondary (0x100) and supplementary (0x800) records


class DeepPairing:
    """--deep for one alignment file: the FASTQ index, and the matches of the extractor's pass.

    The extractor feeds every batch of its pysam pass to `add`; the fast BAM path (which has no
    batch loop of its own there) calls `read_fast` for a second, batch-level pass instead.
    """

    def __init__(self, path: Path, sniffed: Sniffed, options: Options) -> None:
        self.index = build_deep_index(path, sniffed, options)
        self.accumulator = DeepAccumulator(self.index)

    def add(self, batch: AlignmentBatch) -> None:
        self.accumulator.add(batch)

    def read_fast(self, path: Path, header: SamHeader, options: Options) -> None:
        """Match the records through the fast reader (raises `CannotProve` like it)."""
        from . import bam_fast

        accumulator = DeepAccumulator(self.index)
        for batch in bam_fast.iter_batches(path, header, options):
            accumulator.add(batch)
        self.accumulator = accumulator  # only a finished pass counts

    def finish(self, extraction: Extraction) -> Extraction:
        """The extraction with the deep* features after `paired`, and form 3 if nothing paired."""
        items = self.accumulator.features()
        keys = [key for key, _ in extraction.features]
        at = keys.index("paired") + 1 if "paired" in keys else len(keys)
        extraction.features[at:at] = items
        examples = self.accumulator.unpaired_examples()
        if examples is not None:
            extraction.hash_issues.append(HashIssue(3, examples))
        return extraction


def build_deep_index(path: Path, sniffed: Sniffed, options: Options) -> FastqIndex:
    """Read the FASTQ files of `options.deep` into an index for the alignment file at `path`."""
    probe = read_probe(path, sniffed, options, two_files=len(options.deep) == 2)
    builder = FastqIndexBuilder(probe)
    counts = []
    for number, fastq in enumerate(options.deep, start=1):
        read = 0
        for batch in open_fastq(fastq):
            builder.add(batch.header_strings(), batch.sequences, batch.qualities, number, read)
            read += len(batch)
        counts.append(read)
    if len(counts) == 2 and counts[0] != counts[1]:
        first = options.deep[0]
        problem = f"has {counts[1]:,} reads but {first} has {counts[0]:,}: --deep needs the two files of one pair"
        raise InputError(options.deep[1], problem)
    return builder.finish()


def open_fastq(path: Path) -> NumpyFastqReader:
    """The FASTQ reader of a --deep file, which must be a FASTQ (one-line error otherwise)."""
    try:
        sniffed = sniff(path)
    except GenotelError as exc:
        raise InputError(path, f"given to --deep but not a FASTQ file ({getattr(exc, 'problem', exc)})") from exc
    if sniffed.data_type != "FASTQ":
        raise InputError(path, f"given to --deep but not a FASTQ file (it is {sniffed.data_type})")
    return NumpyFastqReader(path, sniffed.codec)


def read_probe(path: Path, sniffed: Sniffed, options: Options, two_files: bool) -> Probe:
    """The first PROBE_RECORDS primary QNAMEs (and FLAGs) of the alignment file."""
    names: list[bytes] = []
    flags: list[int] = []
    first_qname = ""
    try:
        with open_alignments(path, sniffed, options) as alignments:
            for read in alignments.fetch(until_eof=True):
                name = read.query_name or "*"
                first_qname = first_qname or name
                if read.flag & PRIMARY_EXCLUDED:
                    continue
                names.append(name.encode())
                flags.append(read.flag)
                if len(names) >= PROBE_RECORDS:
                    break
    except (OSError, ValueError):
        pass  # the extractor's own pass reports what is wrong with the file
    return Probe(names, np.array(flags, dtype=np.uint16), first_qname, two_files)
