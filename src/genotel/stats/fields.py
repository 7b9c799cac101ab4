"""Tab-separated fields of many lines at once, in numpy.

Shared by the formats whose text is tab-separated (SAM, VCF, GFF/GTF): the compressibility
probe cuts each line into its fields with these functions, without a Python loop over lines
(their bytes are then copied out by `batches.gather`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TAB = 9


@dataclass
class Fields:
    """Every field of a set of lines: field f of line `line[f]` is `data[start[f]:end[f]]`."""

    start: np.ndarray  # int64
    end: np.ndarray  # int64
    line: np.ndarray  # int64, index of the line the field belongs to
    column: np.ndarray  # int64, 0-based position of the field in its line
    per_line: np.ndarray  # int64, fields per line


def split_fields(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, separator: int = TAB) -> Fields:
    """Split lines `data[starts[i]:ends[i]]` at `separator` (lines must not overlap, in order)."""
    if len(starts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Fields(empty, empty, empty, empty, empty)
    region = data[starts[0] : ends[-1]]
    separators = np.flatnonzero(region == separator) + starts[0]
    # Keep only separators inside a line (the region may hold bytes between lines, e.g. '\n').
    line_of_separator = np.searchsorted(starts, separators, side="right") - 1
    inside = separators < ends[line_of_separator]
    separators, line_of_separator = separators[inside], line_of_separator[inside]
    per_line = np.bincount(line_of_separator, minlength=len(starts)).astype(np.int64) + 1
    field_start = np.sort(np.concatenate((starts, separators + 1)))
    field_end = np.sort(np.concatenate((separators, ends)))
    line = np.repeat(np.arange(len(starts), dtype=np.int64), per_line)
    first_field = np.cumsum(per_line) - per_line
    column = np.arange(len(line), dtype=np.int64) - np.repeat(first_field, per_line)
    return Fields(field_start.astype(np.int64), field_end.astype(np.int64), line, column, per_line)


def separators_text(per_line: np.ndarray, separator: int = TAB) -> np.ndarray:
    """The separator bytes of lines with `per_line` fields each, with their newlines, in order."""
    counts = per_line  # (fields - 1) separators + 1 newline per line
    total = int(counts.sum())
    text = np.full(total, separator, dtype=np.uint8)
    text[np.cumsum(counts) - 1] = 10
    return text
