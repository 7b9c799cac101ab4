"""Study types: the evidence accumulators of each format on batches of real tools' files.

Each study value is recognised on the fixture a real tool wrote for it (fixtures/make_study.sh),
and the negative cases are not: WGS of a small genome is not `targeted`, an @RG tag on every
record is not single-cell, a program of another kind of study turns the answer into `unknown`.
Parts merged in file order give the answer of one pass, and `--sample` (`within`) limits the
evidence.
"""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from genotel.engine import extract, make_record
from genotel.extractors.base import sample_within
from genotel.extractors.fastq.extractor import FastqExtractor
from genotel.extractors.fastq.study import FastqStudyEvidence
from genotel.extractors.sam import bam_fast
from genotel.extractors.sam.counts import AlignmentCountsAccumulator
from genotel.extractors.sam.extractor import SamExtractor, htslib_reading
from genotel.extractors.sam.header import SamHeader
from genotel.extractors.sam.study import SamStudyEvidence, program_kinds
from genotel.extractors.study import UNKNOWN, with_programs
from genotel.extractors.vcf.extractor import VcfExtractor
from genotel.extractors.vcf.study import VcfStudyEvidence, header_says_tumour_normal
from genotel.options import Options
from genotel.sniff import sniff

from conftest import FIXTURES, features

OPTIONS = Options(gain=False, reference=FIXTURES / "ref.fa")


def alignment_batches(path: Path, fast: bool = False) -> tuple[SamHeader, list]:
    """The header and batches of the fast BAM reader (`fast`) or of htslib."""
    sniffed = sniff(path)
    if fast:
        with SamExtractor().open(path, sniffed, OPTIONS) as reading:
            assert type(reading).__name__ == "FastBamReading"
            return reading.header, list(reading.batches())
    with htslib_reading(path, sniffed, OPTIONS, None) as reading:
        return reading.header, list(reading.batches())


