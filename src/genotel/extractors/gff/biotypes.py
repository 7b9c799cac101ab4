"""Ensembl and GENCODE biotypes: the values old Ensembl GTFs keep in column 2 (source).

Up to Ensembl release 74 the GTF's source column held the transcript biotype
(`protein_coding`, `processed_transcript`, `lincRNA`, ...) instead of the producer. A biotype
names a kind of gene or transcript, never a program, so it is left out of `programs`.
Data, not code: add a row to recognise another biotype. Compared exactly (biotypes are
case-sensitive identifiers).
"""

from __future__ import annotations

ENSEMBL_BIOTYPES = frozenset(
    {
        # protein coding and its variants
        "protein_coding", "protein_coding_LoF", "protein_coding_CDS_not_defined", "nonsense_mediated_decay",
        "non_stop_decay", "polymorphic_pseudogene", "retained_intron", "processed_transcript",
        "ambiguous_orf", "disrupted_domain", "artifact", "TEC",
        # immunoglobulin and T-cell receptor segments
        "IG_C_gene", "IG_D_gene", "IG_J_gene", "IG_LV_gene", "IG_V_gene", "IG_gene",
        "IG_C_pseudogene", "IG_J_pseudogene", "IG_V_pseudogene", "IG_pseudogene",
        "TR_C_gene", "TR_D_gene", "TR_J_gene", "TR_V_gene",
        "TR_J_pseudogene", "TR_V_pseudogene",
        # pseudogenes
        "pseudogene", "processed_pseudogene", "unprocessed_pseudogene", "transcribed_processed_pseudogene",
        "transcribed_unprocessed_pseudogene", "transcribed_unitary_pseudogene", "translated_processed_pseudogene",
        "translated_unprocessed_pseudogene", "unitary_pseudogene", "rRNA_pseudogene", "tRNA_pseudogene",
        "Mt_tRNA_pseudogene", "miRNA_pseudogene", "misc_RNA_pseudogene", "snRNA_pseudogene",
        "snoRNA_pseudogene", "scRNA_pseudogene", "lncRNA_pseudogene",
        # long non-coding RNA
        "lncRNA", "lincRNA", "antisense", "antisense_RNA", "sense_intronic", "sense_overlapping",
        "3prime_overlapping_ncRNA", "3prime_overlapping_ncrna", "bidirectional_promoter_lncRNA",
        "bidirectional_promoter_lncrna", "macro_lncRNA", "non_coding", "known_ncrna", "ncrna_host",
        # small non-coding RNA
        "miRNA", "misc_RNA", "piRNA", "rRNA", "scRNA", "scaRNA", "siRNA", "snRNA", "snoRNA",
        "sRNA", "ribozyme", "vault_RNA", "vaultRNA", "Y_RNA", "tRNA", "Mt_rRNA", "Mt_tRNA", "ncRNA",
        "guide_RNA", "telomerase_RNA", "SRP_RNA", "RNase_MRP_RNA", "RNase_P_RNA", "tmRNA", "antisense_RNA_gene",
        "pre_miRNA", "ncRNA_host",
        # other
        "LRG_gene", "transposable_element",
    }
)  # fmt: skip


def is_biotype(source: str) -> bool:
    """Whether a column-2 value is a known Ensembl/GENCODE biotype rather than a program."""
    return source in ENSEMBL_BIOTYPES
