"""The SAM text of decoded BAM records, column by column, built in numpy from the binary fields.

Gives the fast BAM path the same `SamText`, byte for byte, that the pysam path cuts out of
htslib's lines, without formatting a line: integers as decimal text, RNAME/RNEXT from the contig
names (`*`, and `=` for RNEXT on RNAME's contig, as `sam_format1` prints), CIGAR as
`<length><op>`, SEQ from its 4-bit codes, QUAL as phred + 33 (`*` where absent), and each tag's
whole `XX:t:value` text from the tag walk; floats are formatted per distinct value with C's `%g`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...batches import PackedBases, Strings, gather, range_positions, values_at
from ...stats.line_spans import gather_lines
from .bam_aux import FLOAT_KINDS, float_text, sums_per_range, text_digits
from .bam_records import Contigs, Records
from .fields import SamText, TextColumn

_CIGAR_LETTERS = np.frombuffer(b"MIDNSHP=X", dtype=np.uint8)
_STAR = ord("*")
_COMMA = ord(",")
_MINUS = ord("-")
_INTEGER_KINDS = {ord(k): d for k, d in zip("cCsSiI", ("i1", "u1", "<i2", "<u2", "<i4", "<u4"), strict=True)}
_TEXT_KINDS = (ord("Z"), ord("H"))
_SHOWN_KIND = np.arange(256, dtype=np.int64)  # the type letter printed: every integer type is `i`
_SHOWN_KIND[list(_INTEGER_KINDS)] = ord("i")
# Decimal text of 0..65535 (FLAG, MAPQ and most small values): a column is then two index arrays.
_SMALL = 1 << 16
_SMALL_LENGTHS = text_digits(np.arange(_SMALL))
_SMALL_ENDS = np.cumsum(_SMALL_LENGTHS)
_SMALL_STARTS = _SMALL_ENDS - _SMALL_LENGTHS
_SMALL_TEXT = np.frombuffer("".join(map(str, range(_SMALL))).encode(), dtype=np.uint8)
INTEGER_TABLE_MIN_VALUES = 4096  # integer tag values of a batch from which the tag's table pays


def sam_text(records: Records, start: int, stop: int, contigs: Contigs, full: bool = True) -> SamText:
    """The SAM text of records `start:stop`; without `full`, only QNAME, RNAME, CIGAR and Z/H tags."""
    count = stop - start
    part = slice(start, stop)
    buffer = records.buffer
    columns: dict[str, TextColumn] = {}
    name_start = records.name_start[part]
    columns["QNAME"] = PaddedColumn(buffer, name_start, name_start + records.name_length[part])
    ref_id = records.ref_id[part].astype(np.int64)
    if full:
        columns["FLAG"] = integer_column(records.flag[part])
    columns["RNAME"] = _contig_column(contigs, ref_id)
    if full:
        columns["POS"] = integer_column(records.pos[part] + 1)
        columns["MAPQ"] = integer_column(records.mapq[part])
    columns["CIGAR"] = _cigar_column(buffer, records.cigar_start[part], records.n_cigar[part])
    if full:
        next_id = records.next_ref_id[part].astype(np.int64)
        same = (next_id >= 0) & (next_id == ref_id)
        columns["RNEXT"] = _contig_column(contigs, np.where(same, len(contigs.names), next_id))
        columns["PNEXT"] = integer_column(records.next_pos[part].astype(np.int64) + 1)
        columns["TLEN"] = integer_column(records.tlen[part])
        packed = PackedBases(buffer, records.seq_start[part], records.seq_length[part], records.has_quality[part])
        sequences = packed.sequences()
        columns["SEQ"] = _star_where_empty(sequences.buffer, sequences.lengths)
        qualities = packed.qualities()
        columns["QUAL"] = _star_where_empty(qualities.buffer + np.uint8(33), qualities.lengths)
    per_record = np.full(count, 11, dtype=np.int64)
    tags = records.tags
    if tags is not None:
        first, last = np.searchsorted(tags.record, [start, stop])
        record = tags.record[first:last] - start
        per_record += np.bincount(record, minlength=count)
        columns.update(tag_columns(buffer, tags.start[first:last], tags.end[first:last], record, full))
    return SamText(count, columns, per_record)


class PaddedColumn(TextColumn):
    """Short values at scattered places of a padded segment buffer (read names): gathered as
    rows of one width, then masked to each value's length (`line_spans.gather_lines`: a few
    byte passes, not index arithmetic per byte)."""

    def text(self) -> np.ndarray:
        return self._rows(0)

    def strings(self, skip: int = 0) -> Strings:
        lengths = np.maximum(self.ends - self.starts - skip, 0)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return Strings(self._rows(skip), offsets)

    def _rows(self, skip: int) -> np.ndarray:
        starts = np.minimum(self.starts + skip, self.ends)
        return gather_lines(self.data, starts, self.ends - starts)


class Contiguous(PaddedColumn):
    """A column whose values lie back to back in `data`: its text is a slice, not a gather."""

    def text(self) -> np.ndarray:
        return self.data[self.starts[0] : self.ends[-1]] if len(self.starts) else self.data[:0]


def integer_column(values: np.ndarray) -> TextColumn:
    """Integers as decimal text (a minus sign for negatives)."""
    values = values.astype(np.int64)
    if len(values) and values.min() >= 0 and values.max() < _SMALL:
        return TextColumn(_SMALL_TEXT, _SMALL_STARTS[values], _SMALL_ENDS[values])
    lengths = text_digits(values)
    ends = np.cumsum(lengths)
    text = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.uint8)
    write_integers(text, ends, values)
    return Contiguous(text, ends - lengths, ends)


def write_integers(text: np.ndarray, ends: np.ndarray, values: np.ndarray) -> None:
    """Write each integer's decimal text so that it ends just before `ends[i]` in `text`."""
    values = values.astype(np.int64)
    negative = values < 0
    rest = np.abs(values)
    digits = text_digits(rest)
    at = ends.astype(np.int64) - 1
    for place in range(int(digits.max()) if len(digits) else 0):
        chosen = digits > place if place else slice(None)
        text[at[chosen] - place] = 48 + rest[chosen] % 10
        rest[chosen] //= 10
    if negative.any():
        text[at[negative] - digits[negative]] = _MINUS


