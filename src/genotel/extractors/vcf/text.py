"""VCF text as numpy batches: the header read off the line stream, record lines split by tabs.

VCF text files (plain, gzip or BGZF) are read in chunks (`textio.read_chunks`), and each chunk's
record lines are split with one compiled pass: no per-record Python object is made. BCF records
are rendered by htslib as the same text lines and go through the same functions, so both
containers feed identical batches to the statistics.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from ...ahead import ahead
from ...errors import FormatError, line_where, record_where
from ...textio import CHUNK_BYTES, NEWLINE, LineBatch, decode_text, read_chunks, split_lines
from .header import FIXED_COLUMNS, VcfHeader, chrom_line_columns, parse_header

TAB = 9
CR = 13
END_E, END_N, END_D, EQUALS = (ord(char) for char in "END=")
WORD = 8
_ONES = np.uint64(0x0101010101010101)
_LOW_SEVEN = np.uint64(0x7F7F7F7F7F7F7F7F)
_TABS = np.uint64(TAB) * _ONES
_NEWLINES = np.uint64(NEWLINE) * _ONES
HASH = ord("#")
UTF8_BOM = b"\xef\xbb\xbf"
_CHROM_PREFIX = b"#CHROM"

# Columns by 0-based index, counted in tabs before them.
ALT_COLUMN = 4
INFO_COLUMN = 7
# The ALT of a gVCF reference block: only the symbolic "any other allele" (GATK, DRAGEN,
# DeepVariant) or no allele at all (bcftools call --gvcf drops the <*>).
REFERENCE_BLOCK_ALTS = (b"<*>", b"<NON_REF>", b".")
END_KEY = b"END="
_END_AFTER_SEMICOLON = re.compile(b";" + END_KEY)
TABS_KEPT = INFO_COLUMN + 1  # per record line, where its first tabs are: the fixed columns and INFO


@dataclass
class VcfBatch:
    """Record lines of one chunk, with their columns.

    `tab_at[i, k]` is the position in `lines.data` of record i's tab number k (0-based), for
    the first `TABS_KEPT` tabs: the end of column k; where a line has fewer tabs, its end.
    `by_record` says whether locations are record numbers (BCF, where lines are htslib's
    rendering) or file line numbers (VCF text).
    """

    lines: LineBatch
    first_record: int
    tab_at: np.ndarray  # (records, TABS_KEPT) int64
    columns: np.ndarray  # per record line, its number of tab-separated columns
    mentions_end: bool  # whether `END=` occurs in a line's first TABS_KEPT columns (INFO is the last)
    by_record: bool = False
    trailing_tab_lines: int = 0  # record lines ending in a tab (set by the column check)

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def starts(self) -> np.ndarray:
        return self.lines.starts

    @property
    def ends(self) -> np.ndarray:
        return self.lines.ends

    @property
    def text_size(self) -> int:
        """Bytes of the record lines as VCF text, line ends included."""
        return len(self.lines.data) - int(self.lines.starts[0]) if len(self) else 0

    def where(self, index: int) -> str:
        """The 1-based location of record `index` of the batch."""
        if self.by_record:
            return record_where(self.first_record + index)
        return line_where(self.lines.first_line + index)


def record_batch(data: np.ndarray, begin: int, first_line: int, first_record: int, by_record: bool = False) -> VcfBatch:
    """The record lines of `data[begin:]` (whole lines; the last may lack its newline), with their
    columns: one compiled pass over the bytes."""
    starts, ends, columns, tab_at, mentions_end = split_records(data, begin, TABS_KEPT)
    ends_with_newline = bool(len(data)) and data[-1] == NEWLINE
    lines = LineBatch(data, starts, ends, first_line, ends_with_newline)
    return VcfBatch(lines, first_record, tab_at, columns, mentions_end, by_record)


@numba.njit(cache=True, nogil=True)
def split_records(
    data: np.ndarray, begin: int, kept: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """The lines of `data[begin:]`: their starts and ends (newline excluded), their numbers of
    tab-separated columns, where their first `kept` tabs are (the line's end in place of the
    tabs it lacks), and whether `END=` occurs before a line's `kept`-th tab.

    A line's first columns are read byte by byte; past its `kept`-th tab (the samples), tabs
    are counted eight bytes at a time (a word with no newline: the bytes equal to a tab, found
    with the exact zero-byte test on the word XOR eight tabs, counted with a multiply).
    """
    size = len(data)
    found = np.empty((max(16, (size - begin) // 128), kept + 3), dtype=np.int64)  # start, end, columns, tabs
    count, position, mentions_end = 0, begin, False
    while position < size:
        start, tabs = position, 0
        while position < size and tabs < kept:
            byte = data[np.uint64(position)]  # unsigned: no wraparound test
            if byte <= NEWLINE:  # one test for most bytes
                if byte == NEWLINE:
                    break
                if byte == TAB:
                    found[count, 3 + tabs] = position
                    tabs += 1
            elif byte == END_E and not mentions_end and position + 3 < size:
                after = data[position + 1 : position + 4]
                mentions_end = after[0] == END_N and after[1] == END_D and after[2] == EQUALS
            position += 1
        if tabs == kept:
            while position + WORD <= size:
                word, at = np.uint64(0), np.uint64(position)  # unsigned: no wraparound test per byte
                for byte in range(WORD):  # one load once compiled
                    word |= np.uint64(data[at + np.uint64(byte)]) << np.uint64(8 * byte)
                if _zero_bytes(word ^ _NEWLINES):
                    break
                tabs += np.int64((_zero_bytes(word ^ _TABS) >> np.uint64(7)) * _ONES >> np.uint64(56))
                position += WORD
            while position < size and data[position] != NEWLINE:
                tabs += data[position] == TAB
                position += 1
        found[count, 0], found[count, 1], found[count, 2] = start, position, tabs + 1
        for missing in range(tabs, kept):
            found[count, 3 + missing] = position
        count += 1
        position += 1  # past the newline
        if count == len(found):
            larger = np.empty((2 * len(found), kept + 3), dtype=np.int64)
            larger[:count] = found
            found = larger
    found = found[:count]
    return (
        found[:, 0].copy(),
        found[:, 1].copy(),
        found[:, 2].copy(),
        np.ascontiguousarray(found[:, 3:]),
        mentions_end,
    )


@numba.njit(cache=True, nogil=True)
def _zero_bytes(word: np.uint64) -> np.uint64:
    """The top bit of each byte of `word` that is zero, and no other bit."""
    low = (word & _LOW_SEVEN) + _LOW_SEVEN
    return ~(low | word | _LOW_SEVEN)


def trailing_tabs(batch: VcfBatch) -> np.ndarray:
    """How many tabs each record line of the batch ends with (a `\r` before the newline aside)."""
    data, ends = batch.lines.data, batch.ends.copy()
    starts = batch.starts
    ends -= (ends > starts) & (data[np.maximum(ends - 1, 0)] == CR)
    count = np.zeros(len(ends), dtype=np.int64)
    open_rows = np.flatnonzero((ends > starts) & (data[np.maximum(ends - 1, 0)] == TAB))
    while len(open_rows):
        count[open_rows] += 1
        at = ends[open_rows] - count[open_rows]
        open_rows = open_rows[(at > starts[open_rows]) & (data[np.maximum(at - 1, 0)] == TAB)]
    return count


def check_columns(path: Path, batch: VcfBatch, header: VcfHeader) -> int:
    """Check every record line has the #CHROM line's number of columns; return how many end in a tab.

    Empty columns after the last one (tabs at the end of a line) are accepted, as htslib
    ignores them; any other difference is a `FormatError` naming the line.
    """
    allowed = header.record_columns
    good = batch.columns == allowed[0]
    for alternative in allowed[1:]:
        good |= batch.columns == alternative
    if good.all():
        return 0
    tabbed = trailing_tabs(batch)
    trimmed = batch.columns - tabbed
    fixed = np.zeros(len(batch), dtype=bool)
    for alternative in allowed:
        fixed |= trimmed == alternative
    good |= fixed & (tabbed > 0)
    if good.all():
        return int(np.count_nonzero(tabbed))
    bad = int(np.argmin(good))
    found = int(batch.columns[bad])
    if found == 1 and batch.ends[bad] - batch.starts[bad] <= 1:
        problem = "empty line among the records"
    else:
        if header.num_columns == len(FIXED_COLUMNS):
            kind = "sites-only"
        else:
            kind = f"{header.num_samples} sample{'' if header.num_samples == 1 else 's'}"
        problem = f"record has {found} tab-separated columns, expected {header.num_columns} ({kind})"
    raise FormatError(path, problem, batch.where(bad))


def has_reference_block(batch: VcfBatch) -> bool:
    """Whether a record of the (column-checked) batch is a gVCF reference block.

    A reference block is a record whose ALT is only `<*>`, `<NON_REF>` or `.` and whose INFO
    has an `END` key: what GATK, DRAGEN, DeepVariant and bcftools write for gVCF blocks. The test
    runs on whole batches: byte comparisons at the ALT positions, then a search for `END=`.
    """
    if len(batch) == 0:
        return False
    data = batch.lines.data
    if not batch.mentions_end:  # most batches of most files: nothing to look at
        return False
    tab_at = batch.tab_at
    alt_start = tab_at[:, ALT_COLUMN - 1] + 1
    alt_length = tab_at[:, ALT_COLUMN] - alt_start
    candidate = np.zeros(len(batch), dtype=bool)
    for allele in REFERENCE_BLOCK_ALTS:
        rows = np.flatnonzero(alt_length == len(allele))
        if len(rows):
            window = data[alt_start[rows, None] + np.arange(len(allele))]
            candidate[rows[(window == np.frombuffer(allele, dtype=np.uint8)).all(axis=1)]] = True
    if not candidate.any():
        return False
    info_start = tab_at[:, INFO_COLUMN - 1] + 1
    info_end = tab_at[:, INFO_COLUMN]  # the tab before FORMAT, or the line's end
    # END as the first INFO key (how every gVCF writer puts it) ...
    rows = np.flatnonzero(candidate & (info_end - info_start >= len(END_KEY)))
    if len(rows):
        window = data[info_start[rows, None] + np.arange(len(END_KEY))]
        if (window == np.frombuffer(END_KEY, dtype=np.uint8)).all(axis=1).any():
            return True
    # ... or after a ';' anywhere in INFO: every ";END=" of the chunk (re's literal search runs
    # at memory speed and finds none in most files), kept where it lies inside INFO.
    found = _END_AFTER_SEMICOLON.finditer(data, int(batch.starts[0]))
    hits = np.fromiter((match.start() + 1 for match in found), dtype=np.int64)
    if not len(hits):
        return False
    rows = np.searchsorted(batch.starts, hits, side="right") - 1
    inside = candidate[rows] & (hits > info_start[rows]) & (hits + len(END_KEY) <= info_end[rows])
    return bool(inside.any())


class TextScan:
    """One pass over a VCF text file: the header first, then record batches.

    `read_header()` consumes the stream up to the #CHROM line; `batches()` continues from
    there. Header problems are `FormatError`s with the line number.
    """

    def __init__(self, path: Path, codec: str, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.path = path
        self._chunks = read_chunks(path, codec, chunk_bytes)
        # The chunk holding the end of the header: its bytes, where and on which line records start.
        self._pending: tuple[np.ndarray, int, int] | None = None
        self.header: VcfHeader | None = None
        self._header_parts: list[bytes] = []  # the header's bytes, for the probe's TXT_HEADER

    @property
    def header_text(self) -> bytes:
        """The header's bytes as in the file (after `read_header`): `header.text_size` of them."""
        return b"".join(self._header_parts)

    def read_header(self) -> VcfHeader:
        meta: list[str] = []
        size = 0
        last_line = 0
        for chunk in self._chunks:
            lines = split_lines(chunk, last_line + 1)
            data = lines.data
            starts = lines.starts.copy()
            if lines.first_line == 1 and data[: len(UTF8_BOM)].tobytes() == UTF8_BOM:
                starts[0] += len(UTF8_BOM)  # the sniffer tolerates a byte-order mark
            first = _padded(data, starts)
            second = _padded(data, starts + 1)
            is_meta = (first == HASH) & (second == HASH) & (lines.ends - starts >= 2)
            stop = int(np.argmin(is_meta)) if not is_meta.all() else len(lines)
            meta.extend(decode_text(lines.line(index)).rstrip("\r") for index in range(stop))
            last_line = lines.first_line + len(lines) - 1
            if stop == len(lines):
                size += len(data)
                self._header_parts.append(data.tobytes())
                continue
            chrom = decode_text(lines.line(stop))
            where = lines.where(stop)
            if not chrom.startswith("#"):
                raise FormatError(self.path, "missing #CHROM line before the first record", where)
            columns = chrom_line_columns(chrom)
            if columns is not None and "" in chrom.rstrip("\r\n").split("\t")[len(FIXED_COLUMNS) :]:
                problem = "empty sample name in the #CHROM line (a tab at its end?; htslib refuses it)"
                raise FormatError(self.path, problem, where)
            if columns is None:
                raise FormatError(
                    self.path,
                    "malformed #CHROM line (expected the tab-separated columns "
                    "#CHROM POS ID REF ALT QUAL FILTER INFO, then FORMAT and the sample names)",
                    where,
                )
            record_start = stop + 1
            header_end = int(lines.starts[record_start]) if record_start < len(lines) else len(data)
            size += header_end
            self._header_parts.append(data[:header_end].tobytes())
            self._pending = (data, header_end, lines.first_line + record_start)
            self.header = parse_header(meta, columns, size)
            return self.header
        raise FormatError(self.path, "missing #CHROM line: the file ends inside the header", line_where(last_line + 1))

    def batches(self) -> Iterator[VcfBatch]:
        """Record batches, each column-checked against the header.

        The text is inflated one chunk ahead in a thread (inflating releases the GIL), while
        this thread splits the chunk before into lines and columns.
        """
        header = self.header or self.read_header()
        assert self._pending is not None, "batches() runs once"
        first, begin, line = self._pending
        self._pending = None
        record = 1
        rest = (np.frombuffer(chunk, dtype=np.uint8) for chunk in ahead(self._chunks))
        for data in itertools.chain([first], rest):
            batch = record_batch(data, begin, line, record)
            batch.trailing_tab_lines = check_columns(self.path, batch, header)
            begin, line, record = 0, line + len(batch), record + len(batch)
            yield batch


def _padded(data: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """`data[positions]`, with 0 where a position is past the end (an empty last line)."""
    inside = positions < len(data)
    values = np.zeros(len(positions), dtype=np.uint8)
    values[inside] = data[positions[inside]]
    return values
