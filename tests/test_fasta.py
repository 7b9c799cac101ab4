"""FASTA: counts, alphabet, agreement with pyfastx, the .fai rules, probe streams, bad input, nothing written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pyfastx
import pysam
import pytest
import zstandard

from genotel.engine import extract, make_record
from genotel.extractors.fasta.extractor import (
    ALPHABET_SAMPLE_BYTES,
    AMINO_ACIDS,
    NUCLEOTIDE,
    STREAM_NAMES,
    FastaCounts,
    FastaExtractor,
    FastaParser,
    alphabet_item,
)
from genotel.extractors.fasta.index import FaiEntry, read_fai
from genotel.options import DEFAULT_CODEC_LEVEL, Options
from genotel.record import render_fields_gain
from genotel.sniff import sniff
from genotel.stats.gain import GainProbe
from genotel.stats.text_streams import add_grouped, group_ranges
from genotel.textio import line_batches

from conftest import FIXTURES, assert_fields_gain_contract, run_cli

FASTA_FIXTURES = ["ref.fa", "proteins.faa", "ref_gzip.fa.gz", "ref_bgzf.fa.gz"]


def write(tmp_path: Path, text: str | bytes, name: str = "in.fa") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def record_of(path: Path, gain: bool = True) -> dict[str, object]:
    return make_record(path, Options(gain=gain)).to_dict()


def uses_index(path: Path, gain: bool = False) -> bool:
    """Whether the .fai shortcut is taken (only ever with --no-gain: the probe needs every byte)."""
    with FastaExtractor().open(path, sniff(path), Options(gain=gain)) as reading:
        return reading.index is not None


def pyfastx_totals(path: Path) -> tuple[int, int]:
    """The reference: sequences and bases as pyfastx counts them (iteration builds no index)."""
    sequences = bases = 0
    for _name, sequence in pyfastx.Fastx(str(path)):
        sequences += 1
        bases += len(sequence)
    return sequences, bases


# ---- counts and features ---------------------------------------------------------------------


@pytest.mark.parametrize("name", FASTA_FIXTURES)
def test_counts_agree_with_pyfastx(tmp_path: Path, name: str) -> None:
    # a copy, so that pyfastx could not leave anything in fixtures/ either
    path = tmp_path / name
    shutil.copy(FIXTURES / name, path)
    record = record_of(path)
    sequences, bases = pyfastx_totals(path)
    assert record["features"].startswith(f"ref_contigs={sequences} ({bases});")  # type: ignore[union-attr]
    assert record["source"]["num_lines"] == sequences  # type: ignore[index]
    assert sorted(item.name for item in tmp_path.iterdir()) == [name]  # pyfastx.Fastx wrote no index


def test_fixture_features() -> None:
    assert record_of(FIXTURES / "ref.fa")["features"] == "ref_contigs=2 (45000);Nucleotide_bases=true;"
    assert record_of(FIXTURES / "proteins.faa")["features"] == "ref_contigs=40 (13210);Amino_acids=true;"


@pytest.mark.parametrize("name", ["ref_gzip.fa.gz", "ref_bgzf.fa.gz"])
def test_compressed_copy_gives_the_same_counts_and_the_text_size(name: str) -> None:
    plain, packed = record_of(FIXTURES / "ref.fa"), record_of(FIXTURES / name)
    assert packed["features"] == plain["features"]
    assert packed["source"]["txt_size"] == (FIXTURES / "ref.fa").stat().st_size  # type: ignore[index]
    assert packed["source"]["codec"] == ("GZ" if "gzip" in name else "BGZF")  # type: ignore[index]


def test_programs_and_qual_acgt_are_null() -> None:
    record = record_of(FIXTURES / "ref.fa")
    assert (record["programs"], record["qual_acgt"]) == (None, None)


def test_bases_exclude_line_ends_and_whitespace_but_not_gaps_or_stops(tmp_path: Path) -> None:
    text = ">a desc with spaces\r\nAC GT\r\nN-*\r\n\n>empty\n>b\nac\tgt\n;comment line\nTT"
    record = record_of(write(tmp_path, text))
    assert record["features"] == "ref_contigs=3 (13);Nucleotide_bases=true;"
    assert record["source"]["txt_size"] == len(text)  # type: ignore[index]
    assert record["source"]["num_lines"] == 3  # type: ignore[index]


def test_a_byte_order_mark_is_not_sequence_data(tmp_path: Path) -> None:
    record = record_of(write(tmp_path, "\ufeff>a\nACGT\n"))
    assert record["features"] == "ref_contigs=1 (4);Nucleotide_bases=true;"


def test_semicolon_comments_and_blank_lines_before_the_first_header(tmp_path: Path) -> None:
    record = record_of(write(tmp_path, ";old-style comment\n\n \n>a\nACGT\n"))
    assert record["features"] == "ref_contigs=1 (4);Nucleotide_bases=true;"


# ---- alphabet --------------------------------------------------------------------------------


def histogram(text: bytes) -> np.ndarray:
    return np.bincount(np.frombuffer(text, dtype=np.uint8), minlength=256)


@pytest.mark.parametrize(
    ("sequence", "item"),
    [
        (b"ACGTACGTNN", NUCLEOTIDE),
        (b"acgtacgtnn", NUCLEOTIDE),  # soft-masked
        (b"ACGUACGUAC", NUCLEOTIDE),  # RNA
        (b"ACGTACGTACGTACGTACGR" + b"-" * 50, NUCLEOTIDE),  # 5 % ambiguity codes; gaps are not letters
        (b"ACGTACGTR", AMINO_ACIDS),  # 11 % other letters: over the 10 % limit
        (b"MTQFASPVLHSLLDTDAYKLHMQQAVFHHYYDVHV*", AMINO_ACIDS),
        (b"-*.", NUCLEOTIDE),  # no letters at all
    ],
)
def test_alphabet_item(sequence: bytes, item: tuple[str, str]) -> None:
    assert alphabet_item(histogram(sequence)) == item


def test_alphabet_is_sampled_from_the_first_mebibyte(tmp_path: Path) -> None:
    nucleotides = ">n\n" + ("ACGT" * 15 + "\n") * (ALPHABET_SAMPLE_BYTES // 60 + 10)
    proteins = ">p\n" + ("MKLW" * 15 + "\n") * (ALPHABET_SAMPLE_BYTES // 30)  # twice as many letters
    assert record_of(write(tmp_path, nucleotides + proteins))["features"].endswith(";Nucleotide_bases=true;")  # type: ignore[union-attr]
    assert record_of(write(tmp_path, proteins + nucleotides))["features"].endswith(";Amino_acids=true;")  # type: ignore[union-attr]


@pytest.mark.parametrize("chunk_bytes", [7, 100, 5000])
def test_small_chunks_give_the_same_counts(chunk_bytes: int) -> None:
    path = FIXTURES / "proteins.faa"

    def counts(size: int) -> FastaCounts:
        parser, total = FastaParser(path), FastaCounts()
        for lines in line_batches(path, "NONE", size):
            total.add(parser.parse(lines))
        return total

    small, whole = counts(chunk_bytes), counts(1 << 22)
    assert (small.sequences, small.bases, small.text_size) == (whole.sequences, whole.bases, whole.text_size)
    assert np.array_equal(small.letters, whole.letters)
    assert (whole.sequences, whole.bases) == pyfastx_totals(path)


# ---- .fai ------------------------------------------------------------------------------------


@pytest.fixture
def indexed(tmp_path: Path) -> Path:
    """A copy of ref.fa with its .fai, the index one second newer than the FASTA."""
    fasta, index = tmp_path / "ref.fa", tmp_path / "ref.fa.fai"
    shutil.copy(FIXTURES / "ref.fa", fasta)
    shutil.copy(FIXTURES / "ref.fa.fai", index)
    stamp = fasta.stat().st_mtime
    os.utime(index, (stamp + 1, stamp + 1))
    return fasta


def test_fresh_valid_index_is_used(indexed: Path) -> None:
    assert read_fai(indexed) == [FaiEntry("ec536_a", 25000, 58, 60, 61), FaiEntry("ec536_b", 20000, 25533, 60, 61)]
    assert uses_index(indexed)
    assert record_of(indexed, gain=False)["features"] == record_of(FIXTURES / "ref_gzip.fa.gz")["features"]
    assert record_of(indexed, gain=False)["source"]["num_lines"] == 2  # type: ignore[index]


def test_index_as_old_as_the_fasta_is_fresh(indexed: Path) -> None:
    stamp = indexed.stat().st_mtime_ns
    os.utime(Path(f"{indexed}.fai"), ns=(stamp, stamp))
    assert uses_index(indexed)


def test_stale_index_is_not_used(indexed: Path) -> None:
    stamp = indexed.stat().st_mtime
    os.utime(Path(f"{indexed}.fai"), (stamp - 10, stamp - 10))
    assert read_fai(indexed) is None
    assert not uses_index(indexed)
    assert record_of(indexed, gain=False)["features"] == "ref_contigs=2 (45000);Nucleotide_bases=true;"


INVALID_INDEXES = [
    "ec536_a\t25000\t58\t60\t61\n",  # one sequence missing
    "ec536_a\t25000\t58\t60\t61\nec536_x\t20000\t25533\t60\t61\n",  # a wrong name
    "ec536_a\t25001\t58\t60\t61\nec536_b\t20000\t25533\t60\t61\n",  # a wrong length
    "ec536_a\t25000\t58\t60\t61\nec536_b\t19999\t25533\t60\t61\n",  # the last length wrong
    "ec536_a\t25000\t58\t50\t51\nec536_b\t20000\t25533\t60\t61\n",  # a wrong line size
    "ec536_a\t25000\t57\t60\t61\nec536_b\t20000\t25533\t60\t61\n",  # a wrong offset
    "ec536_a\t25000\t58\t60\t61\t62\nec536_b\t20000\t25533\t60\t61\t62\n",  # six columns (FASTQ index)
    "ec536_a\t25000\t58\t60\n",  # four columns
    "ec536_a\tmany\t58\t60\t61\n",  # not a number
    "",  # empty
    "\x00\xff binary",
]


@pytest.mark.parametrize("text", INVALID_INDEXES)
def test_invalid_index_is_not_used(indexed: Path, text: str) -> None:
    index = Path(f"{indexed}.fai")
    stamp = index.stat().st_mtime
    index.write_bytes(text.encode("latin-1"))
    os.utime(index, (stamp, stamp))
    assert read_fai(indexed) is None
    assert record_of(indexed, gain=False)["features"] == "ref_contigs=2 (45000);Nucleotide_bases=true;"


def test_index_of_an_edited_fasta_is_not_used(indexed: Path) -> None:
    # One base more in the last line of ec536_a: same names, same mtime order, wrong layout.
    text = indexed.read_text().replace("\n>ec536_b", "A\n>ec536_b")
    stamp = Path(f"{indexed}.fai").stat().st_mtime
    indexed.write_text(text)
    os.utime(indexed, (stamp - 1, stamp - 1))
    assert read_fai(indexed) is None
    assert record_of(indexed, gain=False)["features"] == "ref_contigs=2 (45001);Nucleotide_bases=true;"


def test_index_made_by_samtools_on_crlf_and_unterminated_files(tmp_path: Path) -> None:
    line = "ACGT" * 15
    cases = [(">a x\r\n" + (line + "\r\n") * 300 + "AC\r\n", 18002), (">a\n" + (line + "\n") * 300 + "ACG", 18003)]
    for text, bases in cases:
        fasta = write(tmp_path, text)
        Path(f"{fasta}.fai").unlink(missing_ok=True)
        pysam.samtools.faidx(str(fasta))  # samtools, bundled with pysam
        assert uses_index(fasta)
        assert record_of(fasta, gain=False)["features"] == f"ref_contigs=1 ({bases});Nucleotide_bases=true;"
        Path(f"{fasta}.fai").unlink()
        assert record_of(fasta)["features"] == f"ref_contigs=1 ({bases});Nucleotide_bases=true;"  # the pass agrees


def test_the_probe_reads_the_file_even_with_a_fresh_index(indexed: Path) -> None:
    assert uses_index(indexed, gain=False)
    assert not uses_index(indexed, gain=True)
    probed, shortcut = record_of(indexed), record_of(indexed, gain=False)
    assert probed["features"] == shortcut["features"]
    assert str(probed["fields_gain"]).startswith("SEQ,")
    assert (shortcut["fields_gain"], shortcut["genozip_gain"]) == (None, None)
    assert "codec=none" in str(shortcut["flags"])


def test_index_of_many_short_sequences_is_not_worth_it(tmp_path: Path) -> None:
    fasta = write(tmp_path, "".join(f">r{i}\nACGTACGT\n" for i in range(100)))
    pysam.samtools.faidx(str(fasta))  # samtools, bundled with pysam
    assert not uses_index(fasta)  # checking 100 entries costs more than reading 1.5 kB
    assert record_of(fasta)["features"] == "ref_contigs=100 (800);Nucleotide_bases=true;"


# ---- the probe's streams -----------------------------------------------------------------------


def reference_streams(text: bytes) -> dict[str, bytes]:
    """The streams as the module docstring defines them, line by line in plain Python."""
    streams: dict[str, bytearray] = {"Other": bytearray(), "DESC": bytearray(), "SEQ": bytearray()}
    if text.startswith(b"\xef\xbb\xbf"):
        streams["Other"] += text[:3]
        text = text[3:]
    for line in text.splitlines(keepends=True):
        body = line.rstrip(b"\r\n")
        name = "DESC" if body.startswith(b">") else "Other" if not body or body.startswith(b";") else "SEQ"
        streams[name] += body
        streams["Other"] += line[len(body) :]
    return {name: bytes(value) for name, value in streams.items() if value}


def probe_streams(path: Path) -> dict[str, tuple[int, int]]:
    extraction = extract(path, Options())
    assert extraction.streams is not None
    return {name: (text, compressed) for name, text, compressed in extraction.streams}


@pytest.mark.parametrize("name", FASTA_FIXTURES)
def test_streams_hold_every_byte_as_defined(name: str) -> None:
    path = FIXTURES / name
    text = (FIXTURES / "ref.fa" if name.endswith(".gz") else path).read_bytes()
    expected = reference_streams(text)
    compressor = zstandard.ZstdCompressor(level=DEFAULT_CODEC_LEVEL, write_checksum=False, write_content_size=False)
    got = probe_streams(path)
    assert got == {key: (len(value), len(compressor.compress(value))) for key, value in expected.items()}
    record = record_of(path)
    assert_fields_gain_contract(record, got)
    assert (record["fields_gain"], record["genozip_gain"]) == render_fields_gain(
        (key, text, compressed) for key, (text, compressed) in got.items()
    )
    assert str(record["flags"]).startswith(f"codec=zstd-{DEFAULT_CODEC_LEVEL}; ")
    assert record["hash_issues"] == []  # FASTA has no dictionary field


def test_streams_of_headers_comments_crlf_and_a_byte_order_mark(tmp_path: Path) -> None:
    text = b"\xef\xbb\xbf;comment\r\n>a desc\r\nAC GT\r\n\r\n>b\nNN\n;x\nTT"
    sizes = {key: text for key, (text, _) in probe_streams(write(tmp_path, text)).items()}
    # Other: the mark, ';comment\r\n', three '\r\n', two '\n', ';x\n'
    assert sizes == {"Other": 3 + 10 + 3 * 2 + 2 * 1 + 3, "DESC": 7 + 2, "SEQ": 5 + 2 + 2}
    assert sum(sizes.values()) == len(text)
    assert sizes == {key: len(value) for key, value in reference_streams(text).items()}


@pytest.mark.parametrize("chunk_bytes", [7, 100, 5000])
def test_streams_do_not_depend_on_chunk_boundaries(chunk_bytes: int) -> None:
    path = FIXTURES / "proteins.faa"
    parser, probe = FastaParser(path, streams=True), GainProbe()
    for lines in line_batches(path, "NONE", chunk_bytes):
        batch = parser.parse(lines)
        assert batch.ranges is not None and batch.data is not None
        add_grouped(probe, group_ranges(batch.data, *batch.ranges, len(STREAM_NAMES)), STREAM_NAMES)
    small = {size.name: (size.text_size, size.compressed_size) for size in probe.result()}
    assert small == probe_streams(path)


def test_no_gain_leaves_the_probe_out() -> None:
    result = run_cli("record", FIXTURES / "ref_bgzf.fa.gz", "--json", "--no-gain")
    assert result.code == 0
    record = result.json()
    assert (record["fields_gain"], record["genozip_gain"]) == (None, None)  # type: ignore[index]
    assert record["features"] == "ref_contigs=2 (45000);Nucleotide_bases=true;"  # type: ignore[index]


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (";comment\nACGT\n>a\nACGT\n", 2),
        (";comment\n;more\n\n  \nNNNN\n>a\n", 5),  # blank and whitespace-only lines are skipped
    ],
)
def test_sequence_before_the_first_header(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    assert sniff(path).data_type == "FASTA"  # a `;` first line is FASTA to the sniffer
    result = run_cli("record", path)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.rstrip().endswith(f"sequence data before the first '>' header line at line {line}")


@pytest.mark.parametrize(("text", "line"), [("ACGT\n>a\n", 1), ("\n\nACGT\n>a\n", 3), ("\n" * 3000 + "A\n>a\n", 3001)])
def test_sequence_before_the_first_header_in_the_parser(tmp_path: Path, text: str, line: int) -> None:
    # The sniffer already refuses these as FASTA; the parser must still not count them.
    path = write(tmp_path, text)
    parser = FastaParser(path)
    with pytest.raises(Exception, match=f"sequence data before the first '>' header line at line {line}$"):
        for lines in line_batches(path, "NONE", 64):
            parser.parse(lines)


@pytest.mark.parametrize(("keep_bytes", "line"), [(500, 18), (5000, 264)])
def test_truncated_bgzf(tmp_path: Path, keep_bytes: int, line: int) -> None:
    path = write(tmp_path, (FIXTURES / "ref_bgzf.fa.gz").read_bytes()[:keep_bytes], "cut.fa.gz")
    result = run_cli("record", path)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "truncated or corrupt compressed data" in result.err and result.err.endswith(f" at line {line}\n")


@pytest.mark.parametrize("keep_bytes", [500, 10000])
def test_truncated_gzip(tmp_path: Path, keep_bytes: int) -> None:
    path = write(tmp_path, (FIXTURES / "ref_gzip.fa.gz").read_bytes()[:keep_bytes], "cut.fa.gz")
    result = run_cli("record", path)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "truncated or corrupt compressed data" in result.err


def test_other_files_still_run_after_a_bad_one(tmp_path: Path) -> None:
    bad = write(tmp_path, (FIXTURES / "ref_gzip.fa.gz").read_bytes()[:3000], "bad.fa.gz")
    result = run_cli("record", bad, FIXTURES / "proteins.faa", "--json")
    assert result.code == 2
    assert result.json()["features"] == "ref_contigs=40 (13210);Amino_acids=true;"  # type: ignore[index]


# ---- nothing beside the input -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["ref.fa", "proteins.faa", "ref_bgzf.fa.gz"])
def test_no_index_or_other_file_is_written_beside_the_input(tmp_path: Path, name: str) -> None:
    shutil.copy(FIXTURES / name, tmp_path / name)
    assert run_cli("record", tmp_path / name).code == 0
    assert [path.name for path in tmp_path.iterdir()] == [name]


def test_an_existing_index_is_left_as_it_is(indexed: Path) -> None:
    index = Path(f"{indexed}.fai")
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    assert run_cli("record", indexed).code == 0
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before
    assert sorted(path.name for path in indexed.parent.iterdir()) == ["ref.fa", "ref.fa.fai"]
