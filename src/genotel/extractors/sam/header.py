"""What a SAM header says: producing programs, the aligner, contigs and declared sort order.

Pure string work on the header text, shared by SAM, BAM and CRAM (pysam hands all three over
as the same SAM header text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from ...textio import decode_text, is_utf8

# Suffixes that tools append to @PG IDs to keep them unique, stripped repeatedly:
# `.N`, `-N`, `.NA` (N digits, A one letter) and samtools merge's `-XXXXXXXX` (8 hex digits).
_ID_SUFFIX = re.compile(r"(?:[.-][0-9]+|\.[0-9]+[A-Za-z]|-[0-9A-Fa-f]{8})$")

# Aligners recognised for `mapper=`, in the spelling the record uses, each with a pattern
# matched (case-insensitively, whole string) against a @PG line's stripped ID, its PN and the
# file name of the first word of its CL. Data, not code: add a row to recognise another.
ALIGNERS: tuple[tuple[str, str], ...] = (
    ("bwa-mem2", r"bwa-?mem2"),
    ("bwa", r"bwa(-?mem|-?aln|-?sw)?"),
    ("minimap2", r"minimap2?"),
    ("bowtie2", r"bowtie2(-align(-[sl])?)?"),
    ("bowtie", r"bowtie(-align)?"),
    ("HISAT2", r"hisat2(-align(-[sl])?)?"),
    ("STAR", r"star(long)?"),
    ("BBMap", r"bbmap(\.sh)?"),
    ("Novoalign", r"novoalign(mpi)?"),
    ("DRAGEN", r"dragen([ _-].*)?"),
    ("pbmm2", r"pbmm2"),
    ("dorado", r"dorado"),
    ("TopHat", r"tophat2?"),
    ("NGMLR", r"ngmlr"),
    ("BLASR", r"blasr"),
    ("Winnowmap", r"winnowmap"),
    ("Bismark", r"bismark"),
    ("GSNAP", r"gsnap(l)?"),
    ("Subread", r"subread-align|subjunc"),
    ("LAST", r"lastal"),
)
_ALIGNER_PATTERNS = tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in ALIGNERS)


@dataclass
class SamHeader:
    """The facts genotel takes from a SAM header."""

    text: str  # bytes that are not UTF-8 are surrogate escapes here, so `raw_text` gives them back
    program_lines: list[dict[str, str]] = field(default_factory=list)
    contig_lengths: dict[str, int] = field(default_factory=dict)
    contig_md5: dict[str, str] = field(default_factory=dict)
    declared_sort_order: str | None = None

    @cached_property
    def raw_text(self) -> bytes:
        """The header text's bytes, as in the file (encoded once: a header can hold a 50 MB line)."""
        return self.text.encode("utf-8", "surrogateescape")

    @property
    def is_utf8(self) -> bool:
        return is_utf8(self.raw_text)

    @property
    def num_contigs(self) -> int:
        return len(self.contig_lengths)

    @property
    def contig_bases(self) -> int:
        return sum(self.contig_lengths.values())


def parse_header(text: str) -> SamHeader:
    """Parse SAM header text (the `@` lines) into `SamHeader`.

    The values are read from the text decoded by `textio.decode_text` (a byte that is not
    UTF-8 read as Latin-1), so no name taken from them holds U+FFFD or a surrogate.
    """
    header = SamHeader(text=text)
    for line in decode_text(text.encode("utf-8", "surrogateescape")).splitlines():
        record_type, _, rest = line.partition("\t")
        if record_type == "@CO":
            continue
        tags = dict(item.split(":", 1) for item in rest.split("\t") if ":" in item)
        if record_type == "@HD":
            header.declared_sort_order = tags.get("SO")
        elif record_type == "@SQ" and "SN" in tags:
            length = tags.get("LN", "0")
            header.contig_lengths[tags["SN"]] = int(length) if length.isdigit() else 0
            if "M5" in tags:
                header.contig_md5[tags["SN"]] = tags["M5"]
        elif record_type == "@PG":
            header.program_lines.append(tags)
    return header


def strip_program_id(program_id: str) -> str:
    """Remove the uniqueness suffixes tools add to @PG IDs (`samtools.3` -> `samtools`)."""
    while True:
        stripped = _ID_SUFFIX.sub("", program_id)
        if stripped == program_id or not stripped:
            return program_id
        program_id = stripped


def program_name(program_id: str | None, program_name_tag: str | None) -> str | None:
    """The name a @PG line contributes to `programs`, from its ID and PN.

    An ID that is only a number (`ID:0`, as htsjdk-based tools such as Drop-seq write it) names
    nothing: the PN is the name then, and a numeric ID without PN gives no name.
    """
    stripped = strip_program_id(program_id) if program_id else None
    if stripped and stripped.isdigit():
        stripped = None
        if not program_name_tag:
            return None
    if stripped and (not program_name_tag or program_name_tag.lower().startswith(stripped.lower())):
        return stripped
    if program_name_tag and not stripped:
        return program_name_tag
    if stripped and program_name_tag:
        return f"ID:{stripped} PN:{program_name_tag}"
    return None


def header_programs(header: SamHeader) -> list[str]:
    """Program names of every @PG line, in header order (dedup happens at rendering)."""
    names = (program_name(pg.get("ID"), pg.get("PN")) for pg in header.program_lines)
    return [name for name in names if name]


def _program_candidates(pg: dict[str, str]) -> list[str]:
    candidates = []
    if pg.get("ID"):
        candidates.append(strip_program_id(pg["ID"]))
    if pg.get("PN"):
        candidates.append(pg["PN"])
    command = pg.get("CL", "").split()
    if command:
        candidates.append(command[0].rsplit("/", 1)[-1])
    return candidates


def header_aligner(header: SamHeader) -> str | None:
    """The first recognised aligner among the @PG lines, in header order."""
    for pg in header.program_lines:
        for candidate in _program_candidates(pg):
            for name, pattern in _ALIGNER_PATTERNS:
                if pattern.fullmatch(candidate):
                    return name
    return None
