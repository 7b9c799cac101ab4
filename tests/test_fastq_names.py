"""FASTQ read names (flavour, sequencer, hash_issues forms 1 and 2, --sample) and the probe's streams."""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import pytest
import zstandard

from genotel.batches import Strings
from genotel.extractors.fastq.extractor import add_streams
from genotel.extractors.fastq.names import FastqNameStats, split_headers
from genotel.extractors.fastq.parse import NumpyFastqReader
from genotel.options import DEFAULT_CODEC_LEVEL
from genotel.stats.gain import GainProbe
from genotel.stats.read_name_fields import MAX_NAME_TOKENS, name_tokens
from test_fastq import FASTQ_FIXTURES, GOOD, extract, write

from conftest import FIXTURES, assert_fields_gain_contract, run_cli

ART_FIXTURES = [name for name in FASTQ_FIXTURES if name.startswith(("reads_", "trimmed_"))]


def plain_text(name: str) -> bytes:
    path = FIXTURES / name
    return gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()


def record_of(path: Path, *options: str) -> dict[str, object]:
    result = run_cli("record", path, "--json", *options)
    assert result.code == 0, result.err
    return result.json()  # type: ignore[return-value]


def names_of(text: bytes) -> list[str]:
    """Each record's read name: the header after `@` up to the first space or tab."""
    headers = text.split(b"\n")[0::4]
    return [header[1:].replace(b"\t", b" ").split(b" ")[0].decode() for header in headers if header]


def first_examples(names: list[str]) -> list[str]:
    """Up to six names in file order, a name equal to the previous example skipped."""
    examples: list[str] = []
    for name in names:
        if len(examples) == 6:
            break
        if not examples or examples[-1] != name:
            examples.append(name)
    return examples


# ---- flavour, sequencer and hash_issues form 2 on the fixtures --------------------------------


def test_fixture_flavours() -> None:
    found = {name: str(record_of(FIXTURES / name)["features"]).split(";")[1:3] for name in FASTQ_FIXTURES}
    # ART names (`ec536_a-3735/1`) and `read_<n>` follow no sequencer's scheme; accessions are SRA's.
    expected = {name: ["QNAME=Unknown", "sequencer=unknown"] for name in FASTQ_FIXTURES}
    expected["names_sra.fastq.gz"] = ["QNAME=SRA", "sequencer=unknown"]
    assert found == expected


@pytest.mark.parametrize("name", [*ART_FIXTURES, "names_unparsed.fastq"])
def test_names_of_no_flavour_give_six_examples(name: str) -> None:
    # Unknown flavour: every name is a misfit, so the examples are the file's first names.
    examples = first_examples(names_of(plain_text(name)))
    assert len(examples) == 6
    assert record_of(FIXTURES / name)["hash_issues"] == ["QNAME,,,," + ",".join(examples)]


def test_examples_are_names_without_at_or_comment() -> None:
    # names_unparsed.fastq headers are `@read_<n> of batch 7` (make_fastq.sh)
    issues = record_of(FIXTURES / "names_unparsed.fastq")["hash_issues"]
    assert issues == ["QNAME,,,,read_1,read_2,read_3,read_4,read_5,read_6"]


def test_unique_accessions_are_not_an_issue_in_a_small_file() -> None:
    record = record_of(FIXTURES / "names_sra.fastq.gz")
    assert record["hash_issues"] == []  # 1,000 distinct names fill 16 % of a 8 KB table


def fastq(headers: list[str]) -> bytes:
    return b"".join(b"@%s\nACGT\n+\nIIII\n" % header.encode() for header in headers)


def test_misfits_among_illumina_names(tmp_path: Path) -> None:
    headers = [f"A00910:85:HYGWJDSXX:1:1101:{1000 + i}:2000 1:N:0:ACGTAC" for i in range(20)]
    headers[3] = "weird-3 1:N:0:ACGTAC"
    headers[7] = headers[8] = "odd_7\tcomment after a tab"  # the second is equal to the previous example
    headers[12] = "A00910:85:HYGWJDSXX:1:1101:12"  # too few fields
    record = record_of(write(tmp_path, fastq(headers)))
    assert str(record["features"]).startswith("num_lines=20;QNAME=Illumina;sequencer=Illumina;")
    assert record["hash_issues"] == ["QNAME,,,,weird-3,odd_7,A00910:85:HYGWJDSXX:1:1101:12"]


def test_accession_with_the_original_name_takes_its_technology(tmp_path: Path) -> None:
    headers = [f"SRR001666.{i} 071112_SLXA-EAS1_s_7:5:1:817:{i} length=4" for i in range(1, 9)]
    record = record_of(write(tmp_path, fastq(headers)))
    assert str(record["features"]).startswith("num_lines=8;QNAME=SRA;sequencer=Illumina;")
    assert record["hash_issues"] == []


def test_examples_escape_commas_and_semicolons(tmp_path: Path) -> None:
    record = record_of(write(tmp_path, fastq(["a,b", "c;d"])))
    assert record["hash_issues"] == ["QNAME,,,,a⸲b,c；d"]


