"""GFF3/GTF: every programs rule, every feature, every bad input, and nothing written beside the file."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pysam
import pytest

from genotel.engine import make_record
from genotel.extractors.gff import GffParser, GffSummary
from genotel.extractors.gff_programs import comment_program, program_name, strip_version
from genotel.options import Options
from genotel.textio import line_batches

from conftest import FIXTURES, run_cli

GFF3 = "##gff-version 3\n"
ATTRS = "ID=g1"


def feature(source: str = "src", start: str = "1", end: str = "10", attrs: str = ATTRS, seqid: str = "c1") -> str:
    return f"{seqid}\t{source}\tgene\t{start}\t{end}\t.\t+\t.\t{attrs}\n"


def gtf_feature(source: str = "src", attrs: str = 'gene_id "g1"; transcript_id "t1";') -> str:
    return f"c1\t{source}\texon\t1\t10\t.\t+\t.\t{attrs}\n"


def write(tmp_path: Path, text: str | bytes, name: str = "in.gff") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def record_of(path: Path) -> dict[str, object]:
    return make_record(path, Options()).to_dict()


def features(record: dict[str, object]) -> dict[str, str]:
    items = str(record["features"]).rstrip(";").split(";")
    return dict(item.split("=", 1) for item in items)


# ---- programs: source column ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("Prodigal_v2.6.3", "Prodigal"),  # _v1.2
        ("GeneMark.hmm 3.25", "GeneMark.hmm"),  # space 1.2
        ("Liftoff-1.6.3", "Liftoff"),  # -1.2
        ("tRNAscan-SE v2.0.6", "tRNAscan-SE"),  # space v1.2
        ("snap v2", "snap"),  # v2
        ("maker_v3", "maker"),  # _v2
        ("HMMERv3", "HMMER"),  # v2 without separator
        ("barrnap:0.9", "barrnap"),  # Prokka's tool:version
        ("Prodigal:002006", "Prodigal"),  # Prokka's zero-padded version
        ("AUGUSTUS 3", "AUGUSTUS"),  # space + bare digits
        ("tool (v1.2)", "tool"),  # in parentheses
        ("EVM_1.1.1-beta", "EVM"),  # suffix after the dotted version
        ("GeneMarkS-2", "GeneMarkS-2"),  # -N without a dot is part of the name
        ("GeneMarkS-2+", "GeneMarkS-2+"),
        ("bwa-mem2", "bwa-mem2"),
        ("BRAKER2", "BRAKER2"),
        ("tRNAscan-SE", "tRNAscan-SE"),
        ("ensembl_havana", "ensembl_havana"),
        ("v2", "v2"),  # never stripped to nothing
    ],
)
def test_strip_version(source: str, name: str) -> None:
    assert strip_version(source) == name


def test_program_name_excludes_dot_and_empty_and_unescapes_gff3() -> None:
    assert program_name(".") is None
    assert program_name("") is None
    assert program_name("Protein%20Homology", unescape=True) == "Protein Homology"
    assert program_name("Protein%20Homology", unescape=False) == "Protein%20Homology"


def test_sources_in_order_of_first_appearance_with_dedup(tmp_path: Path) -> None:
    body = feature("B_v1.0") + feature(".") + feature("A") + feature("B_v2.0") + feature("Gnomon") + feature("A")
    assert record_of(write(tmp_path, GFF3 + body))["programs"] == "B;A;Gnomon;"


def test_only_dot_sources_give_null_programs(tmp_path: Path) -> None:
    assert record_of(write(tmp_path, GFF3 + feature(".") * 3))["programs"] is None


def test_gff3_source_is_percent_unescaped(tmp_path: Path) -> None:
    assert record_of(write(tmp_path, GFF3 + feature("Protein%20Homology")))["programs"] == "Protein Homology;"


def test_sources_that_alternate_line_by_line(tmp_path: Path) -> None:
    body = "".join(feature(source) for source in ["x", "yy", "x", "zzz", "yy"] * 50)
    assert record_of(write(tmp_path, GFF3 + body))["programs"] == "x;yy;zzz;"


# ---- programs: producer directives and comments ---------------------------------------------


@pytest.mark.parametrize(
    ("line", "in_header", "name"),
    [
        ("#!processor NCBI annotwriter", False, "NCBI annotwriter"),
        (
            "#!annotation-source NCBI RefSeq GCF_000001405.40-RS_2023_10",
            False,
            "NCBI RefSeq GCF_000001405.40-RS_2023_10",
        ),
        ("#!annotation-source NCBI Annotation Release 109.20190905", False, "NCBI Annotation Release"),
        ("##source-version rtracklayer 1.48.0", False, "rtracklayer"),
        ("##provider: GENCODE", False, "GENCODE"),
        ("#!genome-build GRCh38.p14", True, None),
        ("#!genome-build-accession NCBI_Assembly:GCF_000001405.40", True, None),
        ("#!genome-version GRCh38", True, None),
        ("#!gff-spec-version 1.21", True, None),
        ("#!annotation-date 08/24/2023", True, None),
        ("##sequence-region c1 1 1000", True, None),
        ("# gffread v0.12.7", True, "gffread"),
        ("# gffread v0.12.7", False, None),  # a signature only counts before the first feature
        ("# gffread /data/in.gff -o out.gff", True, None),  # a command line is never taken
        ("# This output was generated with AUGUSTUS (version 3.3.3).", True, "AUGUSTUS"),
        ("# Annotated with Bakta", True, "Bakta"),
        ("# StringTie version 2.2.1", True, "StringTie"),
        ("# Sequence Data: seqnum=1;seqlen=25000", True, None),
    ],
)
def test_comment_program(line: str, in_header: bool, name: str | None) -> None:
    assert comment_program(line, in_header) == name


def test_directives_and_sources_in_file_order(tmp_path: Path) -> None:
    text = (
        GFF3
        + "#!gff-spec-version 1.21\n#!processor NCBI annotwriter\n#!genome-build-accession NCBI_Assembly:GCF_1.1\n"
        + "#!annotation-source NCBI RefSeq\n##sequence-region c1 1 100\n"
        + feature("RefSeq")
        + feature("Gnomon")
        + "# gffread v0.12.7\n"  # after the first feature: not a signature
        + feature("cmsearch")
    )
    assert record_of(write(tmp_path, text))["programs"] == "NCBI annotwriter;NCBI RefSeq;RefSeq;Gnomon;cmsearch;"


def test_header_signature_of_gffread_output() -> None:
    gff3 = FIXTURES / "genes_gffread.gff"  # made by gffread in fixtures/make_gff.sh
    assert gff3.read_text().splitlines()[1].startswith("# gffread")  # what the rule is for
    assert record_of(gff3)["programs"] == "gffread;Prodigal;"


def test_gencode_provider_in_a_gtf(tmp_path: Path) -> None:
    text = "##description: evidence-based annotation\n##provider: GENCODE\n##format: gtf\n" + gtf_feature("HAVANA")
    path = write(tmp_path, text, "in.gtf")
    assert record_of(path)["data_type"] == "GTF"
    assert record_of(path)["programs"] == "GENCODE;HAVANA;"


# ---- programs: Prodigal's attributes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "gtf", "programs"),
    [
        ("ID=1_1;conf=99.9;score=75.04;cscore=74.05;sscore=0.99;", False, "Prodigal;"),
        ("ID=1_1;score=75.04;cscore=74.05;", False, None),  # sscore missing
        ("ID=1_1;cscore=74.05;sscore=0.99;", False, None),  # score missing
        ("ID=1_1;note=sscore cscore score", False, None),  # words in a value are not keys
        ('gene_id "g"; score "1"; cscore "2"; sscore "3";', True, "Prodigal;"),
        ('gene_id "g"; cscore "2"; sscore "3";', True, None),
    ],
)
def test_prodigal_from_score_attributes(tmp_path: Path, attrs: str, gtf: bool, programs: str | None) -> None:
    text = gtf_feature(".", attrs) if gtf else GFF3 + feature(".", attrs=attrs)
    path = write(tmp_path, text, "in.gtf" if gtf else "in.gff")
    assert record_of(path)["data_type"] == ("GTF" if gtf else "GFF")
    assert record_of(path)["programs"] == programs


def test_prodigal_attributes_found_on_a_late_line_keep_their_place(tmp_path: Path) -> None:
    body = feature("A") * 3 + feature(".", attrs="score=1;cscore=2;sscore=3") + feature("B")
    assert record_of(write(tmp_path, GFF3 + body))["programs"] == "A;Prodigal;B;"


def test_prodigal_fixtures() -> None:
    assert record_of(FIXTURES / "genes.gff")["programs"] == "Prodigal;"
    assert record_of(FIXTURES / "genes.gtf")["programs"] == "Prodigal;"  # from the source column


# ---- features --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "name", "data_type", "version"),
    [
        ("##gff-version 3\n", "in.gff", "GFF", "3"),
        ("##gff-version  3\n", "in.gff", "GFF", "3"),  # prodigal writes two spaces
        ("##gff-version 3.1.26\n", "in.gff", "GFF", "3.1.26"),
        ("", "in.gff", "GFF", "none"),
        ("#!genome-build x\n", "in.gtf", "GTF", "GTF"),
        ("##gff-version 2\n", "in.gtf", "GTF", "2"),  # a declared GFF2 with GTF attributes is GTF
    ],
)
def test_gff_version(tmp_path: Path, head: str, name: str, data_type: str, version: str) -> None:
    body = gtf_feature() if data_type == "GTF" else feature()
    record = record_of(write(tmp_path, head + body, name))
    assert record["data_type"] == data_type
    assert features(record)["GFF_version"] == version


def test_num_lines_counts_feature_lines_only(tmp_path: Path) -> None:
    text = GFF3 + "# comment\n" + feature() + "\n   \n###\n" + feature() + "#!processor x\n" + feature()
    record = record_of(write(tmp_path, text))
    assert features(record) == {"GFF_version": "3", "num_lines": "3"}
    assert record["source"]["num_lines"] == 3  # type: ignore[index]
    assert record["source"]["txt_size"] == len(text)  # type: ignore[index]


@pytest.mark.parametrize("start_fasta", ["##FASTA\n", ""])  # with the directive, or a bare '>' line
def test_embedded_fasta_is_counted_apart(tmp_path: Path, start_fasta: str) -> None:
    fasta = ">c1 desc\nACGT\nAC\n>c2\nGG\tTT\n\n>c3\n"  # a tab in the FASTA part is not a column
    record = record_of(write(tmp_path, GFF3 + feature() * 2 + start_fasta + fasta))
    assert features(record) == {"GFF_version": "3", "num_lines": "2", "num_fasta_sequences": "3"}
    assert str(record["features"]).endswith("num_fasta_sequences=3;")


def test_fasta_directive_at_the_end_of_a_chunk(tmp_path: Path) -> None:
    empty = write(tmp_path, GFF3 + feature() + "##FASTA\n", "empty.gff")
    assert features(record_of(empty)) == {"GFF_version": "3", "num_lines": "1", "num_fasta_sequences": "0"}
    # the directive closes one chunk, the FASTA section fills the next
    text = GFF3 + feature() + "##FASTA\n" + ">c1\n" + "ACGT" * 30 + "\n"
    path = write(tmp_path, text)
    parser, summary = GffParser(path, gtf=False), GffSummary()
    for lines in line_batches(path, "NONE", len(GFF3 + feature() + "##FASTA\n")):
        summary.add(parser.parse(lines))
    assert (summary.feature_lines, summary.fasta_section, summary.fasta_sequences) == (1, True, 1)


def test_fixture_with_embedded_fasta() -> None:
    record = record_of(FIXTURES / "genes_fasta.gff")
    assert record["features"] == "GFF_version=3;num_lines=40;num_fasta_sequences=2;"
    assert record["source"]["txt_size"] == (FIXTURES / "genes_fasta.gff").stat().st_size  # type: ignore[index]


def test_no_fasta_feature_without_a_fasta_section() -> None:
    assert "num_fasta_sequences" not in str(record_of(FIXTURES / "genes.gff")["features"])


def test_crlf_and_byte_order_mark_change_nothing_but_size(tmp_path: Path) -> None:
    text = (FIXTURES / "genes.gff").read_text()
    windows = write(tmp_path, "\ufeff" + text.replace("\n", "\r\n"))
    plain, crlf = record_of(FIXTURES / "genes.gff"), record_of(windows)
    assert (crlf["features"], crlf["programs"]) == (plain["features"], plain["programs"])


@pytest.mark.parametrize("compress", ["gzip", "bgzf"])
def test_compressed_gff_gives_the_same_record(tmp_path: Path, compress: str) -> None:
    source = FIXTURES / "genes_fasta.gff"
    if compress == "bgzf":
        path = tmp_path / "in.gff.gz"
        pysam.tabix_compress(str(source), str(path))  # htslib's bgzip, bundled with pysam
    else:
        path = write(tmp_path, gzip.compress(source.read_bytes()), "in.gff.gz")
    plain, packed = record_of(source), record_of(path)
    assert packed["source"]["codec"] == ("BGZF" if compress == "bgzf" else "GZ")  # type: ignore[index]
    assert packed["source"]["txt_size"] == plain["source"]["txt_size"]  # type: ignore[index]
    assert (packed["features"], packed["programs"]) == (plain["features"], plain["programs"])


@pytest.mark.parametrize("chunk_bytes", [50, 333, 4096])
def test_small_chunks_give_the_same_summary(tmp_path: Path, chunk_bytes: int) -> None:
    text = "##gff-version 3\n# Annotated with Bakta\n" + (FIXTURES / "genes_fasta.gff").read_text().split("\n", 1)[1]
    path = write(tmp_path, text)

    def summary(size: int) -> GffSummary:
        parser, total = GffParser(path, gtf=False), GffSummary()
        for lines in line_batches(path, "NONE", size):
            total.add(parser.parse(lines))
        return total

    small, whole = summary(chunk_bytes), summary(1 << 22)
    counts = ("text_size", "feature_lines", "fasta_section", "fasta_sequences", "gff_version")
    assert [getattr(small, name) for name in counts] == [getattr(whole, name) for name in counts]
    assert [whole.feature_lines, whole.fasta_sequences, whole.gff_version] == [40, 2, "3"]
    assert list(dict.fromkeys(small.programs)) == list(dict.fromkeys(whole.programs)) == ["Bakta", "Prodigal"]


# ---- bad input -------------------------------------------------------------------------------

BAD_LINES = [
    (feature().replace("\t+\t.\t" + ATTRS, "\t+\t."), "8 tab-separated columns, expected 9"),
    (feature().rstrip("\n") + "\textra\n", "10 tab-separated columns, expected 9"),
    (feature().rstrip("\n") + "\t\n", "10 tab-separated columns, expected 9"),  # a trailing tab
    ("c1 src gene 1 10 . + . ID=g1\n", "1 tab-separated columns, expected 9"),  # spaces, not tabs
    (feature(start="1x"), "start (column 4) is not an unsigned integer: '1x'"),
    (feature(start="-5"), "start (column 4) is not an unsigned integer: '-5'"),
    (feature(start=""), "start (column 4) is not an unsigned integer: ''"),
    (feature(end="10.5"), "end (column 5) is not an unsigned integer: '10.5'"),
    (feature(end="1e6"), "end (column 5) is not an unsigned integer: '1e6'"),
    (feature(end="9" * 19), "end (column 5) is not an unsigned integer"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_malformed_feature_line(tmp_path: Path, bad: str, message: str) -> None:
    path = write(tmp_path, GFF3 + feature() + "# note\n" + feature() + bad + feature())
    result = run_cli("record", path, "--json")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert message in result.err
    assert result.err.rstrip().endswith("at line 5")


@pytest.mark.parametrize("line_number", [2, 700, 1500])
def test_bad_line_number_beyond_the_first_chunk(tmp_path: Path, line_number: int) -> None:
    lines = [GFF3] + [feature()] * 1999
    lines[line_number - 1] = feature(end="x")
    path = write(tmp_path, "".join(lines))
    parser = GffParser(path, gtf=False)
    with pytest.raises(Exception, match=f"end \\(column 5\\) is not an unsigned integer: 'x' at line {line_number}$"):
        for batch in line_batches(path, "NONE", 4096):
            parser.parse(batch)


def test_sequence_before_the_first_header_of_the_fasta_section(tmp_path: Path) -> None:
    path = write(tmp_path, GFF3 + feature() + "##FASTA\n\nACGT\n>c1\nACGT\n")
    result = run_cli("record", path)
    assert result.code == 2
    assert "sequence data before the first '>' of the FASTA section at line 5" in result.err


@pytest.mark.parametrize("keep_bytes", [100, 1000, -28])  # -28: everything but the BGZF EOF block
def test_truncated_bgzf(tmp_path: Path, keep_bytes: int) -> None:
    data = (FIXTURES / "genes.gff.gz").read_bytes()
    path = write(tmp_path, data[:keep_bytes], "cut.gff.gz")
    result = run_cli("record", path)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "truncated BGZF file" in result.err


@pytest.mark.parametrize("keep_bytes", [200, 2000])
def test_truncated_gzip(tmp_path: Path, keep_bytes: int) -> None:
    data = gzip.compress((FIXTURES / "genes_fasta.gff").read_bytes())
    path = write(tmp_path, data[:keep_bytes], "cut.gff.gz")
    result = run_cli("record", path)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "truncated or corrupt compressed data" in result.err


def test_other_files_still_run_after_a_bad_one(tmp_path: Path) -> None:
    bad = write(tmp_path, GFF3 + feature(start="x"))
    result = run_cli("record", bad, FIXTURES / "genes.gtf", "--json")
    assert result.code == 2
    assert "at line 2" in result.err
    assert result.json()["data_type"] == "GTF"  # type: ignore[index]


# ---- nothing beside the input -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["genes.gff", "genes.gtf", "genes.gff.gz", "genes_fasta.gff"])
def test_nothing_is_written_beside_the_input(tmp_path: Path, name: str) -> None:
    shutil.copy(FIXTURES / name, tmp_path / name)
    before = sorted(path.name for path in tmp_path.iterdir())
    assert run_cli("record", tmp_path / name).code == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == before
