#!/usr/bin/env bash
# benchmarks/make_dataset.sh -- build genotel's benchmark dataset into benchmarks/data/ (git-ignored).
#
# Run by hand (NOT by CI, NOT by the test suite), from any directory:
#     bash benchmarks/make_dataset.sh              # the dataset below (~9 min on 2 cores, ~660 CPU s)
#     bash benchmarks/make_dataset.sh --scale 4    # also bench_x4.bam (builds the dataset first if missing)
# (GENOTEL_BENCH_SCALE=4 in the environment does the same as --scale 4.)
#
# Genome: Escherichia coli 536, complete genome, RefSeq NC_008253.1 (4,938,920 bp), as shipped by the
#   Debian package bowtie-examples at /usr/share/doc/bowtie/examples/genomes/NC_008253.fna.gz
#   (the same genome as fixtures/make.sh, but whole). Its header is renamed to ">NC_008253.1 ...".
#
# What it builds (in benchmarks/data/):
#   ref.fa (+ .fai)            the whole genome, 70 bases a line as shipped
#   donor_truth.vcf.gz (+.tbi) random SNPs/indels (seeded) applied by bcftools consensus -> donor genome
#   bench_R1/R2.fastq.gz       art_illumina HiSeq 2500 paired 2x100, 110x of the donor, fragments 300+-30,
#                              ~5.43 M records; BGZF (bgzip, level 6). Simulated as two 55x halves run side
#                              by side (read IDs NC_008253.1-a<N> and -b<N>), R1 = half a then half b.
#   bench.bam (+ .bai)         bwa mem -t 2 with a read group (reading bench_R1/R2.fastq.gz)
#                              | samtools fixmate -m | sort | markdup
#   bench.cram (+ .crai)       the same records as CRAM 3.0 against ref.fa (decode with --reference ref.fa)
#   allsites.vcf.gz (+ .tbi)   bcftools mpileup -a AD,DP | bcftools call -m: every covered site (~4.9 M records)
#   variants.vcf.gz (+ .tbi), variants.bcf (+ .csi)
#                              bcftools mpileup -a AD,DP | bcftools call -mv: variant sites only
#   genes.gff                  prodigal (single-genome mode) genes of ref.fa
#   build_times.tsv            wall and CPU s of each step below } benchmarks/run.py copies both
#   dataset_counts.tsv         bytes and records of each file    } into RESULTS.md
#   bench_x<N>.bam             only with --scale N: N copies of bench.bam's records, for the flat-memory check
#                              (samtools cat under one header saying SO:unsorted, since the copies restart
#                              the coordinate order; no index, as an unsorted BAM cannot have one)
#
# mpileup/call run as two halves of the genome side by side (-r), and the halves are joined by
# bcftools concat: the same records as one whole-genome run, in half the wall time.
#
# Seeds. Re-running gives byte-identical ref.fa, donor_truth.vcf.gz, FASTQ.gz, genes.gff and identical
# BAM records (checked over 3 builds), except: the "Date=" of bcftools' ##...Command header lines (so the
# bytes of the compressed VCF/BCF files), the absolute ref.fa path htslib writes into the CRAM's @SQ UR:
# tag, and the CRAM's bytes (htslib's multi-threaded encoder may pick other codecs; same records).
#   VARIANT_SEED=20240601  donor variants (awk, integer Park-Miller generator, as in fixtures/make.sh)
#   ART_SEED=20240601      art_illumina -rs for half a; ART_SEED+1 for half b
#   bwa mem -K 100000000   fixed batch size, so bwa's output does not depend on its thread count
#
# Debian packages it needs (installed with apt-get when a tool is missing; needs root):
#   bowtie-examples samtools bcftools tabix bwa art-nextgen-simulation-tools prodigal gawk
#   and, for benchmarks/run.py's peers and timing: seqkit time
# Versions used for RESULTS.md (Debian 12 "bookworm"): samtools/bcftools/htslib 1.16, bwa 0.7.17-r1188,
#   art_illumina 2.5.8, prodigal 2.6.3.
# Disk: ~0.9 GB in data/ at the end (+1.25 GB for bench_x4.bam), ~4 GB more while it runs (data/_work/,
# deleted at the end).
# Time: 530 s wall with a little other load on the machine (1144 s while other test suites kept both
# cores busy); 658 CPU s in all, of which bwa mem ~310. build_times.tsv has each step's wall and CPU time.
set -euo pipefail

