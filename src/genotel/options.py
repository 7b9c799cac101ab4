"""Options that shape a record, shared by the CLI, the engine and the extractors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_CODEC_LEVEL = 1  # zstd level of the gain probe, chosen by measurement (benchmarks/RESULTS.md)


@dataclass(frozen=True)
class Options:
    """What the user asked for; every field has the default a plain `genotel record` uses."""

    sample: int | None = None  # only the first N records feed the statistics
    reference: Path | None = None  # FASTA for CRAM decoding
    threads: int = 1  # htslib decompression threads per file
    batch_size: int = 8192  # records per columnar batch
    gain: bool = True  # run the compressibility probe (fields_gain, genozip_gain)
    codec_level: int = DEFAULT_CODEC_LEVEL  # zstd level of the probe
    gain_sample: float | None = None  # compress only this fraction of each stream's chunks
    redact: bool = False  # hash the example values of hash_issues
    deep: tuple[Path, ...] = ()  # FASTQ files to pair with an alignment file

    def flags(self, format_flags: list[str], probed: bool, file_index: int, file_count: int) -> list[str]:
        """The record's flags, in the contract's order; `format_flags` e.g. reference=EXTERNAL.

        `probed` says whether the compressibility probe ran; `codec=` names its codec then.
        """
        items = []
        if probed:
            items.append(f"codec=zstd-{self.codec_level}")
            if self.gain_sample is not None:
                items.append(f"gain_sample={self.gain_sample:g}")
        elif not self.gain:
            items.append("codec=none")
        items.append(f"sample={self.sample}" if self.sample is not None else "sample=all")
        items += format_flags
        if self.deep:
            items.append("deep")
        if self.redact:
            items.append("redact")
        items.append(f"file_i={file_index}/{file_count}")
        return items
