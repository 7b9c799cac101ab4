"""The SAM text of decoded BAM records, column by column, written by numba kernels from the binary fields.

Gives the fast BAM path the same `SamText`, byte for byte, that the pysam path cuts out of
htslib's lines, without formatting a line. `_record_texts` writes the 11 columns: integers in
decimal, RNAME/RNEXT from the contig names (`*`, and `=` for RNEXT on RNAME's contig, as
`sam_format1` prints), CIGAR as `<length><op>`, SEQ from its 4-bit codes, QUAL as phred + 33
(`*` where absent). `_tag_texts` groups the tags by name (`XX:t`, every integer type shown as
`i`) and writes each group's texts `XX:t:value`; floats are printed with C's `%g`, which
Python formats once per distinct value (`bam_aux.float_text`) and the kernel looks up. Text tags
(Z, H) keep their bare values: the dictionary fields read those, and the `XX:Z:` prefixes are
added only when the probe asks for the text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ...batches import Strings, range_positions, values_at
from ...bgzf import CannotProve
from .bam_aux import FLOAT_KINDS, float_text
from .bam_records import Contigs, Records
from .fields import SAM_COLUMNS, SamText, TextColumn

_BASE_LETTERS = np.frombuffer(b"=ACMGRSVTWYHKDBN", dtype=np.uint8)
_CIGAR_LETTERS = np.frombuffer(b"MIDNSHP=X", dtype=np.uint8)
# Most text each integer column can need per record: FLAG, POS, MAPQ, PNEXT, TLEN.
_INTEGER_WIDTHS = {"FLAG": 5, "POS": 11, "MAPQ": 3, "PNEXT": 11, "TLEN": 11}
_DICTIONARY_COLUMNS = ("QNAME", "RNAME", "CIGAR")  # the columns written without `full`
MAX_TAG_NAMES = 1024  # distinct `XX:t` per batch
# By a tag's type letter: the letter its SAM text shows (every integer type is `i`), and the
# bytes of an integer type (negative where signed); lookups, not comparisons, in the kernels.
_SHOWN_KIND = np.arange(256, dtype=np.int64)
_INTEGER_BYTES = np.zeros(256, dtype=np.int64)
for _letter, _bytes in {"c": -1, "C": 1, "s": -2, "S": 2, "i": -4, "I": 4}.items():
    _SHOWN_KIND[ord(_letter)], _INTEGER_BYTES[ord(_letter)] = ord("i"), _bytes


def sam_text(records: Records, start: int, stop: int, contigs: Contigs, full: bool = True) -> SamText:
    """The SAM text of records `start:stop`; without `full`, only QNAME, RNAME, CIGAR and Z/H tags."""
    count = stop - start
    part = slice(start, stop)
    columns = _record_columns(records, part, contigs, full)
    per_record = np.full(count, len(SAM_COLUMNS), dtype=np.int64)
    tags = records.tags
    if tags is not None:
        first, last = np.searchsorted(tags.record, [start, stop])
        record = tags.record[first:last] - start
        per_record += np.bincount(record, minlength=count)
        columns.update(tag_columns(records, tags.start[first:last], tags.end[first:last], record, part, full))
    return SamText(count, columns, per_record)


class Contiguous(TextColumn):
    """A column whose values lie back to back in `data`: its text is a slice, its strings a view."""

    def text(self) -> np.ndarray:
        return self.data[self.starts[0] : self.ends[-1]] if len(self.starts) else self.data[:0]

    def strings(self, skip: int = 0) -> Strings:
        if skip or not len(self.starts):
            return super().strings(skip)
        first = self.starts[0]
        offsets = np.empty(len(self.starts) + 1, dtype=np.int64)
        offsets[:-1] = self.starts - first
        offsets[-1] = self.ends[-1] - first
        return Strings(self.data[first : self.ends[-1]], offsets)


def _record_columns(records: Records, part: slice, contigs: Contigs, full: bool) -> dict[str, TextColumn]:
    """The 11 columns of records `part` (without `full`: QNAME, RNAME and CIGAR), written by `_record_texts`."""
    count = part.stop - part.start
    name_length = records.name_length[part]
    seq_length = records.seq_length[part]
    shown_bases = int(np.maximum(seq_length, 1).sum())  # `*` for none
    longest_contig = int(contigs.text_lengths.max())
    room = {
        "QNAME": int(name_length.sum()),
        "RNAME": longest_contig * count,
        "CIGAR": 11 * int(records.n_cigar[part].sum()) + count,  # a 28-bit length and its letter, or `*`
    }
    if full:
        room.update({name: width * count for name, width in _INTEGER_WIDTHS.items()})
        room.update(RNEXT=longest_contig * count, SEQ=shown_bases, QUAL=shown_bases)
    sizes = np.array([room.get(name, 0) for name in SAM_COLUMNS], dtype=np.int64)
    bases = np.zeros(len(SAM_COLUMNS) + 1, dtype=np.int64)
    np.cumsum(sizes, out=bases[1:])
    text = np.empty(int(bases[-1]), dtype=np.uint8)
    ends = np.empty((len(SAM_COLUMNS), count), dtype=np.int64)
    _record_texts(
        records.buffer, contigs.text, contigs.text_starts, contigs.text_ends, records.name_start[part],
        name_length, records.flag[part], records.ref_id[part], records.pos[part], records.mapq[part],
        records.cigar_start[part], records.n_cigar[part], records.next_ref_id[part], records.next_pos[part],
        records.tlen[part], records.seq_start[part], seq_length, records.has_quality[part], full, bases, text, ends,
    )  # fmt: skip
    columns: dict[str, TextColumn] = {}
    for index, name in enumerate(SAM_COLUMNS):
        if full or name in _DICTIONARY_COLUMNS:
            column_ends = ends[index]
            column_starts = np.empty_like(column_ends)
            column_starts[:1] = 0
            column_starts[1:] = column_ends[:-1]
            columns[name] = Contiguous(text[bases[index] : bases[index + 1]], column_starts, column_ends)
    return columns


@numba.njit(cache=True, nogil=True, inline="always")  # inlined: no call (nor reference counting) per value
def write_decimal(text: np.ndarray, at: int, value: int) -> int:
    """Write `value` in decimal at `text[at]` (a minus sign first if negative); return where it ends."""
    if value < 0:
        text[at] = 45
        at += 1
        value = -value
    end = at + 1
    limit = np.int64(10)
    while value >= limit:
        end += 1
        limit *= 10
    position = end
    while position > at:
        position -= 1
        text[position] = 48 + value % 10
        value //= 10
    return end


@numba.njit(cache=True, nogil=True, inline="always")
def copy_bytes(source: np.ndarray, start: int, length: int, target: np.ndarray, at: int) -> int:
    """Copy `source[start:start + length]` to `target[at]`; return where it ends.

    (A byte loop over unsigned offsets: numba then drops its check for negative indices, and
    no slice is made, whose reference counting would cost more than a short copy.)
    """
    source_at, target_at = np.uint64(start), np.uint64(at)
    for offset in range(np.uint64(length)):
        target[target_at + offset] = source[source_at + offset]
    return at + length


@numba.njit(cache=True, nogil=True, inline="always")
def read_unsigned(buffer: np.ndarray, at: int, width: int) -> int:
    """The little-endian unsigned integer of `width` bytes at `buffer[at]`."""
    value = np.int64(0)
    for index in range(width):
        value |= np.int64(buffer[at + index]) << (8 * index)
    return value


@numba.njit(cache=True, nogil=True, inline="always")
def write_contig(text: np.ndarray, at: int, names: np.ndarray, starts: np.ndarray, ends: np.ndarray, index: int) -> int:
    """Copy entry `index` of the contig-name table (-1 is `*`) to `text[at]`; return where it ends."""
    for position in range(starts[index], ends[index]):
        text[at] = names[position]
        at += 1
    return at


@numba.njit(cache=True, nogil=True)
def _record_texts(
    buffer: np.ndarray,
    contig_text: np.ndarray,
    contig_starts: np.ndarray,
    contig_ends: np.ndarray,
    name_start: np.ndarray,
    name_length: np.ndarray,
    flag: np.ndarray,
    ref_id: np.ndarray,
    pos: np.ndarray,
    mapq: np.ndarray,
    cigar_start: np.ndarray,
    n_cigar: np.ndarray,
    next_ref_id: np.ndarray,
    next_pos: np.ndarray,
    tlen: np.ndarray,
    seq_start: np.ndarray,
    seq_length: np.ndarray,
    has_quality: np.ndarray,
    full: bool,
    bases: np.ndarray,
    text: np.ndarray,
    ends: np.ndarray,
) -> None:
    """Write the columns of every record: column k at `text[bases[k]:]`, record i's value ending at
    `bases[k] + ends[k, i]`. Without `full`, only QNAME (0), RNAME (2) and CIGAR (5)."""
    same_contig = len(contig_starts) - 2  # the table's `=`; its last entry is `*`
    # Where each column's next value goes (plain variables: the compiler keeps them in registers).
    qname, flags, rname, positions, mapping, cigar = bases[0], bases[1], bases[2], bases[3], bases[4], bases[5]
    rnext, pnext, template, sequence, quality = bases[6], bases[7], bases[8], bases[9], bases[10]
    for index in range(len(name_start)):
        qname = copy_bytes(buffer, name_start[index], name_length[index], text, qname)
        ref = np.int64(ref_id[index])
        rname = write_contig(text, rname, contig_text, contig_starts, contig_ends, ref)
        if n_cigar[index]:
            for position in range(cigar_start[index], cigar_start[index] + 4 * n_cigar[index], 4):
                word = read_unsigned(buffer, position, 4)
                cigar = write_decimal(text, cigar, word >> 4)
                text[cigar] = _CIGAR_LETTERS[word & 0xF]
                cigar += 1
        else:
            text[cigar] = 42
            cigar += 1
        if full:
            flags = write_decimal(text, flags, np.int64(flag[index]))
            positions = write_decimal(text, positions, np.int64(pos[index]) + 1)
            mapping = write_decimal(text, mapping, np.int64(mapq[index]))
            mate = np.int64(next_ref_id[index])
            shown = same_contig if mate >= 0 and mate == ref else mate
            rnext = write_contig(text, rnext, contig_text, contig_starts, contig_ends, shown)
            pnext = write_decimal(text, pnext, np.int64(next_pos[index]) + 1)
            template = write_decimal(text, template, np.int64(tlen[index]))
            length = seq_length[index]
            codes = seq_start[index]
            if length:
                # Two bases a byte, the high nibble first. (Unsigned offsets: numba then drops
                # its check for negative indices, and the loop is four times faster.)
                source, target = np.uint64(codes), np.uint64(sequence)
                for pair_index in range(np.uint64(length // 2)):
                    pair = buffer[source + pair_index]
                    text[target + 2 * pair_index] = _BASE_LETTERS[pair >> 4]
                    text[target + 2 * pair_index + 1] = _BASE_LETTERS[pair & 0xF]
                if length % 2:
                    text[sequence + length - 1] = _BASE_LETTERS[buffer[codes + length // 2] >> 4]
                sequence += length
            else:
                text[sequence] = 42
                sequence += 1
            if has_quality[index]:
                source, target = np.uint64(codes + (length + 1) // 2), np.uint64(quality)
                for offset in range(np.uint64(length)):
                    text[target + offset] = buffer[source + offset] + np.uint8(33)
                quality += length
            else:
                text[quality] = 42
                quality += 1
        ends[0, index], ends[1, index], ends[2, index] = qname - bases[0], flags - bases[1], rname - bases[2]
        ends[3, index], ends[4, index], ends[5, index] = positions - bases[3], mapping - bases[4], cigar - bases[5]
        ends[6, index], ends[7, index], ends[8, index] = rnext - bases[6], pnext - bases[7], template - bases[8]
        ends[9, index], ends[10, index] = sequence - bases[9], quality - bases[10]


def tag_columns(
    records: Records, start: np.ndarray, end: np.ndarray, record: np.ndarray, part: slice, full: bool = True
) -> dict[str, TextColumn]:
    """One column per tag name `XX:t` (integers of every width print as `i`), by name, values in file order.

    Without `full` only the text tags (Z, H), which are the dictionary fields.
    """
    if not len(start):
        return {}
    floats = _float_tables(records, part) if full else _NO_FLOATS
    status, codes, order, bounds, text, text_ends = _tag_texts(records.buffer, start, end, full, *floats)
    if status:
        raise CannotProve(f"more than {MAX_TAG_NAMES} tag names in {len(record)} records")
    columns: dict[str, TextColumn] = {}
    for group, code in enumerate(codes.tolist()):
        chosen = order[bounds[group] : bounds[group + 1]]
        column_ends = text_ends[bounds[group] : bounds[group + 1]]
        column_starts = np.empty_like(column_ends)
        column_starts[:1] = 0 if group == 0 else text_ends[bounds[group] - 1]
        column_starts[1:] = column_ends[:-1]
        name = code.to_bytes(4, "little")
        if name[3] in _TEXT_KINDS:
            column: TextColumn = TagTextColumn(text, column_starts, column_ends, record[chosen], name + b":")
        else:
            column = Contiguous(text, column_starts, column_ends, record[chosen])
        columns[name.decode("ascii")] = column
    return columns


@dataclass
class TagTextColumn(Contiguous):
    """A text tag (Z, H) whose bare values lie back to back in `data`; `prefix` (`XX:Z:`, which
    BAM does not store) comes first in each value's SAM text.

    The dictionary fields read the bare values (`strings(skip=len(prefix))`, a view); the text
    with its prefixes is put together only when the probe asks for it.
    """

    prefix: bytes = b""

    def text(self) -> np.ndarray:
        return self._with_prefix().text()

    def strings(self, skip: int = 0) -> Strings:
        if skip >= len(self.prefix):
            return super().strings(skip - len(self.prefix))
        return self._with_prefix().strings(skip)

    def _with_prefix(self) -> Contiguous:
        count, width = len(self.starts), len(self.prefix)
        if not count:
            return Contiguous(self.data[:0], self.starts, self.ends, self.records)
        values = self.data[self.starts[0] : self.ends[-1]]
        at = np.repeat(self.starts - self.starts[0], width)
        text = np.insert(values, at, np.tile(np.frombuffer(self.prefix, dtype=np.uint8), count))
        lengths = self.ends - self.starts + width
        ends = np.cumsum(lengths)
        return Contiguous(text, ends - lengths, ends, self.records)


_TEXT_KINDS = (ord("Z"), ord("H"))
_NO_FLOATS = (np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(1, np.int64)) * 2


def _float_tables(records: Records, part: slice) -> tuple[np.ndarray, ...]:
    """For f and then d: the distinct bit patterns of the records' float values (ascending), and
    their `%g` texts back to back with where each ends (a leading 0)."""
    floats = records.floats
    chosen = (floats[0] >= part.start) & (floats[0] < part.stop)
    if not chosen.any():
        return _NO_FLOATS
    _, first, count, width = floats[:, chosen]
    tables: list[np.ndarray] = []
    for size, letter in ((4, ord("f")), (8, ord("d"))):
        kind = width == size
        positions = range_positions(first[kind], count[kind], size)
        patterns = np.unique(values_at(records.buffer, positions, FLOAT_KINDS[letter][0])).astype(np.uint64)
        texts = [float_text(int(pattern), letter) for pattern in patterns.tolist()]
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(item) for item in texts], out=offsets[1:])
        tables += [patterns, np.frombuffer(bytearray(b"".join(texts)), dtype=np.uint8), offsets]
    return tuple(tables)


@numba.njit(cache=True, nogil=True, inline="always")
def write_float(
    text: np.ndarray, at: int, pattern: int, patterns: np.ndarray, texts: np.ndarray, offsets: np.ndarray
) -> int:
    """Copy the `%g` text of the float with bits `pattern` (one of `patterns`) to `text[at]`; return the end."""
    wanted = np.uint64(pattern)
    low, high = 0, len(patterns) - 1  # a binary search (np.searchsorted here makes every tag slower)
    while low < high:
        middle = (low + high) // 2
        if patterns[middle] < wanted:
            low = middle + 1
        else:
            high = middle
    entry = low
    for position in range(offsets[entry], offsets[entry + 1]):
        text[at] = texts[position]
        at += 1
    return at


@numba.njit(cache=True, nogil=True, inline="always")
def write_key(buffer: np.ndarray, start: int, text: np.ndarray, at: int) -> int:
    """Write `XX:t:` of the tag at `buffer[start]` (every integer type shown as `i`) to `text[at]`; return the end."""
    text[at] = buffer[start]
    text[at + 1] = buffer[start + 1]
    text[at + 2] = 58
    text[at + 3] = _SHOWN_KIND[buffer[start + 2]]
    text[at + 4] = 58
    return at + 5


@numba.njit(cache=True, nogil=True, inline="always")
def write_tag(buffer: np.ndarray, start: int, text: np.ndarray, at: int) -> int:
    """Write `XX:t:value` of the tag (A, an integer or an integer array) at `buffer[start]` to
    `text[at]`, as htslib prints it; return where it ends."""
    kind = np.int64(buffer[start + 2])
    at = write_key(buffer, start, text, at)
    value = start + 3
    if kind == 65:  # A
        text[at] = buffer[value]
        return at + 1
    if kind != 66:
        return write_decimal(text, at, read_integer_of_kind(buffer, value, kind))
    subtype = np.int64(buffer[value])
    text[at] = subtype
    at += 1
    size = abs(_INTEGER_BYTES[subtype])
    for element in range(value + 5, value + 5 + read_unsigned(buffer, value + 1, 4) * size, size):
        text[at] = 44
        at = write_decimal(text, at + 1, read_integer_of_kind(buffer, element, subtype))
    return at


@numba.njit(cache=True, nogil=True)  # not inlined: the other tags' loop runs twice as fast without its code
def write_float_tag(
    buffer: np.ndarray,
    start: int,
    text: np.ndarray,
    at: int,
    f_patterns: np.ndarray,
    f_texts: np.ndarray,
    f_offsets: np.ndarray,
    d_patterns: np.ndarray,
    d_texts: np.ndarray,
    d_offsets: np.ndarray,
) -> int:
    """Write `XX:f:value`, `XX:d:value` or `XX:B:f,v1,...` of the tag at `buffer[start]` to
    `text[at]`, each float as C's `%g` (found in the tables of distinct values); return the end."""
    kind = buffer[start + 2]
    at = write_key(buffer, start, text, at)
    value = start + 3
    if kind == 102:
        return write_float(text, at, read_unsigned(buffer, value, 4), f_patterns, f_texts, f_offsets)
    if kind == 100:
        return write_float(text, at, read_unsigned(buffer, value, 8), d_patterns, d_texts, d_offsets)
    text[at] = 102
    at += 1
    for element in range(value + 5, value + 5 + read_unsigned(buffer, value + 1, 4) * 4, 4):
        text[at] = 44
        at = write_float(text, at + 1, read_unsigned(buffer, element, 4), f_patterns, f_texts, f_offsets)
    return at


