"""Time genotel against its peer tools on the benchmark dataset and write benchmarks/RESULTS.md.

Run after `bash benchmarks/make_dataset.sh`, with the project's interpreter:
    .venv/bin/python benchmarks/run.py [--rounds N] [--only PAIR ...]

Each group runs genotel and its peers on the same file, interleaved (A B A B ...), `--rounds` times. Every
timed command runs under GNU time (`/usr/bin/time -f '%e %U %S %M'`), which waits for the command and
reports the CPU time of the command plus all its waited-for descendants, and as %M the largest peak RSS of
any single process in that tree (Linux keeps the max, not the sum). A sampler thread also walks the live
process tree every 0.1 s: the sum of its PSS is the tree's memory (a tool that runs several processes at
once is not flattered; PSS counts pages that forked workers share once), and the CPU ticks of each process
catch the processes no one waits for, which GNU time cannot see (multiprocessing forkserver workers).

Before each group the machine's idle CPU is measured; during each command the CPU time of everything else
on the machine is counted, and RESULTS.md says when the figures were taken on a busy machine.
Raw figures of every round go to benchmarks/results.json; `--only` re-times some groups and keeps the others.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import report

HERE = Path(__file__).resolve().parent
TIME = "/usr/bin/time"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
BUSY_FRACTION = 0.10  # of all cores: more than this from other processes means "not quiet"


@dataclass
class Peer:
    """A command that does comparable work to genotel's on the same input, and the issue's target."""

    key: str
    name: str
    argv: list[str]
    target_ratio: float | None = None  # genotel wall / this peer's wall must be <= this


@dataclass
class Group:
    """One input file: genotel's job on it and the peers timed in the same interleaved rounds."""

    key: str
    title: str
    inputs: list[str]
    genotel_argv: list[str]
    peers: list[Peer]


@dataclass
class Run:
    """One timed execution of one command."""

    wall_s: float
    user_s: float
    sys_s: float
    tree_cpu_s: float  # sampled own CPU of every process seen in the tree: a lower bound, sees unwaited ones
    max_rss_kb: int  # GNU time %M: the largest peak RSS of a single process of the tree
    tree_rss_kb: int  # peak memory of the tree: sampled PSS sum over its live processes, at least max_rss_kb
    foreign_cpu_s: float  # CPU time other processes used meanwhile
    exit_code: int
    stderr_tail: str = ""


@dataclass
class Series:
    """All rounds of one command in one group."""

    name: str
    argv: list[str]
    runs: list[Run] = field(default_factory=list)
    unsupported: str = ""  # genotel's error when it cannot read this input yet


def genotel_command() -> list[str]:
    """genotel from the interpreter's own environment (so .venv/bin/python runs .venv/bin/genotel)."""
    script = Path(sys.executable).parent / "genotel"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from genotel.cli import run; run()"]


