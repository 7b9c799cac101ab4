"""Every fixture's full record (all but record_id and created) equals its committed golden.

The comparison is `genotel.testing.assert_record_matches`, with the keys it ignores by default
included, so a failure is the diff report of what changed.
"""

from __future__ import annotations

import json

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
