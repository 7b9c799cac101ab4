"""BED (BED3 to BED12, plain, gzip or BGZF): data lines, columns, contigs, sort order, programs, probe.

`BedExtractor.open` opens a file as a `BedReading` (`base.Reading`): its header text (the lines
before the first data line, read on opening), its batches (`parse.py`, cut by the kernel in
`scan.py`, one chunk ahead in a worker thread), a fresh `BedTally` and the record's values from a
finished tally. The engine runs the pass. Rules: docs/record.md (BED).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from ...ahead import ahead
from ...options import Options
from ...sniff import Sniffed
from ...stats.gain import GainProbe
from ...textio import read_chunks
from ..base import HEADER_UTF8_INVALID, Extraction, field_issues
from .header import HeaderPrograms
from .parse import BedBatch, BedParser, split_header
from .tally import BedTally


class BedExtractor:
    """The BED format."""

    data_types = ("BED",)

    def open(self, path: Path, sniffed: Sniffed, options: Options) -> BedReading:
        return BedReading(path, sniffed)


class BedReading:
    """One opened BED file (a context manager): the header is read on opening, the batches follow it."""

    fallback = None

    def __init__(self, path: Path, sniffed: Sniffed) -> None:
        self.path = path
        self.sniffed = sniffed
        self._chunks = read_chunks(path, sniffed.codec)
        self.header_text, rest = split_header(self._chunks)
        parser = BedParser(self.path, first_line=self.header_text.count(b"\n") + 1)
        self._batches = ahead(map(parser.parse, itertools.chain([rest] if rest else [], self._chunks)))

    def __enter__(self) -> BedReading:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._batches.close()  # stops the worker thread
        self._chunks.close()

    def batches(self) -> Iterator[BedBatch]:
        return self._batches

    def tally(self, probe: GainProbe | None) -> BedTally:
        return BedTally(probe)

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
