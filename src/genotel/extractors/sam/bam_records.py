"""BAM records of one segment: their boundaries, fixed fields and SAM text size, in two kernels.

Works on one *segment*: inflated BAM record bytes padded with `PADDING` zero bytes (reads near
its end stay in bounds). `_walk` follows the chain of record sizes; `decode_records`
reads every record once: its fixed fields, htslib's own checks, the length of its SAM line as
`sam_format1` prints it (each tag's value as `sam_format_aux1` prints it after `XX:t:`; floats
through `bam_aux.float_text`), where each tag is, and whether the line carries the AGeNT Trimmer
tags. Whatever the reading cannot prove (non-ASCII text, a CG-tag CIGAR htslib would move, a
record htslib rejects) raises `CannotProve`.

The kernels' helpers live here with them and are inlined: numba's cache notices edits to the
file of a cached kernel only, not to the files of the functions it calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from ...batches import range_positions, values_at
from ...bgzf import CannotProve
from .bam_aux import AGENT_KEYS, FLOAT_KINDS, TagPositions, float_text_lengths

FIXED_BYTES = 36  # block_size + the 32-byte core of a record
_TOO_SHORT = 1  # walk status: a record shorter than its fixed fields

# Status codes of the kernels: why the fast path declines a record (0: it does not).
DECLINED = {
    1: "a record with an empty name field or a negative sequence length",
    2: "a record shorter than its fields",
    3: "a contig index outside the header",
    4: "a read name without its NUL terminator",
    5: "a read name with a NUL, TAB or non-ASCII byte",
    6: "a CIGAR operation beyond X",
    7: "CIGAR and sequence lengths differ",  # htslib rejects the record
    8: "a placeholder CIGAR that htslib may replace from a CG tag",
    9: "a tag of an unknown type",  # htslib cannot print the record
    10: "an A tag that is not a printable character",
    11: "a string with a TAB or non-ASCII byte",
    12: "a string without its NUL terminator",
    13: "a B array of an unknown subtype or cut short",
    14: "a B array longer than its record",
    15: "a tag value cut short by the record's end",
}
_UNKNOWN_TYPE, _NOT_PRINTABLE, _ODD_STRING, _NO_NUL, _BAD_ARRAY, _LONG_ARRAY, _CUT_SHORT = 9, 10, 11, 12, 13, 14, 15


@numba.njit(cache=True, nogil=True, inline="always")  # no call (nor reference counting) per value
def read_integer(buffer: np.ndarray, at: int, width: int, signed: bool) -> int:
    """The little-endian integer of `width` (1, 2 or 4) bytes at `buffer[at]`."""
    value = np.int64(0)
    for index in range(width):
        value |= np.int64(buffer[at + index]) << (8 * index)
    if signed and value >= np.int64(1) << (8 * width - 1):
        value -= np.int64(1) << (8 * width)
    return value


@numba.njit(cache=True, nogil=True, inline="always")  # no call (nor reference counting) per value
def decimal_length(value: int) -> int:
    """Characters of an integer (|value| < 10**18) printed in decimal, minus sign included."""
    length = 1
    if value < 0:
        length, value = 2, -value
    limit = np.int64(10)
    while value >= limit:
        length += 1
        limit *= 10
    return length


@numba.njit(cache=True, nogil=True, inline="always")  # no call (nor reference counting) per value
def tag_value(buffer: np.ndarray, at: int, end: int) -> tuple[int, int, int, int, int]:
    """The value of the tag whose type letter is `buffer[at - 1]`, in a record ending at `end`.

    Returns where the value ends, its text length after `XX:t:` (floats excluded), the number
    of floats it holds and their width in bytes (they start at the value's end minus
    count * width), and a status (0, or a key of DECLINED).
    """
    kind = buffer[at - 1]
    size = 0
    signed = False
    if kind == 65:  # A
        size = 1
    elif kind == 99 or kind == 67:  # c C
        size, signed = 1, kind == 99
    elif kind == 115 or kind == 83:  # s S
        size, signed = 2, kind == 115
    elif kind == 105 or kind == 73:  # i I
        size, signed = 4, kind == 105
    elif kind == 102:  # f
        size = 4
    elif kind == 100:  # d
        size = 8
    if size:
        if at + size > end:
            return at + size, 0, 0, 0, _CUT_SHORT
        if kind == 65:
            character = buffer[at]
            if character < 0x20 or character >= 0x80:
                return at + 1, 0, 0, 0, _NOT_PRINTABLE
            return at + 1, 1, 0, 0, 0
        if kind == 102 or kind == 100:
            return at + size, 0, 1, size, 0
        return at + size, decimal_length(read_integer(buffer, at, size, signed)), 0, 0, 0
    if kind == 90 or kind == 72:  # Z H: text up to a NUL inside the record
        position = at
        while position < end:
            byte = buffer[position]
            if byte == 0:
                return position + 1, position - at, 0, 0, 0
            if byte == 9 or byte >= 0x80:
                return position, 0, 0, 0, _ODD_STRING
            position += 1
        return position, 0, 0, 0, _NO_NUL
    if kind != 66:  # B
        return at, 0, 0, 0, _UNKNOWN_TYPE
    if at + 5 > end:
        return at, 0, 0, 0, _BAD_ARRAY
    subtype = buffer[at]
    size, signed = 0, False
    if subtype == 99 or subtype == 67:
        size, signed = 1, subtype == 99
    elif subtype == 115 or subtype == 83:
        size, signed = 2, subtype == 115
    elif subtype == 105 or subtype == 73 or subtype == 102:
        size, signed = 4, subtype == 105
    if size == 0:
        return at, 0, 0, 0, _BAD_ARRAY
    count = read_integer(buffer, at + 1, 4, False)
    first = at + 5
    if count > (end - first) // size:
        return at, 0, 0, 0, _LONG_ARRAY
    following = first + count * size
    length = 1 + count  # the subtype letter, and one comma per element
    if subtype == 102:
        return following, length, count, 4, 0
    for position in range(first, following, size):
        length += decimal_length(read_integer(buffer, position, size, signed))
    return following, length, 0, 0, 0


@numba.njit(cache=True, nogil=True)
def _walk(buffer: np.ndarray, start: int, end: int) -> tuple[np.ndarray, int, int]:
    """Record starts from `start` while whole records fit before `end`; where the last one ends; a status."""
    starts = np.empty((end - start) // FIXED_BYTES + 1, dtype=np.int64)
    count = 0
    position = start
    while position + 4 <= end:
        size = read_integer(buffer, position, 4, True)
        if size < FIXED_BYTES - 4:
            return starts[:count], position, _TOO_SHORT
        if position + 4 + size > end:
            break
        starts[count] = position
        count += 1
        position += 4 + size
    return starts[:count], position, 0


def walk_blocks(buffer: np.ndarray, unit_starts: np.ndarray, unit_ends: np.ndarray) -> np.ndarray | None:
    """Record starts from the first unit's start, or None unless the records end exactly at the last unit's end.

    (The units are the group's blocks: records that straddle them are followed all the same.)
    """
    if not len(unit_starts):
        return np.zeros(0, dtype=np.int64)
    starts, last_end, status = _walk(buffer, int(unit_starts[0]), int(unit_ends[-1]))
    return starts if status == 0 and last_end == int(unit_ends[-1]) else None


def plain_walk(data: np.ndarray, start: int, end: int) -> tuple[np.ndarray, int]:
    """Record starts from `start`, one record after the other, and where the last whole one ends."""
    starts, last_end, status = _walk(np.asarray(data, dtype=np.uint8), start, end)
    if status == _TOO_SHORT:
        raise CannotProve("a record shorter than its fixed fields")  # htslib's error to give
    return starts, last_end


@dataclass
class Contigs:
    """The header's reference names as the record text needs them."""

    names: list[bytes]

    def __post_init__(self) -> None:
        # Index -1 (no contig) prints as `*`: the table's last entry.
        self.text_lengths = np.array([len(name) for name in self.names] + [1], dtype=np.int64)
        # The names as one text, for RNAME and RNEXT columns: name i is text[starts[i]:ends[i]],
        # entry len(names) is RNEXT's `=` (the same contig as RNAME) and entry -1 (the last) is `*`.
        pieces = [*self.names, b"=", b"*"]
        self.text = np.frombuffer(b"".join(pieces), dtype=np.uint8)
        self.text_ends = np.cumsum([len(piece) for piece in pieces], dtype=np.int64)
        self.text_starts = self.text_ends - np.array([len(piece) for piece in pieces], dtype=np.int64)
        # Row k, entry i: whether name i printed after a TAB reads as "<AGENT_KEYS[k]>:", as
        # pysam's line test sees it (entry len(names) is `*`: never).
        self.fakes_key = np.array(
            [[name.startswith(key + b":") for name in self.names] + [False] for key in AGENT_KEYS], dtype=np.bool_
        )


@dataclass
class Records:
    """Every record of one segment, column-wise. Offsets index the segment buffer."""

    buffer: np.ndarray
    flag: np.ndarray
    ref_id: np.ndarray
    pos: np.ndarray
    name_start: np.ndarray
    name_length: np.ndarray  # without the NUL
    seq_start: np.ndarray
    seq_length: np.ndarray
    has_quality: np.ndarray
    text_length: np.ndarray  # the record's SAM line, newline included
    agent: np.ndarray  # the line carries every AGeNT Trimmer tag
    # What the SAM text columns need beyond the above (bam_text.py).
    mapq: np.ndarray
    next_ref_id: np.ndarray
    next_pos: np.ndarray
    tlen: np.ndarray
    cigar_start: np.ndarray
    n_cigar: np.ndarray
    tags: TagPositions | None = None  # with `decode_records(..., positions=True)`
    # Float values in tags, rows: record, offset of the first value, count, width (4 or 8).
    floats: np.ndarray = field(default_factory=lambda: np.zeros((4, 0), dtype=np.int64))

    def __len__(self) -> int:
        return len(self.flag)


# Rows of the kernel's per-record table, in order.
_COLUMNS = (
    "flag", "ref_id", "pos", "name_start", "name_length", "seq_start", "seq_length", "has_quality",
    "text_length", "agent", "mapq", "next_ref_id", "next_pos", "tlen", "cigar_start", "n_cigar",
)  # fmt: skip
_DTYPES = {"flag": np.uint16, "ref_id": np.int32, "has_quality": np.bool_, "agent": np.bool_, "mapq": np.uint8}
_DTYPES.update(next_ref_id=np.int32, next_pos=np.int32, tlen=np.int32)
# Per AGeNT key: its 16-bit code, and the first three quality values whose QUAL text reads
# "<key>:" (little-endian, 24 bits).
_AGENT_KEYS = np.array(
    [
        [key[0] | key[1] << 8, sum((char - 33) << (8 * index) for index, char in enumerate(key + b":"))]
        for key in AGENT_KEYS
    ],
    dtype=np.int64,
)


def decode_records(buffer: np.ndarray, starts: np.ndarray, contigs: Contigs, positions: bool = False) -> Records:
    """Decode the records starting at `starts` (sorted) of one segment (`positions`: where each tag is)."""
    count = len(starts)
    table = np.empty((len(_COLUMNS), count), dtype=np.int64)
    tags = np.empty((3, 9 * count + 16), dtype=np.int64)  # grown below when records carry more tags
    floats = np.empty((4, count + 16), dtype=np.int64)
    while True:
        status, failed, tag_count, float_count = _decode(
            buffer, starts, contigs.text_lengths, contigs.fakes_key, _AGENT_KEYS, table, tags, floats
        )
        if status:
            raise CannotProve(f"{DECLINED[status]} (record at byte {starts[failed]} of its segment)")
        if tag_count <= tags.shape[1] and float_count <= floats.shape[1]:
            break
        tags = np.empty((3, max(tag_count, tags.shape[1])), dtype=np.int64)
        floats = np.empty((4, max(float_count, floats.shape[1])), dtype=np.int64)
    columns = {name: table[index] for index, name in enumerate(_COLUMNS)}
    for name, dtype in _DTYPES.items():
        columns[name] = columns[name].astype(dtype)
    floats = floats[:, :float_count]
    if float_count:
        _add_float_texts(buffer, floats, columns["text_length"])
    located = TagPositions(*tags[:, :tag_count]) if positions else None
    return Records(buffer=buffer, **columns, tags=located, floats=floats)


def _add_float_texts(buffer: np.ndarray, floats: np.ndarray, text_length: np.ndarray) -> None:
    """Add the `%g` text lengths of float values to their records' text lengths.

    `floats` rows: record, first value's offset, number of values, value width (4 or 8).
    """
    record, first, count, width = floats
    for size, letter in ((4, ord("f")), (8, ord("d"))):
        chosen = width == size
        if chosen.any():
            bits = values_at(buffer, range_positions(first[chosen], count[chosen], size), FLOAT_KINDS[letter][0])
            lengths = float_text_lengths(bits, bytes([letter]))
            np.add.at(text_length, np.repeat(record[chosen], count[chosen]), lengths)


@numba.njit(cache=True, nogil=True)
def _decode(
    buffer: np.ndarray,
    starts: np.ndarray,
    contig_text_lengths: np.ndarray,
    fakes_key: np.ndarray,
    agent_keys: np.ndarray,
    table: np.ndarray,
    tags: np.ndarray,
    floats: np.ndarray,
) -> tuple[int, int, int, int]:
    """Every record of `starts`, one after the other: fills the table of _COLUMNS, the tags, the floats.

    Returns a status (0, or a key of DECLINED) and the record it names, then the number of
    tags (rows of `tags`: record, start, end) and of float runs (rows of `floats`: record, first
    offset, count, width), whose `%g` text `_add_float_texts` adds. Past the room in `tags` or
    `floats` they are counted, not written (the caller gives more room and calls again). The
    checks are htslib's (bam_read1, sam_format1) and this reader's (text that is plain ASCII).
    """
    contigs = len(contig_text_lengths) - 1  # the last entry is `*`
    tag_count = 0
    float_count = 0
    for index in range(len(starts)):
        start = starts[index]
        block_size = read_integer(buffer, start, 4, True)
        ref_id = read_integer(buffer, start + 4, 4, True)
        pos = read_integer(buffer, start + 8, 4, True)
        name_length = np.int64(buffer[start + 12])  # with its NUL
        mapq = np.int64(buffer[start + 13])
        n_cigar = read_integer(buffer, start + 16, 2, False)
        flag = read_integer(buffer, start + 18, 2, False)
        seq_length = read_integer(buffer, start + 20, 4, True)
        next_ref_id = read_integer(buffer, start + 24, 4, True)
        next_pos = read_integer(buffer, start + 28, 4, True)
        tlen = read_integer(buffer, start + 32, 4, True)
        if name_length < 1 or seq_length < 0:
            return 1, index, tag_count, float_count
        if FIXED_BYTES - 4 + name_length + 4 * n_cigar + (seq_length + 1) // 2 + seq_length > block_size:
            return 2, index, tag_count, float_count
        if ref_id < -1 or ref_id >= contigs or next_ref_id < -1 or next_ref_id >= contigs:
            return 3, index, tag_count, float_count
        name_start = start + FIXED_BYTES
        cigar_start = name_start + name_length
        if buffer[cigar_start - 1] != 0:
            return 4, index, tag_count, float_count
        for position in range(name_start, cigar_start - 1):
            byte = buffer[position]
            if byte == 0 or byte == 9 or byte >= 0x80:
                return 5, index, tag_count, float_count
        # CIGAR: its text, and htslib's checks (query length; a placeholder for a CG tag).
        cigar_text = 1  # `*`
        if n_cigar:
            cigar_text = 0
            query_length = 0
            for position in range(cigar_start, cigar_start + 4 * n_cigar, 4):
                word = read_integer(buffer, position, 4, False)
                operation, length = word & 0xF, word >> 4
                if operation > 8:
                    return 6, index, tag_count, float_count
                cigar_text += decimal_length(length) + 1
                if operation <= 1 or operation == 4 or operation >= 7:  # M I S = X consume the query
                    query_length += length
            if seq_length > 0 and (flag & 0x4) == 0 and query_length != seq_length:
                return 7, index, tag_count, float_count
            first = read_integer(buffer, cigar_start, 4, False)
            if ref_id >= 0 and pos >= 0 and (first & 0xF) == 4 and (first >> 4) == seq_length:
                return 8, index, tag_count, float_count
        seq_start = cigar_start + 4 * n_cigar
        quality_start = seq_start + (seq_length + 1) // 2
        has_quality = seq_length > 0 and buffer[quality_start] != 0xFF
        # Tags, read while at least 4 bytes of the record remain (as htslib does).
        end = start + 4 + block_size
        cursor = quality_start + seq_length
        tag_text = 0
        keys = 0  # bit k: the line carries AGENT_KEYS[k] (a tag, or a field that reads as one)
        first_tag = tag_count
        while cursor <= end - 4:
            key = read_integer(buffer, cursor, 2, False)
            for k in range(len(agent_keys)):
                if key == agent_keys[k, 0]:
                    keys |= 1 << k
            following, text, values, width, status = tag_value(buffer, cursor + 3, end)
            if status:
                return status, index, tag_count, float_count
            if values:
                if float_count < floats.shape[1]:
                    floats[0, float_count] = index
                    floats[1, float_count] = following - values * width
                    floats[2, float_count] = values
                    floats[3, float_count] = width
                float_count += 1
            if tag_count < tags.shape[1]:
                tags[0, tag_count] = index
                tags[1, tag_count] = cursor
                tags[2, tag_count] = following
            tag_count += 1
            tag_text += 5 + text  # `XX:t:` and the value
            cursor = following
        # The SAM line: 11 fields and the tags, a TAB between fields, a newline.
        shown_next = next_ref_id if next_ref_id >= 0 and next_ref_id != ref_id else contigs
        line = (
            (name_length - 1)
            + decimal_length(flag)
            + contig_text_lengths[ref_id if ref_id >= 0 else contigs]
            + decimal_length(pos + 1)
            + decimal_length(mapq)
            + cigar_text
            + (1 if shown_next == contigs else contig_text_lengths[shown_next])  # `=` or `*` otherwise
            + decimal_length(next_pos + 1)
            + decimal_length(tlen)
            + (seq_length if seq_length > 0 else 1)
            + (seq_length if has_quality else 1)
            + tag_text
            + 10
            + (tag_count - first_tag)
            + 1
        )
        if keys:  # pysam's test sees "\t<key>:" anywhere on the line: in QUAL, RNAME or RNEXT too
            quality_head = read_integer(buffer, quality_start, 3, False) if has_quality and seq_length >= 3 else -1
            for k in range(len(agent_keys)):
                if (
                    quality_head == agent_keys[k, 1]
                    or fakes_key[k, ref_id if ref_id >= 0 else contigs]
                    or fakes_key[k, shown_next]
                ):
                    keys |= 1 << k
        table[0, index], table[1, index], table[2, index] = flag, ref_id, pos
        table[3, index], table[4, index], table[5, index] = name_start, name_length - 1, seq_start
        table[6, index], table[7, index], table[8, index] = seq_length, has_quality, line
        table[9, index], table[10, index], table[11, index] = keys == (1 << len(agent_keys)) - 1, mapq, next_ref_id
        table[12, index], table[13, index], table[14, index] = next_pos, tlen, cigar_start
        table[15, index] = n_cigar
    return 0, 0, tag_count, float_count
