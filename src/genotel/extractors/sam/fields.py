"""The text fields of SAM records: probe streams and dictionary fields (hash_issues form 1).

A `SamText` holds each SAM column and tag of one batch as byte ranges of text, cut from SAM text
lines or built by the fast BAM reader. `add_sam_streams` cuts it into the probe's streams (every
byte of the record lines in exactly one); `SamDictionaryAccumulator` counts the distinct values
of QNAME, its tokens, RNAME, CIGAR and text tags.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...batches import Strings, gather, gather_strings
from ...stats.fields import separators_text, split_fields
from ...stats.gain import GainProbe
from ...stats.read_name_fields import DictionaryFields

SAM_COLUMNS = ("QNAME", "FLAG", "RNAME", "POS", "MAPQ", "CIGAR", "RNEXT", "PNEXT", "TLEN", "SEQ", "QUAL")
TAG_KEY_BYTES = 4  # a tag field starts `XX:t`, which names its stream
TEXT_TAG_TYPES = (b"Z", b"H")  # text-valued tags are dictionary fields; numbers are not


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


class SamDictionaryAccumulator(DictionaryFields):
    """Distinct values of the SAM dictionary fields: QNAME and its tokens, RNAME, CIGAR, text tags.

    Tokens are named `QNAME<k>` (k from 1) with parent `QNAME`; tags by their `XX:t` name.
    """

    def add(self, text: SamText) -> None:
        if text.records == 0:
            return
        self.add_names(text.columns["QNAME"].strings())
        for column in ("RNAME", "CIGAR"):
            self.field(column).add(text.columns[column].strings())
        for name, column in text.columns.items():
            if len(name) == TAG_KEY_BYTES and name[3:].encode() in TEXT_TAG_TYPES:
                self.field(name).add(column.strings(skip=len("XX:Z:")))
