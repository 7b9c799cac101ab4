"""PAF text into batches: each chunk of lines cut and checked by the kernel (`scan.scan_paf`).

The parser runs in the reading's worker thread, so it also copies out the query names and cuts
the tokens of those within `--sample`, work the statistics would otherwise do in the main thread.

PAF has no header. A bad line stops the pass with one line naming it (docs/record.md, Reading
each format: PAF).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...batches import Ranges
from ...errors import FormatError, line_where
from ...stats.read_name_fields import name_tokens
from .scan import BAD_STRAND, EMPTY_NAME, FEW_COLUMNS, MANDATORY, MAX_DIGITS, OK, scan_paf

COLUMN_NAMES = ("QNAME", "QLEN", "QSTART", "QEND", "STRAND", "TNAME", "TLEN", "TSTART", "TEND", "MATCHES",
                "ALN_LEN", "MAPQ")  # fmt: skip


@dataclass
class PafBatch:
    """The lines of one chunk, cut: column k (0-based, k < 12) of line i is
    `data[cuts[i, k] + (k > 0):cuts[i, k + 1]]`; tag j is `data[tag_starts[j]:tag_ends[j]]`, on line
    `tag_rows[j]`, its key `tag_keys[j]` (`scan.tag_key`)."""

    first_record: int  # 1-based number of the batch's first line among the file's PAF lines
    data: np.ndarray  # uint8, the chunk's text
    cuts: np.ndarray  # int64 (lines, 13)
    tag_starts: np.ndarray
    tag_ends: np.ndarray
    tag_keys: np.ndarray
    tag_rows: np.ndarray
    run_heads: np.ndarray  # lines whose target differs from the line before (the first is one)
    names: Ranges  # the query names (column 1)
    tokens: list[Ranges] | None = None  # token k of the names within --sample (`name_tokens`), cut ahead

    def __len__(self) -> int:
        return len(self.cuts)

    @property
    def text_size(self) -> int:
        return len(self.data)


class PafParser:
    """Turns chunks of whole lines into `PafBatch`es; keeps the line and record counts."""

    def __init__(self, path: Path, sample: int | None = None) -> None:
        self.path = path
        self.sample = sample  # the names' tokens are cut for the first `sample` lines only
        self.next_line = 1
        self.next_record = 1

    def parse(self, chunk: bytes) -> PafBatch:
        data = np.frombuffer(chunk, dtype=np.uint8)
        (cuts, tag_starts, tag_ends, tag_keys, tag_rows, run_heads, lines, problem, problem_line, count,
         column) = scan_paf(data)  # fmt: skip
        if problem != OK:
            where = line_where(self.next_line + problem_line)
            raise FormatError(self.path, self._problem(problem, count, column), where)
        names = Ranges(data, cuts[:, 0], cuts[:, 1])
        within = len(cuts) if self.sample is None else max(0, min(len(cuts), self.sample - self.next_record + 1))
        tokens = name_tokens(names if within == len(cuts) else names.head(within)) if within else None
        batch = PafBatch(self.next_record, data, cuts, tag_starts, tag_ends, tag_keys, tag_rows, run_heads, names,
                         tokens)  # fmt: skip
        self.next_line += lines
        self.next_record += len(cuts)
        return batch

    @staticmethod
    def _problem(problem: int, count: int, column: int) -> str:
        if problem == FEW_COLUMNS:
            return f"PAF line has {count} tab-separated column{'s' if count > 1 else ''}, expected at least {MANDATORY}"
        if problem == EMPTY_NAME:
            return "the query name (column 1) is empty"
        if problem == BAD_STRAND:
            return "the strand (column 5) is not '+', '-' or '*'"
        return f"{COLUMN_NAMES[column]} (column {column + 1}) is not an unsigned integer of at most {MAX_DIGITS} digits"
