"""FASTQ records parsed and validated a whole chunk at a time, four lines per record.

The default FASTQ reader: lines found with numpy, records checked and their bases and qualities
copied by one compiled loop (`parse_records`, numba). Every record is checked: line 1 starts with `@`, line 3 with `+`
(a repeated name is not compared), sequence and quality lines have the same length, qualities
are within `!`..`~`, and the file does not end inside a record. A trailing `\\r` is stripped,
the last line may lack its newline, blank lines are accepted only after the last record, and
wrapped (multi-line) FASTQ is rejected. Each batch's `TextLayout` says where its text is: the
batches' texts follow each other and together are the whole decompressed file.
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import numba
import numpy as np

from ...batches import Strings
from ...errors import FormatError, line_where
from ...stats.line_spans import gather_lines
from ...stats.qual import QualAcgtAccumulator
from ...textio import CHUNK_BYTES, NEWLINE, LineBatch, compressed_data_error, open_binary

LINES_PER_RECORD = 4
PHRED_OFFSET = 33
QUAL_LOWEST = ord("!")
QUAL_HIGHEST = ord("~")
_AT, _PLUS, _CR = ord("@"), ord("+"), ord("\r")
_SHOWN_CHARS = 40  # a bad line is quoted in the error message up to this many characters
_HEADROOM = 1 << 16  # free bytes before each chunk read, for the unfinished record carried into it
_THREADED_CHUNK_BYTES = 1 << 16  # chunks from this size on are decompressed ahead, in a thread


@dataclass
class TextLayout:
    """The plain text a batch accounts for: `data[:size]`, which follows the previous batch's.

    `line_starts`/`line_ends` are the whole lines inside it (ends before any `\\r`); line 0 is
    line `first_phase` of a record (0: the `@` line, 1: the sequence, 2: the `+` line, 3: the
    qualities). Bytes outside those lines (line ends, blank lines) are in the text all the same.
    """

    data: np.ndarray  # uint8
    size: int
    line_starts: np.ndarray  # int64
    line_ends: np.ndarray  # int64
    first_phase: int = 0


@dataclass
class FastqBatch:
    """Consecutive FASTQ records in columnar form.

    `sequences` holds the bases as stored (ASCII, line endings removed), `quality_text` the
    quality characters as stored (phred + 33), one per base; `qualities` are their phred values,
    made on first use (the record's statistics read the characters). Header line `i` (without
    its `@`) is `header_text[header_starts[i]:header_ends[i]]`: the header spans point into the
    text the records were read from, so no bytes are copied for them unless asked for.
    """

    first_record: int  # 1-based number of the batch's first record in the file
    sequences: Strings
    quality_text: Strings
    header_text: np.ndarray  # uint8
    header_starts: np.ndarray  # int64
    header_ends: np.ndarray  # int64
    layout: TextLayout | None = None  # where the batch's text is (the pyfastx reader's batches: None)

    def __len__(self) -> int:
        return len(self.header_starts)

    def count_qualities(self, quality: QualAcgtAccumulator, within: int) -> None:
        """Feed qual_acgt the bases and quality characters of the first `within` records."""
        if not within:
            return
        end = int(self.sequences.offsets[within])
        # As for SAM, a record with an empty sequence has no bases to count: it does not make a
        # file of such records one "with qualities" (its qual_acgt stays null).
        with_bases = int(np.count_nonzero(self.sequences.lengths[:within]))
        quality.add(self.sequences.buffer[:end], self.quality_text.buffer[:end], with_bases, phred_offset=PHRED_OFFSET)

    @cached_property
    def qualities(self) -> Strings:
        """The phred values (character - 33)."""
        return Strings(self.quality_text.buffer - np.uint8(PHRED_OFFSET), self.quality_text.offsets)

    def head(self, count: int) -> FastqBatch:
        """The batch's first `count` records (without a layout: the reader sets it)."""
        return FastqBatch(
            first_record=self.first_record,
            sequences=_first_strings(self.sequences, count),
            quality_text=_first_strings(self.quality_text, count),
            header_text=self.header_text,
            header_starts=self.header_starts[:count],
            header_ends=self.header_ends[:count],
        )

    def header_strings(self, limit: int | None = None) -> Strings:
        """The header lines (without `@`) of the first `limit` records (all by default), as Strings."""
        starts, ends = self.header_starts[:limit], self.header_ends[:limit]
        lengths = ends - starts
        return Strings(gather_lines(self.header_text, starts, lengths), _offsets(lengths))

    def headers(self, limit: int) -> list[bytes]:
        """The first `limit` header lines of the batch, without the `@`."""
        text = self.header_text
        spans = zip(self.header_starts[:limit].tolist(), self.header_ends[:limit].tolist(), strict=True)
        return [text[start:end].tobytes() for start, end in spans]


