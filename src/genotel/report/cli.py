"""The report commands: `genotel report` (an HTML page) and `genotel multiqc` (MultiQC custom content).

Handlers import plotly only when they run (the `report` extra), so that these commands cost
`genotel record` nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from ..errors import UsageError
from ..outputs import check_not_input
from . import require_plotly


def register(commands: Any) -> None:
    """Add `report` and `multiqc` to the genotel command parser."""
    report = commands.add_parser("report", help="an HTML report (plots, offline) of records")
    report.add_argument("inputs", nargs="+", metavar="RECORDS",
                        help="--telemetry files, --output JSON lines, `genotel records export` output")  # fmt: skip
    report.add_argument("-o", "--out", required=True, type=Path, metavar="HTML", help="the report to write")
    report.set_defaults(handler=_report)
    multiqc = commands.add_parser("multiqc", help="MultiQC custom-content files (*_mqc.json) from records")
    multiqc.add_argument("inputs", nargs="+", metavar="RECORDS", help="records, as for `genotel report`")
    multiqc.add_argument("-o", "--out", required=True, type=Path, metavar="DIR", help="folder for the *_mqc.json files")
    multiqc.set_defaults(handler=_multiqc)


def _report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    check_not_input(args.out, args.inputs, f"-o {args.out}")
    require_plotly()
    from .inputs import load_entries
    from .page import write_page
    from .records_page import records_page

    entries = load_entries(args.inputs)
    write_page(records_page(entries), args.out)
    print(f"wrote {args.out} ({len(entries)} records)", file=out)
    return 0


def _multiqc(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    require_plotly()
    from .inputs import load_entries
    from .multiqc import write_custom_content

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"{args.out} exists and is not a folder")
    entries = load_entries(args.inputs)
    written = write_custom_content(entries, args.out)
    print(f"wrote {len(written)} MultiQC custom-content files to {args.out} ({len(entries)} records)", file=out)
    return 0

