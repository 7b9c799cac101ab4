#!/usr/bin/env bash
# Build benchmarks/real/: real public files that other people's tools wrote, each joined with
# copies of itself until its peer (samtools stats -@2, bcftools stats, seqkit stats -a -j2) spends
# at least --cpu seconds of CPU on it, so that a ratio against genotel measures the work, not start-up.
# Run by hand (not by CI), then time the set with benchmarks/run_real.py.
#
#   bash benchmarks/make_real_set.sh [--sources DIR] [--cpu SECONDS] [--out DIR]
#
# Every source file is pinned to a repository, commit and path (table below; REAL_SET.md says what
# each file is and its licence). It is taken, in this order, from a bare git copy of the repository
# at DIR/<owner>+<name>/repo (or DIR/<owner>+<name>.git), from `git clone --filter=blob:none` of
# github.com when that is reachable, else from raw.githubusercontent.com with curl.
# The peer's CPU time (user + system), not its wall time, decides the number of copies: a busy machine
# does not shrink the set. Joined copies keep each file's own header once: BAM and CRAM with
# `samtools cat`, VCF bodies appended after one header (BGZF), FASTQ gzip members concatenated.
# benchmarks/real/manifest.tsv lists the joined files, their copies and the peer's CPU seconds.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCES=""
OUT="$HERE/real"
CPU_TARGET=3.0
while [ $# -gt 0 ]; do
    case "$1" in
        --sources) SOURCES=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --cpu) CPU_TARGET=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "make_real_set.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
for tool in samtools bcftools bgzip seqkit git /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "make_real_set.sh: $tool is missing" >&2; exit 2; }
done

# key | kind | repository | commit | path in the repository
SET="
many_tags_longranger|bam|10XGenomics/bamtofastq|3a1d8b8192ac18d331554209d604db7809eb9bf6|test/lr21.bam
no_seq_qual_bowtie|bam|CGATOxford/UMI-tools|f109b2adc53ec158728c14d550b7cfc03fb214b1|tests/chr19.bam
ont_minimap2|bam|wdecoster/nanotest|8b87b70886141dd020a80ec80ebcbe6d9520021b|alignment_fasta.bam
pacbio_scraps|bam|PacificBiosciences/pbcore|58e6bcdbbb00b0d8b434fe0f8b85eb991eb3ab55|pbcore/data/m140905_042212_sidney_c100564852550000001823085912221377_s1_X0.scraps.bam
single_cell_cellranger|bam|10XGenomics/bamtofastq|3a1d8b8192ac18d331554209d604db7809eb9bf6|test/cr12-v1.bam
cram21_bwa|cram|samtools/samtools|8c865b973c940ed16d8a8a502a6c49d0a61b8e69|test/quickcheck/6.quickcheck.cram21.ok.cram
vcf_158_samples|vcf|pysam-developers/pysam|30542fae25dad67e8d80e4057b6957984c3f258d|tests/tabix_data/vcf/22.vcf
vcf_189_samples_gatk|vcf|brentp/cyvcf2|af6e07ca05ecf4121186c667a9c3d02939d21102|cyvcf2/tests/test.vcf.gz
gvcf_sites|vcf|samtools/bcftools|de0606d1fc0671c18c2d71dda4c13c3bf2a49c74|test/gvcfz.vcf
phred64_454|fastq|biopython/biopython|8b4d499f0e42567439e18a44986f342cc46e4faa|Tests/Quality/longreads_as_illumina.fastq
ont_albacore|fastq|rrwick/Porechop|109e437280436d1ec27e5a5b7a34ffb752176390|test/test_albacore_directory/workspace/barcode03/fastq_runid_e1df3d311cc267665db81df4aa863d073b0494ae_0.fastq
tenx_reads|fastq|10XGenomics/bamtofastq|3a1d8b8192ac18d331554209d604db7809eb9bf6|test/cellranger-tiny-fastq-1.2.0/read-RA_si-TTTCATGA_lane-008-chunk-001.fastq.gz
"
# the CRAM's reference (its @SQ M5 a9a06ca09c111789d92723fbf39820f6)
CRAM_REF="samtools/samtools|8c865b973c940ed16d8a8a502a6c49d0a61b8e69|test/dat/mpileup.ref.fa"

mkdir -p "$OUT/src" "$OUT/work"
WORK="$OUT/work"

# fetch REPO COMMIT PATH TARGET: the file at that commit, from a local copy, a clone or a raw URL
fetch() {
    local repo=$1 commit=$2 path=$3 target=$4 local_git
    [ -s "$target" ] && return 0
    for local_git in "$SOURCES/${repo/\//+}/repo" "$SOURCES/${repo/\//+}.git"; do
        if [ -n "$SOURCES" ] && [ -d "$local_git" ]; then
            git --git-dir="$local_git" show "$commit:$path" > "$target.part" && mv "$target.part" "$target" && return 0
        fi
    done
    local clone="$WORK/clones/${repo/\//+}"
    if [ -d "$clone" ] || git clone -q --bare --filter=blob:none "https://github.com/$repo.git" "$clone" 2>/dev/null; then
        git --git-dir="$clone" show "$commit:$path" > "$target.part" && mv "$target.part" "$target" && return 0
    fi
    if curl -fsSL "https://raw.githubusercontent.com/$repo/$commit/$path" -o "$target.part"; then
        mv "$target.part" "$target" && return 0
    fi
    rm -f "$target.part"
    echo "make_real_set.sh: cannot get $repo $commit:$path; give --sources DIR with a copy of $repo" >&2
    return 1
}

