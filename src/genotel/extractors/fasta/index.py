"""Reading an existing `.fai` (samtools faidx index) beside a plain FASTA, only when it can be trusted.

Used only with `--no-gain`. `read_fai` returns the entries when the `.fai` is a regular file no
older than the FASTA, has at least 16 KiB of file per entry, is well formed (five whole-number
fields, bytes per line = bases per line + 1 or 2) and tiles the file exactly (between entries
one `>` line naming the next, each sequence ending in a newline, the last at the end of the
file); otherwise None, and the FASTA is read in full, with the same record. A `.fai` is never
created or changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FAI_FIELDS = 5
# Below this much file per entry (short sequences: reads, proteins) the pass is used instead.
MIN_BYTES_PER_SEQUENCE = 16 * 1024
MAX_HEADER_BYTES = 1 << 20  # a longer `>` line is not believed


@dataclass(frozen=True)
class FaiEntry:
    name: str
    length: int
    offset: int
    line_bases: int
    line_width: int

    def end(self) -> int:
        """The byte just past this sequence's last line, newline included."""
        if self.length == 0:
            return self.offset
        full, rest = divmod(self.length, self.line_bases)
        return self.offset + full * self.line_width + (rest + self.line_width - self.line_bases if rest else 0)


def fai_path(fasta: Path) -> Path:
    return fasta.with_name(fasta.name + ".fai")


def read_fai(fasta: Path) -> list[FaiEntry] | None:
    """The entries of `fasta`'s `.fai` if it is valid and fresh (see the module docstring), else None."""
    index = fai_path(fasta)
    try:
        if not index.is_file() or index.stat().st_mtime_ns < fasta.stat().st_mtime_ns:
            return None
        text = index.read_text(encoding="utf-8")
        if fasta.stat().st_size < (text.count("\n") or 1) * MIN_BYTES_PER_SEQUENCE:
            return None
    except (OSError, UnicodeDecodeError):
        return None
    entries = parse_fai(text)
    if not entries:
        return None
    try:
        return entries if tiles_file(fasta, entries) else None
    except OSError:
        return None


def parse_fai(text: str) -> list[FaiEntry] | None:
    """The entries of a `.fai` text, or None if any line is not a FASTA index line."""
    entries = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != FAI_FIELDS or not all(field.isdigit() for field in fields[1:]):
            return None
        length, offset, line_bases, line_width = (int(field) for field in fields[1:])
        if line_bases == 0 or line_width - line_bases not in (1, 2):
            return None
        entries.append(FaiEntry(fields[0], length, offset, line_bases, line_width))
    return entries


def tiles_file(fasta: Path, entries: list[FaiEntry]) -> bool:
    """Whether the entries describe exactly the bytes of `fasta` (see the module docstring)."""
    with open(fasta, "rb") as raw:
        descriptor = raw.fileno()
        size = os.fstat(descriptor).st_size
        position = 0
        for entry in entries:
            header_bytes = entry.offset - position
            if not 0 < header_bytes <= MAX_HEADER_BYTES:
                return False
            # From the byte before the `>` (the previous sequence's last newline) to the first base.
            before = 1 if position else 0
            chunk = os.pread(descriptor, header_bytes + before, position - before)
            if before and chunk[:1] != b"\n":
                return False
            header = chunk[before:]
            if not header.startswith(b">") or not header.endswith(b"\n") or b"\n" in header[:-1]:
                return False
            words = header[1:].split(maxsplit=1)
            if not words or words[0] != entry.name.encode("utf-8"):
                return False
            position = entry.end()
        last = entries[-1]
        if position == size:
            return os.pread(descriptor, 1, size - 1) == b"\n"
        # The file's last line may lack its newline.
        return last.length > 0 and position - (last.line_width - last.line_bases) == size
