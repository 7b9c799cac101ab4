"""PAF field streams for the compressibility probe: the 12 columns, one stream per tag, `Other`.

A tag's stream holds the whole `XX:T:value` text, named `XX:T` (as SAM tags are); a column
after the 12th that is not of that form, tabs and line ends are `Other`. At most
`MAX_TAG_STREAMS` tags get a stream, in order of first appearance; later ones are `Other`.
Every byte is copied once, grouped by stream (`text_streams.gather_groups`).
"""

from __future__ import annotations

import numpy as np

from ...stats.gain import GainProbe
from ...stats.text_streams import add_grouped, gaps_between, gather_groups
from .parse import COLUMN_NAMES, MANDATORY, PafBatch
from .scan import NO_KEY

MAX_TAG_STREAMS = 128
FIRST_TAG = 1 + MANDATORY  # labels: 0 Other, 1-12 the columns, then the tags


def key_name(key: int) -> str:
    """`scan.tag_key`'s number as the tag's name, `XX:T`."""
    return f"{chr(key >> 16)}{chr((key >> 8) & 0xFF)}:{chr(key & 0xFF)}"


def is_plain_name(key: int) -> bool:
    """Printable ASCII without a comma: safe as a stream name in the record."""
    return all(0x21 <= byte <= 0x7E and byte != 0x2C for byte in (key >> 16, (key >> 8) & 0xFF, key & 0xFF))


class TagStreams:
    """The tag keys seen so far, each with its stream label."""

    def __init__(self) -> None:
        self.keys: dict[int, int] = {}  # key -> label (0: Other)
        self.names: list[str] = []  # name of label FIRST_TAG + i

    def labels(self, keys: np.ndarray) -> np.ndarray:
        """The stream label of each tag key; new keys are registered in order of first appearance."""
        distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        for key in distinct[np.argsort(first)].tolist():
            if key not in self.keys:
                label = 0
                if key != NO_KEY and len(self.names) < MAX_TAG_STREAMS and is_plain_name(key):
                    label = FIRST_TAG + len(self.names)
                    self.names.append(key_name(key))
                self.keys[key] = label
        return np.array([self.keys[key] for key in distinct.tolist()], dtype=np.int64)[inverse]

    def add(self, probe: GainProbe, batch: PafBatch) -> None:
        """The batch's text into the probe."""
        count, data = len(batch), batch.data
        column_starts = batch.cuts[:, :MANDATORY].copy()
        column_starts[:, 1:] += 1
        column_ends = batch.cuts[:, 1:]
        labels = self.labels(batch.tag_keys)
        named = labels != 0
        tag_starts, tag_ends, tag_labels = batch.tag_starts[named], batch.tag_ends[named], labels[named]
        # The named ranges in file order (a line's columns, then its tags) for the gaps between them.
        per_line = np.bincount(batch.tag_rows[named], minlength=count).astype(np.int64)
        line_offset = MANDATORY * np.arange(count, dtype=np.int64) + np.cumsum(per_line) - per_line
        ordered_starts = np.empty(MANDATORY * count + len(tag_starts), dtype=np.int64)
        ordered_ends = np.empty_like(ordered_starts)
        column_at = line_offset[:, None] + np.arange(MANDATORY)
        ordered_starts[column_at], ordered_ends[column_at] = column_starts, column_ends
        tag_at = np.arange(len(tag_starts)) + MANDATORY * (batch.tag_rows[named] + 1)
        ordered_starts[tag_at], ordered_ends[tag_at] = tag_starts, tag_ends
        gap_start, gap_end = gaps_between(ordered_starts, ordered_ends, len(data))
        order = np.argsort(tag_labels, kind="stable")
        tag_bounds = np.searchsorted(tag_labels[order], np.arange(FIRST_TAG, FIRST_TAG + len(self.names) + 1))
        fixed_bounds = np.cumsum([0, len(gap_start), *[count] * MANDATORY])
        piece_bounds = np.concatenate((fixed_bounds, fixed_bounds[-1] + tag_bounds[1:]))
        starts = np.concatenate((gap_start, column_starts.T.ravel(), tag_starts[order]))
        ends = np.concatenate((gap_end, np.ascontiguousarray(column_ends.T).ravel(), tag_ends[order]))
        grouped = gather_groups(data, starts, ends, piece_bounds)
        add_grouped(probe, grouped, ["Other", *COLUMN_NAMES, *self.names])
