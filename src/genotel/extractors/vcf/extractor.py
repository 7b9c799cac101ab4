"""VCF and BCF: the file opened as a reading (header facts, record batches), and its record.

VCF text is read with genotel's own numpy pass (`text.py`), which makes no Python object per
record. BCF is decoded by cyvcf2 (htslib): its header text, and each record rendered as the VCF
line `bcftools view` prints, batched into the same arrays. Both feed the same statistics:
counts and gVCF, probe streams and dictionary fields (`variants.py`, `fields.py`,
`dictionary.py`).
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import cyvcf2
import numpy as np
import pysam

from ...errors import FormatError, record_where
from ...options import Options
from ...record import format_contigs
from ...sniff import Sniffed
from ...stats.gain import GainProbe
from ...textio import REPLACEMENT_CHARACTER, decode_text, is_utf8, pysam_surrogate_escapes
from ..base import HEADER_UTF8_INVALID, Extraction, field_issues
from .dictionary import VcfDictionaryAccumulator
from .header import VcfHeader, chrom_line_columns, parse_header, vcf_programs
from .study import VcfStudyEvidence
from .text import TextScan, VcfBatch, record_batch
from .variants import VariantCountsAccumulator, VariantFieldsAccumulator

__all__ = ["VcfExtractor", "vcf_programs"]


def _silence_htslib() -> None:
    """Turn off the log of the htslib inside cyvcf2 (pysam's verbosity switch is another copy).

    Its messages would duplicate, and garble, genotel's one-line errors.
    """
    try:
        library = ctypes.CDLL(cyvcf2.cyvcf2.__file__)
        library.hts_set_log_level(0)  # HTS_LOG_OFF
    except (OSError, AttributeError):  # pragma: no cover - a cyvcf2 build without the symbol
        pass


_silence_htslib()


class VcfExtractor:
    """The VCF/BCF family."""

    data_types = ("VCF", "BCF")

    @contextlib.contextmanager
    def open(self, path: Path, sniffed: Sniffed, options: Options) -> Iterator[VcfReading]:
        with self._scan(path, sniffed, options) as (header, header_text, batches):
            yield VcfReading(path, sniffed, header, header_text, batches)

    @contextlib.contextmanager
    def _scan(
        self, path: Path, sniffed: Sniffed, options: Options
    ) -> Iterator[tuple[VcfHeader, bytes, Iterator[VcfBatch]]]:
        """The header, its text, and the record batches of one pass over the file."""
        if sniffed.data_type == "BCF":
            with open_bcf(path, options) as variants:
                text = bcf_header_bytes(path, variants)
                yield bcf_header(path, text), text, bcf_batches(path, variants, options.batch_size)
        else:
            scan = TextScan(path, sniffed.codec)
            header = scan.read_header()
            yield header, scan.header_text, scan.batches()


@dataclass
class VcfReading:
    """A VCF or BCF file opened for one pass (`base.Reading`)."""

    path: Path
    sniffed: Sniffed
    header: VcfHeader
    header_text: bytes
    record_batches: Iterator[VcfBatch]
    fallback: None = None

    def batches(self) -> Iterator[VcfBatch]:
        return self.record_batches

    def tally(self, probe: GainProbe | None) -> VcfTally:
        dictionary = VcfDictionaryAccumulator(self.header.info_text_keys, self.header.format_text_keys)
        study = VcfStudyEvidence(self.header_text, self.header.num_samples, self.header.programs)
        return VcfTally(VariantFieldsAccumulator(probe, dictionary), study)

    def extraction(self, tally: VcfTally, streams: list[tuple[str, int, int]] | None) -> Extraction:
        header, counts = self.header, tally.counts
        features: list[tuple[str, object]] = [
            ("num_lines", counts.records),
            ("num_samples", header.num_samples),
            ("hdr_contigs", format_contigs(header.num_contigs, header.contig_bases)),
            ("gvcf", "true" if counts.reference_blocks else "false"),
            ("study", tally.study.study()),
        ]
        if tally.trailing_tab_lines:
            features.append(("trailing_tab_lines", tally.trailing_tab_lines))
        if not is_utf8(self.header_text):
            features.append(HEADER_UTF8_INVALID)
        return Extraction(
            data_type=self.sniffed.data_type,
            codec=self.sniffed.codec,
            disk_size=self.path.stat().st_size,
            txt_size=header.text_size + counts.text_size,
            num_lines=counts.records,
            features=features,
            programs=list(header.programs),
            hash_issues=field_issues(tally.fields.dictionary_results()),
            streams=streams,
        )


class VcfTally:
    """Counts and gVCF, lines ending in tabs, probe streams, dictionary fields and the study's evidence."""

    def __init__(self, fields: VariantFieldsAccumulator, study: VcfStudyEvidence) -> None:
        self.counts = VariantCountsAccumulator()
        self.fields = fields
        self.study = study
        self.trailing_tab_lines = 0

    def add(self, batch: VcfBatch, within: int) -> None:
        self.counts.add(batch)
        self.fields.add(batch, within)
        self.study.add(batch, within)
        self.trailing_tab_lines += batch.trailing_tab_lines

    def close(self) -> None:
        self.fields.close()

    def abort(self) -> None:
        self.fields.abort()


@contextlib.contextmanager
def open_bcf(path: Path, options: Options) -> Iterator[cyvcf2.VCF]:
    """cyvcf2's reader of a BCF file, its header errors turned into `FormatError`."""
    threads = options.threads if options.threads > 1 else None
    try:
        # lazy: records are only rendered as text, cyvcf2 need not unpack them itself
        variants = cyvcf2.VCF(str(path), lazy=True, threads=threads)
    except Exception as exc:  # cyvcf2 raises a bare Exception for any htslib failure
        raise FormatError(path, f"cannot read the BCF header ({exc})") from exc
    try:
        yield variants
    finally:
        variants.close()


def bcf_header_bytes(path: Path, variants: cyvcf2.VCF) -> bytes:
    """The header text htslib renders for a BCF (as `bcftools view -h`), as bytes.

    cyvcf2 replaces bytes that are not UTF-8 by U+FFFD; such a header is rendered again by
    pysam's htslib, which gives the bytes back.
    """
    text = variants.raw_header
    if REPLACEMENT_CHARACTER not in text:
        return text.encode()
    with pysam_surrogate_escapes(), pysam.VariantFile(str(path)) as again:
        return str(again.header).encode("utf-8", "surrogateescape")


def bcf_header(path: Path, raw: bytes) -> VcfHeader:
    """Header facts from the header text htslib renders for a BCF (`bcf_header_bytes`)."""
    lines = decode_text(raw).rstrip("\n").split("\n")
    columns = chrom_line_columns(lines[-1]) if lines else None
    if columns is None:  # htslib always writes one; a failure here means a broken file
        raise FormatError(path, "cannot read the BCF header (no #CHROM line)")
    meta = [line for line in lines[:-1] if line.startswith("##")]
    return parse_header(meta, columns, len(raw))


def bcf_batches(path: Path, variants: cyvcf2.VCF, batch_size: int) -> Iterator[VcfBatch]:
    """BCF records rendered as VCF text lines, in batches shaped like VCF text batches."""
    records = iter(variants)
    first_record = 1
    while True:
        lines: list[str] = []
        try:
            lines.extend(str(variant) for variant in islice(records, batch_size))
        except Exception as exc:  # cyvcf2: a bare Exception for htslib read errors
            where = record_where(first_record + len(lines))
            raise FormatError(path, "corrupt or truncated BCF record (htslib cannot decode it)", where) from exc
        if not lines:
            return
        text = "".join(lines).encode()
        batch = record_batch(np.frombuffer(text, dtype=np.uint8), 0, 1, first_record, by_record=True)
        if len(batch) != len(lines):  # a line break inside a value: the text form would not parse
            raise FormatError(path, "BCF record holds a line break in a value", record_where(first_record))
        yield batch
        first_record += len(batch)
