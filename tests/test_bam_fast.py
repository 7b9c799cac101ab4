"""The fast BAM reader gives exactly what the pysam path gives, or declines the file.

htslib (through pysam) is the judge everywhere: records are written with pysam or as raw
bytes, then read by both paths. The fast reading's batches are read directly to show the fast
path really read a file (they raise `CannotProve` where it declines).
"""

from __future__ import annotations

import array
import collections
import gzip
import json
import multiprocessing
import os
import random
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pysam
import pytest

from genotel.batches import PackedBases
from genotel.bgzf import CannotProve
from genotel.engine import PassResult, extract, make_record, merge_parts, read_parts, read_whole
from genotel.errors import FormatError
from genotel.extractors.base import sample_within
from genotel.extractors.sam import bam_fast
from genotel.extractors.sam.bam_records import DECLINED, decimal_length, tag_value
from genotel.extractors.sam.batch import AlignmentBatch
from genotel.extractors.sam.diagnostics import read_names
from genotel.extractors.sam.extractor import CramStreamReading, FastBamReading, SamExtractor, read_batches
from genotel.extractors.sam.fields import SamText
from genotel.extractors.sam.header import parse_header
from genotel.options import Options
from genotel.sniff import sniff
from genotel.stats.cardinality import InexactMerge
from genotel.stats.qual import QualAcgtAccumulator, count_code_pairs
from genotel.testing import assert_record_matches

from conftest import FIXTURES, run_cli
from golden import COMPARED, absolute_args, load_cases

BAM_FIXTURES = ["aln_bwa.bam", "aln_minimap2.bam", "aln_trimmed.bam"]
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
HEADER = {
    "HD": {"VN": "1.6", "SO": "unsorted"},
    "SQ": [{"SN": "chr1", "LN": 100000}, {"SN": "c2", "LN": 5000}, {"SN": "ZA:odd", "LN": 1000}],
    "RG": [{"ID": "rg1", "SM": "s1"}],
    "PG": [{"ID": "bwa", "PN": "bwa"}],
    "CO": ["a comment\twith a tab"],
}


# ---- helpers: extracting both ways, writing BAM bytes ------------------------------------------


def fast_reading(path: Path, options: Options) -> FastBamReading:
    with SamExtractor().open(path, sniff(path), options) as reading:
        assert isinstance(reading, FastBamReading)
        return reading  # holds no open file


def fast_and_pysam(path: Path, monkeypatch: pytest.MonkeyPatch, **options: object) -> tuple[object, object]:
    """Both paths' Extraction, after proving the fast path reads the file itself."""
    chosen = Options(**options)  # type: ignore[arg-type]
    list(fast_reading(path, chosen).batches())  # raises if it declines
    fast = extract(path, chosen)
    monkeypatch.setenv(bam_fast.ENV_READER, "pysam")
    slow = extract(path, chosen)
    monkeypatch.delenv(bam_fast.ENV_READER)
    return fast, slow


def read_fast(path: Path, **options: object) -> tuple[object, object]:
    """Counts and qual_acgt of the fast reader's pass (in parts with `threads`, whatever the size)."""
    chosen = Options(**options)  # type: ignore[arg-type]
    split_min_bytes, bam_fast.SPLIT_MIN_BYTES = bam_fast.SPLIT_MIN_BYTES, 0
    try:
        result = read_whole(fast_reading(path, chosen), path, chosen)
    finally:
        bam_fast.SPLIT_MIN_BYTES = split_min_bytes
    return result.tally.counts, result.quality


def htslib_text_size(path: Path) -> int:
    with pysam.AlignmentFile(str(path), check_sq=False) as bam:
        return sum(len(read.to_string()) + 1 for read in bam.fetch(until_eof=True))


