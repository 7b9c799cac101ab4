"""What a VCF header says: producing programs, contigs, columns and sample count.

Pure string work on the header lines, shared by VCF text and BCF (cyvcf2 hands a BCF's header
over as the same text that `bcftools view -h` prints). Sample names are counted, never kept:
they must not reach a record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..programs import strip_version

# The eight fixed columns of the #CHROM line; FORMAT and the sample names follow when present.
FIXED_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
FORMAT_COLUMN = "FORMAT"
# INFO/FORMAT value types whose keys are dictionary fields (text, not numbers or flags).
TEXT_TYPES = ("String", "Character")

# `##<key>=<value>` lines whose whole value names a program (docs/record.md, programs).
VALUE_KEYS = ("source", "imputation", "phasing", "annotator")
# A program value is cut to this many characters so that one odd line cannot bloat the record.
MAX_PROGRAM_CHARS = 100
# Values of those keys that say something about the data, not which program made it
# (`##phasing=none`, `##phasing=partial`, ...); compared in lower case. A value without a
# letter (a number, a date, `.`) is never a program either.
NOT_PROGRAM_VALUES = frozenset(
    {"none", "unphased", "phased", "partial", "partially", "full", "yes", "no", "true", "false",
     "unknown", "na", "n/a", "null", "not applicable", "other"}
)  # fmt: skip
# `GATK.<Tool>` is the one name of a tool that a GATK command line names: a bare `<Tool>` from
# another rule (`##source=`, the signature table) is dropped then.
GATK_PREFIX = "GATK."

# Well-known producers recognised by a signature anywhere in a `##` line: (name, pattern).
# Data, not code: add a row to recognise another. Patterns are searched (re.search) in each
# meta-information line; anchor them to the line's key where a bare word could appear in an
# unrelated description.
PROGRAM_SIGNATURES: tuple[tuple[str, str], ...] = (
    ("DeepVariant", r"(?i)deepvariant"),  # ##DeepVariant_version=1.6.0
    ("DRAGEN", r"(?i)^##(?:source=)?dragen"),  # ##DRAGENVersion=, ##DRAGENCommandLine=
    ("VEP", r"^##VEP(?:=|-command-line=)|Ensembl VEP"),  # ##VEP="v110" ..., CSQ description
    ("SnpEff", r"^##SnpEff"),  # ##SnpEffVersion=, ##SnpEffCmd=
    ("Hail", r"^##hailversion="),  # Hail's export_vcf
    ("beagle", r"(?i)beagle"),  # ##source="beagle.22Jul22.46e.jar"
    ("GenotypeGVCFs", r"\bGenotypeGVCFs\b"),
    ("CombineGVCFs", r"\bCombineGVCFs\b"),
    ("gnomAD", r"(?i)gnomad"),
    ("Illumina GenCall", r"(?i)gencall|gtc_?to_?vcf|gentrain"),  # GTCtoVCF, bcftools +gtc2vcf
    ("Sentieon", r"^##Sentieon"),  # ##SentieonCommandLine.Haplotyper=
    ("ANNOVAR", r"ANNOVAR"),  # "... annotation provided by ANNOVAR"
)
_SIGNATURES = tuple((name, re.compile(pattern)) for name, pattern in PROGRAM_SIGNATURES)

_KEY = re.compile(r"^##([^=]+)=(.*)$")
_GATK_TOOL_KEY = re.compile(r"^GATKCommandLine\.(.+)$")
# `##<tool>Command=` / `##<tool>Version=` as bcftools and samtools write them; case-sensitive,
# so that `##DeepVariant_version` or `##hailversion` go to their signatures instead.
_TOOL_KEY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.+-]*?)(?:Command|Version)$")


@dataclass(frozen=True)
class VcfHeader:
    """The facts genotel takes from a VCF header."""

    programs: tuple[str, ...]
    num_columns: int  # columns of the #CHROM line (8 sites-only, 9 + samples otherwise)
    num_samples: int
    num_contigs: int
    contig_bases: int  # sum of the ##contig length= values (0 for a contig without one)
    text_size: int  # bytes of the header as text, line ends included
    # INFO and FORMAT keys declared Type=String or Character: the dictionary fields (hash_issues)
    info_text_keys: tuple[str, ...] = ()
    format_text_keys: tuple[str, ...] = ()

    @property
    def record_columns(self) -> tuple[int, ...]:
        """The column counts a record line may have."""
        if self.num_columns == len(FIXED_COLUMNS) + 1:
            # FORMAT without samples: htslib writes such records with or without FORMAT.
            return (self.num_columns, len(FIXED_COLUMNS))
        return (self.num_columns,)


def chrom_line_columns(line: str) -> int | None:
    """The number of columns of a well-formed #CHROM line, or None if it is malformed."""
    fields = line.rstrip("\r\n").split("\t")
    if tuple(fields[: len(FIXED_COLUMNS)]) != FIXED_COLUMNS:
        return None
    if len(fields) > len(FIXED_COLUMNS) and fields[len(FIXED_COLUMNS)] != FORMAT_COLUMN:
        return None
    return len(fields)