# peer_cpu KIND FILE: user + system seconds of the peer on FILE
peer_cpu() {
    local kind=$1 file=$2
    local -a peer
    case "$kind" in
        bam) peer=(samtools stats -@2 "$file") ;;
        cram) peer=(samtools stats -@2 --reference "$OUT/src/cram21_bwa.ref.fa" "$file") ;;
        vcf) peer=(bcftools stats "$file") ;;
        fastq) peer=(seqkit stats -a -j2 "$file") ;;
    esac
    /usr/bin/time -f '%U %S' -o "$WORK/time" "${peer[@]}" > /dev/null
    awk '{printf "%.2f", $1 + $2}' "$WORK/time"
}

# unit KIND SOURCE: one copy in the form copies are joined in (BGZF VCF body without EOF, gzip FASTQ)
unit() {
    local kind=$1 src=$2 key=$3
    case "$kind" in
        bam|cram) cp "$src" "$WORK/$key.unit" ;;
        vcf)
            bcftools view -h --no-version "$src" | bgzip -c | head -c -28 > "$WORK/$key.head"
            zcat -f "$src" | grep -v '^#' | bgzip -c | head -c -28 > "$WORK/$key.unit" ;;
        fastq) zcat -f "$src" | gzip -c > "$WORK/$key.unit" ;;
    esac
}

# repeat FILE COPIES: FILE COPIES times on stdout (doubling a block, so few processes even for 10^5 copies)
repeat() {
    local file=$1 n=$2 block="$WORK/repeat.block"
    cp "$file" "$block"
    while [ "$n" -gt 0 ]; do
        [ $((n % 2)) -eq 1 ] && cat "$block"
        n=$((n / 2))
        [ "$n" -gt 0 ] && cat "$block" "$block" > "$block.2" && mv "$block.2" "$block"
    done
    rm -f "$block"
}

# join KIND KEY COPIES TARGET: COPIES copies of the unit as one file
join() {
    local kind=$1 key=$2 copies=$3 target=$4
    local unit="$WORK/$key.unit"
    case "$kind" in
        bam|cram)
            # doubling: samtools cat of the file with itself, then of the binary digits of COPIES
            local parts=() power="$WORK/$key.p0" n=$copies level=0
            cp "$unit" "$power"
            while [ "$n" -gt 0 ]; do
                [ $((n % 2)) -eq 1 ] && parts+=("$power")
                n=$((n / 2)); level=$((level + 1))
                if [ "$n" -gt 0 ]; then
                    samtools cat --no-PG -o "$WORK/$key.p$level" "$power" "$power"
                    power="$WORK/$key.p$level"
                fi
            done
            if [ "${#parts[@]}" -eq 1 ]; then cp "${parts[0]}" "$target"; else samtools cat --no-PG -o "$target" "${parts[@]}"; fi
            rm -f "$WORK/$key".p* ;;
        vcf)
            { cat "$WORK/$key.head"; repeat "$unit" "$copies"
              printf '\037\213\010\004\000\000\000\000\000\377\006\000\102\103\002\000\033\000\003\000\000\000\000\000\000\000\000\000'
            } > "$target" ;;
        fastq) repeat "$unit" "$copies" > "$target" ;;
    esac
}

extension() {
    case "$1" in bam) echo bam ;; cram) echo cram ;; vcf) echo vcf.gz ;; fastq) echo fastq.gz ;; esac
}

IFS='|' read -r ref_repo ref_commit ref_path <<< "$CRAM_REF"
fetch "$ref_repo" "$ref_commit" "$ref_path" "$OUT/src/cram21_bwa.ref.fa"
samtools faidx "$OUT/src/cram21_bwa.ref.fa"

printf 'key\tkind\tfile\tcopies\tpeer_cpu_s\tsource\n' > "$OUT/manifest.tsv.part"
while IFS='|' read -r key kind repo commit path; do
    [ -n "$key" ] || continue
    src="$OUT/src/$key.${path##*/}"
    src="${src%.gz}"; [ "${path##*.}" = gz ] && src="$src.gz"
    fetch "$repo" "$commit" "$path" "$src"
    unit "$kind" "$src" "$key"
    target="$OUT/$key.$(extension "$kind")"
    copies=1
    while :; do
        join "$kind" "$key" "$copies" "$target"
        cpu=$(peer_cpu "$kind" "$target")
        echo "   $key: $copies copies, $(du -h "$target" | cut -f1), peer $cpu s CPU" >&2
        if awk -v c="$cpu" -v t="$CPU_TARGET" 'BEGIN { exit !(c >= t) }'; then break; fi
        # grow by the missing factor (start-up makes small files look dearer: at most x64 a step)
        copies=$(awk -v c="$cpu" -v t="$CPU_TARGET" -v n="$copies" \
            'BEGIN { f = (c > 0.01 ? 1.2 * t / c : 64); if (f < 2) f = 2; if (f > 64) f = 64; printf "%d", n * f + 0.5 }')
    done
    [ "$kind" = cram ] && samtools index "$target"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$kind" "${target##*/}" "$copies" "$cpu" "$repo@${commit:0:12}:$path" \
        >> "$OUT/manifest.tsv.part"
    rm -f "$WORK/$key.unit" "$WORK/$key.head"
done <<< "$SET"
mv "$OUT/manifest.tsv.part" "$OUT/manifest.tsv"
rm -f "$WORK/time"
echo "wrote $OUT ($(du -sh "$OUT" | cut -f1)); time it with: .venv/bin/python benchmarks/run_real.py" >&2