def make_groups(data: Path, threads: int) -> list[Group]:
    """The benchmark pairs of the issue, on the files of make_dataset.sh."""
    genotel = [*genotel_command(), "record", "--json", "--threads", str(threads)]
    t = str(threads)
    ref = str(data / "ref.fa")
    bam, cram = str(data / "bench.bam"), str(data / "bench.cram")
    r1, r2 = str(data / "bench_R1.fastq.gz"), str(data / "bench_R2.fastq.gz")
    vcf = str(data / "allsites.vcf.gz")
    floor = Peer("floor", f"samtools view -c -@{t}", ["samtools", "view", "-c", "-@", t, bam], 2.0)
    groups = [
        Group("bam", "BAM record (no probe)", [bam], [*genotel, "--no-gain", bam],
              [Peer("stats", f"samtools stats -@{t}", ["samtools", "stats", "-@", t, bam], 0.6), floor]),
        Group("bam-full", "BAM full record (with the probe)", [bam], [*genotel, bam],
              [Peer("stats", f"samtools stats -@{t}", ["samtools", "stats", "-@", t, bam], 1.0)]),
        Group("cram", "CRAM record", [cram, ref], [*genotel, "--reference", ref, cram],
              [Peer("stats", f"samtools stats -@{t} --reference", ["samtools", "stats", "-@", t,
                                                                    "--reference", ref, cram], 1.5)]),
        Group("fastq", "FASTQ record, R1 + R2", [r1, r2], [*genotel, r1, r2],
              [Peer("seqkit", f"seqkit stats -a -j{t}", ["seqkit", "stats", "-a", "-j", t, r1, r2], 0.6)]),
        Group("vcf", "VCF record, all sites", [vcf], [*genotel, vcf],
              [Peer("stats", "bcftools stats", ["bcftools", "stats", vcf], 0.5)]),
    ]
    for key, name in (("bed", "bench.bed.gz"), ("paf", "bench.paf.gz")):
        path = data / name
        if path.exists():  # made by benchmarks/make_bed_paf.sh
            count = Peer("awk", "zcat | awk 'END{print NR}'", ["sh", "-c", f"zcat {path} | awk 'END{{print NR}}'"], 1.0)
            title = f"{key.upper()} record (no probe)"
            groups.append(Group(key, title, [str(path)], [*genotel, "--no-gain", str(path)], [count]))
    scaled = sorted(data.glob("bench_x*.bam"))
    if scaled:
        x = str(scaled[-1])
        groups.append(Group("bam-x4", f"BAM record on {scaled[-1].name} (flat memory)", [x], [*genotel, x],
                            [Peer("stats", f"samtools stats -@{t}", ["samtools", "stats", "-@", t, x])]))
    return groups


# ---------------------------------------------------------------- measuring


def machine_busy_ticks() -> int:
    """CPU ticks the whole machine spent not idle (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as stream:
        values = [int(v) for v in stream.readline().split()[1:]]
    return sum(values) - values[3] - values[4]  # minus idle and iowait


def process_table() -> dict[int, tuple[int, str, int, int]]:
    """pid -> (parent pid, name, CPU ticks, RSS kB) of every live process."""
    table: dict[int, tuple[int, str, int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stream:
                text = stream.read()
        except OSError:  # ended meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        # after the name: state ppid ... utime(12) stime(13) ... rss(22)
        table[int(entry.name)] = (int(fields[1]), name, int(fields[11]) + int(fields[12]), int(fields[21]) * PAGE_KB)
    return table


def tree_snapshot(root: int) -> tuple[int, dict[int, int]]:
    """Summed PSS (kB) of `root` and all its live descendants, and each one's own CPU ticks so far.

    PSS, not RSS: pages that forked workers share count once. The CPU ticks catch processes that GNU time
    never sees, because nobody in the tree waits for them (e.g. the workers of a multiprocessing forkserver,
    which the forkserver reaps and which the main process does not wait for).
    """
    table = process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_rest) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, ticks, stack = 0, {}, [root]
    while stack:
        pid = stack.pop()
        if pid in table:
            total += pss_kb(pid, fallback=table[pid][3])
            ticks[pid] = table[pid][2]
        stack.extend(children.get(pid, []))
    return total, ticks


def pss_kb(pid: int, fallback: int) -> int:
    """Proportional set size of one process (its RSS where smaps_rollup cannot be read)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as stream:
            for line in stream:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return fallback


def quietness(seconds: float = 3.0) -> dict[str, object]:
    """How busy the machine is without us: busy fraction of all cores and the busiest other processes."""
    before, busy_before = process_table(), machine_busy_ticks()
    time.sleep(seconds)
    after, busy_after = process_table(), machine_busy_ticks()
    ncpu = os.cpu_count() or 1
    fraction = (busy_after - busy_before) / CLOCK_TICKS / seconds / ncpu
    own = os.getpid()
    busiest = []
    for pid, (_ppid, name, ticks, _rss) in after.items():
        used = (ticks - before[pid][2]) / CLOCK_TICKS / seconds if pid in before else 0.0
        if pid != own and used >= 0.05:
            busiest.append((round(100 * used), pid, name))
    busiest.sort(reverse=True)
    load1 = os.getloadavg()[0]
    return {
        "busy_percent": round(100 * fraction, 1),
        "load1": round(load1, 2),
        "busiest": [f"{command_line(pid, name)} {pct}% of a core" for pct, pid, name in busiest[:5]],
        "quiet": fraction <= BUSY_FRACTION,
    }