def _first_strings(strings: Strings, count: int) -> Strings:
    offsets = strings.offsets[: count + 1]
    return Strings(strings.buffer[: offsets[-1]], offsets)


def show(line: bytes) -> str:
    """A line as quoted in an error message: cut short, non-ASCII bytes escaped."""
    if not line:
        return "an empty line"
    text = line[:_SHOWN_CHARS].decode("ascii", errors="backslashreplace")
    return repr(text + ("..." if len(line) > _SHOWN_CHARS else ""))


class NumpyFastqReader:
    """Iterate over the FASTQ records of a file as validated `FastqBatch`es.

    `text_size` is the number of decompressed bytes once iteration has finished.
    """

    def __init__(self, path: Path, codec: str, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.path = path
        self.codec = codec
        self.chunk_bytes = chunk_bytes
        self.text_size = 0

    def __iter__(self) -> Iterator[FastqBatch]:
        chunks = LineChunks(self.path, self.codec, self.chunk_bytes)
        carry: LineBatch | None = None  # lines of a record that continues in the next chunk
        blank_from: int | None = None  # a run of blank lines that may be the end of the file
        next_record = 1
        for lines in chunks:
            self.text_size = chunks.text_size
            if blank_from is not None:
                if np.any(strip_cr(lines.data, lines.starts, lines.ends) > lines.starts):
                    raise self._error(blank_from, "expected a header line starting with '@', found an empty line")
                yield _blank_text(lines.data, next_record)
                continue
            ends = strip_cr(lines.data, lines.starts, lines.ends)
            whole = len(lines) - len(lines) % LINES_PER_RECORD
            batch, problem = _parse(lines.data, lines.starts[:whole], ends[:whole], next_record)
            carry = _tail(lines, whole)
            # The batch's text ends where the carried lines (the next batch's) begin.
            size = len(lines.data) if carry is None else int(lines.starts[whole])
            if problem is not None:
                index, offset, message = problem
                line = index * LINES_PER_RECORD + offset
                if offset != 0 or np.any(ends[line:] > lines.starts[line:]):
                    raise self._error(lines.first_line + line, message)
                # Nothing but blank lines from here on: the end of the file, unless more follows.
                blank_from, carry, size = lines.first_line + line, None, len(lines.data)
                batch = batch.head(index)
            chunks.next_from = size
            used = LINES_PER_RECORD * len(batch)
            batch.layout = TextLayout(lines.data, size, lines.starts[:used], ends[:used])
            if len(batch) or size:
                next_record += len(batch)
                yield batch
        self.text_size = chunks.text_size
        if carry is not None:
            if np.any(strip_cr(carry.data, carry.starts, carry.ends) > carry.starts):
                problem = f"truncated record: the file ends after {len(carry)} of its {LINES_PER_RECORD} lines"
                raise self._error(carry.first_line, problem)
            yield _blank_text(carry.data, next_record)  # blank lines after the last record

    def _error(self, line_number: int, problem: str) -> FormatError:
        return FormatError(self.path, problem, line_where(line_number))


def text_batch(first_record: int, layout: TextLayout) -> FastqBatch:
    """A batch of no records that carries text: blank lines after the last record, or (for the
    pyfastx reader) the file's lines read once more for the probe."""
    none = np.zeros(0, dtype=np.int64)
    empty = Strings(np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64))
    return FastqBatch(first_record, empty, empty, layout.data, none, none, layout)


def _blank_text(data: np.ndarray, first_record: int) -> FastqBatch:
    """Blank lines after the last record: a batch of no records, all of its text `Other`."""
    none = np.zeros(0, dtype=np.int64)
    return text_batch(first_record, TextLayout(data, len(data), none, none))


