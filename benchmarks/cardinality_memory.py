"""Peak memory and accuracy of distinct counting on a synthetic stream of distinct read names.

    .venv/bin/python benchmarks/cardinality_memory.py [--names 200000000] [--batch 1000000]

Feeds `CardinalityAccumulator` (the hash_issues form-1 counter) with names `SRR10260032.<i>`
(i zero-padded to 10 digits, every name distinct), built in numpy batches so that the stream
itself costs no memory, then prints the distinct estimate, its error and the peak RSS of the
process. The issue's bar: under 1 GB peak and within 2 % for 200 million names.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from genotel.batches import Strings
from genotel.stats.cardinality import CardinalityAccumulator

PREFIX = b"SRR10260032."
DIGITS = 10


def name_batch(start: int, count: int) -> Strings:
    """`count` names `PREFIX + zero-padded (start + k)`, as one fixed-width buffer."""
    numbers = np.arange(start, start + count, dtype=np.int64)
    width = len(PREFIX) + DIGITS
    table = np.empty((count, width), dtype=np.uint8)
    table[:, : len(PREFIX)] = np.frombuffer(PREFIX, dtype=np.uint8)
    for position in range(DIGITS):
        table[:, width - 1 - position] = 48 + (numbers // 10**position) % 10
    offsets = np.arange(count + 1, dtype=np.int64) * width
    return Strings(table.reshape(-1), offsets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=200_000_000)
    parser.add_argument("--batch", type=int, default=1_000_000)
    args = parser.parse_args()
    accumulator = CardinalityAccumulator("QNAME")
    started = time.perf_counter()
    for start in range(0, args.names, args.batch):
        accumulator.add(name_batch(start, min(args.batch, args.names - start)))
    result = accumulator.result()
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    error = 100 * (result.distinct - args.names) / args.names
    print(f"names {args.names:,}  estimate {result.distinct:,}  error {error:+.2f}%  "
          f"peak RSS {peak_mb:.0f} MB  time {elapsed:.0f} s  reported {result.reported}")  # fmt: skip
    print("entry:", result.name, result.table_entries, f"{result.occupancy_percent}%", result.examples)


if __name__ == "__main__":
    main()
