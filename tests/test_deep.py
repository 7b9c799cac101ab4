"""--deep: FASTQ reads paired with the primary alignments (deep, deep_qtype, deep_trim, deep_qual, form 3)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pysam
import pytest

from genotel.batches import Strings
from genotel.engine import make_record
from genotel.options import Options
from genotel.stats.deep_hash import COMPLEMENT_BYTES, content_hashes, lookup

from conftest import FIXTURES, run_cli

READS = [FIXTURES / "reads_R1.fastq.gz", FIXTURES / "reads_R2.fastq.gz"]
TRIMMED = [FIXTURES / "trimmed_R1.fastq.gz", FIXTURES / "trimmed_R2.fastq.gz"]
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def deep(*fastqs: str | Path) -> list[str | Path]:
    """`--deep R1 --deep R2`: one option per FASTQ file."""
    return [word for fastq in fastqs for word in ("--deep", fastq)]


def features(*args: str | Path) -> dict[str, str]:
    result = run_cli("record", *args, "--no-gain", "--json")
    assert result.code == 0, result.err
    record = result.json()
    assert isinstance(record, dict)
    items = record["features"].rstrip(";").split(";")
    return dict(item.split("=", 1) for item in items)


def record_of(*args: str | Path) -> dict[str, object]:
    result = run_cli("record", *args, "--no-gain", "--json")
    assert result.code == 0, result.err
    return result.json()  # type: ignore[return-value]


def deep_items(found: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in found.items() if key.startswith("deep")}


# --- fixtures made by real tools -------------------------------------------------------------


@pytest.mark.parametrize("reader", ["fast", "pysam"])
@pytest.mark.parametrize("alignments", ["aln_bwa.bam", "aln_bwa.cram", "aln_qname.sam"])
def test_reads_aligned_unchanged_all_pair(alignments: str, reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if reader == "pysam":
        monkeypatch.setenv("GENOTEL_BAM_READER", "pysam")
    found = features(FIXTURES / alignments, "--reference", FIXTURES / "ref.fa", *deep(*READS))
    # ART names its reads `ec536_a-N/1` and `/2`; bwa drops the suffix from the QNAME.
    expected = {"deep": "100.0%", "deep_qtype": "MateSuffix", "deep_trim": "None", "deep_qual": "true"}
    assert deep_items(found) == expected
    assert list(found)[list(found).index("study") + 1] == "deep"  # the deep items follow paired and study


@pytest.mark.parametrize("reader", ["fast", "pysam"])
def test_reads_trimmed_by_fastp_before_alignment(reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if reader == "pysam":
        monkeypatch.setenv("GENOTEL_BAM_READER", "pysam")
    # fastp --cut_right and adapter trimming cut 3' ends only: 468 of the 6,498 BAM sequences
    # are proper prefixes of their untrimmed reads, the others equal (checked with pysam).
    untrimmed = features(FIXTURES / "aln_trimmed.bam", *deep(*READS))
    assert deep_items(untrimmed) == {
        "deep": "100.0%", "deep_qtype": "MateSuffix", "deep_trim": "RightOnly", "deep_qual": "true"
    }  # fmt: skip
    as_aligned = features(FIXTURES / "aln_trimmed.bam", *deep(*TRIMMED))
    assert as_aligned["deep_trim"] == "None"
    assert as_aligned["deep"] == "100.0%"


def test_renamed_reads_give_form_3() -> None:
    record = record_of(FIXTURES / "aln_bwa.bam", "--deep", FIXTURES / "renamed_R1.fastq.gz")
    found = dict(item.split("=", 1) for item in str(record["features"]).rstrip(";").split(";"))
    assert deep_items(found) == {"deep": "0.0%", "deep_qtype": "None"}
    # The first FASTQ header (seqkit named it x1) and the first QNAME of the coordinate-sorted BAM.
    assert record["hash_issues"][-1] == "x1;ec536_a-1213"  # type: ignore[index]
    assert "deep" in str(record["flags"]).split("; ")


def test_redact_hashes_the_form_3_examples() -> None:
    record = record_of(FIXTURES / "aln_bwa.bam", "--deep", FIXTURES / "renamed_R1.fastq.gz", "--redact")
    issue = record["hash_issues"][-1]  # type: ignore[index]
    assert issue.count(";") == 1 and "x1" not in issue and "ec536" not in issue


def test_one_fastq_of_a_pair_pairs_with_its_mates_only() -> None:
    found = features(FIXTURES / "aln_bwa.bam", "--deep", READS[0])
    assert found["deep"] == "50.0%"
    assert found["deep_trim"] == "None"
    # The first 500 pairs, interleaved: 1,000 of the 6,722 primary records.
    interleaved = features(FIXTURES / "aln_bwa.bam", "--deep", FIXTURES / "reads_interleaved.fastq")
    assert interleaved["deep"] == f"{100 * 1000 / 6722:.1f}%"
    assert interleaved["deep_trim"] == "None"


def test_the_same_fastqs_apply_to_every_alignment_file() -> None:
    result = run_cli("record", FIXTURES / "aln_bwa.bam", FIXTURES / "aln_trimmed.bam", *deep(*READS),
                     "--no-gain", "--json")  # fmt: skip
    assert result.code == 0, result.err
    records = result.json()
    assert isinstance(records, list)
    trims = [next(item for item in r["features"].split(";") if item.startswith("deep_trim")) for r in records]
    assert trims == ["deep_trim=None", "deep_trim=RightOnly"]


@pytest.mark.parametrize("threads", [1, 2])
def test_both_bam_readers_pair_alike_in_one_pass(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    path = FIXTURES / "aln_trimmed.bam"
    options = Options(deep=tuple(READS), threads=threads, batch_size=500)
    fast = make_record(path, options)
    monkeypatch.setenv("GENOTEL_BAM_READER", "pysam")
    slow = make_record(path, options)
    assert fast.features == slow.features and fast.hash_issues == slow.hash_issues
    assert "deep_trim=RightOnly" in fast.features


# --- bad input -------------------------------------------------------------------------------


def test_a_pair_of_unequal_length_is_an_error() -> None:
    renamed = FIXTURES / "renamed_R1.fastq.gz"
    result = run_cli("record", FIXTURES / "aln_bwa.bam", *deep(READS[0], renamed))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"genotel: error: {renamed}: has 500 reads but {READS[0]} has 3,361: --deep needs the two files of one pair"
    ]


@pytest.mark.parametrize(
    ("name", "content", "found"),
    [
        ("ref.fa", None, "it is FASTA"),
        ("calls.vcf", None, "it is VCF"),
        ("aln_bwa.bam", None, "it is BAM"),
        ("notes.txt", b"just some words\n", "unknown format"),
        ("empty.fq", b"", "is empty"),
        ("missing.fq", "absent", "no such file"),
    ],
)
def test_a_deep_file_that_is_not_a_fastq(tmp_path: Path, name: str, content: bytes | str | None, found: str) -> None:
    path = FIXTURES / name if content is None else tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    result = run_cli("record", FIXTURES / "aln_bwa.bam", "--deep", path)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"genotel: error: {path}: given to --deep but not a FASTQ file (")
    assert found in lines[0]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (b"@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nIII\n", "line 8"),
        (b"@r1\nACGT\n+\nIIII\nr2\nACGT\n+\nIIII\n", "line 5"),
        (b"@r1\nACGT\n+\nIIII\n@r2\nACGT\n", "line 5"),
    ],
)
def test_a_malformed_deep_fastq_names_its_line(tmp_path: Path, text: bytes, where: str) -> None:
    path = tmp_path / "bad.fastq"
    path.write_bytes(text)
    result = run_cli("record", FIXTURES / "aln_bwa.bam", "--deep", path)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"genotel: error: {path}: ") and lines[0].endswith(f"at {where}")


def test_deep_needs_alignment_files_and_at_most_two_fastqs() -> None:
    result = run_cli("record", READS[0], "--deep", READS[1])
    assert result.code == 2
    assert result.err.strip() == (
        f"genotel: error: --deep pairs FASTQ reads with alignments, but {READS[0]} is FASTQ, not SAM/BAM/CRAM"
    )
    result = run_cli("record", FIXTURES / "aln_bwa.bam", *deep(*READS, READS[0]))
    assert result.code == 2
    assert "--deep takes one or two FASTQ files (--deep R1 [--deep R2]), got 3" in result.err


# --- relationships, trimming and qualities on inline files -------------------------------------


def random_reads(count: int, length: int = 40) -> list[tuple[str, str]]:
    generator = random.Random(20240601)
    return [
        ("".join(generator.choice("ACGT") for _ in range(length)),
         "".join(chr(33 + generator.randrange(2, 41)) for _ in range(length)))
        for _ in range(count)
    ]  # fmt: skip


def fastq(path: Path, headers: list[str], reads: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"@{h}\n{s}\n+\n{q}\n" for h, (s, q) in zip(headers, reads, strict=True)))
    return path


def sam(path: Path, records: list[tuple[str, int, str, str]]) -> Path:
    """Records (QNAME, FLAG, read bases, read qualities) as aligned: reverse ones stored reversed."""
    lines = ["@HD\tVN:1.6\tSO:unsorted", "@SQ\tSN:c1\tLN:1000"]
    for qname, flag, bases, quality in records:
        if flag & 0x10:
            bases, quality = bases.translate(COMPLEMENT)[::-1], quality[::-1]
        lines.append(f"{qname}\t{flag}\tc1\t1\t60\t{len(bases)}M\t*\t0\t0\t{bases}\t{quality}")
    path.write_text("\n".join(lines) + "\n")
    return path


def strand(number: int) -> int:
    return 0x10 if number % 3 == 0 else 0  # every third alignment on the reverse strand


COUNT = 60
CASAVA = "A00910:85:HYGWJDSXX:1:1101:{}:1000"


@pytest.mark.parametrize(
    ("fastq_name", "qname", "qtype"),
    [
        ("r{}", "r{}", "Identical"),
        ("r{} 1:N:0:ACGT", "r{}", "Identical"),
        ("r{}/1", "r{}", "MateSuffix"),
        ("x{} orig{}", "orig{}", "Comment"),
        ("SRR10260032.{} orig{}", "orig{}", "AccessionRemoved"),
        ("orig{}", "SRR10260032.{}.orig{}", "AccessionAdded"),
        (CASAVA + "_1:N:0:CAACGAGAGC+GAATTGAGTG", CASAVA, "CutAtSeparator"),
    ],
)
def test_single_end_relationships(tmp_path: Path, fastq_name: str, qname: str, qtype: str) -> None:
    reads = random_reads(COUNT)
    headers = [fastq_name.format(n, n) for n in range(1, COUNT + 1)]
    fastq_path = fastq(tmp_path / "reads.fq", headers, reads)
    # Alignments in another order than the FASTQ, and one read (the last) not aligned.
    records = [(qname.format(n, n), strand(n), *reads[n - 1]) for n in range(COUNT - 1, 0, -1)]
    found = features(sam(tmp_path / "aln.sam", records), "--deep", fastq_path)
    assert deep_items(found) == {"deep": "100.0%", "deep_qtype": qtype, "deep_trim": "None", "deep_qual": "true"}


def test_paired_identical_names_pair_by_file(tmp_path: Path) -> None:
    first, second = random_reads(2 * COUNT)[:COUNT], random_reads(2 * COUNT)[COUNT:]
    names = [CASAVA.format(n) for n in range(1, COUNT + 1)]
    r1 = fastq(tmp_path / "R1.fq", [f"{name} 1:N:0:ACGT" for name in names], first)
    r2 = fastq(tmp_path / "R2.fq", [f"{name} 2:N:0:ACGT" for name in names], second)
    records = []
    for number, name in enumerate(names):
        records.append((name, 0x41 | 0x20, *first[number]))
        records.append((name, 0x81 | 0x10, *second[number]))
    found = features(sam(tmp_path / "aln.sam", records), *deep(r1, r2))
    assert deep_items(found) == {"deep": "100.0%", "deep_qtype": "Identical", "deep_trim": "None", "deep_qual": "true"}
    # The mates swapped: names match, sequences do not.
    swapped = features(tmp_path / "aln.sam", *deep(r2, r1))
    assert swapped["deep"] == "100.0%" and swapped["deep_trim"] == "LeftRight"


@pytest.mark.parametrize(
    ("change", "trim", "qual"),
    [
        (lambda s, q: (s[:-7], q[:-7]), "RightOnly", "true"),
        (lambda s, q: (s[5:], q[5:]), "LeftRight", "true"),
        (lambda s, q: (s[5:-7], q[5:-7]), "LeftRight", "true"),
        (lambda s, q: (s, "5" * len(q)), "None", "false"),
        (lambda s, q: (s[:-7], "5" * (len(q) - 7)), "RightOnly", "false"),
        (lambda s, q: (s[:10] + ("A" if s[10] != "A" else "C") + s[11:], q), "LeftRight", "true"),
    ],
)
def test_trimming_and_qualities(tmp_path: Path, change: object, trim: str, qual: str) -> None:
    reads = random_reads(COUNT)
    fastq_path = fastq(tmp_path / "reads.fq", [f"r{n}" for n in range(1, COUNT + 1)], reads)
    records = []
    for number, (bases, quality) in enumerate(reads, start=1):
        if number % 4 == 0:  # every fourth read changed, on both strands
            bases, quality = change(bases, quality)  # type: ignore[operator]
        records.append((f"r{number}", strand(number), bases, quality))
    records.append(("unknown", 0, *reads[0]))  # a QNAME that is not in the FASTQ
    records.append(("r1", 0x100, *reads[0]))  # a secondary alignment: not counted
    found = features(sam(tmp_path / "aln.sam", records), "--deep", fastq_path)
    share = f"{100 * COUNT / (COUNT + 1):.1f}%"
    assert deep_items(found) == {"deep": share, "deep_qtype": "Identical", "deep_trim": trim, "deep_qual": qual}


def test_form_3_shows_the_whole_first_fastq_header(tmp_path: Path) -> None:
    reads = random_reads(10)
    fastq_path = fastq(tmp_path / "reads.fq", [f"weird{n} batch 1:N" for n in range(10)], reads)
    sam_path = sam(tmp_path / "aln.sam", [(f"other{n}", 0, *reads[n]) for n in range(10)])
    record = record_of(sam_path, "--deep", fastq_path)
    assert "deep=0.0%;deep_qtype=None;" in str(record["features"])
    assert record["hash_issues"][-1] == "weird0 batch 1:N;other0"  # type: ignore[index]


def test_pysam_reads_what_the_sam_helper_writes(tmp_path: Path) -> None:
    reads = random_reads(3)
    path = sam(tmp_path / "aln.sam", [(f"r{n}", 0x10, *reads[n]) for n in range(3)])
    with pysam.AlignmentFile(str(path)) as alignments:
        read = next(iter(alignments))
    assert read.get_forward_sequence() == reads[0][0]


def test_content_hashes_depend_on_the_string_only() -> None:
    generator = random.Random(5)
    texts = [bytes(generator.choice(b"ACGTN") for _ in range(length)) for length in (0, 1, 7, 8, 9, 100, 150, 1500)]
    alone = [int(content_hashes(Strings.from_list([text]))[0]) for text in texts]
    together = content_hashes(Strings.from_list(texts)).tolist()
    assert together == alone  # the same whatever the batch (its widest string, its block)
    assert len(set(alone)) == len(texts)
    assert content_hashes(Strings.from_list([b"AC"]))[0] != content_hashes(Strings.from_list([b"AC\0"]))[0]
    # Reverse-complemented in place equals hashing the reverse complement; uniform lengths too.
    for batch in (texts, texts[5:6] * 3):
        reverse = np.array([index % 2 == 0 or index == len(batch) - 1 for index in range(len(batch))])
        pairs = zip(batch, reverse.tolist(), strict=True)
        flipped = [text[::-1].translate(COMPLEMENT_BYTES) if flip else text for text, flip in pairs]
        expected = content_hashes(Strings.from_list(flipped)).tolist()
        assert content_hashes(Strings.from_list(batch), None, reverse, complement=True).tolist() == expected
    rows = np.array([6, 2])
    assert content_hashes(Strings.from_list(texts), rows).tolist() == [alone[6], alone[2]]


def test_lookup_finds_every_key() -> None:
    keys = np.sort(np.random.default_rng(3).integers(1, 2**63, 1000, dtype=np.uint64))
    wanted = keys[[500, 3, 999, 0]]
    assert lookup(keys, wanted).tolist() == [500, 3, 999, 0]
    assert lookup(keys, np.array([keys[-1] + np.uint64(1)], dtype=np.uint64)).tolist() == [999]
