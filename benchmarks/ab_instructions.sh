#!/usr/bin/env bash
# benchmarks/ab_instructions.sh -- instructions genotel executes on one input, at an older commit and now.
#
# Run by hand (NOT by CI), from the project root, with valgrind installed (apt-get install valgrind):
#     bash benchmarks/ab_instructions.sh BASE_COMMIT record --json --threads 1 [--no-gain] FILE
#
# Wall and CPU times on this VM drift by +-25 % over minutes (benchmarks/RESULTS.md), which hides a
# 5 % change; callgrind's instruction count does not move with the machine's load: the same code on
# the same input gives the same count within ~0.2 % (string hashing is seeded per run). It does not
# see memory stalls (cache misses), so a change about memory traffic still needs timing.
# Callgrind runs ~50x slower: use a subset, e.g.
#     samtools view -b -o /tmp/sub.bam benchmarks/data/bench.bam NC_008253.1:1-150000   # ~164 k records
#     zcat benchmarks/data/bench_R1.fastq.gz | head -1200000 | bgzip -c > /tmp/sub_R1.fastq.gz
#     zcat benchmarks/data/allsites.vcf.gz | head -400000 | bgzip -c > /tmp/sub.vcf.gz
# and one process (--threads 1; files under 64 MiB are read in one process anyway). The two runs
# go side by side (one per core). Start-up (imports) is in both counts: measure it on a tiny
# fixture and subtract it to compare the work per record.
# The records of both runs are compared too (record_id and created aside).
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,4p' "$0" >&2
    exit 2
fi
base=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
python=$root/.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/base"
git -C "$root" archive "$base" src | tar -x -C "$work/base"

run() {  # $1: label, $2: the src/ folder to import genotel from, then genotel's arguments
    local label=$1 source=$2
    shift 2
    PYTHONPATH=$source valgrind --tool=callgrind --callgrind-out-file="$work/$label.callgrind" \
        "$python" -c "from genotel.cli import run; run()" "$@" >"$work/$label.json" 2>"$work/$label.log"
}
run base "$work/base/src" "$@" &
run now "$root/src" "$@" &
wait

count() { grep -o 'Collected : [0-9]*' "$work/$1.log" | grep -o '[0-9]*$'; }
before=$(count base)
after=$(count now)
"$python" - "$before" "$after" "$work/base.json" "$work/now.json" "$base" <<'PY'
import json
import sys

before, after = int(sys.argv[1]), int(sys.argv[2])
print(f"{sys.argv[5]}: {before:,} instructions")
print(f"now: {after:,} instructions ({100 * (after - before) / before:+.1f} %)")


def without_identity(record):
    if isinstance(record, list):
        return [without_identity(item) for item in record]
    return {key: value for key, value in record.items() if key not in ("record_id", "created")}


with open(sys.argv[3]) as old, open(sys.argv[4]) as new:
    same = without_identity(json.load(old)) == without_identity(json.load(new))
print("records: identical" if same else "records: DIFFERENT")
PY
