"""BAM optional fields (tags): where they are, and the text of their float values.

The record kernel (`bam_records.decode_records`) reads each tag's value and its text length;
floats (`f`, the unofficial `d`, and `B:f` elements) are printed with C's `%g` as htslib's
`sam_format_aux1` does, which Python's formatting gives per distinct value (`float_text`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

AGENT_KEYS = (b"ZA", b"ZB", b"RX", b"QX", b"BC")  # AGeNT Trimmer's tags
PADDING = 512  # zero bytes after a segment's data, so fixed-width reads near its end stay in bounds
# float (`f`) and double (`d`): the dtype of their raw bits and of their value
FLOAT_KINDS = {ord("f"): ("<u4", "<f4"), ord("d"): ("<u8", "<f8")}
_float_texts: dict[tuple[int, int], bytes] = {}


@dataclass
class TagPositions:
    """Every tag of a segment in file order: its record, where it starts and where it ends.

    Tag i is `buffer[start[i]:end[i]]` (key, type, value; a Z/H value with its NUL), of record
    `record[i]` (an index into the walked records).
    """

    record: np.ndarray
    start: np.ndarray
    end: np.ndarray


def float_text_lengths(bits: np.ndarray, kind: bytes) -> np.ndarray:
    """Length of C's `%g` text of each float (`kind` f) or double (d), given as raw bits."""
    unique, inverse = np.unique(bits, return_inverse=True)
    lengths = np.fromiter((_float_text_length(int(pattern), kind) for pattern in unique), np.int64, len(unique))
    return lengths[inverse.ravel()]


def _float_text_length(pattern: int, kind: bytes) -> int:
    return len(float_text(pattern, kind[0]))


def float_text(pattern: int, letter: int) -> bytes:
    """`%g` of the float (`f`) or double (`d`) with these bits, as htslib prints it."""
    cached = _float_texts.get((letter, pattern))
    if cached is None:
        bits_dtype, float_dtype = FLOAT_KINDS[letter]
        value = float(np.array([pattern], dtype=bits_dtype).view(float_dtype)[0])
        text = f"{value:g}"  # C's %g: 6 significant digits, correctly rounded
        if math.isnan(value) and pattern >> (np.dtype(bits_dtype).itemsize * 8 - 1):
            text = "-" + text  # C prints the sign of a NaN, Python does not
        cached = _float_texts[(letter, pattern)] = text.encode()
    return cached