def sam_study(path: Path, fast: bool = False, sample: int | None = None, parts: int = 1) -> str:
    """The study of an alignment file, its batches fed in `parts` accumulators merged in order."""
    header, batches = alignment_batches(path, fast)
    counts = AlignmentCountsAccumulator()
    pieces = [SamStudyEvidence(list(header.contig_lengths.values())) for _ in range(parts)]
    for index, batch in enumerate(batches):
        pieces[index * parts // len(batches)].add(batch, sample_within(batch, sample))
        counts.add(batch)
    evidence = pieces[0]
    for later in pieces[1:]:
        evidence.merge(later)
    return evidence.study(header, counts.sorted_by(header.declared_sort_order) == "POS")


@pytest.mark.parametrize(
    ("name", "study"),
    [
        ("study_rnaseq.bam", "RNA-seq"),  # HISAT2, an @RG tag on every record: not scRNA-seq
        ("study_scrna.bam", "scRNA-seq"),  # STARsolo: CB/UB
        ("dropseq_numeric_pg.bam", "scRNA-seq"),  # Drop-seq's own test file: XC/XM
        ("study_bisulfite.bam", "bisulfite"),  # BSBolt
        ("study_hic.bam", "Hi-C"),  # pairtools' Yt
        ("study_hic_bwa.bam", "Hi-C"),  # bwa -SP5M alone: the pairs' geometry
        ("study_amplicon.bam", "amplicon"),
        ("study_targeted.bam", "targeted"),
        ("aln_bwa.bam", "WGS"),  # 45 kb genome: WGS, not targeted
        ("aln_minimap2.bam", "WGS"),
        ("aln_trimmed.bam", "WGS"),
        ("aln_bwa.cram", "WGS"),
        ("study_unaligned.bam", UNKNOWN),  # no position, no tag
        ("aln_qname.sam", UNKNOWN),  # the reads of one contig of two: neither spread nor concentrated
    ],
)
def test_sam_study_of_real_files(name: str, study: str) -> None:
    path = FIXTURES / name
    assert sam_study(path) == study
    if sniff(path).data_type == "BAM":
        assert sam_study(path, fast=True) == study  # both BAM readers give the same batches' evidence


@pytest.mark.parametrize("name", ["aln_bwa.bam", "study_targeted.bam", "study_scrna.bam", "study_amplicon.bam"])
def test_sam_parts_merge_as_one_pass(name: str) -> None:
    assert sam_study(FIXTURES / name, parts=3) == sam_study(FIXTURES / name)


@pytest.mark.parametrize("name", ["aln_bwa.bam", "study_scrna.bam", "study_hic.bam", "study_amplicon.bam"])
def test_record_read_in_parts_has_the_same_study(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's BAM parts (3 threads, whatever the size) merge into the one-pass study."""
    path = FIXTURES / name
    one = dict(extract(path, Options(gain=False)).features)["study"]
    monkeypatch.setattr(bam_fast, "SPLIT_MIN_BYTES", 0)
    assert dict(extract(path, Options(gain=False, threads=3)).features)["study"] == one == sam_study(path)


def test_study_is_a_feature_of_every_record_format() -> None:
    for name, study in (("study_rnaseq.bam", "RNA-seq"), ("study_amplicon_R1.fastq.gz", "amplicon"),
                        ("study_cohort.vcf.gz", "cohort"), ("aln_bwa.cram", "WGS")):  # fmt: skip
        record = make_record(FIXTURES / name, Options(reference=FIXTURES / "ref.fa")).to_dict()
        assert features(record)["study"] == study


def test_sample_of_a_sorted_file_does_not_judge_coverage() -> None:
    """The first 100 records of a coordinate-sorted WGS file lie in its first 2 kb: no `targeted`."""
    assert sam_study(FIXTURES / "aln_bwa.bam", sample=100) == UNKNOWN
    # Tags are evidence in any sample: the first 100 records of the STARsolo file suffice.
    assert sam_study(FIXTURES / "study_scrna.bam", sample=100) == "scRNA-seq"


def rewrite_bam(source: Path, target: Path, drop_tags: tuple[str, ...] = (), header_pg: dict | None = None) -> Path:
    """`source` with some tags removed from every record, or another @PG line in its header."""
    with pysam.AlignmentFile(str(source)) as reader:
        header = reader.header.to_dict()
        if header_pg is not None:
            header["PG"] = [*header.get("PG", []), header_pg]
        with pysam.AlignmentFile(str(target), "wb", header=header) as writer:
            for read in reader:
                for tag in drop_tags:
                    read.set_tag(tag, None)
                writer.write(read)
    return target


def test_bisulfite_from_conversion_alone(tmp_path: Path) -> None:
    """Without BSBolt's tags the reads' C-to-T conversion still says bisulfite."""
    path = rewrite_bam(FIXTURES / "study_bisulfite.bam", tmp_path / "bs.bam", drop_tags=("XB", "YS", "XG"))
    assert sam_study(path) == "bisulfite"


def test_cell_barcodes_without_umis_are_unknown(tmp_path: Path) -> None:
    """Cell barcodes without UMIs are a single-cell library of another kind (scATAC): unknown,
    although the reads are spliced."""
    path = rewrite_bam(FIXTURES / "study_scrna.bam", tmp_path / "sc.bam", drop_tags=("UB", "UR"))
    assert sam_study(path) == UNKNOWN


def test_rna_aligner_over_unspliced_reads_is_unknown(tmp_path: Path) -> None:
    """WGS-looking data under a HISAT2 @PG line: bacterial RNA-seq has no introns; unknown."""
    hisat2 = {"ID": "hisat2", "PN": "hisat2", "VN": "2.2.1", "CL": "hisat2 -x ref"}
    path = rewrite_bam(FIXTURES / "aln_bwa.bam", tmp_path / "x.bam", header_pg=hisat2)
    assert sam_study(path) == UNKNOWN


def test_program_kinds() -> None:
    header, _ = alignment_batches(FIXTURES / "study_scrna.bam")
    assert program_kinds(header) == {"single-cell"}  # STAR with --soloType
    header, _ = alignment_batches(FIXTURES / "study_hic_bwa.bam")
    assert program_kinds(header) == {"Hi-C"}  # bwa mem -SP5M
    header, _ = alignment_batches(FIXTURES / "study_bisulfite.bam")
    assert program_kinds(header) == {"bisulfite"}  # BSBolt's bwa fork (VN BSB-...)
    header, _ = alignment_batches(FIXTURES / "aln_bwa.bam")
    assert program_kinds(header) == set()
    spliced = {"ID": "mm2", "PN": "minimap2", "CL": "minimap2 -a -x splice:hq ref.fa reads.fq"}
    header.program_lines.append(spliced)
    assert program_kinds(header) == {"RNA"}  # minimap2's spliced presets
    assert with_programs("WGS", {"RNA"}) == UNKNOWN
    assert with_programs("scRNA-seq", {"RNA", "single-cell"}) == "scRNA-seq"
    assert with_programs("RNA-seq", set()) == "RNA-seq"


def fastq_study(path: Path, sample: int | None = None) -> str:
    evidence = FastqStudyEvidence()
    with FastqExtractor().open(path, sniff(path), OPTIONS) as reading:
        for batch in reading.batches():
            evidence.add(batch, sample_within(batch, sample))
    return evidence.study()


@pytest.mark.parametrize(
    ("name", "study"),
    [
        ("study_scrna_R1.fastq.gz", "scRNA-seq"),
        ("study_amplicon_R1.fastq.gz", "amplicon"),
        ("reads_R1.fastq.gz", UNKNOWN),
        ("trimmed_R2.fastq.gz", UNKNOWN),
        ("names_unparsed.fastq", UNKNOWN),  # 50 reads: too few to tell
    ],
)
def test_fastq_study_of_real_files(name: str, study: str) -> None:
    assert fastq_study(FIXTURES / name) == study


def test_small_rna_reads_are_not_amplicons(tmp_path: Path) -> None:
    """Reads stacked on a few starts but read through into the small-RNA adapter: unknown."""
    import gzip

    lines = gzip.decompress((FIXTURES / "study_amplicon_R1.fastq.gz").read_bytes()).split(b"\n")
    adapter = b"TGGAATTCTCGGGTGCCAAGGAACTCCAGTCAC"
    for index in range(1, len(lines), 4):
        lines[index] = lines[index][:22] + adapter
        lines[index + 2] = lines[index + 2][: len(lines[index])]
    path = tmp_path / "small_rna.fastq"
    path.write_bytes(b"\n".join(lines))
    assert fastq_study(path) == UNKNOWN


def test_fastq_sample_limits_the_evidence() -> None:
    assert fastq_study(FIXTURES / "study_scrna_R1.fastq.gz", sample=500) == UNKNOWN  # fewer than 1,000 reads


def vcf_study(path: Path, sample: int | None = None) -> str:
    with VcfExtractor().open(path, sniff(path), OPTIONS) as reading:
        header = reading.header
        evidence = VcfStudyEvidence(reading.header_text, header.num_samples, header.programs)
        for batch in reading.batches():
            evidence.add(batch, sample_within(batch, sample))
    return evidence.study()


@pytest.mark.parametrize(
    ("name", "study"),
    [
        ("study_somatic.vcf", "somatic"),  # delly filter -f somatic: SOMATIC on each record
        ("study_sv.vcf", "structural"),  # delly call, one sample
        ("study_cohort.vcf.gz", "cohort"),  # bcftools call, 4 samples
        ("many_samples.vcf.gz", "cohort"),
        ("calls.vcf.gz", "germline"),
        ("calls.bcf", "germline"),
        ("calls.g.vcf.gz", "germline"),  # gVCF reference blocks are not structural variants
        ("freebayes.vcf", "germline"),
        ("sites.vcf.gz", UNKNOWN),  # no sample
        ("donor_truth.vcf", UNKNOWN),
        ("public/gatk_combinegvcfs.vcf", UNKNOWN),  # two samples: neither germline nor a cohort
    ],
)
def test_vcf_study_of_real_files(name: str, study: str) -> None:
    assert vcf_study(FIXTURES / name) == study


def test_vcf_tumour_normal_header() -> None:
    assert header_says_tumour_normal("##tumor_sample=T1\n#CHROM\tPOS\n")
    columns = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"
    assert header_says_tumour_normal(f"##fileformat=VCFv4.2\n{columns}\tNORMAL\tTUMOR\n")
    assert not header_says_tumour_normal(f"{columns}\tS1\tS2\n")


def test_vcf_somatic_program_over_germline_data(tmp_path: Path) -> None:
    """One sample, no SOMATIC flag, but Mutect2 named in the header: the kinds conflict, unknown."""
    text = (FIXTURES / "calls.vcf").read_text()
    path = tmp_path / "m.vcf"
    path.write_text(text.replace("##fileformat=VCFv4.2\n", "##fileformat=VCFv4.2\n##source=Mutect2\n", 1))
    assert vcf_study(path) == UNKNOWN
