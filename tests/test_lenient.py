"""As lenient as htslib where htslib reads a file, and the record says what was odd."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from genotel.extractors import bam_fast

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
    slow = record_of(path, gain=False)
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
