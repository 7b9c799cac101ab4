"""BED (BED3 to BED12, plain, gzip or BGZF): data lines, columns, contigs, sort order, programs, probe.

`BedExtractor.open` opens a file as a `BedReading`: its header text (the lines before the first
data line), its batches (`parse.py`, cut by the kernel in `scan.py`), a fresh `BedTally` and the
record's values from a finished tally. `extract` runs the one pass over the batches (`read_file`,
which the PAF extractor shares). Rules: docs/record.md (BED).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from ...options import Options
from ...sniff import Sniffed
from ...stats.gain import GainProbe, probe_for
from ..base import HEADER_UTF8_INVALID, Extraction, field_issues
from .header import HeaderPrograms
from .parse import BedBatch, BedParser, split_header
from .tally import BedTally
from .text import chunks_ahead

TXT_HEADER = "TXT_HEADER"


class BedExtractor:
    """The BED format."""

    data_types = ("BED",)

    def open(self, path: Path, sniffed: Sniffed, options: Options) -> BedReading:
        return BedReading(path, sniffed)

    def extract(self, path: Path, sniffed: Sniffed, options: Options) -> Extraction:
        with self.open(path, sniffed, options) as reading:
            return read_file(reading, options)


class BedReading:
    """One opened BED file: the header is read on opening, the batches follow it."""

    def __init__(self, path: Path, sniffed: Sniffed) -> None:
        self.path = path
        self.sniffed = sniffed
        self._chunks = chunks_ahead(path, sniffed.codec)
        self.header_text, self._rest = split_header(self._chunks)

    def __enter__(self) -> BedReading:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._chunks.close()  # stops the read-ahead thread

    def batches(self) -> Iterator[BedBatch]:
        parser = BedParser(self.path, first_line=self.header_text.count(b"\n") + 1)
        if self._rest:
            yield parser.parse(self._rest)
        for chunk in self._chunks:
            yield parser.parse(chunk)

    def tally(self) -> BedTally:
        return BedTally()

    def extraction(self, tally: BedTally, streams: list[tuple[str, int, int]] | None) -> Extraction:
        programs = HeaderPrograms()
        programs.add(self.header_text.splitlines())
        programs.merge(tally.programs)
        features: list[tuple[str, object]] = [
            ("num_lines", tally.records),
            ("columns", tally.columns),
            ("contigs", len(tally.order.distinct)),
            ("sorted_by", tally.order.sorted_by()),
        ]
        if programs.utf8_invalid:
            features.append(HEADER_UTF8_INVALID)
        return Extraction(
            data_type="BED",
            codec=self.sniffed.codec,
            disk_size=self.path.stat().st_size,
            txt_size=len(self.header_text) + tally.text_size,
            num_lines=tally.records,
            features=features,
            programs=programs.names,
            hash_issues=field_issues([tally.names.result()]) if tally.names.records else [],
            streams=streams,
        )


class Reading(Protocol):
    """What `read_file` needs of an opened file (the BED and PAF readings)."""

    header_text: bytes

    def batches(self) -> Iterator[BedBatch]: ...
    def tally(self) -> BedTally: ...
    def extraction(self, tally: BedTally, streams: list[tuple[str, int, int]] | None) -> Extraction: ...


def read_file(reading: Reading, options: Options) -> Extraction:
    """The one pass: every batch into a tally (and the probe), then the record's values.

    `--sample N`: a batch's first `within` records are those among the file's first N.
    """
    probe: GainProbe | None = probe_for(options)
    tally = reading.tally()
    try:
        if probe is not None and reading.header_text:
            probe.add(TXT_HEADER, reading.header_text)
        for batch in reading.batches():
            within = len(batch)
            if options.sample is not None:
                within = max(0, min(within, options.sample - batch.first_record + 1))
            tally.add(batch, within, probe)
        tally.close()
        streams = None
        if probe is not None:
            streams = [(size.name, size.text_size, size.compressed_size) for size in probe.result()]
    except BaseException:
        tally.abort()
        if probe is not None:
            probe.close()
        raise
    return reading.extraction(tally, streams)
