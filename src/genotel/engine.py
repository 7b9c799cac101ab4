"""One file in, one record out: sniff, open, one pass over the batches, assemble.

This is the library entry point (`make_record`); the CLI, the batch runner and tests call it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import __version__
from .bgzf import CannotProve
from .errors import FormatError, UnknownFormat, record_where
from .extractors import extractor_for
from .extractors.base import Extraction, Extractor, HashIssue, Part, Reading, bgzf_eof_missing, sample_within
from .options import Options
from .record import (
    Record,
    Source,
    escape_example,
    one_decimal,
    render_cardinality_issue,
    render_fields_gain,
    render_flags,
    render_items,
    render_programs,
    render_qual_acgt,
    render_unparsed_names,
)
from .redact import redact_value
from .sniff import sniff
from .stats.cardinality import InexactMerge
from .stats.gain import HEADER_STREAM, GainProbe, probe_for
from .stats.qual import QualAcgtAccumulator


def make_record(
    path: str | os.PathLike[str],
    options: Options | None = None,
    file_index: int = 1,
    file_count: int = 1,
) -> Record:
    """The telemetry record of the file at `path`; raises `GenotelError` for bad input."""
    options = options or Options()
    return assemble_record(extract(path, options), options, file_index, file_count)


def extract(path: str | os.PathLike[str], options: Options, extractor: Extractor | None = None) -> Extraction:
    """The extractor's plain values for the file at `path` (what `genotel inspect` shows).

    `extractor` is the registry's for the file's data type unless given.
    """
    file = Path(path)
    opener: Callable[[], AbstractContextManager[Reading]] = lambda: open_reading(file, options, extractor)  # noqa: E731
    while True:
        with opener() as reading:
            try:
                extraction = read_file(reading, file, options)
                break
            except CannotProve:
                if reading.fallback is None:
                    raise
                opener = reading.fallback  # a reader that reads every file htslib reads
    if bgzf_eof_missing(file):
        extraction.features.append(("bgzf_eof", "missing"))
    return extraction


def open_reading(path: Path, options: Options, extractor: Extractor | None = None) -> AbstractContextManager[Reading]:
    """The file at `path` opened by its format's extractor (`extractor` when given)."""
    sniffed = sniff(path)
    extractor = extractor or extractor_for(sniffed.data_type)
    if extractor is None:
        raise UnknownFormat(path, f"{sniffed.data_type} files are not supported yet")
    return extractor.open(path, sniffed, options)


def read_file(reading: Reading, path: Path, options: Options) -> Extraction:
    """The one pass over a file (`read_whole`), made into the format's extraction."""
    result = read_whole(reading, path, options)
    extraction = reading.extraction(result.tally, result.streams)
    extraction.qual_counts = result.quality.result()
    return extraction


def read_whole(reading: Reading, path: Path, options: Options) -> PassResult:
    """Every batch of the file through the tally, qual_acgt and the probe.

    A reading with `parts` may be read in several threads (--threads); the parts' results are
    merged in file order.
    """
    if not hasattr(reading, "parts"):
        return read_batches(reading.batches(), reading.tally, options, reading.header_text)
    count = 1 if options.sample is not None or options.deep else min(options.threads, os.cpu_count() or 1)
    try:
        return merge_parts(read_parts(reading.parts(count), options, reading.header_text), path)
    except InexactMerge:  # rare: the later parts did not keep the examples that the file needs
        return merge_parts(read_parts(reading.parts(1), options, reading.header_text), path)


@dataclass
class PassResult:
    """What one pass over a file, or over one part of it, gave."""

    tally: Any
    quality: QualAcgtAccumulator
    streams: list[tuple[str, int, int]] | None  # the probe's (stream, text size, compressed size)
    records: int = 0
    leftover: bytes = b""  # a record cut short at the part's end
    stopped: str | None = None  # the problem that ended the part early
    by_worker: bool = False  # read in a worker thread, not again after the part before


def read_batches(
    batches: Iterator[Any], new_tally: Callable[[GainProbe | None], Any], options: Options, header_text: bytes,
    probe_threads: int = 2,
) -> PassResult:  # fmt: skip
    """Feed every batch to a fresh tally, to qual_acgt and (through the tally) to the probe."""
    probe = probe_for(options, threads=probe_threads)
    quality = QualAcgtAccumulator()
    records = 0
    with contextlib.ExitStack() as stack:
        if probe is not None:  # closed on bad input: its threads stop, their work is dropped
            stack.enter_context(probe)
            if header_text:
                probe.add(HEADER_STREAM, header_text)
        tally = new_tally(probe)
        try:
            for batch in batches:
                within = sample_within(batch, options.sample)
                tally.add(batch, within)
                count_qualities = getattr(batch, "count_qualities", None)
                if count_qualities is not None:
                    count_qualities(quality, within)
                records += len(batch)
        except BaseException:
            tally.abort()
            raise
        tally.close()
        streams = None
        if probe is not None:
            streams = [(size.name, size.text_size, size.compressed_size) for size in probe.result()]
    return PassResult(tally, quality, streams, records)


