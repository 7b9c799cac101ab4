"""Reading an existing `.fai` (samtools faidx index) beside a plain FASTA, only when it can be trusted.

Only with `--no-gain`: the compressibility probe needs every byte of the file, so by default
the FASTA is read in full and the index is not looked at.

A `.fai` lists, per sequence, its name, length, the byte offset of its first base, the bases per
line and the bytes per line. It is used instead of a pass over the FASTA only when:

- it exists beside the file (`<fasta>.fai`) and is a regular file;
- it is not older than the FASTA (mtime), so the FASTA was not changed after indexing;
- the sequences are long enough on average (16 KiB of file per entry) for the index to pay:
  for many short sequences a pass is faster than checking the entries;
- every line has exactly five fields, the numbers are whole, bytes per line is bases per line
  plus 1 or 2 (`\\n` or `\\r\\n`), and it lists at least one sequence;
- its entries tile the file exactly: the bytes between where one sequence's lines end (as the
  lengths and line sizes compute it) and the next offset are one `>` line naming that entry
  (up to the first whitespace, as faidx names it), each sequence's computed end is a newline,
  and the last one ends at the end of the file.

Anything else (stale, truncated, hand-edited, empty sequences, which faidx leaves out, blank
lines, a FASTQ index) makes `read_fai` return None and the FASTA is read in full: the record is
the same either way, only slower. A `.fai` is never created or changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FAI_FIELDS = 5
# Checking an entry costs about 10 us (a read and a few Python steps), reading 1 KiB in the
# pass about 2.5 us: for files of short sequences (reads, proteins) the pass is the faster way.
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