def parse_header(meta_lines: Sequence[str], num_columns: int, text_size: int) -> VcfHeader:
    """Header facts from the `##` lines and the #CHROM line's column count."""
    contigs = 0
    bases = 0
    text_keys: dict[str, list[str]] = {"INFO": [], "FORMAT": []}
    for line in meta_lines:
        if line.startswith("##contig=<"):
            contigs += 1
            length = structured_fields(line).get("length", "")
            bases += int(length) if length.isdigit() else 0
        elif line.startswith(("##INFO=<", "##FORMAT=<")):
            definition = structured_fields(line)
            if definition.get("Type") in TEXT_TYPES and definition.get("ID"):
                text_keys[line[2 : line.index("=")]].append(definition["ID"])
    samples = num_columns - len(FIXED_COLUMNS) - 1 if num_columns > len(FIXED_COLUMNS) else 0
    return VcfHeader(
        programs=tuple(vcf_programs(meta_lines)),
        num_columns=num_columns,
        num_samples=samples,
        num_contigs=contigs,
        contig_bases=bases,
        text_size=text_size,
        info_text_keys=tuple(text_keys["INFO"]),
        format_text_keys=tuple(text_keys["FORMAT"]),
    )


def vcf_programs(header_lines: Iterable[str]) -> list[str]:
    """Producing programs named by the header lines, in order of first appearance.

    Per line: the value of `##source=` / `##imputation=` / `##phasing=` / `##annotator=`
    (unless `is_program_value` says it names no program);
    `GATK.<Tool>` for `##GATKCommandLine.<Tool>=` and `##GATKCommandLine=<ID=<Tool>,...>`;
    `<tool>` for `##<tool>Command=` and `##<tool>Version=`; then the names of the
    `PROGRAM_SIGNATURES` the line matches. Values are never split into words: the first word
    of a command line is an argument, not a version. Repeats are removed here and again by
    `record.render_programs`; a tool named both bare and as `GATK.<Tool>` keeps the latter.
    """
    names: list[str] = []
    for raw in header_lines:
        line = raw.rstrip("\r\n")
        if not line.startswith("##"):
            continue  # the #CHROM line holds sample names, never a program
        for name in (*_named_by_key(line), *(name for name, pattern in _SIGNATURES if pattern.search(line))):
            if name and name not in names:
                names.append(name)
    return canonical_gatk_names(names)


def canonical_gatk_names(names: list[str]) -> list[str]:
    """`names` without a bare `<Tool>` where `GATK.<Tool>` is also named (one name per GATK tool)."""
    gatk_tools = {name[len(GATK_PREFIX) :] for name in names if name.startswith(GATK_PREFIX)}
    return [name for name in names if name not in gatk_tools]


def is_program_value(value: str) -> bool:
    """Whether a `##source=`-like value can name a program: it has a letter and is not a known non-program word."""
    return any(char.isalpha() for char in value) and value.lower() not in NOT_PROGRAM_VALUES


def _named_by_key(line: str) -> list[str]:
    """The program named by the line's key and value (docs/record.md's key rules), if any."""
    match = _KEY.match(line)
    if match is None:
        return []
    key, value = match.group(1).strip(), match.group(2)
    if key.lower() in VALUE_KEYS:
        value = value.strip().strip('"').strip()
        return [strip_version(value)[:MAX_PROGRAM_CHARS]] if is_program_value(value) else []
    gatk_tool = _GATK_TOOL_KEY.match(key)
    if gatk_tool:
        return [f"GATK.{gatk_tool.group(1)}"]
    if key == "GATKCommandLine":
        tool = structured_fields(line).get("ID", "")
        return [f"GATK.{tool}" if tool else "GATK"]
    tool_key = _TOOL_KEY.match(key)
    if tool_key:
        return [tool_key.group(1)]
    return []


def structured_fields(line: str) -> dict[str, str]:
    """The `key=value` pairs of a structured meta line `##KEY=<k1=v1,k2="v,2",...>`.

    Quoted values may hold commas and escaped quotes; quotes are removed from the values.
    """
    start = line.find("=<")
    if start < 0:
        return {}
    body = line[start + 2 :].rstrip()
    if body.endswith(">"):
        body = body[:-1]
    fields: dict[str, str] = {}
    key: list[str] = []
    value: list[str] = []
    in_value = in_quotes = escaped = False
    for char in body:
        if in_quotes:
            if escaped:
                value.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
            else:
                value.append(char)
        elif char == '"' and in_value:
            in_quotes = True
        elif char == ",":
            fields.setdefault("".join(key).strip(), "".join(value).strip())
            key, value, in_value = [], [], False
        elif char == "=" and not in_value:
            in_value = True
        else:
            (value if in_value else key).append(char)
    if key:
        fields.setdefault("".join(key).strip(), "".join(value).strip())
    return fields
