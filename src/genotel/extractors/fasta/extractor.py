"""FASTA: the number of sequences, their total length, the alphabet, and the probe's streams.

With `--no-gain`, a plain FASTA with a trusted `.fai` beside it is read from the index
(`index.py`). Everything else takes one streaming pass over `textio.line_batches`, classifying
whole chunks of lines with numpy; the probe needs every byte, so then the `.fai` is not used,
and a `.fai` is never written. Bases, comments, the alphabet and the streams follow
docs/record.md; FASTA has no dictionary field, so hash_issues stays empty.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import FormatError
from ...options import Options
from ...record import format_contigs
from ...sniff import Sniffed
from ...stats.gain import GainProbe
from ...stats.text_streams import add_grouped, group_ranges, sequence_ranges, strip_line_ends
from ...textio import LineBatch, line_batches, split_lines
from ..base import Extraction, SimpleTally
from .index import FaiEntry, read_fai

ALPHABET_SAMPLE_BYTES = 1 << 20
NUCLEOTIDE_SHARE = 0.9
NUCLEOTIDE_LETTERS = b"ACGTUN"
NUCLEOTIDE = ("Nucleotide_bases", "true")
AMINO_ACIDS = ("Amino_acids", "true")
_GT, _SEMICOLON, _NEWLINE, _SPACE = ord(">"), ord(";"), 10, 32
_BOM = b"\xef\xbb\xbf"
STREAM_NAMES = ["Other", "DESC", "SEQ"]  # probe streams by label
_DESC, _SEQ = 1, 2


@dataclass
class FastaBatch:
    """What one chunk of lines holds, reduced to counts."""

    first_line: int  # 1-based number of the chunk's first line
    text_size: int
    first_record: int  # 1-based number of the chunk's first sequence among the file's
    sequences: int
    bases: int
    letters: np.ndarray  # int64[256]: byte histogram of the chunk's part of the alphabet sample
    data: np.ndarray | None = None  # the chunk, with `ranges`: only when the probe runs
    ranges: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # DESC/SEQ lines: starts, ends, labels

    def __len__(self) -> int:
        return self.sequences


class FastaCounts:
    """The accumulator: sequence and base counts, and the byte histogram of the alphabet sample."""

    def __init__(self) -> None:
        self.text_size = 0
        self.sequences = 0
        self.bases = 0
        self.letters = np.zeros(256, dtype=np.int64)

    def add(self, batch: FastaBatch) -> None:
        self.text_size += batch.text_size
        self.sequences += batch.sequences
        self.bases += batch.bases
        self.letters += batch.letters

    def alphabet(self) -> tuple[str, str]:
        return alphabet_item(self.letters)


def alphabet_item(histogram: np.ndarray) -> tuple[str, str]:
    """`Nucleotide_bases=true` or `Amino_acids=true` from a byte histogram of sequence characters."""
    upper = histogram[ord("A") : ord("Z") + 1] + histogram[ord("a") : ord("z") + 1]
    letters = int(upper.sum())
    nucleotides = sum(int(upper[code - ord("A")]) for code in NUCLEOTIDE_LETTERS)
    if letters == 0 or nucleotides > NUCLEOTIDE_SHARE * letters:
        return NUCLEOTIDE
    return AMINO_ACIDS


class FastaExtractor:
    """The FASTA family."""

    data_types = ("FASTA",)

    @contextlib.contextmanager
    def open(self, path: Path, sniffed: Sniffed, options: Options) -> Iterator[FastaReading]:
        # Only a plain file (for gzip/BGZF the text size needs the whole inflate anyway), and
        # only without the probe, which needs every byte.
        index = read_fai(path) if sniffed.codec == "NONE" and not options.gain else None
        yield FastaReading(path, sniffed, index, streams=options.gain)


@dataclass
class FastaReading:
    """A FASTA file opened for one pass (`base.Reading`); with a trusted index, a pass of no
    batches: the index gives the counts."""

    path: Path
    sniffed: Sniffed
    index: list[FaiEntry] | None
    streams: bool  # find each chunk's DESC and SEQ ranges, for the probe
    header_text: bytes = b""
    fallback: None = None

    def batches(self) -> Iterator[FastaBatch]:
        if self.index is not None:
            return
        parser = FastaParser(self.path, streams=self.streams)
        for lines in line_batches(self.path, self.sniffed.codec):
            yield parser.parse(lines)

    def tally(self, probe: GainProbe | None) -> FastaTally:
        return FastaTally(probe)

    def extraction(self, tally: FastaTally, streams: list[tuple[str, int, int]] | None) -> Extraction:
        disk_size = self.path.stat().st_size
        if self.index is not None:
            sequences, bases = len(self.index), sum(entry.length for entry in self.index)
            text_size, alphabet = disk_size, alphabet_item(sample_letters(self.path))
        else:
            counts = tally.counts
            sequences, bases, text_size, alphabet = counts.sequences, counts.bases, counts.text_size, counts.alphabet()
        return Extraction(
            data_type=self.sniffed.data_type,
            codec=self.sniffed.codec,
            disk_size=disk_size,
            txt_size=text_size,
            num_lines=sequences,
            features=[("ref_contigs", format_contigs(sequences, bases)), alphabet],
            programs=None,
            streams=streams,
        )


class FastaTally(SimpleTally):
    """The counts of the chunks, and their DESC/SEQ/Other streams for the probe."""

    def __init__(self, probe: GainProbe | None) -> None:
        self.probe = probe
        self.counts = FastaCounts()

    def add(self, batch: FastaBatch, within: int) -> None:
        self.counts.add(batch)
        if self.probe is not None and batch.ranges is not None and batch.data is not None:
            add_grouped(self.probe, group_ranges(batch.data, *batch.ranges, len(STREAM_NAMES)), STREAM_NAMES)


def sample_letters(path: Path) -> np.ndarray:
    """The alphabet sample's byte histogram of a plain FASTA, from its first MiB (and a bit)."""
    with open(path, "rb") as raw:
        head = raw.read(ALPHABET_SAMPLE_BYTES + (1 << 16))
    cut = head.rfind(b"\n") + 1
    return FastaParser(path).parse(split_lines(head[:cut] if cut else head, 1)).letters