def read_part(
    part: Part, options: Options, header_text: bytes = b"", stop: threading.Event | None = None
) -> PassResult:
    """One part of a file, read to its end (or until `stop` is set); `leftover` and `stopped` say how it ended."""
    batches = part.batches() if stop is None else _until(stop, part.batches())
    result = read_batches(batches, part.tally, options, header_text, probe_threads=max(1, options.threads))
    result.leftover, result.stopped = part.leftover, part.stopped
    return result


def read_parts(parts: list[Part], options: Options, header_text: bytes) -> list[PassResult]:
    """Parts 2..n in worker threads, part 1 in this one (their kernels release the GIL); a part
    whose start is not a record start is read again, continuing the record the part before it
    left unfinished."""
    if len(parts) == 1:
        return [read_part(parts[0], options, header_text)]
    stops = [threading.Event() for _ in parts[1:]]
    later_options = replace(options, threads=1)
    with ThreadPoolExecutor(max_workers=len(parts) - 1, thread_name_prefix="genotel-part") as pool:
        pairs = zip(parts[1:], stops, strict=True)
        later = [pool.submit(read_part, part, later_options, b"", stop) for part, stop in pairs]
        try:
            results = [read_part(parts[0], options, header_text)]
            for part, future, stop in zip(parts[1:], later, stops, strict=True):
                previous = results[-1]
                if previous.stopped is not None:
                    break
                if previous.leftover:  # not a record start: read the part again, after the leftover
                    stop.set()
                    results.append(read_part(part.continued(previous.leftover), options))
                    previous.leftover = b""
                else:
                    results.append(replace(future.result(), by_worker=True))
            return results
        finally:
            for stop in stops:  # the workers whose results are not needed stop early
                stop.set()


def _until(stop: threading.Event, batches: Iterator[Any]) -> Iterator[Any]:
    for batch in batches:
        if stop.is_set():
            return
        yield batch


def merge_parts(results: list[PassResult], path: Path) -> PassResult:
    """The parts' results merged in file order; a part's early stop is the file's error."""
    merged = results[0]
    records = 0
    sizes: dict[str, tuple[int, int]] = {}
    for index, result in enumerate(results):
        if result.stopped is not None:
            raise FormatError(path, result.stopped, record_where(records + result.records + 1))
        if index:
            merged.tally.merge(result.tally)
            merged.quality.merge(result.quality)
        for name, text, compressed in result.streams or []:
            before = sizes.get(name, (0, 0))
            sizes[name] = (before[0] + text, before[1] + compressed)
        records += result.records
    if results[-1].leftover:
        raise CannotProve("the last record is cut short")  # the fallback reader's error to give
    if merged.streams is not None:
        merged.streams = [(name, text, compressed) for name, (text, compressed) in sizes.items()]
    return merged


def assemble_record(extraction: Extraction, options: Options, file_index: int, file_count: int) -> Record:
    """Turn an extractor's plain values into the record, rendering the compact strings."""
    flags = options.flags(extraction.flags, extraction.streams is not None, file_index, file_count)
    source_gain = extraction.txt_size / extraction.disk_size if extraction.disk_size else 0.0
    fields_gain, genozip_gain = render_fields_gain(extraction.streams) if extraction.streams else (None, None)
    return Record(
        genotel_version=__version__,
        data_type=extraction.data_type,  # type: ignore[arg-type]
        source=Source(
            codec=extraction.codec,  # type: ignore[arg-type]
            disk_size=extraction.disk_size,
            txt_size=extraction.txt_size,
            num_lines=extraction.num_lines,
        ),
        features=render_items(extraction.features),
        fields_gain=fields_gain,
        genozip_gain=genozip_gain,
        source_gain=one_decimal(source_gain),
        flags=render_flags(flags),
        programs=render_programs(extraction.programs) if extraction.programs is not None else None,
        qual_acgt=render_qual_acgt(extraction.qual_counts) if extraction.qual_counts is not None else None,
        hash_issues=[render_hash_issue(issue, options.redact) for issue in capped_issues(extraction.hash_issues)],
    )


MAX_FIELD_ISSUES = 8  # form-1 entries per record: the record stays a few KiB


def capped_issues(issues: list[HashIssue]) -> list[HashIssue]:
    """At most MAX_FIELD_ISSUES form-1 entries (the fullest tables first), then the others."""
    fields = sorted((issue for issue in issues if issue.form == 1), key=lambda issue: -issue.occupancy_percent)
    return fields[:MAX_FIELD_ISSUES] + [issue for issue in issues if issue.form != 1]


def render_hash_issue(issue: HashIssue, redact: bool) -> str:
    """One hash_issues entry in its contract form, its example values hashed under --redact."""
    examples = [redact_value(value) for value in issue.examples] if redact else issue.examples
    if issue.form == 1:
        table, occupancy = issue.table_entries, issue.occupancy_percent
        return render_cardinality_issue(issue.name, issue.parent, table, occupancy, examples)
    if issue.form == 2:
        return render_unparsed_names(examples)
    return ";".join(escape_example(value) for value in examples)
