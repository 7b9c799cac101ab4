"""The command line: parse options, run the engine per file, and set the exit code.

`main(argv)` is callable from tests; `run()` is the console script. This module is the one
place where exceptions become exit codes: 0 all files done, 2 bad input or usage (every other
file is still done), 1 a bug.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import __version__, diff_cli
from .argtypes import fraction, positive_int, probe_codec
from .client import cli as client_cli
from .engine import assemble_record, extract
from .errors import GenotelError, UsageError
from .options import DEFAULT_CODEC_LEVEL, Options
from .outputs import JsonlOutput, check_not_input, check_telemetry_path, write_atomically
from .progress import BatchProgress
from .record import Record
from .report import cli as report_cli
from .runner import FileTask, default_jobs, expand_inputs, make_tasks, run_dask, run_local
from .service import cli as service_cli
from .sniff import sniff

EXIT_OK = 0
EXIT_BUG = 1
EXIT_BAD_INPUT = 2
SEND_ONCE = "\0send"  # `--telemetry` without a PATH

# Modules that add subcommands: each has `register(subparsers)`, and its subparsers set
# `handler(args, out, err) -> exit code`. They import lightly (no web framework at import).
COMMAND_MODULES = (client_cli, service_cli, diff_cli, report_cli)


class _RecordHelp(argparse.HelpFormatter):
    """`--telemetry[=PATH]` in the help: the PATH is only ever given after `=`."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if action.dest == "telemetry":
            return "--telemetry[=PATH]"
        return super()._format_action_invocation(action)

    def _format_usage(self, usage, actions, groups, prefix):  # type: ignore[no-untyped-def]
        return super()._format_usage(usage, actions, groups, prefix).replace("--telemetry =PATH", "--telemetry[=PATH]")


class _ArgumentParser(argparse.ArgumentParser):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)  # `--tele x.bam` must not become `--telemetry x.bam`
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="genotel", description="Telemetry records for genomics files.")
    parser.add_argument("--version", action="version", version=f"genotel {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    record = commands.add_parser(
        "record", help="make the telemetry record of each file", formatter_class=_RecordHelp,
        description="Read each genomics file once and make its telemetry record: producing programs, base "
        "qualities, the compressibility of each field and the values that would trouble a compressor. "
        "Records hold no file names, sample names, sequences or variants.",
    )  # fmt: skip
    record.set_defaults(handler=_record)
    record.add_argument("files", nargs="+", metavar="FILE",
                        help="SAM/BAM/CRAM, VCF/BCF, GFF/GTF, FASTQ or FASTA files, or folders to search")  # fmt: skip
    record.add_argument(
        "--telemetry", metavar="=PATH",
        help="alone: send this run's records; --telemetry=PATH: write the exact record(s) to PATH and send nothing",
    )  # fmt: skip
    record.add_argument("--force", action="store_true",
                        help="let --telemetry=PATH replace an existing file that genotel did not write")  # fmt: skip
    record.add_argument("--json", action="store_true", help="print the record(s) as JSON on stdout")
    record.add_argument("--sample", type=positive_int, metavar="N", help="statistics over the first N records only")
    record.add_argument("--reference", type=Path, metavar="FASTA", help="reference FASTA, for CRAM")
    record.add_argument("--threads", type=positive_int, default=1, metavar="N", help="decompression threads per file")
    record.add_argument("--codec", type=probe_codec, default=DEFAULT_CODEC_LEVEL, metavar="zstd-N",
                        help=f"codec of the compressibility probe (default zstd-{DEFAULT_CODEC_LEVEL})")  # fmt: skip
    record.add_argument("--gain-sample", type=fraction, metavar="F",
                        help="compress only a fraction F (0 < F <= 1) of each field stream, and scale")  # fmt: skip
    record.add_argument("--no-gain", dest="gain", action="store_false", help="skip the compressibility probe")
    record.add_argument("--redact", action="store_true", help="hash the example values in hash_issues")
    record.add_argument("--deep", action="append", type=Path, metavar="FASTQ",
                        help="pair FASTQ reads with each SAM/BAM/CRAM's alignments: --deep R1 [--deep R2]")  # fmt: skip
    record.add_argument("--jobs", type=positive_int, metavar="N",
                        help="files in parallel (default: one per core for inputs of 64 MiB or more)")  # fmt: skip
    record.add_argument("--output", metavar="FILE", help="append one JSON line per recorded file as files finish")
    record.add_argument("--resume", action="store_true", help="with --output: skip the files already in FILE")
    record.add_argument("--dask", metavar="tcp://HOST:PORT", help="run on this Dask scheduler (genotel[dask])")
    inspect = commands.add_parser(
        "inspect", help="show the compressibility probe of a file as a table",
        description="Compress each field stream of FILE and show, per field, its text size, compressed size, "
        "share of the compressed total and ratio; then the file's record.",
    )  # fmt: skip
    inspect.set_defaults(handler=_inspect)
    inspect.add_argument("file", metavar="FILE")
    inspect.add_argument("--codec", type=probe_codec, default=DEFAULT_CODEC_LEVEL, metavar="zstd-N")
    inspect.add_argument("--gain-sample", type=fraction, metavar="F")
    inspect.add_argument("--reference", type=Path, metavar="FASTA", help="reference FASTA, for CRAM")
    inspect.add_argument("--threads", type=positive_int, default=1, metavar="N")
    for module in COMMAND_MODULES:
        module.register(commands)  # each sets `handler` on its subparsers
    return parser


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = build_parser().parse_args(telemetry_without_path(sys.argv[1:] if argv is None else argv))
        return int(args.handler(args, out, err))
    except GenotelError as exc:
        print(f"genotel: error: {exc}", file=err)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("genotel: interrupted", file=err)
        return 130


