"""VCF/BCF probe streams and dictionary fields, checked against a plain Python split of the text."""

from __future__ import annotations

import gzip
from collections import defaultdict
from pathlib import Path

import numpy as np
import pysam.bcftools
import pytest
import zstandard

from genotel.batches import Strings
from genotel.engine import extract, make_record
from genotel.extractors.vcf.dictionary import VcfDictionaryAccumulator
from genotel.extractors.vcf.header import parse_header
from genotel.extractors.vcf.keys import KeyNames, key_code
from genotel.extractors.vcf.text import TextScan
from genotel.extractors.vcf.variants import VariantFieldsAccumulator
from genotel.options import DEFAULT_CODEC_LEVEL, Options
from genotel.sniff import sniff
from genotel.stats.gain import HEADER_STREAM, GainProbe
from genotel.stats.hashing import hash_strings

from conftest import FIXTURES, run_cli

FIXED = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER")
VCF_FIXTURES = [
    "calls.vcf",
    "calls.vcf.gz",
    "calls.bcf",
    "calls.g.vcf.gz",
    "calls.g.bcf",
    "many_samples.vcf.gz",
    "many_samples.bcf",
    "sites.vcf.gz",
    "sites_u.bcf",
    "donor_truth.vcf",
    "ids_late.vcf.gz",
]
HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=c1,length=1000>\n"
    '##INFO=<ID=T,Number=1,Type=String,Description="x">\n'
    '##INFO=<ID=C,Number=1,Type=Character,Description="x">\n'
    '##INFO=<ID=N,Number=1,Type=Integer,Description="x">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="x">\n'
    '##FORMAT=<ID=PS,Number=1,Type=String,Description="x">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="x">\n'
)
CHROM_2 = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\n"


def plain_text(path: Path) -> bytes:
    """The file as VCF text: decompressed, or as bcftools prints a BCF."""
    if sniff(path).data_type == "BCF":
        return pysam.bcftools.view("--no-version", str(path)).encode()
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def plain_streams(text: bytes) -> dict[str, bytes]:
    """The probe's streams by the definition, one line at a time with str.split (one batch)."""
    streams: dict[str, bytearray] = defaultdict(bytearray)
    other, extra = bytearray(), bytearray()
    header = True
    for line in text.split(b"\n")[:-1] if text.endswith(b"\n") else text.split(b"\n"):
        ending = b"\n"
        if header:
            streams["TXT_HEADER"] += line + ending
            header = not line.lstrip(b"\xef\xbb\xbf").startswith(b"#CHROM")
            continue
        if line.endswith(b"\r"):
            line, ending = line[:-1], b"\r\n"
        columns = line.split(b"\t")
        for name, value in zip(FIXED, columns, strict=False):
            streams[name] += value
            other += b"\t"
        if columns[7] == b".":
            other += b"."
        else:
            for index, item in enumerate(columns[7].split(b";")):
                other += b";" if index else b""
                streams["INFO/" + item.split(b"=")[0].decode()] += item
        if len(columns) > 8:
            other += b"\t"
            streams["FORMAT"] += columns[8]
            keys = columns[8].split(b":")
            for sample in columns[9:]:
                other += b"\t"
                for index, value in enumerate(sample.split(b":")):
                    other += b":" if index else b""
                    if index < len(keys):
                        streams["FORMAT/" + keys[index].decode()] += value
                    else:
                        extra += value
        other += ending
    if not text.endswith(b"\n"):
        other = other[:-1]  # the last line has no line end
    streams["Other"] = other + extra
    return {name: bytes(value) for name, value in streams.items() if value}


def compressed_size(data: bytes) -> int:
    compressor = zstandard.ZstdCompressor(level=DEFAULT_CODEC_LEVEL, write_checksum=False, write_content_size=False)
    return len(compressor.compress(data))


def expected_streams(text: bytes) -> dict[str, tuple[int, int]]:
    return {name: (len(data), compressed_size(data)) for name, data in plain_streams(text).items()}


def probe_streams(path: Path, options: Options | None = None) -> dict[str, tuple[int, int]]:
    extraction = extract(path, options or Options())
    assert extraction.streams is not None
    assert sum(text for _, text, _ in extraction.streams) == extraction.txt_size
    return {name: (text, compressed) for name, text, compressed in extraction.streams}


