"""The BED kernels: one pass over a chunk of whole lines that classifies, cuts and checks every line.

`scan_bed` (compiled by numba; the same loops in Python under `NUMBA_DISABLE_JIT=1`) first finds
every tab and newline without a branch (`separators`), then walks those positions line by line.
Per data line it keeps where its first 12 columns end, its start and end coordinates, whether its
contig differs from the data line before (a new run) and the first line whose start is below the
one before on the same contig; header lines (`#`, `track`, `browser`) are listed apart, blank
lines skipped. It stops at the first bad line and says what was wrong. The PAF kernel shares
`separators` and `same_text`.
"""

from __future__ import annotations

import numba
import numpy as np

MAX_COLUMNS = 12  # BED12: the columns with a name (and a stream) of their own
MAX_DIGITS = 18  # a coordinate of more digits would not fit an int64: refused

# What `scan_bed` found wrong (0: nothing); the parser turns the code into the message.
OK, FEW_COLUMNS, OTHER_COLUMN_COUNT, START_NOT_NUMBER, END_NOT_NUMBER, START_AFTER_END, EMPTY_CONTIG = range(7)

_TAB, _NEWLINE, _CR, _SPACE = 9, 10, 13, 32
_HASH, _ZERO = 35, 48
_TRACK = np.frombuffer(b"track", dtype=np.uint8)
_BROWSER = np.frombuffer(b"browser", dtype=np.uint8)


@numba.njit(cache=True, nogil=True)
def _starts_word(data: np.ndarray, at: int, end: int, word: np.ndarray) -> bool:
    """Whether `data[at:end]` starts with `word` followed by a space, a tab or the line end."""
    size = len(word)
    if end - at < size:
        return False
    for offset in range(size):
        if data[at + offset] != word[offset]:
            return False
    return end - at == size or data[at + size] == _SPACE or data[at + size] == _TAB


@numba.njit(cache=True, nogil=True)
def _unsigned(data: np.ndarray, begin: int, end: int) -> int:
    """The unsigned integer `data[begin:end]`, or -1 when it is not 1 to MAX_DIGITS digits."""
    if end <= begin or end - begin > MAX_DIGITS:
        return -1
    value = 0
    for at in range(begin, end):
        digit = int(data[at]) - _ZERO
        if digit < 0 or digit > 9:
            return -1
        value = value * 10 + digit
    return value


@numba.njit(cache=True, nogil=True)
def same_text(data: np.ndarray, begin: int, end: int, other_begin: int, other_end: int) -> bool:
    """Whether `data[begin:end]` and `data[other_begin:other_end]` hold the same bytes."""
    if end - begin != other_end - other_begin:
        return False
    for offset in range(end - begin):  # noqa: SIM110 - a loop numba compiles, not all() of a generator
        if data[begin + offset] != data[other_begin + offset]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def separators(data: np.ndarray) -> tuple[np.ndarray, int]:
    """Where the bytes up to 10 (tabs, newlines, other control bytes) are, then `len(data)`; and the newline count.

    Branch-free, so the walk costs the same per byte whatever the text; the lines are then cut
    by walking these positions, a few per column instead of one step per byte.
    """
    size = len(data)
    found = np.empty(size + 1, np.int32)
    count = 0
    newlines = 0
    for at in range(size):
        byte = data[at]
        found[count] = at
        count += byte <= _NEWLINE
        newlines += byte == _NEWLINE
    found[count] = size
    return found[: count + 1], newlines


@numba.njit(cache=True, nogil=True)
def scan_bed(data: np.ndarray, columns: int):  # type: ignore[no-untyped-def]
    """Cut and check the lines of `data` (whole lines; the last may lack its newline).

    `columns` is the file's column count (0 while no data line has been seen). Returns: the
    number of lines (all kinds), header_starts and header_ends (the `#`, `track` and `browser`
    lines, without `\r\n`), cuts (per data line: its start, then the end of each of its first 12
    columns; int32, as every offset in a chunk), starts, ends (the coordinates), run_heads (the
    data lines whose contig differs from the data line before; the first data line is one),
    first_unsorted (the first data line whose start is below the previous one's on the same
    contig, else -1), columns (the file's column count), then the first problem: its code (OK for
    none), line index, the bad line's column count, and where the bad coordinate is (begin, end).
    """
    found, newlines = separators(data)
    line_count = newlines + 1
    cuts = np.empty((line_count, MAX_COLUMNS + 1), np.int32)
    starts = np.empty(line_count, np.int64)
    ends = np.empty(line_count, np.int64)
    run_heads = np.empty(line_count, np.int32)
    header_starts = np.empty(0, np.int32)
    header_ends = np.empty(0, np.int32)
    headers = 0
    size = len(data)
    lines = 0
    records = 0
    heads = 0
    first_unsorted = -1
    previous_contig_start = 0
    previous_contig_end = 0
    position = 0
    next_separator = 0
    problem, problem_line, problem_count, value_begin, value_end = OK, -1, 0, 0, 0
    while position < size:
        # To the newline, separator by separator: the first 12 column ends are kept, the tabs after them counted.
        begin = position
        row = records
        cuts[row, 0] = begin
        count = 1
        while True:
            newline = found[next_separator]
            next_separator += 1
            if newline >= size or data[newline] == _NEWLINE:
                break
            if data[newline] == _TAB:
                if count <= MAX_COLUMNS:
                    cuts[row, count] = newline
                count += 1
        end = newline
        if end > begin and data[end - 1] == _CR:
            end -= 1
        if count <= MAX_COLUMNS:
            cuts[row, count] = end
        position = newline + 1
        line = lines
        lines += 1
        if end == begin:
            continue  # a blank line
        if data[begin] == _HASH or _starts_word(data, begin, end, _TRACK) or _starts_word(data, begin, end, _BROWSER):
            if headers == len(header_starts):  # rare: grown as they come
                header_starts = np.concatenate((header_starts, np.empty(headers + 16, np.int32)))
                header_ends = np.concatenate((header_ends, np.empty(headers + 16, np.int32)))
            header_starts[headers] = begin
            header_ends[headers] = end
            headers += 1
            continue
        problem_line, problem_count = line, count
        if count < 3:
            problem = FEW_COLUMNS
            break
        if columns == 0:
            columns = count
        if count != columns:
            problem = OTHER_COLUMN_COUNT
            break
        contig_end = cuts[row, 1]
        if contig_end == begin:
            problem = EMPTY_CONTIG
            break
        start = _unsigned(data, contig_end + 1, cuts[row, 2])
        if start < 0:
            problem, value_begin, value_end = START_NOT_NUMBER, contig_end + 1, cuts[row, 2]
            break
        stop = _unsigned(data, cuts[row, 2] + 1, cuts[row, 3])
        if stop < 0:
            problem, value_begin, value_end = END_NOT_NUMBER, cuts[row, 2] + 1, cuts[row, 3]
            break
        if start > stop:
            problem = START_AFTER_END
            break
        starts[row] = start
        ends[row] = stop
        if row == 0 or not same_text(data, begin, contig_end, previous_contig_start, previous_contig_end):
            run_heads[heads] = row
            heads += 1
        elif first_unsorted < 0 and start < starts[row - 1]:
            first_unsorted = row
        previous_contig_start = begin
        previous_contig_end = contig_end
        records += 1
    if problem == OK:
        problem_line = -1
    return (lines, header_starts[:headers], header_ends[:headers], cuts[:records], starts[:records], ends[:records],
            run_heads[:heads], first_unsorted, columns, problem, problem_line, problem_count, value_begin,
            value_end)  # fmt: skip
