"""VCF text as numpy batches: the header read off the line stream, record lines split by tabs.

VCF text files (plain, gzip or BGZF) go through `textio.line_batches`: no per-record Python
object is made. BCF records are rendered by htslib as the same text lines and go through the
same functions, so both containers feed identical batches to the statistics.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import FormatError, line_where, record_where
from ...textio import CHUNK_BYTES, LineBatch, decode_text, line_batches
from .header import FIXED_COLUMNS, VcfHeader, chrom_line_columns, parse_header

TAB = 9
CR = 13
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


@dataclass
class VcfBatch:
    """Record lines of one chunk: lines `first`.. of `lines`, each split at its tabs.

    `tabs` holds the position in `lines.data` of every tab of the chunk and `first_tab[i]` the
    index in `tabs` of record i's first tab, so the k-th tab of record i is
    `tabs[first_tab[i] + k]`. `by_record` says whether locations are record numbers (BCF,
    where lines are htslib's rendering) or file line numbers (VCF text).
    """

    lines: LineBatch
    first: int
    first_record: int
    tabs: np.ndarray
    first_tab: np.ndarray
    columns: np.ndarray  # per record line, its number of tab-separated columns
    by_record: bool = False
    trailing_tab_lines: int = 0  # record lines ending in a tab (set by the column check)

    def __len__(self) -> int:
        return len(self.lines) - self.first

    @property
    def starts(self) -> np.ndarray:
        return self.lines.starts[self.first :]

    @property
    def ends(self) -> np.ndarray:
        return self.lines.ends[self.first :]

    @property
    def text_size(self) -> int:
        """Bytes of the record lines as VCF text, line ends included."""
        return len(self.lines.data) - int(self.lines.starts[self.first]) if len(self) else 0

    def where(self, index: int) -> str:
        """The 1-based location of record `index` of the batch."""
        if self.by_record:
            return record_where(self.first_record + index)
        return line_where(self.lines.first_line + self.first + index)


def make_batch(lines: LineBatch, first: int, first_record: int, by_record: bool = False) -> VcfBatch:
    """Split the record lines `first`.. of `lines` at their tabs (one numpy pass)."""
    tabs = np.flatnonzero(lines.data == TAB)
    starts = lines.starts[first:]
    first_tab = np.searchsorted(tabs, starts)
    columns = np.searchsorted(tabs, lines.ends[first:]) - first_tab + 1
    return VcfBatch(lines, first, first_record, tabs, first_tab, columns, by_record)


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
    if not _mentions_end(data, int(batch.starts[0])):  # most batches of most files: nothing to look at
        return False
    tabs = batch.tabs
    alt_start = tabs[batch.first_tab + ALT_COLUMN - 1] + 1
    alt_length = tabs[batch.first_tab + ALT_COLUMN] - alt_start
    candidate = np.zeros(len(batch), dtype=bool)
    for allele in REFERENCE_BLOCK_ALTS:
        rows = np.flatnonzero(alt_length == len(allele))
        if len(rows):
            window = data[alt_start[rows, None] + np.arange(len(allele))]
            candidate[rows[(window == np.frombuffer(allele, dtype=np.uint8)).all(axis=1)]] = True
    if not candidate.any():
        return False
    info_start = tabs[batch.first_tab + INFO_COLUMN - 1] + 1
    has_format = batch.columns > INFO_COLUMN + 1
    last_tab = np.minimum(batch.first_tab + INFO_COLUMN, len(tabs) - 1)
    info_end = np.where(has_format, tabs[last_tab], batch.ends)
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


def _mentions_end(data: np.ndarray, start: int) -> bool:
    """Whether `END=` occurs anywhere in `data[start:]`.

    One pass over the bytes for `E` (rare in VCF text without END), then a look at the three
    after each; it spares the ALT and INFO checks in files without reference blocks.
    """
    found = np.flatnonzero(data[start : len(data) - len(END_KEY) + 1] == END_KEY[0]) + start
    for offset in range(1, len(END_KEY)):
        if not len(found):
            return False
        found = found[data[found + offset] == END_KEY[offset]]
    return bool(len(found))


class TextScan:
    """One pass over a VCF text file: the header first, then record batches.

    `read_header()` consumes the stream up to the #CHROM line; `batches()` continues from
    there. Header problems are `FormatError`s with the line number.
    """

    def __init__(self, path: Path, codec: str, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.path = path
        self._lines = line_batches(path, codec, chunk_bytes)
        self._pending: LineBatch | None = None  # the chunk holding the end of the header
        self._first_record_line = 0  # index in _pending of the first record line
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
        for lines in self._lines:
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
            self._pending, self._first_record_line = lines, record_start
            self.header = parse_header(meta, columns, size)
            return self.header
        raise FormatError(self.path, "missing #CHROM line: the file ends inside the header", line_where(last_line + 1))

    def batches(self) -> Iterator[VcfBatch]:
        """Record batches, each column-checked against the header."""
        header = self.header or self.read_header()
        record = 1
        if self._pending is not None:
            chunks: Iterator[tuple[LineBatch, int]] = _chain_first(self._pending, self._first_record_line, self._lines)
            self._pending = None
        else:  # pragma: no cover - batches() runs once
            chunks = ((lines, 0) for lines in self._lines)
        for lines, first in chunks:
            batch = make_batch(lines, first, record)
            batch.trailing_tab_lines = check_columns(self.path, batch, header)
            record += len(batch)
            yield batch


def _chain_first(pending: LineBatch, first: int, rest: Iterator[LineBatch]) -> Iterator[tuple[LineBatch, int]]:
    yield pending, first
    for lines in rest:
        yield lines, 0


def _padded(data: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """`data[positions]`, with 0 where a position is past the end (an empty last line)."""
    inside = positions < len(data)
    values = np.zeros(len(positions), dtype=np.uint8)
    values[inside] = data[positions[inside]]
    return values
