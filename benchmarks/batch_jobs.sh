#!/usr/bin/env bash
# Wall time of batch runs with --jobs 1 and --jobs 2: 40 small files (copies of the fixtures)
# and the benchmark dataset (benchmarks/make_dataset.sh). Prints a Markdown table.
#   bash benchmarks/batch_jobs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
genotel=.venv/bin/genotel
small=$(mktemp -d); trap 'rm -rf "$small"' EXIT
names=(aln_bwa.bam aln_minimap2.bam aln_qname.sam calls.vcf.gz calls.bcf reads_R1.fastq.gz reads_interleaved.fastq genes.gff genes.gtf ref.fa)
for copy in 1 2 3 4; do
  for name in "${names[@]}"; do cp "fixtures/$name" "$small/${copy}_$name"; done
done
data=benchmarks/data
big=("$data/bench.bam" "$data/bench_R1.fastq.gz" "$data/bench_R2.fastq.gz" "$data/allsites.vcf.gz" "$data/genes.gff")
time_run() {  # prints wall seconds of one run
  local start end
  rm -f "$small/out.jsonl"  # --output appends
  start=$(date +%s.%N)
  "$genotel" record "$@" --output "$small/out.jsonl" > /dev/null 2>&1 || true
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}
echo "| input | files | --jobs 1 wall s | --jobs 2 wall s | speed-up |"
echo "|---|---:|---:|---:|---:|"
one=$(time_run "$small" --jobs 1); two=$(time_run "$small" --jobs 2)
printf '| 40 small fixture files (%s MB) | 40 | %.1f | %.1f | %.2fx |\n' "$(du -sm "$small" | cut -f1)" "$one" "$two" "$(python3 -c "print($one / $two)")"
if [ -f "$data/bench.bam" ]; then
  one=$(time_run "${big[@]}" --jobs 1); two=$(time_run "${big[@]}" --jobs 2)
  printf '| benchmark dataset (BAM, R1+R2, all-sites VCF, GFF) | 5 | %.1f | %.1f | %.2fx |\n' "$one" "$two" "$(python3 -c "print($one / $two)")"
fi
