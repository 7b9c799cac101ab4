"""Format extractors: one package per format family, all with the shape of `base.Extractor`.

The registry is `genotel.formats`; packages are imported on first use, so that reading a BAM
never pays for importing cyvcf2.
"""

from __future__ import annotations

from importlib import import_module

from ..formats import EXTRACTOR_CLASSES
from .base import Extraction, Extractor

_loaded: dict[str, Extractor] = {}


def extractor_for(data_type: str) -> Extractor | None:
    """The extractor of `data_type`, or None where genotel has none (yet)."""
    target = EXTRACTOR_CLASSES.get(data_type)
    if target is None:
        return None
    if target not in _loaded:
        module_name, class_name = target.split(":")
        module = import_module(f".{module_name}", __name__)
        _loaded[target] = getattr(module, class_name)()
    return _loaded[target]


__all__ = ["EXTRACTOR_CLASSES", "Extraction", "Extractor", "extractor_for"]