def _contig_column(contigs: Contigs, index: np.ndarray) -> TextColumn:
    """Entries of the contig-name table (-1 is `*`, len(names) is `=`)."""
    return TextColumn(contigs.text, contigs.text_starts[index], contigs.text_ends[index])


def _star_where_empty(values: np.ndarray, lengths: np.ndarray) -> TextColumn:
    """Each value as is, `*` for an empty one; `values` holds the values back to back."""
    lengths = lengths.astype(np.int64)
    empty = lengths == 0
    if not empty.any():
        ends = np.cumsum(lengths)
        return Contiguous(values, ends - lengths, ends)
    shown = np.where(empty, 1, lengths)
    ends = np.cumsum(shown)
    starts = ends - shown
    text = np.full(int(ends[-1]), _STAR, dtype=np.uint8)
    text[range_positions(starts[~empty], lengths[~empty])] = values
    return Contiguous(text, starts, ends)


def _cigar_column(buffer: np.ndarray, cigar_start: np.ndarray, n_cigar: np.ndarray) -> TextColumn:
    """`<length><op>` for every operation, `*` for a record without any."""
    n_cigar = n_cigar.astype(np.int64)
    words = values_at(buffer, range_positions(cigar_start, n_cigar, 4), "<u4")
    lengths = (words >> 4).astype(np.int64)
    op_text = text_digits(lengths) + 1
    empty = n_cigar == 0
    shown = np.where(empty, 1, sums_per_range(op_text, n_cigar))
    ends = np.cumsum(shown)
    starts = ends - shown
    text = np.full(int(ends[-1]) if len(ends) else 0, _STAR, dtype=np.uint8)
    if len(words):
        # Operation j of record i ends where its record starts plus the text of ops 0..j.
        record = np.repeat(np.arange(len(n_cigar)), n_cigar)
        op_end = starts[record] + _within_run_ends(op_text, n_cigar)
        text[op_end - 1] = _CIGAR_LETTERS[words & 0xF]
        write_integers(text, op_end - 1, lengths)
    return Contiguous(text, starts, ends)


