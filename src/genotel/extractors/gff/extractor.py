"""GFF3 and GTF: producing programs, GFF version and feature-line count in one streaming pass.

genotel's own parser over `textio.line_batches`: every line of a chunk is classified with numpy
(comment or directive, blank, feature line, embedded FASTA), and the source, start and end
columns of all feature lines are cut and checked at once; Python looks only at directive lines
and at a chunk's distinct sources. Program names come from `programs.py`; each batch's
`GffLayout` lets `fields.py` cut the probe's streams. Rules: docs/record.md (GFF/GTF).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import FormatError, line_where
from ...options import Options
from ...sniff import Sniffed
from ...stats.gain import GainProbe
from ...textio import LineBatch, decode_text, is_utf8, line_batches
from ..base import HEADER_UTF8_INVALID, Extraction, SimpleTally, field_issues
from .fields import GffLayout, GffStreams
from .programs import comment_program, has_prodigal_scores, source_program

COLUMNS = 9
MAX_DIGITS = 18  # start/end beyond this would not fit an int64: rejected
MAX_SOURCE_WIDTH = 256  # wider source values are compared in Python instead of numpy
_TAB, _HASH, _GT, _CR = 9, ord("#"), ord(">"), 13
_BOM = b"\xef\xbb\xbf"
_SHOWN_CHARS = 20  # a bad value is quoted in the error message up to this many characters

# Directive/comment lines worth a look in Python; every other `#` line is skipped by numpy.
_DIRECTIVE_PREFIXES = (b"#!", b"##gff-version", b"##source-version", b"##provider", b"##FASTA")


@dataclass
class GffHeader:
    """What is known before the pass: the data type (GFF or GTF) and the container codec."""

    data_type: str
    codec: str


@dataclass
class GffBatch:
    """What one chunk of lines holds, already reduced (GFF needs no per-feature statistics)."""

    first_line: int  # 1-based number of the chunk's first line
    text_size: int
    first_record: int = 1  # 1-based number of the chunk's first feature line among the file's
    feature_lines: int = 0
    fasta_section: bool = False  # the chunk starts or continues the embedded FASTA section
    fasta_sequences: int = 0
    gff_version: str | None = None
    programs: list[tuple[int, str]] = field(default_factory=list)  # (line, name), line order
    layout: GffLayout | None = None  # where the chunk's fields are, for the probe and hash_issues
    utf8_invalid: bool = False  # a comment or source genotel read as text is not UTF-8

    def __len__(self) -> int:
        return self.feature_lines


class GffSummary:
    """The accumulator: sums and first-appearance lists."""

    def __init__(self) -> None:
        self.text_size = 0
        self.feature_lines = 0
        self.fasta_section = False
        self.fasta_sequences = 0
        self.gff_version: str | None = None
        self.programs: list[str] = []
        self.utf8_invalid = False

    def add(self, batch: GffBatch) -> None:
        self.utf8_invalid |= batch.utf8_invalid
        self.text_size += batch.text_size
        self.feature_lines += batch.feature_lines
        self.fasta_section |= batch.fasta_section
        self.fasta_sequences += batch.fasta_sequences
        if self.gff_version is None:
            self.gff_version = batch.gff_version
        self.programs.extend(name for _, name in batch.programs)


class GffExtractor:
    """The GFF3/GTF family."""

    data_types = ("GFF", "GTF")

    @contextlib.contextmanager
    def open(self, path: Path, sniffed: Sniffed, options: Options) -> Iterator[GffReading]:
        yield GffReading(path, sniffed)


@dataclass
class GffReading:
    """A GFF3 or GTF file opened for one pass (`base.Reading`); its header bytes are cut into
    TXT_HEADER by `fields.GffStreams`, with the lines around them."""

    path: Path
    sniffed: Sniffed
    header_text: bytes = b""
    fallback: None = None

    def batches(self) -> Iterator[GffBatch]:
        parser = GffParser(self.path, gtf=self.sniffed.data_type == "GTF")
        for lines in line_batches(self.path, self.sniffed.codec):
            yield parser.parse(lines)

    def tally(self, probe: GainProbe | None) -> GffTally:
        return GffTally(GffStreams(probe, gtf=self.sniffed.data_type == "GTF"))

    def extraction(self, tally: GffTally, streams: list[tuple[str, int, int]] | None) -> Extraction:
        summary = tally.summary
        version = summary.gff_version or ("GTF" if self.sniffed.data_type == "GTF" else "none")
        features: list[tuple[str, object]] = [("GFF_version", version), ("num_lines", summary.feature_lines)]
        if summary.fasta_section:
            features.append(("num_fasta_sequences", summary.fasta_sequences))
        if summary.utf8_invalid:
            features.append(HEADER_UTF8_INVALID)
        return Extraction(
            data_type=self.sniffed.data_type,
            codec=self.sniffed.codec,
            disk_size=self.path.stat().st_size,
            txt_size=summary.text_size,
            num_lines=summary.feature_lines,
            features=features,
            programs=summary.programs,
            hash_issues=field_issues(tally.streams.field_results()),
            streams=streams,
        )


class GffTally(SimpleTally):
    """The summary of the chunks and, through `GffStreams`, the probe's streams and attributes."""

    def __init__(self, streams: GffStreams) -> None:
        self.summary = GffSummary()
        self.streams = streams

    def add(self, batch: GffBatch, within: int) -> None:
        self.summary.add(batch)
        if batch.layout is not None:
            self.streams.add(batch.layout, within)


