"""The study type of an alignment file, from its records (tags, CIGARs, pairs, bases, positions).

`SamStudyEvidence` gathers, over the records within `--sample`:
- from the first `EVIDENCE_RECORDS` of them, per-record evidence: which study tags a record
  carries (cell barcode and UMI, methylation calls, Hi-C pair types), whether a mapped record is
  spliced (CIGAR `N`), the orientation and distance of read pairs, and the start positions of
  forward reads; from the batches that start within the first `CONVERSION_READS` reads of 30
  bases or more, whether those reads are bisulfite-converted (few C for their G, or few G for
  their C);
- from all of them, how many primary alignments start in each 1 kb bin of the genome.
`study()` applies the rules of docs/record.md in order, then `study.with_programs` checks the
@PG programs against the answer. Parts of a file merge in file order.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..study import (
    BISULFITE,
    HI_C,
    RNA,
    SINGLE_CELL,
    UNKNOWN,
    share,
    with_programs,
)
from .batch import AlignmentBatch
from .fields import SamText
from .header import SamHeader, strip_program_id

EVIDENCE_RECORDS = 100_000  # records whose tags, CIGARs, pairs and bases are looked at
BIN_SHIFT = 10  # position bins of 1 kb
MIN_READS_PER_BIN = 20  # bins are merged until they hold this many starts on average
MIN_BINS = 20  # fewer (merged) bins than this cannot show where reads concentrate

# Tags of study evidence, as SamText names them (`XX:t`): the type matters (bowtie2's XM:i, XG:i).
CELL_TAGS = ("CB:Z", "CR:Z")  # 10x / STARsolo cell barcode (corrected, raw)
UMI_TAGS = ("UB:Z", "UR:Z")
DROPSEQ_TAGS = ("XC:Z", "XM:Z")  # Drop-seq cell and molecular barcodes
BISMARK_TAGS = ("XR:Z", "XG:Z")  # Bismark read and genome conversion (with XM:Z, its calls)
BSBOLT_TAGS = ("XB:Z", "YS:Z")  # BSBolt methylation calls and strand
PAIRTOOLS_TAG = "Yt:Z"  # pairtools' pair type
STUDY_TAGS = (*CELL_TAGS, *UMI_TAGS, *DROPSEQ_TAGS, *BISMARK_TAGS, *BSBOLT_TAGS, PAIRTOOLS_TAG)

MIN_TAGGED_RECORDS = 10  # tag rules need at least this many records looked at
TAGGED_SHARE = 0.5  # ... and the tags on at least this share of them
MIN_CONVERSION_READS = 100
CONVERSION_READS = 10_000  # reads whose bases are counted: plenty for a share, and bases cost most
CONVERSION_MIN_BASES = 30  # reads shorter than this say little about their C and G content
CONVERTED_RATIO = 0.4  # a converted read has at most this many C per G (or G per C)...
UNCONVERTED_BASE_SHARE = 0.10  # ...and G (or C) for at least this share of its bases (not a poly-A read)
CONVERTED_READ_SHARE = 0.6
MIN_PAIRS = 100
HIC_SAME_STRAND_SHARE = 0.2  # WGS pairs face each other (FR); ligation pairs any way round
HIC_FAR_SHARE = 0.2
HIC_FAR_BASES = 1000  # mates further apart than this (or on another contig) are far
MIN_SPLICED_RECORDS = 20
SPLICED_SHARE = 0.05
MIN_AMPLICON_READS = 200
AMPLICON_READS_PER_START = 20  # the starts holding 80 % of forward reads hold this many each on average
AMPLICON_NEIGHBOUR_SHARE = 0.5  # ...and are not side by side (deep WGS starts at every base)
AMPLICON_CORE = 0.8  # the share of forward reads whose starts are counted
COVERAGE_CORE = 0.5  # the share of alignment starts whose bins are counted
TARGETED_BIN_SHARE = 0.15  # targeted: half of the starts fall in at most this share of the bins
WGS_BIN_SHARE = 0.3  # WGS: they need at least this share (evenly spread reads: about 45 %)

_N = ord("N")
_C, _G, _c, _g = ord("C"), ord("G"), ord("c"), ord("g")
_SECONDARY_OR_SUPPLEMENTARY = 0x900
_UNMAPPED, _MATE_UNMAPPED, _PAIRED, _READ1 = 0x4, 0x8, 0x1, 0x40
_REVERSE, _MATE_REVERSE = 0x10, 0x20

# Program names (lower case) by the kind of study they are made for (ID, PN or CL's program).
PROGRAM_KINDS: dict[str, str] = {
    "star": RNA,
    "hisat2": RNA,
    "hisat2-align-s": RNA,
    "hisat2-align-l": RNA,
    "tophat": RNA,
    "tophat2": RNA,
    "salmon": RNA,
    "rsem-calculate-expression": RNA,
    "rsem-tbam2gbam": RNA,
    "cellranger": SINGLE_CELL,
    "tagreadwithgenefunction": SINGLE_CELL,  # Drop-seq tools
    "tagreadwithgeneexonfunction": SINGLE_CELL,
    "tagbamwithreadsequenceextended": SINGLE_CELL,
    "detectbeadsynthesiserrors": SINGLE_CELL,
    "bismark": BISULFITE,
    "bwameth": BISULFITE,
    "bwa-meth": BISULFITE,
    "bwameth.py": BISULFITE,
    "bsbolt": BISULFITE,
    "bsmap": BISULFITE,
    "biscuit": BISULFITE,
    "gembs": BISULFITE,
    "pairtools": HI_C,
    "juicer": HI_C,
    "hicup": HI_C,
    "hic-pro": HI_C,
}
HI_C_BWA_OPTIONS = ("-SP5M", "-5SP", "-SP5", "-5SPM")  # bwa mem's Hi-C switches (Juicer, 4DN)


def program_kinds(header: SamHeader) -> set[str]:
    """The kinds of study the @PG programs are made for (STAR with --solo* is single-cell)."""
    kinds: set[str] = set()
    for pg in header.program_lines:
        command = pg.get("CL", "")
        words = command.split()
        names = [strip_program_id(pg.get("ID", "")), pg.get("PN", ""), words[0].rsplit("/", 1)[-1] if words else ""]
        for name in names:
            lowered = name.lower()
            kind = PROGRAM_KINDS.get(lowered) or PROGRAM_KINDS.get(lowered.split("_", 1)[0])  # pairtools_parse
            if kind == RNA and "--solo" in command:
                kind = SINGLE_CELL
            if kind:
                kinds.add(kind)
        if pg.get("VN", "").startswith("BSB-"):  # BSBolt's bwa fork
            kinds.add(BISULFITE)
        if any(option in words for option in HI_C_BWA_OPTIONS):
            kinds.add(HI_C)
        if any(word.startswith("-xsplice") for word in words) or any(
            option == "-x" and preset.startswith("splice") for option, preset in itertools.pairwise(words)
        ):
            kinds.add(RNA)  # minimap2 -x splice, splice:hq
    return kinds


class SamStudyEvidence:
    """What the records say about the study; `add` batches in file order, `merge` later parts."""

    def __init__(self, contig_lengths: list[int]) -> None:
        lengths = np.asarray(contig_lengths, dtype=np.int64)
        bins = (lengths + (1 << BIN_SHIFT) - 1) >> BIN_SHIFT
        self.first_bin = np.concatenate([[0], np.cumsum(bins)]).astype(np.int64)
        self.bin_counts = np.zeros(int(self.first_bin[-1]), dtype=np.int32)
        self.placed = 0  # primary alignments counted in bins
        self.sampled = 0  # records looked at for per-record evidence
        self.tagged = dict.fromkeys(STUDY_TAGS, 0)
        self.mapped = 0  # primary mapped records among the sampled
        self.spliced = 0
        self.bases_seen = 0  # records whose bases were looked at
        self.base_reads = 0  # ... of them, those of CONVERSION_MIN_BASES or more
        self.converted = 0
        self.pairs = 0  # sampled read 1s, primary, both mates mapped
        self.same_strand = 0
        self.far = 0
        self.starts: list[np.ndarray] = []  # (contig << 32 | pos) of sampled forward primary reads
        self.all_records = True  # False once a record fell outside --sample

    def add(self, batch: AlignmentBatch, within: int, text: SamText | None = None) -> None:
        """Take the batch's first `within` records as evidence (`text`: its SAM text, if built)."""
        if within < len(batch):
            self.all_records = False
        if within <= 0:
            return
        flag = batch.flag[:within]
        primary = (flag & (_SECONDARY_OR_SUPPLEMENTARY | _UNMAPPED)) == 0
        self._add_bins(batch.ref_id[:within][primary], batch.pos[:within][primary])
        room = min(within, EVIDENCE_RECORDS - self.sampled)
        if room <= 0:
            return
        self._add_records(batch, room, primary[:room], text)

    def _add_bins(self, ref_id: np.ndarray, pos: np.ndarray) -> None:
        placed = (ref_id >= 0) & (pos >= 0) & (ref_id < len(self.first_bin) - 1)
        if not placed.all():
            ref_id, pos = ref_id[placed], pos[placed]
        if not len(ref_id):
            return
        first = self.first_bin[ref_id]
        bins = np.minimum(first + (pos >> BIN_SHIFT), self.first_bin[ref_id + 1] - 1)
        bins = bins[bins >= first]  # a contig of length 0 has no bin
        if not len(bins):
            return
        low, high = int(bins.min()), int(bins.max())
        if high - low < 4 * len(bins):  # a coordinate-sorted batch spans few bins: count them directly
            self.bin_counts[low : high + 1] += np.bincount(bins - low).astype(np.int32)
        else:
            values, counts = np.unique(bins, return_counts=True)
            self.bin_counts[values] += counts.astype(np.int32)
        self.placed += len(bins)

    def _add_records(self, batch: AlignmentBatch, count: int, primary: np.ndarray, text: SamText | None) -> None:
        self.sampled += count
        flag = batch.flag[:count]
        if text is None and batch.sam_text is not None:
            text = batch.sam_text(False)
        if text is not None:
            self._add_text(text, count, primary)
        if self.base_reads < CONVERSION_READS:
            self._add_bases(batch, count)
        self._add_pairs(batch, count, flag, primary)
        forward = primary & ((flag & _REVERSE) == 0)
        if forward.any():
            keys = (batch.ref_id[:count][forward].astype(np.int64) << 32) | batch.pos[:count][forward]
            self.starts.append(keys)

    def _add_text(self, text: SamText, count: int, primary: np.ndarray) -> None:
        for name in STUDY_TAGS:
            column = text.columns.get(name)
            if column is not None and column.records is not None:
                self.tagged[name] += int(np.searchsorted(column.records, count))  # one tag per record
        cigar = text.columns.get("CIGAR")
        if cigar is None:
            return
        self.mapped += int(np.count_nonzero(primary))
        ends = cigar.ends[:count]
        lengths = ends - cigar.starts[:count]
        text_bytes = cigar.subset(slice(0, count)).text()
        with_n = np.concatenate([[0], np.cumsum(text_bytes == _N)])
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        spliced = (with_n[offsets[1:]] - with_n[offsets[:-1]]) > 0
        self.spliced += int(np.count_nonzero(spliced & primary))

    def _add_bases(self, batch: AlignmentBatch, count: int) -> None:
        sequences = batch.sequences
        offsets = sequences.offsets[: count + 1]
        bases = sequences.buffer[: offsets[-1]]
        lengths = np.diff(offsets)
        self.bases_seen += count
        long_enough = lengths >= CONVERSION_MIN_BASES
        if not long_enough.any():
            return
        c_before = np.concatenate([[0], np.cumsum((bases == _C) | (bases == _c), dtype=np.int32)])
        g_before = np.concatenate([[0], np.cumsum((bases == _G) | (bases == _g), dtype=np.int32)])
        c = (c_before[offsets[1:]] - c_before[offsets[:-1]])[long_enough]
        g = (g_before[offsets[1:]] - g_before[offsets[:-1]])[long_enough]
        length = lengths[long_enough]
        low, high = np.minimum(c, g), np.maximum(c, g)
        converted = (low <= CONVERTED_RATIO * high) & (high >= UNCONVERTED_BASE_SHARE * length)
        self.base_reads += len(length)
        self.converted += int(np.count_nonzero(converted))

    def _add_pairs(self, batch: AlignmentBatch, count: int, flag: np.ndarray, primary: np.ndarray) -> None:
        if batch.mate_ref_id is None or batch.mate_pos is None:
            return
        both = primary & ((flag & (_PAIRED | _READ1 | _MATE_UNMAPPED)) == (_PAIRED | _READ1))
        if not both.any():
            return
        ref_id, mate_ref_id = batch.ref_id[:count][both], batch.mate_ref_id[:count][both]
        distance = np.abs(batch.pos[:count][both] - batch.mate_pos[:count][both])
        strand = (flag[both] & _REVERSE) != 0
        mate_strand = (flag[both] & _MATE_REVERSE) != 0
        self.pairs += len(ref_id)
        self.same_strand += int(np.count_nonzero(strand == mate_strand))
        self.far += int(np.count_nonzero((ref_id != mate_ref_id) | (distance > HIC_FAR_BASES)))

    def merge(self, later: SamStudyEvidence) -> None:
        """Add the evidence of the part of the file after this one."""
        self.bin_counts += later.bin_counts
        self.placed += later.placed
        self.all_records = self.all_records and later.all_records
        room = EVIDENCE_RECORDS - self.sampled
        if room <= 0 or later.sampled == 0:
            return
        if later.sampled > room:
            return  # a part read in parallel looked past the evidence window; its records are not the next ones
        self.sampled += later.sampled
        for name, value in later.tagged.items():
            self.tagged[name] += value
        for name in ("mapped", "spliced", "bases_seen", "base_reads", "converted", "pairs", "same_strand", "far"):
            setattr(self, name, getattr(self, name) + getattr(later, name))
        self.starts.extend(later.starts)

    def study(self, header: SamHeader, sorted_by_position: bool) -> str:
        """The study value (docs/record.md): the data's answer, checked against the programs."""
        return with_programs(self.data_study(sorted_by_position), program_kinds(header))

    def data_study(self, sorted_by_position: bool) -> str:
        """The study the records alone point to (`unknown` when they conflict or say too little)."""
        kinds = []
        cells, umis = self._tag_share(CELL_TAGS), self._tag_share(UMI_TAGS)
        dropseq = self._tag_share(DROPSEQ_TAGS, all_of=True)
        if cells and not umis and not dropseq:
            return UNKNOWN  # cell barcodes without UMIs: single-cell, but not RNA (scATAC)
        if (cells and umis) or dropseq:
            kinds.append("scRNA-seq")
        if self._bisulfite():
            kinds.append("bisulfite")
        if self._hi_c():
            kinds.append("Hi-C")
        spliced = self.spliced >= MIN_SPLICED_RECORDS and share(self.spliced, self.mapped) >= SPLICED_SHARE
        if kinds == ["scRNA-seq"]:
            return "scRNA-seq"  # spliced or not: single-cell libraries are RNA
        if kinds:
            return UNKNOWN if len(kinds) > 1 or spliced else kinds[0]
        if spliced:
            return "RNA-seq"
        if self._amplicon():
            return "amplicon"
        # Where reads fall says something only if the counted records are the whole file, or a
        # sample of records spread over it (not the first records of a coordinate-sorted file).
        if not self.all_records and sorted_by_position:
            return UNKNOWN
        return self._coverage()

    def _tag_share(self, names: tuple[str, ...], all_of: bool = False) -> bool:
        """Whether one (or, with `all_of`, each) of the tags is on TAGGED_SHARE of the records."""
        if self.sampled < MIN_TAGGED_RECORDS:
            return False
        on_most = [share(self.tagged[name], self.sampled) >= TAGGED_SHARE for name in names]
        return all(on_most) if all_of else any(on_most)

    def _bisulfite(self) -> bool:
        if self._tag_share(BISMARK_TAGS, all_of=True) or self._tag_share(BSBOLT_TAGS, all_of=True):
            return True
        converted = share(self.converted, self.base_reads)
        return self.base_reads >= MIN_CONVERSION_READS and converted >= CONVERTED_READ_SHARE

    def _hi_c(self) -> bool:
        if self._tag_share((PAIRTOOLS_TAG,)):
            return True
        return (
            self.pairs >= MIN_PAIRS
            and share(self.same_strand, self.pairs) >= HIC_SAME_STRAND_SHARE
            and share(self.far, self.pairs) >= HIC_FAR_SHARE
        )

    def _amplicon(self) -> bool:
        if not self.starts or share(self.base_reads, self.bases_seen) < 0.5:
            return False  # short reads stacked at few places are small RNAs, not amplicons
        keys = np.concatenate(self.starts)
        if len(keys) < MIN_AMPLICON_READS:
            return False
        values, counts = np.unique(keys, return_counts=True)
        order = np.argsort(counts, kind="stable")[::-1]
        core = int(np.searchsorted(np.cumsum(counts[order]), AMPLICON_CORE * len(keys))) + 1
        if len(keys) < AMPLICON_READS_PER_START * core:
            return False
        top = values[order[:core]]
        neighbours = np.isin(top + 1, values) | np.isin(top - 1, values)
        return share(int(np.count_nonzero(neighbours)), core) < AMPLICON_NEIGHBOUR_SHARE

    def _coverage(self) -> str:
        """`targeted` when most starts fall in a small part of the genome, `WGS` when spread."""
        bins = len(self.bin_counts)
        if not bins or not self.placed:
            return UNKNOWN
        # Merge neighbouring bins until they hold MIN_READS_PER_BIN starts on average.
        group = max(1, -(-MIN_READS_PER_BIN * bins // self.placed))
        counts = self.bin_counts
        if group > 1:
            padded = np.zeros(-(-bins // group) * group, dtype=np.int64)
            padded[:bins] = counts
            counts = padded.reshape(-1, group).sum(axis=1)
        if len(counts) < MIN_BINS:
            return UNKNOWN
        ordered = np.sort(counts)[::-1]
        core = int(np.searchsorted(np.cumsum(ordered), COVERAGE_CORE * self.placed)) + 1
        core_share = core / len(counts)
        if core_share <= TARGETED_BIN_SHARE:
            return "targeted"
        if core_share >= WGS_BIN_SHARE:
            return "WGS"
        return UNKNOWN
