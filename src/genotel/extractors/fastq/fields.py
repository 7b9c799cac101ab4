"""FASTQ field streams for the compressibility probe: DESC, SEQ, QUAL and Other.

`DESC` is each header after its `@`, `SEQ` and `QUAL` the sequence and quality lines, `Other`
every other byte (the `@`, the `+` line, line ends, blank lines after the last record). Lines are
assigned by position (line 4k+1 is a header), so the streams of any text add up to its size.
A numpy-reader batch reuses the bytes the parser gathered; only `Other` is made here.
"""

from __future__ import annotations

import numpy as np

from ...batches import Strings, gather
from ...stats.gain import GainProbe

STREAM_NAMES = ("DESC", "SEQ", "QUAL", "Other")
_AT = ord("@")
_NEWLINE = ord("\n")
_HEADER, _SEQUENCE, _PLUS, _QUALITY = range(4)
_PLAIN_OTHER = np.frombuffer(b"@\n\n+\n\n", dtype=np.uint8)  # a record's `Other` bytes in the usual layout


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
    `first_phase` of a record. `own` may give the lines' headers (without `@`), bases and
    quality characters as already gathered, when the lines are exactly those of valid records
    (phase 0).
    """
    if size == 0:
        return
    other = None
    if own is not None:
        desc, seq, qual = (strings.buffer for strings in own)
        other = _plain_other(data, size, line_ends, len(own[0]), len(desc) + len(seq) + len(qual))
    if other is None:
        phase, range_starts = _stream_ranges(data, line_starts, line_ends, first_phase)
        if own is None:
            desc, seq, qual = (
                gather(data, range_starts[phase == kind], line_ends[phase == kind])
                for kind in (_HEADER, _SEQUENCE, _QUALITY)
            )
        other = _other(data, size, line_ends, phase, range_starts)
    for name, text in zip(STREAM_NAMES, (desc, seq, qual, other), strict=True):
        if len(text):
            probe.add(name, text)


def _stream_ranges(
    data: np.ndarray, line_starts: np.ndarray, line_ends: np.ndarray, first_phase: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each line's phase in its record, and where its stream text starts (a header after its `@`)."""
    phase = (first_phase + np.arange(len(line_starts))) % 4
    first_byte = data[np.minimum(line_starts, len(data) - 1)]
    return phase, line_starts + ((phase == _HEADER) & (line_ends > line_starts) & (first_byte == _AT))


def _other(
    data: np.ndarray, size: int, line_ends: np.ndarray, phase: np.ndarray, range_starts: np.ndarray
) -> np.ndarray:
    """The bytes between the stream ranges (header after `@`, sequence, qualities), and around them."""
    named = phase != _PLUS
    gap_starts = np.concatenate(([0], line_ends[named]))
    return gather(data, gap_starts, np.concatenate((range_starts[named], [size])))


def _plain_other(
    data: np.ndarray, size: int, line_ends: np.ndarray, records: int, named_bytes: int
) -> np.ndarray | None:
    """`Other` of valid records in the plainest layout, known without a look at each byte; else None.

    Each record has at least six bytes of `Other`: its `@`, the `+` of the `+` line and four
    line ends of at least one byte, the last record's too when the text ends with a newline
    right after its qualities. So when `Other` holds exactly six bytes per record, those are
    `@`, `\\n`, `\\n+\\n`, `\\n` in every record: the pattern repeated.
    """
    if not records or size - named_bytes != len(_PLAIN_OTHER) * records:
        return None
    if line_ends[-1] != size - 1 or data[size - 1] != _NEWLINE:
        return None
    return np.tile(_PLAIN_OTHER, records)