class GffParser:
    """Turns line batches into `GffBatch`es; holds the little state that crosses chunks."""

    def __init__(self, path: Path, gtf: bool) -> None:
        self.path = path
        self.gtf = gtf
        self.in_fasta = False
        self.fasta_header_seen = False
        self.in_header_block = True  # before the first feature line: producer comments live here
        self.version_seen = False
        self.prodigal_seen = False
        self.features_seen = 0

    def parse(self, lines: LineBatch) -> GffBatch:
        data = lines.data
        starts = lines.starts.copy()
        if lines.first_line == 1 and data[:3].tobytes() == _BOM:
            starts[0] += 3
        ends = lines.ends - ((lines.ends > starts) & (data[np.maximum(lines.ends - 1, 0)] == _CR))
        layout = GffLayout(data)
        out = GffBatch(lines.first_line, len(data), first_record=self.features_seen + 1, layout=layout)
        fasta_from = 0 if self.in_fasta else self._annotation(lines, starts, ends, out, layout)
        if fasta_from is not None:
            out.fasta_section = self.in_fasta = True
            out.fasta_sequences = self._fasta(lines, starts[fasta_from:], ends[fasta_from:], fasta_from)
            layout.fasta_starts, layout.fasta_ends = starts[fasta_from:], ends[fasta_from:]
        self.features_seen += out.feature_lines
        return out

    def _annotation(
        self, lines: LineBatch, starts: np.ndarray, ends: np.ndarray, out: GffBatch, layout: GffLayout
    ) -> int | None:
        """Handle the annotation lines of the chunk; return the index of its first FASTA-section line.

        `layout` gets where the chunk's header bytes and feature lines are.

        None when the FASTA section does not start in this chunk; the chunk's length when it
        starts with a `##FASTA` directive on the chunk's last line.
        """
        data, count = lines.data, len(starts)
        lengths = ends - starts
        first = np.where(lengths > 0, data[np.minimum(starts, len(data) - 1)], 0)
        comment = first == _HASH
        comment_rows = np.flatnonzero(comment)
        # Directive lines that may matter, picked out by their first bytes; other `#` lines are skipped.
        rows = comment_rows[_any_prefix(data, starts[comment_rows], lengths[comment_rows], _DIRECTIVE_PREFIXES)]
        fasta_from = count
        fasta_directive = [int(row) for row in rows if _strip(lines, starts, ends, row) == b"##FASTA"]
        if fasta_directive:
            fasta_from = fasta_directive[0]
        implicit = np.flatnonzero(first[:fasta_from] == _GT)
        if len(implicit):
            fasta_from = int(implicit[0])
        fasta_starts_here = fasta_directive[:1] == [fasta_from]
        body = slice(0, fasta_from)

        body_ends = lines.ends[:fasta_from]
        tabs = np.flatnonzero(data[: body_ends[-1] if fasta_from else 0] == _TAB)
        # Line i holds tabs[first_tab[i]:tabs_before[i]]: one binary search per line, not per tab.
        tabs_before = np.searchsorted(tabs, body_ends)
        first_tab = np.concatenate(([0], tabs_before[:-1])).astype(np.int64)
        tab_count = tabs_before - first_tab
        candidate = ~comment[body] & (lengths[body] > 0)
        wrong = np.flatnonzero(candidate & (tab_count != COLUMNS - 1))
        wrong = next((row for row in wrong.tolist() if _strip(lines, starts, ends, row)), None)  # not blank
        feature_rows = np.flatnonzero(candidate & (tab_count == COLUMNS - 1))
        columns = tabs[first_tab[feature_rows][:, None] + np.arange(COLUMNS - 1)]  # (features, 8)
        self._check(lines, starts, ends, wrong, feature_rows, columns)

        # Header-block comments (before the file's first feature line) may be a tool's signature.
        header_open = self.in_header_block
        first_feature = int(feature_rows[0]) if len(feature_rows) else fasta_from
        layout.feature_starts, layout.feature_ends, layout.columns = starts[feature_rows], ends[feature_rows], columns
        if header_open:  # TXT_HEADER: every byte before the file's first feature line (or FASTA section)
            layout.header_end = int(lines.starts[first_feature]) if first_feature < count else len(data)
            rows = np.union1d(rows, comment_rows[comment_rows < first_feature])
            if len(feature_rows):
                self.in_header_block = False
        programs: list[tuple[int, str]] = []
        for row in rows[rows < fasta_from].tolist():
            raw = _strip(lines, starts, ends, row)
            out.utf8_invalid |= not is_utf8(raw)
            text = decode_text(raw)
            if text.startswith("##gff-version") and not self.version_seen:
                self.version_seen = True
                parts = text.split()
                out.gff_version = parts[1] if len(parts) > 1 else None
                continue
            name = comment_program(text, in_header=header_open and row < first_feature)
            if name:
                programs.append((row, name))
        if len(feature_rows):
            begin, end = columns[:, 0] + 1, columns[:, 1]
            for index, value in _distinct_values(data, begin, end):
                out.utf8_invalid |= not is_utf8(value)
                name = source_program(decode_text(value), unescape=not self.gtf)
                if name:
                    programs.append((int(feature_rows[index]), name))
            if not self.prodigal_seen:
                row = self._prodigal_row(data, feature_rows, columns[:, 7] + 1, ends[feature_rows])
                if row is not None:
                    self.prodigal_seen = True
                    programs.append((row, "Prodigal"))
        programs.sort(key=lambda item: item[0])  # stable: on one line, the source comes first
        out.programs = [(lines.first_line + row, name) for row, name in programs]
        out.feature_lines = len(feature_rows)
        if fasta_from == count:
            return None
        return fasta_from + 1 if fasta_starts_here else fasta_from

    def _check(
        self,
        lines: LineBatch,
        starts: np.ndarray,
        ends: np.ndarray,
        wrong: int | None,
        feature_rows: np.ndarray,
        columns: np.ndarray,
    ) -> None:
        """Raise for the chunk's first bad feature line: wrong column count or bad coordinate."""
        problems: list[tuple[int, str]] = []
        if wrong is not None:
            found = lines.data[starts[wrong] : ends[wrong]].tobytes().count(b"\t") + 1
            problems.append((wrong, f"feature line has {found} tab-separated columns, expected {COLUMNS}"))
        begin, middle, end = columns[:, 2] + 1, columns[:, 3], columns[:, 4]
        bad = np.flatnonzero(~_coordinates_ok(lines.data, begin, middle, end))
        if len(bad):
            index = int(bad[0])
            name, value = "start (column 4)", lines.data[begin[index] : middle[index]].tobytes()
            if _is_coordinate(value):
                name, value = "end (column 5)", lines.data[middle[index] + 1 : end[index]].tobytes()
            shown = decode_text(value[:_SHOWN_CHARS])
            problems.append((int(feature_rows[index]), f"{name} is not an unsigned integer: {shown!r}"))
        if problems:
            row, problem = min(problems)
            raise FormatError(self.path, problem, line_where(lines.first_line + row))

    def _prodigal_row(self, data: np.ndarray, rows: np.ndarray, begin: np.ndarray, end: np.ndarray) -> int | None:
        """The first feature row whose attributes hold score, cscore and sscore, if any."""
        # The batch is a view of the chunk's bytes object: search that, not a 4 MB copy.
        text = data.base if isinstance(data.base, bytes) and len(data.base) == len(data) else data.tobytes()
        at = text.find(b"sscore")
        while at >= 0:
            index = int(np.searchsorted(begin, at, side="right")) - 1
            if index >= 0 and at < end[index] and has_prodigal_scores(text[begin[index] : end[index]], self.gtf):
                return int(rows[index])
            # Continue after this feature's attributes (or just after the hit if it was not in one).
            at = text.find(b"sscore", int(end[index]) if index >= 0 and at < end[index] else at + 1)
        return None

    def _fasta(self, lines: LineBatch, starts: np.ndarray, ends: np.ndarray, offset: int) -> int:
        """Count the `>` lines of the FASTA section part of the chunk; data before the first is an error."""
        data = lines.data
        lengths = ends - starts
        first = np.where(lengths > 0, data[np.minimum(starts, len(data) - 1)], 0)
        headers = first == _GT
        if not self.fasta_header_seen:
            header_rows = np.flatnonzero(headers)
            before = np.flatnonzero(lengths[: header_rows[0] if len(header_rows) else len(lengths)] > 0)
            row = next((row for row in before.tolist() if _strip(lines, starts, ends, row)), None)  # not blank
            if row is not None:
                problem = "sequence data before the first '>' of the FASTA section"
                raise FormatError(self.path, problem, lines.where(offset + row))
            self.fasta_header_seen = bool(len(header_rows))
        return int(np.count_nonzero(headers))


