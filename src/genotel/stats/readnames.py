"""Read-name flavours: which sequencer's naming scheme a file's read names follow.

The table `FLAVOURS` is data: one row per naming scheme, tried in order, first match wins.
Adding a scheme is adding a row (and a test with real-looking names). The accumulator looks at
the first `SAMPLE_NAMES` names of a file: the most common flavour among them is the file's, and
up to six names of the sample that do not fit it become the `hash_issues` form-2 examples.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..textio import decode_text, is_utf8

SAMPLE_NAMES = 10_000
MAX_EXAMPLES = 6
UNKNOWN = "Unknown"
UNKNOWN_TECHNOLOGY = "unknown"

_MATE = r"(?:/[12])?"  # a /1 or /2 mate suffix, as many tools append it
_MOVIE = r"m\d{5,6}[A-Za-z]?_\d{6}_\d{6}[A-Za-z0-9_]*"  # PacBio movie names (Sequel, Revio, RS)


@dataclass(frozen=True)
class Flavour:
    """One naming scheme: the name written as `QNAME=`, the `sequencer=` it implies, its pattern."""

    name: str
    technology: str
    pattern: re.Pattern[str]


def _flavour(name: str, technology: str, pattern: str) -> Flavour:
    return Flavour(name, technology, re.compile(pattern))


FLAVOURS: tuple[Flavour, ...] = (
    # Element AVITI writes Illumina-style names; its instruments are named AV<digits>.
    _flavour("Element", "Element", rf"AV\d+:[\w-]+:[A-Za-z0-9]+:\d+:\d+:\d+:\d+(?::[ACGTN+]+)?{_MATE}"),
    # CASAVA 1.8+: instrument:run:flowcell:lane:tile:x:y, optionally :UMI.
    _flavour("Illumina", "Illumina", rf"[\w-]+:\d+:[\w-]+:\d+:\d+:\d+:\d+(?::[ACGTN+]+)?{_MATE}"),
    # Before CASAVA 1.8: instrument:lane:tile:x:y#index/read.
    _flavour("Illumina-old", "Illumina", rf"[\w-]+:\d+:\d+:\d+:\d+(?:#[A-Za-z0-9]+)?{_MATE}"),
    # MGI/BGI (DNBSEQ): flowcell, L lane, C column, R row, then the read number.
    _flavour("MGI", "MGI", rf"[A-Z]*\d+L\d{{1,2}}C\d{{3}}R\d{{3}}_?\d+{_MATE}"),
    # Oxford Nanopore: a UUID per read.
    _flavour("ONT", "ONT", rf"[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}{_MATE}"),
    _flavour("PacBio-CCS", "PacBio", rf"{_MOVIE}/\d+/ccs(?:/(?:fwd|rev))?"),
    _flavour("PacBio-Subread", "PacBio", rf"{_MOVIE}/\d+/\d+_\d+"),
    _flavour("PacBio-ZMW", "PacBio", rf"{_MOVIE}/\d+"),
    # Ion Torrent: run id (5 characters):row:column.
    _flavour("IonTorrent", "IonTorrent", rf"[A-Z0-9]{{5}}:\d{{1,5}}:\d{{1,5}}{_MATE}"),
    # Ultima Genomics: run number, optional _N, dash-separated fields, a long read number.
    _flavour("Ultima", "Ultima", rf"\d{{6}}(?:_\d+)?(?:-[A-Za-z0-9]+)+-\d{{6,}}{_MATE}"),
    # Archive accessions (SRA, ENA, DDBJ): run.spot, or run.spot.read from fastq-dump.
    _flavour("SRA2", UNKNOWN_TECHNOLOGY, rf"[SED]RR\d{{6,}}\.\d+\.\d+{_MATE}"),
    _flavour("SRA", UNKNOWN_TECHNOLOGY, rf"[SED]RR\d{{6,}}\.\d+{_MATE}"),
    _flavour("Numeric", UNKNOWN_TECHNOLOGY, rf"\d+{_MATE}"),
)
_ACCESSION_FLAVOURS = frozenset({"SRA", "SRA2"})


def classify(name: str) -> Flavour | None:
    """The first flavour whose pattern matches the whole name, or None."""
    for flavour in FLAVOURS:
        if flavour.pattern.fullmatch(name):
            return flavour
    return None


@dataclass
class ReadNameResult:
    flavour: str
    technology: str
    misfits: list[str] = field(default_factory=list)  # up to six names not of `flavour`


class ReadNameAccumulator:
    """Classifies the first `SAMPLE_NAMES` read names of a file (in file order).

    `comments` (FASTQ only) are the header text after the name: an archive accession followed by
    the original read name (`SRR001666.1 071112_SLXA-EAS1_s_7:5:1:817:345`) takes its
    technology from the original name.
    """

    def __init__(self, sample_names: int = SAMPLE_NAMES) -> None:
        self.sample_names = sample_names
        self.names: list[str] = []
        self.original_names: list[str] = []
        self.utf8_invalid = False  # a sampled name is not UTF-8 (read as Latin-1)

    @property
    def full(self) -> bool:
        return len(self.names) >= self.sample_names

    def add(self, names: list[bytes], comments: list[bytes] | None = None) -> None:
        room = self.sample_names - len(self.names)
        if room <= 0:
            return
        self.utf8_invalid |= not all(is_utf8(name) for name in names[:room])
        self.names.extend(decode_text(name) for name in names[:room])
        if comments is not None:
            for comment in comments[:room]:
                words = comment.split(None, 1)
                if words and len(self.original_names) < self.sample_names:
                    self.original_names.append(decode_text(words[0]))

    def merge(self, other: ReadNameAccumulator) -> None:
        """Append the sample of the part of the file that follows this one."""
        room = self.sample_names - len(self.names)
        self.utf8_invalid |= other.utf8_invalid
        self.names.extend(other.names[: max(room, 0)])
        self.original_names.extend(other.original_names[: max(room, 0)])

    def result(self) -> ReadNameResult | None:
        """The detected flavour, its technology and the misfit examples; None without names."""
        if not self.names:
            return None
        flavours = [classify(name) for name in self.names]
        counts = Counter(flavour.name for flavour in flavours if flavour is not None)
        detected = counts.most_common(1)[0][0] if counts else UNKNOWN
        if counts and counts[detected] * 2 < len(self.names):
            detected = UNKNOWN  # no scheme covers even half of the names
        technology = UNKNOWN_TECHNOLOGY
        by_name = {flavour.name: flavour for flavour in FLAVOURS}
        if detected != UNKNOWN:
            technology = by_name[detected].technology
        if detected in _ACCESSION_FLAVOURS:
            technology = self._original_technology() or technology
        misfits: list[str] = []
        for name, flavour in zip(self.names, flavours, strict=True):
            if len(misfits) == MAX_EXAMPLES:
                break
            fits = flavour is not None and flavour.name == detected
            if not fits and (not misfits or misfits[-1] != name):
                misfits.append(name)
        return ReadNameResult(detected, technology, misfits)

    def _original_technology(self) -> str | None:
        counts = Counter(
            flavour.technology
            for flavour in map(classify, self.original_names)
            if flavour is not None and flavour.technology != UNKNOWN_TECHNOLOGY
        )
        return counts.most_common(1)[0][0] if counts else None
