"""Read names as dictionary fields (hash_issues form 1): the name and its tokens, for SAM and FASTQ.

`DictionaryFields` keeps one `CardinalityAccumulator` per named field; `add_names` feeds a
batch's read names as `QNAME` and their tokens as `QNAME1`, `QNAME2`, ... (parent `QNAME`).
Formats add their own text fields to it by name.
"""

from __future__ import annotations

import numpy as np

from ..batches import Strings, gather, gather_strings
from .cardinality import CardinalityAccumulator, CardinalityResult

# Read-name separators: a name is cut into tokens at these bytes (':' '_' '.' '/' '-' '#' ' ').
NAME_SEPARATORS = np.frombuffer(b":_./-# ", dtype=np.uint8)
MAX_NAME_TOKENS = 12
_OTHER_SEPARATORS = [np.uint8(byte) for byte in NAME_SEPARATORS.tolist() if byte not in b"-./"]


class DictionaryFields:
    """Distinct values per dictionary field, in the order the fields were first fed."""

    def __init__(self) -> None:
        self.fields: dict[str, CardinalityAccumulator] = {}

    def field(self, name: str, parent: str = "") -> CardinalityAccumulator:
        if name not in self.fields:
            self.fields[name] = CardinalityAccumulator(name, parent)
        return self.fields[name]

    def add_names(self, names: Strings) -> None:
        """QNAME and its tokens, one name per record in file order (FASTQ read names too)."""
        self.field("QNAME").add(names)
        tokens = name_tokens(names)
        if len(tokens) > 1:  # a name without separators is its own single token
            for index, token in enumerate(tokens, start=1):
                self.field(f"QNAME{index}", "QNAME").add(token)

    def results(self, total_records: int) -> list[CardinalityResult]:
        return [field.result(total_records) for field in self.fields.values()]


def name_tokens(names: Strings) -> list[Strings]:
    """Token k of every read name, for k < MAX_NAME_TOKENS (names with fewer tokens give b"").

    Read names of one file nearly always have the same number of separators: then the
    separators, in order, are a table with one row per name, token k of every name is bounded
    by columns k-1 and k, and a token whose values all have one length is copied as fixed-width
    rows. Other names take the general path (`_tokens_by_separator`).
    """
    count = len(names)
    buffer, offsets = names.buffer, names.offsets
    separators = np.flatnonzero(name_separators(buffer))
    per_name, extra = divmod(len(separators), count) if count else (0, 1)
    if extra:
        return _tokens_by_separator(names)
    starts, ends = offsets[:-1], offsets[1:]
    table = separators.reshape(count, per_name)
    # The separators are sorted, so each name holds exactly its row when every row lies inside its name.
    if per_name and not ((table[:, 0] >= starts).all() and (table[:, -1] < ends).all()):
        return _tokens_by_separator(names)
    bounds = [starts, *(table[:, column] for column in range(per_name)), ends]
    tokens = []
    for index in range(min(per_name + 1, MAX_NAME_TOKENS)):
        token_starts = bounds[index] + (index > 0)
        tokens.append(gather_strings(buffer, token_starts, bounds[index + 1] - token_starts))
    return tokens


def name_separators(text: np.ndarray) -> np.ndarray:
    """Where `text` holds a read-name separator (NAME_SEPARATORS).

    Comparisons, not a lookup table (indexing a table with a byte array first widens every byte
    to a 64-bit index). `-./` are one range.
    """
    found = (text - np.uint8(ord("-"))) <= np.uint8(2)
    for separator in _OTHER_SEPARATORS:
        found |= text == separator
    return found


def _tokens_by_separator(names: Strings) -> list[Strings]:
    """Token k of every read name, for k < MAX_NAME_TOKENS (names with fewer tokens give b"").

    Without a sort or a pass per token over all tokens: separator j of the batch, in name i,
    ends token j + i and starts token j + i + 1.
    """
    buffer, offsets = names.buffer, names.offsets
    count = len(names)
    separators = np.flatnonzero(name_separators(buffer))
    name_of_separator = np.searchsorted(offsets, separators, side="right") - 1
    per_name = np.bincount(name_of_separator, minlength=count) + 1
    first_token = np.cumsum(per_name) - per_name
    token_start = np.empty(count + len(separators), dtype=np.int64)
    token_end = np.empty_like(token_start)
    token_start[first_token], token_end[first_token + per_name - 1] = offsets[:-1], offsets[1:]
    at = np.arange(len(separators)) + name_of_separator
    token_end[at], token_start[at + 1] = separators, separators + 1
    tokens = []
    for index in range(min(int(per_name.max()) if count else 0, MAX_NAME_TOKENS)):
        having = np.flatnonzero(per_name > index)
        starts = np.zeros(count, dtype=np.int64)
        ends = np.zeros(count, dtype=np.int64)
        starts[having] = token_start[first_token[having] + index]
        ends[having] = token_end[first_token[having] + index]
        lengths = ends - starts
        token_offsets = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(lengths, out=token_offsets[1:])
        tokens.append(Strings(gather(buffer, starts, ends), token_offsets))
    return tokens
