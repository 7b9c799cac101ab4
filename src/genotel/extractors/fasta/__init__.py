"""FASTA: sequence counts (with a matching .fai where one exists) and the probe's streams."""

from .extractor import FastaExtractor

__all__ = ["FastaExtractor"]
