"""Format sniffing: which data type and container a file is, from its bytes alone.

The file name and extension are never consulted: users rename files, and a `.bam` that is
really a SAM must be read as SAM. The container (BGZF, gzip, CRAM, BCF or none) is recognised
from its magic number, then the first decompressed bytes decide the data type.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import FormatError, InputError, UnknownFormat

GZIP_MAGIC = b"\x1f\x8b"
CRAM_MAGIC = b"CRAM"
BAM_MAGIC = b"BAM\x01"
BCF_MAGIC = b"BCF\x02"
PEEK_BYTES = 64 * 1024

_SAM_HEADER_LINE = re.compile(rb"^@(HD|SQ|RG|PG|CO)\t")
_SAM_RECORD = re.compile(rb"^[!-?A-~]{1,254}\t\d+\t\S+\t\d+\t\d+\t\S+\t\S+\t\d+\t-?\d+\t\S+\t\S+")
# A GTF attribute: `key value` (value quoted or not, as ERCC spike-in GTFs write it), the key
# separated by white space; GFF3 writes `key=value`.
# A UCSC `track` or `browser` line (BED headers).
_TRACK_LINE = re.compile(rb"^(?:track|browser)(?:[ \t]|$)")
_GTF_ATTRIBUTE = re.compile(rb"^\s*[A-Za-z_][\w.-]*[ \t]+[^\s=;]")


@dataclass(frozen=True)
class Sniffed:
    """What a file is: its data type (spec name) and its container codec."""

    data_type: str
    codec: str


def is_bgzf(head: bytes) -> bool:
    """A gzip member whose extra field carries the BGZF `BC` subfield."""
    return (
        len(head) >= 18
        and head[:2] == GZIP_MAGIC
        and head[3] & 4 != 0  # FEXTRA
        and head[12:14] == b"BC"
    )


def _inflate_head(path: Path, limit: int) -> bytes:
    """The first `limit` decompressed bytes of a gzip/BGZF file (fewer if the file is shorter)."""
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read(limit)
    except (OSError, EOFError, zlib.error) as exc:
        # A truncated first member still yields the bytes inflated so far.
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        with open(path, "rb") as raw:
            try:
                data = decompressor.decompress(raw.read(limit), limit)
            except zlib.error:
                raise FormatError(path, f"corrupt gzip data ({exc})") from exc
        if not data:
            raise FormatError(path, f"corrupt gzip data ({exc})") from exc
        return data


def classify_text(text: bytes) -> str | None:
    """The data type of a file whose first decompressed bytes are `text`, or None."""
    stripped = text.lstrip(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark is tolerated
    first_line = stripped.split(b"\n", 1)[0].rstrip(b"\r")
    if first_line.startswith(b"##fileformat=VCF"):
        return "VCF"
    if first_line.startswith(b"##gff-version"):
        # GTF is GFF version 2 with `key "value"` attributes, and some writers declare it so.
        if not first_line[len(b"##gff-version") :].strip().startswith(b"3"):
            return "GTF" if _classify_tabular(stripped) == "GTF" else "GFF"
        return "GFF"
    if _SAM_HEADER_LINE.match(first_line) or _SAM_RECORD.match(first_line):
        return "SAM"
    if first_line.startswith(b"@"):
        return "FASTQ"
    if first_line.startswith(b">") or first_line.startswith(b";"):
        return "FASTA"
    return _classify_tabular(stripped)


def _classify_tabular(text: bytes) -> str | None:
    """Tab-separated text, told apart by its first data line (after `#`, `track`, `browser` lines):

    PAF: at least 12 columns, columns 2-4 and 7-12 unsigned integers, column 5 a strand (`+`,
    `-`, or `*` in minimap2's lines for unmapped reads); BED: at least 3 columns, a contig, columns
    2 and 3 unsigned integers; GFF/GTF: 9 columns, columns 4 and 5 unsigned integers.
    """
    for line in text.split(b"\n")[:50]:
        line = line.rstrip(b"\r")
        if not line.strip() or line.startswith(b"#") or _TRACK_LINE.match(line):
            continue
        columns = line.split(b"\t")
        if is_paf_line(columns):
            return "PAF"
        if is_bed_line(columns):
            return "BED"
        if len(columns) != 9 or not (columns[3].isdigit() and columns[4].isdigit()):
            return None
        return "GTF" if is_gtf_attributes(columns[8]) else "GFF"
    return None


def is_paf_line(columns: list[bytes]) -> bool:
    """The 12 mandatory columns of a PAF line (its numbers, its strand)."""
    numbers = (1, 2, 3, 6, 7, 8, 9, 10, 11)
    return len(columns) >= 12 and columns[4] in (b"+", b"-", b"*") and all(columns[i].isdigit() for i in numbers)


def is_bed_line(columns: list[bytes]) -> bool:
    """A BED data line: a contig, then start and end as unsigned integers (the extractor checks start <= end)."""
    return len(columns) >= 3 and bool(columns[0]) and columns[1].isdigit() and columns[2].isdigit()


def is_gtf_attributes(column: bytes) -> bool:
    """Whether a column-9 value is in GTF syntax (`key value;`, quoted or not) rather than GFF3 (`key=value;`)."""
    first = column.split(b";", 1)[0]
    return _GTF_ATTRIBUTE.match(first) is not None and b"=" not in first.split(None, 1)[0]


def sniff(path: str | os.PathLike[str]) -> Sniffed:
    """Identify `path`; raise `InputError`/`UnknownFormat` for what cannot be read."""
    file = Path(path)
    if not file.exists():
        raise InputError(path, "no such file")
    if file.is_dir():
        raise InputError(path, "is a directory, not a file")
    try:
        with open(file, "rb") as raw:
            head = raw.read(PEEK_BYTES)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if not head:
        raise InputError(path, "is empty")
    if head.startswith(CRAM_MAGIC):
        return Sniffed("CRAM", "CRAM")
    if head.startswith(GZIP_MAGIC):
        codec = "BGZF" if is_bgzf(head) else "GZ"
        text = _inflate_head(file, PEEK_BYTES)
        if text.startswith(BAM_MAGIC):
            return Sniffed("BAM", codec)
        if text.startswith(BCF_MAGIC):
            return Sniffed("BCF", "BCF")
    elif head.startswith(BCF_MAGIC) or head.startswith(BAM_MAGIC):
        # Uncompressed BAM/BCF exist but are rare; htslib reads them as the same format.
        return Sniffed("BAM" if head.startswith(BAM_MAGIC) else "BCF", "NONE")
    else:
        codec, text = "NONE", head
    data_type = classify_text(text)
    if data_type is None:
        raise UnknownFormat(path, "unknown format (not SAM, BAM, CRAM, VCF, BCF, GFF, GTF, FASTQ, FASTA, BED or PAF)")
    return Sniffed(data_type, codec)
