"""The PAF kernel: one pass over a chunk of whole lines that cuts and checks every line.

`scan_paf` walks the bytes once (compiled by numba; the same loop in Python under
`NUMBA_DISABLE_JIT=1`). Per line it keeps where its 12 mandatory columns end, where each
optional `XX:T:value` tag is with its key as a number, and whether its target differs from the
line before (a new run). Blank lines are skipped. It stops at the first bad line and says what
was wrong.
"""

from __future__ import annotations

import numba
import numpy as np

from ..bed.scan import same_text, separators

MANDATORY = 12
MAX_DIGITS = 18
# Columns (0-based) that hold unsigned integers: lengths, starts, ends, matches, block length, MAPQ.
NUMBER_COLUMNS = np.array([1, 2, 3, 6, 7, 8, 9, 10, 11], dtype=np.int64)
STRAND_COLUMN, TARGET_COLUMN = 4, 5
NO_KEY = -1  # a tag column that is not `XX:T:...`

OK, FEW_COLUMNS, EMPTY_NAME, NOT_NUMBER, BAD_STRAND = range(5)

_TAB, _NEWLINE, _CR, _COLON, _ZERO = 9, 10, 13, 58, 48
_PLUS, _MINUS, _STAR = 43, 45, 42


@numba.njit(cache=True, nogil=True)
def _is_unsigned(data: np.ndarray, begin: int, end: int) -> bool:
    if end <= begin or end - begin > MAX_DIGITS:
        return False
    for at in range(begin, end):
        digit = int(data[at]) - _ZERO
        if digit < 0 or digit > 9:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def tag_key(data: np.ndarray, begin: int, end: int) -> int:
    """`XX:T:...` as the number XX * 256 + T (three bytes), or NO_KEY."""
    if end - begin < 5 or data[begin + 2] != _COLON or data[begin + 4] != _COLON:
        return NO_KEY
    return (np.int64(data[begin]) << 16) | (np.int64(data[begin + 1]) << 8) | np.int64(data[begin + 3])


@numba.njit(cache=True, nogil=True)
def scan_paf(data: np.ndarray):  # type: ignore[no-untyped-def]
    """Cut and check the lines of `data` (whole lines; the last may lack its newline).

    Returns: cuts (per line: its start, then the end of each of its 12 columns; int32, as every
    offset in a chunk), tag_starts,
    tag_ends, tag_keys, tag_rows (per tag, in file order), run_heads (the lines whose target
    differs from the line before; the first line is one), the number of lines of `data` (blank
    ones too), then the first problem: its code (OK for none), its line index in the chunk, the
    bad line's column count, and the bad column (0-based).
    """
    found, newlines = separators(data)
    size = len(data)
    line_count = newlines + 1
    cuts = np.empty((line_count, MANDATORY + 1), np.int32)
    tag_starts = np.empty(len(found), np.int32)
    tag_ends = np.empty(len(found), np.int32)
    tag_rows = np.empty(len(found), np.int32)
    run_heads = np.empty(line_count, np.int32)
    lines = 0
    records = 0
    tags = 0
    heads = 0
    previous_begin = 0
    previous_end = 0
    position = 0
    next_separator = 0
    problem, problem_line, problem_count, problem_column = OK, -1, 0, 0
    while position < size:
        begin = position
        row = records
        cuts[row, 0] = begin
        count = 1
        while True:  # to the line's newline (or the end of the data), tab by tab
            at = found[next_separator]
            next_separator += 1
            if at >= size or data[at] == _NEWLINE:
                break
            if data[at] == _TAB:
                if count <= MANDATORY:
                    cuts[row, count] = at
                else:
                    tag_ends[tags] = at
                    tags += 1
                count += 1
                if count > MANDATORY:
                    tag_starts[tags] = at + 1
                    tag_rows[tags] = row
        end = at
        if end > begin and data[end - 1] == _CR:
            end -= 1
        position = at + 1
        line = lines
        lines += 1
        if end == begin:
            continue  # a blank line
        if count > MANDATORY:  # the last tag ends at the line end
            tag_ends[tags] = end
            tags += 1
        elif count == MANDATORY:
            cuts[row, count] = end
        problem_line, problem_count = line, count
        if count < MANDATORY:
            problem = FEW_COLUMNS
            break
        if cuts[row, 1] == begin:
            problem = EMPTY_NAME
            break
        for column in NUMBER_COLUMNS:
            if not _is_unsigned(data, cuts[row, column] + 1, cuts[row, column + 1]):
                problem, problem_column = NOT_NUMBER, column
                break
        if problem != OK:
            break
        strand = cuts[row, STRAND_COLUMN] + 1
        if cuts[row, STRAND_COLUMN + 1] != strand + 1 or not (
            data[strand] == _PLUS or data[strand] == _MINUS or data[strand] == _STAR
        ):
            problem = BAD_STRAND
            break
        target_begin, target_end = cuts[row, TARGET_COLUMN] + 1, cuts[row, TARGET_COLUMN + 1]
        if row == 0 or not same_text(data, target_begin, target_end, previous_begin, previous_end):
            run_heads[heads] = row
            heads += 1
        previous_begin, previous_end = target_begin, target_end
        records += 1
    tag_keys = np.empty(tags, np.int32)
    for index in range(tags):
        tag_keys[index] = tag_key(data, tag_starts[index], tag_ends[index])
    if problem == OK:
        problem_line = -1
    return (cuts[:records], tag_starts[:tags], tag_ends[:tags], tag_keys, tag_rows[:tags], run_heads[:heads],
            lines, problem, problem_line, problem_count, problem_column)  # fmt: skip