VARIANT_SEED=20240601
ART_SEED=20240601
ART_COVERAGE_PER_HALF=55     # two halves -> 110x
THREADS=2
GENOME=/usr/share/doc/bowtie/examples/genomes/NC_008253.fna.gz
CONTIG=NC_008253.1
RG='@RG\tID:rg1\tSM:sample1\tPL:ILLUMINA\tLB:lib1'
SCALE="${GENOTEL_BENCH_SCALE:-1}"

while [ $# -gt 0 ]; do
    case "$1" in
        --scale) SCALE="${2:?--scale needs a number}"; shift 2 ;;
        --scale=*) SCALE="${1#--scale=}"; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$SCALE" =~ ^[1-9][0-9]*$ ]] || { echo "--scale wants a whole number >= 1, not '$SCALE'" >&2; exit 2; }

# ---------------------------------------------------------------- tools
declare -A PACKAGE_OF=([samtools]=samtools [bcftools]=bcftools [bgzip]=tabix [tabix]=tabix [bwa]=bwa
    [art_illumina]=art-nextgen-simulation-tools [prodigal]=prodigal [awk]=gawk [seqkit]=seqkit)
missing=()
for tool in "${!PACKAGE_OF[@]}"; do
    command -v "$tool" >/dev/null || missing+=("${PACKAGE_OF[$tool]}")
done
[ -r "$GENOME" ] || missing+=(bowtie-examples)
[ -x /usr/bin/time ] || missing+=(time)   # GNU time, for benchmarks/run.py (bash's `time` is a keyword)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cd "$(dirname "$0")"
mkdir -p data
cd data
export LC_ALL=C
W=_work
TIMES=build_times.tsv

now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# user+sys CPU seconds of all finished children of this shell so far: bash's `times` (2nd line), run in
# this shell (a $(...) subshell would report only its own children), then read back
children_cpu_s() {
    awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += 60 * p[1] + p[2] }
                   printf "%.1f", t }' $W/times.txt
}
# timed NAME FUNCTION: run FUNCTION, print and log its wall time and the CPU time of its processes
# (CPU time hardly depends on other load on the machine; wall time does)
timed() {
    local start cpu_before
    start=$(now)
    times > $W/times.txt
    cpu_before=$(children_cpu_s)
    "$2"
    times > $W/times.txt
    printf '%s\t%s\t%s\n' "$1" "$(seconds_since "$start")" \
        "$(awk -v a="$cpu_before" -v b="$(children_cpu_s)" 'BEGIN { printf "%.1f", b - a }')" | tee -a "$TIMES" >&2
}

# wait_all PID...: wait for each background job; fail if any failed
wait_all() {
    local pid
    for pid in "$@"; do wait "$pid"; done
}

# ---------------------------------------------------------------- 1. reference
step_reference() {
    gzip -dc "$GENOME" | sed "1s/^>.*/>$CONTIG Escherichia coli 536, complete genome/" > ref.fa
    samtools faidx ref.fa
    bwa index ref.fa 2> $W/bwa_index.log
}

# ---------------------------------------------------------------- 2. donor genome
# Random variants, roughly one every 300-1500 bp (~5,500): 70% SNPs, 10% insertions of 1-4 bp,
# 20% deletions of 1-6 bp; the same generator as fixtures/make.sh.
step_donor() {
    grep -v '^>' ref.fa | tr -d '\n' \
      | awk -v seed="$VARIANT_SEED" -v contig="$CONTIG" '
      function rnd(n) { x = (16807 * x) % 2147483647; return x % n }   # Park-Miller
      BEGIN { x = seed % 2147483647; if (x <= 0) x = 1; split("A C G T", B, " ") }
      { s = toupper($0) }   # the one line: the whole genome
      END {
        L = length(s)
        print "##fileformat=VCFv4.2"
        print "##source=genotel benchmarks/make_dataset.sh awk Park-Miller seed " seed
        print "##contig=<ID=" contig ",length=" L ">"
        print "##INFO=<ID=TYPE,Number=1,Type=String,Description=\"snp, ins or del\">"
        print "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
        pos = 150
        while (1) {
          pos += 300 + rnd(1201)
          if (pos > L - 150) break
          ref = substr(s, pos, 1); t = rnd(10)
          if (t < 7) {                       # SNP: one of the 3 other bases
            do { alt = B[1 + rnd(4)] } while (alt == ref)
            ty = "snp"
          } else if (t == 7) {               # insertion after pos
            k = 1 + rnd(4); alt = ref
            for (j = 0; j < k; j++) alt = alt B[1 + rnd(4)]
            ty = "ins"
          } else {                           # deletion of the k bases after pos
            k = 1 + rnd(6); alt = ref; ref = substr(s, pos, k + 1)
            ty = "del"
          }
          printf "%s\t%d\t.\t%s\t%s\t.\tPASS\tTYPE=%s\n", contig, pos, ref, alt, ty
        }
      }' | bgzip -c > donor_truth.vcf.gz
    tabix -f -p vcf donor_truth.vcf.gz
    bcftools consensus -f ref.fa -o $W/donor.fa donor_truth.vcf.gz 2> $W/consensus.log
}

