"""PAF: counts against cut/sort/wc figures, the mapper, read names, the probe's streams against a
plain Python split, bad lines, --sample, and merged parts."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from genotel.engine import extract
from genotel.extractors.paf.extractor import mapper_of
from genotel.extractors.paf.parse import COLUMN_NAMES, PafParser
from genotel.extractors.paf.tally import PafTally
from genotel.options import Options
from genotel.sniff import sniff

from conftest import FIXTURES, assert_streams_hold_every_byte, features, record_of, run_cli, text_of

# Figures from the tools, on the fixtures:
#   wc -l; cut -f1 | sort -u | wc -l; cut -f6 | sort -u | wc -l; awk '{print NF}' | sort -u
FIGURES = {
    "reads_R1.paf": (500, 500, 1, 24, "NONE"),  # minimap2 -c --cs: 12 tags a line, cg:Z and cs:Z among them
    "reads_R1.paf.gz": (3361, 3361, 2, 17, "GZ"),  # minimap2 without -c: tp cm s1 s2 rl
}
FIRST_NAMES = ["ec536_a-3735/1", "ec536_a-3733/1", "ec536_a-3731/1", "ec536_a-3729/1", "ec536_a-3727/1"]



def write(tmp_path: Path, text: str | bytes, name: str = "x.paf") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def paf_line(name: str = "r1", strand: str = "+", qstart: str = "0", tags: str = "\ttp:A:P\tcm:i:5\ts1:i:40") -> str:
    return f"{name}\t100\t{qstart}\t100\t{strand}\tchr1\t5000\t10\t110\t100\t100\t60{tags}\n"


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_counts_agree_with_the_tools(name: str) -> None:
    lines, queries, targets, columns, codec = FIGURES[name]
    path = FIXTURES / name
    assert sniff(path).data_type == "PAF" and sniff(path).codec == codec
    record = record_of(path)
    assert features(record) == {
        "num_lines": str(lines), "queries": str(queries), "targets": str(targets), "mapper": "minimap2",
        "QNAME": "Unknown", "sequencer": "unknown",
    }  # fmt: skip
    rows = [line.split(b"\t") for line in text_of(path).splitlines()]
    assert (len(rows), len({row[0] for row in rows}), len({row[5] for row in rows})) == (lines, queries, targets)
    assert {len(row) for row in rows} == {columns}
    assert record["source"]["txt_size"] == len(text_of(path))  # type: ignore[index]
    assert record["programs"] is None and record["qual_acgt"] is None
    # ART's read names fit no flavour: form 2 lists the first six.
    assert record["hash_issues"][-1].startswith("QNAME,,,," + ",".join(FIRST_NAMES))  # type: ignore[index]


def test_mapper_from_the_first_lines_tags(tmp_path: Path) -> None:
    assert mapper_of(["NM:i", "tp:A", "cm:i", "s1:i", "cg:Z"]) == "minimap2"
    assert mapper_of(["cg:Z"]) == "unknown"
    assert mapper_of(None) == "none"
    # The fixture's first 12 columns only (cut -f1-12): no tags, no mapper.
    lines = text_of(FIXTURES / "reads_R1.paf").splitlines()
    bare = b"".join(b"\t".join(line.split(b"\t")[:12]) + b"\n" for line in lines)
    assert features(record_of(write(tmp_path, bare)))["mapper"] == "unknown"


def test_illumina_read_names(tmp_path: Path) -> None:
    lines = [paf_line(f"A00910:85:HYGWJDSXY:1:1101:{1000 + i}:1000") for i in range(50)]
    record = record_of(write(tmp_path, "".join(lines)))
    assert (features(record)["QNAME"], features(record)["sequencer"]) == ("Illumina", "Illumina")
    assert record["hash_issues"] == []


def test_unmapped_lines_of_paf_no_hit(tmp_path: Path) -> None:
    # minimap2 --paf-no-hit writes `*` for the strand and the target of an unmapped read.
    text = paf_line() + "r2\t100\t0\t0\t*\t*\t0\t0\t0\t0\t0\t0\trl:i:0\n"
    assert features(record_of(write(tmp_path, text)))["targets"] == "2"


# ---- the probe's streams ----------------------------------------------------------------------


def reference_streams(text: bytes) -> dict[str, bytes]:
    """The streams by docs/record.md, split in plain Python."""
    out: dict[str, bytearray] = {"Other": bytearray()}
    for line in text.splitlines(keepends=True):
        body = line.rstrip(b"\r\n")
        if not body:
            out["Other"] += line
            continue
        columns = body.split(b"\t")
        for name, value in zip(COLUMN_NAMES, columns[:12], strict=True):
            out.setdefault(name, bytearray()).extend(value)
        for tag in columns[12:]:
            key = tag[:4].decode()
            if len(tag) >= 5 and tag[2:3] == b":" and tag[4:5] == b":":
                out.setdefault(key, bytearray()).extend(tag)
            else:
                out["Other"] += tag
        out["Other"] += b"\t" * (len(columns) - 1) + line[len(body) :]
    return {name: bytes(value) for name, value in out.items() if value}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_streams_hold_every_byte_as_defined(name: str) -> None:
    path = FIXTURES / name
    assert_streams_hold_every_byte(path, reference_streams(text_of(path)))


def test_tag_streams_of_a_base_level_paf() -> None:
    streams = [name for name, _, _ in extract(FIXTURES / "reads_R1.paf", Options()).streams or []]
    tags = ["NM:i", "ms:i", "AS:i", "nn:i", "tp:A", "cm:i", "s1:i", "s2:i", "de:f", "rl:i", "cg:Z", "cs:Z"]
    assert streams == ["Other", *COLUMN_NAMES, *tags]


def test_odd_tag_columns_and_blank_lines_are_other(tmp_path: Path) -> None:
    text = paf_line(tags="\tplain\ttp:A:P\t\tx:1") + "\n" + paf_line(tags="\r")
    got = {stream: size for stream, size, _ in extract(write(tmp_path, text), Options()).streams or []}
    assert got == {name: len(value) for name, value in reference_streams(text.encode()).items()}
    assert got["tp:A"] == len("tp:A:P")


def test_no_gain_gives_no_streams() -> None:
    record = record_of(FIXTURES / "reads_R1.paf.gz", gain=False)
    assert record["fields_gain"] is None and features(record)["num_lines"] == "3361"


# ---- hash_issues and --sample -----------------------------------------------------------------


def repeated_then_unique(tmp_path: Path) -> Path:
    lines = [paf_line("same:1")] * 10_000 + [paf_line(f"q:{index}") for index in range(100)]
    return write(tmp_path, "".join(lines))


def test_query_names_unique_after_the_model_records_are_reported(tmp_path: Path) -> None:
    record = record_of(repeated_then_unique(tmp_path))
    assert features(record)["queries"] == "101"
    assert record["hash_issues"][:2] == [  # type: ignore[index]
        "QNAME,,8 B,1262%,same:1,q:0,q:1,q:97,q:98,q:99",
        "QNAME2,QNAME,8 B,1250%,1,0,2,97,98,99",  # 100 distinct: "1" is in both parts
    ]


def test_sample_limits_read_names_not_counts(tmp_path: Path) -> None:
    record = record_of(repeated_then_unique(tmp_path), sample=10_000)
    assert (features(record)["queries"], features(record)["num_lines"]) == ("101", "10100")
    assert not any(issue.startswith("QNAME,,8") for issue in record["hash_issues"])  # type: ignore[union-attr]
    assert "sample=10000" in str(record["flags"])


@pytest.mark.parametrize("within", [0, 1, 40])
def test_merged_parts_equal_one_pass(within: int) -> None:
    path = FIXTURES / "reads_R1.paf"
    text = path.read_bytes()
    cut = text.index(b"\n", len(text) // 3) + 1
    parser = PafParser(path)
    first, second = parser.parse(text[:cut]), parser.parse(text[cut:])
    sample = within  # --sample N with N = `within` lines of the first part
    whole, part_1, part_2 = PafTally(), PafTally(), PafTally()
    for batch in (first, second):
        whole.add(batch, max(0, min(len(batch), sample - batch.first_record + 1)))
    part_1.add(first, min(len(first), sample))
    part_2.add(second, 0)
    part_1.merge(part_2)
    for tally in (whole, part_1):
        assert (tally.records, tally.queries.distinct, len(tally.targets.distinct)) == (500, 500, 1)
        assert [result.distinct for result in tally.field_results()][:1] == [within]


# ---- bad input --------------------------------------------------------------------------------

BAD_LINES = [
    (paf_line(tags="").replace("\t60\n", "\n"), "PAF line has 11 tab-separated columns, expected at least 12"),
    (paf_line(qstart="x1"), "QSTART (column 3) is not an unsigned integer of at most 18 digits"),
    (paf_line(qstart="-1"), "QSTART (column 3) is not an unsigned integer of at most 18 digits"),
    (paf_line(strand="x"), "the strand (column 5) is not '+', '-' or '*'"),
    (paf_line(strand="++"), "the strand (column 5) is not '+', '-' or '*'"),
    (paf_line(name=""), "the query name (column 1) is empty"),
    (paf_line().replace("\t60\t", "\t6.0\t"), "MAPQ (column 12) is not an unsigned integer of at most 18 digits"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_bad_line(tmp_path: Path, bad: str, message: str) -> None:
    path = write(tmp_path, paf_line() + "\n" + paf_line() + bad + paf_line())
    result = run_cli("record", path, "--json")
    assert (result.code, result.err.count("\n")) == (2, 1)
    assert str(path) in result.err and result.err.rstrip().endswith(f"{message} at line 4")


def test_a_paf_from_minimap2_made_bad(tmp_path: Path) -> None:
    lines = text_of(FIXTURES / "reads_R1.paf.gz").splitlines(keepends=True)
    lines[2999] = lines[2999].replace(b"\t+\t", b"\t?\t", 1).replace(b"\t-\t", b"\t?\t", 1)
    result = run_cli("record", write(tmp_path, gzip.compress(b"".join(lines)), "bad.paf.gz"))
    assert (result.code, result.err.count("\n")) == (2, 1)
    assert result.err.rstrip().endswith("the strand (column 5) is not '+', '-' or '*' at line 3000")


def test_a_paf_is_not_a_bed12(tmp_path: Path) -> None:
    # Both have 12 or more tab-separated columns with numbers: column 5 is PAF's strand, BED's score.
    assert sniff(write(tmp_path, paf_line(tags=""), "x.bed")).data_type == "PAF"
    bed12 = "c\t0\t9\tn\t0\t+\t0\t9\t0\t1\t9,\t0,\n"
    assert sniff(write(tmp_path, bed12, "x.paf")).data_type == "BED"


# ---- the other commands -----------------------------------------------------------------------


def test_inspect_and_the_reports_take_bed_and_paf(tmp_path: Path) -> None:
    inspected = run_cli("inspect", FIXTURES / "reads_R1.paf")
    assert inspected.code == 0 and "cg:Z" in inspected.out and "mapper=minimap2" in inspected.out
    assert "BLOCK_SIZES" in run_cli("inspect", FIXTURES / "aln_bwa.bed12.gz").out
    output = tmp_path / "records.jsonl"
    assert run_cli("record", FIXTURES / "reads_R1.paf", FIXTURES / "windows.bed", "--output", output).code == 0
    page, logs = tmp_path / "report.html", tmp_path / "qc"
    assert run_cli("report", output, "-o", page).code == 0
    text = page.read_text(encoding="utf-8")
    assert '"PAF"' in text and '"BED"' in text
    assert run_cli("multiqc", output, "-o", logs).code == 0
    assert "cs:Z" in (logs / "genotel_field_shares_mqc.json").read_text(encoding="utf-8")
