"""FASTQ: the numpy record parser, read names and lengths, and the probe's streams."""

from .extractor import FastqExtractor

__all__ = ["FastqExtractor"]
