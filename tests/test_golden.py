"""Every fixture's full record (all but record_id and created) equals its committed golden."""

from __future__ import annotations

import pytest

from conftest import run_cli
from golden import absolute_args, load_cases, stable

CASES = load_cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_record_equals_golden(name: str) -> None:
    case = CASES[name]
    result = run_cli("record", *absolute_args(case["args"]), "--json")  # type: ignore[arg-type]
    assert result.code == 0, result.err
    assert stable(result.json()) == case["record"]  # type: ignore[arg-type]


def test_every_data_type_of_the_spec_has_a_golden_case_eventually() -> None:
    # The foundation's alignment families must be covered; later formats add their cases.
    covered = {case["record"]["data_type"] for case in CASES.values()}  # type: ignore[index]
    assert {"SAM", "BAM", "CRAM"} <= covered
