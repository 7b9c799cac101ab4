"""Writing a report's files: only new files, or files an earlier genotel report wrote."""

from __future__ import annotations

from pathlib import Path

from genotel.errors import UsageError
from genotel.outputs import write_atomically

HEAD_BYTES = 4096


def check_replaceable(path: Path, marker: str) -> None:
    """Refuse to replace `path` unless it is missing or its start holds `marker` (genotel wrote it)."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name")
    if not path.exists():
        if not path.parent.resolve().is_dir():
            raise UsageError(f"{path.parent} does not exist")
        return
    try:
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES).decode("utf-8", "replace")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it to check it is a genotel report ({exc})") from None
    if marker not in head:
        raise UsageError(f"{path} exists and was not written by genotel; remove it or choose another name")


def write_text(path: Path, text: str, marker: str) -> None:
    """Write `text` to `path` atomically, if `path` may be replaced (see check_replaceable)."""
    check_replaceable(path, marker)
    write_atomically(path, text)