class FastaParser:
    """Turns line batches into `FastaBatch`es; holds the little state that crosses chunks."""

    def __init__(self, path: Path, streams: bool = False) -> None:
        self.path = path
        self.streams = streams  # also find the DESC and SEQ ranges of each chunk, for the probe
        self.header_seen = False
        self.sampled = 0  # sequence characters given to the alphabet sample so far
        self.sequences_seen = 0

    def parse(self, lines: LineBatch) -> FastaBatch:
        data = lines.data
        starts = lines.starts.copy()
        if lines.first_line == 1 and data[:3].tobytes() == _BOM:
            starts[0] += 3
        count = len(starts)
        lengths = lines.ends - starts
        first = np.where(lengths > 0, data[np.minimum(starts, len(data) - 1)], 0)
        header = first == _GT
        sequence = ~header & (first != _SEMICOLON)
        # Whitespace and control bytes (all <= 32) inside lines are not residues: find them all
        # at once, drop the newlines, and count them per line with one binary search each.
        blank_bytes = np.flatnonzero(data <= _SPACE)
        blank_bytes = blank_bytes[data[blank_bytes] != _NEWLINE]
        blank_count = np.bincount(np.searchsorted(lines.ends, blank_bytes, side="right"), minlength=count)[:count]
        residues = lengths - blank_count
        if not self.header_seen:
            self._check_start(lines, header, sequence & (residues > 0))
        letters = np.zeros(256, dtype=np.int64)
        if self.sampled < ALPHABET_SAMPLE_BYTES:
            letters = self._sample(data, starts[sequence], lengths[sequence])
        ranges = None
        if self.streams:
            ranges = sequence_ranges(data, starts, strip_line_ends(data, starts, lines.ends), _DESC, _SEQ)
        sequences = int(np.count_nonzero(header))
        self.sequences_seen += sequences
        return FastaBatch(
            first_line=lines.first_line,
            text_size=len(data),
            first_record=self.sequences_seen - sequences + 1,
            sequences=sequences,
            bases=int(residues[sequence].sum()),
            letters=letters,
            data=data if self.streams else None,
            ranges=ranges,
        )

    def _check_start(self, lines: LineBatch, header: np.ndarray, content: np.ndarray) -> None:
        """Sequence characters before the file's first `>` line are an error."""
        headers = np.flatnonzero(header)
        before = np.flatnonzero(content[: headers[0] if len(headers) else len(content)])
        if len(before):
            raise FormatError(self.path, "sequence data before the first '>' header line", lines.where(int(before[0])))
        self.header_seen = bool(len(headers))

    def _sample(self, data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Byte histogram of the next sequence lines, up to the sample's budget."""
        budget = ALPHABET_SAMPLE_BYTES - self.sampled
        cumulative = np.cumsum(lengths)
        keep = int(np.searchsorted(cumulative, budget, side="right")) + 1  # the last line may overshoot
        starts, lengths = starts[:keep], lengths[:keep]
        total = int(lengths.sum())
        self.sampled += total
        if total == 0:
            return np.zeros(256, dtype=np.int64)
        line_begin = np.cumsum(lengths) - lengths
        index = np.repeat(starts - line_begin, lengths) + np.arange(total)
        return np.bincount(data[index], minlength=256).astype(np.int64)
