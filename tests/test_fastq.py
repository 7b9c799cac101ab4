"""FASTQ: counts, qual_acgt, interleaving, both readers, chunk boundaries, and every bad input.

Read names (flavour, hash_issues) and the probe's streams are in tests/test_fastq_names.py.
"""

from __future__ import annotations

import gzip
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pysam
import pytest
from pysam.libcbgzf import BGZFile

from genotel.engine import extract as engine_extract
from genotel.engine import make_record
from genotel.errors import FormatError
from genotel.extractors.base import Extraction
from genotel.extractors.fastq.extractor import FastqExtractor, PyfastxFastqReader
from genotel.extractors.fastq.names import are_mates, is_interleaved
from genotel.extractors.fastq.parse import NumpyFastqReader
from genotel.options import Options
from genotel.sniff import sniff

from conftest import FIXTURES, run_cli

FASTQ_FIXTURES = [
    "reads_R1.fastq.gz",
    "reads_R2.fastq.gz",
    "reads_interleaved.fastq",
    "trimmed_R1.fastq.gz",
    "trimmed_R2.fastq.gz",
    "names_unparsed.fastq",
    "names_sra.fastq.gz",
]
GOOD = b"@r1/1\nACGTN\n+\nIIII#\n@r1/2\nacgg\n+r1/2\n!~5I\n@r2/1\nGGT\n+\nABC\n"
BASES = "ACGT"


def extract(path: Path, reader: str = "numpy", **options: object) -> Extraction:
    """The extraction, without the probe unless `gain=True` (its streams are tested in test_fastq_names.py)."""
    options.setdefault("gain", False)
    return engine_extract(path, Options(**options), FastqExtractor(reader))  # type: ignore[arg-type]


