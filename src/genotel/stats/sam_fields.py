"""The text fields of SAM records: probe streams and dictionary fields (hash_issues form 1).

A `SamText` holds, for one batch, each SAM column and each tag as byte ranges of text. It is
made from SAM text lines (a SAM file, or lines htslib formats for BAM/CRAM records), or built
column by column by a fast BAM reader; both feed the same two consumers:

- `add_sam_streams`: the probe streams `QNAME FLAG ... QUAL`, one stream per tag (`XX:t`), and
  `Other` (tabs and newlines): every byte of the record lines lands in exactly one stream.
- `SamDictionaryAccumulator`: distinct values of QNAME, its tokens, RNAME, CIGAR and text tags.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..batches import Strings, gather, gather_strings
from .cardinality import CardinalityAccumulator, CardinalityResult
from .fields import separators_text, split_fields
from .gain import GainProbe

SAM_COLUMNS = ("QNAME", "FLAG", "RNAME", "POS", "MAPQ", "CIGAR", "RNEXT", "PNEXT", "TLEN", "SEQ", "QUAL")
TAG_KEY_BYTES = 4  # a tag field starts `XX:t`, which names its stream
TEXT_TAG_TYPES = (b"Z", b"H")  # text-valued tags are dictionary fields; numbers are not
# Read-name separators: a QNAME is cut into tokens at these bytes (':' '_' '.' '/' '-' '#' ' ').
NAME_SEPARATORS = np.frombuffer(b":_./-# ", dtype=np.uint8)
MAX_NAME_TOKENS = 12
_OTHER_SEPARATORS = [np.uint8(byte) for byte in NAME_SEPARATORS.tolist() if byte not in b"-./"]


@dataclass
class TextColumn:
    """One text field of the records of a batch: value i is `data[starts[i]:ends[i]]`.

    `records` gives the record index of each value when only some records carry the field
    (tags); None means one value per record, in order.
    """

    data: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    records: np.ndarray | None = None

    def text(self) -> np.ndarray:
        return gather(self.data, self.starts, self.ends)

    def strings(self, skip: int = 0) -> Strings:
        """The values as Strings, without the first `skip` bytes of each (e.g. a tag's `XX:Z:`)."""
        starts = np.minimum(self.starts + skip, self.ends)
        return gather_strings(self.data, starts, self.ends - starts)

    def subset(self, rows: slice) -> TextColumn:
        """The column of values `rows` only, of the same kind."""
        records = None if self.records is None else self.records[rows]
        return replace(self, starts=self.starts[rows], ends=self.ends[rows], records=records)


@dataclass
class SamText:
    """The SAM text of a batch of records, column by column (tags keyed `XX:t`)."""

    records: int
    columns: dict[str, TextColumn]  # the 11 SAM columns by name, then each tag by `XX:t`
    fields_per_record: np.ndarray  # 11 + the record's tag count

    @classmethod
    def from_lines(cls, data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> SamText:
        """Cut SAM record lines `data[starts[i]:ends[i]]` (no newline) into columns."""
        fields = split_fields(data, starts, ends)
        columns: dict[str, TextColumn] = {}
        if (fields.per_line >= len(SAM_COLUMNS)).all():  # every line whole: column k is field k of each line
            first_field = np.cumsum(fields.per_line) - fields.per_line
            for index, name in enumerate(SAM_COLUMNS):
                columns[name] = TextColumn(data, fields.start[first_field + index], fields.end[first_field + index])
        else:  # short lines (a SAM file's malformed ones): look each column up
            for index, name in enumerate(SAM_COLUMNS):
                chosen = fields.column == index
                columns[name] = TextColumn(data, fields.start[chosen], fields.end[chosen])
        tags = np.flatnonzero(fields.column >= len(SAM_COLUMNS))
        if len(tags):
            tag_start, tag_end, tag_line = fields.start[tags], fields.end[tags], fields.line[tags]
            short = tag_end - tag_start < TAG_KEY_BYTES
            # The key `XX:t` as one integer per tag field (malformed short tags share key 0).
            key_bytes = data[np.minimum(tag_start[:, None] + np.arange(TAG_KEY_BYTES), len(data) - 1)]
            weights = 256 ** np.arange(TAG_KEY_BYTES, dtype=np.uint32)
            keys = np.where(short, 0, key_bytes.astype(np.uint32) @ weights)
            for key in np.unique(keys):  # a handful of distinct tags per file
                chosen = keys == key
                first = int(np.flatnonzero(chosen)[0])
                name = "Other" if short[first] else bytes(key_bytes[first]).decode("ascii", "replace")
                columns[name] = TextColumn(data, tag_start[chosen], tag_end[chosen], tag_line[chosen])
        return cls(len(starts), columns, fields.per_line)


def add_sam_streams(probe: GainProbe, text: SamText) -> None:
    """Add every byte of the batch's record lines to its probe stream."""
    if text.records == 0:
        return
    for name, column in text.columns.items():
        probe.add(name, column.text())
    probe.add("Other", separators_text(text.fields_per_record))


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

    Comparisons, not a lookup table: indexing a table with a byte array first widens every byte
    to a 64-bit index (measured 3x slower on read names). `-./` are one range.
    """
    found = (text - np.uint8(ord("-"))) <= np.uint8(2)
    for separator in _OTHER_SEPARATORS:
        found |= text == separator
    return found


def _tokens_by_separator(names: Strings) -> list[Strings]:
    """Token k of every read name, for k < MAX_NAME_TOKENS (names with fewer tokens give b"").

    Without a sort or a pass per token over all tokens: separator j of the batch, in name i,
    ends token j + i and starts token j + i + 1 (measured 1.7x faster than sorting the bounds).
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


class SamDictionaryAccumulator:
    """Distinct values of the SAM dictionary fields: QNAME and its tokens, RNAME, CIGAR, text tags.

    Tokens are named `QNAME<k>` (k from 1) with parent `QNAME`; tags by their `XX:t` name.
    """

    def __init__(self) -> None:
        self.fields: dict[str, CardinalityAccumulator] = {}

    def _field(self, name: str, parent: str = "") -> CardinalityAccumulator:
        if name not in self.fields:
            self.fields[name] = CardinalityAccumulator(name, parent)
        return self.fields[name]

    def add(self, text: SamText) -> None:
        if text.records == 0:
            return
        self.add_names(text.columns["QNAME"].strings())
        for column in ("RNAME", "CIGAR"):
            self._field(column).add(text.columns[column].strings())
        for name, column in text.columns.items():
            if len(name) == TAG_KEY_BYTES and name[3:].encode() in TEXT_TAG_TYPES:
                self._field(name).add(column.strings(skip=len("XX:Z:")))

    def add_names(self, names: Strings) -> None:
        """QNAME and its tokens, one name per record in file order (FASTQ read names too)."""
        self._field("QNAME").add(names)
        tokens = name_tokens(names)
        if len(tokens) > 1:  # a name without separators is its own single token
            for index, token in enumerate(tokens, start=1):
                self._field(f"QNAME{index}", "QNAME").add(token)

    def results(self, total_records: int) -> list[CardinalityResult]:
        return [field.result(total_records) for field in self.fields.values()]