def bgzf_block(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = compressor.compress(data) + compressor.flush()
    header = b"\x1f\x8b\x08\x04\0\0\0\0\0\xff\x06\0BC\x02\0" + struct.pack("<H", len(payload) + 25)
    return header + payload + struct.pack("<II", zlib.crc32(data), len(data))


def write_bgzf(path: Path, pieces: list[bytes]) -> Path:
    """One BGZF block per piece, then the EOF block."""
    path.write_bytes(b"".join(bgzf_block(piece) for piece in pieces) + EOF_BLOCK)
    return path


def reblock(source: Path, target: Path, block_bytes: int) -> Path:
    """The same BAM stream in fixed-size blocks: records straddle blocks (as htsjdk writes)."""
    stream = gzip.decompress(source.read_bytes())
    return write_bgzf(target, [stream[i : i + block_bytes] for i in range(0, len(stream), block_bytes)])


def bam_header_bytes(text: bytes, contigs: list[tuple[bytes, int]]) -> bytes:
    data = b"BAM\x01" + struct.pack("<i", len(text)) + text + struct.pack("<i", len(contigs))
    for name, length in contigs:
        data += struct.pack("<i", len(name) + 1) + name + b"\0" + struct.pack("<I", length)
    return data


def raw_record(name: bytes = b"r", flag: int = 0, tid: int = 0, pos: int = 10, seq: str = "ACGT",
               qual: bytes | None = b"IIII", aux: bytes = b"", cigar: list[tuple[int, int]] | None = None,
               mate: tuple[int, int, int] = (-1, -1, 0)) -> bytes:  # fmt: skip
    """One BAM record as bytes (qualities given as phred+33 text, None for absent)."""
    cigar = [(0, len(seq))] if cigar is None else cigar
    codes = ["=ACMGRSVTWYHKDBN".index(base) for base in seq] + [0]
    packed = bytes(codes[i] << 4 | codes[i + 1] for i in range(0, len(seq), 2))
    quality = bytes(q - 33 for q in qual) if qual is not None else b"\xff" * len(seq)
    body = struct.pack("<iiBBHHHiiii", tid, pos, len(name) + 1, 60, 4680, len(cigar), flag, len(seq), *mate)
    body += name + b"\0" + b"".join(struct.pack("<I", length << 4 | op) for op, length in cigar)
    body += packed + quality + aux
    return struct.pack("<i", len(body)) + body


def tag(key: str, kind: str, value: bytes) -> bytes:
    return key.encode() + kind.encode() + value


RAW_TEXT = b"@HD\tVN:1.6\n@SQ\tSN:c1\tLN:1000\n@SQ\tSN:c2\tLN:500\n"
RAW_CONTIGS = [(b"c1", 1000), (b"c2", 500)]


def write_raw_bam(path: Path, records: list[bytes], text: bytes = RAW_TEXT,
                  contigs: list[tuple[bytes, int]] | None = None) -> Path:  # fmt: skip
    """A BAM laid out as htslib writes it: the header in its own block, whole records per block
    (a record longer than a block spans several, as in htslib)."""
    pieces, piece = [bam_header_bytes(text, RAW_CONTIGS if contigs is None else contigs)], b""
    for record in records:
        if piece and len(piece) + len(record) > 0xFF00:
            pieces.append(piece)
            piece = b""
        piece += record
    pieces.extend(piece[i : i + 0xFF00] for i in range(0, len(piece), 0xFF00))
    return write_bgzf(path, pieces)


# ---- synthetic BAMs written by pysam ---------------------------------------------------------


def segment(header: pysam.AlignmentHeader, name: str, seq: str | None, **fields: object) -> pysam.AlignedSegment:
    read = pysam.AlignedSegment(header)
    read.query_name = name
    read.query_sequence = seq
    read.flag = int(fields.get("flag", 0))  # type: ignore[call-overload]
    read.reference_id = int(fields.get("tid", 0))  # type: ignore[call-overload]
    read.reference_start = int(fields.get("pos", 100))  # type: ignore[call-overload]
    read.mapping_quality = int(fields.get("mapq", 60))  # type: ignore[call-overload]
    read.cigartuples = fields.get("cigar", [(0, len(seq))] if seq else None)  # type: ignore[assignment]
    read.next_reference_id = int(fields.get("mtid", -1))  # type: ignore[call-overload]
    read.next_reference_start = int(fields.get("mpos", -1))  # type: ignore[call-overload]
    read.template_length = int(fields.get("tlen", 0))  # type: ignore[call-overload]
    if seq and fields.get("qual", True):
        read.query_qualities = array.array("B", [(7 * i + 11) % 42 for i in range(len(seq))])
    for key, value, kind in fields.get("tags", []):  # type: ignore[attr-defined]
        read.set_tag(key, value, kind)
    return read


FLOATS = [0.1, 1e-05, 123456789.0, -0.0, 0.0, 1234505.0, 2.5e-7, float("inf"), float("-inf"), float("nan"), 65504.0]


def synthetic_reads(header: pysam.AlignmentHeader) -> list[pysam.AlignedSegment]:
    rng = random.Random(7)
    bases = "".join(rng.choice("ACGT") for _ in range(6000))
    every_type = [
        ("XA", "q", "A"), ("Xc", -128, "c"), ("XC", 255, "C"), ("Xs", -32768, "s"), ("XS", 65535, "S"),
        ("Xi", -(2**31), "i"), ("XI", 2**32 - 1, "I"), ("Xf", 0.1, "f"), ("XZ", "hello world", "Z"),
        ("XH", "1AE301", "H"), ("Ba", array.array("b", [-1, 0, 127]), None), ("Bb", array.array("B", [0, 255]), None),
        ("Bh", array.array("h", [-300, 3]), None), ("BH", array.array("H", [65535]), None),
        ("Bi", array.array("i", [-(2**31), 10]), None), ("BI", array.array("I", [2**32 - 1]), None),
        ("Bf", array.array("f", FLOATS), None), ("Be", array.array("i", []), None),
    ]  # fmt: skip
    reads = [
        segment(header, "all_types", "ACGTACGTAC", tags=every_type),
        segment(header, "unmapped", "NNACGT", flag=4, tid=-1, pos=-1, mapq=0),
        segment(header, "placed_unmapped", "ACG", flag=4 | 1 | 8, pos=500, mtid=0, mpos=500),
        segment(header, "no_quality", "ACGTTGCA", qual=False),
        segment(header, "empty_seq", None, flag=4, tid=-1, pos=-1),
        segment(header, "mate_same", "ACGTA", flag=1 | 2 | 32 | 64, mtid=0, mpos=300, tlen=305),
        segment(header, "mate_other", "ACGTA", flag=1 | 16 | 128, tid=1, pos=7, mtid=0, mpos=30, tlen=-9999),
        segment(header, "mate_unmapped", "ACGTA", flag=1 | 8, mtid=-1, mpos=-1),
        segment(header, "secondary", "ACGTA", flag=256, pos=99999, tlen=-1),
        segment(header, "supplementary", "ACGTACGT", flag=2048, cigar=[(5, 20), (0, 8), (5, 3)]),
        segment(header, "long_cigar", bases[:300], cigar=[(0, 2), (1, 1)] * 100, tags=[("NM", 100, "i")]),
        segment(header, "long_read", bases[:5000], tags=[("MD", "5000", "Z"), ("ZL", "x" * 300, "Z")]),
        segment(header, "odd1", "A"),
        segment(header, "odd7", "=ACMGRS", cigar=[(4, 2), (0, 5)]),
        segment(header, "iupac", "TWYHKDBN"),
        segment(header, "n" * 250, "ACGT"),
        segment(
            header,
            "x",
            "ACGT",
            tags=[
                ("ZA", "AAA", "Z"),
                ("ZB", "CCC", "Z"),
                ("RX", "AAA-CCC", "Z"),
                ("QX", "III III", "Z"),
                ("BC", "ACGT", "Z"),
            ],
        ),
        segment(
            header,
            "fake_rname",
            "ACGT",
            tid=2,
            tags=[("ZB", "C", "Z"), ("RX", "A", "Z"), ("QX", "I", "Z"), ("BC", "A", "Z")],
        ),
        segment(
            header, "many_floats", "ACGT", tags=[(f"F{chr(65 + i)}", value, "f") for i, value in enumerate(FLOATS)]
        ),
        segment(
            header,
            "strings",
            "ACGT",
            tags=[
                ("Z1", "", "Z"),
                ("Z2", "y" * 23, "Z"),
                ("Z3", "y" * 25, "Z"),
                ("Z4", "z" * 100, "Z"),
                ("Z5", "w" * 1000, "Z"),
            ],
        ),
    ]
    for index in range(40):  # ordinary reads, some with small integer tags
        length = 1 + rng.randrange(150)
        start = rng.randrange(5000)
        tags = [("NM", rng.randrange(-200, 70000), None), ("AS", rng.randrange(256), None)]
        reads.append(segment(header, f"r{index}", bases[start : start + length], pos=start, tags=tags))
    return reads


@pytest.fixture
def synthetic_bam(tmp_path: Path) -> Path:
    path = tmp_path / "synthetic.bam"
    with pysam.AlignmentFile(str(path), "wb", header=HEADER) as bam:
        for read in synthetic_reads(bam.header):
            bam.write(read)
    return path


# ---- the fast path equals the pysam path -----------------------------------------------------


@pytest.mark.parametrize("name", BAM_FIXTURES)
def test_fixture_extraction_equals_pysam(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = fast_and_pysam(FIXTURES / name, monkeypatch)
    assert fast == slow


@pytest.mark.parametrize("name", BAM_FIXTURES)
def test_fixture_text_size_equals_htslib(name: str) -> None:
    counts, _ = read_fast(FIXTURES / name)
    assert counts.text_size == htslib_text_size(FIXTURES / name)  # type: ignore[attr-defined]


def test_synthetic_bam_equals_pysam(synthetic_bam: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counts, _ = read_fast(synthetic_bam)
    assert counts.text_size == htslib_text_size(synthetic_bam)  # type: ignore[attr-defined]
    fast, slow = fast_and_pysam(synthetic_bam, monkeypatch)
    assert fast == slow
    assert "AGeNT_Trimmer" in fast.programs  # type: ignore[attr-defined]


@pytest.mark.parametrize("sample", [1, 5, 30, 1000])
def test_sample_equals_pysam(sample: int, synthetic_bam: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = fast_and_pysam(synthetic_bam, monkeypatch, sample=sample, batch_size=4, threads=2)
    assert fast == slow


def fast_and_pysam_batches(path: Path, options: Options) -> tuple[list[AlignmentBatch], list[AlignmentBatch]]:
    """The batches of the fast reader and of the pysam path over the same file."""
    sniffed = sniff(path)
    fast = list(fast_reading(path, options).batches())
    with pysam.AlignmentFile(str(path)) as bam:
        slow = list(read_batches(bam, path, sniffed, options, parse_header(str(bam.header))))
    return fast, slow


@pytest.mark.parametrize("batch_size", [1, 7, 8192])
def test_batches_equal_pysam_batches_record_by_record(synthetic_bam: Path, batch_size: int) -> None:
    fast, slow = fast_and_pysam_batches(synthetic_bam, Options(batch_size=batch_size))
    assert [len(batch) for batch in fast] == [len(batch) for batch in slow]
    for mine, theirs in zip(fast, slow, strict=True):
        assert mine.first_record == theirs.first_record
        for column in ("flag", "ref_id", "pos"):
            assert np.array_equal(getattr(mine, column), getattr(theirs, column)), column
        for column in ("names", "sequences", "qualities"):
            assert getattr(mine, column).to_list() == getattr(theirs, column).to_list(), column
            assert [getattr(mine, column)[i] for i in range(len(mine))] == getattr(theirs, column).to_list()
        assert mine.text_size == theirs.text_size
        assert mine.tag_signatures == theirs.tag_signatures


@pytest.mark.parametrize("sample", [None, 1, 9, 33])
def test_add_qualities_counts_packed_batches_like_text_batches(synthetic_bam: Path, sample: int | None) -> None:
    options = Options(batch_size=5)
    sniffed = sniff(synthetic_bam)
    packed, text = QualAcgtAccumulator(), QualAcgtAccumulator()
    for batch in fast_reading(synthetic_bam, options).batches():
        assert batch.packed is not None
        batch.count_qualities(packed, sample_within(batch, sample))
    with pysam.AlignmentFile(str(synthetic_bam)) as bam:
        for batch in read_batches(bam, synthetic_bam, sniffed, options, parse_header(str(bam.header))):
            assert batch.packed is None
            batch.count_qualities(text, sample_within(batch, sample))
    assert packed.result() == text.result()
    assert packed.records_with_quality == text.records_with_quality


def test_code_pair_counts_equal_a_counter_of_the_bases() -> None:
    """Lengths 0, 1, 2, 255 and 256, every 4-bit code, qualities 0 to 93, absent qualities,
    an empty batch and the first-N cut, against Counter over the bases read one by one."""
    rng = np.random.default_rng(11)
    lengths = [0, 1, 2, 3, 255, 256, 100, 7, 1]
    buffer, starts, with_quality = bytearray(b"\x07" * 5), [], []  # data before the first record
    for index, length in enumerate(lengths):
        codes = rng.integers(0, 16, length)
        packed = bytes(codes[i] << 4 | (codes[i + 1] if i + 1 < length else 0) for i in range(0, length, 2))
        qualities = rng.integers(0, 94, length).astype(np.uint8)
        qualities[: min(length, 2)] = 93
        absent = index == 6
        starts.append(len(buffer))
        with_quality.append(length > 0 and not absent)
        buffer += packed + (b"\xff" * length if absent else qualities.tobytes()) + b"\x09"
    data = np.frombuffer(bytes(buffer), dtype=np.uint8)
    bases = PackedBases(data, np.array(starts), np.array(lengths), np.array(with_quality))

    def expected(records: int) -> collections.Counter[tuple[int, int]]:
        pairs: collections.Counter[tuple[int, int]] = collections.Counter()
        for start, length, chosen in zip(starts[:records], lengths[:records], with_quality[:records], strict=True):
            for index in range(length if chosen else 0):
                byte = buffer[start + index // 2]
                pairs[(byte >> 4 if index % 2 == 0 else byte & 0xF, buffer[start + (length + 1) // 2 + index])] += 1
        return pairs

    for records in (None, 0, 1, 5, len(lengths)):
        counts, contributed = count_code_pairs(bases, records)
        wanted = expected(len(lengths) if records is None else records)
        found = {(code, quality): int(counts[code, quality]) for code, quality in np.argwhere(counts).tolist()}
        assert found == wanted
        assert contributed == sum(with_quality[: len(lengths) if records is None else records])
    empty = PackedBases(data, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool))
    assert count_code_pairs(empty)[1] == 0 and not count_code_pairs(empty)[0].any()


@pytest.mark.parametrize("name", [*BAM_FIXTURES, "synthetic"])
def test_header_text_equals_pysam(name: str, synthetic_bam: Path) -> None:
    path = synthetic_bam if name == "synthetic" else FIXTURES / name
    parsed = bam_fast.parse_bam_header(gzip.decompress(path.read_bytes()))
    with pysam.AlignmentFile(str(path)) as bam:
        assert parsed is not None and parsed.text.decode() == str(bam.header)
        assert [name for name, _ in parsed.contigs] == [name.encode() for name in bam.references]
        assert [length for _, length in parsed.contigs] == list(bam.lengths)


def test_random_floats_have_htslib_text_lengths(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    special = np.array([0x7FC00000, 0xFFC00000, 0x80000000, 1, 0x7F7FFFFF], dtype=np.uint32)  # NaNs, -0, extremes
    patterns = np.concatenate([rng.integers(0, 2**32, 3000, dtype=np.uint64).astype(np.uint32), special])
    values = patterns.view(np.float32).tolist()
    records = [raw_record(f"f{i}".encode(), aux=tag("XF", "f", struct.pack("<f", value))) for i, value in
               enumerate(values)]  # fmt: skip
    records.append(raw_record(b"arr", aux=tag("XB", "B", b"f" + struct.pack("<I", len(values)) + patterns.tobytes())))
    records.append(
        raw_record(b"dbl", aux=tag("XD", "d", struct.pack("<d", 1 / 3)) + tag("XE", "d", struct.pack("<d", -1e300)))
    )
    path = write_raw_bam(tmp_path / "floats.bam", records)
    counts, _ = read_fast(path)
    assert counts.text_size == htslib_text_size(path)  # type: ignore[attr-defined]


@pytest.mark.parametrize("length", [0, 1, 4, 5, 12, 13, 255, 256, 1000])
def test_string_tags_end_at_their_nul_as_bytes_find_says(length: int) -> None:
    rng = np.random.default_rng(length)
    for _ in range(300):
        text = rng.choice(np.array([0, 9, 65, 66, 0x7F, 0x80, 0xFF], dtype=np.uint8), size=length + 8)
        text[rng.random(len(text)) < 0.8] = 70  # mostly plain letters
        text[length] = 0 if rng.random() < 0.7 else 70
        record = b"XZZ" + text.tobytes()
        end = 3 + length + 1 if rng.random() < 0.8 else len(record)
        buffer = np.frombuffer(record + bytes(8), dtype=np.uint8)
        following, text_length, _, _, status = tag_value(buffer, 3, end)
        body = record[3:end]
        nul = body.find(b"\0")
        before = body if nul < 0 else body[:nul]
        if b"\t" in before or any(byte >= 0x80 for byte in before):
            assert DECLINED[status] == "a string with a TAB or non-ASCII byte"
        elif nul < 0:
            assert DECLINED[status] == "a string without its NUL terminator"
        else:
            assert (status, following, text_length) == (0, 3 + nul + 1, nul)


def test_trailing_bytes_after_the_last_tag_are_ignored_like_htslib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [raw_record(b"a", aux=tag("NM", "C", b"\x01") + b"\x00\x01\x02"), raw_record(b"b", aux=b"XY")]
    path = write_raw_bam(tmp_path / "trailing.bam", records)
    counts, _ = read_fast(path)
    assert counts.text_size == htslib_text_size(path)  # type: ignore[attr-defined]
    fast, slow = fast_and_pysam(path, monkeypatch)
    assert fast == slow


def test_agent_tags_read_into_qual_are_seen_as_pysam_sees_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No ZA tag, but the QUAL field reads "ZA:..." and the pysam path tests the SAM line.
    tags = tag("ZB", "Z", b"C\0") + tag("RX", "Z", b"A\0") + tag("QX", "Z", b"I\0") + tag("BC", "Z", b"A\0")
    path = write_raw_bam(tmp_path / "quirk.bam", [raw_record(b"q", qual=b"ZA:I", aux=tags)])
    fast, slow = fast_and_pysam(path, monkeypatch)
    assert fast == slow
    assert fast.programs == ["AGeNT_Trimmer"]  # type: ignore[attr-defined]


# ---- straddling records, empty blocks, two parts ----------------------------------------------


@pytest.mark.parametrize("block_bytes", [1000, 333])
def test_records_straddling_blocks(block_bytes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = reblock(FIXTURES / "aln_trimmed.bam", tmp_path / "straddle.bam", block_bytes)
    fast, slow = fast_and_pysam(path, monkeypatch)
    assert fast == slow
    assert fast.num_lines == 6498  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("records", "text"),
    [
        ([], RAW_TEXT),
        ([raw_record()], RAW_TEXT),
        ([raw_record(name=b"n" * 254), raw_record(name=b"")], RAW_TEXT),  # the longest and an empty name
        ([raw_record()], RAW_TEXT + b"\0" * 7),  # header text padded with NULs
    ],
)
def test_small_raw_bams(records: list[bytes], text: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_raw_bam(tmp_path / "few.bam", records, text)
    fast, slow = fast_and_pysam(path, monkeypatch)
    assert fast == slow and fast.num_lines == len(records)  # type: ignore[attr-defined]


def test_empty_blocks_and_a_header_sharing_its_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = [raw_record(f"r{i}".encode(), pos=i) for i in range(30)]
    pieces = [bam_header_bytes(RAW_TEXT, RAW_CONTIGS) + b"".join(records[:10]), b"", b"".join(records[10:]), b""]
    path = write_bgzf(tmp_path / "empties.bam", pieces)
    fast, slow = fast_and_pysam(path, monkeypatch)
    assert fast == slow and fast.num_lines == 30  # type: ignore[attr-defined]


def parts_of(path: Path, parts: int) -> list[PassResult]:
    """The parts' results of a pass in `parts` threads (not yet merged)."""
    reading = fast_reading(path, Options())
    split = bam_fast.bam_parts(path, reading.header, parts, Options().batch_size, split_min_bytes=0)
    return read_parts(split, Options(threads=parts), reading.header_text)


def test_two_parts_equal_one(tmp_path: Path) -> None:
    straddling = reblock(FIXTURES / "aln_bwa.bam", tmp_path / "straddle.bam", 777)
    for path, worker_counts in ((FIXTURES / "aln_bwa.bam", True), (straddling, False)):
        one_counts, one_quality = read_fast(path)
        first, second = parts_of(path, 2)
        two_counts, two_quality = read_fast(path, threads=2)
        assert vars(two_counts) == vars(one_counts)
        assert np.array_equal(two_quality.counts, one_quality.counts)  # type: ignore[attr-defined]
        assert two_quality.records_with_quality == one_quality.records_with_quality  # type: ignore[attr-defined]
        # htslib output splits at a record start and the worker's half is used; in the re-blocked
        # file the split falls inside a record, so the second half is read again after the first.
        assert second.by_worker is worker_counts
        assert 0 < first.records < one_counts.records  # type: ignore[attr-defined]
        assert first.records + second.records == one_counts.records  # type: ignore[attr-defined]


def _records_read_in_two_parts(path: str) -> int:
    bam_fast.SPLIT_MIN_BYTES = 0
    counts, _ = read_fast(Path(path), threads=2)
    return counts.records  # type: ignore[attr-defined, no-any-return]


def test_a_daemonic_pool_worker_reads_in_parts() -> None:
    # A multiprocessing.Pool worker (as `genotel batch` runs) may start threads: the parts run there.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_records_read_in_two_parts, (str(FIXTURES / "aln_bwa.bam"),)) == 6722


# ---- files the fast path declines: the pysam path reads them -------------------------------------


@pytest.mark.parametrize(
    ("records", "text"),
    [
        ([raw_record(aux=tag("XZ", "Z", "é".encode() + b"\0"))], RAW_TEXT),  # pysam counts characters
        ([raw_record(name="ü".encode())], RAW_TEXT),
        ([raw_record(name=b"a\0b")], RAW_TEXT),  # pysam's name stops at the NUL, its text does not
        ([raw_record(name=b"a\tb")], RAW_TEXT),
        ([raw_record(qual=bytes([33 + 95] * 4))], RAW_TEXT),  # a QUAL character beyond ASCII
        ([raw_record(aux=tag("XZ", "Z", b"a\tb\0"))], RAW_TEXT),
        ([raw_record(cigar=[(4, 4)], aux=tag("CG", "B", b"I" + struct.pack("<II", 1, 4 << 4)))], RAW_TEXT),
        ([raw_record(seq="ACGT", cigar=[(0, 3)])], RAW_TEXT),  # htslib rejects CIGAR/SEQ length mismatch
        ([raw_record(tid=5)], RAW_TEXT),  # a contig beyond the header
        ([raw_record(aux=b"XXq\x01")], RAW_TEXT),  # an unknown tag type
        ([raw_record()], b"@HD\tVN:1.6\n"),  # no @SQ lines: htslib writes them into the text
    ],
)
def test_declined_files_get_the_pysam_result(
    records: list[bytes], text: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_raw_bam(tmp_path / "declined.bam", records, text)
    with pytest.raises(CannotProve):
        read_fast(path)
    result = run_cli("record", path, "--json")
    monkeypatch.setenv(bam_fast.ENV_READER, "pysam")
    reference = run_cli("record", path, "--json")
    assert (result.code, result.err) == (reference.code, reference.err)
    if result.code == 0:
        assert {**result.json(), "record_id": 0, "created": 0} == {**reference.json(), "record_id": 0, "created": 0}  # type: ignore[dict-item]


def test_env_var_forces_the_pysam_path(monkeypatch: pytest.MonkeyPatch) -> None:
    assert bam_fast.fast_path_wanted()
    monkeypatch.setenv(bam_fast.ENV_READER, "pysam")
    assert not bam_fast.fast_path_wanted()


# ---- corrupt files: the same one-line error as the pysam path -----------------------------------


def corrupt_copy(tmp_path: Path, how: str, block: int = 20) -> Path:
    data = bytearray((FIXTURES / "aln_bwa.bam").read_bytes())
    offsets, offset = [], 0
    while offset < len(data):
        offsets.append(offset)
        offset += struct.unpack_from("<H", data, offset + 16)[0] + 1
    start, end = offsets[block], offsets[block + 1]  # block 20 of 28 is in the second half
    if how == "crc":
        data[end - 8] ^= 1
    elif how == "deflate":
        data[start + 30 : start + 40] = b"\xff" * 10
    elif how == "cut":
        data[start + 100 : end] = b""
    elif how == "magic":
        data[start] = 0
    path = tmp_path / f"{how}.bam"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how", ["crc", "deflate", "cut", "magic"])
def test_corrupt_block_gives_the_pysam_error(how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = corrupt_copy(tmp_path, how)
    with pytest.raises(FormatError) as raised:  # the fast path's own error, not htslib's after a fallback
        read_fast(path)
    result = run_cli("record", path, "--threads", "2")
    assert str(raised.value) in result.err
    monkeypatch.setenv(bam_fast.ENV_READER, "pysam")
    reference = run_cli("record", path)  # htslib with one thread names the first unreadable record
    assert result.code == reference.code == 2
    assert result.err == reference.err
    assert len(result.err.strip().splitlines()) == 1
    assert "truncated BAM file at record " in result.err


@pytest.mark.parametrize(("how", "block", "parts"), [("crc", 20, 2), ("magic", 20, 2), ("magic", 5, 1)])
def test_corrupt_block_and_two_parts(how: str, block: int, parts: int, tmp_path: Path) -> None:
    # The worker finds a corrupt block in the second half; a chain broken before the middle
    # keeps the file in one part, whose reader reports it.
    path = corrupt_copy(tmp_path, how, block)
    results = parts_of(path, 2)
    assert len(results) == parts and results[-1].stopped is not None
    with pytest.raises(FormatError) as one:
        read_fast(path)
    with pytest.raises(FormatError) as two:
        merge_parts(results, path)
    assert str(two.value) == str(one.value)
    assert "truncated BAM file at record" in str(one.value)


# ---- the SAM text columns (probe streams, dictionary fields) equal those cut from htslib's lines ----


DICTIONARY_COLUMNS = ("QNAME", "RNAME", "CIGAR")


def assert_same_text(mine: SamText, theirs: SamText, full: bool) -> None:
    wanted = [name for name in theirs.columns if full or name in DICTIONARY_COLUMNS or name[3:] in ("Z", "H")]
    assert list(mine.columns) == wanted
    assert mine.records == theirs.records
    for name in wanted:
        ours, reference = mine.columns[name], theirs.columns[name]
        assert ours.text().tobytes() == reference.text().tobytes(), name
        for skip in (0, 3, 5):  # 5: a tag's value, as the dictionary reads it
            assert ours.strings(skip=skip).to_list() == reference.strings(skip=skip).to_list(), (name, skip)
        head = slice(0, max(1, len(ours.starts) // 2))  # --sample's cut (head_text; never empty)
        assert ours.subset(head).text().tobytes() == reference.subset(head).text().tobytes(), name
        if reference.records is None:
            assert ours.records is None, name
        else:
            assert ours.records is not None and ours.records.tolist() == reference.records.tolist(), name
    if full:
        assert mine.fields_per_record.tolist() == theirs.fields_per_record.tolist()


@pytest.mark.parametrize("name", [*BAM_FIXTURES, "synthetic", "integers"])
@pytest.mark.parametrize("batch_size", [7, 8192])
def test_sam_text_equals_the_columns_of_htslib_lines(
    name: str, batch_size: int, synthetic_bam: Path, tmp_path: Path
) -> None:
    paths = {"synthetic": synthetic_bam, "integers": integer_edges_bam(tmp_path / "integers.bam")}
    path = paths.get(name, FIXTURES / name)
    if batch_size == 7:  # records straddling blocks take the other walk
        path = reblock(path, tmp_path / "reblocked.bam", 999)
    fast, slow = fast_and_pysam_batches(path, Options(batch_size=batch_size))
    assert [len(batch) for batch in fast] == [len(batch) for batch in slow]
    for mine, theirs in zip(fast, slow, strict=True):
        assert mine.sam_text is not None and theirs.sam_text is not None
        reference = theirs.sam_text(True)
        assert_same_text(mine.sam_text(True), reference, full=True)
        assert_same_text(mine.sam_text(False), reference, full=False)


# BAM's integer tag types: struct format and limits.
INTEGER_TYPES = {"c": ("b", -128, 127), "C": ("B", 0, 255), "s": ("h", -32768, 32767), "S": ("H", 0, 65535),
                 "i": ("i", -(2**31), 2**31 - 1), "I": ("I", 0, 2**32 - 1)}  # fmt: skip


def integer_edges_bam(path: Path) -> Path:
    """Records whose integer fields and tags hold every power of ten and its neighbours, both
    signs, and the limits of each BAM integer type."""
    edges = sorted({sign * (10**k + step) for k in range(10) for step in (-1, 0, 1) for sign in (1, -1)})
    records = []
    for index, value in enumerate(edges):
        aux = b""
        for number, (kind, (code, low, high)) in enumerate(INTEGER_TYPES.items()):
            aux += tag(f"K{number}", kind, struct.pack("<" + code, min(max(value, low), high)))
        int32 = min(max(value, -(2**31)), 2**31 - 1)
        aux += tag("KB", "B", b"i" + struct.pack("<I", 2) + struct.pack("<2i", int32, index - 5))
        pos, mate_pos = (min(max(number, -1), 2**31 - 2) for number in (value, -value))
        mate = (-1, mate_pos, int32)
        records.append(raw_record(f"q{index}".encode(), tid=-1 if pos < 0 else 0, pos=pos, aux=aux, mate=mate))
    return write_raw_bam(path, records)


@pytest.mark.parametrize("gain", [True, False])
def test_records_equal_between_readers(gain: bool, synthetic_bam: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for path in (synthetic_bam, FIXTURES / "aln_bwa.bam"):
        result = run_cli("record", path, "--json", *([] if gain else ["--no-gain"]))
        monkeypatch.setenv(bam_fast.ENV_READER, "pysam")
        reference = run_cli("record", path, "--json", *([] if gain else ["--no-gain"]))
        monkeypatch.delenv(bam_fast.ENV_READER)
        assert result.code == reference.code == 0
        mine, theirs = result.json(), reference.json()
        for key in ("features", "fields_gain", "genozip_gain", "hash_issues", "source", "flags"):
            assert mine[key] == theirs[key], key  # type: ignore[index]
        assert (mine["fields_gain"] is None) is not gain  # type: ignore[index]


def whole_pass(path: Path, threads: int) -> PassResult:
    """The engine's pass over the fast reader's parts (`threads` of them, whatever the size)."""
    split_min_bytes, bam_fast.SPLIT_MIN_BYTES = bam_fast.SPLIT_MIN_BYTES, 0
    try:
        return read_whole(fast_reading(path, Options(threads=threads)), path, Options(threads=threads))
    finally:
        bam_fast.SPLIT_MIN_BYTES = split_min_bytes


@pytest.mark.parametrize("name", ["aln_bwa.bam", "aln_trimmed.bam", "study_scrna.bam"])
def test_two_parts_merge_the_diagnostics(name: str) -> None:
    path = FIXTURES / name
    one, two = whole_pass(path, 1), whole_pass(path, 2)
    header = fast_reading(path, Options()).header
    records = one.tally.counts.records
    assert read_names(two.tally.names, header.text) == read_names(one.tally.names, header.text)
    assert [vars(result) for result in two.tally.dictionary.results(records)] == [
        vars(result) for result in one.tally.dictionary.results(records)
    ]
    ones = {name: (text, packed) for name, text, packed in one.streams or []}
    twos = {name: (text, packed) for name, text, packed in two.streams or []}
    assert ones.keys() == twos.keys()
    for stream, (text, packed) in ones.items():
        assert twos[stream][0] == text, stream  # text sizes add up exactly
        if name == "aln_bwa.bam":  # two chunks compress a little worse (cell barcodes much worse)
            assert abs(twos[stream][1] - packed) <= max(40, packed // 10), stream


def test_a_merge_that_cannot_tell_the_examples_reads_the_file_in_one_part() -> None:
    """In aln_bwa.bam cut in halves, the second half's last 32 new QNAME3 tokens are all in the
    first half, and an earlier one is not: the merge says so, and the engine reads one part."""
    path = FIXTURES / "aln_bwa.bam"
    with pytest.raises(InexactMerge, match="QNAME3"):
        merge_parts(parts_of(path, 2), path)
    assert extract(path, Options(threads=2)) == extract(path, Options(threads=1))


def test_decimal_length_is_the_printed_length() -> None:
    """The kernels' digit count against str(): every power of ten and its neighbours, both
    signs, the limits of BAM's integer types, and random values."""
    edges = [sign * (10**k + step) for k in range(18) for step in (-1, 0, 1) for sign in (1, -1)]
    edges += [0, 2**31 - 1, -(2**31), 2**32 - 1, 10**18 - 1, -(10**18 - 1)]
    for dtype in ("i1", "u1", "<i2", "<u2", "<i4", "<u4"):
        edges += [int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)]
    rng = np.random.default_rng(2)
    values = edges + rng.integers(-(2**40), 2**40, 2_000).tolist()
    assert [decimal_length(value) for value in values] == [len(str(value)) for value in values]


def test_two_parts_read_a_bam_without_its_eof_block(tmp_path: Path) -> None:
    path = tmp_path / "noeof.bam"
    path.write_bytes((FIXTURES / "aln_bwa.bam").read_bytes()[: -len(EOF_BLOCK)])
    results = parts_of(path, 2)
    assert len(results) == 2 and all(result.stopped is None for result in results)
    counts, _ = read_fast(path, threads=2)
    assert sum(result.records for result in results) == counts.records == 6722  # type: ignore[attr-defined]


# ---- the kernels as plain Python ----------------------------------------------------------------

# In a child process with NUMBA_DISABLE_JIT=1: the fast reader must read the file itself (it
# raises if it declines), then the record is printed.
_UNCOMPILED_RECORD = """
import sys
from pathlib import Path
import numba
from genotel.cli import main
from genotel.extractors.sam.extractor import FastBamReading, SamExtractor
from genotel.options import Options
from genotel.sniff import sniff
assert numba.config.DISABLE_JIT
path = Path(sys.argv[1])  # the file comes first in the cases used
with SamExtractor().open(path, sniff(path), Options()) as reading:
    assert isinstance(reading, FastBamReading)
    for _ in reading.batches():
        pass
sys.exit(main(["record", "--json", *sys.argv[1:]]))
"""


def test_kernels_run_as_plain_python_give_the_golden_records() -> None:
    """NUMBA_DISABLE_JIT=1 runs every kernel as the Python it is written in: the same records."""
    cases = load_cases()
    names = ["aln_minimap2_bam", "aln_bwa_bam_sample100"]  # floats, one tag type per record; --sample
    environment = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    children = {
        name: subprocess.Popen(
            [sys.executable, "-c", _UNCOMPILED_RECORD, *absolute_args(cases[name]["args"])],  # type: ignore[arg-type]
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )
        for name in names
    }
    for name, child in children.items():
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err.decode()
        assert_record_matches(json.loads(out), cases[name], include=COMPARED)  # type: ignore[arg-type]


# ---- CRAM: htslib decodes to a BAM stream, the fast reader reads it ------------------------------


def cram_of(bam: Path, folder: Path, *options: str) -> Path:
    """The BAM fixture written as CRAM by htslib (pysam's samtools) against fixtures/ref.fa."""
    cram = folder / f"{bam.stem}.cram"
    pysam.samtools.view("-C", "--no-PG", *options, "-T", str(FIXTURES / "ref.fa"), "-o", str(cram), str(bam),
                        catch_stdout=False)
    return cram


def read_through_stream(path: Path, options: Options) -> int:
    """Records the BAM stream of a CRAM gives (raises `CannotProve` if the fast reader declines)."""
    with SamExtractor().open(path, sniff(path), options) as reading:
        assert isinstance(reading, CramStreamReading)
        return sum(len(batch) for batch in reading.batches())


@pytest.mark.parametrize(
    ("name", "cram_options"),
    [
        ("aln_bwa.cram", None),  # the fixture, written by samtools 1.16
        ("aln_minimap2.bam", ()),
        ("aln_trimmed.bam", ("--output-fmt-option", "version=2.1")),
        ("study_scrna.bam", ("--output-fmt-option", "seqs_per_slice=1000")),  # many tags, many slices
        ("study_bisulfite.bam", ("--output-fmt-option", "no_ref")),  # no reference needed to decode
    ],
)
def test_cram_stream_gives_the_htslib_record(
    name: str, cram_options: tuple[str, ...] | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = FIXTURES / name if cram_options is None else cram_of(FIXTURES / name, tmp_path, *cram_options)
    options = Options(reference=FIXTURES / "ref.fa", threads=2)
    with pysam.AlignmentFile(str(path), reference_filename=str(FIXTURES / "ref.fa")) as cram:
        expected = sum(1 for _ in cram.fetch(until_eof=True))
    assert read_through_stream(path, options) == expected
    fast = make_record(path, options).to_dict()
    monkeypatch.setenv(bam_fast.ENV_READER, "pysam")
    slow = make_record(path, options).to_dict()
    for key in ("source", "features", "qual_acgt", "hash_issues", "programs", "fields_gain", "genozip_gain"):
        assert fast[key] == slow[key], key


def test_a_truncated_cram_gives_htslibs_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cut.cram"
    whole = (FIXTURES / "aln_bwa.cram").read_bytes()
    path.write_bytes(whole[: len(whole) * 2 // 3])
    result = run_cli("record", path, "--reference", FIXTURES / "ref.fa")
    monkeypatch.setenv(bam_fast.ENV_READER, "pysam")
    reference = run_cli("record", path, "--reference", FIXTURES / "ref.fa")
    assert (result.code, result.err, result.out) == (reference.code, reference.err, reference.out)


def test_bam_stream_declines_what_is_not_a_whole_bam() -> None:
    header = fast_reading(FIXTURES / "aln_bwa.bam", Options()).header
    whole = (FIXTURES / "aln_bwa.bam").read_bytes()
    for data in (b"", whole[:5000], whole[: len(whole) // 2]):  # nothing; a cut block; a cut record
        reading, writing = os.pipe()

        def write(data: bytes = data, writing: int = writing) -> None:
            with os.fdopen(writing, "wb") as stream:
                stream.write(data)

        writer = threading.Thread(target=write)
        writer.start()
        with pytest.raises(CannotProve):
            for _ in bam_fast.stream_batches(reading, header, 100):
                pass
        writer.join()
        os.close(reading)
