"""FASTQ field streams for the compressibility probe: DESC, SEQ, QUAL and Other.

RECORD.md names the FASTQ streams `DESC SEQ QUAL` plus `Other`; FASTQ has no header, so there
is no `TXT_HEADER`. The choices where RECORD.md is silent:

- `DESC` is each header line after its `@`: the read name and the comment, without the line
  end. The `@` is `Other`: like the `+`, it is the record's structure, the same byte in every
  record, and what stays is the description itself (the text the read-name statistics read).
  (FASTA's `DESC` keeps its `>`; there the marker is what tells a header line from sequence.)
- `SEQ` and `QUAL` are the sequence and quality lines without their line ends.
- `Other` is every other byte: the `@`, the whole `+` line (with a repeated name, if any), the
  line ends (`\\n`, `\\r\\n`) and blank lines after the last record.

Lines are assigned by their position in the file (line 4k+1 is a header, 4k+2 a sequence, 4k+4
qualities), so the streams of any text, even text that is not valid FASTQ, add up to its size.
For a batch of the numpy reader, SEQ and QUAL are the batch's own gathered bytes (the parser
copied them already; QUAL gets its 33 back), and DESC the headers the read-name statistics cut
out anyway, so only the few bytes of `Other` are gathered here. The pyfastx reader's batches
have no line layout; its text pass at the end goes through the same function.
"""

from __future__ import annotations

import numpy as np

from ..batches import Strings
from .fields import gather
from .gain import GainProbe

STREAM_NAMES = ("DESC", "SEQ", "QUAL", "Other")
PHRED_OFFSET = 33
_AT = ord("@")
_HEADER, _SEQUENCE, _PLUS, _QUALITY = range(4)


def add_fastq_streams(
    probe: GainProbe,
    data: np.ndarray,
    size: int,
    line_starts: np.ndarray,
    line_ends: np.ndarray,
    first_phase: int = 0,
    own: tuple[Strings, Strings, Strings] | None = None,
) -> None:
    """Add the text `data[:size]` to the probe's streams, in order.

    `line_starts`/`line_ends` are its whole lines (ends before any `\\r`), line 0 being line
    `first_phase` of a record. `own` may give the lines' headers (without `@`), bases and phred
    values as already gathered, when the lines are exactly those records' (phase 0).
    """
    if size == 0:
        return
    phase = (first_phase + np.arange(len(line_starts))) % 4
    first_byte = data[np.minimum(line_starts, len(data) - 1)]
    # The stream ranges in file order: a header after its '@', a sequence, qualities.
    at = (phase == _HEADER) & (line_ends > line_starts) & (first_byte == _AT)
    range_starts = line_starts + at
    named = phase != _PLUS
    # Other: the bytes between those ranges, and before the first and after the last.
    gap_starts = np.concatenate(([0], line_ends[named]))
    gap_ends = np.concatenate((range_starts[named], [size]))
    if own is not None:
        headers, bases, phred = own
        desc, seq, qual = headers.buffer, bases.buffer, phred.buffer + np.uint8(PHRED_OFFSET)
    else:
        desc, seq, qual = (
            gather(data, range_starts[phase == kind], line_ends[phase == kind])
            for kind in (_HEADER, _SEQUENCE, _QUALITY)
        )
    for name, text in zip(STREAM_NAMES, (desc, seq, qual, gather(data, gap_starts, gap_ends)), strict=True):
        if len(text):
            probe.add(name, text)