def command_line(pid: int, name: str) -> str:
    """The program and its first arguments, shortened: enough to tell pytest from a stray benchmark."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as stream:
            words = stream.read().decode(errors="replace").split("\0")
    except OSError:
        return name
    text = " ".join(Path(word).name if i == 0 else word for i, word in enumerate(words[:4]) if word)
    return f"`{text[:60]}`" if text else name


def wait_for_quiet(limit_s: float) -> dict[str, object]:
    """Measure quietness; while busy, measure again until `limit_s` seconds have gone by."""
    deadline = time.monotonic() + limit_s
    quiet = quietness()
    while not quiet["quiet"] and time.monotonic() < deadline:
        print(f"   machine busy ({quiet['busy_percent']} % of all cores): waiting", file=sys.stderr)
        time.sleep(5)
        quiet = quietness()
    return quiet


def timed(argv: list[str]) -> Run:
    """Run `argv` under GNU time with stdout discarded; sample its process tree's RSS meanwhile."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as times, tempfile.TemporaryFile("w+") as errors:
        busy_before, own_before = machine_busy_ticks(), os.times()
        start = time.perf_counter()
        process = subprocess.Popen([TIME, "-f", "%e %U %S %M", "-o", times.name, *argv],
                                   stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0
        ticks: dict[int, int] = {}  # pid -> its own CPU ticks when last seen alive
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.1):
                pss, seen = tree_snapshot(process.pid)
                peak = max(peak, pss)
                ticks.update(seen)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        exit_code = process.wait()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        own_after, busy_after = os.times(), machine_busy_ticks()
        # GNU time writes "Command exited with non-zero status N" before its line on failure
        _elapsed, user, system, max_rss = times.read().split("\n")[-2].split()
        errors.seek(0)
        tail = errors.read()[-2000:]
    own_cpu = (own_after.user + own_after.system) - (own_before.user + own_before.system)
    foreign = (busy_after - busy_before) / CLOCK_TICKS - float(user) - float(system) - own_cpu
    sampled_cpu = sum(ticks.values()) / CLOCK_TICKS
    foreign -= max(sampled_cpu - float(user) - float(system), 0.0)  # unwaited processes are not "foreign"
    return Run(round(wall, 3), float(user), float(system), round(sampled_cpu, 2), int(max_rss),
               max(peak, int(max_rss)), round(max(foreign, 0.0), 2), exit_code, tail.strip())


def warm_cache(paths: list[str]) -> None:
    """Read the inputs once so every round, the first included, reads them from the page cache."""
    for path in paths:
        with open(path, "rb") as stream:
            while stream.read(1 << 24):
                pass


def run_group(group: Group, rounds: int, wait_quiet_s: float) -> dict[str, object]:
    """The interleaved rounds of one group: genotel, then each peer, `rounds` times."""
    print(f"== {group.title}", file=sys.stderr)
    quiet = wait_for_quiet(wait_quiet_s)
    if not quiet["quiet"]:
        print(f"   machine not quiet: {quiet}", file=sys.stderr)
    warm_cache(group.inputs)
    source = source_state()
    genotel = Series("genotel", group.genotel_argv)
    peers = [Series(peer.name, peer.argv) for peer in group.peers]
    for round_number in range(1, rounds + 1):
        for series in [genotel, *peers]:
            if series.unsupported:
                continue
            run = timed(series.argv)
            print(f"   round {round_number} {series.name}: {run.wall_s:.2f} s, exit {run.exit_code}", file=sys.stderr)
            if run.exit_code != 0:
                message = (run.stderr_tail.splitlines() or [f"exit {run.exit_code}"])[-1]
                if series is genotel:  # not an error of the benchmark: an input genotel does not read yet
                    series.unsupported = f"exit {run.exit_code}: {message}"
                    continue
                raise SystemExit(f"peer failed: {' '.join(series.argv)}: {message}")
            series.runs.append(run)
    return {
        "title": group.title,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "rounds": rounds,
        "source": source,
        "source_after": source_state(),
        "quiet_before": quiet,
        "genotel": asdict(genotel),
        "peers": [{**asdict(series), "key": peer.key, "target_ratio": peer.target_ratio}
                  for series, peer in zip(peers, group.peers, strict=True)],
    }