def tag_columns(
    buffer: np.ndarray, start: np.ndarray, end: np.ndarray, record: np.ndarray, full: bool = True
) -> dict[str, TextColumn]:
    """One column per tag name `XX:t` (integers of every width print as `i`), in file order.

    Without `full` only the text tags (Z, H), which are the dictionary fields.
    """
    if not len(start):
        return {}
    kind = buffer[start + 2]
    if not full:
        text_tags = np.flatnonzero((kind == _TEXT_KINDS[0]) | (kind == _TEXT_KINDS[1]))
        start, end, record, kind = start[text_tags], end[text_tags], record[text_tags], kind[text_tags]
    key = buffer[start].astype(np.int64) | buffer[start + 1].astype(np.int64) << 8
    # A handful of keys per file: one pass per key present.
    found: dict[int, np.ndarray] = {}
    for value in np.flatnonzero(np.bincount(key, minlength=1)).tolist():
        chosen = np.flatnonzero(key == value)
        shown = _SHOWN_KIND[kind[chosen]]
        # Named `XX:t` as a little-endian integer: the order in which SamText.from_lines has them.
        if (shown == shown[0]).all():
            found[value | ord(":") << 16 | int(shown[0]) << 24] = chosen
        else:  # one key with several types: odd, but possible
            for letter in np.unique(shown).tolist():
                found[value | ord(":") << 16 | letter << 24] = chosen[shown == letter]
    columns: dict[str, TextColumn] = {}
    for code in sorted(found):
        chosen = found[code]
        name = code.to_bytes(4, "little")
        column = _tag_column(buffer, name + b":", start[chosen], end[chosen], kind[chosen], record[chosen])
        columns[name.decode("ascii")] = column
    return columns


def _tag_column(
    buffer: np.ndarray, prefix: bytes, start: np.ndarray, end: np.ndarray, kind: np.ndarray, record: np.ndarray
) -> TextColumn:
    """The texts `XX:t:value` of tags of one name, one after the other."""
    value_start = start + 3
    letter = int(kind[0])
    if letter == ord("A"):
        values, lengths = buffer[value_start], np.ones(len(start), dtype=np.int64)
    elif letter in _TEXT_KINDS:
        return TagTextColumn(buffer, value_start, end - 1, record, prefix)  # end - 1: without the NUL
    elif letter in FLOAT_KINDS:
        values, lengths = _float_values(values_at(buffer, value_start, FLOAT_KINDS[letter][0]), letter)
    elif letter == ord("B"):
        values, lengths = _array_values(buffer, value_start)
    else:  # integers, possibly of several widths under one name
        numbers = np.empty(len(start), dtype=np.int64)
        for code, dtype in _INTEGER_KINDS.items():
            chosen = kind == code
            if chosen.any():
                numbers[chosen] = values_at(buffer, value_start[chosen], dtype)
        # Most tags (AS, NM, XS, MQ...) in batches big enough to pay for the table once: its entries.
        if len(numbers) >= INTEGER_TABLE_MIN_VALUES and numbers.min() >= 0 and numbers.max() < _SMALL:
            text, starts, ends = _prefixed_small_integers(prefix)
            return TextColumn(text, starts[numbers], ends[numbers], record)
        lengths = text_digits(numbers)
        values = np.empty(int(lengths.sum()), dtype=np.uint8)
        write_integers(values, np.cumsum(lengths), numbers)
    return _prefixed(prefix, values, lengths, record)