# ---------------------------------------------------------------- 3. reads
# art_illumina is single-threaded: two halves with their own seed and read-ID prefix run side by side.
step_reads() {
    art_illumina -ss HS25 -i $W/donor.fa -p -l 100 -f "$ART_COVERAGE_PER_HALF" -m 300 -s 30 \
        -rs "$ART_SEED" -d a -na -o $W/art_a_ > $W/art_a.log &
    local half_a=$!
    art_illumina -ss HS25 -i $W/donor.fa -p -l 100 -f "$ART_COVERAGE_PER_HALF" -m 300 -s 30 \
        -rs "$((ART_SEED + 1))" -d b -na -o $W/art_b_ > $W/art_b.log &
    wait_all $half_a $!
}

# ---------------------------------------------------------------- 4. FASTQ.gz
step_fastq() {
    cat $W/art_a_1.fq $W/art_b_1.fq | bgzip -@ "$THREADS" -c > bench_R1.fastq.gz
    cat $W/art_a_2.fq $W/art_b_2.fq | bgzip -@ "$THREADS" -c > bench_R2.fastq.gz
    rm -f $W/art_[ab]_[12].fq
}

# ---------------------------------------------------------------- 5. alignment
# The read group goes into every record (RG:Z:rg1) and the header. fixmate -m adds the MC/ms tags
# markdup needs; intermediates between the tools are uncompressed BAM.
step_align() {
    bwa mem -t "$THREADS" -K 100000000 -R "$RG" ref.fa bench_R1.fastq.gz bench_R2.fastq.gz 2> $W/bwa_mem.log \
      | samtools fixmate -m -u - - \
      | samtools sort -@ "$THREADS" -m 1500M -T $W/sort -u -o $W/sorted.bam -
}

step_markdup() {
    samtools markdup -@ "$THREADS" $W/sorted.bam bench.bam 2> $W/markdup.log
    samtools index -@ "$THREADS" bench.bam
}

# ---------------------------------------------------------------- 6. CRAM
step_cram() {
    samtools view -@ "$THREADS" -C -T ref.fa -o bench.cram bench.bam
    samtools index -@ "$THREADS" bench.cram
}

# ---------------------------------------------------------------- 7. calls
# bcftools mpileup is single-threaded: two halves of the genome side by side, each to an
# uncompressed BCF that both `call -m` (all sites) and `call -mv` (variants only) read.
GENOME_LENGTH=4938920
HALF=$((GENOME_LENGTH / 2))
REGIONS=("$CONTIG:1-$HALF" "$CONTIG:$((HALF + 1))-$GENOME_LENGTH")
step_mpileup() {
    local i pids=()
    for i in 0 1; do
        bcftools mpileup -a FORMAT/AD,FORMAT/DP -f ref.fa -r "${REGIONS[$i]}" -Ou -o $W/mpileup_$i.bcf \
            bench.bam 2> $W/mpileup_$i.log &
        pids+=($!)
    done
    wait_all "${pids[@]}"
}

step_call() {
    local i pids=()
    for i in 0 1; do
        bcftools call -m -Ou -o $W/allsites_$i.bcf $W/mpileup_$i.bcf 2> $W/call_all_$i.log &
        pids+=($!)
    done
    wait_all "${pids[@]}"
    pids=()
    for i in 0 1; do
        bcftools call -mv -Ou -o $W/variants_$i.bcf $W/mpileup_$i.bcf 2> $W/call_var_$i.log &
        pids+=($!)
    done
    wait_all "${pids[@]}"
}

