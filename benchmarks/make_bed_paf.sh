#!/usr/bin/env bash
# benchmarks/make_bed_paf.sh -- the BED and PAF files of the benchmark, made from the dataset of
# make_dataset.sh by the tools that write such files (run by hand, after make_dataset.sh):
#     bash benchmarks/make_bed_paf.sh [DATA]       # DATA defaults to benchmarks/data
#
#   bench.bed.gz   bedtools bamtobed of bench.bam: BED6, one line per mapped record (5,430,260
#                  lines, 299 MB of text), BGZF (bgzip -@2)
#   bench.paf.gz   minimap2 -x sr -c --cs of bench_R1.fastq.gz against ref.fa: base-level alignments
#                  with cg:Z and cs:Z (2,715,083 lines, 490 MB of text), gzip -6
#
# Tools (Debian 12): bedtools 2.30.0, minimap2 2.24-r1122, bgzip 1.16, gzip. On 2 busy cores:
# bamtobed 18 s; minimap2 -t 2 155 s wall, 32 CPU s. minimap2's output does not depend on its
# thread count for single-end reads.
set -euo pipefail
DATA=${1:-$(dirname "$0")/data}
cd "$DATA"
for tool in bedtools minimap2 bgzip gzip; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool (apt-get install bedtools minimap2 tabix)" >&2; exit 1; }
done
bedtools bamtobed -i bench.bam | bgzip -@ 2 -c > bench.bed.gz
minimap2 -t 2 -x sr -c --cs ref.fa bench_R1.fastq.gz 2>/dev/null | gzip -6 > bench.paf.gz
echo "bench.bed.gz and bench.paf.gz made in $(pwd)"
