"""The study type of a VCF/BCF file, from its header and its first records.

The header tells the samples (counted; their names are compared with `NORMAL`/`TUMOR` only,
never kept), Mutect2's `##tumor_sample=`/`##normal_sample=`, a `##content=` that says somatic,
and the programs. `VcfStudyEvidence` reads the first `EVIDENCE_RECORDS` records within
`--sample`: how many are structural variants (an `SVTYPE` INFO key, a symbolic or breakend ALT)
and how many carry the `SOMATIC` flag. `study()` applies the rules of docs/record.md.
"""

from __future__ import annotations

import re

from ...textio import decode_text
from ..study import GERMLINE, SOMATIC, STRUCTURAL, UNKNOWN, share, with_programs
from .text import VcfBatch

EVIDENCE_RECORDS = 10_000
SV_SHARE = 0.5
SOMATIC_SHARE = 0.5
COHORT_SAMPLES = 3  # two samples may be a tumour and its normal: neither a cohort nor germline
NOT_SV_ALTS = (b"<*>", b"<NON_REF>")  # gVCF reference-block alleles
TUMOUR_NORMAL_NAMES = ({"NORMAL", "TUMOR"}, {"NORMAL", "TUMOUR"})  # Strelka's and VarScan's columns
_SVTYPE = re.compile(rb"(?:^|;)SVTYPE=")
_SOMATIC = re.compile(rb"(?:^|;)SOMATIC(?:;|=|$)")

# Programs (as `programs` names them, lower case) by the kind of study they are made for.
PROGRAM_KINDS: dict[str, str] = {
    "gatk.mutect2": SOMATIC,
    "gatk.filtermutectcalls": SOMATIC,
    "mutect2": SOMATIC,
    "filtermutectcalls": SOMATIC,
    "muse": SOMATIC,
    "somaticsniper": SOMATIC,
    "generatesvcandidates": STRUCTURAL,  # Manta
    "manta": STRUCTURAL,
    "lumpy": STRUCTURAL,
    "gridss": STRUCTURAL,
    "sniffles": STRUCTURAL,
    "sniffles2": STRUCTURAL,
    "svim": STRUCTURAL,
    "cutesv": STRUCTURAL,
    "gatk.haplotypecaller": GERMLINE,
    "haplotypecaller": GERMLINE,
    "gatk.genotypegvcfs": GERMLINE,
    "genotypegvcfs": GERMLINE,
    "gatk.combinegvcfs": GERMLINE,
    "combinegvcfs": GERMLINE,
    "deepvariant": GERMLINE,
    "bcftools_call": GERMLINE,
    "freebayes": GERMLINE,
    "platypus": GERMLINE,
}


def program_kinds(programs: tuple[str, ...] | list[str]) -> set[str]:
    return {PROGRAM_KINDS[name.lower()] for name in programs if name.lower() in PROGRAM_KINDS}


class VcfStudyEvidence:
    """Header facts and the structural / somatic records among the first records."""

    def __init__(self, header_text: bytes, num_samples: int, programs: tuple[str, ...] | list[str]) -> None:
        self.num_samples = num_samples
        self.program_kinds = program_kinds(programs)
        self.tumour_normal = header_says_tumour_normal(decode_text(header_text))
        self.records = 0
        self.structural = 0
        self.somatic = 0

    def add(self, batch: VcfBatch, within: int) -> None:
        count = min(within, EVIDENCE_RECORDS - self.records)
        if count <= 0:
            return
        data = batch.lines.data
        raw = data.base if isinstance(data.base, bytes) else data.tobytes()
        columns = batch.columns
        for index in range(count):
            if columns[index] < 8:
                continue  # not a record genotel reads (the column check reports it)
            tab_at = batch.tab_at[index].tolist()
            alt = raw[tab_at[3] + 1 : tab_at[4]]
            info = raw[tab_at[6] + 1 : tab_at[7]].rstrip(b"\r")  # up to FORMAT's tab or the line's end
            if (alt.startswith(b"<") and alt not in NOT_SV_ALTS) or b"[" in alt or b"]" in alt or _SVTYPE.search(info):
                self.structural += 1
            if _SOMATIC.search(info):
                self.somatic += 1
        self.records += count

    def merge(self, later: VcfStudyEvidence) -> None:
        room = EVIDENCE_RECORDS - self.records
        if room <= 0 or later.records > room:
            return
        self.records += later.records
        self.structural += later.structural
        self.somatic += later.somatic

    def study(self) -> str:
        """`somatic`, `structural`, `cohort`, `germline` or `unknown` (docs/record.md)."""
        if self.tumour_normal or (self.records and share(self.somatic, self.records) >= SOMATIC_SHARE):
            study = "somatic"
        elif self.records and share(self.structural, self.records) >= SV_SHARE:
            study = "structural"
        elif self.num_samples >= COHORT_SAMPLES:
            study = "cohort"
        elif self.num_samples == 1 and self.records:
            study = "germline"
        else:
            study = UNKNOWN
        return with_programs(study, self.program_kinds)


def header_says_tumour_normal(text: str) -> bool:
    """Mutect2's tumour/normal lines, a somatic `##content=`, or NORMAL and TUMOR sample columns."""
    for line in text.splitlines():
        if line.startswith(("##tumor_sample=", "##normal_sample=")):
            return True
        if line.startswith("##content=") and "somatic" in line.lower():
            return True
        if line.startswith("#CHROM"):
            samples = {name.upper() for name in line.rstrip("\r").split("\t")[9:]}
            return samples in TUMOUR_NORMAL_NAMES
    return False
