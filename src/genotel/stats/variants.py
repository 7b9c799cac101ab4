"""Counts over VCF/BCF record batches: records, text size, and whether it is a gVCF."""

from __future__ import annotations

from ..extractors.vcf_text import VcfBatch, has_reference_block


class VariantCountsAccumulator:
    """Record count, bytes of record text, and whether any record is a gVCF reference block.

    The gVCF test stops looking once a reference block was seen: later batches cannot change
    the answer, and most of a gVCF is reference blocks anyway.
    """

    def __init__(self) -> None:
        self.records = 0
        self.text_size = 0
        self.reference_blocks = False

    def add(self, batch: VcfBatch) -> None:
        self.records += len(batch)
        self.text_size += batch.text_size
        if not self.reference_blocks:
            self.reference_blocks = has_reference_block(batch)

    def merge(self, other: VariantCountsAccumulator) -> None:
        self.records += other.records
        self.text_size += other.text_size
        self.reference_blocks = self.reference_blocks or other.reference_blocks

    def result(self) -> dict[str, object]:
        return {"records": self.records, "text_size": self.text_size, "gvcf": self.reference_blocks}