def reference_counts(text: bytes, sample: int | None = None) -> list[list[int]]:
    """qual_acgt counts the slow, obvious way: zip every sequence with its quality line."""
    lines = text.replace(b"\r", b"").split(b"\n")
    counts = Counter()
    for record in range(len(lines) // 4)[:sample]:
        sequence, quality = lines[4 * record + 1].upper(), lines[4 * record + 3]
        counts.update(zip(sequence.decode(), quality, strict=True))
    return [[counts[(base, q + 33)] for q in range(256)] for base in BASES]


def features(extraction: Extraction) -> dict[str, object]:
    return dict(extraction.features)


def write(tmp_path: Path, text: bytes, codec: str = "NONE", name: str = "in.fastq") -> Path:
    path = tmp_path / (name + {"NONE": "", "GZ": ".gz", "BGZF": ".gz"}[codec])
    if codec == "GZ":
        path.write_bytes(gzip.compress(text, mtime=0))
    elif codec == "BGZF":
        with BGZFile(str(path), "wb") as stream:
            stream.write(text)
    else:
        path.write_bytes(text)
    return path


# ---- the fixtures -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", FASTQ_FIXTURES)
def test_fixture_counts_equal_a_plain_python_count(name: str) -> None:
    path = FIXTURES / name
    text = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    extraction = extract(path)
    records = text.count(b"\n") // 4
    assert extraction.num_lines == records
    assert extraction.txt_size == len(text)
    assert extraction.qual_counts == reference_counts(text)
    assert extraction.programs is None
    sequence_lengths = [len(line) for line in text.split(b"\n")[1::4]]
    assert features(extraction)["read_len"] == f"{sum(sequence_lengths) / records:.1f}"
    assert list(features(extraction)) == ["num_lines", "QNAME", "sequencer", "read_len", "interleaved", "study"]


def test_interleaved_only_for_the_interleaved_fixture() -> None:
    verdicts = {name: features(extract(FIXTURES / name))["interleaved"] for name in FASTQ_FIXTURES}
    assert verdicts == {name: "true" if "interleaved" in name else "false" for name in FASTQ_FIXTURES}


@pytest.mark.parametrize("sample", [1, 99, 100, 1001])
def test_sample_limits_qual_acgt_but_not_the_counts(sample: int) -> None:
    path = FIXTURES / "reads_interleaved.fastq"
    extraction = extract(path, sample=sample)
    assert extraction.qual_counts == reference_counts(path.read_bytes(), sample)
    assert extraction.num_lines == 1000
    assert extraction.txt_size == path.stat().st_size
    assert extract(path, sample=sample, gain=True).streams == extract(path, gain=True).streams  # the whole file


@pytest.mark.parametrize("name", FASTQ_FIXTURES)
@pytest.mark.parametrize(
    ("sample", "batch_size", "gain"), [(None, 8192, True), (1234, 8192, False), (None, 1000, False)]
)
def test_pyfastx_reader_gives_the_same_extraction(name: str, sample: int | None, batch_size: int, gain: bool) -> None:
    path = FIXTURES / name
    numpy_path = extract(path, "numpy", sample=sample, gain=gain)
    assert extract(path, "pyfastx", sample=sample, batch_size=batch_size, gain=gain) == numpy_path


def test_pyfastx_reader_writes_nothing_beside_the_input(tmp_path: Path) -> None:
    for name in FASTQ_FIXTURES:
        shutil.copy(FIXTURES / name, tmp_path / name)
        extract(tmp_path / name, "pyfastx")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(FASTQ_FIXTURES)


def test_environment_variable_chooses_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    path = FIXTURES / "reads_interleaved.fastq"
    with FastqExtractor().open(path, sniff(path), Options()) as reading:
        assert isinstance(reading.reader, NumpyFastqReader)
    monkeypatch.setenv("GENOTEL_FASTQ_READER", "pyfastx")
    with FastqExtractor().open(path, sniff(path), Options()) as reading:
        assert isinstance(reading.reader, PyfastxFastqReader)
    monkeypatch.setenv("GENOTEL_FASTQ_READER", "fastest")
    result = run_cli("record", path, "--json")
    assert result.code == 2
    assert result.err == "genotel: error: GENOTEL_FASTQ_READER must be one of numpy, pyfastx, not 'fastest'\n"


# ---- the same reads in a BAM ------------------------------------------------------------------


def bam_counts(path: Path) -> np.ndarray:
    extraction = engine_extract(path, Options())
    return np.array(extraction.qual_counts)


def fastq_pair_counts() -> np.ndarray:
    return sum(np.array(extract(FIXTURES / f"reads_R{mate}.fastq.gz").qual_counts) for mate in (1, 2))  # type: ignore[return-value]


def test_qual_acgt_equals_that_of_the_unaligned_bam_of_the_same_reads(tmp_path: Path) -> None:
    unaligned = tmp_path / "unaligned.bam"
    reads = [FIXTURES / "reads_R1.fastq.gz", FIXTURES / "reads_R2.fastq.gz"]
    # samtools import, as bundled with pysam (the same samtools code, no system binary needed)
    pysam.samtools.fqimport("-1", str(reads[0]), "-2", str(reads[1]), "-o", str(unaligned), catch_stdout=False)
    assert np.array_equal(bam_counts(unaligned), fastq_pair_counts())
    fastq = make_record(reads[0]).qual_acgt, make_record(reads[1]).qual_acgt
    assert make_record(unaligned).qual_acgt not in fastq  # the BAM holds both mates: a real sum


def test_qual_acgt_equals_the_aligned_bam_with_reverse_strand_reads_complemented(tmp_path: Path) -> None:
    # bwa stores reverse-strand reads reverse-complemented, qualities reversed. qual_acgt counts
    # (base, quality) pairs, which reversal leaves alone; complementing swaps A<->T and C<->G.
    # Primary records only (each read exactly once; supplementary ones may be hard-clipped).
    forward, reverse = tmp_path / "forward.bam", tmp_path / "reverse.bam"
    aligned = FIXTURES / "aln_bwa.bam"
    pysam.samtools.view("-b", "-F", "0x910", "-o", str(forward), str(aligned), catch_stdout=False)
    pysam.samtools.view("-b", "-f", "0x10", "-F", "0x900", "-o", str(reverse), str(aligned), catch_stdout=False)
    reverse_counts = bam_counts(reverse)
    assert reverse_counts.sum() > 0
    complemented = reverse_counts[[3, 2, 1, 0]]
    assert np.array_equal(bam_counts(forward) + complemented, fastq_pair_counts())


# ---- line endings, chunk boundaries, the end of the file --------------------------------------


def read_all(path: Path, codec: str = "NONE", chunk_bytes: int = 4 * 1024 * 1024) -> tuple[object, ...]:
    """Everything the numpy reader yields, concatenated, plus its text size."""
    reader = NumpyFastqReader(path, codec, chunk_bytes)
    batches = list(reader)
    first_records = [batch.first_record for batch in batches]
    lengths = [len(batch) for batch in batches]
    assert first_records == list(np.cumsum([1, *lengths[:-1]]))
    return (
        sum(lengths),
        b"".join(batch.sequences.buffer.tobytes() for batch in batches),
        b"".join(batch.qualities.buffer.tobytes() for batch in batches),
        [header for batch in batches for header in batch.headers(len(batch))],
        reader.text_size,
    )


@pytest.mark.parametrize("chunk_bytes", [1, 7, 64, 1000, 4099])
def test_records_do_not_depend_on_where_chunks_end(tmp_path: Path, chunk_bytes: int) -> None:
    # textio's chunks end at line boundaries but not at record boundaries: the carry is exact.
    lines = (FIXTURES / "reads_interleaved.fastq").read_bytes().split(b"\n")
    path = write(tmp_path, b"\n".join(lines[: 4 * (30 if chunk_bytes < 64 else 1000)]) + b"\n")
    assert read_all(path, chunk_bytes=chunk_bytes) == read_all(path)


@pytest.mark.parametrize("chunk_bytes", [5, 64, 4 * 1024 * 1024])
@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda text: text.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda text: text[:-1], id="no-final-newline"),
        pytest.param(lambda text: text.replace(b"\n", b"\r\n")[:-2], id="crlf-no-final-newline"),
        pytest.param(lambda text: text + b"\n\n\r\n\n\n", id="trailing-blank-lines"),
    ],
)
def test_line_endings_and_file_ends(tmp_path: Path, variant: object, chunk_bytes: int) -> None:
    plain = read_all(write(tmp_path, GOOD, name="plain.fastq"))
    path = write(tmp_path, variant(GOOD))  # type: ignore[operator]
    assert read_all(path, chunk_bytes=chunk_bytes)[:4] == plain[:4]
    assert extract(path).qual_counts == reference_counts(GOOD)