def write(tmp_path: Path, text: str | bytes, name: str = "in.vcf") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# ---- the streams -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", VCF_FIXTURES)
def test_streams_are_the_plain_split_of_every_fixture(name: str) -> None:
    path = FIXTURES / name
    assert probe_streams(path) == expected_streams(plain_text(path))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("c1\t1\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t0/0\n", id="info-dot"),
        pytest.param("c1\t1\trs1;rs2\tA\tC\t5\tq10;s50\tT=a:b;N=3;;F\tGT\t0/1\t0/0\n", id="semicolons-colons"),
        pytest.param(
            "c1\t1\t.\tA\tC\t.\t.\tLONGKEY_12345=1;EIGHTKEY=2;LONGFLAG_ABCDEF;K=a=b;=5;EIGHTKEY\tGT\t1\t0\n", id="keys"
        ),
        pytest.param("c1\t1\t.\tA\tC\t.\t.\tN=1;N=2\tGT:PS:DP\t0/1\t0/0:x:3\n", id="dropped-trailing"),
        pytest.param("c1\t1\t.\tA\tC\t.\t.\tN=1\tGT\t0/1:9:9\t0/0\n", id="beyond-format-keys"),
        pytest.param(
            "c1\t1\t.\tA\tC\t.\t.\t.\tGT\t0|1\t1|1\nc1\t2\t.\tA\tC\t.\t.\t.\tGT\t0/1:7\t.\n"
            "c1\t3\t.\tA\tC\t.\t.\t.\tGT\t\t1\nc1\t4\t.\tA\tC\t.\t.\t.\tGT:DP\t0:1\t1\n",
            id="one-key-lines-around-others",
        ),
        pytest.param(
            "c1\t1\t.\tA\tC\t.\t.\t.\tGT:DP\t0/1:\t1/1:\nc1\t2\t.\tA\tC\t.\t.\t.\tGT:DP\t0/1:5\t1/1:17\n",
            id="a-key-empty-before-its-first-bytes",
        ),
        pytest.param(
            "c1\t1\t.\tA\tC\t.\t.\tN=1\tGT:DP\t0/1:4\t.\nc1\t2\t.\tA\tC\t.\t.\tN=1\tDP:GT\t4:1\t::\n", id="formats"
        ),
        pytest.param("c1\t1\t.\tA\tC\t.\t.\t\tGT\t\t\nc1\t2\t.\t\t\t\t\tT=\tGT\t0\t1\n", id="empty-fields"),
        pytest.param("c1\t1\t.\tA\tC\t.\tPASS\tN=1\tGT\t0/1\t0/0", id="no-final-newline"),
        pytest.param("c1\t1\t.\tA\tC\t.\tPASS\tN=1\tGT\t0/1\t0/0\r\nc1\t2\t.\tA\tC\t.\t.\t.\tGT\t1\t1\r\n", id="crlf"),
        pytest.param("c1\t1\t.\tA\tC\t.\t.\tLONGFLAG_ABCDEF\tGT\t1\t0\n", id="long-flag-without-equals"),
        pytest.param(
            "c1\t1\trs1234567890123456789\tACGTACGTACGTACGTACGTACGTACGTACGTACGTA\tC\t.\t.\tT="
            + "x" * 70
            + "\tGT:PS\t0/1:"
            + "y" * 33
            + "\t0/0:"
            + "z" * 16
            + "\nc1\t2\t.\tA\tC\t.\t.\tT=ab\tGT:PS\t1:p\t0:q",
            id="long-fields-and-short-ones-at-the-end",
        ),
    ],
)
def test_streams_of_odd_lines(tmp_path: Path, body: str) -> None:
    text = (HEADER + CHROM_2 + body).encode()
    assert probe_streams(write(tmp_path, text)) == expected_streams(text)


def test_streams_of_sites_only_and_format_without_samples(tmp_path: Path) -> None:
    columns = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
    sites = (HEADER + columns + "\nc1\t1\t.\tA\tC\t.\t.\tT=x\nc1\t2\t.\tA\tC\t.\t.\t.").encode()
    assert probe_streams(write(tmp_path, sites)) == expected_streams(sites)
    no_samples = (HEADER + columns + "\tFORMAT\nc1\t1\t.\tA\tC\t.\t.\tT=x\tGT\nc1\t2\t.\tA\tC\t.\t.\tN=1\n").encode()
    assert probe_streams(write(tmp_path, no_samples)) == expected_streams(no_samples)


def test_byte_order_mark_belongs_to_the_header(tmp_path: Path) -> None:
    text = ("\ufeff" + HEADER + CHROM_2 + "c1\t1\t.\tA\tC\t.\tPASS\tN=1\tGT\t0/1\t0/0\n").encode()
    streams = probe_streams(write(tmp_path, text))
    assert streams == expected_streams(text)
    assert streams["TXT_HEADER"][0] == len(HEADER + CHROM_2) + 3


