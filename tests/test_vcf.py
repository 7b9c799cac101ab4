"""VCF/BCF: programs, header facts, counts, gVCF, text size, containers, and every bad input."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools
import pytest
from pysam.libcbgzf import BGZFile

from genotel.extractors.vcf.extractor import VcfExtractor
from genotel.extractors.vcf.header import structured_fields, vcf_programs
from genotel.extractors.vcf.text import TABS_KEPT, TextScan, split_records
from genotel.extractors.vcf.variants import VariantCountsAccumulator
from genotel.options import Options
from genotel.sniff import sniff

from conftest import FIXTURES, features, record_of, run_cli

META = "##fileformat=VCFv4.2\n##contig=<ID=c1,length=1000>\n##contig=<ID=c2>\n"
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
CHROM_2 = COLUMNS + "\tFORMAT\ts1\ts2\n"


def rec(pos: int, alt: str = "C", info: str = ".", samples: tuple[str, ...] = ("0/1", "0/0"), rid: str = ".") -> str:
    line = f"c1\t{pos}\t{rid}\tA\t{alt}\t.\tPASS\t{info}"
    return line + ("\tGT\t" + "\t".join(samples) if samples else "") + "\n"


def write(tmp_path: Path, text: str | bytes, name: str = "in.vcf") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path




def bcftools_text_size(path: Path) -> int:
    """What `bcftools view --no-version FILE | wc -c` prints, through pysam's bcftools."""
    return len(pysam.bcftools.view("--no-version", str(path)).encode())


# ---- programs, one rule at a time ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "programs"),
    [
        (["##source=freeBayes v1.3.6"], ["freeBayes"]),
        (["##source=Manta 1.6.0"], ["Manta"]),
        (['##source="beagle.22Jul22.46e.jar"'], ["beagle.22Jul22.46e.jar", "beagle"]),
        (["##imputation=minimac4", "##phasing=eagle2", "##annotator=vcfanno"], ["minimac4", "eagle2", "vcfanno"]),
        (["##GATKCommandLine.HaplotypeCaller=<ID=HaplotypeCaller,Version=3.8>"], ["GATK.HaplotypeCaller"]),
        (
            ['##GATKCommandLine=<ID=SelectVariants,CommandLine="SelectVariants -V in.vcf",Version="4.2">'],
            ["GATK.SelectVariants"],
        ),
        (
            ['##GATKCommandLine=<ID=GenotypeGVCFs,CommandLine="x",Version="4.2">', "##source=GenotypeGVCFs"],
            ["GATK.GenotypeGVCFs"],  # one name per GATK tool
        ),
        (["##bcftools_callCommand=call -mv -Oz -o calls.vcf.gz; Date=Sat"], ["bcftools_call"]),
        (["##samtoolsVersion=1.16+htslib-1.16"], ["samtools"]),
        (["##bcftoolsVersion=1.16", "##bcftoolsCommand=mpileup -f ref.fa x.bam"], ["bcftools"]),
        (["##DeepVariant_version=1.6.0"], ["DeepVariant"]),
        (['##DRAGENVersion=<ID=dragen,Version="SW: 07.021">', "##DRAGENCommandLine=<ID=dragen>"], ["DRAGEN"]),
        (['##VEP="v110" time="2023-01-01" cache="homo_sapiens"'], ["VEP"]),
        (['##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP">'], ["VEP"]),
        (['##SnpEffVersion="5.1d"', '##SnpEffCmd="SnpEff GRCh38 in.vcf"'], ["SnpEff"]),
        (["##hailversion=0.2.120-f00f916faf78"], ["Hail"]),
        (["##CombineGVCFs=<ID=x>"], ["CombineGVCFs"]),
        (['##INFO=<ID=AF_nfe,Number=A,Type=Float,Description="Alt allele frequency in gnomAD NFE">'], ["gnomAD"]),
        (
            ['##FORMAT=<ID=IGC,Number=1,Type=Float,Description="Illumina GenCall Confidence Score">'],
            ["Illumina GenCall"],
        ),
        (["##SentieonCommandLine.Haplotyper=<ID=Haplotyper>"], ["Sentieon"]),
        (["##GLnexusVersion=v1.4.1"], ["GLnexus"]),
    ],
)
def test_each_program_rule(lines: list[str], programs: list[str]) -> None:
    assert vcf_programs(lines) == programs


