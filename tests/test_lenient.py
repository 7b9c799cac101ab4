"""As lenient as htslib where htslib reads a file, and the record says what was odd."""

from __future__ import annotations

import json
from pathlib import Path

import pysam
import pysam.bcftools
import pytest

from genotel.extractors.sam import bam_fast

from conftest import FIXTURES, features, record_of, run_cli

EOF_BLOCK_BYTES = 28
BGZF_FIXTURES = ["aln_bwa.bam", "calls.vcf.gz", "calls.bcf", "trimmed_R1.fastq.gz", "genes.gff.gz", "ref_bgzf.fa.gz"]


def without_eof_block(tmp_path: Path, name: str) -> Path:
    """A copy of the fixture cut at its last block boundary: the state of a file still being written."""
    path = tmp_path / f"noeof_{name}"
    path.write_bytes((FIXTURES / name).read_bytes()[:-EOF_BLOCK_BYTES])
    return path


def comparable(record: dict[str, object]) -> dict[str, object]:
    """The record without what differs between two runs or two file sizes."""
    source = dict(record["source"])  # type: ignore[call-overload]
    source.pop("disk_size")
    return {key: value for key, value in record.items() if key not in ("record_id", "created", "source_gain")} | {
        "source": source
    }


@pytest.mark.parametrize("name", BGZF_FIXTURES)
def test_bgzf_without_eof_block_is_read_and_flagged(name: str, tmp_path: Path) -> None:
    whole = record_of(FIXTURES / name)
    cut = record_of(without_eof_block(tmp_path, name))
    assert cut["features"] == f"{whole['features']}bgzf_eof=missing;"
    assert cut["source"]["disk_size"] == whole["source"]["disk_size"] - EOF_BLOCK_BYTES  # type: ignore[index]
    assert comparable(cut) | {"features": ""} == comparable(whole) | {"features": ""}
    assert "bgzf_eof" not in features(whole)


def test_bam_without_eof_block_as_samtools_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = without_eof_block(tmp_path, "aln_bwa.bam")
    assert pysam.samtools.view("-c", str(path)).strip() == "6722"  # samtools warns and reads it
    fast = record_of(path, gain=False)
    monkeypatch.setenv(bam_fast.ENV_READER, "pysam")
    slow = record_of(path, gain=False, threads=2)  # pysam takes no extra threads for such a file: one is used
    assert comparable(fast) == comparable(slow)
    assert features(fast)["num_lines"] == "6722" and features(fast)["bgzf_eof"] == "missing"


