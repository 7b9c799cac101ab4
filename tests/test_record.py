"""The compact strings of the record: programs, qual_acgt, items, examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genotel.engine import make_record
from genotel.record import (
    Record,
    Source,
    escape_example,
    format_contigs,
    format_percent,
    render_flags,
    render_items,
    render_programs,
    render_qual_acgt,
)


def _row(pairs: dict[str, int]) -> list[int]:
    row = [0] * 256
    for char, count in pairs.items():
        row[ord(char) - 33] = count
    return row


def test_programs_keep_order_of_first_appearance_with_exact_token_dedup() -> None:
    assert render_programs(["MarkDuplicates", "bwa", "MarkDuplicates"]) == "MarkDuplicates;bwa;"
    # `tools` is not `samtools`: dedup is by exact token, not substring.
    assert render_programs(["samtools", "tools", "samtools"]) == "samtools;tools;"


def test_programs_null_when_none_found() -> None:
    assert render_programs([]) is None
    assert render_programs(["", "  "]) is None


def test_a_semicolon_inside_a_program_name_cannot_split_it() -> None:
    assert render_programs(["odd;name"]) == "odd；name;"


def test_qual_acgt_sorts_by_count_then_lower_character() -> None:
    counts = [_row({"I": 5, "#": 5, "A": 9}), _row({"B": 1}), _row({}), _row({"F": 2, "E": 2, "D": 2})]
    assert render_qual_acgt(counts) == "A#I――B――――DEF"


def test_qual_acgt_writes_equals_as_u2250() -> None:
    counts = [_row({"=": 3, "<": 1}), _row({"=": 1}), _row({}), _row({})]
    assert render_qual_acgt(counts) == "≐<――≐――――"


def test_qual_acgt_keeps_at_most_16_per_base() -> None:
    many = {chr(33 + q): 100 - q for q in range(30)}
    group = render_qual_acgt([_row(many), _row({}), _row({}), _row({})]).split("――")[0]
    assert group == "".join(chr(33 + q) for q in range(16))


def test_qual_acgt_needs_four_rows() -> None:
    with pytest.raises(ValueError):
        render_qual_acgt([[0] * 256])


def test_items_flags_contigs_percent() -> None:
    assert render_items([("num_lines", 3), ("mapper", "bwa")]) == "num_lines=3;mapper=bwa;"
    assert render_flags(["sample=all", "file_i=4/12"]) == "sample=all; file_i=4/12"
    assert format_contigs(298, 3235006512) == "298 (3235006512)"
    assert format_percent(1, 3) == "33.3%"
    assert format_percent(0, 0) == "0.0%"


def test_example_values_are_escaped_and_cut() -> None:
    assert escape_example("a,b;c") == "a⸲b；c"
    assert len(escape_example("x" * 500)) == 100


def test_record_json_has_contract_keys_in_order_and_round_trips() -> None:
    record = Record(
        genotel_version="0.1.0",
        data_type="BAM",
        source=Source(codec="BGZF", disk_size=10, txt_size=50, num_lines=2),
        features="num_lines=2;",
        source_gain=5.0,
        flags="sample=all",
    )
    data = json.loads(record.to_json())
    assert list(data) == [
        "schema", "record_id", "created", "genotel_version", "license_num", "data_type", "source",
        "features", "fields_gain", "genozip_gain", "source_gain", "flags", "programs", "qual_acgt",
        "hash_issues",
    ]  # fmt: skip
    assert data["schema"] == "genotel.record/1"
    assert Record.from_dict(data) == record


def test_record_rejects_unknown_keys_and_data_types() -> None:
    base = {
        "genotel_version": "0.1.0", "data_type": "BAM", "features": "", "source_gain": 1.0, "flags": "",
        "source": {"codec": "BGZF", "disk_size": 1, "txt_size": 1, "num_lines": 0},
    }  # fmt: skip
    Record.from_dict(base)
    with pytest.raises(ValueError):
        Record.from_dict({**base, "file_name": "secret.bam"})
    with pytest.raises(ValueError):
        Record.from_dict({**base, "data_type": "PDF"})


def test_a_nul_in_a_file_never_reaches_the_record_so_the_collector_takes_it(tmp_path: Path) -> None:
    """NUL bytes in header values, names and attribute values are left out of every record string,
    and the record passes the collector's upload validation (which refuses NUL)."""
    from genotel.service.validation import UploadedRecord

    vcf = tmp_path / "nul.vcf"
    vcf.write_bytes(
        b"##fileformat=VCFv4.2\n##source=bad\x00tool\n##contig=<ID=1,length=100>\n"
        b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t5\trs\x001\tA\tG\t.\tPASS\tK\x00Y=1\n"
    )
    gff = tmp_path / "nul.gff"
    gff.write_bytes(b"##gff-version 3\x00x\nc1\tsrc\x00x\tgene\t1\t10\t.\t+\t.\tID=g\x001;no\x00te=a\n")
    for path in (vcf, gff):
        record = make_record(path).to_dict()
        assert "\x00" not in json.dumps(record, ensure_ascii=False)
        UploadedRecord.model_validate(record)
    assert make_record(vcf).programs == "badtool;"