def _strip(lines: LineBatch, starts: np.ndarray, ends: np.ndarray, row: int) -> bytes:
    return lines.data[starts[row] : ends[row]].tobytes().strip()


def _has_prefix(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, prefix: bytes) -> np.ndarray:
    """Which lines start with `prefix` (one gather of len(prefix) bytes per line)."""
    width = len(prefix)
    ok = lengths >= width
    if not ok.any():
        return ok
    index = np.minimum(starts[:, None] + np.arange(width), len(data) - 1)
    return ok & np.all(data[index] == np.frombuffer(prefix, dtype=np.uint8), axis=1)


def _any_prefix(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, prefixes: tuple[bytes, ...]) -> np.ndarray:
    keep = np.zeros(len(starts), dtype=bool)
    for prefix in prefixes:
        keep |= _has_prefix(data, starts, lengths, prefix)
    return keep


def _is_coordinate(value: bytes) -> bool:
    return 0 < len(value) <= MAX_DIGITS and value.isdigit()


def _coordinates_ok(data: np.ndarray, begin: np.ndarray, middle: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Which rows have digits only (1 to MAX_DIGITS) in both `data[begin:middle]` and `data[middle+1:end]`.

    Start and end are adjacent columns, so one walk over both (the tab between them allowed)
    checks the two at once. The walk goes column by column over all rows (a coordinate has
    few digits), with 1-D gathers.
    """
    spans, gap = end - begin, middle - begin
    ok = (gap > 0) & (gap <= MAX_DIGITS) & (spans > gap + 1) & (spans - gap - 1 <= MAX_DIGITS)
    if not len(begin):
        return ok
    last = len(data) - 1
    for offset in range(int(min(spans.max(), 2 * MAX_DIGITS + 1))):
        chars = data[np.minimum(begin + offset, last)]
        ok &= ((chars - np.uint8(ord("0"))) < 10) | (gap == offset) | (spans <= offset)  # uint8 wrap-around
    return ok


def _distinct_values(data: np.ndarray, begin: np.ndarray, end: np.ndarray) -> list[tuple[int, bytes]]:
    """The distinct fields `data[begin:end]`, each with the row where it first appears, in row order.

    A source value usually runs over many consecutive lines, so numpy finds the rows where the
    value differs from the row before (comparing lengths, then byte column by byte column) and
    only those few rows are looked at in Python.
    """
    if not len(begin):
        return []
    widths = end - begin
    width = int(widths.max())
    if width > MAX_SOURCE_WIDTH:
        changes: list[int] = list(range(len(begin)))
    else:
        changed = widths[1:] != widths[:-1]
        last = len(data) - 1
        for offset in range(width):
            chars = data[np.minimum(begin + offset, last)]
            changed |= (chars[1:] != chars[:-1]) & (widths[1:] > offset)  # bytes past the field do not count
        changes = [0, *(np.flatnonzero(changed) + 1).tolist()]
    first: dict[bytes, int] = {}
    for row in changes:
        first.setdefault(data[begin[row] : end[row]].tobytes(), row)
    return [(row, value) for value, row in first.items()]
