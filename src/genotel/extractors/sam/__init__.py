"""SAM, BAM and CRAM: header facts, the fast BAM reader, htslib for the rest, and their statistics."""

from .extractor import SamExtractor

__all__ = ["SamExtractor"]
