"""Where genotel keeps its own files: configuration, spool, salt, the collector's database.

`GENOTEL_HOME`, when set, holds everything; otherwise the XDG base directories are used.
"""

from __future__ import annotations

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
