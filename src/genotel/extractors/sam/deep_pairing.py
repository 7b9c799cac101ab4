"""--deep: pair the reads of FASTQ files with the primary alignments of a SAM/BAM/CRAM file.

Per FASTQ read the index keeps 20 bytes, sorted by name key: a 64-bit hash of the name key
(under the detected relationship, mate number mixed in), 32-bit hashes of the sequence and the
qualities, and the length; each primary alignment's key is found with `np.searchsorted`. Only
the first `SAMPLE_READS` reads keep their bases, to tell 3' trimming from trimming at both ends.
`deep_qtype` is the candidate in `RELATIONSHIPS` under which most of the first `PROBE_RECORDS`
primary QNAMEs are found (ties: the earlier); until then every candidate's key is kept.
`deep_qtype`, `deep_trim`, `deep_qual` and the mate rules are docs/record.md's (--deep).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ...batches import Strings, gather_strings
from ...record import format_percent
from ...stats.deep_hash import COMPLEMENT_BYTES, content_hashes, lookup
from ...stats.hashing import hash_strings, mix64
from ...textio import decode_text
from .batch import AlignmentBatch

# Candidate relationships, in order of preference on a tie (a FASTQ `x/1` matches QNAME `x`
# both as MateSuffix and as CutAtSeparator; the first says more).
RELATIONSHIPS = ("Identical", "MateSuffix", "Comment", "AccessionAdded", "CutAtSeparator")
PROBE_RECORDS = 4096  # primary QNAMEs of the alignment file probed against the FASTQ keys
DECIDE_HITS = 64  # this many probe hits decide the relationship early
PENDING_LIMIT = 4_000_000  # reads kept under every candidate before deciding anyway
SAMPLE_READS = 10_000  # per FASTQ file, reads whose bases and qualities are kept
INVALID = np.uint64(0)  # the key of a read the relationship does not apply to
_MATE_SALT = np.uint64(0xD6E8FEB86659FD93)
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[ord(" "), ord("\t")]] = True
# An SRA/ENA/DDBJ run accession with its spot number, and the separator after it.
ACCESSION_PREFIX = re.compile(rb"^[SED]RR\d+(?:\.\d+)?[._:|/ ]")
ACCESSION_ID = re.compile(rb"^[SED]RR\d+(?:\.\d+)*$")


def first_in_set(strings: Strings, table: np.ndarray) -> np.ndarray:
    """Per string, the offset of its first byte for which `table` is true (its length if none)."""
    hits = np.append(np.flatnonzero(table[strings.buffer]), np.iinfo(np.int64).max)
    starts, ends = strings.offsets[:-1], strings.offsets[1:]
    return np.minimum(hits[np.searchsorted(hits, starts)], ends) - starts


def substrings(strings: Strings, begin: np.ndarray, end: np.ndarray) -> Strings:
    """`strings[i][begin[i]:end[i]]` for every i (offsets relative to each string)."""
    return gather_strings(strings.buffer, strings.offsets[:-1] + begin, np.maximum(end - begin, 0))


def with_mate(hashes: np.ndarray, mates: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Name hashes with the mate number (0, 1, 2) mixed in; INVALID where `valid` is false."""
    with np.errstate(over="ignore"):
        keys = mix64(hashes ^ (mates.astype(np.uint64) * _MATE_SALT))
    keys[keys == INVALID] = np.uint64(1)
    keys[~valid] = INVALID
    return keys


def bam_mates(flags: np.ndarray) -> np.ndarray:
    """2 for a second mate (0x80), else 1 (a first mate, or a single-end read paired with read 1s)."""
    return np.where(flags & 0x80, 2, 1).astype(np.uint8)


