"""The client's commands: `activate`, `upload`, `records export|delete` and `analysis`.

Each handler imports the client (and through it httpx) only when it runs, so that adding these
commands costs `genotel record` nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from ..errors import UsageError


def register(commands: Any) -> None:
    """Add the client's subcommands to the genotel command parser."""
    activate = commands.add_parser("activate", help="activate a licence on this machine (and choose telemetry)")
    activate.add_argument("--server", metavar="URL", help="the collector, e.g. https://telemetry.example.org")
    activate.add_argument("--licence", "--license", type=int, metavar="N", help="licence number")
    given = activate.add_mutually_exclusive_group()
    given.add_argument("--key", metavar="KEY", help="licence key; `-` reads it from standard input (a key given here "
                       "is visible to other users in `ps`: prefer --key-file, --key - or GENOTEL_LICENCE_KEY)")
    given.add_argument("--key-file", metavar="PATH", help="read the licence key from this file")  # fmt: skip
    activate.add_argument(
        "--telemetry", choices=("yes", "no"),
        help="send a record for every file (paid licences; student and evaluation licences always send)",
    )  # fmt: skip
    activate.set_defaults(handler=_activate)

    upload = commands.add_parser("upload", help="send the records left in the spool")
    upload.set_defaults(handler=_upload)

    records = commands.add_parser("records", help="the activated licence's records on the collector")
    verbs = records.add_subparsers(dest="records_command", required=True, parser_class=type(records))
    export = verbs.add_parser("export", help="print every record of the licence as JSON lines")
    export.set_defaults(handler=_export)
    delete = verbs.add_parser("delete", help="delete every record of the licence from the collector")
    delete.add_argument("--yes", action="store_true", help="confirm: the deletion cannot be undone")
    delete.set_defaults(handler=_delete)

    analysis = commands.add_parser("analysis", help="where compression does badly, by technology and tool")
    analysis.add_argument("--json", action="store_true", help="print the analysis as JSON")
    analysis.add_argument("--html", type=Path, metavar="FILE", help="write the analysis as an HTML page with plots")
    analysis.add_argument("--min-size", type=int, default=0, metavar="BYTES",
                          help="only records of files of at least BYTES on disk")  # fmt: skip
    analysis.add_argument("--server", metavar="URL", help="the collector (default: the activated one)")
    analysis.add_argument(
        "--admin-token", metavar="TOKEN",
        help="operator token: analyse every licence's records (default: GENOTEL_ADMIN_TOKEN; else own records)",
    )  # fmt: skip
    analysis.set_defaults(handler=_analysis)


def _activate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import upload as client

    previous = client.load_config()
    server = (args.server or (previous.server if previous else "")).rstrip("/")
    licence = args.licence if args.licence is not None else (previous.licence if previous else None)
    key = _given_key(args, err) or (previous.key if previous and previous.licence == licence else None)
    if not server or licence is None or not key:
        raise UsageError("activate needs --server, --licence and a key: --key-file PATH, --key - (standard input) "
                         f"or {KEY_VARIABLE} (only --telemetry to switch an activation)")  # fmt: skip
    info = client.fetch_licence(server, licence, key)
    mandatory = bool(info["telemetry_mandatory"])
    if args.telemetry is not None:
        chosen = args.telemetry == "yes"
    else:  # re-activating without a choice keeps the previous one; a first activation opts out
        chosen = previous.telemetry if previous and previous.licence == licence else False
    config = client.ClientConfig(
        server=server, licence=licence, key=key, type=str(info["type"]),
        telemetry_mandatory=mandatory, telemetry=chosen or mandatory,
    )  # fmt: skip
    path = client.save_config(config)
    if mandatory:
        note = "telemetry is always on for this licence type"
        if args.telemetry == "no":
            note += " (--telemetry no does not apply)"
    else:
        note = f"telemetry {'on' if chosen else 'off'}"
    print(f"activated licence {licence} ({config.type}) on {server}: {note}; configuration in {path}", file=out)
    return 0


KEY_VARIABLE = "GENOTEL_LICENCE_KEY"


def _given_key(args: argparse.Namespace, err: TextIO) -> str | None:
    """The key from --key-file, from standard input (--key -), from --key (with a warning), or
    from GENOTEL_LICENCE_KEY; None if none of them gives one."""
    if args.key_file is not None:
        try:
            with open(args.key_file, encoding="utf-8") as stream:
                return stream.read(4096).strip() or _no_key(args.key_file)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{args.key_file}: cannot read the licence key: {exc.strerror or exc}") from exc
    if args.key == "-":
        return sys.stdin.readline(4096).strip() or _no_key("standard input")
    if args.key:
        print("genotel: warning: a key given with --key can be seen by other users of this machine (ps); "
              f"use --key-file, --key - or {KEY_VARIABLE}", file=err)  # fmt: skip
        return str(args.key)
    return os.environ.get(KEY_VARIABLE, "").strip() or None


def _no_key(origin: str) -> str:
    raise UsageError(f"{origin}: holds no licence key")


def _require_config() -> Any:
    from . import upload as client

    config = client.load_config()
    if config is None:
        raise UsageError("no licence is activated on this machine: run `genotel activate` first")
    return config


