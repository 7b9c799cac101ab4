"""The report of a comparison: readable text (colour on a terminal, plain when piped) or JSON."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

from rich.console import Console
from rich.text import Text

from .compare import IGNORED_BY_DEFAULT, Change, SetDiff

STATUS_STYLES = {"changed": "bold yellow", "added": "bold green", "removed": "bold red", "same": "green"}


@dataclass(frozen=True)
class Sides:
    """What was compared: the two sides' names and record counts, the tolerance, the included keys."""

    old_name: str
    new_name: str
    old_count: int
    new_count: int
    tolerance: Decimal
    include: tuple[str, ...] = ()

    @property
    def ignored(self) -> list[str]:
        return [key for key in IGNORED_BY_DEFAULT if key not in self.include]


def print_text(diff: SetDiff, sides: Sides, out: TextIO, colour: bool | None = None) -> None:
    """The report as text through rich: by default colour when `out` is a terminal, plain otherwise."""
    console = Console(file=out, force_terminal=colour, no_color=colour is False, highlight=False, soft_wrap=True,
                      emoji=False)  # fmt: skip
    for line in report_lines(diff, sides):
        console.print(line)


def report_text(diff: SetDiff, sides: Sides) -> str:
    """The report as plain text (the message of `genotel.testing`'s assertion errors)."""
    buffer = io.StringIO()
    print_text(diff, sides, buffer, colour=False)
    return buffer.getvalue()


def report_lines(diff: SetDiff, sides: Sides) -> list[Text]:
    if sides.old_count == sides.new_count == 1:
        header = f"{sides.old_name} vs {sides.new_name}"
    else:
        how = "by file" if diff.matched_by == "file" else "by order (not every record names its file)"
        counts = f"{sides.old_name}: {_records(sides.old_count)}; {sides.new_name}: {_records(sides.new_count)}"
        header = f"{counts}; matched {how}"
    lines = [Text(header, style="dim")]
    for file in diff.files:
        if file.status == "same":
            continue
        where = {"added": f" (only in {sides.new_name})", "removed": f" (only in {sides.old_name})"}
        lines.append(Text.assemble((file.name, "bold"), "  ", (file.status, STATUS_STYLES[file.status]),
                                   where.get(file.status, "")))  # fmt: skip
        lines += [_change_line(change) for change in file.changes]
    lines.append(Text(summary(diff, sides), style="bold green" if diff.same else "bold"))
    return lines


def _records(count: int) -> str:
    return f"{count} record{'s' * (count != 1)}"


def _change_line(change: Change) -> Text:
    label = change.field + (f" {change.item}" if change.item else "")
    line = Text.assemble("  ", (f"{label:<22}", "cyan"), " ")
    if change.old is None:
        line.append(f"+ {_shown(change.new)}", style="green")
    elif change.new is None:
        line.append(f"- {_shown(change.old)}", style="red")
    else:
        line.append_text(Text.assemble((_shown(change.old), "red"), " → ", (_shown(change.new), "green")))
    if change.note:
        line.append(f"  ({change.note})", style="dim")
    return line


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False) if value is None or not isinstance(value, str) else value


def summary(diff: SetDiff, sides: Sides) -> str:
    counts = {status: sum(file.status == status for file in diff.files) for status in STATUS_STYLES}
    parts = [f"{counts['same']} same"] + [f"{counts[status]} {status}" for status in ("changed", "added", "removed")
                                          if counts[status]]  # fmt: skip
    tolerance = f"gain tolerance {sides.tolerance:.1%}" if sides.tolerance else "gains exact as printed"
    ignored = f"; ignored: {', '.join(sides.ignored)}" if sides.ignored else ""
    verdict = "same" if diff.same else "different"
    return f"{verdict}: {', '.join(parts)} ({tolerance}{ignored})"


def report_json(diff: SetDiff, sides: Sides) -> str:
    """The report as one JSON document; every file is listed, the same ones too."""
    document = {
        "same": diff.same,
        "matched_by": diff.matched_by,
        "old": {"path": sides.old_name, "records": sides.old_count},
        "new": {"path": sides.new_name, "records": sides.new_count},
        "gain_tolerance": float(sides.tolerance),
        "ignored": sides.ignored,
        "files": [
            {"file": file.name, "status": file.status,
             "changes": [{"field": change.field, "item": change.item, "old": change.old, "new": change.new,
                          "note": change.note} for change in file.changes]}
            for file in diff.files
        ],
    }  # fmt: skip
    return json.dumps(document, indent=2, ensure_ascii=False)
