"""Many files: folders, the process pool, --output/--resume, and a real Dask cluster."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import distributed
import pytest

from genotel.progress import BatchProgress
from genotel.runner import expand_inputs, make_tasks, threads_per_file

from conftest import FIXTURES, run_cli
from golden import stable

GOOD = ["aln_bwa.bam", "calls.vcf.gz", "reads_interleaved.fastq", "genes.gff", "proteins.faa", "aln_qname.sam"]


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    """A run folder: good files in nested folders, their index files, a README and broken files."""
    folder = tmp_path / "run"
    (folder / "lane1" / "deeper").mkdir(parents=True)
    for index, name in enumerate(GOOD):
        target = folder / ("lane1/deeper" if index % 2 else "lane1") / name
        shutil.copy(FIXTURES / name, target)
    shutil.copy(FIXTURES / "aln_bwa.bam.bai", folder / "lane1" / "aln_bwa.bam.bai")
    shutil.copy(FIXTURES / "calls.vcf.gz.tbi", folder / "lane1" / "deeper" / "calls.vcf.gz.tbi")
    (folder / "README.txt").write_text("sequencing run 42\n")
    (folder / "broken.bam").write_bytes((FIXTURES / "aln_bwa.bam").read_bytes()[:5000])
    (folder / "lane1" / "bad.fastq").write_text("@r1\nACGT\n-\nIIII\n")
    return folder


def jsonl(path: Path) -> dict[str, dict[str, object]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return {Path(line["file"]).name: stable(line["record"]) for line in lines}


def test_folders_are_searched_by_content(run_folder: Path) -> None:
    names = sorted(Path(path).name for path in expand_inputs([str(run_folder)]))
    assert names == sorted([*GOOD, "broken.bam", "bad.fastq"])  # no .bai, .tbi or README


def test_a_folder_gives_a_record_per_good_file_and_a_failure_per_bad_one(run_folder: Path, tmp_path: Path) -> None:
    output = tmp_path / "records.jsonl"
    result = run_cli("record", run_folder, "--output", output, "--jobs", "2", "--json")
    assert result.code == 2
    records = jsonl(output)
    assert sorted(records) == sorted(GOOD)
    assert {record["data_type"] for record in records.values()} == {"BAM", "VCF", "FASTQ", "GFF", "FASTA", "SAM"}
    assert all(str(record["flags"]).endswith("/8") for record in records.values())
    assert "genotel: 8 files: 6 recorded, 2 failed" in result.err
    failures = [line for line in result.err.splitlines() if line.startswith("  failed: ")]
    assert len(failures) == 2
    assert any("broken.bam: truncated BAM file at record 1" in line for line in failures)
    assert any("bad.fastq" in line and "line 3" in line for line in failures)
    assert len(result.json()) == 6  # type: ignore[arg-type]


def test_resume_after_an_interrupted_run_gives_the_same_records(run_folder: Path, tmp_path: Path) -> None:
    complete, interrupted = tmp_path / "complete.jsonl", tmp_path / "interrupted.jsonl"
    run_cli("record", run_folder, "--output", complete, "--jobs", "2")
    # What a crash leaves: the first lines whole, then half of the next one.
    lines = complete.read_bytes().splitlines(keepends=True)
    interrupted.write_bytes(b"".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    result = run_cli("record", run_folder, "--output", interrupted, "--resume", "--jobs", "2")
    assert result.code == 2  # the broken files fail again
    assert "3 already recorded" in result.err
    assert jsonl(interrupted) == jsonl(complete)
    assert len(interrupted.read_text().splitlines()) == len(GOOD)


def test_resume_needs_output() -> None:
    result = run_cli("record", FIXTURES / "aln_bwa.bam", "--resume")
    assert result.code == 2 and "--resume needs --output" in result.err


def test_output_appends_to_its_own_file(tmp_path: Path) -> None:
    output = tmp_path / "records.jsonl"
    assert run_cli("record", FIXTURES / "genes.gff", "--output", output).code == 0
    assert run_cli("record", FIXTURES / "genes.gtf", "--output", output).code == 0
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [Path(line["file"]).name for line in lines] == ["genes.gff", "genes.gtf"]


def test_jobs_and_threads_never_oversubscribe_the_cores() -> None:
    cores = os.cpu_count() or 1
    for jobs in (1, 2, 4, 64):
        assert jobs * threads_per_file(8, jobs) <= max(cores, jobs)
        assert threads_per_file(8, jobs) >= 1


def test_dask_cluster_gives_the_same_records_as_the_local_pool(run_folder: Path, tmp_path: Path) -> None:
    local_out, dask_out = tmp_path / "local.jsonl", tmp_path / "dask.jsonl"
    run_cli("record", run_folder, "--output", local_out, "--jobs", "2")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = run_cli("record", run_folder, "--output", dask_out, "--dask", cluster.scheduler_address)
    assert result.code == 2 and "8 files: 6 recorded, 2 failed" in result.err
    assert jsonl(dask_out) == jsonl(local_out)


def test_unreachable_dask_scheduler_is_a_clear_error() -> None:
    result = run_cli("record", FIXTURES / "genes.gff", "--dask", "tcp://127.0.0.1:9")
    assert result.code == 2
    assert "cannot reach the Dask scheduler" in result.err
    assert "Traceback" not in result.err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_and_stays_quiet_otherwise() -> None:
    tasks = make_tasks([str(FIXTURES / "genes.gff"), str(FIXTURES / "proteins.faa")])
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        with BatchProgress(stream, tasks) as progress:
            progress.say("genotel: error: x: is empty")
    assert "genotel: error: x: is empty" in terminal.getvalue() and "genotel" in terminal.getvalue()
    assert pipe.getvalue() == "genotel: error: x: is empty\n"