step_concat() {
    bcftools concat --threads "$THREADS" -Oz -o allsites.vcf.gz $W/allsites_0.bcf $W/allsites_1.bcf
    bcftools concat --threads "$THREADS" -Oz -o variants.vcf.gz $W/variants_0.bcf $W/variants_1.bcf
    bcftools view --threads "$THREADS" -Ob -o variants.bcf variants.vcf.gz
    tabix -f -p vcf allsites.vcf.gz
    tabix -f -p vcf variants.vcf.gz
    bcftools index -f variants.bcf
}

# ---------------------------------------------------------------- 8. genes
step_genes() {
    prodigal -q -p single -i ref.fa -f gff -o genes.gff
}

# ---------------------------------------------------------------- 9. the scaled BAM
step_scale() {
    local copies=()
    local i
    for ((i = 0; i < SCALE; i++)); do copies+=(bench.bam); done
    samtools view -H bench.bam | sed 's/SO:coordinate/SO:unsorted/' > $W/scaled_header.sam
    samtools cat -h $W/scaled_header.sam -o "bench_x$SCALE.bam" "${copies[@]}"
    samtools quickcheck "bench_x$SCALE.bam"
}

# dataset_counts.tsv: records per file (benchmarks/run.py copies it into RESULTS.md)
fastq_records() { echo $(($(bgzip -@ "$THREADS" -dc "$1" | wc -l) / 4)); }
step_checks() {
    samtools quickcheck bench.bam bench.cram
    {
        printf 'file\tbytes\trecords\n'
        printf 'bench.bam\t%s\t%s\n' "$(stat -c %s bench.bam)" "$(samtools view -c -@ "$THREADS" bench.bam)"
        printf 'bench.cram\t%s\t%s\n' "$(stat -c %s bench.cram)" \
            "$(samtools view -c -@ "$THREADS" -T ref.fa bench.cram)"
        for f in bench_R1.fastq.gz bench_R2.fastq.gz; do
            printf '%s\t%s\t%s\n' "$f" "$(stat -c %s "$f")" "$(fastq_records "$f")"
        done
        for f in allsites.vcf.gz variants.vcf.gz variants.bcf; do
            printf '%s\t%s\t%s\n' "$f" "$(stat -c %s "$f")" "$(bcftools index -n "$f")"
        done
        printf 'genes.gff\t%s\t%s\n' "$(stat -c %s genes.gff)" "$(grep -vc '^#' genes.gff)"
        printf 'ref.fa\t%s\t%s\n' "$(stat -c %s ref.fa)" "$(cut -f2 ref.fa.fai) bp"
    } > dataset_counts.tsv
    cat dataset_counts.tsv >&2
}

build_dataset() {
    rm -rf $W && mkdir $W
    printf 'step\twall_s\tcpu_s\n' > "$TIMES"
    local start cpu_start
    start=$(now)
    times > $W/times.txt
    cpu_start=$(children_cpu_s)
    timed "reference (gunzip, faidx, bwa index)" step_reference
    timed "donor genome (seeded VCF, bcftools consensus)" step_donor
    timed "reads (art_illumina 2x55x side by side)" step_reads
    timed "FASTQ.gz (bgzip -@2, R1 and R2)" step_fastq
    timed "bwa mem -t 2 | fixmate -m | sort -@2" step_align
    timed "markdup -@2, index" step_markdup
    timed "CRAM (view -C -@2, index)" step_cram
    timed "mpileup -a AD,DP (2 halves side by side)" step_mpileup
    timed "call -m and call -mv (2 halves side by side)" step_call
    timed "concat --threads 2, BCF, indexes" step_concat
    timed "prodigal GFF" step_genes
    timed "checks and record counts" step_checks
    times > $W/times.txt
    printf 'total\t%s\t%s\n' "$(seconds_since "$start")" \
        "$(awk -v a="$cpu_start" -v b="$(children_cpu_s)" 'BEGIN { printf "%.1f", b - a }')" | tee -a "$TIMES" >&2
    rm -rf $W ref.fa.amb ref.fa.ann ref.fa.bwt ref.fa.pac ref.fa.sa
}

if [ ! -s bench.bam ] || [ "$SCALE" = 1 ]; then
    build_dataset
fi
if [ "$SCALE" != 1 ]; then
    mkdir -p $W
    sed -i "/^bench_x$SCALE.bam/d" "$TIMES"
    timed "bench_x$SCALE.bam (samtools cat of $SCALE copies)" step_scale
    rm -rf $W
fi
ls -l "$(pwd)"
echo "benchmark dataset in $(pwd)"