def test_split_headers_at_the_first_space_or_tab() -> None:
    headers = Strings.from_list([b"r1 1:N:0", b"r2\tx y", b"r3", b"", b" lead", b"r6  two"])
    names, comment_starts = split_headers(headers)
    assert names.to_list() == [b"r1", b"r2", b"r3", b"", b"", b"r6"]
    text = headers.buffer.tobytes()
    comments = [
        text[start:end] for start, end in zip(comment_starts.tolist(), headers.offsets[1:].tolist(), strict=True)
    ]
    assert comments == [b"1:N:0", b"x y", b"", b"", b"lead", b" two"]
    plain = Strings.from_list([b"a", b"bc"])
    assert split_headers(plain)[0].to_list() == [b"a", b"bc"]


# ---- hash_issues form 1: read names and their tokens -------------------------------------------


def late_names(early: int = 10_000, late: int = 2_000) -> bytes:
    """Accession names that repeat 10 values over the first `early` records, then are all new.

    The table is sized from the first 10,000 records (10 distinct names, extrapolated to 12
    over 12,000 records: 64 entries); 2,010 distinct names then fill it 31 times over.
    """
    headers = [f"SRR10260032.{1 + i % 10}" for i in range(early)]
    headers += [f"SRR10260032.{i}" for i in range(early + 1, early + late + 1)]
    return fastq(headers)


def test_names_that_outgrow_the_table_are_form_1(tmp_path: Path) -> None:
    record = record_of(write(tmp_path, late_names(), "GZ"))
    assert record["hash_issues"] == [
        "QNAME,,64 B,3140%,SRR10260032.1,SRR10260032.2,SRR10260032.3,"
        "SRR10260032.11998,SRR10260032.11999,SRR10260032.12000",
        "QNAME2,QNAME,64 B,3140%,1,2,3,11998,11999,12000",  # QNAME1 (`SRR10260032`) is one value
    ]
    assert str(record["features"]).startswith("num_lines=12000;QNAME=SRA;sequencer=unknown;")


def test_form_1_examples_are_hashed_with_redact(tmp_path: Path) -> None:
    issues = record_of(write(tmp_path, late_names()), "--redact")["hash_issues"]
    heads = [issue.split(",")[:4] for issue in issues]  # type: ignore[union-attr]
    assert heads == [["QNAME", "", "64 B", "3140%"], ["QNAME2", "QNAME", "64 B", "3140%"]]
    assert "SRR10260032" not in str(issues)


def test_sample_stops_the_distinct_counting(tmp_path: Path) -> None:
    path = write(tmp_path, late_names())
    assert record_of(path, "--sample", "10000")["hash_issues"] == []
    # The first 11,000: 1,010 names for a table sized for 11 x 5 (64 entries).
    issues = record_of(path, "--sample", "11000")["hash_issues"]
    heads = [issue.split(",")[:4] for issue in issues]  # type: ignore[union-attr]
    assert heads == [["QNAME", "", "64 B", "1578%"], ["QNAME2", "QNAME", "64 B", "1578%"]]


def test_name_tokens_equal_a_plain_python_split() -> None:
    rng = random.Random(20240601)
    names = [bytes(rng.choice(b"ab7:_./-# ") for _ in range(rng.randint(0, 30))) for _ in range(500)]
    names += [b"", b":", b"a::b", b"NC_008253.1-a2715130/1", b"1:2:3:4:5:6:7:8:9:10:11:12:13:14"]
    split = [re.split(rb"[:_./\-# ]", name) for name in names]
    width = min(max(len(parts) for parts in split), MAX_NAME_TOKENS)
    expected = [[parts[k] if k < len(parts) else b"" for parts in split] for k in range(width)]
    assert [token.to_list() for token in name_tokens(Strings.from_list(names))] == expected


def test_token_fields_follow_the_sam_naming() -> None:
    stats = FastqNameStats()
    stats.add(Strings.from_list([b"A00910:85:HY:1 1:N:0:AC", b"A00910:85:HY:2 2:N:0:AC"]))
    results = {result.name: result for result in stats.dictionary.results(stats.records)}
    assert list(results) == ["QNAME", "QNAME1", "QNAME2", "QNAME3", "QNAME4"]
    assert {result.parent for name, result in results.items() if name != "QNAME"} == {"QNAME"}
    assert (results["QNAME"].distinct, results["QNAME1"].distinct, results["QNAME4"].distinct) == (2, 1, 2)
    assert results["QNAME"].examples == ["A00910:85:HY:1", "A00910:85:HY:2"]  # no comment


# ---- --sample and the read-name statistics ------------------------------------------------------


