"""PAF: pairwise mappings, their queries (read names) and targets, the mapper, the probe's streams."""

from .extractor import PafExtractor

__all__ = ["PafExtractor"]
