"""Read-name flavours: one test per naming scheme, with real-looking names."""

from __future__ import annotations

import pytest

from genotel.stats.readnames import FLAVOURS, ReadNameAccumulator, classify

EXAMPLES = {
    "Element": ["AV234602:0001:2322426767:1:10102:0191:0040", "AV234602:0001:2322426767:2:10102:0191:0040:ACGTAC"],
    "Illumina": [
        "A00910:85:HYGWJDSXX:1:1101:3025:1000",
        "M02007:58:000000000-AW0NA:1:1101:11070:1384",
        "NB501234:12:HXXXXBGX9:1:11101:10000:1000/1",
        "SIM:1:FCX:1:15:6329:1045:GATTACT+GTCTTAAC",
    ],
    "Illumina-old": ["HWUSI-EAS100R:6:73:941:1973#0/1", "HWI-ST1234:8:1101:1234:5678"],
    "MGI": ["V300012345L1C001R0010000001/1", "E100003467L2C012R03400012345", "CL100012345L1C001R001_1234"],
    "ONT": ["0ff5a3b6-3bd6-4e5c-9a2e-6a8f2b0c1d2e", "7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"],
    "PacBio-CCS": ["m64011_190830_220126/1/ccs", "m84011_220902_175841_s1/123/ccs/fwd"],
    "PacBio-Subread": ["m54006_160504_020705/4194373/0_5000"],
    "PacBio-ZMW": ["m64011_190830_220126/4194373"],
    "IonTorrent": ["ZBOYX:02398:03157", "K3Q3A:1:1"],
    "Ultima": ["004733_1-X0003-1545023183", "029927-X0009-0999263471"],
    "SRA": ["SRR11234134.1", "ERR3245141.57574038/1", "DRR000001.1"],
    "SRA2": ["SRR10260032.79514335.1"],
    "Numeric": ["1", "123456/2"],
}


def test_every_flavour_has_examples() -> None:
    assert {flavour.name for flavour in FLAVOURS} == set(EXAMPLES)


CASES = [(flavour, name) for flavour, names in EXAMPLES.items() for name in names]


@pytest.mark.parametrize(("expected", "name"), CASES)
def test_classify(expected: str, name: str) -> None:
    flavour = classify(name)
    assert flavour is not None and flavour.name == expected


@pytest.mark.parametrize("name", ["ec536_a-3735/1", "read one", "", "SRR12", "A00910:85:HYGWJDSXX:1:1101:3025"])
def test_names_of_no_scheme(name: str) -> None:
    assert classify(name) is None


def sample_of(names: list[str], comments: list[str] | None = None) -> ReadNameAccumulator:
    accumulator = ReadNameAccumulator()
    accumulator.add([name.encode() for name in names], [c.encode() for c in comments] if comments else None)
    return accumulator


def test_detected_flavour_technology_and_misfits_in_order() -> None:
    names = [f"A00910:85:HYGWJDSXX:1:1101:{x}:1000" for x in range(20)]
    names[3] = "weird-1"
    names[9] = "weird-2"
    names[10] = "weird-2"  # equal to the previous example: skipped
    result = sample_of(names).result()
    assert result is not None
    assert (result.flavour, result.technology, result.misfits) == ("Illumina", "Illumina", ["weird-1", "weird-2"])


def test_at_most_six_misfits_from_an_unknown_scheme() -> None:
    result = sample_of([f"read_{i}" for i in range(50)]).result()
    assert result is not None
    assert result.flavour == "Unknown" and result.technology == "unknown"
    assert result.misfits == [f"read_{i}" for i in range(6)]


def test_accession_takes_the_technology_of_the_original_name() -> None:
    names = [f"SRR001666.{i}" for i in range(1, 5)]
    comments = [f"071112_SLXA-EAS1_s_7:5:1:817:{i} length=36" for i in range(1, 5)]
    result = sample_of(names, comments).result()
    assert result is not None and (result.flavour, result.technology) == ("SRA", "Illumina")
    assert sample_of(names).result().technology == "unknown"  # type: ignore[union-attr]


def test_sample_is_bounded_and_merge_keeps_file_order() -> None:
    first, second = ReadNameAccumulator(sample_names=5), ReadNameAccumulator(sample_names=5)
    first.add([b"1", b"2", b"3"])
    second.add([b"4", b"5", b"6", b"7"])
    first.merge(second)
    assert first.names == ["1", "2", "3", "4", "5"]
    assert ReadNameAccumulator().result() is None
