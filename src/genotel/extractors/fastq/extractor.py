"""FASTQ (plain, gzip or BGZF): counts, read length, read names, interleaving, qual_acgt, probe.

Two readers yield the same `FastqBatch`es: `numpy` (the default, `parse.py`) validates every
record and names the line of a problem; `pyfastx` is the library fallback, which does not
validate, and is read through `pyfastx.Fastx`, which writes no index file beside the data. The
reader is `FastqExtractor(reader=...)`, else `$GENOTEL_FASTQ_READER` (`numpy` or `pyfastx`).
Features, read names, hash_issues and `--sample` follow docs/record.md; the probe's streams are
in `fields.py`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Protocol

import numpy as np

from ...batches import Strings
from ...errors import FormatError, UsageError, record_where
from ...options import Options
from ...sniff import Sniffed
from ...stats.gain import GainProbe
from ...textio import line_batches, read_chunks
from ..base import HEADER_UTF8_INVALID, Extraction, SimpleTally, read_name_issues
from .fields import add_fastq_streams
from .names import FastqNameStats, ReadLengthAccumulator
from .parse import (
    QUAL_HIGHEST,
    QUAL_LOWEST,
    FastqBatch,
    NumpyFastqReader,
    TextLayout,
    strip_cr,
    text_batch,
)
from .study import FastqStudyEvidence

READER_VARIABLE = "GENOTEL_FASTQ_READER"
READERS = ("numpy", "pyfastx")
DEFAULT_READER = "numpy"


class FastqReader(Protocol):
    """An iterable of batches; `text_size` (decompressed bytes) is known once it is exhausted."""

    text_size: int

    def __iter__(self) -> Iterator[FastqBatch]: ...


class FastqExtractor:
    """The FASTQ family."""

    data_types = ("FASTQ",)

    def __init__(self, reader: str | None = None) -> None:
        self.reader = reader  # None: from GENOTEL_FASTQ_READER, else numpy

    @contextlib.contextmanager
    def open(self, path: Path, sniffed: Sniffed, options: Options) -> Iterator[FastqReading]:
        name = reader_name(self.reader)
        reader: FastqReader
        if name == "pyfastx":
            reader = PyfastxFastqReader(path, sniffed.codec, options.batch_size, layouts=options.gain)
        else:
            reader = NumpyFastqReader(path, sniffed.codec)
        yield FastqReading(path, sniffed, reader)


@dataclass
class FastqReading:
    """A FASTQ file opened for one pass (`base.Reading`); FASTQ has no header."""

    path: Path
    sniffed: Sniffed
    reader: FastqReader
    header_text: bytes = b""
    fallback: None = None

    def batches(self) -> Iterator[FastqBatch]:
        return iter(self.reader)

    def tally(self, probe: GainProbe | None) -> FastqTally:
        return FastqTally(probe)

    def extraction(self, tally: FastqTally, streams: list[tuple[str, int, int]] | None) -> Extraction:
        names, records = tally.names, tally.lengths.records
        flavour = names.flavour_result()
        features: list[tuple[str, object]] = [
            ("num_lines", records),
            ("QNAME", flavour.flavour),
            ("sequencer", flavour.technology),
            ("read_len", f"{tally.lengths.mean():.1f}"),
            ("interleaved", "true" if names.interleaved() else "false"),
            ("study", tally.study.study()),
            *([HEADER_UTF8_INVALID] if names.flavour.utf8_invalid else []),
        ]
        issues = read_name_issues(names.field_results(), flavour.misfits)
        return Extraction(
            data_type="FASTQ",
            codec=self.sniffed.codec,
            disk_size=self.path.stat().st_size,
            txt_size=self.reader.text_size,
            num_lines=records,
            features=features,
            programs=None,  # docs/record.md: null for FASTQ
            hash_issues=issues,
            streams=streams,
        )


class FastqTally(SimpleTally):
    """Read lengths, read names and the study's evidence (within --sample) and the probe's streams."""

    def __init__(self, probe: GainProbe | None) -> None:
        self.probe = probe
        self.lengths = ReadLengthAccumulator()
        self.names = FastqNameStats()
        self.study = FastqStudyEvidence()

    def add(self, batch: FastqBatch, within: int) -> None:
        self.lengths.add(batch.sequences.lengths)
        # The probe's DESC stream is every header; without it only the sampled ones are cut out.
        headers = batch.header_strings(None if self.probe is not None else within)
        if within:
            self.names.add(headers if within == len(headers) else headers.head(within))
        if self.probe is not None and batch.layout is not None:
            add_streams(self.probe, batch, batch.layout, headers)
        self.study.add(batch, within)


def add_streams(probe: GainProbe, batch: FastqBatch, layout: TextLayout, headers: Strings) -> None:
    """The batch's text into the probe's streams, reusing what the parser gathered already."""
    own = None
    if len(batch) and layout.first_phase == 0 and len(layout.line_starts) == 4 * len(batch):
        own = (headers, batch.sequences, batch.quality_text)
    add_fastq_streams(probe, layout.data, layout.size, layout.line_starts, layout.line_ends, layout.first_phase, own)


def reader_name(explicit: str | None = None) -> str:
    """The FASTQ reader to use: `explicit`, else $GENOTEL_FASTQ_READER, else numpy."""
    name = explicit if explicit is not None else os.environ.get(READER_VARIABLE, DEFAULT_READER)
    if name not in READERS:
        raise UsageError(f"{READER_VARIABLE} must be one of {', '.join(READERS)}, not {name!r}")
    return name


class PyfastxFastqReader:
    """FASTQ records through pyfastx's streaming iterator, as the same batches as the parser.

    Checks what a batch at a time can check (equal lengths, quality characters); it cannot
    see the line structure, so problems are located by record number, not line. Its record
    batches have no `layout`; with `layouts`, the text is read once more at the end and comes
    as batches of no records whose layouts cover it (for the probe).
    """

    def __init__(self, path: Path, codec: str, batch_size: int, layouts: bool = False) -> None:
        self.path = path
        self.codec = codec
        self.batch_size = batch_size
        self.layouts = layouts
        self.text_size = 0

    def __iter__(self) -> Iterator[FastqBatch]:
        import pyfastx  # only this fallback needs it

        try:
            fastx = pyfastx.Fastx(str(self.path), format="fastq", comment=True)
        except (OSError, RuntimeError, ValueError) as exc:
            raise FormatError(self.path, f"pyfastx cannot read it ({exc})") from exc
        # pyfastx 2.3.1: every iter() on a Fastx restarts its parser state but not its file
        # position, and islice() calls iter() each time; the records then come out wrong
        # (shifted, merged, repeated). A generator is iterated once and shields it.
        records = (record for record in fastx)
        first_record = 1
        while True:
            try:
                chunk = list(islice(records, self.batch_size))
            except (RuntimeError, ValueError, UnicodeDecodeError) as exc:
                raise FormatError(self.path, f"pyfastx cannot read it ({exc})", record_where(first_record)) from exc
            if not chunk:
                break
            yield self._batch(chunk, first_record)
            first_record += len(chunk)
        # pyfastx does not report the text size, and a truncated gzip file simply ends its
        # iteration: decompressing the whole file once more gives the size and catches that.
        if not self.layouts:
            self.text_size = sum(len(block) for block in read_chunks(self.path, self.codec))
            return
        for lines in line_batches(self.path, self.codec):
            self.text_size += len(lines.data)
            ends = strip_cr(lines.data, lines.starts, lines.ends)
            layout = TextLayout(lines.data, len(lines.data), lines.starts, ends, (lines.first_line - 1) % 4)
            yield text_batch(first_record, layout)

    def _batch(self, chunk: list[tuple[str, str, str, str | None]], first_record: int) -> FastqBatch:
        _, sequences, qualities, _ = zip(*chunk, strict=True)
        # kseq splits the header at its first space or tab; one space restores the split.
        headers = [name if comment is None else f"{name} {comment}" for name, _, _, comment in chunk]
        bases = Strings.from_list([sequence.encode() for sequence in sequences])
        chars = Strings.from_list([quality.encode() for quality in qualities])
        mismatch = np.flatnonzero(bases.lengths != chars.lengths)
        if len(mismatch):
            index = int(mismatch[0])
            problem = f"sequence has {bases.lengths[index]} bases but quality has {chars.lengths[index]} characters"
            raise FormatError(self.path, problem, record_where(first_record + index))
        outside = np.flatnonzero((chars.buffer - np.uint8(QUAL_LOWEST)) > np.uint8(QUAL_HIGHEST - QUAL_LOWEST))
        if len(outside):
            index = int(np.searchsorted(chars.offsets, outside[0], side="right")) - 1
            problem = f"quality character byte {chars.buffer[outside[0]]} is outside '!'..'~'"
            raise FormatError(self.path, problem, record_where(first_record + index))
        header_text = Strings.from_list([header.encode() for header in headers])
        return FastqBatch(
            first_record=first_record,
            sequences=bases,
            quality_text=chars,
            header_text=header_text.buffer,
            header_starts=header_text.offsets[:-1],
            header_ends=header_text.offsets[1:],
        )
