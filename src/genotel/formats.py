"""The formats genotel reads: each data type the sniffer names, and the extractor that reads it.

The one list of data types: the record model's `data_type` and the extractor registry take it
from here.
"""

from __future__ import annotations

# data type -> "package:class" of its extractor under genotel.extractors
EXTRACTOR_CLASSES: dict[str, str] = {
    "SAM": "sam:SamExtractor",
    "BAM": "sam:SamExtractor",
    "CRAM": "sam:SamExtractor",
    "VCF": "vcf:VcfExtractor",
    "BCF": "vcf:VcfExtractor",
    "GFF": "gff:GffExtractor",
    "GTF": "gff:GffExtractor",
    "FASTQ": "fastq:FastqExtractor",
    "FASTA": "fasta:FastaExtractor",
    "BED": "bed:BedExtractor",
    "PAF": "paf:PafExtractor",
}
DATA_TYPES = tuple(EXTRACTOR_CLASSES)