def telemetry_without_path(argv: Sequence[str]) -> list[str]:
    """In `genotel record`, `--telemetry` alone never takes the next word as its PATH: only
    `--telemetry=PATH` names one. (`activate --telemetry yes|no` keeps its value.)"""
    words = list(argv)
    if next((word for word in words if not word.startswith("-")), None) != "record":
        return words
    end = words.index("--") if "--" in words else len(words)
    return [f"--telemetry={SEND_ONCE}" if word == "--telemetry" and at < end else word for at, word in enumerate(words)]


def _record(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    options = Options(
        sample=args.sample, reference=args.reference, threads=args.threads, gain=args.gain,
        codec_level=args.codec, gain_sample=args.gain_sample, redact=args.redact, deep=tuple(args.deep or ()),
    )  # fmt: skip
    if args.resume and not args.output:
        raise UsageError("--resume needs --output FILE (the records already made are read from it)")
    paths = expand_inputs(args.files)
    if not paths:
        raise UsageError(f"no genomics files found in {', '.join(args.files)}")
    if options.deep:
        check_deep(options.deep, paths)
    inputs = [*paths, *options.deep, *([options.reference] if options.reference else [])]
    telemetry_path = Path(args.telemetry) if args.telemetry not in (None, SEND_ONCE) else None
    if telemetry_path is not None:
        check_not_input(telemetry_path, inputs, f"--telemetry={telemetry_path}")
        check_telemetry_path(telemetry_path, args.force)
    output = None
    if args.output:
        check_not_input(Path(args.output), inputs, f"--output {args.output}")
        if telemetry_path is not None and Path(args.output).resolve() == telemetry_path.resolve():
            raise UsageError(f"--output and --telemetry name the same file: {args.output}")
        output = JsonlOutput(Path(args.output))
    from .client import upload

    tasks = make_tasks(paths)
    to_run = [task for task in tasks if not args.resume or task.path not in output.done]  # type: ignore[union-attr]
    jobs = args.jobs or default_jobs(to_run)
    licence = upload.load_config()  # its number goes into every copy of a record (license_num)
    outcomes = run_dask(to_run, options, args.dask) if args.dask else run_local(to_run, options, jobs)
    by_index: dict[int, Record] = {}
    failures: list[str] = []
    exit_code = EXIT_OK
    with BatchProgress(err, to_run) as progress:
        for outcome in outcomes:
            progress.advance(outcome)
            if outcome.error is not None:
                progress.say(f"genotel: error: {outcome.error}")
                failures.append(outcome.error)
                exit_code = max(exit_code, EXIT_BAD_INPUT) if exit_code != EXIT_BUG else EXIT_BUG
                continue
            if outcome.bug is not None:  # a bug: say so loudly, but still do the other files
                progress.say(f"genotel: internal error (a bug) while reading {outcome.task.path}:\n{outcome.bug}")
                failures.append(f"{outcome.task.path}: internal error (a bug)")
                exit_code = EXIT_BUG
                continue
            record = Record.from_dict(outcome.record)  # type: ignore[arg-type]
            if licence is not None:
                record = upload.stamp([record], licence)[0]
            by_index[outcome.task.index] = record
            if output is not None:
                output.write(outcome.task.path, record.to_dict())
            if not args.json:
                print_summary(outcome.task.path, record, out)
    if output is not None:
        output.close()
    if is_batch(args, tasks):
        print_batch_summary(len(tasks), len(to_run), failures, err)
    records = [by_index[index] for index in sorted(by_index)]
    return _deliver(args, records, exit_code, out, err)


def _inspect(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The probe as a table (field, text size, compressed size, share, ratio), then the record."""
    options = Options(reference=args.reference, threads=args.threads, codec_level=args.codec,
                      gain_sample=args.gain_sample)  # fmt: skip
    extraction = extract(args.file, options)
    record = assemble_record(extraction, options, 1, 1)
    streams = sorted(extraction.streams or [], key=lambda stream: (-stream[2], stream[0]))
    total = sum(compressed for _, _, compressed in streams) or 1
    print(f"{'field':<24} {'text bytes':>14} {'compressed':>12} {'share':>7} {'ratio':>9}", file=out)
    for name, text, compressed in streams:
        share = 100 * compressed / total
        print(f"{name:<24} {text:>14,} {compressed:>12,} {share:>6.1f}% {text / compressed:>8.1f}X", file=out)
    print(f"{'total':<24} {sum(s[1] for s in streams):>14,} {total:>12,} {100:>6.1f}% "
          f"{record.genozip_gain or 0:>8.1f}X\n", file=out)  # fmt: skip
    print_summary(args.file, record, out)
    return EXIT_OK


def _deliver(args: argparse.Namespace, records: list[Record], exit_code: int, out: TextIO, err: TextIO) -> int:
    """Print, write and send the records of a run, as the options say."""
    from .client import upload

    if args.json and records:
        print(_records_json(records), file=out)
    send_once = args.telemetry == SEND_ONCE
    if args.telemetry and not send_once and records:
        write_atomically(Path(args.telemetry), _records_json(records) + "\n")  # checked before the run
        return exit_code  # --telemetry=PATH: written, never sent
    if records:
        exit_code = max(exit_code, int(upload.deliver(records, send_once, err)))
    return exit_code


def check_deep(fastqs: tuple[Path, ...], paths: list[str]) -> None:
    """--deep takes one or two FASTQ files and pairs them with alignment files only."""
    if len(fastqs) > 2:
        raise UsageError(f"--deep takes one or two FASTQ files (--deep R1 [--deep R2]), got {len(fastqs)}")
    for path in paths:
        try:
            data_type = sniff(path).data_type
        except GenotelError:
            continue  # reported with the file itself
        if data_type not in ("SAM", "BAM", "CRAM"):
            raise UsageError(f"--deep pairs FASTQ reads with alignments, but {path} is {data_type}, not SAM/BAM/CRAM")


BATCH_MIN_FILES = 10


def is_batch(args: argparse.Namespace, tasks: list[FileTask]) -> bool:
    """A batch (a folder, --output, --dask or many files) ends with a summary of its failures.

    A plain `genotel record a.bam b.vcf` does not: each failure is already its one line.
    """
    folders = any(Path(name).is_dir() for name in args.files)
    return folders or bool(args.output) or bool(args.dask) or len(tasks) > BATCH_MIN_FILES


def print_batch_summary(total: int, ran: int, failures: list[str], err: TextIO) -> None:
    """The end of a batch: how many files were recorded, and what failed and why."""
    skipped = total - ran
    done = ran - len(failures)
    parts = [f"{done} recorded", f"{len(failures)} failed"] + ([f"{skipped} already recorded"] if skipped else [])
    print(f"genotel: {total} files: {', '.join(parts)}", file=err)
    for failure in failures:
        print(f"  failed: {failure}", file=err)


def _records_json(records: list[Record]) -> str:
    """One object for one record, an array for several: what --telemetry and --json write."""
    data = records[0].to_dict() if len(records) == 1 else [record.to_dict() for record in records]
    return json.dumps(data, indent=2, ensure_ascii=False)


def print_summary(name: str, record: Record, out: TextIO) -> None:
    """A readable summary of one record for the terminal."""
    source = record.source
    print(f"{name}: {record.data_type} ({source.codec})", file=out)
    rows = [
        ("records", f"{source.num_lines:,}"),
        ("size", f"{source.disk_size:,} bytes on disk, {source.txt_size:,} as text ({record.source_gain}x)"),
        ("programs", record.programs or "-"),
        ("features", record.features),
        ("qual_acgt", record.qual_acgt or "-"),
        ("fields_gain", record.fields_gain or "-"),
        ("hash_issues", "; ".join(record.hash_issues) or "-"),
        ("flags", record.flags),
    ]
    for label, value in rows:
        print(f"  {label:<12} {value}", file=out)


def run() -> None:
    """Console-script entry point."""
    try:
        sys.exit(main())
    except BrokenPipeError:  # `genotel ... | head`: the reader left; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)
