"""Read-name flavour, dictionary-field cardinality and the probe over SAM/BAM/CRAM records.

`SamDiagnostics` takes the same `AlignmentBatch`es from both read paths; each batch's
`sam_text(full)` is built only as far as needed: the whole text while the probe runs, only the
dictionary columns with `--no-gain`, nothing past `--sample N`. A part of a file read in another
process is `seal`ed there (its probe becomes stream sizes) and `merge`d here in file order:
stream text sizes, read-name samples and dictionary fields as in one process; compressed sizes
differ by a few bytes per stream, since chunk boundaries fall differently.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ...options import Options
from ...stats.cardinality import CardinalityResult
from ...stats.gain import StreamSize, probe_for
from ...stats.readnames import UNKNOWN, UNKNOWN_TECHNOLOGY, ReadNameAccumulator, ReadNameResult
from .batch import AlignmentBatch
from .fields import SAM_COLUMNS, SamDictionaryAccumulator, SamText, add_sam_streams

HEADER_STREAM = "TXT_HEADER"
# `@RG PL:` values (SAM spec, upper-cased) as the technology names the read-name flavours use.
PLATFORMS = {
    "ILLUMINA": "Illumina",
    "ONT": "ONT",
    "NANOPORE": "ONT",
    "PACBIO": "PacBio",
    "IONTORRENT": "IonTorrent",
    "ELEMENT": "Element",
    "ULTIMA": "Ultima",
    "DNBSEQ": "MGI",
    "MGI": "MGI",
    "BGI": "MGI",
    "LS454": "LS454",
    "SOLID": "SOLiD",
    "CAPILLARY": "Capillary",
    "HELICOS": "Helicos",
    "SINGULAR": "Singular",
}


class SamDiagnostics:
    """Read names, dictionary fields and probe streams of the records of a file (or a part of it)."""

    def __init__(self, options: Options) -> None:
        self.sample = options.sample
        self.names = ReadNameAccumulator()
        self.dictionary = SamDictionaryAccumulator()
        self.sampled = 0  # records that fed the names and dictionary fields
        self.probe = probe_for(options, threads=max(1, options.threads))
        self.gain = options.gain
        self.streams: list[StreamSize] = []  # the probe's result, once sealed

    def add(self, batch: AlignmentBatch) -> None:
        count = len(batch)
        within = count if self.sample is None else max(0, min(count, self.sample - batch.first_record + 1))
        if within and not self.names.full:
            room = min(within, self.names.sample_names - len(self.names.names))
            self.names.add([batch.names[index] for index in range(room)])
        if (self.probe is None and not within) or batch.sam_text is None:
            return
        text = batch.sam_text(self.probe is not None)
        if self.probe is not None:
            add_sam_streams(self.probe, text)
        if within:
            self.dictionary.add(text if within == count else head_text(text, within))
            self.sampled += within

    def seal(self) -> None:
        """Finish the probe (its threads stop); the part can now be pickled and merged."""
        if self.probe is not None:
            self.streams = self.probe.result()
            self.probe = None

    def close(self) -> None:
        """Stop the probe's threads after an error, without waiting for them."""
        if self.probe is not None:
            self.probe.close()

    def merge(self, other: SamDiagnostics) -> None:
        """Merge the sealed diagnostics of the part of the file that follows this one."""
        self.seal()
        self.names.merge(other.names)
        for name, field in other.dictionary.fields.items():
            if name in self.dictionary.fields:
                self.dictionary.fields[name].merge(field)
            else:
                self.dictionary.fields[name] = field
        self.sampled += other.sampled
        sizes = {size.name: size for size in self.streams}
        for size in other.streams:
            mine = sizes.get(size.name)
            if mine is None:
                sizes[size.name] = StreamSize(size.name, size.text_size, size.compressed_size)
            else:
                sizes[size.name] = StreamSize(
                    size.name, mine.text_size + size.text_size, mine.compressed_size + size.compressed_size
                )
        self.streams = list(sizes.values())

    def read_names(self, header_text: str) -> ReadNameResult:
        """Flavour, technology (or the header's platform) and misfit names."""
        result = self.names.result() or ReadNameResult(UNKNOWN, UNKNOWN_TECHNOLOGY)
        if result.technology == UNKNOWN_TECHNOLOGY:
            result.technology = header_platform(header_text) or UNKNOWN_TECHNOLOGY
        return result

    def field_results(self) -> list[CardinalityResult]:
        """Every dictionary field's distinct values, in `field_rank` order (not the batching's)."""
        return sorted(self.dictionary.results(self.sampled), key=lambda result: field_rank(result.name))

    def stream_sizes(self, header: bytes, options: Options) -> list[tuple[str, int, int]] | None:
        """Every probe stream, `TXT_HEADER` first (compressed on its own), or None without the probe."""
        self.seal()
        if not self.gain:
            return None
        streams = []
        if header:
            header_probe = probe_for(options, threads=1)
            assert header_probe is not None  # the probe is on (self.gain)
            with header_probe as probe:
                probe.add(HEADER_STREAM, header)
                streams = probe.result()
        # A fixed order (header, columns, tags by name, Other), whatever the batching was.
        rank = {name: index for index, name in enumerate(SAM_COLUMNS)}
        ordered = sorted(self.streams, key=lambda size: (size.name == "Other", rank.get(size.name, 99), size.name))
        return [(size.name, size.text_size, size.compressed_size) for size in streams + ordered]


def field_rank(name: str) -> tuple[int, int, str]:
    """Dictionary fields in a fixed order: QNAME, its tokens by number, RNAME, CIGAR, tags by name."""
    if name == "QNAME":
        return (0, 0, "")
    if name.startswith("QNAME") and name[5:].isdigit():
        return (1, int(name[5:]), "")
    return (2, {"RNAME": 0, "CIGAR": 1}.get(name, 2), name)


def header_platform(header_text: str) -> str | None:
    """The most common `PL:` of the header's @RG lines, as a technology name (None without one)."""
    platforms: Counter[str] = Counter()
    for line in header_text.splitlines():
        if line.startswith("@RG\t"):
            for item in line.split("\t")[1:]:
                if item.startswith("PL:") and item[3:].strip():
                    value = item[3:].strip()
                    platforms[PLATFORMS.get(value.upper(), value)] += 1
    return platforms.most_common(1)[0][0] if platforms else None


def head_text(text: SamText, count: int) -> SamText:
    """The SAM text of the first `count` records of a batch."""
    columns = {}
    for name, column in text.columns.items():
        keep = count if column.records is None else int(np.searchsorted(column.records, count))  # in file order
        if keep:
            columns[name] = column.subset(slice(0, keep))
    return SamText(count, columns, text.fields_per_record[:count])