@lru_cache(maxsize=64)
def _prefixed_small_integers(prefix: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`prefix` + the decimal text of each of 0..65535, back to back, and where each one starts and ends.

    An integer tag's column is then a gather of table entries instead of a digit loop and a
    per-byte scatter. Built once per process and tag name, for columns of at least
    INTEGER_TABLE_MIN_VALUES values.
    """
    column = _prefixed(prefix, _SMALL_TEXT, _SMALL_LENGTHS, np.arange(_SMALL))
    return column.data, column.starts, column.ends


def _prefixed(prefix: bytes, values: np.ndarray, lengths: np.ndarray, record: np.ndarray) -> TextColumn:
    """A column of `prefix + value` texts, given the values back to back."""
    width = len(prefix)
    ends = np.cumsum(lengths + width)
    starts = ends - lengths - width
    # Zero bytes after the text let `strings()` read every value as a row of one width.
    text = np.zeros(int(ends[-1]) + width + int(lengths.max()), dtype=np.uint8)
    for index, byte in enumerate(prefix):
        text[starts + index] = byte
    text[range_positions(starts + width, lengths)] = values
    return Contiguous(text, starts, ends, record)


@dataclass
class TagTextColumn(TextColumn):
    """A text tag (Z, H) whose values stay where the record holds them: `starts`/`ends` are the
    value's bytes, and `prefix` (`XX:Z:`, which BAM does not store) comes first in the SAM text.

    The dictionary fields read the bare values straight from the record buffer
    (`strings(skip=len(prefix))`); the text with its prefixes is put together only when the
    probe asks for it.
    """

    prefix: bytes = b""

    def text(self) -> np.ndarray:
        return self._with_prefix().text()

    def strings(self, skip: int = 0) -> Strings:
        if skip >= len(self.prefix):
            return super().strings(skip - len(self.prefix))
        return self._with_prefix().strings(skip)

    def _with_prefix(self) -> TextColumn:
        lengths = self.ends - self.starts
        return _prefixed(self.prefix, gather(self.data, self.starts, self.ends), lengths, self.records)


def _float_values(bits: np.ndarray, letter: int) -> tuple[np.ndarray, np.ndarray]:
    """C's `%g` text of floats given as raw bits, back to back, and their lengths."""
    unique, inverse = np.unique(bits, return_inverse=True)
    texts = [float_text(int(pattern), letter) for pattern in unique.tolist()]
    table = np.frombuffer(b"".join(texts), dtype=np.uint8)
    table_lengths = np.array([len(text) for text in texts], dtype=np.int64)
    table_ends = np.cumsum(table_lengths)
    lengths = table_lengths[inverse.ravel()]
    at = (table_ends - table_lengths)[inverse.ravel()]
    return table[range_positions(at, lengths)], lengths


def _array_values(buffer: np.ndarray, value_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`<subtype>,v1,v2,...` of B arrays (checked by the tag walk), back to back, and their lengths."""
    subtype = buffer[value_start].astype(np.int64)
    counts = values_at(buffer, value_start + 1, "<u4").astype(np.int64)
    first = value_start + 5
    total = int(counts.sum())
    element_owner = np.repeat(np.arange(len(counts)), counts)
    element_index = np.zeros(total, dtype=np.int64)  # where each element's value is
    numbers = np.zeros(total, dtype=np.int64)
    floats: list[bytes] = []
    is_float = np.zeros(total, dtype=bool)
    for code in np.unique(subtype).tolist():
        chosen = subtype == code
        elements = np.isin(element_owner, np.flatnonzero(chosen))
        size = 4 if code == ord("f") else np.dtype(_INTEGER_KINDS[code]).itemsize
        element_index[elements] = range_positions(first[chosen], counts[chosen], size)
        if code == ord("f"):
            is_float[elements] = True
        else:
            numbers[elements] = values_at(buffer, element_index[elements], _INTEGER_KINDS[code])
    element_text = text_digits(numbers)
    if is_float.any():
        bits = values_at(buffer, element_index[is_float], "<u4")
        floats = [float_text(int(pattern), ord("f")) for pattern in bits.tolist()]
        element_text[is_float] = [len(text) for text in floats]
    lengths = 1 + sums_per_range(element_text + 1, counts)  # the subtype, then `,value` per element
    ends = np.cumsum(lengths)
    starts = ends - lengths
    text = np.full(int(ends[-1]) if len(ends) else 0, _COMMA, dtype=np.uint8)
    text[starts] = subtype
    element_end = starts[element_owner] + 1 + _within_run_ends(element_text + 1, counts)
    integer = ~is_float
    write_integers(text, element_end[integer], numbers[integer])
    if floats:
        float_bytes = np.frombuffer(b"".join(floats), dtype=np.uint8)
        text[range_positions(element_end[is_float] - element_text[is_float], element_text[is_float])] = float_bytes
    return text, lengths


def _within_run_ends(lengths: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """For items in runs (run i being `counts[i]` items long): each item's end within its run."""
    sums = sums_per_range(lengths, counts)
    return np.cumsum(lengths) - np.repeat(np.cumsum(sums) - sums, counts)
