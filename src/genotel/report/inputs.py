"""Reading records for a report: `--telemetry=PATH` files, `--output` JSON lines, `records export`.

Each input is a JSON object (one record), a JSON array of records, or JSON lines whose items are
records or `{"file": PATH, "record": {...}}` (what `--output` writes). Only the `--output` form
carries a path; it is kept as the entry's label because that file is local to its user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from genotel.errors import UsageError
from genotel.record import Record


@dataclass(frozen=True)
class Entry:
    """One record of a report and how the report names it."""

    label: str
    record: Record
    path: str | None = None  # the file's path, only when the input line carried one


def load_entries(paths: list[str]) -> list[Entry]:
    """Every record of every input, in input order; a bad input raises UsageError naming it."""
    entries: list[Entry] = []
    for name in paths:
        for item, where in _items(Path(name)):
            entries.append(_entry(item, f"{name}{where}"))
    if not entries:
        raise UsageError(f"no records in {', '.join(paths)}")
    return _unique_labels(entries)


def _items(path: Path) -> list[tuple[object, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read records ({exc.__class__.__name__}: {exc})") from None
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, list):
        return [(item, f" item {index + 1}") for index, item in enumerate(whole)]
    if isinstance(whole, dict):
        return [(whole, "")]
    items: list[tuple[object, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((json.loads(line), f" line {number}"))
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path} line {number}: not JSON ({exc.msg}); expected records") from None
    return items


def _entry(item: object, where: str) -> Entry:
    path = None
    if isinstance(item, dict) and set(item) == {"file", "record"}:
        path, item = str(item["file"]), item["record"]
    if not isinstance(item, dict):
        raise UsageError(f"{where}: not a genotel record (a JSON object was expected)")
    try:
        record = Record.from_dict(item)
    except ValidationError as exc:
        problem = exc.errors()[0]
        location = ".".join(str(part) for part in problem["loc"]) or "record"
        raise UsageError(f"{where}: not a genotel record ({location}: {problem['msg']})") from None
    label = path if path is not None else f"{record.data_type} {record.record_id[:8]}"
    return Entry(label, record, path)


def _unique_labels(entries: list[Entry]) -> list[Entry]:
    """Labels are plot categories, so they must differ: a repeated one gets ` (2)`, ` (3)`..."""
    seen: dict[str, int] = {}
    unique = []
    for entry in entries:
        count = seen[entry.label] = seen.get(entry.label, 0) + 1
        unique.append(entry if count == 1 else Entry(f"{entry.label} ({count})", entry.record, entry.path))
    return unique