def test_small_inline_file_in_detail(tmp_path: Path) -> None:
    extraction = extract(write(tmp_path, GOOD, "GZ"))
    assert (extraction.codec, extraction.num_lines, extraction.txt_size) == ("GZ", 3, len(GOOD))
    # r1/1 + r1/2 are mates; the odd last record is not a pair.
    assert extraction.features == [
        ("num_lines", 3), ("QNAME", "Unknown"), ("sequencer", "unknown"), ("read_len", "4.0"), ("interleaved", "true"),
        ("study", "unknown"),
    ]  # fmt: skip
    counts = extraction.qual_counts
    assert counts is not None
    seen = {(BASES[b], chr(q + 33)): n for b in range(4) for q, n in enumerate(counts[b]) if n}
    # N is not counted; the lower-case bases of the second record are.
    assert seen == {
        ("A", "I"): 1, ("C", "I"): 1, ("G", "I"): 2, ("T", "I"): 1,
        ("A", "!"): 1, ("C", "~"): 1, ("G", "5"): 1,
        ("G", "A"): 1, ("G", "B"): 1, ("T", "C"): 1,
    }  # fmt: skip


@pytest.mark.parametrize("reader", ["numpy", "pyfastx"])
def test_empty_reads(tmp_path: Path, reader: str) -> None:
    mixed = extract(write(tmp_path, b"@r1\n\n+\n\n@r2\nAC\n+\nI5\n", name="mixed.fastq"), reader)
    assert (mixed.num_lines, features(mixed)["read_len"]) == (2, "1.0")
    assert mixed.qual_counts == reference_counts(b"@r2\nAC\n+\nI5\n")
    empty = extract(write(tmp_path, b"@r1\n\n+\n\n@r2\n\n+\n\n", name="empty.fastq"), reader)
    assert (empty.num_lines, features(empty)["read_len"], empty.qual_counts) == (2, "0.0", None)


