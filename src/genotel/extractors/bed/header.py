"""Program names in BED header lines: a table of the tools whose track or comment lines name them.

BED has no producer field; a few tools write a `track` or `#` line that says who wrote the file.
`PROGRAM_SIGNATURES` is data (name, pattern), matched in every header line (`#`, `track`,
`browser`) before the first data line and in later `track` lines, first appearance first. Track
names and descriptions are otherwise the user's words and are never taken.
"""

from __future__ import annotations

import re

from ...textio import decode_text, is_utf8

# (program, pattern): the pattern is searched in a header line decoded as text.
PROGRAM_SIGNATURES: tuple[tuple[str, str], ...] = (
    # MethylDackel (formerly PileOMeth) heads its bedGraphs
    # `track type="bedGraph" description="CpG methylation levels"`.
    ("MethylDackel", r'^track\b.*\bdescription="?C(?:pG|HG|HH) methylation levels'),
    # Tools that write their own name into a comment or track line.
    ("bedtools", r"(?i)\bbedtools\b"),
    ("MACS", r"(?i)\bmacs[23]?\b"),
    ("HOMER", r"\bHOMER\b"),
    ("deepTools", r"(?i)\bdeeptools\b|\bbamCoverage\b|\bbigwigCompare\b"),
    ("Bismark", r"(?i)\bbismark\b"),
    ("mosdepth", r"(?i)\bmosdepth\b"),
    ("modkit", r"(?i)\bmodkit\b"),
    ("BEDOPS", r"(?i)\bbedops\b"),
)
_SIGNATURES = tuple((name, re.compile(pattern)) for name, pattern in PROGRAM_SIGNATURES)
MAX_HEADER_LINES = 1000  # header lines looked at, per file: a file of comments costs no more than this


def line_programs(line: bytes) -> list[str]:
    """The programs whose signature the header line matches, in table order."""
    text = decode_text(line.rstrip(b"\r\n"))
    return [name for name, pattern in _SIGNATURES if pattern.search(text)]


class HeaderPrograms:
    """Programs of the header lines fed in file order, and whether one of them was not UTF-8."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.lines_seen = 0
        self.utf8_invalid = False

    def add(self, lines: list[bytes]) -> None:
        for line in lines[: MAX_HEADER_LINES - self.lines_seen]:
            self.lines_seen += 1
            self.utf8_invalid |= not is_utf8(line)
            self.names.extend(name for name in line_programs(line) if name not in self.names)

    def merge(self, later: HeaderPrograms) -> None:
        """Add the programs of the part of the file that follows this one."""
        self.utf8_invalid |= later.utf8_invalid
        self.names.extend(name for name in later.names if name not in self.names)
        self.lines_seen = min(MAX_HEADER_LINES, self.lines_seen + later.lines_seen)
