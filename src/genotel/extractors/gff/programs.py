"""Program names in GFF3/GTF files: source columns, producer directives, tool signatures.

Applies docs/record.md's GFF/GTF `programs` rules: the distinct column-2 sources (`.` and
Ensembl/GENCODE biotypes excluded, GFF3 %-unescaped) with a trailing version tag removed, the
producer directives (`#!processor`, `#!annotation-source`, `##source-version`, `##provider:`),
the tool signatures of the comment block before the first feature line, and `Prodigal` for a
feature with `score`, `cscore` and `sscore`.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from ...textio import decode_text
from ..programs import strip_version
from .biotypes import is_biotype

MAX_NAME_CHARS = 100

_DIRECTIVES = (
    re.compile(r"^#!processor\s+(.+)$"),
    re.compile(r"^#!annotation-source\s+(.+)$"),
    re.compile(r"^##source-version\s+(.+)$"),
    re.compile(r"^##provider:\s*(.+)$"),
)
_HEADER_SIGNATURES = (
    (re.compile(r"^#+\s*gffread\s+v?\d"), "gffread"),
    (re.compile(r"^#+.*\bgenerated with AUGUSTUS\b"), "AUGUSTUS"),
    (re.compile(r"^#+\s*Annotated with Bakta\b"), "Bakta"),
    (re.compile(r"^#+\s*StringTie version\b"), "StringTie"),
)
_WHITESPACE = re.compile(r"\s+")
PRODIGAL_SCORES = frozenset({"score", "cscore", "sscore"})


def program_name(source: str, unescape: bool = False) -> str | None:
    """The program named by a source column value, or None for `.` and empty values."""
    if unescape and "%" in source:
        source = unquote(source)
    source = _WHITESPACE.sub(" ", source).strip()
    if source in ("", "."):
        return None
    return strip_version(source)[:MAX_NAME_CHARS]


def source_program(source: str, unescape: bool = False) -> str | None:
    """The program a column-2 value names: None for `.`, empty values and Ensembl biotypes."""
    if is_biotype(source.strip()):
        return None
    return program_name(source, unescape)


def comment_program(line: str, in_header: bool) -> str | None:
    """The program a directive or comment line names, or None.

    `in_header` says the line lies before the first feature line, where tool signatures live.
    """
    line = line.strip()
    for pattern in _DIRECTIVES:
        match = pattern.match(line)
        if match:
            return program_name(match.group(1))
    if in_header:
        for pattern, name in _HEADER_SIGNATURES:
            if pattern.match(line):
                return name
    return None


def attribute_keys(attributes: bytes, gtf: bool) -> set[str]:
    """The keys of a column-9 value: `key=value;` (GFF3) or `key "value";` (GTF)."""
    keys = set()
    for item in decode_text(attributes).split(";"):
        item = item.strip()
        if item:
            separator = " " if gtf and "=" not in item else "="
            keys.add(item.split(separator, 1)[0].strip())
    return keys


def has_prodigal_scores(attributes: bytes, gtf: bool) -> bool:
    """Whether the attributes hold all of Prodigal's `score`, `cscore` and `sscore`."""
    return attribute_keys(attributes, gtf) >= PRODIGAL_SCORES