@numba.njit(cache=True, nogil=True, inline="always")
def read_integer_of_kind(buffer: np.ndarray, at: int, kind: int) -> int:
    """The integer of BAM type `kind` (c C s S i I) at `buffer[at]`."""
    width = _INTEGER_BYTES[kind]
    if width > 0:
        return read_unsigned(buffer, at, width)
    value = read_unsigned(buffer, at, -width)
    if value >= np.int64(1) << (-8 * width - 1):
        value -= np.int64(1) << (-8 * width)
    return value


@numba.njit(cache=True, nogil=True)
def _tag_texts(
    buffer: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    full: bool,
    f_patterns: np.ndarray,
    f_texts: np.ndarray,
    f_offsets: np.ndarray,
    d_patterns: np.ndarray,
    d_texts: np.ndarray,
    d_offsets: np.ndarray,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The tags `buffer[start[i]:end[i]]` (without `full`, only Z and H ones) grouped by name `XX:t`.

    Returns a status (1: more than MAX_TAG_NAMES names), the names as little-endian codes in
    ascending order, the tags in group order (file order within a group) and each group's
    bounds in that order, and the texts: `XX:t:value` per tag, the bare value for Z and H,
    back to back in group order, with where each ends. The texts are first written in file
    order (into room for the longest each can be), then copied group by group.
    """
    count = len(start)
    codes = np.empty(MAX_TAG_NAMES, dtype=np.int64)
    names = 0
    group = np.full(count, -1, dtype=np.int64)
    written = np.zeros(count + 1, dtype=np.int64)  # where each tag's text ends in file order, from 1
    for index in range(count):
        kind = np.int64(buffer[start[index] + 2])
        textual = kind == 90 or kind == 72
        if not (full or textual):
            written[index + 1] = written[index]
            continue
        shown = _SHOWN_KIND[kind]
        code = read_unsigned(buffer, start[index], 2) | 58 << 16 | shown << 24
        found = 0
        while found < names and codes[found] != code:
            found += 1
        if found == names:
            if names == MAX_TAG_NAMES:
                return 1, codes[:0], group, group, np.empty(0, dtype=np.uint8), group
            codes[names] = code
            names += 1
        group[index] = found
        room = end[index] - start[index] - 4  # Z, H: the value without its NUL
        if kind == 66:  # B: the subtype, then a comma and at most 16 characters per element
            room = 6 + 17 * read_unsigned(buffer, start[index] + 4, 4)
        elif not textual:
            room = 5 + 16
        written[index + 1] = written[index] + room
    scratch = np.empty(written[count], dtype=np.uint8)
    for index in range(count):
        if group[index] < 0:
            continue
        at = written[index]
        kind = buffer[start[index] + 2]
        if kind == 90 or kind == 72:
            written[index + 1] = copy_bytes(buffer, start[index] + 3, end[index] - start[index] - 4, scratch, at)
        elif kind == 102 or kind == 100 or (kind == 66 and buffer[start[index] + 3] == 102):
            written[index + 1] = write_float_tag(
                buffer, start[index], scratch, at, f_patterns, f_texts, f_offsets, d_patterns, d_texts, d_offsets
            )
        else:
            written[index + 1] = write_tag(buffer, start[index], scratch, at)
    # Groups in ascending code order; tags placed group by group, in file order within each.
    rank = np.argsort(codes[:names])
    group_of_rank = np.empty(names, dtype=np.int64)
    group_of_rank[rank] = np.arange(names)
    bounds = np.zeros(names + 1, dtype=np.int64)
    total = 0
    for index in range(count):
        if group[index] >= 0:
            group[index] = group_of_rank[group[index]]
            bounds[group[index] + 1] += 1
            total += written[index + 1] - written[index]
    for name in range(names):
        bounds[name + 1] += bounds[name]
    order = np.empty(bounds[names], dtype=np.int64)
    filled = bounds[:-1].copy()
    for index in range(count):
        if group[index] >= 0:
            order[filled[group[index]]] = index
            filled[group[index]] += 1
    text = np.empty(total, dtype=np.uint8)
    text_ends = np.empty(len(order), dtype=np.int64)
    at = 0
    for placed in range(len(order)):
        index = order[placed]
        at = copy_bytes(scratch, written[index], written[index + 1] - written[index], text, at)
        text_ends[placed] = at
    return 0, codes[:names][rank], order, bounds, text, text_ends
