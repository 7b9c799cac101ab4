"""BED: counts, contigs and sort order against bedtools/coreutils figures, header programs, the
probe's streams against a plain Python split, bad lines, --sample, and chunk boundaries."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from genotel.engine import extract
from genotel.extractors.base import BGZF_EOF
from genotel.extractors.bed import extractor as bed_extractor
from genotel.extractors.bed.header import line_programs
from genotel.extractors.bed.parse import BedParser, split_header
from genotel.extractors.bed.tally import BedTally
from genotel.options import Options
from genotel.sniff import sniff
from genotel.textio import read_chunks

from conftest import FIXTURES, assert_streams_hold_every_byte, features, record_of, run_cli, text_of

COLUMNS = ("CHROM", "START", "END", "NAME", "SCORE", "STRAND", "THICK_START", "THICK_END", "RGB", "BLOCK_COUNT",
           "BLOCK_SIZES", "BLOCK_STARTS")  # fmt: skip

# Figures from the tools, on the fixtures (LC_ALL=C):
#   zcat aln_bwa.bed.gz | wc -l; samtools view -c -F 4 aln_bwa.bam             -> 6722, 6722
#   zcat F | cut -f1 | sort -u | wc -l                                          -> contigs
#   grep -v '^track' F | sort -c -s -k1,1 -k2,2n                                -> sorted or "disorder"
FIGURES = {
    "aln_bwa.bed.gz": (6722, 6, 2, "lexicographic", "BGZF"),
    "aln_bwa.bed12.gz": (6722, 12, 2, "lexicographic", "GZ"),
    "aln_qname.bed": (1000, 6, 1, "none", "NONE"),  # sort -c: disorder at line 2
    "coverage.bedgraph": (2000, 4, 1, "lexicographic", "NONE"),
    "windows.bed": (45, 4, 2, "genome", "NONE"),  # sort -c: disorder at line 21 (ec536_b before ec536_a)
    # MACS3's own test outputs (fixtures/public/): BED6+4 and BED12+3, the columns after the 12th in Other.
    "public/macs3_narrow_peaks.narrowPeak": (730, 10, 1, "lexicographic", "NONE"),
    "public/macs3_broad_peaks.gappedPeak": (746, 15, 1, "lexicographic", "NONE"),
}



def data_lines(text: bytes) -> list[bytes]:
    return [line for line in text.split(b"\n") if line and not line.startswith((b"#", b"track", b"browser"))]


def write(tmp_path: Path, text: str | bytes, name: str = "x.bed") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_counts_contigs_and_order_agree_with_the_tools(name: str) -> None:
    lines, columns, contigs, order, codec = FIGURES[name]
    path = FIXTURES / name
    assert sniff(path).data_type == "BED" and sniff(path).codec == codec
    record = record_of(path)
    assert features(record) == {
        "num_lines": str(lines), "columns": str(columns), "contigs": str(contigs), "sorted_by": order,
    }  # fmt: skip
    assert record["source"]["num_lines"] == lines  # type: ignore[index]
    assert record["source"]["txt_size"] == len(text_of(path))  # type: ignore[index]
    # The same figures from a plain Python reading of the text.
    rows = [line.split(b"\t") for line in data_lines(text_of(path))]
    assert (len(rows), {len(row) for row in rows}, len({row[0] for row in rows})) == (lines, {columns}, contigs)
    assert record["programs"] is None and record["qual_acgt"] is None


def test_bedtools_bamtobed_has_one_line_per_mapped_record() -> None:
    # samtools view -c -F 4 aln_bwa.bam -> 6722; the NAME column holds the read name and its mate.
    rows = [line.split(b"\t") for line in data_lines(text_of(FIXTURES / "aln_bwa.bed.gz"))]
    mates = Counter(row[3].rsplit(b"/", 1)[1] for row in rows)
    assert len(rows) == 6722 and mates == {b"1": 3361, b"2": 3361}


# ---- sort order -------------------------------------------------------------------------------

ORDERS = [
    ("a\t1\t2\na\t1\t3\na\t5\t6\nb\t0\t1\n", "lexicographic"),
    ("chr10\t5\t6\nchr2\t0\t1\n", "lexicographic"),  # byte order, as sort -k1,1 (and bedtools sort) order it
    ("chr2\t5\t6\nchr10\t0\t1\n", "genome"),  # a genome file's order, as bedtools sort -g gives it
    ("b\t0\t1\na\t5\t6\nb\t7\t8\n", "none"),  # b comes back
    ("a\t5\t6\na\t1\t2\n", "none"),  # start goes down
    ("a\t1\t2\n", "lexicographic"),
]


@pytest.mark.parametrize(("text", "order"), ORDERS)
def test_sort_order(tmp_path: Path, text: str, order: str) -> None:
    path = write(tmp_path, "track name=x\n" + text)
    assert features(record_of(path))["sorted_by"] == order


@pytest.mark.parametrize("boundary", [1, 2, 3])
def test_order_across_chunk_boundaries(tmp_path: Path, boundary: int) -> None:
    # a b a: sorted within each chunk, the revisit only seen across them.
    lines = [b"a\t1\t2\n", b"a\t3\t4\n", b"b\t0\t1\n", b"a\t5\t6\n"]
    parser = BedParser(tmp_path / "x.bed")
    tally = BedTally()
    for chunk in (b"".join(lines[:boundary]), b"".join(lines[boundary:])):
        tally.add(parser.parse(chunk), 0)
    assert (tally.order.sorted_by(), len(tally.order.distinct), tally.order.runs) == ("none", 2, 3)


# ---- header lines and programs ----------------------------------------------------------------


def test_header_lines_are_txt_header_and_later_ones_other(tmp_path: Path) -> None:
    header = 'browser position chr1:1-100\ntrack name="peaks" description="called"\n# a comment\n\n'
    path = write(tmp_path, header + "chr1\t1\t5\tp1\n#later\nchr1\t6\t9\tp2\n")
    streams = {name: text for name, text, _ in extract(path, Options()).streams or []}
    assert streams["TXT_HEADER"] == len(header)
    assert streams["Other"] == len("\t\t\t\n#later\n\t\t\t\n")
    assert features(record_of(path))["num_lines"] == "2"


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ('track type="bedGraph" description="CpG methylation levels"', ["MethylDackel"]),  # MethylDackel's own line
        ("# generated by bedtools genomecov -bg", ["bedtools"]),
        ("#gffTags", []),
        ('track name="sample1" description="peaks"', []),  # a user's words name no program
        ("# peaks called by MACS2 2.2.7.1", ["MACS"]),
        ("track type=narrowPeak name=macs2_peaks", []),  # a track name is the user's word
    ],
)
def test_programs_from_header_lines(line: str, names: list[str]) -> None:
    assert line_programs(line.encode()) == names


def test_programs_in_the_record(tmp_path: Path) -> None:
    text = 'track type="bedGraph" description="CHG methylation levels"\nc\t0\t1\t50\n# bedtools\nc\t1\t2\t5\n'
    assert record_of(write(tmp_path, text))["programs"] == "MethylDackel;bedtools;"


def test_a_header_without_data_lines_is_no_known_format(tmp_path: Path) -> None:
    # Nothing in it says BED: the sniffer decides on the first data line.
    result = run_cli("record", write(tmp_path, "track name=x\nbrowser hide all\n"))
    assert result.code == 2 and "unknown format" in result.err


def test_split_header_keeps_the_rest_of_its_chunk() -> None:
    chunks = iter([b"#a\n#b\n", b"track x\nc\t0\t1\nc\t1\t2\n", b"c\t2\t3\n"])
    assert split_header(chunks) == (b"#a\n#b\ntrack x\n", b"c\t0\t1\nc\t1\t2\n")
    assert list(chunks) == [b"c\t2\t3\n"]


# ---- the probe's streams ----------------------------------------------------------------------


def reference_streams(text: bytes) -> dict[str, bytes]:
    """The streams by docs/record.md, split in plain Python: TXT_HEADER before the first data line,
    columns 1-12 by name, everything else Other."""
    out: dict[str, bytearray] = {"TXT_HEADER": bytearray(), "Other": bytearray()}
    seen_data = False
    for line in text.splitlines(keepends=True):
        body = line.rstrip(b"\r\n")
        ending = line[len(body) :]
        if not body or body.startswith((b"#", b"track", b"browser")):
            out["Other" if seen_data else "TXT_HEADER"] += line
            continue
        seen_data = True
        columns = body.split(b"\t")
        for name, value in zip(COLUMNS, columns, strict=False):
            out.setdefault(name, bytearray()).extend(value)
        out["Other"] += b"\t" * min(len(columns) - 1, 11)
        if len(columns) > 12:
            out["Other"] += b"\t" + b"\t".join(columns[12:])
        out["Other"] += ending
    return {name: bytes(value) for name, value in out.items() if value}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_streams_hold_every_byte_as_defined(name: str) -> None:
    path = FIXTURES / name
    assert_streams_hold_every_byte(path, reference_streams(text_of(path)))


def test_columns_after_the_twelfth_and_crlf_are_other(tmp_path: Path) -> None:
    line = "\t".join(["c", "0", "9", "n", "0", "+", "0", "9", "0", "1", "9,", "0,", "x", "y"]) + "\r\n"
    path = write(tmp_path, line * 3)
    got = {stream: size for stream, size, _ in extract(path, Options()).streams or []}
    assert got == {name: len(value) for name, value in reference_streams(path.read_bytes()).items()}
    assert got["Other"] == 3 * len("\t" * 11 + "\tx\ty\r\n")


def test_no_gain_gives_no_streams() -> None:
    record = record_of(FIXTURES / "aln_bwa.bed.gz", gain=False)
    assert record["fields_gain"] is None and record["genozip_gain"] is None


# ---- hash_issues and --sample -----------------------------------------------------------------


def test_unique_names_within_the_table_model() -> None:
    # 6,722 distinct read names in 6,722 lines: a table of 5 x 6,722 entries is not overfull.
    assert record_of(FIXTURES / "aln_bwa.bed.gz")["hash_issues"] == []


def test_names_unique_after_the_model_records_are_reported(tmp_path: Path) -> None:
    lines = [f"c\t{i}\t{i + 1}\tsame\n" for i in range(10_000)]
    lines += [f"c\t{i}\t{i + 1}\tp{i}\n" for i in range(10_000, 10_100)]
    record = record_of(write(tmp_path, "".join(lines)))
    assert record["hash_issues"] == ["NAME,,8 B,1262%,same,p10000,p10001,p10097,p10098,p10099"]
    sampled = record_of(write(tmp_path, "".join(lines)), sample=10_000)
    assert sampled["hash_issues"] == [] and features(sampled)["num_lines"] == "10100"


def test_bed3_has_no_name_field(tmp_path: Path) -> None:
    lines = [f"c\t{i}\t{i + 1}\n" for i in range(100)]
    assert record_of(write(tmp_path, "".join(lines)))["hash_issues"] == []


# ---- bad input --------------------------------------------------------------------------------

GOOD = "chr1\t10\t20\tn\t0\t+\n"
NINETEEN = "9" * 19  # digits: more than an int64 holds
NOT_A_COORDINATE = "is not an unsigned integer of at most 18 digits"
BAD_LINES = [
    ("chr1\t30\t20\tn\t0\t+\n", "start (column 2) is greater than end (column 3)"),
    ("chr1\t1x\t20\tn\t0\t+\n", "start (column 2) is not an unsigned integer of at most 18 digits: '1x'"),
    ("chr1\t-5\t20\tn\t0\t+\n", "start (column 2) is not an unsigned integer of at most 18 digits: '-5'"),
    ("chr1\t10\t2e3\tn\t0\t+\n", "end (column 3) is not an unsigned integer of at most 18 digits: '2e3'"),
    (f"chr1\t10\t{NINETEEN}\tn\t0\t+\n", f"end (column 3) {NOT_A_COORDINATE}: '{NINETEEN}'"),
    ("chr1\t10\t20\tn\n", "BED line has 4 tab-separated columns, the lines before have 6"),
    ("chr1\t10\t20\tn\t0\t+\textra\n", "BED line has 7 tab-separated columns, the lines before have 6"),
    ("chr1 10 20\n", "BED line has 1 tab-separated column, expected at least 3"),
    ("\t10\t20\tn\t0\t+\n", "the contig (column 1) is empty"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_bad_line(tmp_path: Path, bad: str, message: str) -> None:
    path = write(tmp_path, "track name=t\n" + GOOD + "# note\n" + GOOD + bad + GOOD)
    result = run_cli("record", path, "--json")
    assert (result.code, result.err.count("\n")) == (2, 1)
    assert str(path) in result.err and result.err.rstrip().endswith(f"{message} at line 5")


@pytest.mark.parametrize("line_number", [1, 2, 900, 1999])
def test_bad_line_beyond_the_first_chunk(tmp_path: Path, line_number: int, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [GOOD] * 2000
    lines[line_number - 1] = "chr1\t30\t20\tn\t0\t+\n"
    path = write(tmp_path, "".join(lines))
    monkeypatch.setattr(bed_extractor, "read_chunks", lambda path, codec: read_chunks(path, codec, 4096))
    result = run_cli("record", path)
    assert result.code == 2
    assert result.err.rstrip().endswith(f"start (column 2) is greater than end (column 3) at line {line_number}")


def test_a_bed_from_a_real_tool_made_bad(tmp_path: Path) -> None:
    # aln_qname.bed with its line 700's start and end swapped.
    lines = (FIXTURES / "aln_qname.bed").read_bytes().splitlines(keepends=True)
    columns = lines[699].split(b"\t")
    columns[1], columns[2] = columns[2], columns[1]
    lines[699] = b"\t".join(columns)
    result = run_cli("record", write(tmp_path, b"".join(lines)), "--json")
    assert (result.code, result.err.count("\n")) == (2, 1)
    assert result.err.rstrip().endswith("start (column 2) is greater than end (column 3) at line 700")


@pytest.mark.parametrize("keep_bytes", [3000, 30000])
def test_truncated_bgzf(tmp_path: Path, keep_bytes: int) -> None:
    path = write(tmp_path, (FIXTURES / "aln_bwa.bed.gz").read_bytes()[:keep_bytes], "cut.bed.gz")
    result = run_cli("record", path)
    assert (result.code, result.err.count("\n")) == (2, 1)
    assert "truncated or corrupt compressed data" in result.err


# ---- chunks, CRLF, compression ----------------------------------------------------------------


@pytest.mark.parametrize("chunk_bytes", [64, 1000, 50_000])
def test_chunk_size_changes_nothing(monkeypatch: pytest.MonkeyPatch, chunk_bytes: int) -> None:
    path = FIXTURES / "coverage.bedgraph"
    whole = extract(path, Options())
    monkeypatch.setattr(bed_extractor, "read_chunks", lambda path, codec: read_chunks(path, codec, chunk_bytes))
    small = extract(path, Options())
    assert (small.features, small.txt_size, small.hash_issues) == (whole.features, whole.txt_size, whole.hash_issues)
    sizes = [{name: size for name, size, _ in extraction.streams or []} for extraction in (small, whole)]
    assert sizes[0] == sizes[1]


def test_crlf_changes_nothing_but_sizes(tmp_path: Path) -> None:
    text = (FIXTURES / "aln_qname.bed").read_bytes()
    unix = record_of(write(tmp_path, text, "a.bed"))
    dos = record_of(write(tmp_path, text.replace(b"\n", b"\r\n"), "b.bed"))
    assert unix["features"] == dos["features"]
    assert dos["source"]["txt_size"] == unix["source"]["txt_size"] + 1000  # type: ignore[index]


def test_merged_parts_equal_one_pass() -> None:
    path = FIXTURES / "aln_qname.bed"
    text = path.read_bytes()
    cut = text.index(b"\n", len(text) // 2) + 1
    parser = BedParser(path)
    first, second = parser.parse(text[:cut]), parser.parse(text[cut:])
    whole, part_1, part_2 = BedTally(), BedTally(), BedTally()
    for batch in (first, second):
        whole.add(batch, len(batch))
    part_1.add(first, len(first))
    part_2.add(second, len(second))
    part_1.merge(part_2)
    for tally in (whole, part_1):
        counts = (tally.records, tally.text_size, tally.order.sorted_by(), tally.names.distinct)
        assert counts == (1000, len(text), "none", 1000)


def test_sniffed_by_content_not_name(tmp_path: Path) -> None:
    text = (FIXTURES / "windows.bed").read_bytes()
    assert sniff(write(tmp_path, text, "windows.gff")).data_type == "BED"
    # A BED9 whose name and score are numbers is not GFF (its columns 2 and 3 are coordinates).
    assert sniff(write(tmp_path, b"c1\t0\t100\t5\t0\t+\t0\t100\t255,0,0\n", "x.txt")).data_type == "BED"
    # Tab-separated text whose second column is not a coordinate is no BED.
    result = run_cli("record", write(tmp_path, b"gene\tlength\tcount\nabc\t10\t3\n", "table.bed"))
    assert result.code == 2 and "unknown format" in result.err


def test_gzip_and_plain_give_the_same_features(tmp_path: Path) -> None:
    text = text_of(FIXTURES / "aln_bwa.bed12.gz")
    plain = record_of(write(tmp_path, text, "plain.bed"))
    assert plain["features"] == record_of(FIXTURES / "aln_bwa.bed12.gz")["features"]
    assert plain["source"]["codec"] == "NONE"  # type: ignore[index]


def test_many_contigs_in_one_chunk_stay_lexicographic(tmp_path: Path) -> None:
    # A sorted BED over an assembly of 20,000 contigs, one line each: every line starts a run.
    contigs = sorted(f"contig_{index}" for index in range(20_000))
    lines = "".join(f"{name}\t0\t10\n" for name in contigs)
    record = record_of(write(tmp_path, lines))
    assert (features(record)["contigs"], features(record)["sorted_by"]) == ("20000", "lexicographic")
    shuffled = record_of(write(tmp_path, lines.replace("contig_0\t", "contig_99999\t", 1), "shuffled.bed"))
    assert (features(shuffled)["contigs"], features(shuffled)["sorted_by"]) == ("20000", "genome")


def test_bgzf_without_its_end_block_is_read_and_flagged(tmp_path: Path) -> None:
    data = (FIXTURES / "aln_bwa.bed.gz").read_bytes()
    assert data.endswith(BGZF_EOF)
    record = record_of(write(tmp_path, data[: -len(BGZF_EOF)], "no_eof.bed.gz"))
    assert features(record)["bgzf_eof"] == "missing" and features(record)["num_lines"] == "6722"
