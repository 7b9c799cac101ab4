"""The analysis: deriving sequencer, mapper and callers from records, medians, shares and flags."""

from __future__ import annotations

from genotel.engine import make_record
from genotel.service.analysis import analyse, analysis_row, derive_columns, parse_fields_gain, parse_items

from conftest import FIXTURES


def row(data_type: str = "BAM", gain: float | None = 10.0, fields: str | None = None, **names: str | None) -> dict:
    base: dict[str, object] = {"sequencer": None, "mapper": None, "variant_caller": None, "base_caller": None,
                               "study": None}  # fmt: skip
    return {"data_type": data_type, "genozip_gain": gain, "fields_gain": fields, **base, **names}


def test_parse_items_and_fields_gain() -> None:
    items = parse_items("num_lines=6722;hdr_contigs=2 (45000);mapper=bwa;sequencer=Illumina;broken;mapper=x;")
    assert items == {"num_lines": "6722", "hdr_contigs": "2 (45000)", "mapper": "bwa", "sequencer": "Illumina"}
    text = "QUAL,53.1%,15.0X; QNAME,18.1%,11.4X; AS:i,1.4%,14.9X; junk; SEQ,x%,1X; INFO/A,B,2.0%,3X"
    shares = parse_fields_gain(text)
    assert shares == {"QUAL": 53.1, "QNAME": 18.1, "AS:i": 1.4, "INFO/A,B": 2.0}
    assert parse_fields_gain(None) == {} and parse_items(None) == {}
    assert parse_fields_gain("QUAL,nan%,3.0X; SEQ,inf%,1X; DESC,5.0%,2X") == {"DESC": 5.0}


def test_non_finite_gains_stored_earlier_leave_the_medians_alone() -> None:
    rows = [row(gain=g, fields="QUAL,nan%,1X; SEQ,50.0%,2X") for g in (10.0, float("nan"), float("inf"), 12.0)]
    result = analyse(rows)
    assert result["data_types"][0]["median_genozip_gain"] == 11.0  # type: ignore[index]
    assert result["groups"][0]["top_fields"] == [{"field": "SEQ", "share": 50.0}]  # type: ignore[index]


def test_derive_columns_from_programs_and_features() -> None:
    ont = derive_columns("BAM", "ID:basecaller PN:dorado;minimap2;samtools;", "mapper=minimap2;sequencer=ONT;")
    assert ont == {"sequencer": "ONT", "mapper": "minimap2", "variant_caller": None, "base_caller": "dorado",
                   "study": None}  # fmt: skip
    assert derive_columns("BAM", "STAR;", "mapper=STAR;study=RNA-seq;")["study"] == "RNA-seq"
    assert derive_columns("VCF", None, "num_samples=4;study=cohort;")["study"] == "cohort"
    assert derive_columns("FASTQ", None, "QNAME=Illumina;")["base_caller"] is None
    assert derive_columns("SAM", "guppy_basecaller;", "")["base_caller"] == "guppy"
    gatk = derive_columns("VCF", "GATK.HaplotypeCaller;GATK.SelectVariants;", "num_samples=1;")
    assert gatk["variant_caller"] == "GATK HaplotypeCaller" and gatk["base_caller"] is None
    assert derive_columns("BCF", "bcftools;bcftools_call;bcftools_view;", "")["variant_caller"] == "bcftools call"
    assert derive_columns("VCF", "SnpEff;", "")["variant_caller"] is None


def test_derive_columns_on_real_records() -> None:
    bam = make_record(FIXTURES / "aln_bwa.bam")
    assert derive_columns(bam.data_type, bam.programs, bam.features)["mapper"] == "bwa"
    assert derive_columns(bam.data_type, bam.programs, bam.features)["study"] == "WGS"
    rna = make_record(FIXTURES / "study_rnaseq.bam")
    assert derive_columns(rna.data_type, rna.programs, rna.features)["study"] == "RNA-seq"
    vcf = make_record(FIXTURES / "calls.vcf")
    assert derive_columns(vcf.data_type, vcf.programs, vcf.features)["variant_caller"] == "bcftools call"
    assert derive_columns(vcf.data_type, vcf.programs, vcf.features)["study"] == "germline"


def test_groups_medians_and_flags() -> None:
    rows = [row(gain=g, sequencer="Illumina", mapper="bwa") for g in (10.0, 11.0, 12.0)]
    rows += [row(gain=g, sequencer="ONT", mapper="minimap2", base_caller="dorado") for g in (6.0, 7.0)]
    rows += [row(gain=None, sequencer="ONT", mapper="minimap2", base_caller="dorado")]  # counted, not in median
    rows += [row("VCF", None, variant_caller="DeepVariant")]
    result = analyse(rows)
    assert result["records"] == 7
    types = {t["data_type"]: t for t in result["data_types"]}  # type: ignore[attr-defined]
    assert types["BAM"].items() >= {"data_type": "BAM", "count": 6, "median_genozip_gain": 10.0}.items()
    assert types["VCF"]["median_genozip_gain"] is None
    groups = {(g["data_type"], g["sequencer"]): g for g in result["groups"]}  # type: ignore[attr-defined]
    ont = groups[("BAM", "ONT")]
    assert ont["count"] == 3 and ont["median_genozip_gain"] == 6.5 and ont["flagged"]
    assert ont["vs_data_type_percent"] == -35.0
    assert not groups[("BAM", "Illumina")]["flagged"]
    assert not groups[("VCF", None)]["flagged"] and groups[("VCF", None)]["median_genozip_gain"] is None