@pytest.mark.parametrize(("chunk_bytes", "cut_bytes"), [(150, 1 << 20), (400, 100), (1000, 300), (700, 1)])
@pytest.mark.parametrize("name", ["calls.g.vcf.gz", "many_samples.vcf.gz", "donor_truth.vcf"])
def test_batch_boundaries_do_not_change_the_streams(name: str, chunk_bytes: int, cut_bytes: int) -> None:
    path = FIXTURES / name
    scan = TextScan(path, sniff(path).codec, chunk_bytes)
    scan.read_header()
    probe = GainProbe()
    probe.add(HEADER_STREAM, scan.header_text)
    fields = VariantFieldsAccumulator(probe, VcfDictionaryAccumulator(), cut_bytes=cut_bytes)
    batches = 0
    for batch in scan.batches():
        fields.add(batch, len(batch))
        batches += 1
    fields.close()
    assert batches >= 2
    streams = {size.name: (size.text_size, size.compressed_size) for size in probe.result()}
    assert streams == expected_streams(plain_text(path))


def test_probe_covers_the_whole_file_with_sample_and_is_off_with_no_gain() -> None:
    path = FIXTURES / "calls.g.vcf.gz"
    assert probe_streams(path, Options(sample=5)) == probe_streams(path)
    extraction = extract(path, Options(gain=False))
    assert extraction.streams is None
    record = run_cli("record", path, "--json", "--no-gain").json()
    assert (record["fields_gain"], record["genozip_gain"]) == (None, None)  # type: ignore[index]
    assert record["flags"] == "codec=none; sample=all; file_i=1/1"  # type: ignore[index]


def test_vcf_and_bcf_give_the_same_record_streams() -> None:
    text, binary = probe_streams(FIXTURES / "calls.vcf"), probe_streams(FIXTURES / "calls.bcf")
    del text["TXT_HEADER"], binary["TXT_HEADER"]
    assert text == binary


@pytest.mark.parametrize("name", VCF_FIXTURES)
def test_fields_gain_shares_ratios_and_order(name: str) -> None:
    path = FIXTURES / name
    streams = probe_streams(path)
    record = make_record(path, Options()).to_dict()
    items = [item.split(",") for item in str(record["fields_gain"]).split("; ")]
    assert [name for name, _, _ in items] == sorted(streams, key=lambda key: (-streams[key][1], key))
    total_compressed = sum(compressed for _, compressed in streams.values())
    for stream, share, ratio in items:
        text, compressed = streams[stream]
        assert abs(float(share.rstrip("%")) - 100 * compressed / total_compressed) < 0.1 + 1e-9
        assert ratio == f"{text / compressed:.1f}X"
    assert abs(sum(float(share.rstrip("%")) for _, share, _ in items) - 100.0) <= 0.1 + 1e-9
    total_text = sum(text for text, _ in streams.values())
    assert record["genozip_gain"] == round(total_text / sum(compressed for _, compressed in streams.values()), 1)
    assert total_text == record["source"]["txt_size"]  # type: ignore[index]


def test_many_samples_genotypes_are_one_stream() -> None:
    streams = probe_streams(FIXTURES / "many_samples.vcf.gz")
    assert streams["FORMAT/GT"][0] == 20 * 3000 * len("0|0")
    assert streams["Other"][0] == 20 * (3008 + 2)  # per line its tabs, the INFO `.` and the newline


# ---- keys read as words ----------------------------------------------------------------------


