"""`programs` holds program names only, and GTF is told from GFF by its attribute syntax (real files)."""

from __future__ import annotations

import pytest

from genotel.extractors.gff.programs import source_program
from genotel.extractors.sam.header import program_name
from genotel.extractors.vcf.header import is_program_value, vcf_programs
from genotel.sniff import is_gtf_attributes, sniff

from conftest import FIXTURES, features, record_of


def test_numeric_pg_ids_give_the_pn_on_a_drop_seq_bam() -> None:
    # Drop-seq's test BAM: @PG ID:0 PN:TagReadWithInterval and ID:1 PN:TagReadWithGeneFunction.
    record = record_of(FIXTURES / "dropseq_numeric_pg.bam", gain=False)
    assert record["programs"] == "STAR;TagReadWithInterval;TagReadWithGeneFunction;samtools;"


@pytest.mark.parametrize(
    ("program_id", "pn", "name"),
    [("0", "TagReadWithInterval", "TagReadWithInterval"), ("12", None, None), ("0.1", "X", "X")],
)
def test_program_name_of_numeric_ids(program_id: str, pn: str | None, name: str | None) -> None:
    assert program_name(program_id, pn) == name


def test_one_name_per_gatk_tool_on_a_gatk_combinegvcfs_output() -> None:
    # GATK's own test output: ##GATKCommandLine=<ID=CombineGVCFs,...> and ##source=CombineGVCFs.
    assert record_of(FIXTURES / "public" / "gatk_combinegvcfs.vcf", gain=False)["programs"] == "GATK.CombineGVCFs;"


def test_canonical_gatk_name_whatever_rule_names_it_first() -> None:
    lines = ["##source=GenotypeGVCFs", "##GATKCommandLine.GenotypeGVCFs=<ID=GenotypeGVCFs>", "##source=bcftools"]
    assert vcf_programs(lines) == ["GATK.GenotypeGVCFs", "bcftools"]


def test_phasing_none_is_not_a_program_on_a_freebayes_vcf() -> None:
    # freebayes writes ##source=freeBayes v1.3.6 and ##phasing=none; the version is no part of the name.
    assert record_of(FIXTURES / "freebayes.vcf", gain=False)["programs"] == "freeBayes;"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("none", False), ("Unphased", False), ("partial", False), ("", False), ("2", False), ("1.0", False),
     ("SHAPEIT2", True), ("beagle.22Jul22.46e.jar", True), ("freeBayes v1.3.6", True)],
)  # fmt: skip
def test_is_program_value(value: str, expected: bool) -> None:
    assert is_program_value(value) is expected


def test_ensembl_biotypes_in_column_2_are_not_programs() -> None:
    # An Ensembl GTF of the old layout (pysam's test data): column 2 is pseudogene / protein_coding.
    record = record_of(FIXTURES / "public" / "pysam_ensembl_old.gtf", gain=False)
    assert (record["data_type"], record["programs"]) == ("GTF", None)


@pytest.mark.parametrize(("source", "name"), [("lincRNA", None), ("processed_transcript", None), ("ERCC", "ERCC")])
def test_source_program_leaves_biotypes_out(source: str, name: str | None) -> None:
    assert source_program(source) == name


def test_unquoted_gtf_attributes_are_gtf() -> None:
    # ERCC spike-in GTF lines: `gene_id ERCC-00002; transcript_id DQ459430;` (values unquoted).
    path = FIXTURES / "ercc_unquoted.gtf"
    assert sniff(path).data_type == "GTF"
    record = record_of(path, gain=False)
    assert (record["data_type"], features(record)["GFF_version"], record["programs"]) == ("GTF", "GTF", "ERCC;")


@pytest.mark.parametrize(
    ("column", "gtf"),
    [(b"gene_id ERCC-00002; transcript_id DQ459430;", True), (b' gene_id "ENSG1"; exon_number "1";', True),
     (b'gene_id "a=b";', True), (b"ID=gene1;Name=a b", False), (b"Note=some text", False), (b".", False)],
)  # fmt: skip
def test_attribute_syntax_decides_gtf(column: bytes, gtf: bool) -> None:
    assert is_gtf_attributes(column) is gtf