@dataclass
class Probe:
    """What the alignment file tells before the FASTQ pass: its first primary QNAMEs."""

    names: list[bytes]
    flags: np.ndarray
    first_qname: str
    two_files: bool
    cut_table: np.ndarray = field(init=False)  # bytes that end a FASTQ name under CutAtSeparator
    keys: dict[str, np.ndarray] = field(init=False)  # sorted probe keys per relationship

    def __post_init__(self) -> None:
        alphabet = np.zeros(256, dtype=bool)
        alphabet[np.frombuffer(b"".join(self.names), dtype=np.uint8)] = True
        self.cut_table = ~alphabet | _WHITESPACE
        self.keys = {name: np.unique(self.bam_keys(name, self.names, self.flags)) for name in RELATIONSHIPS}

    def mates_known(self, relationship: str) -> bool:
        """Whether FASTQ keys carry the mate number (from the file, or a /1 /2 suffix)."""
        return self.two_files or relationship == "MateSuffix"

    def bam_keys(
        self, relationship: str, names: list[bytes] | Strings, flags: np.ndarray, final: bool = False
    ) -> np.ndarray:
        """The keys of QNAMEs under `relationship` (INVALID where it cannot apply).

        `final`: keys to look up in a finished index, whose reads of one FASTQ without mate
        numbers in their names are numbered by occurrence (see `FastqIndexBuilder.finish`).
        """
        valid = np.ones(len(flags), dtype=bool)
        if relationship == "AccessionAdded":
            listed = names if isinstance(names, list) else names.to_list()
            stripped = [ACCESSION_PREFIX.sub(b"", name, count=1) for name in listed]
            valid = np.array([len(a) != len(b) for a, b in zip(stripped, listed, strict=True)], dtype=bool)
            names = stripped
        strings = Strings.from_list(names) if isinstance(names, list) else names
        mates = bam_mates(flags) if self.mates_known(relationship) else np.zeros(len(flags), dtype=np.uint8)
        keys = with_mate(hash_strings(strings), mates, valid)
        if final and not self.mates_known(relationship):
            keys = with_mate(keys, bam_mates(flags), valid)
        return keys

    def fastq_keys(self, headers: Strings, file_number: int) -> dict[str, np.ndarray]:
        """The keys of FASTQ header lines (without `@`) under every relationship."""
        count = len(headers)
        lengths = headers.lengths
        id_end = first_in_set(headers, _WHITESPACE)
        zero = np.zeros(count, dtype=np.int64)
        file_mates = np.full(count, file_number if self.two_files else 0, dtype=np.uint8)
        keys: dict[str, np.ndarray] = {}
        name_hashes = hash_strings(substrings(headers, zero, id_end))
        keys["Identical"] = with_mate(name_hashes, file_mates, id_end > 0)
        keys["AccessionAdded"] = keys["Identical"]
        # MateSuffix: the id ends in /1 or /2.
        last = headers.buffer[np.maximum(headers.offsets[:-1] + id_end - 1, 0)] if len(headers.buffer) else zero
        slash = headers.buffer[np.maximum(headers.offsets[:-1] + id_end - 2, 0)] if len(headers.buffer) else zero
        suffixed = (id_end > 2) & (slash == ord("/")) & ((last == ord("1")) | (last == ord("2")))
        suffix_mates = file_mates if self.two_files else np.where(suffixed, last - ord("0"), 0).astype(np.uint8)
        keys["MateSuffix"] = with_mate(hash_strings(substrings(headers, zero, id_end - 2)), suffix_mates, suffixed)
        # Comment: the first word after the id.
        begin = np.minimum(id_end + 1, lengths)
        word = first_in_set(substrings(headers, begin, lengths), _WHITESPACE)
        keys["Comment"] = with_mate(hash_strings(substrings(headers, begin, begin + word)), file_mates, word > 0)
        # CutAtSeparator: the id up to its first byte that no probed QNAME contains.
        cut = first_in_set(headers, self.cut_table)
        # A cut that only drops a /1 /2 suffix is MateSuffix, which also tells the mate.
        cuts = (cut > 0) & (cut < id_end) & ~(suffixed & (cut == id_end - 2))
        keys["CutAtSeparator"] = with_mate(hash_strings(substrings(headers, zero, cut)), file_mates, cuts)
        return keys


@dataclass
class FastqIndex:
    """The FASTQ reads, sorted by name key, ready for lookups by the alignment records."""

    relationship: str | None  # None: no relationship found
    probe: Probe
    keys: np.ndarray  # uint64, sorted
    seq_hash: np.ndarray  # uint32 (see `short_hash`)
    qual_hash: np.ndarray  # uint32
    length: np.ndarray  # uint32
    sample: dict[int, tuple[bytes, bytes]]  # position in `keys` -> (bases, phred values)
    first_header: str


