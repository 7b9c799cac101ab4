"""Read names as dictionary fields (hash_issues form 1): the name and its tokens, for SAM and FASTQ.

`DictionaryFields` keeps one `CardinalityAccumulator` per named field; `add_names` feeds a
batch's read names as `QNAME` and their tokens as `QNAME1`, `QNAME2`, ... (parent `QNAME`).
Formats add their own text fields to it by name.
"""

from __future__ import annotations

import numba
import numpy as np

from ..batches import Ranges, Strings
from .cardinality import CardinalityAccumulator, CardinalityResult
from .hashing import string_ranges

# Read-name separators: a name is cut into tokens at these bytes (':' '_' '.' '/' '-' '#' ' ').
NAME_SEPARATORS = np.frombuffer(b":_./-# ", dtype=np.uint8)
MAX_NAME_TOKENS = 12
_IS_SEPARATOR = np.zeros(256, dtype=np.bool_)
_IS_SEPARATOR[NAME_SEPARATORS] = True


class DictionaryFields:
    """Distinct values per dictionary field, in the order the fields were first fed."""

    def __init__(self) -> None:
        self.fields: dict[str, CardinalityAccumulator] = {}

    def field(self, name: str, parent: str = "") -> CardinalityAccumulator:
        if name not in self.fields:
            self.fields[name] = CardinalityAccumulator(name, parent)
        return self.fields[name]

    def add_names(self, names: Strings | Ranges) -> None:
        """QNAME and its tokens, one name per record in file order (FASTQ read names too)."""
        self.field("QNAME").add(names)
        tokens = name_tokens(names)
        if len(tokens) > 1:  # a name without separators is its own single token
            for index, token in enumerate(tokens, start=1):
                self.field(f"QNAME{index}", "QNAME").add(token)

    def results(self, total_records: int) -> list[CardinalityResult]:
        return [field.result(total_records) for field in self.fields.values()]


def name_tokens(names: Strings | Ranges) -> list[Ranges]:
    """Token k of every read name, for k < MAX_NAME_TOKENS (names with fewer tokens give b"").

    As many tokens as the name with the most has (at most MAX_NAME_TOKENS); token k is the
    text between separators k-1 and k (`cut_tokens`), left where it lies in the names' buffer.
    """
    if not len(names):
        return []
    buffer, starts, ends = string_ranges(names)
    token_starts, token_lengths = cut_tokens(buffer, starts, ends, _IS_SEPARATOR, MAX_NAME_TOKENS)
    return [Ranges(buffer, begin, begin + length) for begin, length in zip(token_starts, token_lengths, strict=True)]


@numba.njit(cache=True, nogil=True)
def cut_tokens(
    buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray, is_separator: np.ndarray, max_tokens: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cut each name `buffer[starts[i]:ends[i]]` at the bytes where `is_separator` is true.

    Returns where each token starts and its length, shape (tokens, names): as many tokens as the
    name with the most (at most `max_tokens`; the rest of a longer name is dropped), length 0
    for a name without that token.
    """
    count = len(starts)
    most = 1
    for name in range(count):
        pieces = 1
        for position in range(starts[name], ends[name]):
            pieces += is_separator[buffer[position]]
        most = max(most, min(pieces, max_tokens))
    token_starts = np.zeros((most, count), dtype=np.int64)
    lengths = np.zeros((most, count), dtype=np.int64)
    for name in range(count):
        token, start, end = 0, starts[name], ends[name]
        for position in range(start, end + 1):
            if position == end or is_separator[buffer[position]]:
                token_starts[token, name], lengths[token, name] = start, position - start
                token += 1
                start = position + 1
                if token == most:
                    break
    return token_starts, lengths
