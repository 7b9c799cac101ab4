"""`genotel diff OLD NEW` and `genotel check GOLDEN FILES...`: regression testing on records.

Exit codes as `diff`'s: 0 the same (within the tolerances), 1 different, 2 bad input (a file
that cannot be read or recorded, a bad option). `check` records the files in this process or a
local pool and never sends a record anywhere.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from .argtypes import fraction, positive_int, probe_codec
from .compare import IGNORED_BY_DEFAULT, SetDiff, compare_sets, included_keys, tolerance_of
from .diff_report import Sides, print_text, report_json
from .errors import InputError
from .options import DEFAULT_CODEC_LEVEL, Options
from .outputs import check_not_input, write_atomically
from .record_files import Entry, golden_lines, load_entries

EXIT_SAME, EXIT_DIFFERENT, EXIT_TROUBLE = 0, 1, 2


def register(commands: Any) -> None:
    """Add `diff` and `check` to the genotel command parser."""
    diff = commands.add_parser("diff", help="compare two records or two sets of records (exit 0 same, 1 different)")
    diff.add_argument("old", metavar="OLD", help="a record, a JSON array of records or JSON lines")
    diff.add_argument("new", metavar="NEW", help="the same, to compare with OLD")
    _comparison_options(diff)
    diff.set_defaults(handler=_diff)

    check = commands.add_parser("check", help="record FILES and compare them with the golden records")
    check.add_argument("golden", metavar="GOLDEN.jsonl", help="golden records, one JSON line per file")
    check.add_argument("files", nargs="+", metavar="FILE", help="the files to record, or folders to search")
    check.add_argument("--update", action="store_true",
                       help="rewrite GOLDEN: append new files, replace changed ones (after a review)")  # fmt: skip
    _comparison_options(check)
    check.add_argument("--sample", type=positive_int, metavar="N", help="statistics over the first N records only")
    check.add_argument("--reference", type=Path, metavar="FASTA", help="reference FASTA, for CRAM")
    check.add_argument("--threads", type=positive_int, default=1, metavar="N", help="decompression threads per file")
    check.add_argument("--codec", type=probe_codec, default=DEFAULT_CODEC_LEVEL, metavar="zstd-N",
                       help=f"codec of the compressibility probe (default zstd-{DEFAULT_CODEC_LEVEL})")  # fmt: skip
    check.add_argument("--gain-sample", type=fraction, metavar="F", help="compress a fraction F of each field stream")
    check.add_argument("--no-gain", dest="gain", action="store_false", help="skip the compressibility probe")
    check.add_argument("--jobs", type=positive_int, metavar="N", help="files in parallel (default as genotel record)")
    check.set_defaults(handler=_check)


def _comparison_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gain-tolerance", type=_tolerance, default=tolerance_of(0), metavar="T",
                        help="relative tolerance of fields_gain, genozip_gain and source_gain, e.g. 5%% "
                             "(default: equal as printed)")  # fmt: skip
    parser.add_argument("--include", type=_included, action="extend", default=[], metavar="KEY[,KEY]",
                        help=f"also compare these, ignored by default: {', '.join(IGNORED_BY_DEFAULT)}")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")


def _tolerance(text: str) -> object:
    try:
        return tolerance_of(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _included(text: str) -> list[str]:
    keys = [key.strip() for key in text.split(",") if key.strip()]
    try:
        return list(included_keys(keys or [text]))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _diff(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    old, new = load_entries(args.old), load_entries(args.new)
    diff = compare_sets(old, new, args.gain_tolerance, args.include)
    _print(diff, Sides(args.old, args.new, len(old), len(new), args.gain_tolerance, tuple(args.include)), args, out)
    return EXIT_SAME if diff.same else EXIT_DIFFERENT


def _print(diff: SetDiff, sides: Sides, args: argparse.Namespace, out: TextIO) -> None:
    if args.json:
        print(report_json(diff, sides), file=out)
    else:
        print_text(diff, sides, out)


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    golden_path = Path(args.golden)
    if not golden_path.exists() and not args.update:
        raise InputError(golden_path, "no such file (write it from the files with genotel check --update)")
    from .runner import expand_inputs

    paths = expand_inputs(args.files)
    if args.update:
        inputs = [*paths, *([args.reference] if args.reference else [])]
        check_not_input(golden_path, inputs, f"check --update {golden_path}")
    golden = load_entries(golden_path) if golden_path.exists() else []
    if args.update and any(entry.file is None for entry in golden):
        raise InputError(golden_path, "--update needs a file path in every entry (JSON lines of genotel check)")
    recorded, failures = _record_files(paths, args, err)
    diff = compare_sets(golden, recorded, args.gain_tolerance, args.include)
    sides = Sides(str(golden_path), "the files given", len(golden), len(recorded), args.gain_tolerance,
                  tuple(args.include))  # fmt: skip
    _print(diff, sides, args, out)
    if failures:
        if args.update:
            print(f"genotel: {failures} file(s) could not be recorded: {golden_path} left as it was", file=err)
        return EXIT_TROUBLE
    if args.update:
        _update(golden_path, diff, err)
        return EXIT_SAME
    return EXIT_SAME if diff.same else EXIT_DIFFERENT


def _record_files(paths: list[str], args: argparse.Namespace, err: TextIO) -> tuple[list[Entry], int]:
    """Each file's record (in the order given) and how many files failed, each failure said on `err`."""
    from .progress import BatchProgress
    from .runner import default_jobs, make_tasks, run_local

    options = Options(sample=args.sample, reference=args.reference, threads=args.threads, gain=args.gain,
                      codec_level=args.codec, gain_sample=args.gain_sample)  # fmt: skip
    tasks = make_tasks(paths)
    records: dict[int, Entry] = {}
    failures = 0
    with BatchProgress(err, tasks) as progress:
        for outcome in run_local(tasks, options, args.jobs or default_jobs(tasks)):
            progress.advance(outcome)
            if outcome.record is not None:
                records[outcome.task.index] = Entry(outcome.record, outcome.task.path)
                continue
            failures += 1
            problem = outcome.error or f"internal error (a bug) while reading {outcome.task.path}:\n{outcome.bug}"
            progress.say(f"genotel: error: {problem}")
    return [records[index] for index in sorted(records)], failures


def _update(path: Path, diff: SetDiff, err: TextIO) -> None:
    """Rewrite the golden file: changed entries replaced in place, new files appended, the rest kept."""
    kept: list[Entry] = []
    counts = {"replaced": 0, "appended": 0, "kept": 0}
    for file in diff.files:
        entry = file.old if file.status in ("same", "removed") else file.new
        counts["replaced" if file.status == "changed" else "appended" if file.status == "added" else "kept"] += 1
        kept.append(entry)  # type: ignore[arg-type]
    if counts["replaced"] or counts["appended"] or not path.exists():
        write_atomically(path, golden_lines(kept))
        note = f"{counts['replaced']} replaced, {counts['appended']} appended, {counts['kept']} kept"
    else:
        note = f"unchanged ({counts['kept']} kept)"
    print(f"genotel: {path}: {note}", file=err)