def _upload(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import upload as client

    config = _require_config()
    report = client.send_files(config, client.spooled(), err)
    print(f"sent {report.sent} record(s), {report.already} already stored, {report.kept} kept in the spool"
          + (f", {report.rejected} refused" if report.rejected else ""), file=out)  # fmt: skip
    if report.kept:
        print(f"genotel: upload failed ({report.reason}); the records stay in {client.spool_dir()}", file=err)
        return client.EXIT_UPLOAD_FAILED
    return client.EXIT_USAGE if report.rejected else 0  # refused records: set aside, but say so


def _records_path(config: Any) -> str:
    from ..service import protocol

    return f"{protocol.API_PREFIX}/licences/{config.licence}/records"


def _call(config: Any, method: str, path: str, admin_token: str | None = None) -> bytes:
    from . import upload as client

    with client.Session(config, admin_token=admin_token) as session:
        answer = session.request(method, path)
    if answer.status is None or not 200 <= answer.status < 300:
        raise UsageError(f"{method} {config.server}{path} failed: {answer.reason}")
    return answer.body


def _export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = _require_config()
    out.write(_call(config, "GET", _records_path(config)).decode("utf-8"))
    return 0


def _delete(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.yes:
        raise UsageError("records delete removes every record of the licence from the collector: add --yes")
    config = _require_config()
    answer = json.loads(_call(config, "DELETE", _records_path(config)))
    print(f"deleted {answer['deleted']} record(s) of licence {answer['licence']}", file=out)
    return 0


def _analysis(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..report import require_plotly
    from ..service import protocol
    from . import upload as client

    if args.html:
        require_plotly()  # before asking the collector for anything

    token = args.admin_token or os.environ.get("GENOTEL_ADMIN_TOKEN") or None
    config = client.load_config()
    if token is None and config is None:
        raise UsageError("analysis needs an activated licence (own records) or the admin token (all records)")
    if args.server or config is None:
        if not args.server:
            raise UsageError("analysis with the admin token needs --server (no licence is activated)")
        base = config or client.ClientConfig(args.server, 0, "", "", False, False)
        config = dataclasses.replace(base, server=args.server.rstrip("/"))
    if args.min_size < 0:
        raise UsageError(f"--min-size must be 0 or more bytes, not {args.min_size}")
    query = f"?min_size={args.min_size}" if args.min_size else ""
    result = json.loads(_call(config, "GET", f"{protocol.API_PREFIX}/analysis{query}", admin_token=token))
    if args.html:
        from ..report.analysis_page import write_analysis_page

        write_analysis_page(result, args.html)
        print(f"wrote {args.html} ({result['records']} records)", file=out)
    elif args.json:
        print(json.dumps(result, indent=2), file=out)
    else:
        print_analysis(result, out)
    return 0


def print_analysis(result: dict[str, Any], out: TextIO) -> None:
    """The analysis as a terminal table; groups flagged by the median marked `!`, by bytes `W`."""
    size = f", files of {result['min_size']:,}+ bytes" if result.get("min_size") else ""
    print(f"{result['records']} record(s), {result['scope']}{size}", file=out)
    for summary in result["data_types"]:
        weighted = summary.get("weighted_genozip_gain")
        print(f"  {summary['data_type']:<6} {summary['count']:>7} records, median gain {_gain(summary)}, "
              f"size-weighted {'-' if weighted is None else f'{weighted:.1f}'}", file=out)  # fmt: skip
    header = (f"  {'':2} {'type':<6} {'sequencer':<12} {'mapper':<10} {'var.caller':<14} {'base caller':<11} "
              f"{'study':<10}")  # fmt: skip
    print(f"\n{header} {'count':>7} {'gain':>6} {'vs type':>8} {'weighted':>8} {'vs type':>8} {'MB text':>9}"
          "  top fields (by bytes)", file=out)  # fmt: skip
    for group in result["groups"]:
        # `study` may be missing from a collector older than the study column
        names = [group.get(k) or "-" for k in ("sequencer", "mapper", "variant_caller", "base_caller", "study")]
        relative = _percent(group["vs_data_type_percent"])
        weighted, weighted_relative = group["weighted_genozip_gain"], _percent(group["weighted_vs_data_type_percent"])
        fields = ", ".join(f"{f['field']} {f['share']}%" for f in group["top_fields_by_bytes"] or group["top_fields"])
        marks = ("!" if group["flagged"] else " ") + ("W" if group["flagged_weighted"] else " ")
        print(
            f"  {marks} {group['data_type']:<6} {names[0]:<12.12} {names[1]:<10.10} {names[2]:<14.14} "
            f"{names[3]:<11.11} {names[4]:<10.10} {group['count']:>7} {_gain(group):>6} {relative:>8} "
            f"{'-' if weighted is None else f'{weighted:.1f}':>8} {weighted_relative:>8} "
            f"{group['text_bytes'] / 1e6:>9.1f}  {fields or '-'}",
            file=out,
        )
    below = f"more than {100 - 100 * result['flag_ratio']:.0f} % below its data type's"
    if any(group["flagged"] for group in result["groups"]):
        print(f"\n! median gain {below}", file=out)
    if any(group["flagged_weighted"] for group in result["groups"]):
        print(f"W size-weighted gain {below}, on at least 1 % of the data type's bytes", file=out)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}%"


def _gain(row: dict[str, Any]) -> str:
    value = row["median_genozip_gain"]
    return "-" if value is None else f"{value:.1f}"