# ---- interleaving -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "mates"),
    [
        (b"r7/1", b"r7/2", True),
        (b"A00910:85:HYG:1:1101:3025:1000 1:N:0:ATCACG", b"A00910:85:HYG:1:1101:3025:1000 2:N:0:ATCACG", True),
        (b"SRR001666.1 071112_SLXA-EAS1_s_7:5:1:817:345 length=72", b"SRR001666.1 071112 length=72", True),
        (b"r7/1\tcomment", b"r7/2", True),
        (b"r7/1", b"r7/1", False),
        (b"r7/2", b"r7/1", False),
        (b"r7 1:N:0:A", b"r7 1:N:0:A", False),
        (b"r7/1", b"r8/2", False),
        (b"r7", b"r7/2", False),
        (b"r7 1:N", b"r7/2", True),
    ],
)
def test_are_mates(first: bytes, second: bytes, mates: bool) -> None:
    assert are_mates(first, second) is mates


def pairs(matching: int, other: int) -> list[bytes]:
    headers = []
    for index in range(matching):
        headers += [b"m%d/1" % index, b"m%d/2" % index]
    for index in range(other):
        headers += [b"s%d" % (2 * index), b"s%d" % (2 * index + 1)]
    return headers


@pytest.mark.parametrize(
    ("headers", "interleaved"),
    [
        ([], False),
        ([b"r1/1"], False),
        ([b"r1/1", b"r1/2"], True),
        ([b"r1/1", b"r1/2", b"r2/1"], True),  # an odd last record is not a pair
        (pairs(900, 100), True),
        (pairs(899, 101), False),
        (pairs(900, 100) + pairs(0, 5000), True),  # only the first 1000 pairs are looked at
        (pairs(0, 1000), False),
    ],
)
def test_is_interleaved(headers: list[bytes], interleaved: bool) -> None:
    assert is_interleaved(headers) is interleaved


def test_casava_interleaved_file(tmp_path: Path) -> None:
    text = b"".join(
        b"@M1:1:FC:1:1:%d:9 %d:N:0:ACGT\nACGT\n+\nIIII\n" % (read, mate) for read in range(3) for mate in (1, 2)
    )
    assert features(extract(write(tmp_path, text)))["interleaved"] == "true"


# ---- bad input: one line on stderr, exit 2, the exact line, the other files still done --------

AT_HEADER = "expected a header line starting with '@', found "
PLUS = "expected a '+' line, found "
OUTSIDE = "is outside '!'..'~'"
BAD_CASES = {
    "header-without-at": (b"@r1\nACGT\n+\nIIII\nr2\nACGT\n+\nIIII\n", 5, AT_HEADER + "'r2'"),
    "missing-plus-line": (b"@r1\nACGT\nIIII\n@r2\nAC\n+\nII\n", 3, PLUS + "'IIII'"),
    "lengths-differ": (b"@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nIII\n", 8, "sequence has 4 bases but quality has 3 char"),
    "quality-space": (b"@r1\nACGT\n+\nII I\n", 4, f"quality character ' ' (byte 32) {OUTSIDE}"),
    "quality-del": (b"@r1\nACGT\n+\nIII\x7f\n", 4, f"quality character '\\x7f' (byte 127) {OUTSIDE}"),
    "quality-high": (b"@r1\nACGT\n+\nI\xffII\n", 4, f"quality character '\\xff' (byte 255) {OUTSIDE}"),
    "truncated-record": (b"@r1\nACGT\n+\nIIII\n@r2\nAC\n", 5, "truncated record: the file ends after 2 of its 4 lines"),
    "blank-line-inside": (b"@r1\nACGT\n+\nIIII\n\n@r2\nAC\n+\nII\n", 5, AT_HEADER + "an empty line"),
    "empty-plus-line": (b"@r1\nACGT\n\nIIII\n", 3, PLUS + "an empty line"),
    "long-line-cut-short": (b"@r1\nACGT\n" + b"A" * 500 + b"\nIIII\n", 3, PLUS + "'" + "A" * 40 + "...'"),
    "earliest-record-wins": (b"@r1\nACGT\n+\nIIII\n@r2\nAC\n+\nI \n@r3\nAC\nII\n", 8, "quality character ' '"),
    "wrapped-fastq": (b"@r1\nACGT\nAC\n+\nIIIIII\n", 3, PLUS + "'AC'"),
}


def assert_one_error(result: object, path: Path, line: int | None, problem: str) -> None:
    code, out, err = result.code, result.out, result.err  # type: ignore[attr-defined]
    assert code == 2
    # One line for the bad file (no traceback; a few named files get no batch summary).
    (message,) = err.splitlines()
    assert message.startswith(f"genotel: error: {path}: ")
    assert problem in message
    if line is not None:
        assert message.endswith(f" at line {line}")
    assert '"data_type": "FASTQ"' in out  # the good file of the same invocation was done


