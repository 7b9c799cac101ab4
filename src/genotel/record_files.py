"""Files of records: read one record or a set of them, and write a golden set as JSON lines.

Accepted shapes: a record (`genotel record --json`), a JSON array of records (`--json` with
several files, `--telemetry=PATH`), and JSON lines of records (`genotel records export`) or of
`{"file": PATH, "record": {...}}` entries (`genotel record --output`, `genotel check --update`).
Every record is validated against the record model; a bad file is one `InputError` line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from .errors import InputError, line_where
from .record import Record

VOLATILE_KEYS = ("record_id", "created")  # differ on every run: golden sets leave them out


@dataclass(frozen=True)
class Entry:
    """One record of a set; `file` is the path it describes when the set names it."""

    record: dict[str, object]
    file: str | None = None


def load_entries(path: str | os.PathLike[str]) -> list[Entry]:
    """The records in the file at `path`, in file order."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read it ({getattr(exc, 'strerror', None) or exc})") from exc
    return parse_entries(text, str(path))


def parse_entries(text: str, name: str) -> list[Entry]:
    """The records in `text` (read from `name`, which error messages quote)."""
    try:
        document = json.loads(text) if text.strip() else []
    except json.JSONDecodeError as exc:
        if not exc.msg.startswith("Extra data"):
            raise InputError(name, f"not JSON ({exc.msg})", line_where(exc.lineno)) from exc
        return _distinct_files([entry_of(value, name, number) for number, value in _json_lines(text, name)], name)
    items = document if isinstance(document, list) else [document]
    return _distinct_files([entry_of(value, name) for value in items], name)


def _json_lines(text: str, name: str) -> list[tuple[int, object]]:
    values = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(name, f"not a JSON line ({exc.msg})", line_where(number)) from exc
    return values


def entry_of(value: object, name: str, line: int | None = None) -> Entry:
    """A record or a `{"file", "record"}` entry (from `name`, at `line`), validated."""
    where = line_where(line) if line is not None else None
    if not isinstance(value, dict):
        raise InputError(name, f"expected a record (a JSON object), found {type(value).__name__}", where)
    file = value.get("file")
    record = value.get("record") if "record" in value else value
    if file is not None and not isinstance(file, str):
        raise InputError(name, "the entry's \"file\" is not a string", where)
    if not isinstance(record, dict):
        raise InputError(name, "the entry's \"record\" is not a JSON object", where)
    try:
        Record.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "record"
        raise InputError(name, f"not a genotel record ({field}: {first['msg']})", where) from exc
    return Entry(record, file)


def _distinct_files(entries: list[Entry], name: str) -> list[Entry]:
    """`entries`, unless two of them describe the same file (which one would count is unclear)."""
    seen: set[str] = set()
    for entry in entries:
        if entry.file is not None:
            if file_key(entry.file) in seen:
                raise InputError(name, f"two records describe {entry.file}")
            seen.add(file_key(entry.file))
    return entries


def file_key(file: str) -> str:
    """The key that matches two spellings of one path (`./a.bam` and `a.bam`)."""
    return os.path.normpath(file)


def stable(record: dict[str, object]) -> dict[str, object]:
    """The record without the keys that differ on every run."""
    return {key: value for key, value in record.items() if key not in VOLATILE_KEYS}


def golden_lines(entries: list[Entry]) -> str:
    """A golden set as JSON lines of `{"file", "record"}`, volatile keys left out."""
    lines = (json.dumps({"file": entry.file, "record": stable(entry.record)}, ensure_ascii=False) for entry in entries)
    return "".join(line + "\n" for line in lines)
