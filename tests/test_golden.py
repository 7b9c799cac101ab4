"""Every fixture's full record (all but record_id and created) equals its committed golden.

The comparison is `genotel.testing.assert_record_matches`, with the keys it ignores by default
included, so a failure is the diff report of what changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from genotel.testing import assert_record_matches

from conftest import run_cli
from golden import COMPARED, absolute_args, load_cases, stable

CASES = load_cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_record_equals_golden(name: str) -> None:
    case = CASES[name]
    result = run_cli("record", *absolute_args(case["args"]), "--json")  # type: ignore[arg-type]
    assert result.code == 0, result.err
    record = result.json()
    assert_record_matches(record, case, include=COMPARED)  # type: ignore[arg-type]
    assert stable(record) == case["record"]  # type: ignore[arg-type]  # also the order of hash_issues (a set there)


def test_every_data_type_of_the_spec_has_a_golden_case_eventually() -> None:
    # The foundation's alignment families must be covered; later formats add their cases.
    covered = {case["record"]["data_type"] for case in CASES.values()}  # type: ignore[index]
    assert {"SAM", "BAM", "CRAM"} <= covered


@pytest.mark.parametrize("name", sorted(name for name, case in CASES.items() if case["record"]["hash_issues"]))  # type: ignore[index]
def test_redact_leaves_no_example_value_in_the_record(name: str) -> None:
    case = CASES[name]
    plain: list[str] = case["record"]["hash_issues"]  # type: ignore[index]
    result = run_cli("record", *absolute_args(case["args"]), "--json", "--redact")  # type: ignore[arg-type]
    assert result.code == 0, result.err
    record = result.json()
    text = json.dumps(record, ensure_ascii=False)
    for entry in plain:
        # forms 1 and 2: NAME,PARENT,TABLE,OCC%,v1,...; form 3: <fastq name>;<qname>
        examples = entry.split(",")[4:] if entry.count(",") >= 4 else entry.split(";")
        for value in examples:
            if len(value) > 3 and not value.endswith("%"):
                assert value not in text, value
    assert "redact" in record["flags"]  # type: ignore[index]
    assert len(record["hash_issues"]) == len(plain)  # type: ignore[index]


# Cases whose formats are read by numba kernels (extractors/bed/scan.py, extractors/paf/scan.py).
KERNEL_CASES = ["aln_qname_bed", "coverage_bedgraph", "reads_R1_paf"]


def test_kernels_give_the_same_records_without_the_compiler() -> None:
    """Under NUMBA_DISABLE_JIT=1 the kernels run as the plain Python loops they are: same records."""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    for name in KERNEL_CASES:
        case = CASES[name]
        run = "from genotel.cli import run; run()"
        command = [sys.executable, "-c", run, "record", *absolute_args(case["args"]), "--json"]  # type: ignore[arg-type]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=300)
        assert result.returncode == 0, result.stderr
        assert stable(json.loads(result.stdout)) == case["record"], name