def test_programs_keep_first_appearance_order_with_exact_token_dedup() -> None:
    lines = [
        "##fileformat=VCFv4.2",
        "##samtoolsVersion=1.16",
        "##source=tools",
        "##bcftools_viewVersion=1.16",
        "##samtoolsCommand=samtools mpileup",
        "##source=tools",
        "##source=Tools",
    ]
    assert vcf_programs(lines) == ["samtools", "tools", "bcftools_view", "Tools"]


@pytest.mark.parametrize(
    "line",
    [
        "##bcftools_callCommand=call -mv -o out.vcf",  # not "call": a command's first word is no program
        "##fileformat=VCFv4.2",
        "##reference=file://ref.fa",
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Raw read depth">',
        "##contig=<ID=chr1,length=248956422>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tgnomAD_DeepVariant_sample",  # sample names
        "##Command=x",  # no tool name before the suffix
        "##source=",
    ],
)
def test_lines_that_name_no_program_beyond_their_key(line: str) -> None:
    names = vcf_programs([line])
    assert "call" not in names and "gnomAD" not in names and "DeepVariant" not in names
    assert names in ([], ["bcftools_call"])


def test_structured_fields_handle_quotes_and_commas() -> None:
    fields = structured_fields('##contig=<ID=c1,length=42,assembly="b37, length=9",desc="a \\"q\\"">')
    assert fields == {"ID": "c1", "length": "42", "assembly": "b37, length=9", "desc": 'a "q"'}


# ---- header facts and counts ------------------------------------------------------------------


def test_counts_samples_and_contigs_without_length(tmp_path: Path) -> None:
    path = write(tmp_path, META + CHROM_2 + rec(1) + rec(2))
    record = record_of(path)
    assert features(record) == {"num_lines": "2", "num_samples": "2", "hdr_contigs": "2 (1000)", "gvcf": "false",
                                "study": "unknown"}  # two samples: a tumour/normal pair or two people  # fmt: skip
    assert record["source"] == {
        "codec": "NONE",
        "disk_size": path.stat().st_size,
        "txt_size": path.stat().st_size,
        "num_lines": 2,
    }
    assert record["qual_acgt"] is None
    assert record["programs"] is None


def test_header_only_file_has_no_records(tmp_path: Path) -> None:
    record = record_of(write(tmp_path, META + COLUMNS + "\n"))
    assert features(record)["num_lines"] == "0"
    assert features(record)["num_samples"] == "0"


def test_format_column_without_samples_accepts_eight_or_nine_columns(tmp_path: Path) -> None:
    body = "c1\t1\t.\tA\tC\t.\tPASS\t.\n" + "c1\t2\t.\tA\tC\t.\tPASS\t.\tGT\n"
    record = record_of(write(tmp_path, META + COLUMNS + "\tFORMAT\n" + body))
    assert features(record)["num_lines"] == "2"
    assert features(record)["num_samples"] == "0"


def test_crlf_line_ends_and_byte_order_mark(tmp_path: Path) -> None:
    text = "\ufeff" + (META + CHROM_2 + rec(1) + rec(2)).replace("\n", "\r\n")
    path = write(tmp_path, text)
    record = record_of(path)
    assert features(record)["num_lines"] == "2"
    assert features(record)["num_samples"] == "2"
    assert record["source"]["txt_size"] == path.stat().st_size  # type: ignore[index]


def test_last_record_without_newline(tmp_path: Path) -> None:
    path = write(tmp_path, META + CHROM_2 + rec(1) + rec(2).rstrip("\n"))
    assert features(record_of(path))["num_lines"] == "2"


@pytest.mark.parametrize("chunk_bytes", [7, 64, 200, 1000])
@pytest.mark.parametrize("name", ["calls.vcf", "calls.g.vcf.gz", "many_samples.vcf.gz", "donor_truth.vcf"])
def test_chunk_boundaries_do_not_change_anything(name: str, chunk_bytes: int) -> None:
    path = FIXTURES / name
    codec = sniff(path).codec

    def scan(size: int) -> tuple[object, ...]:
        text = TextScan(path, codec, size)
        header = text.read_header()
        counts = VariantCountsAccumulator()
        for batch in text.batches():
            counts.add(batch)
        return header, counts.records, counts.text_size, counts.reference_blocks

    assert scan(chunk_bytes) == scan(4 * 1024 * 1024)