def test_flag_threshold_is_strictly_more_than_20_percent_below() -> None:
    at_limit = analyse([row(gain=10.0, mapper="a"), row(gain=10.0, mapper="a"), row(gain=8.0, mapper="b")])
    # The BAM median is 10; 8.0 is exactly 20 % below: not flagged.
    assert not any(g["flagged"] for g in at_limit["groups"])  # type: ignore[attr-defined]
    below = analyse([row(gain=10.0, mapper="a"), row(gain=10.0, mapper="a"), row(gain=7.9, mapper="b")])
    assert [g["mapper"] for g in below["groups"] if g["flagged"]] == ["b"]  # type: ignore[attr-defined]


def test_top_fields_are_mean_compressed_shares() -> None:
    rows = [
        row(fields="QUAL,60.0%,3.0X; SEQ,30.0%,4.0X; QNAME,10.0%,9.0X"),
        row(fields="SEQ,50.0%,4.0X; QUAL,40.0%,3.0X; FLAG,10.0%,20.0X"),
        row(fields=None),  # no probe yet: left out of the mean
    ]
    (group,) = analyse(rows)["groups"]  # type: ignore[misc]
    assert group["top_fields"][:3] == [
        {"field": "QUAL", "share": 50.0}, {"field": "SEQ", "share": 40.0}, {"field": "FLAG", "share": 5.0},
    ]  # fmt: skip
    assert analyse([])["groups"] == []


def sized(gain: float, txt_size: int, fields: str | None = None, created: str = "2026-12-01T10:00:00Z",
          **names: str | None) -> dict:  # fmt: skip
    return {**row(gain=gain, fields=fields, **names), "txt_size": txt_size, "disk_size": txt_size // 4,
            "created": created}  # fmt: skip


def test_size_weighted_gain_and_its_flag() -> None:
    # Group a: many small files with a high median; group b: few large files that compress worse.
    rows = [sized(10.0, 1_000, mapper="a", fields="TXT_HEADER,60.0%,2.0X; QUAL,40.0%,3.0X") for _ in range(5)]
    rows += [sized(4.0, 1_000_000, mapper="b", fields="QUAL,80.0%,3.0X; SEQ,20.0%,4.0X"),
             sized(6.0, 3_000_000, mapper="b", fields="QUAL,50.0%,3.0X; SEQ,50.0%,4.0X")]  # fmt: skip
    result = analyse(rows)
    (bam,) = result["data_types"]  # type: ignore[misc]
    total_text, total_compressed = 5 * 1_000 + 4_000_000, 5 * 100 + 250_000 + 500_000
    assert bam["text_bytes"] == total_text and bam["weighted_genozip_gain"] == round(total_text / total_compressed, 2)
    groups = {g["mapper"]: g for g in result["groups"]}  # type: ignore[attr-defined]
    big = groups["b"]
    assert big["weighted_genozip_gain"] == round(4_000_000 / 750_000, 2) and big["text_bytes"] == 4_000_000
    assert big["disk_bytes"] == 1_000_000 and big["share_of_data_type_bytes"] == 99.9
    # By bytes: QUAL is 0.8 x 250,000 + 0.5 x 500,000 of 750,000 compressed bytes.
    assert big["top_fields_by_bytes"][0] == {"field": "QUAL", "share": 60.0}
    assert groups["a"]["top_fields_by_bytes"][0] == {"field": "TXT_HEADER", "share": 60.0}
    # a's weighted gain (10) is far above the type's (5.33), b's (5.33) is the type's: neither flagged by weight,
    # while the median rule flags b (5.0 against a median of 10).
    assert not big["flagged_weighted"] and big["flagged"]
    # A weak group with 0.5 % of the bytes is not flagged by weight: too small to matter.
    rows += [sized(1.0, 20_000, mapper="c")]
    small = {g["mapper"]: g for g in analyse(rows)["groups"]}["c"]  # type: ignore[attr-defined]
    assert small["weighted_vs_data_type_percent"] < -80 and small["share_of_data_type_bytes"] == 0.5
    assert not small["flagged_weighted"]
    rows += [sized(1.0, 200_000, mapper="d")]
    assert {g["mapper"]: g for g in analyse(rows)["groups"]}["d"]["flagged_weighted"]  # type: ignore[attr-defined]


def test_trends_only_when_records_span_more_than_a_week() -> None:
    week = [sized(5.0, 100, created=f"2026-11-0{day}T08:00:00Z") for day in (2, 3, 8)]  # Monday to Sunday
    assert analyse(week)["trends"] == []
    rows = [*week, sized(9.0, 300, created="2026-11-10T08:00:00Z"), sized(1.0, 100, created="2026-11-11"),
            sized(3.0, 100, created="garbled")]  # fmt: skip
    trends = analyse(rows)["trends"]
    assert [(t["week"], t["count"], t["median_genozip_gain"]) for t in trends] == [
        ("2026-11-02", 3, 5.0), ("2026-11-09", 2, 5.0)]  # fmt: skip
    assert trends[1]["weighted_genozip_gain"] == round(400 / (300 / 9 + 100), 2)


def test_analysis_row_of_a_real_record() -> None:
    bam = make_record(FIXTURES / "aln_bwa.bam")
    (group,) = analyse([analysis_row(bam)])["groups"]  # type: ignore[misc]
    assert group["mapper"] == "bwa" and group["text_bytes"] == bam.source.txt_size
    assert group["disk_bytes"] == bam.source.disk_size
    assert abs(group["weighted_genozip_gain"] - bam.genozip_gain) < 0.01  # one record: its own gain
