"""Where genotel keeps its own files: configuration, spool, salt, the collector's database.

`GENOTEL_HOME`, when set, holds everything; otherwise the XDG base directories are used.
Folders genotel creates for itself are readable by their owner only (0700).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else Path.home() / fallback


def config_dir() -> Path:
    """GENOTEL_HOME, else $XDG_CONFIG_HOME/genotel, else ~/.config/genotel."""
    home = os.environ.get("GENOTEL_HOME")
    return Path(home) if home else _xdg("XDG_CONFIG_HOME", ".config") / "genotel"


def data_dir() -> Path:
    """GENOTEL_HOME, else $XDG_DATA_HOME/genotel, else ~/.local/share/genotel."""
    home = os.environ.get("GENOTEL_HOME")
    return Path(home) if home else _xdg("XDG_DATA_HOME", ".local/share") / "genotel"


def private_dir(path: Path) -> Path:
    """`path` as a folder: created with mode 0700 if missing (its parents with the default mode);
    an existing folder is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    return path
