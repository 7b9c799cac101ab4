"""The files `genotel record` writes: the `--output` JSON lines and the `--telemetry=PATH` file.

Both refuse a path that is one of the run's inputs, and neither replaces or truncates a file that
genotel did not write: `--output` appends to an existing file only when it holds genotel's JSON
lines, and `--telemetry=PATH` replaces an existing file only when it holds genotel records (or
with `--force`). A partial last line (left by a crash) is cut off a genotel JSON lines file
before anything is appended.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import UsageError
from .record import SCHEMA

# Every `--output` line starts with these bytes (json.dumps of {"file": ..., "record": ...}).
JSONL_LINE_START = b'{"file": '
# A --telemetry file larger than this is not one genotel wrote (a record is a few KiB).
MAX_TELEMETRY_BYTES = 256 << 20


def check_not_input(path: Path, inputs: Iterable[str | Path], option: str) -> None:
    """Refuse to write `path` when it is one of the inputs (same resolved path or same inode).

    `option` names the path in the message as the user gave it (`--output FILE`, `--telemetry=FILE`).
    """
    target = _identity(path)
    for name in inputs:
        if (target is not None and _identity(Path(name)) == target) or path.resolve() == Path(name).resolve():
            raise UsageError(f"{option}: that is one of the input files; genotel never writes to an input")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def is_record(value: object) -> bool:
    """Whether a parsed JSON value is a genotel record (any schema version)."""
    return isinstance(value, dict) and str(value.get("schema", "")).startswith(SCHEMA.split("/")[0] + "/")


class JsonlOutput:
    """`--output FILE`: one line per recorded file, appended as files finish.

    A line is `{"file": <path as given>, "record": {...}}`: the file name stays in this local
    file (it is what --resume needs) and never enters the record itself. Each line is written
    with a single append, so a crash can leave at most one partial last line; opening the file
    cuts such a line off. `done` holds the files the existing lines record.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: set[str] = set()
        if path.is_dir():
            raise UsageError(f"--output {path}: is a folder; name a file")
        if path.exists():
            self._check_and_recover()
        self._descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _check_and_recover(self) -> None:
        with open(self.path, "rb") as stream:
            if stream.read(len(JSONL_LINE_START)) not in (b"", JSONL_LINE_START):
                raise self._not_ours("it does not start with a genotel record line")
            stream.seek(0)
            data = stream.read()
        whole = data[: data.rfind(b"\n") + 1]
        for number, line in enumerate(whole.splitlines(), 1):
            try:
                item = json.loads(line)
                file, record = item["file"], item["record"]
            except (ValueError, KeyError, TypeError):
                raise self._not_ours(f"line {number} is not a genotel record line") from None
            if not isinstance(file, str) or not is_record(record):
                raise self._not_ours(f"line {number} is not a genotel record line")
            self.done.add(file)
        partial = data[len(whole) :]
        if partial:
            if not partial.startswith(JSONL_LINE_START):
                raise self._not_ours(f"line {len(whole.splitlines()) + 1} is not a genotel record line")
            with open(self.path, "r+b") as stream:
                stream.truncate(len(whole))

    def _not_ours(self, why: str) -> UsageError:
        return UsageError(f"--output {self.path}: {why}; genotel appends only to its own JSON lines files")

    def write(self, file: str, record: dict[str, object]) -> None:
        line = json.dumps({"file": file, "record": record}, ensure_ascii=False) + "\n"
        os.write(self._descriptor, line.encode("utf-8"))

    def close(self) -> None:
        os.close(self._descriptor)


def check_telemetry_path(path: Path, force: bool) -> None:
    """Refuse a --telemetry path that exists and is not a genotel record file (unless `force`)."""
    if path.is_dir():
        raise UsageError(f"--telemetry={path}: is a folder; name a file")
    if force or not path.exists():
        return
    if not path.is_file() or path.stat().st_size > MAX_TELEMETRY_BYTES or not _holds_records(path):
        raise UsageError(f"--telemetry={path}: the file exists and genotel did not write it; "
                         "choose another path, or pass --force to replace it")  # fmt: skip


def _holds_records(path: Path) -> bool:
    try:
        value = json.loads(path.read_bytes())
    except (ValueError, OSError):
        return False
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(is_record(item) for item in items)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that a crash leaves either the old file or the whole new one.

    The new file keeps the old one's permissions; a new file gets the usual ones (0666 less the umask).
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