def test_sample_limits_flavour_and_interleaving(tmp_path: Path) -> None:
    # 50 CASAVA pairs (interleaved), then 150 single reads with names of no scheme.
    headers = [f"M1:7:FC:1:1:{pair}:9 {mate}:N:0:ACGT" for pair in range(50) for mate in (1, 2)]
    headers += [f"x_{i}" for i in range(150)]
    path = write(tmp_path, fastq(headers))
    whole, sampled = record_of(path), record_of(path, "--sample", "100")
    # Over all 250 names no scheme has half of them: Unknown, and the first names are the examples.
    assert whole["features"] == (
        "num_lines=250;QNAME=Unknown;sequencer=unknown;read_len=4.0;interleaved=false;study=unknown;"
    )
    assert whole["hash_issues"] == ["QNAME,,,," + ",".join(f"M1:7:FC:1:1:{pair}:9" for pair in range(6))]
    assert sampled["features"] == (
        "num_lines=250;QNAME=Illumina;sequencer=Illumina;read_len=4.0;interleaved=true;study=unknown;"
    )
    assert sampled["hash_issues"] == []


# ---- the probe's streams -----------------------------------------------------------------------


def reference_streams(text: bytes) -> dict[str, bytes]:
    """The streams as stats/fastq_streams.py defines them, line by line in plain Python."""
    streams = {name: bytearray() for name in ("DESC", "SEQ", "QUAL", "Other")}
    pieces = text.split(b"\n")
    for number, piece in enumerate(pieces):
        end = b"\n" if number < len(pieces) - 1 else b""
        body, cr = (piece[:-1], b"\r") if piece.endswith(b"\r") else (piece, b"")
        phase = number % 4
        if phase == 0 and body.startswith(b"@"):
            streams["Other"] += b"@"
            body = body[1:]
        name = {0: "DESC", 1: "SEQ", 2: "Other", 3: "QUAL"}[phase]
        streams[name] += body
        streams["Other"] += cr + end
    return {name: bytes(value) for name, value in streams.items() if value}


def expected_sizes(text: bytes) -> dict[str, tuple[int, int]]:
    compressor = zstandard.ZstdCompressor(level=DEFAULT_CODEC_LEVEL, write_checksum=False, write_content_size=False)
    return {name: (len(value), len(compressor.compress(value))) for name, value in reference_streams(text).items()}


def streams_of(path: Path, reader: str = "numpy") -> dict[str, tuple[int, int]]:
    extraction = extract(path, reader, gain=True)
    assert extraction.streams is not None
    return {name: (text, compressed) for name, text, compressed in extraction.streams}


@pytest.mark.parametrize("name", FASTQ_FIXTURES)
def test_streams_hold_every_byte_as_defined(name: str) -> None:
    path = FIXTURES / name
    got = streams_of(path)
    assert got == expected_sizes(plain_text(name))
    assert list(got) == ["DESC", "SEQ", "QUAL", "Other"]  # no TXT_HEADER: FASTQ has no header
    record = record_of(path)
    assert_fields_gain_contract(record, got)
    assert str(record["flags"]).startswith(f"codec=zstd-{DEFAULT_CODEC_LEVEL}; ")


ODD_TEXTS = {
    "crlf": GOOD.replace(b"\n", b"\r\n"),
    "no-final-newline": GOOD[:-1],
    "crlf-no-final-newline": GOOD.replace(b"\n", b"\r\n")[:-2],
    "blank-tail": GOOD + b"\n\r\n\n",
    "plus-names-and-comments": b"@r1 c1\tc2\nACGT\n+r1 c1\nIIII\n@r2\nAC\n+r2\nII\n",
    "empty-reads": b"@r1\n\n+\n\n@\nA\n+\nI\n",
}


@pytest.mark.parametrize("chunk_bytes", [5, 64, 4 << 20])
@pytest.mark.parametrize("case", sorted(ODD_TEXTS))
def test_streams_of_odd_texts_at_every_chunking(tmp_path: Path, case: str, chunk_bytes: int) -> None:
    text = ODD_TEXTS[case]
    path = write(tmp_path, text)
    probe = GainProbe()
    for batch in NumpyFastqReader(path, "NONE", chunk_bytes):
        assert batch.layout is not None
        add_streams(probe, batch, batch.layout, batch.header_strings())
    got = {size.name: (size.text_size, size.compressed_size) for size in probe.result()}
    assert got == expected_sizes(text)
    assert sum(size for size, _ in got.values()) == len(text)
    assert streams_of(path) == got


def test_stream_sizes_of_a_small_file_in_detail(tmp_path: Path) -> None:
    sizes = {
        name: text for name, (text, _) in streams_of(write(tmp_path, ODD_TEXTS["plus-names-and-comments"])).items()
    }
    # DESC `r1 c1\tc2` + `r2`; Other: 2 x '@', `+r1 c1`, `+r2` and 8 newlines
    assert sizes == {"DESC": 8 + 2, "SEQ": 6, "QUAL": 6, "Other": 2 + 6 + 3 + 8}


def test_no_gain_leaves_the_probe_out_and_the_rest_alone() -> None:
    path = FIXTURES / "reads_interleaved.fastq"
    probed, plain = record_of(path), record_of(path, "--no-gain")
    assert (plain["fields_gain"], plain["genozip_gain"]) == (None, None)
    assert str(plain["flags"]).startswith("codec=none; ")
    assert {key: plain[key] for key in ("features", "qual_acgt", "hash_issues", "source")} == {
        key: probed[key] for key in ("features", "qual_acgt", "hash_issues", "source")
    }