class FastqIndexBuilder:
    """Feed it the FASTQ batches file by file (`add`), then `finish()` gives the FastqIndex."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.relationship: str | None = None
        self.hits = dict.fromkeys(RELATIONSHIPS, 0)
        self.pending: dict[str, list[np.ndarray]] = {name: [] for name in RELATIONSHIPS}
        self.pending_reads = 0
        self.columns: dict[str, list[np.ndarray]] = {name: [] for name in ("keys", "seq", "qual", "length")}
        self.sample: dict[int, tuple[bytes, bytes]] = {}
        self.reads = 0
        self.first_header = ""

    def add(self, headers: Strings, sequences: Strings, qualities: Strings, file_number: int, file_read: int) -> None:
        """One batch of reads of FASTQ `file_number` (1 or 2), its first read being `file_read` (0-based)."""
        count = len(headers)
        if not count:
            return
        if not self.first_header:
            self.first_header = decode_text(headers[0])
        for index in range(min(count, max(0, SAMPLE_READS - file_read))):
            self.sample[self.reads + index] = (sequences[index], qualities[index])
        self.columns["seq"].append(short_hash(content_hashes(sequences)))
        self.columns["qual"].append(short_hash(content_hashes(qualities)))
        self.columns["length"].append(sequences.lengths.astype(np.uint32))
        self.reads += count
        if self.relationship == "None":
            return  # no relationship: finish() gives every read the INVALID key
        if self.relationship is not None:
            self.columns["keys"].append(self.probe.fastq_keys(headers, file_number)[self.relationship])
            return
        keys = self.probe.fastq_keys(headers, file_number)
        for name in RELATIONSHIPS:
            self.pending[name].append(keys[name])
            found = keys[name][keys[name] != INVALID]
            self.hits[name] += int(np.count_nonzero(np.isin(found, self.probe.keys[name])))
        self.pending_reads += count
        if max(self.hits.values()) >= DECIDE_HITS or self.pending_reads >= PENDING_LIMIT:
            self._decide()

    def _decide(self) -> None:
        best = max(RELATIONSHIPS, key=lambda name: (self.hits[name], -RELATIONSHIPS.index(name)))
        self.relationship = best if self.hits[best] else "None"
        self.columns["keys"] = self.pending.get(self.relationship, [])
        self.pending = {}

    def finish(self) -> FastqIndex:
        if self.relationship is None:
            self._decide()
        relationship = None if self.relationship == "None" else self.relationship
        if relationship is None:
            self.columns["keys"] = [np.full(self.reads, INVALID, dtype=np.uint64)]
        # Column by column, each list of chunks freed as soon as it is joined: peak memory stays
        # near one copy of the index plus the sort order.
        keys = _concatenate(self.columns.pop("keys"))
        by_occurrence = relationship is not None and not self.probe.mates_known(relationship)
        # uint32 positions (4 bytes a read, not 8); a stable sort only where the read order matters.
        order = np.argsort(keys, kind="stable" if by_occurrence else None).astype(np.uint32)
        keys = keys[order]
        if by_occurrence and len(keys):
            # One FASTQ, no mate numbers in its names: the first read of a name pairs with the
            # alignment of read 1 (or of a single-end read), a second one (interleaved) with read 2.
            first = np.r_[True, keys[1:] != keys[:-1]]
            positions = np.arange(len(keys))
            ranks = positions - np.maximum.accumulate(np.where(first, positions, 0))
            keys = with_mate(keys, ranks + 1, keys != INVALID)
            again = np.argsort(keys, kind="stable")
            order, keys = order[again], keys[again]
        return FastqIndex(
            relationship=relationship,
            probe=self.probe,
            keys=keys,
            seq_hash=self._sorted("seq", order),
            qual_hash=self._sorted("qual", order),
            length=self._sorted("length", order),
            sample=self._sample_positions(order),
            first_header=self.first_header,
        )


    def _sample_positions(self, order: np.ndarray) -> dict[int, tuple[bytes, bytes]]:
        """The sampled reads keyed by their position in the sorted index (`order[i]` is the
        ordinal of the read at position i)."""
        sampled = np.zeros(self.reads, dtype=bool)
        sampled[np.fromiter(self.sample, dtype=np.int64, count=len(self.sample))] = True
        positions = np.flatnonzero(sampled[order]).tolist()
        return {position: self.sample[int(order[position])] for position in positions}

    def _sorted(self, column: str, order: np.ndarray) -> np.ndarray:
        return _concatenate(self.columns.pop(column))[order]


def short_hash(hashes: np.ndarray) -> np.ndarray:
    """The top 32 bits of 64-bit hashes: enough to tell a read's bases or qualities changed.

    Two different sequences agree by chance once in 4 billion comparisons: it could hide one
    trimmed read among millions, never change deep_trim or deep_qual, and saves 8 bytes a read.
    """
    return (hashes >> np.uint64(32)).astype(np.uint32)


def _concatenate(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


class DeepAccumulator:
    """Matches of primary alignments against a FastqIndex: `add` each batch, then `features`."""

    def __init__(self, index: FastqIndex) -> None:
        self.index = index
        self.primary = 0
        self.matched = 0
        self.same_sequence = 0
        self.shorter = 0  # differing sequence, the alignment's shorter than the read's
        self.changed = 0  # differing sequence otherwise
        self.sample_prefix = 0
        self.sample_inner = 0  # an inner substring, or not a substring at all
        self.quality_same = 0
        self.quality_differs = 0
        self.first_qname: str | None = None

    def add(self, batch: AlignmentBatch) -> None:
        if self.first_qname is None and len(batch):
            self.first_qname = decode_text(batch.names[0])
        primary = (batch.flag & 0x900) == 0
        self.primary += int(np.count_nonzero(primary))
        index = self.index
        if index.relationship is None or not len(index.keys) or not primary.any():
            return
        rows = np.flatnonzero(primary)
        flags = batch.flag[rows]
        names = gather_strings(batch.names.buffer, batch.names.offsets[:-1][rows], batch.names.lengths[rows])
        keys = index.probe.bam_keys(index.relationship, names, flags, final=True)
        at = lookup(index.keys, keys)
        found = (index.keys[at] == keys) & (keys != INVALID)
        self.matched += int(np.count_nonzero(found))
        if not found.any():
            return
        rows, at, flags = rows[found], at[found], flags[found]
        reverse = (flags & 0x10) != 0
        lengths = batch.sequences.lengths[rows]
        seq_hashes = content_hashes(batch.sequences, rows, reverse, complement=True)
        has_bases = lengths > 0
        same = has_bases & (lengths == index.length[at]) & (short_hash(seq_hashes) == index.seq_hash[at])
        self.same_sequence += int(np.count_nonzero(same))
        differs = has_bases & ~same
        self.shorter += int(np.count_nonzero(differs & (lengths < index.length[at])))
        self.changed += int(np.count_nonzero(differs & (lengths >= index.length[at])))
        quality_hashes = short_hash(content_hashes(batch.qualities, rows, reverse))
        quality_same = same & (batch.qualities.lengths[rows] == lengths) & (quality_hashes == index.qual_hash[at])
        self.quality_same += int(np.count_nonzero(quality_same))
        self.quality_differs += int(np.count_nonzero(same & ~quality_same))
        for row in np.flatnonzero(differs).tolist():
            kept = index.sample.get(int(at[row]))
            if kept is not None:
                bases, quality = batch.sequences[int(rows[row])], batch.qualities[int(rows[row])]
                if reverse[row]:
                    bases, quality = bases[::-1].translate(COMPLEMENT_BYTES), quality[::-1]
                self._compare_sample(kept, bases, quality)

    def _compare_sample(self, kept: tuple[bytes, bytes], bases: bytes, quality: bytes) -> None:
        """Where the alignment's bases sit in the read's (bounded: sampled reads only)."""
        read_bases, read_quality = kept
        offset = read_bases.find(bases)
        if offset == 0:
            self.sample_prefix += 1
        else:
            self.sample_inner += 1
        if offset >= 0:
            window = read_quality[offset : offset + len(bases)]
            if quality == window:
                self.quality_same += 1
            else:
                self.quality_differs += 1

    def features(self) -> list[tuple[str, object]]:
        """`deep`, `deep_qtype` and, when reads matched, `deep_trim` and `deep_qual`."""
        items: list[tuple[str, object]] = [
            ("deep", format_percent(self.matched, self.primary)),
            ("deep_qtype", self.qtype()),
        ]
        if self.matched:
            items.append(("deep_trim", self.trim()))
            items.append(("deep_qual", "false" if self.quality_differs else "true"))
        return items

    def qtype(self) -> str:
        relationship = self.index.relationship
        if relationship == "Comment" and ACCESSION_ID.match(self.index.first_header.split(" ")[0].encode()):
            return "AccessionRemoved"  # `SRR123.45 orig` in the FASTQ, `orig` in the alignments
        return relationship or "None"

    def trim(self) -> str:
        """None: every matched read as in the FASTQ; RightOnly: 3' trimming only; else LeftRight."""
        if not self.shorter and not self.changed:
            return "None"
        if self.changed or self.sample_inner:
            return "LeftRight"
        return "RightOnly"

    def unpaired_examples(self) -> list[str] | None:
        """hash_issues form 3's examples when no relationship was found, else None."""
        if self.index.relationship is not None or not self.index.first_header:
            return None
        return [self.index.first_header, self.first_qname or self.index.probe.first_qname]