def test_bcf_and_vcf_text_give_the_same_record() -> None:
    text, binary = record_of(FIXTURES / "calls.vcf"), record_of(FIXTURES / "calls.bcf")
    for key in ("features", "programs"):
        assert text[key] == binary[key]
    assert text["source"]["txt_size"] == binary["source"]["txt_size"]  # type: ignore[index]


@pytest.mark.parametrize("name", ["calls.bcf", "calls.g.bcf", "many_samples.bcf", "sites_u.bcf"])
def test_bcf_text_size_is_what_bcftools_view_prints(name: str) -> None:
    record = record_of(FIXTURES / name)
    assert record["source"]["txt_size"] == bcftools_text_size(FIXTURES / name)  # type: ignore[index]


@pytest.mark.parametrize("name", ["calls.vcf.gz", "calls.g.vcf.gz", "many_samples.vcf.gz", "sites.vcf.gz"])
def test_vcf_counts_match_bcftools(name: str) -> None:
    record = record_of(FIXTURES / name)
    with gzip.open(FIXTURES / name, "rb") as text:
        assert record["source"]["txt_size"] == len(text.read())  # type: ignore[index]
    records = pysam.bcftools.view("-H", str(FIXTURES / name)).count("\n")
    assert record["source"]["num_lines"] == records  # type: ignore[index]


def test_plain_gzip_vcf(tmp_path: Path) -> None:
    plain = (FIXTURES / "calls.vcf").read_bytes()
    path = write(tmp_path, gzip.compress(plain[:5000]) + gzip.compress(plain[5000:]), "calls.vcf.gz")
    record, reference = record_of(path), record_of(FIXTURES / "calls.vcf")
    assert record["source"]["codec"] == "GZ"  # type: ignore[index]
    assert record["source"]["txt_size"] == len(plain)  # type: ignore[index]
    assert record["features"] == reference["features"]


def test_open_gives_the_header_and_the_batches() -> None:
    extractor = VcfExtractor()
    for name in ("many_samples.vcf.gz", "many_samples.bcf"):
        path = FIXTURES / name
        with extractor.open(path, sniff(path), Options(batch_size=3)) as reading:
            header = reading.header
            assert (header.num_samples, header.num_contigs, header.contig_bases) == (3000, 2, 45000)
            assert sum(len(batch) for batch in reading.batches()) == 20


# ---- gVCF ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "gvcf"),
    [
        (rec(1, "<NON_REF>", "END=5"), True),  # GATK / DRAGEN
        (rec(1, "<*>", "END=5;MinDP=3"), True),  # DeepVariant
        (rec(1, ".", "END=5;MinDP=3"), True),  # bcftools call --gvcf
        (rec(1) + rec(2, "<*>", "DP=3;END=9"), True),  # END not first, in a later record
        (rec(1, "<*>", "DP=3"), False),  # bcftools mpileup: <*> everywhere, no blocks
        (rec(1, "<DEL>", "END=5;SVTYPE=DEL"), False),  # a structural variant
        (rec(1, "C,<NON_REF>", "END=5"), False),  # a variant site of a gVCF, not a block
        (rec(1, "<*>", "XEND=5;MEND=4"), False),  # other keys ending in END
        (rec(1, "<*>", "DP=3", rid="END=4"), False),  # END= outside INFO
        (rec(1, "<*>", "DP=3", samples=("END=1", "0/0;END=2")) + rec(2, ".", "DP=2;END;X=END=3"), False),
        (rec(1, ".", "."), False),
    ],
)
def test_gvcf_means_a_reference_block_record(tmp_path: Path, body: str, gvcf: bool) -> None:
    record = record_of(write(tmp_path, META + CHROM_2 + body))
    assert features(record)["gvcf"] == str(gvcf).lower()


