"""Study types: the vocabulary of the `study=` feature and the rule that weighs programs against data.

Each format gathers its own evidence (`sam/study.py`, `fastq/study.py`, `vcf/study.py`) and
names a study from the data alone; `with_programs` then checks that name against the programs
that made the file: a program of another kind of study (an RNA aligner under data that look like
WGS) makes it `unknown`, since a wrong label is worse than none. docs/record.md lists each value
with its evidence rule.
"""

from __future__ import annotations

from collections.abc import Iterable

UNKNOWN = "unknown"
# Values by data type, in the order of the rules that decide them.
SAM_STUDIES = ("scRNA-seq", "bisulfite", "Hi-C", "RNA-seq", "amplicon", "targeted", "WGS", UNKNOWN)
FASTQ_STUDIES = ("scRNA-seq", "amplicon", UNKNOWN)
VCF_STUDIES = ("somatic", "structural", "cohort", "germline", UNKNOWN)

# The kinds of study a program is made for; programs of other kinds are neutral (bwa, samtools).
RNA, SINGLE_CELL, BISULFITE, HI_C, SOMATIC, STRUCTURAL, GERMLINE = (
    "RNA", "single-cell", "bisulfite", "Hi-C", "somatic", "structural", "germline"
)  # fmt: skip
# The program kinds each study value agrees with (any other kind in the header contradicts it).
AGREEING_KINDS: dict[str, frozenset[str]] = {
    "scRNA-seq": frozenset({RNA, SINGLE_CELL}),
    "RNA-seq": frozenset({RNA}),
    "bisulfite": frozenset({BISULFITE}),
    "Hi-C": frozenset({HI_C}),
    "amplicon": frozenset(),
    "targeted": frozenset(),
    "WGS": frozenset(),
    "somatic": frozenset({SOMATIC, STRUCTURAL}),
    "structural": frozenset({STRUCTURAL}),
    "cohort": frozenset({GERMLINE}),
    "germline": frozenset({GERMLINE}),
}


def with_programs(study: str, program_kinds: Iterable[str]) -> str:
    """`study` when every program kind agrees with it (or there is none), else `unknown`."""
    if study == UNKNOWN:
        return UNKNOWN
    agreeing = AGREEING_KINDS[study]
    return study if all(kind in agreeing for kind in program_kinds) else UNKNOWN


def share(part: int, whole: int) -> float:
    """part / whole, 0 for an empty whole."""
    return part / whole if whole else 0.0
