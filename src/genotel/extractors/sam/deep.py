"""--deep's file reading: the FASTQ pass that builds the read index, and the alignments' first QNAMEs.

The SAM extractor calls `build_deep_index` once per alignment file, when it opens it; the
engine's pass feeds every batch to a `deep_pairing.DeepAccumulator` (in `tally.SamTally`).
Everything the index keeps is described in `deep_pairing.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import GenotelError, InputError
from ...options import Options
from ...sniff import Sniffed, sniff
from ..fastq.parse import NumpyFastqReader
from .deep_pairing import PROBE_RECORDS, FastqIndex, FastqIndexBuilder, Probe
from .htslib import open_alignments

PRIMARY_EXCLUDED = 0x900  # secondary (0x100) and supplementary (0x800) records


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