@pytest.mark.parametrize(
    "text",
    [b"", b"\n", b"a", b"a\n", b"\t", b"\t\t\n\n", b"a\tb\tc\r\n", b"\t".join(b"%d" % n for n in range(12)) + b"\nx\n",
     b"\n\n", b"DP=3;END=9\n",
     b"\t" * 8 + b"END=1\t0\t1\t\t\n" + b"\t".join([b"1"] * 99) + b"\n" + b"\t" * 30,  # samples and words
     b"END=", b"xEND\n", b"ENDx=END\n", b"EEND=\n", b"E", b"EN\nD="],
)
def test_split_records_gives_lines_columns_and_tabs_as_python_does(text: bytes) -> None:
    check_split_records(text, 0)
    if text:
        check_split_records(b"#header\n" + text, len(b"#header\n"))


def test_split_records_on_every_fixture_vcf() -> None:
    for path in sorted(FIXTURES.glob("*.vcf")):
        check_split_records(path.read_bytes(), 0)


def check_split_records(text: bytes, begin: int) -> None:
    """`split_records` against Python's own split and find."""
    starts, ends, columns, tab_at, mentions_end = split_records(np.frombuffer(text, dtype=np.uint8), begin, TABS_KEPT)
    lines = text[begin:].split(b"\n")
    if text[begin:].endswith(b"\n") or begin == len(text):
        lines.pop()  # no line after the last newline
    assert [text[start:end] for start, end in zip(starts.tolist(), ends.tolist(), strict=True)] == lines
    assert columns.tolist() == [len(line.split(b"\t")) for line in lines]
    for line, start, end, found in zip(lines, starts.tolist(), ends.tolist(), tab_at.tolist(), strict=True):
        tabs = [start + at for at, byte in enumerate(line) if byte == ord("\t")][:TABS_KEPT]
        assert found == tabs + [end] * (TABS_KEPT - len(tabs))
    assert mentions_end is any(b"END=" in b"\t".join(line.split(b"\t")[:TABS_KEPT]) for line in lines)


def test_gvcf_in_a_sites_only_file(tmp_path: Path) -> None:
    body = "c1\t1\t.\tA\t<*>\t.\t.\tEND=20\n"
    assert features(record_of(write(tmp_path, META + COLUMNS + "\n" + body)))["gvcf"] == "true"


# ---- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (META, "missing #CHROM line: the file ends inside the header at line 4"),
        (META + rec(1), "missing #CHROM line before the first record at line 4"),
        (META + "\n" + CHROM_2, "missing #CHROM line before the first record at line 4"),
        (META + "#CHROM POS ID REF ALT QUAL FILTER INFO\n" + rec(1, samples=()), "malformed #CHROM line"),
        (META + COLUMNS.replace("REF", "ALLELE") + "\n", "malformed #CHROM line"),
        (META + COLUMNS + "\tsample1\n", "malformed #CHROM line"),
        (META + "#" + "\n", "malformed #CHROM line"),
        (
            META + CHROM_2 + rec(1) + rec(2, samples=("0/1",)),
            "record has 10 tab-separated columns, expected 11 (2 samples) at line 6",
        ),
        (META + CHROM_2 + rec(1) + rec(2, samples=()), "record has 8 tab-separated columns, expected 11"),
        (META + CHROM_2 + rec(1, samples=("0/1", "0/1", "1/1")), "record has 12 tab-separated columns"),
        (META + COLUMNS + "\n" + rec(1, samples=()) + rec(2), "expected 8 (sites-only) at line 6"),
        (META + COLUMNS + "\tFORMAT\ts1\n" + rec(1, samples=("0/1",)) + "\n", "empty line among the records at line 6"),
        (
            META + CHROM_2 + rec(1).replace("\t", " "),
            "record has 1 tab-separated columns, expected 11 (2 samples) at line 5",
        ),
    ],
)
def test_malformed_vcf_is_one_line_exit_2(tmp_path: Path, text: str, message: str) -> None:
    bad = write(tmp_path, text)
    result = run_cli("record", bad, FIXTURES / "calls.vcf", "--json")
    assert result.code == 2
    assert result.err.count("\n") == 1 and message in result.err, result.err
    assert result.err.startswith(f"genotel: error: {bad}: ")
    assert result.json()["data_type"] == "VCF"  # type: ignore[index]  # the other file still ran


