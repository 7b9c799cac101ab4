"""BED field streams for the compressibility probe.

Columns 1 to 12 go to the streams named after them in BED12's order, whatever the file's column
count (a BED6+4 narrowPeak's columns 7-10 land in THICK_START..BLOCK_COUNT); everything else
(tabs, line ends, header and blank lines after the first data line, columns after the 12th) is
`Other`. The header before the first data line is `TXT_HEADER`, added by whoever feeds the probe
the header text. Every byte is copied once, grouped by stream (`text_streams.gather_groups`).
"""

from __future__ import annotations

import numpy as np

from ...stats.gain import GainProbe
from ...stats.text_streams import add_grouped, gaps_between, gather_groups
from .parse import BedBatch
from .scan import MAX_COLUMNS

COLUMN_NAMES = ("CHROM", "START", "END", "NAME", "SCORE", "STRAND", "THICK_START", "THICK_END", "RGB",
                "BLOCK_COUNT", "BLOCK_SIZES", "BLOCK_STARTS")  # fmt: skip
STREAM_NAMES = ["Other", *COLUMN_NAMES]


def add_bed_streams(probe: GainProbe, batch: BedBatch) -> None:
    """The batch's text into the probe: one stream per named column, the rest `Other`."""
    named = min(batch.columns, MAX_COLUMNS)
    count = len(batch)
    # Column k of every line: [cuts[:, k] + (k > 0), cuts[:, k + 1]); in file order line by line.
    column_starts = batch.cuts[:, :named].copy()
    column_starts[:, 1:] += 1
    column_ends = batch.cuts[:, 1 : named + 1]
    gap_start, gap_end = gaps_between(column_starts.ravel(), column_ends.ravel(), batch.text_size)
    starts = np.concatenate((gap_start, column_starts.T.ravel()))
    ends = np.concatenate((gap_end, np.ascontiguousarray(column_ends.T).ravel()))
    piece_bounds = np.cumsum([0, len(gap_start), *[count] * named])
    add_grouped(probe, gather_groups(batch.data, starts, ends, piece_bounds), STREAM_NAMES[: named + 1])
