"""Time genotel against its peer on every file of the real-file set, in one run, and write the table.

Run after `bash benchmarks/make_real_set.sh`, with the project's interpreter:
    .venv/bin/python benchmarks/run_real.py [--rounds N] [--only KEY ...] [--no-full]

For each file of benchmarks/real/manifest.tsv: `genotel record --json --threads T --no-gain`, the full
record (with the probe) and the peer (`samtools stats -@T`, `bcftools stats`, `seqkit stats -a -jT`) run
interleaved, `--rounds` times, under run.py's `timed` (GNU time plus the process-tree sampler). The
ratios are genotel's median wall over the peer's; issue #15's targets are ≤ 1.0x without the probe and
≤ 2.0x with it. A start-up line times a tiny fixture (fixtures/aln_bwa.bam) warm. The table replaces
the section "Real-file set (DATE)" of benchmarks/RESULTS.md (below run.py's notes marker, which run.py
keeps); raw figures go to benchmarks/results_real.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

import report
import run

HERE = Path(__file__).resolve().parent
NO_GAIN_TARGET, FULL_TARGET = 1.0, 2.0
WHAT = {  # what each file of make_real_set.sh is, for the table
    "many_tags_longranger": "BAM, many aux tags (Long Ranger, linked reads)",
    "no_seq_qual_bowtie": "BAM without SEQ/QUAL (Bowtie, UMI-tools test data)",
    "ont_minimap2": "long-read BAM, ONT reads, no QUAL (minimap2)",
    "pacbio_scraps": "long-read BAM, PacBio unaligned scraps, many tags (bax2bam)",
    "single_cell_cellranger": "single-cell RNA-seq BAM, CB/UB tags, spliced (Cell Ranger/STAR)",
    "cram21_bwa": "CRAM 2.1 (bwa aln)",
    "vcf_158_samples": "VCF, 158 samples (pysam test data)",
    "vcf_189_samples_gatk": "VCF, 189 samples (GATK 3.3)",
    "gvcf_sites": "gVCF, per-site reference records (bcftools gvcfz test)",
    "phred64_454": "Phred+64 FASTQ (454 reads, Illumina 1.3+ encoding, Biopython)",
    "ont_albacore": "long-read FASTQ, ONT (Albacore)",
    "tenx_reads": "10x short-read FASTQ, interleaved (Cell Ranger test)",
}


def peer_argv(kind: str, path: str, real: Path, threads: int) -> tuple[str, list[str]]:
    t = str(threads)
    if kind == "bam":
        return f"samtools stats -@{t}", ["samtools", "stats", "-@", t, path]
    if kind == "cram":
        ref = str(real / "src" / "cram21_bwa.ref.fa")
        return f"samtools stats -@{t} --reference", ["samtools", "stats", "-@", t, "--reference", ref, path]
    if kind == "vcf":
        return "bcftools stats", ["bcftools", "stats", path]
    return f"seqkit stats -a -j{t}", ["seqkit", "stats", "-a", "-j", t, path]


def time_file(entry: dict[str, str], real: Path, threads: int, rounds: int, full: bool) -> dict[str, object]:
    """Interleaved rounds of genotel without the probe, with it, and the peer on one joined file."""
    path = str(real / entry["file"])
    genotel = [*run.genotel_command(), "record", "--json", "--threads", str(threads)]
    if entry["kind"] == "cram":
        genotel += ["--reference", str(real / "src" / "cram21_bwa.ref.fa")]
    peer_name, peer = peer_argv(entry["kind"], path, real, threads)
    series = [run.Series("genotel --no-gain", [*genotel, "--no-gain", path])]
    if full:
        series.append(run.Series("genotel", [*genotel, path]))
    series.append(run.Series(peer_name, peer))
    print(f"== {entry['key']} ({entry['file']})", file=sys.stderr)
    quiet = run.quietness(1.0)
    run.warm_cache([path])
    for round_number in range(1, rounds + 1):
        for one in series:
            if one.unsupported:
                continue
            result = run.timed(one.argv)
            print(f"   round {round_number} {one.name}: {result.wall_s:.2f} s, exit {result.exit_code}",
                  file=sys.stderr)
            if result.exit_code != 0:
                one.unsupported = (result.stderr_tail.splitlines() or [f"exit {result.exit_code}"])[-1]
                continue
            one.runs.append(result)
    return {**entry, "size_mb": round(os.path.getsize(path) / 1e6, 1), "quiet_before": quiet,
            "series": [asdict(one) for one in series]}


def startup(threads: int, rounds: int) -> dict[str, object]:
    """genotel on a tiny fixture, warm (one untimed run first), beside samtools stats on it."""
    fixture = str(HERE.parent / "fixtures" / "aln_bwa.bam")
    genotel = [*run.genotel_command(), "record", "--json", "--threads", str(threads), fixture]
    peer = ["samtools", "stats", "-@", str(threads), fixture]
    run.timed(genotel)
    walls: dict[str, list[float]] = {"genotel": [], "peer": []}
    for _ in range(max(rounds, 3)):
        walls["genotel"].append(run.timed(genotel).wall_s)
        walls["peer"].append(run.timed(peer).wall_s)
    return {"fixture": "fixtures/aln_bwa.bam", "walls": walls}


# ---------------------------------------------------------------- report


def median_wall(one: dict) -> float:
    return statistics.median(r["wall_s"] for r in one["runs"]) if one["runs"] else float("nan")


def render(raw: dict) -> list[str]:
    env, ncpu = raw["environment"], raw["environment"]["nproc"] or 1
    files = raw["files"]
    loads = [report.other_load(one, ncpu) for entry in files for one in entry["series"] if one["runs"]]
    busy = [e["quiet_before"]["busy_percent"] for e in files]
    quiet = all(e["quiet_before"]["quiet"] for e in files) and max(loads, default=0) <= report.FOREIGN_LOAD_WARN
    lines = [f"## Real-file set ({raw['date'][:10]})", "",
             "<!-- written by benchmarks/run_real.py from benchmarks/results_real.json -->", ""]
    if not quiet:
        lines += [f"> **Provisional: the machine was busy.** Other processes used {100 * min(loads):.0f}-"
                  f"{100 * max(loads):.0f} % of all {ncpu} cores during the commands (median per command), "
                  f"{min(busy):.0f}-{max(busy):.0f} % just before each file; load average "
                  f"{raw['load_before']:.1f} at the start. Re-run on a quiet machine.", ""]
    lines += [f"{raw['date']}, {raw['source']['text']}; {env['cpu']}, {ncpu} cores; "
              f"{raw['rounds']} round(s), genotel and the peer interleaved, `--threads {raw['threads']}` "
              f"against the peer's {raw['threads']} threads. Files: `bash benchmarks/make_real_set.sh` "
              "(sources in benchmarks/REAL_SET.md), each joined with copies of itself until the peer used "
              "≥ 3 s of CPU. Ratio: genotel's median wall / the peer's; targets (issue #15) ≤ "
              f"{NO_GAIN_TARGET:.1f}x without the probe, ≤ {FULL_TARGET:.1f}x with it.", "",
              "| file | copies | MB | peer | peer wall s | --no-gain wall s | ratio | full wall s | ratio "
              "| genotel peak RSS MB | other load |",
              "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for entry in files:
        by_name = {one["name"]: one for one in entry["series"]}
        peer = entry["series"][-1]
        peer_wall = median_wall(peer)
        cells = []
        for name, target in (("genotel --no-gain", NO_GAIN_TARGET), ("genotel", FULL_TARGET)):
            one = by_name.get(name)
            if one is None:
                cells += ["-", "-"]
            elif one["unsupported"]:
                cells += ["fails", f"`{one['unsupported'][:60]}`"]
            else:
                ratio = median_wall(one) / peer_wall
                mark = "" if ratio <= target else " **missed**"
                cells += [f"{median_wall(one):.2f}", f"{ratio:.2f}x{mark}"]
        genotels = [one for one in entry["series"][:-1] if one["runs"]]
        rss = max((report.rss_mb(one) for one in genotels), default=0.0)
        load = max(report.other_load(one, ncpu) for one in entry["series"] if one["runs"])
        lines.append(f"| {WHAT.get(entry['key'], entry['key'])} | {entry['copies']} | {entry['size_mb']:.0f} "
                     f"| `{peer['name']}` | {peer_wall:.2f} | {' | '.join(cells)} | {rss:.0f} | {100 * load:.0f} % |")
    start = raw.get("startup")
    if start:
        genotel, peer = (statistics.median(start["walls"][k]) for k in ("genotel", "peer"))
        lines += ["", f"Start-up ({start['fixture']}, warm: one run first, then the median of "
                  f"{len(start['walls']['genotel'])}): `genotel record --json --threads {raw['threads']}` "
                  f"{genotel:.2f} s wall, `samtools stats -@{raw['threads']}` {peer:.2f} s."]
    return [*lines, ""]


def replace_section(path: Path, section: list[str]) -> None:
    """Put `section` in place of the section with the same heading, or append it (below the notes marker)."""
    text = path.read_text() if path.exists() else ""
    heading = section[0]
    lines = text.split("\n")
    if heading in lines:
        start = lines.index(heading)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = section
    else:
        if lines and lines[-1] == "":
            lines.pop()
        lines += ["", *section]
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time genotel against its peer on the real-file set.")
    parser.add_argument("--real", type=Path, default=HERE / "real", help="the set (default benchmarks/real)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds per file (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="threads for genotel and the peer (default 2)")
    parser.add_argument("--only", action="append", metavar="KEY", help="time only this file of the manifest")
    parser.add_argument("--no-full", action="store_true", help="skip the full record (with the probe)")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md", help="the report to update")
    parser.add_argument("--raw", type=Path, default=HERE / "results_real.json", help="raw figures")
    args = parser.parse_args(argv)
    manifest = args.real / "manifest.tsv"
    if not manifest.exists():
        parser.error(f"no {manifest}: run bash benchmarks/make_real_set.sh first")
    with manifest.open() as stream:
        entries = list(csv.DictReader(stream, delimiter="\t"))
    chosen = {key for item in args.only or [] for key in item.split(",")}
    unknown = chosen - {entry["key"] for entry in entries}
    if unknown:
        parser.error(f"unknown file(s) {sorted(unknown)} in {manifest}")
    raw = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "environment": run.environment(),
           "source": run.source_state(), "threads": args.threads, "rounds": args.rounds,
           "load_before": os.getloadavg()[0], "files": []}
    raw["startup"] = startup(args.threads, args.rounds)
    for entry in entries:
        if not chosen or entry["key"] in chosen:
            raw["files"].append(time_file(entry, args.real.resolve(), args.threads, args.rounds, not args.no_full))
            args.raw.write_text(json.dumps(raw, indent=1) + "\n")  # after each file: a crash keeps the rest
    raw["source_after"] = run.source_state()
    args.raw.write_text(json.dumps(raw, indent=1) + "\n")
    replace_section(args.results, render(raw))
    print(f"wrote {args.results} and {args.raw}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