def codes_of(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    return np.array([key_code(data, start, end) for start, end in zip(starts, ends, strict=True)], dtype=np.uint64)


def test_key_codes_are_equal_exactly_for_equal_keys() -> None:
    text = b"DP=1;EIGHTKEY=2;=x;NOEQUALS;A=;LONGKEY_12345=1;LONGKEY_12346=1;EIGHTKEY;x=\xff=;NINEBYTES;NINEBYTEZ"
    data = np.frombuffer(text, dtype=np.uint8)
    keys = text.split(b";")
    key_starts = np.array([text.index(key) for key in keys], dtype=np.int64)
    names = [key.split(b"=")[0] for key in keys]
    codes = codes_of(data, key_starts, key_starts + np.array([len(name) for name in names])).tolist()
    for i, first in enumerate(names):
        for j, second in enumerate(names):
            assert (codes[i] == codes[j]) == (first == second), (first, second)
        if len(first) <= 8:  # a short key is its own code
            assert codes[i] == int.from_bytes(first, "little")


def test_key_names_keep_first_sight_order_across_batches() -> None:
    names = KeyNames()
    data = np.frombuffer(b"B;A;B;C;A", dtype=np.uint8)
    starts = np.arange(0, 9, 2, dtype=np.int64)
    assert names.ids(codes_of(data, starts, starts + 1), data, starts, starts + 1).tolist() == [0, 1, 0, 2, 1]
    assert names.names == ["B", "A", "C"]
    many = [f"K{index}".encode() for index in range(300)]  # forces the table to grow
    text = b";".join(many)
    data = np.frombuffer(text, dtype=np.uint8)
    starts = np.array([text.index(key + b";") if key != many[-1] else len(text) - len(key) for key in many])
    ends = starts + np.array([len(key) for key in many])
    ids = names.ids(codes_of(data, starts, ends), data, starts, ends)
    assert ids.tolist() == list(range(3, 303))
    assert names.names[3:] == [key.decode() for key in many]


# ---- dictionary fields (hash_issues form 1) ---------------------------------------------------


def test_text_keys_come_from_the_header_types() -> None:
    header = parse_header(HEADER.splitlines(), 11, 0)
    assert header.info_text_keys == ("T", "C")
    assert header.format_text_keys == ("GT", "PS")


def distinct(values: list[bytes]) -> int:
    return len(np.unique(hash_strings(Strings.from_list(values))))


def test_dictionary_fields_see_the_text_values(tmp_path: Path) -> None:
    body = (
        "c1\t1\trs1\tA\tC\t.\t.\tT=a;N=1;C=x\tGT:PS:DP\t0/1:p1:3\t0/0:p2:4\n"
        "c1\t2\t.\tA\tC\t.\t.\tN=2;T=b\tGT:PS\t0/1:p1\t0/0:.\n"
        "c1\t3\t.\tA\tC\t.\t.\tT\tGT\t0/1\t0/0\n"
    )
    path = write(tmp_path, HEADER + CHROM_2 + body)
    dictionary = VcfDictionaryAccumulator(("T", "C"), ("GT", "PS"))
    fields = VariantFieldsAccumulator(None, dictionary)
    scan = TextScan(path, "NONE")
    scan.read_header()
    for batch in scan.batches():
        fields.add(batch, len(batch))
    fields.close()
    results = {(result.name, result.parent): result for result in fields.dictionary_results()}
    assert sorted(results) == [("C", "INFO"), ("ID", ""), ("PS", "FORMAT"), ("T", "INFO")]
    assert (results[("ID", "")].records, results[("ID", "")].distinct) == (3, 2)
    assert results[("ID", "")].examples == ["rs1", "."]
    assert (results[("T", "INFO")].records, results[("T", "INFO")].examples) == (3, ["a", "b", ""])
    assert (results[("PS", "FORMAT")].records, results[("PS", "FORMAT")].examples) == (4, ["p1", "p2", "."])
    assert results[("C", "INFO")].examples == ["x"]


def test_late_ids_are_a_form_1_issue() -> None:
    path = FIXTURES / "ids_late.vcf.gz"
    lines = plain_text(path).decode().splitlines()
    ids = [line.split("\t")[2] for line in lines if not line.startswith("#")]
    named = [value for value in ids if value != "."]
    assert len(ids) == 10_050 and ids[:10_000] == ["."] * 10_000 and len(set(named)) == 50
    record = make_record(path, Options()).to_dict()
    # the first 10,000 records hold 1 distinct ID: table 8 (next power of two >= 5 x 1.005)
    occupancy = 51 * 100 // 8
    expected = f"ID,,8 B,{occupancy}%,.,{named[0]},{named[1]},{named[-3]},{named[-2]},{named[-1]}"
    assert record["hash_issues"] == [expected]
    assert record["source"]["num_lines"] == 10_050  # type: ignore[index]


def test_late_ids_with_sample_and_redact() -> None:
    path = FIXTURES / "ids_late.vcf.gz"
    # --sample: the dictionary fields stop after N records (the first 10,000 hold one ID)
    assert make_record(path, Options(sample=10_000)).to_dict()["hash_issues"] == []
    issues = make_record(path, Options(sample=10_020)).to_dict()["hash_issues"]
    assert len(issues) == 1 and issues[0].startswith(f"ID,,8 B,{21 * 100 // 8}%,.,rs")  # type: ignore[index]
    result = run_cli("record", path, "--json", "--redact")
    assert result.code == 0
    (issue,) = result.json()["hash_issues"]  # type: ignore[index]
    assert issue.startswith("ID,,8 B,637%,") and "rs" not in issue


def test_generated_info_and_format_text_keys_are_reported(tmp_path: Path) -> None:
    # 10,050 records: T and PS repeat one value in the first 10,000 values, then are all new.
    lines = [HEADER + CHROM_2.replace("\ts2", "")]
    for index in range(10_050):
        value = "same" if index < 10_000 else f"v{index}"
        lines.append(f"c1\t{index + 1}\t.\tA\tC\t.\t.\tT={value};N=1\tGT:PS:DP\t0/1:{value}:{index}\n")
    record = make_record(write(tmp_path, "".join(lines)), Options(gain=False)).to_dict()
    issues = [issue.split(",")[:4] for issue in record["hash_issues"]]  # type: ignore[union-attr]
    assert issues == [["T", "INFO", "8 B", "637%"], ["PS", "FORMAT", "8 B", "637%"]]
