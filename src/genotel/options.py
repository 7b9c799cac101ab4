"""Options that shape a record, shared by the CLI, the engine and the extractors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Options:
    """What the user asked for; every field has the default a plain `genotel record` uses."""

    sample: int | None = None  # only the first N records feed the statistics
    reference: Path | None = None  # FASTA for CRAM decoding
    threads: int = 1  # htslib decompression threads per file
    batch_size: int = 8192  # records per columnar batch

    @property
    def sample_flag(self) -> str:
        return f"sample={self.sample}" if self.sample is not None else "sample=all"