def strip_cr(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Line ends with a trailing `\\r` removed."""
    if not len(ends):
        return ends
    last = data[np.maximum(ends - 1, 0)]
    return ends - ((ends > starts) & (last == _CR))


class LineChunks:
    """The decompressed text as chunks of whole lines, each starting where the last one stopped being used.

    The caller sets `next_from` after each chunk: the offset in the chunk's `data` of the first
    line it did not use (the lines of an unfinished record; by default none). Those bytes start
    the next chunk, so each chunk's lines are exactly textio's `line_batches` chunk joined to the
    lines carried from the one before, with the same boundaries: every read adds `chunk_bytes`
    of text and a chunk ends at the last newline read, and the text after the file's last
    newline comes as a chunk of its own. Only the carried bytes are copied. The boundaries decide
    how the read-name statistics cut their batches, so records depend on them.
    """

    def __init__(self, path: Path, codec: str, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.path = path
        self.codec = codec
        self.chunk_bytes = max(1, chunk_bytes)
        self.text_size = 0
        self.next_from: int | None = None

    def __iter__(self) -> Iterator[LineBatch]:
        try:
            with open_binary(self.path, self.codec) as stream:
                yield from self._chunks(stream)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # as textio.read_chunks
            raise compressed_data_error(self.path, exc) from exc
        except OSError as exc:
            raise FormatError(self.path, f"cannot be read ({exc})") from exc

    def _chunks(self, stream: BinaryIO) -> Iterator[LineBatch]:
        pending = np.zeros(0, dtype=np.uint8)  # unused text: whole lines, then the start of one
        pending_newlines = np.zeros(0, dtype=np.int64)  # the newlines of those whole lines
        first_line = 1  # the number of pending's first line
        at_end = False
        # The next chunk is decompressed in a thread while this one is parsed (isal and zlib
        # release the GIL): one read in flight at a time, so the stream is never shared. Tiny
        # chunks (tests) are read in this thread: there the hand-over would cost more.
        reader = None
        if self.chunk_bytes >= _THREADED_CHUNK_BYTES:
            reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genotel-inflate")
        with reader or contextlib.nullcontext():
            ahead = self._read_ahead(reader, stream)
            while not at_end:
                buffer, got = ahead()  # a read error is raised here, in the caller's thread
                self.text_size += got
                at_end = got < self.chunk_bytes
                if not at_end:
                    ahead = self._read_ahead(reader, stream)
                if len(pending) <= _HEADROOM:  # the carried bytes go in front of the new ones
                    buffer[_HEADROOM - len(pending) : _HEADROOM] = pending
                    text = buffer[_HEADROOM - len(pending) : _HEADROOM + got]
                else:
                    text = np.concatenate((pending, buffer[_HEADROOM : _HEADROOM + got]))
                found = np.flatnonzero(text[len(pending) :] == NEWLINE)
                if not len(found):  # no newline in the new text (a line longer than a chunk): read on
                    pending = text
                    continue
                newlines = np.concatenate((pending_newlines, found + len(pending)))
                lines = _lines(text[: int(newlines[-1]) + 1], newlines, first_line, True)
                self.next_from = None
                yield lines
                used = len(lines.data) if self.next_from is None else self.next_from
                kept = newlines >= used
                first_line += len(newlines) - int(np.count_nonzero(kept))
                pending, pending_newlines = text[used:], newlines[kept] - used
        # The text after the last newline, with the unused lines before it.
        if len(pending) and (not len(pending_newlines) or pending_newlines[-1] + 1 < len(pending)):
            yield _lines(pending, pending_newlines, first_line, False)

    def _read_ahead(self, reader: ThreadPoolExecutor | None, stream: BinaryIO) -> Callable[[], tuple[np.ndarray, int]]:
        """Start the next read in `reader`'s thread (without one: do it now); call the result for it."""
        if reader is None:
            done = self._read(stream)
            return lambda: done
        return reader.submit(self._read, stream).result

    def _read(self, stream: BinaryIO) -> tuple[np.ndarray, int]:
        """The next `chunk_bytes` of text (fewer at the end), after `_HEADROOM` free bytes."""
        buffer = np.empty(_HEADROOM + self.chunk_bytes, dtype=np.uint8)
        return buffer, _read_into(stream, buffer[_HEADROOM:])


def _read_into(stream: BinaryIO, target: np.ndarray) -> int:
    """Fill `target` from the stream; fewer bytes only at its end."""
    filled = 0
    with memoryview(target) as view:  # type: ignore[arg-type]
        while filled < len(target):
            count = stream.readinto(view[filled:])
            if not count:
                break
            filled += count
    return filled


def _lines(data: np.ndarray, newlines: np.ndarray, first_line: int, ends_with_newline: bool) -> LineBatch:
    """The lines of `data` ending at `newlines`, and a last one without a newline unless `ends_with_newline`."""
    ends = newlines if ends_with_newline else np.append(newlines, len(data))
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    return LineBatch(data, starts, ends, first_line, ends_with_newline)


def _tail(lines: LineBatch, first: int) -> LineBatch | None:
    """Lines `first..` (an unfinished record) as a LineBatch of their own (a view), or None."""
    if first == len(lines):
        return None
    origin = int(lines.starts[first])
    return LineBatch(
        data=lines.data[origin:],
        starts=lines.starts[first:] - origin,
        ends=lines.ends[first:] - origin,
        first_line=lines.first_line + first,
        ends_with_newline=lines.ends_with_newline,
    )


def _parse(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray, first_record: int
) -> tuple[FastqBatch, tuple[int, int, str] | None]:
    """Columns of whole records (4 lines each, `\\r` already cut from `ends`) and their first problem.

    The problem, if any, is (record index, line within the record, message); the columns then
    hold the records before it.
    """
    bases, quality_text, offsets, problem = parse_records(data, starts, ends)
    index, kind, value = (int(number) for number in problem)
    records = len(offsets) - 1
    batch = FastqBatch(
        first_record=first_record,
        sequences=Strings(bases, offsets),
        quality_text=Strings(quality_text, offsets),
        header_text=data,
        header_starts=starts[0 : 4 * records : 4] + 1,
        header_ends=ends[0 : 4 * records : 4],
    )
    if not kind:
        return batch, None
    line = LINES_PER_RECORD * index
    if kind == _BAD_HEADER:
        found = _line(data, starts[line], ends[line])
        return batch, (index, 0, f"expected a header line starting with '@', found {show(found)}")
    if kind == _BAD_PLUS:
        found = _line(data, starts[line + 2], ends[line + 2])
        return batch, (index, 2, f"expected a '+' line, found {show(found)}")
    if kind == _BAD_LENGTH:
        bases_count, chars = ends[line + 1] - starts[line + 1], ends[line + 3] - starts[line + 3]
        return batch, (index, 3, f"sequence has {bases_count} bases but quality has {chars} characters")
    shown = repr(chr(value)) if value < 128 else f"'\\x{value:02x}'"
    return batch, (index, 3, f"quality character {shown} (byte {value}) is outside '!'..'~'")


_BAD_HEADER, _BAD_PLUS, _BAD_LENGTH, _BAD_QUALITY = 1, 2, 3, 4


@numba.njit(cache=True, nogil=True)
def parse_records(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check the records of whole lines `data[starts[i]:ends[i]]` (4 per record) and copy their bases and qualities.

    Record by record, in the order of its lines: the header starts with `@`, the third line
    with `+`, the sequence and quality lines have one length, the qualities lie in `!`..`~`.
    Returns the bases and the quality characters of the records before the first invalid one,
    each concatenated, their offsets (the same for both; one more than those records), and the
    problem: (record index, kind, the bad quality byte), kind 0 when every record is valid.
    """
    problem = np.zeros(3, dtype=np.int64)
    # The line structure first (it sizes the copies), then the qualities of the records before
    # a bad line: a bad quality there is the earlier problem.
    records, total = len(starts) // 4, 0
    for record in range(records):
        line = 4 * record
        kind = 0
        if ends[line] <= starts[line] or data[starts[line]] != _AT:
            kind = _BAD_HEADER
        elif ends[line + 2] <= starts[line + 2] or data[starts[line + 2]] != _PLUS:
            kind = _BAD_PLUS
        elif ends[line + 3] - starts[line + 3] != ends[line + 1] - starts[line + 1]:
            kind = _BAD_LENGTH
        if kind:
            problem[0], problem[1] = record, kind
            records = record
            break
        total += ends[line + 1] - starts[line + 1]
    bases = np.empty(total, dtype=np.uint8)
    qualities = np.empty(total, dtype=np.uint8)
    offsets = np.zeros(records + 1, dtype=np.int64)
    filled = 0
    for record in range(records):
        sequence, quality = starts[4 * record + 1], starts[4 * record + 3]
        length = ends[4 * record + 1] - sequence
        bases[filled : filled + length] = data[sequence : sequence + length]
        qualities[filled : filled + length] = data[quality : quality + length]
        filled += length
        offsets[record + 1] = filled
    if total and (qualities.min() < QUAL_LOWEST or qualities.max() > QUAL_HIGHEST):
        for position in range(total):
            char = qualities[position]
            if char < QUAL_LOWEST or char > QUAL_HIGHEST:
                bad = np.searchsorted(offsets, position, side="right") - 1
                problem[0], problem[1], problem[2] = bad, _BAD_QUALITY, char
                return bases[: offsets[bad]], qualities[: offsets[bad]], offsets[: bad + 1], problem
    return bases, qualities, offsets, problem


def _offsets(lengths: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def _line(data: np.ndarray, start: int, end: int) -> bytes:
    return data[start:end].tobytes()