# ---------------------------------------------------------------- environment


def source_state() -> dict[str, str]:
    """Which genotel code ran: the commit, whether src/ had uncommitted changes, and a digest of src/.

    Other people may edit the working tree while a benchmark runs; equal digests mean two groups timed
    the same code (even across commits that did not touch src/).
    """
    root = HERE.parent
    commit = first_line(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    changed = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "src"],
                             capture_output=True, text=True, check=False).stdout.strip()
    digest = hashlib.sha256()
    for path in sorted((root / "src").rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    state = "+ uncommitted changes in src/" if changed else "src/ clean"
    return {"text": f"commit {commit}, {state} (src digest {digest.hexdigest()[:10]})",
            "digest": digest.hexdigest()[:10]}


def first_line(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False)
    except OSError as exc:
        return f"unavailable ({exc.strerror})"
    return (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr) else "?"


def environment() -> dict[str, object]:
    """Machine and tool versions, as RESULTS.md shows them."""
    with open("/proc/cpuinfo") as stream:
        models = [line.split(":", 1)[1].strip() for line in stream if line.startswith("model name")]
    with open("/proc/meminfo") as stream:
        mem_kb = int(next(line for line in stream if line.startswith("MemTotal")).split()[1])
    versions = {
        "samtools": first_line(["samtools", "--version"]),
        "bcftools": first_line(["bcftools", "--version"]),
        "seqkit": first_line(["seqkit", "version"]),
        "genotel": first_line([*genotel_command(), "--version"]),
        "GNU time": first_line(["dpkg-query", "-W", "-f", "${Version}", "time"]),
        "python": platform.python_version(),
    }
    for package in ("pysam", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "cpu": models[0] if models else platform.processor(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "versions": versions,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time genotel against its peers; write benchmarks/RESULTS.md.")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per group (default 3)")
    parser.add_argument("--only", action="append", metavar="PAIR",
                        help="time only this group (bam, bam-full, cram, fastq, vcf, bed, paf, bam-x4); repeatable")
    parser.add_argument("--threads", type=int, default=2, help="threads for genotel and every peer (default 2)")
    parser.add_argument("--wait-quiet", type=float, default=60, metavar="S",
                        help="before each group, wait up to S seconds for the machine to be quiet (default 60)")
    parser.add_argument("--data", type=Path, default=HERE / "data", help="the dataset (default benchmarks/data)")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md", help="the report to rewrite")
    parser.add_argument("--raw", type=Path, default=HERE / "results.json", help="raw figures of every round")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not (args.data / "bench.bam").exists():
        parser.error(f"no dataset in {args.data}: run bash benchmarks/make_dataset.sh first")
    if not os.access(TIME, os.X_OK):
        parser.error(f"{TIME} is missing: apt-get install time")

    groups = make_groups(args.data.resolve(), args.threads)
    known = {group.key for group in groups}
    chosen = {key for item in args.only or [] for key in item.split(",")} or known
    if chosen - known:
        hint = " (bam-x4 needs: bash benchmarks/make_dataset.sh --scale 4)" if "bam-x4" in chosen - known else ""
        parser.error(f"unknown pair(s) {sorted(chosen - known)}; choose from {sorted(known)}{hint}")

    raw = json.loads(args.raw.read_text()) if args.raw.exists() else {"groups": {}}
    raw["environment"] = environment()
    for group in groups:
        if group.key in chosen:
            raw["groups"][group.key] = run_group(group, args.rounds, args.wait_quiet)
            args.raw.write_text(json.dumps(raw, indent=1) + "\n")  # after each group: a crash keeps the rest
    # In the order of make_groups; a pair whose input is absent here (bench_x4.bam) keeps its last figures.
    order = [group.key for group in groups] + [key for key in raw["groups"] if key not in known]
    raw["groups"] = {key: raw["groups"][key] for key in order if key in raw["groups"]}
    args.raw.write_text(json.dumps(raw, indent=1) + "\n")
    report.write(args.results, raw, args.data)
    print(f"wrote {args.results} and {args.raw}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
