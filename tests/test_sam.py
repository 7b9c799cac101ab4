"""SAM/BAM/CRAM: programs, mapper, qual_acgt, counts, sort order, and every bad input."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pysam
import pytest

from genotel.batches import Strings
from genotel.engine import extract, make_record
from genotel.extractors.sam.extractor import SamExtractor
from genotel.extractors.sam.header import header_aligner, parse_header, program_name, strip_program_id
from genotel.options import DEFAULT_CODEC_LEVEL, Options
from genotel.sniff import sniff
from genotel.stats.cardinality import CardinalityAccumulator

from conftest import FIXTURES, features, record_of, run_cli

HEADER = "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:c1\tLN:1000\n@SQ\tSN:c2\tLN:500\n"


def sam_line(name: str, flag: int = 0, rname: str = "c1", pos: int = 1, seq: str = "ACGT", qual: str = "IIII",
             tags: str = "") -> str:  # fmt: skip
    cigar = f"{len(seq)}M" if rname != "*" and seq != "*" else "*"
    mapq = 60 if rname != "*" else 0
    line = f"{name}\t{flag}\t{rname}\t{pos}\t{mapq}\t{cigar}\t*\t0\t0\t{seq}\t{qual}"
    return line + (f"\t{tags}" if tags else "") + "\n"


def write_sam(tmp_path: Path, body: str, header: str = HEADER, name: str = "in.sam") -> Path:
    path = tmp_path / name
    path.write_text(header + body)
    return path




# ---- @PG names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program_id", "stripped"),
    [
        ("samtools.3", "samtools"),
        ("MarkDuplicates.5A", "MarkDuplicates"),
        ("bull-2B019719", "bull"),
        ("bwa-mem2", "bwa-mem2"),
        ("bwa", "bwa"),
        ("GATK-4", "GATK"),
        ("picard.1.2", "picard"),
        ("samtools.1-2B019719", "samtools"),
        ("12", "12"),
    ],
)
def test_strip_program_id(program_id: str, stripped: str) -> None:
    assert strip_program_id(program_id) == stripped


@pytest.mark.parametrize(
    ("program_id", "pn", "name"),
    [
        ("bwa", "bwa", "bwa"),
        ("samtools.2", "samtools", "samtools"),
        ("MarkDuplicates", None, "MarkDuplicates"),
        (None, "STAR", "STAR"),
        ("BWA", "bwa-mem", "BWA"),  # the ID is a case-insensitive prefix of PN
        ("basecaller", "dorado", "ID:basecaller PN:dorado"),
        ("aligner.1", "minimap2", "ID:aligner PN:minimap2"),
        (None, None, None),
    ],
)
def test_program_name(program_id: str | None, pn: str | None, name: str | None) -> None:
    assert program_name(program_id, pn) == name


def test_programs_follow_header_order_with_dedup(tmp_path: Path) -> None:
    header = HEADER + (
        "@PG\tID:MarkDuplicates.5A\tPN:MarkDuplicates\n"
        "@PG\tID:bwa\tPN:bwa\tCL:bwa mem ref.fa r1.fq\n"
        "@PG\tID:samtools\tPN:samtools\n"
        "@PG\tID:samtools.1\tPN:samtools\n"
        "@PG\tID:bull-2B019719\tPN:bull\n"
        "@PG\tID:basecaller\tPN:dorado\n"
        "@PG\tID:tools\n"
    )
    record = record_of(write_sam(tmp_path, sam_line("r1"), header))
    assert record["programs"] == "MarkDuplicates;bwa;samtools;bull;ID:basecaller PN:dorado;tools;"


def test_no_pg_lines_means_null_programs(tmp_path: Path) -> None:
    assert record_of(write_sam(tmp_path, sam_line("r1")))["programs"] is None


AGENT_TAGS = "ZA:Z:AAA\tZB:Z:CCC\tRX:Z:AAA-CCC\tQX:Z:III III\tBC:Z:ACGT"


def test_agent_trimmer_when_records_carry_all_its_tags(tmp_path: Path) -> None:
    body = sam_line("r1") + sam_line("r2", tags=AGENT_TAGS)
    assert record_of(write_sam(tmp_path, body))["programs"] == "AGeNT_Trimmer;"


def test_no_agent_trimmer_when_a_tag_is_missing(tmp_path: Path) -> None:
    body = sam_line("r1", tags=AGENT_TAGS.replace("ZB:Z:CCC\t", ""))
    assert record_of(write_sam(tmp_path, body))["programs"] is None


# ---- mapper ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pg_line", "mapper"),
    [
        ("@PG\tID:bwa\tPN:bwa\tVN:0.7.17", "bwa"),
        ("@PG\tID:bwa-mem2\tPN:bwa-mem2", "bwa-mem2"),
        ("@PG\tID:minimap2\tPN:minimap2", "minimap2"),
        ("@PG\tID:bowtie2\tPN:bowtie2", "bowtie2"),
        ("@PG\tID:hisat2\tPN:hisat2", "HISAT2"),
        ("@PG\tID:STAR\tPN:STAR", "STAR"),
        ("@PG\tID:BBMap\tPN:BBMap", "BBMap"),
        ("@PG\tID:novoalign\tPN:novoalign", "Novoalign"),
        ("@PG\tID:DRAGEN SW build\tPN:DRAGEN SW build", "DRAGEN"),
        ("@PG\tID:pbmm2\tPN:pbmm2", "pbmm2"),
        ("@PG\tID:basecaller\tPN:dorado", "dorado"),
        ("@PG\tID:align\tCL:/opt/bin/bowtie2-align-s --wrapper basic-0 -x idx", "bowtie2"),
    ],
)
def test_mapper_from_pg(pg_line: str, mapper: str) -> None:
    assert header_aligner(parse_header(HEADER + pg_line + "\n")) == mapper


def test_mapper_is_the_first_aligner_in_header_order() -> None:
    header = parse_header(HEADER + "@PG\tID:samtools\tPN:samtools\n@PG\tID:minimap2\n@PG\tID:bwa\n")
    assert header_aligner(header) == "minimap2"


def test_mapper_unknown_for_mapped_reads_without_a_known_aligner(tmp_path: Path) -> None:
    header = HEADER + "@PG\tID:myaligner\tPN:myaligner\n"
    assert features(record_of(write_sam(tmp_path, sam_line("r1"), header)))["mapper"] == "unknown"
    unmapped = sam_line("r1", flag=4, rname="*", pos=0)
    assert features(record_of(write_sam(tmp_path, unmapped, header, "u.sam")))["mapper"] == "none"


# ---- qual_acgt -------------------------------------------------------------------------------


def test_qual_acgt_counts_bases_as_stored_upper_cased_skipping_n(tmp_path: Path) -> None:
    body = (
        sam_line("r1", seq="AACGTN", qual="II5#=I")
        + sam_line("r2", flag=16, seq="acgt", qual="5555")  # reverse strand: no complementing
        + sam_line("r3", seq="GGGG", qual="*")  # no qualities: not counted
    )
    record = record_of(write_sam(tmp_path, body))
    # A: I,I,5 ; C: 5,5 ; G: #,5 ; T: ≐,5 -> ties broken by the lower character
    assert record["qual_acgt"] == "I5――5――#5――5≐"


def test_qual_acgt_null_when_no_record_has_qualities(tmp_path: Path) -> None:
    body = sam_line("r1", qual="*") + sam_line("r2", seq="*", qual="*", rname="*", pos=0, flag=4)
    assert record_of(write_sam(tmp_path, body))["qual_acgt"] is None


def test_qual_acgt_empty_groups_are_kept(tmp_path: Path) -> None:
    record = record_of(write_sam(tmp_path, sam_line("r1", seq="AAAA", qual="ABCD")))
    assert record["qual_acgt"] == "ABCD――――――"


def test_qual_acgt_over_batches_equals_one_pass(tmp_path: Path) -> None:
    small = make_record(FIXTURES / "aln_bwa.bam", Options(batch_size=7)).qual_acgt
    assert small == make_record(FIXTURES / "aln_bwa.bam").qual_acgt


def test_qual_acgt_matches_a_plain_pysam_count() -> None:
    counts = [[0] * 256 for _ in range(4)]
    with pysam.AlignmentFile(str(FIXTURES / "aln_minimap2.bam")) as bam:
        for read in bam.fetch(until_eof=True):
            if read.query_sequence and read.query_qualities is not None:
                for base, quality in zip(read.query_sequence, read.query_qualities, strict=True):
                    if base.upper() in "ACGT":
                        counts["ACGT".index(base.upper())][quality] += 1
    from genotel.record import render_qual_acgt

    assert make_record(FIXTURES / "aln_minimap2.bam").qual_acgt == render_qual_acgt(counts)


def test_sample_limits_qual_acgt_but_not_counts(tmp_path: Path) -> None:
    body = sam_line("r1", seq="AAAA", qual="IIII") + sam_line("r2", seq="CCCC", qual="5555")
    record = record_of(write_sam(tmp_path, body), sample=1)
    assert record["qual_acgt"] == "I――――――"
    assert record["source"]["num_lines"] == 2  # type: ignore[index]
    assert "sample=1" in str(record["flags"])


# ---- counts, sort order, sizes ---------------------------------------------------------------


def test_bam_features_match_samtools_view() -> None:
    record = record_of(FIXTURES / "aln_bwa.bam")
    with pysam.AlignmentFile(str(FIXTURES / "aln_bwa.bam")) as bam:
        reads = list(bam.fetch(until_eof=True))
        text_size = len(str(bam.header)) + sum(len(read.to_string()) + 1 for read in reads)
    paired = sum(read.is_paired for read in reads)
    assert list(features(record).items()) == [
        ("num_lines", str(len(reads))),
        ("sorted_by", "POS"),
        ("hdr_contigs", "2 (45000)"),
        ("mapper", "bwa"),
        ("QNAME", "Unknown"),  # ART's names (ec536_a-1213) fit no read-name flavour
        ("sequencer", "Illumina"),  # so the technology is the header's @RG PL:ILLUMINA
        ("paired", f"{100 * paired / len(reads):.1f}%"),
        ("study", "WGS"),  # reads spread over the whole (45 kb) genome
    ]
    assert record["source"] == {
        "codec": "BGZF",
        "disk_size": (FIXTURES / "aln_bwa.bam").stat().st_size,
        "txt_size": text_size,
        "num_lines": len(reads),
    }


def test_plain_sam_text_size_is_its_file_size() -> None:
    record = record_of(FIXTURES / "aln_qname.sam")
    assert record["source"]["txt_size"] == (FIXTURES / "aln_qname.sam").stat().st_size  # type: ignore[index]
    assert features(record)["sorted_by"] == "QNAME"


@pytest.mark.parametrize(
    ("names_positions", "sorted_by"),
    [
        ([("b", "c1", 5), ("a", "c1", 7), ("c", "c2", 1)], "POS"),
        ([("r2", "c1", 9), ("r10", "c1", 5), ("r10", "c2", 1)], "QNAME"),  # natural order: 2 < 10
        ([("b", "c2", 5), ("a", "c1", 7)], "NONE"),
    ],
)
def test_sort_order_comes_from_the_data(tmp_path: Path, names_positions: list, sorted_by: str) -> None:
    body = "".join(sam_line(name, rname=rname, pos=pos) for name, rname, pos in names_positions)
    assert features(record_of(write_sam(tmp_path, body)))["sorted_by"] == sorted_by


def test_unplaced_reads_at_the_end_keep_pos_order(tmp_path: Path) -> None:
    body = sam_line("z", pos=3) + sam_line("a", flag=4, rname="*", pos=0)
    assert features(record_of(write_sam(tmp_path, body)))["sorted_by"] == "POS"


def test_paired_percent(tmp_path: Path) -> None:
    body = sam_line("a", flag=1 | 64, pos=1) + sam_line("b", pos=2) + sam_line("c", pos=3) + sam_line("d", pos=4)
    assert features(record_of(write_sam(tmp_path, body)))["paired"] == "25.0%"


def test_cram_record_equals_bam_record_apart_from_source() -> None:
    bam = record_of(FIXTURES / "aln_bwa.bam")
    cram = record_of(FIXTURES / "aln_bwa.cram", reference=FIXTURES / "ref.fa")
    for key in ("features", "programs", "qual_acgt", "hash_issues"):
        assert cram[key] == bam[key], key
    assert cram["source"]["num_lines"] == bam["source"]["num_lines"]  # type: ignore[index]
    assert cram["source"]["codec"] == "CRAM"  # type: ignore[index]
    assert cram["flags"] == f"codec=zstd-{DEFAULT_CODEC_LEVEL}; sample=all; reference=EXTERNAL; file_i=1/1"


def test_reference_without_index_is_not_indexed_beside_it(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "ref.fa", tmp_path / "ref.fa")
    shutil.copy(FIXTURES / "aln_bwa.cram", tmp_path / "x.cram")
    before = sorted(path.name for path in tmp_path.iterdir())
    make_record(tmp_path / "x.cram", Options(reference=tmp_path / "ref.fa"))
    assert sorted(path.name for path in tmp_path.iterdir()) == before


# ---- bad input: one line, exit 2, the other files still done -----------------------------------


def assert_one_line_error(result: object, *fragments: str) -> None:
    err = result.err  # type: ignore[attr-defined]
    lines = err.strip().splitlines()
    assert result.code == 2, err  # type: ignore[attr-defined]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("r1\t0\tc1\t1\t60\n", ("5 tab-separated fields, expected at least 11", "record 2 (line 5)")),
        (sam_line("r1", pos=0).replace("\t0\t60", "\tx\t60", 1), ("POS is not a number", "record 2")),
        (sam_line("r1", qual="III"), ("SEQ has 4 bases but QUAL 3 characters", "record 2")),
        (sam_line("r1").replace("4M", "9M"), ("htslib rejected it", "record 2 (line 5)")),
    ],
)
def test_malformed_sam_record(tmp_path: Path, body: str, fragments: tuple[str, ...]) -> None:
    path = write_sam(tmp_path, sam_line("r0") + body + sam_line("r9"))
    assert_one_line_error(run_cli("record", path, "--json"), str(path), "malformed SAM record", *fragments)


@pytest.mark.parametrize(
    ("header", "fragments"),
    [
        ("@HD\tVN:1.6\n@SQ\tSN:c1\tLN:x\n", ("@SQ c1 has no numeric LN", "line 2")),
        ("@HD\tVN:1.6\n@SQ\tLN:100\n", ("@SQ line without SN", "line 2")),
    ],
)
def test_malformed_sam_header(tmp_path: Path, header: str, fragments: tuple[str, ...]) -> None:
    path = write_sam(tmp_path, sam_line("r1"), header)
    assert_one_line_error(run_cli("record", path), "malformed SAM header", *fragments)


@pytest.mark.parametrize(
    ("keep_bytes", "problem"),
    [(100, "truncated or unreadable BAM header"), (5000, "truncated BAM file at record 1"),
     (-1, "truncated BAM file at record 6723")],  # -1: the end-of-file block itself is cut
)  # fmt: skip
def test_truncated_bam(tmp_path: Path, keep_bytes: int, problem: str) -> None:
    data = (FIXTURES / "aln_bwa.bam").read_bytes()
    path = tmp_path / "cut.bam"
    path.write_bytes(data[:keep_bytes])
    assert_one_line_error(run_cli("record", path), str(path), problem)


def test_headerless_sam_with_an_unknown_contig(tmp_path: Path) -> None:
    path = write_sam(tmp_path, sam_line("r1"), header="")
    assert_one_line_error(run_cli("record", path), "RNAME 'c1' is not a contig of the header", "record 1 (line 1)")


def test_cram_without_reference_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(FIXTURES / "aln_bwa.cram", tmp_path / "x.cram")
    monkeypatch.chdir(tmp_path)  # the CRAM's UR:ref.fa must not resolve
    result = run_cli("record", "x.cram")
    assert_one_line_error(result, "x.cram", "without its reference", "ec536_a", "pass --reference FASTA")


def test_cram_with_a_wrong_reference(tmp_path: Path) -> None:
    lines = (FIXTURES / "ref.fa").read_text().splitlines()
    lines[5] = lines[5][:10] + ("C" if lines[5][10] != "C" else "G") + lines[5][11:]
    (tmp_path / "wrong.fa").write_text("\n".join(lines) + "\n")
    result = run_cli("record", FIXTURES / "aln_bwa.cram", "--reference", tmp_path / "wrong.fa")
    assert_one_line_error(result, "does not match the CRAM", "record")


def test_cram_with_a_reference_of_other_lengths(tmp_path: Path) -> None:
    (tmp_path / "short.fa").write_text(">ec536_a\nACGT\n>ec536_b\nACGT\n")
    result = run_cli("record", FIXTURES / "aln_bwa.cram", "--reference", tmp_path / "short.fa")
    assert_one_line_error(result, "contig ec536_a is 25000 bp in the CRAM but 4 bp in the reference")


def test_cram_with_a_missing_reference_file(tmp_path: Path) -> None:
    result = run_cli("record", FIXTURES / "aln_bwa.cram", "--reference", tmp_path / "absent.fa")
    assert_one_line_error(result, "absent.fa does not exist")


# ---- read names, dictionary fields (hash_issues) and the probe (fields_gain) -------------------

ALIGNMENT_FIXTURES = ["aln_bwa.bam", "aln_minimap2.bam", "aln_trimmed.bam", "aln_bwa.cram", "aln_qname.sam"]


@pytest.mark.parametrize("reader", ["fast", "pysam"])
@pytest.mark.parametrize("name", ALIGNMENT_FIXTURES)
def test_streams_add_up_to_the_text_size(name: str, reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if reader == "pysam":
        monkeypatch.setenv("GENOTEL_BAM_READER", "pysam")
    path = FIXTURES / name
    extraction = extract(path, Options(reference=FIXTURES / "ref.fa"))
    assert extraction.streams is not None
    sizes = {stream: text for stream, text, _ in extraction.streams}
    assert sum(sizes.values()) == extraction.txt_size
    with pysam.AlignmentFile(str(path), reference_filename=str(FIXTURES / "ref.fa")) as alignments:
        assert sizes["TXT_HEADER"] == len(str(alignments.header).encode())
        reads = list(alignments.fetch(until_eof=True))
    assert sizes["QNAME"] == sum(len(read.query_name) for read in reads)
    assert sizes["Other"] == sum(11 + len(read.get_tags()) for read in reads)  # the TABs and newlines
    if name.endswith(".sam"):
        assert extraction.txt_size == path.stat().st_size
    record = record_of(path, reference=FIXTURES / "ref.fa")
    items = [item.split(",") for item in str(record["fields_gain"]).split("; ")]
    assert abs(sum(float(share.rstrip("%")) for _, share, _ in items) - 100.0) <= 0.1
    by_name = {stream: (text, packed) for stream, text, packed in extraction.streams}
    for stream, _, ratio in items:
        text, packed = by_name[stream]
        assert ratio == f"{text / packed:.1f}X"
    packed_sizes = [by_name[stream][1] for stream, _, _ in items]
    assert packed_sizes == sorted(packed_sizes, reverse=True)
    assert record["genozip_gain"] == round(sum(sizes.values()) / sum(packed for _, packed in by_name.values()), 1)


def test_no_gain_leaves_out_the_probe() -> None:
    record = record_of(FIXTURES / "aln_bwa.bam", gain=False)
    assert record["fields_gain"] is None and record["genozip_gain"] is None
    assert str(record["flags"]).startswith("codec=none; ")
    assert record["hash_issues"] == record_of(FIXTURES / "aln_bwa.bam")["hash_issues"]


def test_text_sizes_are_bytes(tmp_path: Path) -> None:
    header = HEADER + "@CO\tcafé\n"
    path = write_sam(tmp_path, sam_line("r1", tags="XZ:Z:naïve") + sam_line("r2", pos=5))
    path.write_text(header + sam_line("r1", tags="XZ:Z:naïve") + sam_line("r2", pos=5))
    extraction = extract(path, Options())
    assert extraction.txt_size == path.stat().st_size  # bytes, not characters
    assert sum(text for _, text, _ in extraction.streams or []) == extraction.txt_size


ILLUMINA_NAMES = [f"A00123:8:H7KLMDSXY:1:1101:{1000 + i}:{2000 + i}" for i in range(20)]


@pytest.mark.parametrize(
    ("names", "read_groups", "flavour", "sequencer", "misfits"),
    [
        (ILLUMINA_NAMES, "", "Illumina", "Illumina", []),
        (ILLUMINA_NAMES, "@RG\tID:a\tPL:PACBIO\n", "Illumina", "Illumina", []),  # the names win
        ([str(i) for i in range(20)], "@RG\tID:a\tPL:ONT\n", "Numeric", "ONT", []),  # the header fills in
        ([f"q{i}" for i in range(20)], "@RG\tID:a\tPL:ILLUMINA\n@RG\tID:b\tPL:ILLUMINA\n@RG\tID:c\tPL:LS454\n",
         "Unknown", "Illumina", ["q0", "q1", "q2", "q3", "q4", "q5"]),
        ([f"q{i}" for i in range(20)], "", "Unknown", "unknown", ["q0", "q1", "q2", "q3", "q4", "q5"]),
        (["x", "x", *ILLUMINA_NAMES[:8]], "", "Illumina", "Illumina", ["x"]),  # a repeated misfit once
    ],
)  # fmt: skip
def test_read_name_flavour_and_sequencer(
    names: list[str], read_groups: str, flavour: str, sequencer: str, misfits: list[str], tmp_path: Path
) -> None:
    body = "".join(sam_line(name, pos=1 + index) for index, name in enumerate(names))
    record = record_of(write_sam(tmp_path, body, HEADER + read_groups))
    found = features(record)
    assert list(found)[4:7] == ["QNAME", "sequencer", "paired"]
    assert (found["QNAME"], found["sequencer"]) == (flavour, sequencer)
    form_2 = [issue for issue in record["hash_issues"] if str(issue).startswith("QNAME,,,,")]  # type: ignore[attr-defined]
    assert form_2 == (["QNAME,,,," + ",".join(misfits)] if misfits else [])


def late_values_bam(tmp_path: Path) -> Path:
    """12,000 records (numeric names) whose XZ tag is one value for 10,000 records, then a new value each."""
    values = ["same" if i < 10_000 else f"u{i}" for i in range(12_000)]
    lines = [sam_line(str(i), pos=1 + i % 900, tags=f"XZ:Z:{value}") for i, value in enumerate(values)]
    sam = write_sam(tmp_path, "".join(lines))
    bam = tmp_path / "late.bam"
    pysam.view("-b", "-o", str(bam), str(sam), catch_stdout=False)
    return bam


@pytest.mark.parametrize("reader", ["fast", "pysam"])
def test_a_field_outgrowing_its_table_is_reported(reader: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bam = late_values_bam(tmp_path)
    if reader == "pysam":
        monkeypatch.setenv("GENOTEL_BAM_READER", "pysam")
    # 1 distinct value in the first 10,000 records -> 1.2 expected -> a table of 8 entries; 2,001 found.
    assert record_of(bam)["hash_issues"] == ["XZ:Z,,8 B,25012%,same,u10000,u10001,u11997,u11998,u11999"]
    # --sample 10000: the fields see the first 10,000 records only, where nothing grows.
    assert record_of(bam, sample=10_000)["hash_issues"] == []
    redacted = record_of(bam, redact=True)["hash_issues"]
    assert str(redacted[0]).startswith("XZ:Z,,8 B,25012%,") and "same" not in str(redacted)  # type: ignore[index]


def test_cardinality_merge_equals_one_pass() -> None:
    values = [f"v{i % 7000}".encode() for i in range(9000)] + [f"w{i}".encode() for i in range(3000)]
    for split in (4000, 9500, 11_999):
        one, first, second = (CardinalityAccumulator("X") for _ in range(3))
        for start in range(0, len(values), 1000):
            chunk = Strings.from_list(values[start : start + 1000])
            one.add(chunk)
        first.add(Strings.from_list(values[:split]))
        second.add(Strings.from_list(values[split:]))
        first.merge(second)
        assert vars(first.result(12_000)) == vars(one.result(12_000)), split


# ---- txt_size: the header text as htslib prints it ------------------------------------------

UNMAPPED = "r1\t4\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII\n"
HEADER_SHAPES = {
    "with @SQ": "@HD\tVN:1.6\n@SQ\tSN:c1\tLN:100\n@CO\tafter the contigs\n",
    "@SQ first": "@SQ\tSN:c1\tLN:100\n@PG\tID:bwa\tPN:bwa\n",
    "without @SQ": "@HD\tVN:1.6\tSO:unsorted\n@PG\tID:bwa\tPN:bwa\tVN:1\n",
    "@CO only": "@CO\tonly a comment\n",
    "no header": "",
}


def samtools_text_size(path: Path, tmp_path: Path) -> int:
    """`samtools view -h --no-PG FILE | wc -c`, with the samtools that pysam bundles."""
    text = tmp_path / "as_text.sam"
    pysam.view("-h", "--no-PG", "-o", str(text), str(path), catch_stdout=False)
    return text.stat().st_size


def converted(sam: Path, data_type: str) -> Path:
    if data_type == "SAM":
        return sam
    target = sam.with_suffix("." + data_type.lower())
    pysam.view("--no-PG", "-C" if data_type == "CRAM" else "-b", "-o", str(target), str(sam), catch_stdout=False)
    return target


@pytest.mark.parametrize("reader", ["fast", "pysam"])
@pytest.mark.parametrize("data_type", ["SAM", "BAM", "CRAM"])
@pytest.mark.parametrize("shape", list(HEADER_SHAPES))
def test_text_size_counts_the_header_as_samtools_prints_it(
    shape: str, data_type: str, reader: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if reader == "pysam":
        monkeypatch.setenv("GENOTEL_BAM_READER", "pysam")
    sam = tmp_path / "shape.sam"
    sam.write_text(HEADER_SHAPES[shape] + UNMAPPED * 3)
    path = converted(sam, data_type)
    record = record_of(path)
    assert record["source"]["txt_size"] == samtools_text_size(path, tmp_path)  # type: ignore[index]
    if data_type == "SAM":
        assert record["source"]["txt_size"] == sam.stat().st_size  # type: ignore[index]


@pytest.mark.parametrize("data_type", ["SAM", "BAM"])
def test_text_size_with_a_50_mb_comment_line(data_type: str, tmp_path: Path) -> None:
    sam = tmp_path / "long_comment.sam"
    sam.write_text("@HD\tVN:1.6\n@CO\t" + "x" * (50 << 20) + "\n" + UNMAPPED * 2)
    path = converted(sam, data_type)
    record = record_of(path, gain=False)
    assert record["source"]["txt_size"] == sam.stat().st_size == samtools_text_size(path, tmp_path)  # type: ignore[index]


PUBLIC = FIXTURES / "public"


@pytest.mark.parametrize(
    "name", ["htslib_index_dos.sam", "htslib_xx_tlen.sam", "htslib_c2_pad.sam"]
)  # CRLF line ends; `@CO` lines without a tab, which htslib prints as `@CO<TAB>`
def test_sam_text_size_is_the_file_htslib_rewrites(name: str, tmp_path: Path) -> None:
    path = PUBLIC / name
    assert samtools_text_size(path, tmp_path) != path.stat().st_size  # what the test is about
    extraction = extract(path, Options())
    assert extraction.txt_size == path.stat().st_size
    assert sum(text for _, text, _ in extraction.streams or []) == extraction.txt_size
    header = b"".join(line for line in path.read_bytes().splitlines(keepends=True) if line.startswith(b"@"))
    assert dict((name, text) for name, text, _ in extraction.streams or [])["TXT_HEADER"] == len(header)
    compressed = tmp_path / (name + ".gz")
    compressed.write_bytes(gzip.compress(path.read_bytes()))
    assert record_of(compressed)["source"]["txt_size"] == path.stat().st_size  # type: ignore[index]


@pytest.mark.parametrize("name", ["aln_bwa.bam", "aln_bwa.cram", "aln_qname.sam"])
def test_batches_cover_every_record_in_file_order(name: str) -> None:
    path = FIXTURES / name
    options = Options(reference=FIXTURES / "ref.fa", batch_size=1000)
    with SamExtractor().open(path, sniff(path), options) as reading:
        batches = list(reading.batches())
    assert [batch.first_record for batch in batches] == list(range(1, 1 + 1000 * len(batches), 1000))
    record = record_of(path, gain=False, reference=FIXTURES / "ref.fa")
    assert sum(len(batch) for batch in batches) == int(features(record)["num_lines"])
