"""PAF (minimap2's pairwise mapping format, plain or gzip): lines, queries, targets, mapper, read names, probe.

`PafExtractor.open` opens a file as a `PafReading`: no header, its batches (`parse.py`, cut by
the kernel in `scan.py`), a fresh `PafTally` and the record's values from a finished tally.
The engine runs the pass. Rules: docs/record.md (PAF).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ...ahead import ahead
from ...options import Options
from ...sniff import Sniffed
from ...stats.gain import GainProbe
from ...stats.readnames import UNKNOWN, UNKNOWN_TECHNOLOGY, ReadNameResult
from ...textio import read_chunks
from ..base import HEADER_UTF8_INVALID, Extraction, read_name_issues
from .parse import PafBatch, PafParser
from .tally import PafTally

# Mappers told by the tags they write on every line: (name, tags that must all be present).
MAPPER_TAGS: tuple[tuple[str, frozenset[str]], ...] = (
    # minimap2 and the tools built on it (Winnowmap, minigraph, mm2-fast) write these three.
    ("minimap2", frozenset({"tp:A", "cm:i", "s1:i"})),
)


def mapper_of(tags: list[str] | None) -> str:
    """The mapper whose tags the file's first line carries; `unknown` when none fits, `none` without lines."""
    if tags is None:
        return "none"
    for name, required in MAPPER_TAGS:
        if required <= set(tags):
            return name
    return "unknown"


class PafExtractor:
    """The PAF format."""

    data_types = ("PAF",)

    def open(self, path: Path, sniffed: Sniffed, options: Options) -> PafReading:
        return PafReading(path, sniffed, options.sample)


class PafReading:
    """One opened PAF file (a context manager; `base.Reading`)."""

    header_text = b""  # PAF has no header
    fallback = None

    def __init__(self, path: Path, sniffed: Sniffed, sample: int | None = None) -> None:
        self.path = path
        self.sniffed = sniffed
        self._chunks = read_chunks(path, sniffed.codec)
        self._batches = ahead(map(PafParser(path, sample).parse, self._chunks))

    def __enter__(self) -> PafReading:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._batches.close()  # stops the worker thread
        self._chunks.close()

    def batches(self) -> Iterator[PafBatch]:
        return self._batches

    def tally(self, probe: GainProbe | None) -> PafTally:
        return PafTally(probe)

    def extraction(self, tally: PafTally, streams: list[tuple[str, int, int]] | None) -> Extraction:
        flavour = tally.flavour.result() or ReadNameResult(UNKNOWN, UNKNOWN_TECHNOLOGY)
        features: list[tuple[str, object]] = [
            ("num_lines", tally.records),
            ("queries", min(tally.queries.distinct, tally.records)),  # an estimate past the exact cap
            ("targets", len(tally.targets.distinct)),
            ("mapper", mapper_of(tally.first_tags)),
            ("QNAME", flavour.flavour),
            ("sequencer", flavour.technology),
        ]
        if tally.flavour.utf8_invalid:
            features.append(HEADER_UTF8_INVALID)
        issues = read_name_issues(tally.field_results() if tally.sampled_records else [], flavour.misfits)
        return Extraction(
            data_type="PAF",
            codec=self.sniffed.codec,
            disk_size=self.path.stat().st_size,
            txt_size=tally.text_size,
            num_lines=tally.records,
            features=features,
            programs=None,
            hash_issues=issues,
            streams=streams,
        )
