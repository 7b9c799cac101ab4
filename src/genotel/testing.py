"""Regression assertions for pytest: a file's record against a golden record.

    from genotel.testing import assert_record_matches

    def test_pipeline_output():
        assert_record_matches("out/sample.bam", "tests/golden.jsonl", gain_tolerance=0.05)

The comparison is `genotel diff`'s, and the assertion message is its report.
"""

from __future__ import annotations

import os
from pathlib import Path

from .compare import compare_sets, included_keys, tolerance_of
from .diff_report import Sides, report_text
from .errors import InputError
from .record import Record
from .record_files import Entry, entry_of, file_key, load_entries

RecordLike = dict[str, object] | Record
PathLike = str | os.PathLike[str]


def assert_record_matches(
    actual: PathLike | RecordLike,
    golden: PathLike | RecordLike,
    *,
    gain_tolerance: float | str = 0,
    include: tuple[str, ...] | list[str] = (),
    **options: object,
) -> None:
    """Raise AssertionError, with the diff report as its message, unless `actual` matches `golden`.

    `actual` is a file to record (with `genotel.options.Options(**options)`, e.g. `sample=100`,
    `gain=False`) or a record already made. `golden` is a record, a `{"file", "record"}` entry or
    a file of records: a golden set's entry for `actual`'s path, or the file's only record.
    `gain_tolerance` is relative (0.05 or "5%"); `include` compares keys ignored by default.
    """
    __tracebackhide__ = True  # pytest shows the report, not this function's source
    report = record_differences(actual, golden, gain_tolerance=gain_tolerance, include=include, **options)
    if report:
        raise AssertionError("\n" + report)


def record_differences(
    actual: PathLike | RecordLike,
    golden: PathLike | RecordLike,
    *,
    gain_tolerance: float | str = 0,
    include: tuple[str, ...] | list[str] = (),
    **options: object,
) -> str:
    """The diff report of `actual` against `golden` (arguments as `assert_record_matches`); "" if they match."""
    name = str(actual) if isinstance(actual, (str, os.PathLike)) else "record"
    made = _record_of(actual, options)
    expected, golden_name = _golden_for(golden, actual)
    tolerance, keys = tolerance_of(gain_tolerance), included_keys(include)
    diff = compare_sets([Entry(expected, name)], [Entry(made, name)], tolerance, keys)
    return "" if diff.same else report_text(diff, Sides(golden_name, name, 1, 1, tolerance, keys))


def _record_of(actual: PathLike | RecordLike, options: dict[str, object]) -> dict[str, object]:
    if isinstance(actual, Record):
        return actual.to_dict()
    if isinstance(actual, dict):
        return entry_of(actual, "actual record").record
    from .engine import make_record
    from .options import Options

    return make_record(actual, Options(**options)).to_dict()  # type: ignore[arg-type]


def _golden_for(golden: PathLike | RecordLike, actual: PathLike | RecordLike) -> tuple[dict[str, object], str]:
    """The golden record for `actual`, and how to name where it came from."""
    if isinstance(golden, Record):
        return golden.to_dict(), "golden"
    if isinstance(golden, dict):
        return entry_of(golden, "golden record").record, "golden"
    entries = load_entries(golden)
    if isinstance(actual, (str, os.PathLike)):
        for entry in entries:
            if entry.file is not None and _same_path(entry.file, actual):
                return entry.record, str(golden)
    if len(entries) == 1 and entries[0].file is None:
        return entries[0].record, str(golden)
    wanted = f"no record for {actual}" if isinstance(actual, (str, os.PathLike)) else "not one record"
    raise InputError(golden, f"{wanted} among its {len(entries)} records")


def _same_path(listed: str, actual: PathLike) -> bool:
    """The golden set's path and the tested one are the same file (as spelled, or once resolved)."""
    return file_key(listed) == file_key(str(actual)) or Path(listed).resolve() == Path(actual).resolve()