@pytest.mark.parametrize("codec", ["NONE", "GZ", "BGZF"])
@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input(tmp_path: Path, case: str, codec: str) -> None:
    text, line, problem = BAD_CASES[case]
    bad = write(tmp_path, text, codec)
    result = run_cli("record", bad, write(tmp_path, GOOD, name="good.fastq"), "--json")
    assert_one_error(result, bad, line, problem)


@pytest.mark.parametrize("case", ["header-without-at", "lengths-differ", "truncated-record", "quality-space"])
def test_bad_input_with_crlf_names_the_same_line(tmp_path: Path, case: str) -> None:
    text, line, problem = BAD_CASES[case]
    bad = write(tmp_path, text.replace(b"\n", b"\r\n"))
    assert_one_error(run_cli("record", bad, write(tmp_path, GOOD, name="good.fastq"), "--json"), bad, line, problem)


@pytest.mark.parametrize("chunk_bytes", [3, 17, 4 * 1024 * 1024])
def test_blank_lines_followed_by_more_records(tmp_path: Path, chunk_bytes: int) -> None:
    path = write(tmp_path, GOOD + b"\n\n\n\n\n\n" + GOOD)
    with pytest.raises(FormatError, match=r"at line 13$") as raised:
        read_all(path, chunk_bytes=chunk_bytes)
    assert "expected a header line starting with '@', found an empty line" in str(raised.value)


TWO_RECORDS = b"@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nIIII\n"
SECOND = TWO_RECORDS.index(b"@r2")


@pytest.mark.parametrize("cut", range(SECOND, len(TWO_RECORDS) + 1))
def test_every_truncation_point_of_the_last_record(tmp_path: Path, cut: int) -> None:
    part = TWO_RECORDS[SECOND:cut]
    lines = part.split(b"\n")[:-1] if part.endswith(b"\n") else part.split(b"\n") if part else []
    path = write(tmp_path, TWO_RECORDS[:cut], "GZ")
    result = run_cli("record", path, write(tmp_path, GOOD, name="good.fastq"), "--json")
    if not lines or (len(lines) == 4 and len(lines[3]) == 4):
        assert result.code == 0, result.err
        assert result.json()[0]["source"]["num_lines"] == (2 if lines else 1)  # type: ignore[index]
    elif len(lines) < 4:
        assert_one_error(result, path, 5, f"truncated record: the file ends after {len(lines)} of its 4 lines")
    else:
        assert_one_error(result, path, 8, f"sequence has 4 bases but quality has {len(lines[3])} characters")


@pytest.mark.parametrize("keep", [0.5, -8, -1])
def test_truncated_gzip(tmp_path: Path, keep: float) -> None:
    text = (FIXTURES / "reads_interleaved.fastq").read_bytes()
    packed = gzip.compress(text, mtime=0)
    size = int(len(packed) * keep) if keep > 0 else len(packed) + int(keep)
    path = tmp_path / "cut.fastq.gz"
    path.write_bytes(packed[:size])
    with pytest.raises(FormatError, match="truncated or corrupt compressed data"):
        extract(path, "numpy")
    # pyfastx stops silently, sometimes inside a record; the fallback still refuses the file.
    with pytest.raises(FormatError):
        extract(path, "pyfastx")
    result = run_cli("record", path, write(tmp_path, GOOD, name="good.fastq"), "--json")
    assert_one_error(result, path, None, "truncated or corrupt compressed data")


@pytest.mark.parametrize("keep", [0.5, -29, -1])  # -28 (no end-of-file block) is read: test_lenient.py
def test_truncated_bgzf(tmp_path: Path, keep: float) -> None:
    whole = write(tmp_path, (FIXTURES / "reads_interleaved.fastq").read_bytes(), "BGZF", "whole.fastq")
    packed = whole.read_bytes()
    size = int(len(packed) * keep) if keep > 0 else len(packed) + int(keep)
    path = tmp_path / "cut.fastq.gz"
    path.write_bytes(packed[:size])
    problem = "truncated or corrupt compressed data"
    assert_one_error(run_cli("record", path, write(tmp_path, GOOD, name="good.fastq"), "--json"), path, None, problem)
