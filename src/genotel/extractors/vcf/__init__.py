"""VCF and BCF: header facts, genotel's own VCF text pass, cyvcf2 for BCF, and their statistics."""

from .extractor import VcfExtractor

__all__ = ["VcfExtractor"]
