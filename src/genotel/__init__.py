"""genotel: per-file telemetry records for genomic compressors."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("genotel")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
