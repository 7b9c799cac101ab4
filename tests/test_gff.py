"""GFF3/GTF: programs rules, features, probe streams, hash_issues, bad input, nothing written beside the file."""

from __future__ import annotations

import gzip
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pysam
import pytest

from genotel.engine import extract
from genotel.extractors.base import Extraction, field_issues
from genotel.extractors.gff.extractor import GffParser, GffSummary
from genotel.extractors.gff.fields import GffStreams
from genotel.extractors.gff.programs import comment_program, program_name
from genotel.extractors.programs import strip_version
from genotel.options import DEFAULT_CODEC_LEVEL, Options
from genotel.sniff import sniff
from genotel.stats.gain import GainProbe
from genotel.stats.text_streams import GATHER_BLOCK_BYTES, gather_blocked
from genotel.textio import line_batches

from conftest import FIXTURES, features, record_of, run_cli, stream_sizes

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


@pytest.mark.parametrize(("keep_bytes", "line"), [(100, 1), (1000, 19)])  # no EOF block only: test_lenient.py
def test_truncated_bgzf(tmp_path: Path, keep_bytes: int, line: int) -> None:
    data = (FIXTURES / "genes.gff.gz").read_bytes()
    path = write(tmp_path, data[:keep_bytes], "cut.gff.gz")
    result = run_cli("record", path)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "truncated or corrupt compressed data" in result.err and result.err.endswith(f" at line {line}\n")


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


# ---- the probe's streams ----------------------------------------------------------------------

COLUMN_STREAMS = ("SEQID", "SOURCE", "TYPE", "START", "END", "SCORE", "STRAND", "PHASE")


