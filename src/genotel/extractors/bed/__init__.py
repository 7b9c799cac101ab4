"""BED: intervals, their contigs and sort order, header programs and the probe's streams."""

from .extractor import BedExtractor

__all__ = ["BedExtractor"]
