"""One file in, one record out: sniff, open, one pass over the batches, assemble.

This is the library entry point (`make_record`); the CLI, the batch runner and tests call it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
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

    A reading with `parts` may be read in several processes (--threads); the parts' results are
    merged in file order.
    """
    processes = 1 if options.sample is not None or options.deep else min(options.threads, os.cpu_count() or 1)
    if multiprocessing.current_process().daemon:
        processes = 1  # a daemonic process (a multiprocessing.Pool worker) may not start children
    parts = reading.parts(processes) if hasattr(reading, "parts") else None
    if parts is None:
        result = read_batches(reading.batches(), reading.tally, options, reading.header_text)
    else:
        result = merge_parts(read_parts(parts, options, reading.header_text), path)
    return result


@dataclass
class PassResult:
    """What one pass over a file, or over one part of it, gave."""

    tally: Any
    quality: QualAcgtAccumulator
    streams: list[tuple[str, int, int]] | None  # the probe's (stream, text size, compressed size)
    records: int = 0
    leftover: bytes = b""  # a record cut short at the part's end
    stopped: str | None = None  # the problem that ended the part early
    by_child: bool = False  # read in a child process


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


def read_part(part: Part, options: Options, header_text: bytes = b"") -> PassResult:
    """One part of a file, read to its end; `leftover` and `stopped` say how it ended."""
    result = read_batches(part.batches(), part.tally, options, header_text, probe_threads=max(1, options.threads))
    result.leftover, result.stopped = part.leftover, part.stopped
    return result


def read_parts(parts: list[Part], options: Options, header_text: bytes) -> list[PassResult]:
    """Parts 2..n in child processes, part 1 here; a part whose start is not a record start is
    read again here, continuing the record the part before it left unfinished."""
    if len(parts) == 1:
        return [read_part(parts[0], options, header_text)]
    context = multiprocessing.get_context("spawn")
    children = []
    try:
        for part in parts[1:]:
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_child_part, args=(sender, part, replace(options, threads=1)), daemon=True)
            try:
                process.start()
            except (OSError, RuntimeError, AssertionError):  # no child here: its part is read below
                receiver.close()
            sender.close()
            children.append((process, receiver))
        results = [read_part(parts[0], options, header_text)]
        for part, (process, receiver) in zip(parts[1:], children, strict=True):
            previous = results[-1]
            if previous.stopped is not None:
                break
            child = _receive(receiver) if not previous.leftover else None
            if child is None:  # not a record start (or the child died): read the part here
                if process.pid is not None:
                    process.terminate()
                child = read_part(part.continued(previous.leftover), options)
                previous.leftover = b""
            results.append(child)
        return results
    finally:
        for process, receiver in children:
            receiver.close()
            if process.pid is None:
                continue  # never started
            if process.is_alive():
                process.terminate()
            process.join()


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


def _receive(receiver: Connection) -> PassResult | None:
    try:
        kind, payload = receiver.recv()
    except (EOFError, OSError):
        return None  # the child died without an answer, or never started
    if kind == "unproven":
        raise CannotProve(payload)
    if kind == "bug":
        raise RuntimeError(f"a child process reading part of the file failed:\n{payload}")
    return payload  # type: ignore[no-any-return]


def _child_part(sender: Connection, part: Part, options: Options) -> None:
    """Entry point of a child process: read one part, send the result (or why it could not)."""
    import traceback

    try:
        sender.send(("result", replace(read_part(part, options), by_child=True)))
    except CannotProve as exc:
        sender.send(("unproven", str(exc)))
    except BaseException:
        sender.send(("bug", traceback.format_exc()))
    finally:
        sender.close()


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
