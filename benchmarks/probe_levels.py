"""Choose the probe's zstd level, and measure --gain-sample's error, on real SAM text.

    .venv/bin/python benchmarks/probe_levels.py benchmarks/data/bench.bam [--records 1000000]

Takes the SAM text of the first N records (htslib's formatting, through pysam), cuts it into
the probe's field streams (`SamText`, as genotel does) once, then compresses the streams with
`GainProbe` at several zstd levels, one thread, timing CPU seconds (robust to a busy machine).
Then, at the default level, compares `--gain-sample F` against the full probe: the largest
difference of any stream's share (percentage points) and of genozip_gain. Prints Markdown.
"""

from __future__ import annotations

import argparse
import time

import pysam

from genotel.extractors.sam.fields import SamText, add_sam_streams
from genotel.record import render_fields_gain
from genotel.stats.gain import GainProbe
from genotel.textio import split_lines

LEVELS = (1, 3, 6, 9, 12, 19)
FRACTIONS = (0.5, 0.25, 0.1)


def sam_batches(path: str, records: int, batch: int = 20_000) -> list[SamText]:
    texts, lines = [], []
    with pysam.AlignmentFile(path) as alignments:
        for count, read in enumerate(alignments.fetch(until_eof=True)):
            if count == records:
                break
            lines.append(read.to_string())
            if len(lines) == batch:
                texts.append(_text(lines))
                lines = []
    if lines:
        texts.append(_text(lines))
    return texts


def _text(lines: list[str]) -> SamText:
    chunk = split_lines(("\n".join(lines) + "\n").encode(), 1)
    return SamText.from_lines(chunk.data, chunk.starts, chunk.ends)


def probe(texts: list[SamText], level: int, fraction: float | None) -> tuple[dict[str, float], float, int, float]:
    started = time.process_time()
    gain = GainProbe(level=level, sample_fraction=fraction, threads=1)
    for text in texts:
        add_sam_streams(gain, text)
    sizes = gain.result()
    seconds = time.process_time() - started
    fields, overall = render_fields_gain([(s.name, s.text_size, s.compressed_size) for s in sizes])
    shares = {item.split(",")[0]: float(item.split(",")[1].rstrip("%")) for item in fields.split("; ")}
    return shares, overall, sum(s.text_size for s in sizes), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bam")
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    texts = sam_batches(args.bam, args.records)
    baseline = probe(texts, 1, None)  # warm-up, also the split cost's share
    print(f"SAM text of the first {args.records:,} records: {baseline[2] / 1e6:.0f} MB, "
          f"{len(texts)} batches\n")  # fmt: skip
    print("| zstd level | CPU s | MB/s (1 thread) | genozip_gain | QUAL share | QNAME share |")
    print("|---|---|---|---|---|---|")
    full: dict[int, tuple[dict[str, float], float]] = {}
    for level in LEVELS:
        shares, overall, text_size, seconds = probe(texts, level, None)
        full[level] = (shares, overall)
        print(f"| {level} | {seconds:.1f} | {text_size / 1e6 / seconds:.0f} | {overall} | "
              f"{shares.get('QUAL', 0)}% | {shares.get('QNAME', 0)}% |")  # fmt: skip
    print("\n| --gain-sample | CPU s | largest share error (points) | genozip_gain | its error |")
    print("|---|---|---|---|---|")
    reference_shares, reference_gain = full[3]
    for fraction in FRACTIONS:
        shares, overall, _, seconds = probe(texts, 3, fraction)
        worst = max(abs(shares.get(name, 0) - share) for name, share in reference_shares.items())
        error = 100 * (overall - reference_gain) / reference_gain
        print(f"| {fraction} | {seconds:.1f} | {worst:.1f} | {overall} | {error:+.1f}% |")
    print(f"| full (zstd-3) | - | 0 | {reference_gain} | 0 |")


if __name__ == "__main__":
    main()