@pytest.mark.parametrize("reader", ["", "pysam"])
def test_bam_cut_inside_a_block_names_the_record(reader: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (FIXTURES / "aln_bwa.bam").read_bytes()
    path = tmp_path / "cut.bam"
    path.write_bytes(data[: len(data) // 2])
    monkeypatch.setenv(bam_fast.ENV_READER, reader)
    result = run_cli("record", path)
    assert (result.code, result.err) == (2, f"genotel: error: {path}: truncated BAM file at record 3106\n")


def bcftools_records(path: Path) -> int:
    return len(pysam.bcftools.view("--no-version", "-H", str(path)).splitlines())


def with_tabs_after(tmp_path: Path, name: str, record_lines: slice, chrom_line: bool = False) -> Path:
    """A copy of a VCF fixture with a tab added at the end of some record lines (or of the #CHROM line)."""
    lines = (FIXTURES / name).read_text().splitlines(keepends=True)
    first_record = next(index for index, line in enumerate(lines) if not line.startswith("#"))
    chosen = [first_record - 1] if chrom_line else range(len(lines))[first_record:][record_lines]
    for index in chosen:
        lines[index] = lines[index].rstrip("\n") + "\t\n"
    path = tmp_path / f"tabbed_{name}"
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize("name", ["calls.vcf", "donor_truth.vcf"])  # one sample; sites-only
def test_vcf_record_lines_ending_in_a_tab_are_read_as_bcftools_reads_them(name: str, tmp_path: Path) -> None:
    path = with_tabs_after(tmp_path, name, slice(0, None, 3))
    whole = record_of(FIXTURES / name)
    record = record_of(path)
    count = len(range(bcftools_records(path))[::3])
    assert bcftools_records(path) == bcftools_records(FIXTURES / name)
    assert record["features"] == f"{whole['features']}trailing_tab_lines={count};"
    assert record["source"]["txt_size"] == path.stat().st_size  # type: ignore[index]
    assert record["programs"] == whole["programs"] and record["hash_issues"] == whole["hash_issues"]


def test_vcf_chrom_line_ending_in_a_tab_is_reported_against_that_line(tmp_path: Path) -> None:
    path = with_tabs_after(tmp_path, "calls.vcf", slice(0), chrom_line=True)
    with pytest.raises(pysam.utils.SamtoolsError):
        pysam.bcftools.view("--no-version", str(path))  # htslib: "Empty sample name"
    chrom_line = next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("#CHROM"))
    result = run_cli("record", path)
    assert result.code == 2
    problem = "empty sample name in the #CHROM line (a tab at its end?; htslib refuses it)"
    assert result.err == f"genotel: error: {path}: {problem} at line {chrom_line}\n"


# ---- header bytes that are not UTF-8 -----------------------------------------------------------

LATIN1_SAM = (
    b"@HD\tVN:1.6\n@SQ\tSN:c1\tLN:100\n@PG\tID:t\xe9st\tPN:t\xe9st\n@CO\tcaf\xe9\n"
    b"r1\t0\tc1\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n"
)
LATIN1_VCF = (
    b"##fileformat=VCFv4.2\n##source=m\xe9thode\n##contig=<ID=c1,length=100>\n"
    b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nc1\t5\t.\tA\tC\t10\tPASS\t.\n"
)
LATIN1_GFF = b"##gff-version 3\n#!processor caf\xe9tool\nc1\tpr\xf6digal\tCDS\t1\t10\t.\t+\t0\tID=a\n"
LATIN1_FASTQ = b"@r\xe91 batch\xff\nACGT\n+\nIIII\n@r\xe92 batch\xff\nACGT\n+\nIIII\n"


def latin1_files(tmp_path: Path) -> dict[str, tuple[Path, str | None]]:
    """Files whose header bytes are Latin-1, made by samtools and bcftools where they apply, with
    the programs their records should list."""
    sam, vcf = tmp_path / "latin1.sam", tmp_path / "latin1.vcf"
    sam.write_bytes(LATIN1_SAM)
    vcf.write_bytes(LATIN1_VCF)
    bam, bcf = tmp_path / "latin1.bam", tmp_path / "latin1.bcf"
    pysam.samtools.view("-b", "--no-PG", "-o", str(bam), str(sam), catch_stdout=False)
    pysam.bcftools.view("--no-version", "-Ob", "-o", str(bcf), str(vcf), catch_stdout=False)
    gff, fastq = tmp_path / "latin1.gff", tmp_path / "latin1.fastq"
    gff.write_bytes(LATIN1_GFF)
    fastq.write_bytes(LATIN1_FASTQ)
    return {
        "SAM": (sam, "tést;"), "BAM": (bam, "tést;"), "VCF": (vcf, "méthode;"), "BCF": (bcf, "méthode;"),
        "GFF": (gff, "cafétool;prödigal;"), "FASTQ": (fastq, None),
    }  # fmt: skip


@pytest.mark.parametrize("data_type", ["SAM", "BAM", "VCF", "BCF", "GFF", "FASTQ"])
def test_header_bytes_that_are_not_utf8_are_read_as_latin1_and_flagged(data_type: str, tmp_path: Path) -> None:
    path, programs = latin1_files(tmp_path)[data_type]
    record = record_of(path)
    assert record["data_type"] == data_type
    assert "\ufffd" not in json.dumps(record, ensure_ascii=False)
    assert features(record)["header_utf8"] == "invalid"
    assert record["programs"] == programs


def test_latin1_headers_keep_their_exact_sizes(tmp_path: Path) -> None:
    files = latin1_files(tmp_path)
    for data_type in ("SAM", "VCF", "GFF", "FASTQ"):
        path = files[data_type][0]
        assert record_of(path)["source"]["txt_size"] == path.stat().st_size  # type: ignore[index]
    bcf = files["BCF"][0]
    text = pysam.bcftools.view("--no-version", str(bcf), encoding="latin-1")  # htslib's text, byte for byte
    assert record_of(bcf)["source"]["txt_size"] == len(text)  # type: ignore[index]


def test_latin1_read_names_are_examples_without_replacement_characters(tmp_path: Path) -> None:
    record = record_of(latin1_files(tmp_path)["FASTQ"][0])
    assert record["hash_issues"] == ["QNAME,,,,ré1,ré2"]  # form 2: names of no known flavour


def test_utf8_headers_are_not_flagged() -> None:
    for name in ("aln_bwa.bam", "calls.vcf.gz", "calls.bcf", "genes.gff", "reads_R1.fastq.gz"):
        assert "header_utf8" not in features(record_of(FIXTURES / name, gain=False))