def test_malformed_record_deep_in_a_bgzf_file(tmp_path: Path) -> None:
    lines = (FIXTURES / "calls.vcf").read_text().splitlines(keepends=True)
    assert lines[59].startswith("ec536_") and "\tGT:PL\t" in lines[59]
    lines[59] = lines[59].replace("\tGT:PL\t", "\t")
    text = tmp_path / "bad.vcf"
    text.write_text("".join(lines))
    pysam.tabix_compress(str(text), str(tmp_path / "bad.vcf.gz"))
    result = run_cli("record", tmp_path / "bad.vcf.gz")
    assert result.code == 2
    assert result.err.endswith("record has 9 tab-separated columns, expected 10 (1 sample) at line 60\n")


def test_truncated_bgzf_vcf_names_the_line_it_cuts(tmp_path: Path) -> None:
    data = (FIXTURES / "many_samples.vcf.gz").read_bytes()
    path = write(tmp_path, data[: len(data) * 2 // 3], "cut.vcf.gz")
    result = run_cli("record", path, FIXTURES / "calls.bcf")
    assert result.code == 2
    assert result.err.startswith(f"genotel: error: {path}: truncated or corrupt compressed data (")
    assert result.err.endswith(" at line 19\n")  # `gzip -dc` gives 18 whole lines
    assert "calls.bcf: BCF" in result.out


def bgzf_blocks(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of every BGZF block."""
    blocks, offset = [], 0
    while offset < len(data):
        size = struct.unpack("<H", data[offset + 16 : offset + 18])[0] + 1
        blocks.append((offset, size))
        offset += size
    return blocks


def flip_bytes(data: bytes, position: int, count: int = 8) -> bytes:
    changed = bytearray(data)
    for index in range(position, position + count):
        changed[index] ^= 0x5A
    return bytes(changed)


def test_corrupt_bcf_record_names_the_record(tmp_path: Path) -> None:
    data = (FIXTURES / "many_samples.bcf").read_bytes()
    second_offset, second_size = bgzf_blocks(data)[1]
    path = write(tmp_path, flip_bytes(data, second_offset + second_size // 2), "bad.bcf")
    result = run_cli("record", path, FIXTURES / "calls.vcf")
    assert result.code == 2
    # bcftools view reads 7 records before the same CRC error
    problem = "corrupt or truncated BCF record (htslib cannot decode it)"
    assert result.err == f"genotel: error: {path}: {problem} at record 8\n"
    assert "calls.vcf: VCF" in result.out


def test_bcf_cut_at_a_block_boundary(tmp_path: Path) -> None:
    data = (FIXTURES / "many_samples.bcf").read_bytes()
    blocks = bgzf_blocks(data)
    path = write(tmp_path, data[: blocks[1][0]] + data[blocks[-1][0] :], "cut.bcf")  # keeps the EOF block
    result = run_cli("record", path)
    assert result.code == 2
    assert "corrupt or truncated BCF record" in result.err and result.err.endswith("at record 8\n")


def test_corrupt_bcf_header(tmp_path: Path) -> None:
    path = tmp_path / "bad.bcf"
    with BGZFile(str(path), "wb") as bgzf:  # BCF magic, then a header length that lies
        bgzf.write(b"BCF\x02\x02" + (20).to_bytes(4, "little") + b"##fileformat=VCFv4.2" + bytes(100))
    result = run_cli("record", path)
    assert result.code == 2
    assert result.err == f"genotel: error: {path}: cannot read the BCF header (cannot parse VCF header)\n"


def test_corrupt_compressed_bcf_header(tmp_path: Path) -> None:
    path = write(tmp_path, flip_bytes((FIXTURES / "calls.bcf").read_bytes(), 200), "bad.bcf")
    result = run_cli("record", path)
    assert result.code == 2
    assert result.err.startswith(f"genotel: error: {path}: corrupt gzip data (")
    assert result.err.count("\n") == 1


def test_nothing_is_written_next_to_the_input(tmp_path: Path) -> None:
    for name in ("calls.bcf", "calls.vcf.gz"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    assert run_cli("record", tmp_path / "calls.bcf", tmp_path / "calls.vcf.gz").code == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["calls.bcf", "calls.vcf.gz"]