def split_text_lines(text: bytes) -> list[bytes]:
    """Lines with their `\\n` (the last one may lack it); only `\\n` ends a line, as in genotel."""
    parts = text.split(b"\n")
    return [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def reference_streams(text: bytes, gtf: bool) -> dict[str, bytes]:
    """The streams as stats/gff_streams.py's docstring defines them, in plain Python, line by line."""
    out: dict[str, bytearray] = defaultdict(bytearray)
    keys: dict[bytes, bool] = {}  # key -> has a stream (the first 128 plain keys)
    state = "header"
    for number, line in enumerate(split_text_lines(text)):
        body = line.rstrip(b"\n")
        body = body[:-1] if body.endswith(b"\r") else body
        ending = line[len(body) :]
        bom = b"\xef\xbb\xbf" if number == 0 and body.startswith(b"\xef\xbb\xbf") else b""
        content = body[len(bom) :]
        if state != "fasta" and (content.startswith(b">") or content.strip() == b"##FASTA"):
            state = "fasta"
            if content.startswith(b"##"):
                out["Other"] += line
                continue
        feature = content and not content.startswith(b"#") and content.count(b"\t") == 8
        if state == "header" and not feature and state != "fasta":
            out["TXT_HEADER"] += line
            continue
        if state == "fasta":
            name = "DESC" if content.startswith(b">") else "Other" if not content or content[:1] == b";" else "SEQ"
            out["Other"] += bom
            out[name] += content
            out["Other"] += ending
            continue
        state = "body"
        if not feature:
            out["Other"] += line
            continue
        out["Other"] += bom
        columns = content.split(b"\t")
        for name, column in zip(COLUMN_STREAMS, columns, strict=False):
            out[name] += column
            out["Other"] += b"\t"
        for index, raw_item in enumerate(columns[8].split(b";")):
            out["Other"] += b";" if index else b""
            item = raw_item.lstrip(b" ")
            out["Other"] += raw_item[: len(raw_item) - len(item)]
            at = item.find(b" " if gtf else b"=")
            key = item[:at]
            if 0 < at <= 64 and key not in keys:
                plain = all(0x21 <= byte <= 0x7E and byte != 0x2C for byte in key)
                keys[key] = plain and sum(keys.values()) < 128
            if not (0 < at <= 64 and keys[key]):
                out["Other"] += item
                continue
            prefix, value, suffix = item[: at + 1], item[at + 1 :], b""
            if gtf:
                spaces = len(value) - len(value.lstrip(b" "))
                prefix, value = prefix + value[:spaces], value[spaces:]
                if len(value) >= 2 and value[:1] == value[-1:] == b'"':
                    prefix, value, suffix = prefix + b'"', value[1:-1], b'"'
            out["Other"] += prefix
            out[f"ATTR/{key.decode()}"] += value
            out["Other"] += suffix
        out["Other"] += ending
    return {name: bytes(value) for name, value in out.items() if value}


def extraction_of(path: Path, options: Options | None = None) -> Extraction:
    return extract(path, options or Options())


def probe_streams(path: Path) -> dict[str, tuple[int, int]]:
    streams = extraction_of(path).streams
    assert streams is not None
    return {name: (text, compressed) for name, text, compressed in streams}


def expected_streams(text: bytes, gtf: bool) -> dict[str, tuple[int, int]]:
    return stream_sizes(reference_streams(text, gtf))


GFF_FIXTURES = ["genes.gff", "genes.gtf", "genes_fasta.gff", "genes_gffread.gff", "genes.gff.gz"]


@pytest.mark.parametrize("name", GFF_FIXTURES)
def test_streams_hold_every_byte_as_defined(name: str) -> None:
    path = FIXTURES / name
    text = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    got = probe_streams(path)
    assert got == expected_streams(text, gtf=name.endswith(".gtf"))  # sizes and compressed sizes
    assert sum(size for size, _ in got.values()) == len(text)


@pytest.mark.parametrize("name", GFF_FIXTURES)
def test_fields_gain_follows_the_contract(name: str) -> None:
    record, streams = record_of(FIXTURES / name), probe_streams(FIXTURES / name)
    items = [item.split(",") for item in str(record["fields_gain"]).split("; ")]
    assert [key for key, _, _ in items] == sorted(streams, key=lambda key: (-streams[key][1], key))
    total = sum(compressed for _, compressed in streams.values())
    # Shares are rounded by largest remainder (record.py): each within 0.1 of the exact share,
    # and together exactly 100.0.
    assert all(abs(float(share.rstrip("%")) - 100 * streams[key][1] / total) < 0.1 for key, share, _ in items)
    assert round(sum(float(share.rstrip("%")) for _, share, _ in items), 1) == 100.0
    assert all(ratio == f"{streams[key][0] / streams[key][1]:.1f}X" for key, _, ratio in items)
    assert record["genozip_gain"] == round(sum(s[0] for s in streams.values()) / sum(s[1] for s in streams.values()), 1)
    assert sum(size for size, _ in streams.values()) == record["source"]["txt_size"]  # type: ignore[index]
    assert str(record["flags"]).startswith(f"codec=zstd-{DEFAULT_CODEC_LEVEL}; sample=all;")


def test_prodigal_streams_by_name() -> None:
    streams = probe_streams(FIXTURES / "genes.gff")
    attributes = ["ID", "partial", "start_type", "rbs_motif", "rbs_spacer", "gc_cont", "conf", "score", "cscore"]
    attributes += ["sscore", "rscore", "uscore", "tscore"]
    assert list(streams) == ["Other", "TXT_HEADER", *COLUMN_STREAMS, *(f"ATTR/{key}" for key in attributes)]
    # TXT_HEADER is the three lines before the first feature (prodigal's second '# Sequence Data' is Other).
    header = b"".join((FIXTURES / "genes.gff").read_bytes().split(b"\n", 3)[:3]) + b"\n" * 3
    assert streams["TXT_HEADER"][0] == len(header)
    identifiers = [f"1_{index}" for index in range(1, 23)] + [f"2_{index}" for index in range(1, 19)]
    assert streams["ATTR/ID"][0] == len("".join(identifiers))


INLINE_CASES = {
    "crlf_and_bom": "\ufeff" + (GFF3 + "# c\n" + feature() + feature(attrs="ID=g2;Name=x")).replace("\n", "\r\n"),
    "bom_on_a_feature_line": "\ufeff" + feature() + feature(),
    "no_header": feature() + "# middle\n\n" + feature(attrs="ID=g2") + "###\n",
    "only_a_header": GFF3 + "# nothing else\n",
    "spaces_and_odd_items": GFF3 + feature(attrs="ID=a; Name=b;  Note=c d;;flag;=v;.;x,y=1;Note=;ID=z;"),
    "dot_attributes": GFF3 + feature(attrs=".") + feature(attrs=""),
    "long_keys": GFF3 + feature(attrs=f"{'k' * 64}=kept;{'q' * 65}=other;{'k' * 64}=again"),
    "fasta_directive": GFF3 + feature() + "##FASTA\n>c1 d\r\nACGT\n\n;c\nAC\n>c2\nGG",
    "implicit_fasta": GFF3 + feature() + feature() + ">c1\nACGT\n",
    "fasta_only": GFF3 + "##FASTA\n>c1\nAC\n",
    "no_final_newline": GFF3 + feature().rstrip("\n"),
    "non_ascii_key": GFF3 + feature(attrs="ID=a;n\u00e9=v;Name=\u00e9t\u00e9"),
}


@pytest.mark.parametrize("case", sorted(INLINE_CASES))
def test_streams_of_inline_gff3(tmp_path: Path, case: str) -> None:
    text = INLINE_CASES[case].encode()
    got = probe_streams(write(tmp_path, text))
    assert got == expected_streams(text, gtf=False)
    assert sum(size for size, _ in got.values()) == len(text)


def test_attribute_items_split_as_documented(tmp_path: Path) -> None:
    got = probe_streams(write(tmp_path, INLINE_CASES["spaces_and_odd_items"].encode()))
    assert {name: size for name, (size, _) in got.items() if name.startswith("ATTR/")} == {
        "ATTR/ID": 2,  # a, z
        "ATTR/Name": 1,
        "ATTR/Note": 3,  # 'c d' and an empty value
    }  # 'flag', '=v', '.' (no key) and 'x,y' (a comma) are Other
    long_keys = probe_streams(write(tmp_path, INLINE_CASES["long_keys"].encode()))
    assert [name for name in long_keys if name.startswith("ATTR/")] == [f"ATTR/{'k' * 64}"]
    assert long_keys[f"ATTR/{'k' * 64}"][0] == len("keptagain")


@pytest.mark.parametrize(
    "attrs",
    [
        'gene_id "g1"; transcript_id "t1";',
        'gene_id "g 1";transcript_id  "t1"; exon_number 3; note "";  tag "a;',
        'gene_id "g1"; level 2; odd "x; "y" ;',
    ],
)
def test_streams_of_inline_gtf(tmp_path: Path, attrs: str) -> None:
    text = ("##description: x\n" + gtf_feature(attrs=attrs) * 3).encode()
    path = write(tmp_path, text, "in.gtf")
    assert sniff(path).data_type == "GTF"
    assert probe_streams(path) == expected_streams(text, gtf=True)


def test_gtf_values_lose_their_quotes(tmp_path: Path) -> None:
    path = write(tmp_path, gtf_feature(attrs='gene_id "g1"; transcript_id "t10";'), "in.gtf")
    sizes = {name: size for name, (size, _) in probe_streams(path).items()}
    assert (sizes["ATTR/gene_id"], sizes["ATTR/transcript_id"]) == (2, 3)


def test_at_most_128_attribute_streams(tmp_path: Path) -> None:
    attrs = ";".join(f"k{index}=v" for index in range(130))
    text = (GFF3 + feature(attrs=attrs) * 2).encode()
    got = probe_streams(write(tmp_path, text))
    assert [name for name in got if name.startswith("ATTR/")] == [f"ATTR/k{index}" for index in range(128)]
    assert got == expected_streams(text, gtf=False)


@pytest.mark.parametrize("chunk_bytes", [40, 333, 4096])
def test_streams_do_not_depend_on_chunk_boundaries(tmp_path: Path, chunk_bytes: int) -> None:
    text = (FIXTURES / "genes_fasta.gff").read_bytes().replace(b"\n", b"\r\n", 60)  # some CRLF lines
    path = write(tmp_path, text)
    parser, probe = GffParser(path, gtf=False), GainProbe()
    streams = GffStreams(probe, gtf=False)
    for lines in line_batches(path, "NONE", chunk_bytes):
        batch = parser.parse(lines)
        assert batch.layout is not None
        streams.add(batch.layout, len(batch))
    sizes = {size.name: (size.text_size, size.compressed_size) for size in probe.result()}
    assert sizes == probe_streams(path)
    assert probe_streams(path) == expected_streams(text, gtf=False)


def test_no_gain_gives_no_streams() -> None:
    result = run_cli("record", FIXTURES / "genes.gff", "--json", "--no-gain")
    assert result.code == 0
    record = result.json()
    assert (record["fields_gain"], record["genozip_gain"]) == (None, None)  # type: ignore[index]
    assert str(record["flags"]).startswith("codec=none; ")  # type: ignore[index]


# ---- hash_issues form 1 ---------------------------------------------------------------------------


def test_unique_prodigal_ids_stay_within_the_table_model() -> None:
    # 40 unique IDs in 40 records: the table is sized from them (next power of two >= 5 x 40 = 256),
    # so the occupancy is 40/256 = 15 % and nothing is reported -- as the contract intends.
    path = FIXTURES / "genes.gff"
    parser, streams = GffParser(path, gtf=False), GffStreams(None, gtf=False)
    for lines in line_batches(path, "NONE"):
        batch = parser.parse(lines)
        assert batch.layout is not None
        streams.add(batch.layout, len(batch))
    results = {accumulator.name: accumulator.result() for accumulator in streams.cardinality.values()}
    identifiers = results["ID"]
    assert (identifiers.distinct, identifiers.table_entries, identifiers.occupancy_percent) == (40, 256, 15)
    assert identifiers.examples == ["1_1", "1_2", "1_3", "2_16", "2_17", "2_18"]
    assert results["partial"].distinct == 3
    assert {accumulator.parent for accumulator in streams.cardinality.values()} == {"ATTR"}
    assert field_issues(streams.field_results()) == []
    assert record_of(path)["hash_issues"] == []


def late_unique_values(gtf: bool) -> str:
    """10,000 features with one Name, then 200 with unique Names: unique only after the model's records."""
    names = ["same"] * 10_000 + [f"u{index}" for index in range(1, 201)]
    if gtf:
        return "".join(gtf_feature(attrs=f'gene_id "g"; gene_name "{name}";') for name in names)
    return GFF3 + "".join(feature(attrs=f"ID=g;Name={name}") for name in names)


@pytest.mark.parametrize(("gtf", "field"), [(False, "Name"), (True, "gene_name")])
@pytest.mark.parametrize("options", [[], ["--no-gain"], ["--sample", "10100"]])
def test_values_unique_after_the_model_records_are_reported(
    tmp_path: Path, gtf: bool, field: str, options: list[str]
) -> None:
    path = write(tmp_path, late_unique_values(gtf), "in.gtf" if gtf else "in.gff")
    result = run_cli("record", path, "--json", *options)
    assert result.code == 0, result.err
    # One distinct value in the first 10,000 records -> a table of 8 entries; the distinct count is
    # 201 (101 with --sample 10100), so the occupancy is 2512 % (1262 %).
    if options[:1] == ["--sample"]:
        expected = f"{field},ATTR,8 B,1262%,same,u1,u2,u98,u99,u100"
    else:
        expected = f"{field},ATTR,8 B,2512%,same,u1,u2,u198,u199,u200"
    assert result.json()["hash_issues"] == [expected]  # type: ignore[index]


def test_sample_within_the_model_records_reports_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, late_unique_values(gtf=False))
    result = run_cli("record", path, "--json", "--sample", "10000")
    assert result.code == 0
    assert result.json()["hash_issues"] == []  # type: ignore[index]


