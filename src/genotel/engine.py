"""One file in, one record out: sniff, extract, assemble.

This is the library entry point (`make_record`); the CLI, the batch runner and tests call it.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import __version__
from .errors import UnknownFormat
from .extractors import extractor_for
from .extractors.base import Extraction, HashIssue, bgzf_eof_missing
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


def make_record(
    path: str | os.PathLike[str],
    options: Options | None = None,
    file_index: int = 1,
    file_count: int = 1,
) -> Record:
    """The telemetry record of the file at `path`; raises `GenotelError` for bad input."""
    options = options or Options()
    return assemble_record(extract(path, options), options, file_index, file_count)


def extract(path: str | os.PathLike[str], options: Options) -> Extraction:
    """The extractor's plain values for the file at `path` (what `genotel inspect` shows)."""
    file = Path(path)
    sniffed = sniff(file)
    extractor = extractor_for(sniffed.data_type)
    if extractor is None:
        raise UnknownFormat(file, f"{sniffed.data_type} files are not supported yet")
    extraction = extractor.extract(file, sniffed, options)
    if bgzf_eof_missing(file):
        extraction.features.append(("bgzf_eof", "missing"))
    return extraction


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
