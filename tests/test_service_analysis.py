"""The analysis: deriving sequencer, mapper and callers from records, medians, shares and flags."""

from __future__ import annotations

from genotel.engine import make_record
from genotel.service.analysis import analyse, derive_columns, parse_fields_gain, parse_items

from conftest import FIXTURES


def row(data_type: str = "BAM", gain: float | None = 10.0, fields: str | None = None, **names: str | None) -> dict:
    base: dict[str, object] = {"sequencer": None, "mapper": None, "variant_caller": None, "base_caller": None}
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
    assert ont == {"sequencer": "ONT", "mapper": "minimap2", "variant_caller": None, "base_caller": "dorado"}
    assert derive_columns("FASTQ", None, "QNAME=Illumina;")["base_caller"] is None
    assert derive_columns("SAM", "guppy_basecaller;", "")["base_caller"] == "guppy"
    gatk = derive_columns("VCF", "GATK.HaplotypeCaller;GATK.SelectVariants;", "num_samples=1;")
    assert gatk["variant_caller"] == "GATK HaplotypeCaller" and gatk["base_caller"] is None
    assert derive_columns("BCF", "bcftools;bcftools_call;bcftools_view;", "")["variant_caller"] == "bcftools call"
    assert derive_columns("VCF", "SnpEff;", "")["variant_caller"] is None


def test_derive_columns_on_real_records() -> None:
    bam = make_record(FIXTURES / "aln_bwa.bam")
    assert derive_columns(bam.data_type, bam.programs, bam.features)["mapper"] == "bwa"
    vcf = make_record(FIXTURES / "calls.vcf")
    assert derive_columns(vcf.data_type, vcf.programs, vcf.features)["variant_caller"] == "bcftools call"


def test_groups_medians_and_flags() -> None:
    rows = [row(gain=g, sequencer="Illumina", mapper="bwa") for g in (10.0, 11.0, 12.0)]
    rows += [row(gain=g, sequencer="ONT", mapper="minimap2", base_caller="dorado") for g in (6.0, 7.0)]
    rows += [row(gain=None, sequencer="ONT", mapper="minimap2", base_caller="dorado")]  # counted, not in median
    rows += [row("VCF", None, variant_caller="DeepVariant")]
    result = analyse(rows)
    assert result["records"] == 7
    types = {t["data_type"]: t for t in result["data_types"]}  # type: ignore[attr-defined]
    assert types["BAM"] == {"data_type": "BAM", "count": 6, "median_genozip_gain": 10.0}
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
