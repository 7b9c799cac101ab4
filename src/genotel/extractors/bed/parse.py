"""BED text into batches: the header split off, then each chunk of lines cut and checked by the kernel.

The header is every `#`, `track`, `browser` and blank line before the first data line; it is
read when the file is opened (`split_header`), and the batches hold the text after it. Each
chunk of whole lines goes through `scan.scan_bed`; a bad line stops the pass with one line
naming it (docs/record.md, Reading each format: BED).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...batches import Ranges
from ...errors import FormatError, line_where
from ...textio import decode_text
from .scan import (
    EMPTY_CONTIG,
    FEW_COLUMNS,
    MAX_DIGITS,
    OK,
    OTHER_COLUMN_COUNT,
    START_AFTER_END,
    START_NOT_NUMBER,
    scan_bed,
)

NAME_COLUMN = 3  # column 4, the NAME
_SHOWN_CHARS = 20  # a bad value is quoted in the error message up to this many characters
_BOM = b"\xef\xbb\xbf"


@dataclass
class BedBatch:
    """The data lines of one chunk, cut.

    Column k (0-based, k < 12) of data line i is `data[cuts[i, k] + (k > 0):cuts[i, k + 1]]`;
    header line j (`#`, `track`, `browser` after the file's first data line) is
    `data[header_starts[j]:header_ends[j]]`. Every other byte of `data` (tabs, line ends, blank
    lines, columns after the 12th) lies between those.
    """

    first_record: int  # 1-based number of the batch's first data line among the file's data lines
    data: np.ndarray  # uint8, the chunk's text
    header_starts: np.ndarray  # int32
    header_ends: np.ndarray  # int32
    cuts: np.ndarray  # int32 (data lines, 13)
    starts: np.ndarray  # int64 per data line: column 2
    ends: np.ndarray  # int64 per data line: column 3
    run_heads: np.ndarray  # int32: data lines whose contig differs from the data line before (the first is one)
    first_unsorted: int  # first data line whose start is below the one before on its contig; -1 if none
    columns: int  # the file's column count (0 while no data line was seen)
    names: Ranges | None = None  # column 4 of every data line, when the file has one

    def __len__(self) -> int:
        return len(self.cuts)

    @property
    def text_size(self) -> int:
        return len(self.data)

    def header_lines(self) -> list[bytes]:
        """The batch's header lines (`#`, `track`, `browser`), in order."""
        spans = zip(self.header_starts.tolist(), self.header_ends.tolist(), strict=True)
        return [self.data[start:end].tobytes() for start, end in spans]


def is_header_line(line: bytes) -> bool:
    """A `#` comment, `track` or `browser` line (without its line end)."""
    if line.startswith(b"#"):
        return True
    for word in (b"track", b"browser"):
        if line.startswith(word) and (len(line) == len(word) or line[len(word)] in b" \t"):
            return True
    return False


def split_header(chunks: Iterator[bytes]) -> tuple[bytes, bytes]:
    """The header (the lines before the first data line) and the rest of the chunk it ends in.

    Reads chunks from `chunks` until one holds a data line; the later chunks stay in `chunks`.
    A UTF-8 byte-order mark before the first line belongs to the header.
    """
    header = b""
    for chunk in chunks:
        position = len(_BOM) if not header and chunk.startswith(_BOM) else 0
        while position < len(chunk):
            newline = chunk.find(b"\n", position)
            end = len(chunk) if newline < 0 else newline + 1
            line = chunk[position:end].rstrip(b"\r\n")
            if line and not is_header_line(line):
                return header + chunk[:position], chunk[position:]
            position = end
        header += chunk
    return header, b""


class BedParser:
    """Turns chunks of whole lines into `BedBatch`es; keeps the line, record and column counts."""

    def __init__(self, path: Path, first_line: int = 1) -> None:
        self.path = path
        self.next_line = first_line
        self.next_record = 1
        self.columns = 0

    def parse(self, chunk: bytes) -> BedBatch:
        data = np.frombuffer(chunk, dtype=np.uint8)
        (lines, header_starts, header_ends, cuts, starts, ends, run_heads, first_unsorted, columns, problem,
         problem_line, count, value_begin, value_end) = scan_bed(data, self.columns)  # fmt: skip
        if problem != OK:
            message = self._problem(problem, count, columns, chunk[value_begin:value_end])
            raise FormatError(self.path, message, line_where(self.next_line + problem_line))
        names = Ranges(data, cuts[:, NAME_COLUMN] + 1, cuts[:, NAME_COLUMN + 1]) if columns > NAME_COLUMN else None
        batch = BedBatch(self.next_record, data, header_starts, header_ends, cuts, starts, ends, run_heads,
                         first_unsorted, columns, names)  # fmt: skip
        self.columns = columns
        self.next_line += lines
        self.next_record += len(cuts)
        return batch

    @staticmethod
    def _problem(problem: int, count: int, columns: int, value: bytes) -> str:
        """The message for the kernel's problem code."""
        if problem == FEW_COLUMNS:
            return f"BED line has {count} tab-separated column{'s' if count > 1 else ''}, expected at least 3"
        if problem == OTHER_COLUMN_COUNT:
            return f"BED line has {count} tab-separated columns, the lines before have {columns}"
        if problem == EMPTY_CONTIG:
            return "the contig (column 1) is empty"
        if problem == START_AFTER_END:
            return "start (column 2) is greater than end (column 3)"
        name = "start (column 2)" if problem == START_NOT_NUMBER else "end (column 3)"
        shown = decode_text(value[:_SHOWN_CHARS])
        return f"{name} is not an unsigned integer of at most {MAX_DIGITS} digits: {shown!r}"
