"""GFF3 and GTF: features, programs from sources and comments, and the probe's streams."""

from .extractor import GffExtractor

__all__ = ["GffExtractor"]