def test_redact_hashes_the_examples(tmp_path: Path) -> None:
    path = write(tmp_path, late_unique_values(gtf=False))
    (entry,) = run_cli("record", path, "--json", "--redact").json()["hash_issues"]  # type: ignore[index]
    assert entry.startswith("Name,ATTR,8 B,2512%,")
    assert "same" not in entry and "u200" not in entry


def test_streams_of_a_file_of_many_gather_blocks(tmp_path: Path) -> None:
    text = late_unique_values(gtf=False).encode()  # 650 kB: ten blocks of the gather and more
    assert probe_streams(write(tmp_path, text)) == expected_streams(text, gtf=False)


def test_gather_blocked_matches_slicing() -> None:
    generator = np.random.default_rng(20240601)
    data = generator.integers(0, 256, 300_000, dtype=np.uint8)
    lengths = generator.choice([0, 1, 5, 40, 70_000], size=60, p=[0.2, 0.3, 0.3, 0.15, 0.05])
    gaps = generator.integers(0, 50, size=60)
    starts = np.cumsum(gaps + np.concatenate(([0], lengths[:-1])))
    starts, lengths = starts[starts + lengths <= len(data)], lengths[starts + lengths <= len(data)]
    expected = b"".join(data[start : start + length].tobytes() for start, length in zip(starts, lengths, strict=True))
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    assert gather_blocked(data, starts, lengths, offsets).tobytes() == expected
    assert len(expected) > 3 * GATHER_BLOCK_BYTES


def test_ever_new_keys_stay_bounded(tmp_path: Path) -> None:
    # 3,000 lines, each with two keys never seen before (one with a comma, so rejected), then ID.
    body = "".join(feature(attrs=f"a,{index}=x;k{index}=v;ID=g") for index in range(3000))
    text = (GFF3 + body).encode()
    got = probe_streams(write(tmp_path, text))
    attributes = [name for name in got if name.startswith("ATTR/")]
    assert attributes == ["ATTR/k0", "ATTR/ID", *(f"ATTR/k{index}" for index in range(1, 127))]  # 128 streams
    assert sum(size for size, _ in got.values()) == len(text)
    assert got["ATTR/ID"][0] == 3000  # a known key keeps its stream on every line
    assert got == expected_streams(text, gtf=False)  # the 512-key bound changes nothing here
    # 600 rejected keys fill the 512 remembered ones: a plain key after them is Other too
    text = (GFF3 + "".join(feature(attrs=f"a,{index}=x") for index in range(600)) + feature(attrs="late=1")).encode()
    got = probe_streams(write(tmp_path, text))
    assert not [name for name in got if name.startswith("ATTR/")]
    assert sum(size for size, _ in got.values()) == len(text)
