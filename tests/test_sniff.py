"""Format sniffing looks at bytes, never at names."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from genotel.errors import InputError, UnknownFormat
from genotel.sniff import classify_text, sniff

from conftest import FIXTURES


@pytest.mark.parametrize(
    ("name", "data_type", "codec"),
    [
        ("aln_bwa.bam", "BAM", "BGZF"),
        ("aln_bwa.cram", "CRAM", "CRAM"),
        ("aln_qname.sam", "SAM", "NONE"),
        ("calls.vcf", "VCF", "NONE"),
        ("calls.vcf.gz", "VCF", "BGZF"),
        ("calls.bcf", "BCF", "BCF"),
        ("genes.gff", "GFF", "NONE"),
        ("genes.gtf", "GTF", "NONE"),
        ("reads_R1.fastq.gz", "FASTQ", "GZ"),
        ("reads_interleaved.fastq", "FASTQ", "NONE"),
        ("ref.fa", "FASTA", "NONE"),
        ("proteins.faa", "FASTA", "NONE"),
        ("aln_bwa.bed.gz", "BED", "BGZF"),
        ("aln_bwa.bed12.gz", "BED", "GZ"),
        ("coverage.bedgraph", "BED", "NONE"),  # a track line first
        ("reads_R1.paf", "PAF", "NONE"),
        ("reads_R1.paf.gz", "PAF", "GZ"),
    ],
)
def test_fixtures_are_recognised(name: str, data_type: str, codec: str) -> None:
    sniffed = sniff(FIXTURES / name)
    assert (sniffed.data_type, sniffed.codec) == (data_type, codec)


def test_the_extension_is_ignored(tmp_path: Path) -> None:
    disguised = tmp_path / "really_a_sam.bam"
    shutil.copy(FIXTURES / "aln_qname.sam", disguised)
    assert sniff(disguised).data_type == "SAM"


def test_gzipped_sam_is_sam_in_gz(tmp_path: Path) -> None:
    target = tmp_path / "x"
    target.write_bytes(gzip.compress((FIXTURES / "aln_qname.sam").read_bytes()))
    assert (sniff(target).data_type, sniff(target).codec) == ("SAM", "GZ")


def test_headerless_sam_record_is_sam() -> None:
    assert classify_text(b"r1\t4\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII\n") == "SAM"


def test_fastq_is_not_mistaken_for_a_sam_header() -> None:
    assert classify_text(b"@SQ_read_1\nACGT\n+\nIIII\n") == "FASTQ"


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "no such file"), (b"", "is empty"), (b"%PDF-1.4 not genomics\n", "unknown format")],
)
def test_unreadable_inputs(tmp_path: Path, content: bytes | None, problem: str) -> None:
    path = tmp_path / "input"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=problem):
        sniff(path)


def test_directory_and_unknown_format_types(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        sniff(tmp_path)
    (tmp_path / "x").write_bytes(b"\x00\x01binary")
    with pytest.raises(UnknownFormat):
        sniff(tmp_path / "x")
