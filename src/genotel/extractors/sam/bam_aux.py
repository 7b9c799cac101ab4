"""BAM optional fields (tags): their SAM text length, walked for every record of a segment at once.

Round k reads the k-th tag of every record that still has one, so a segment costs one round
per tag of its longest record, each round a few numpy calls. The text is what htslib's
`sam_format_aux1` prints: `XX:A:c`, `XX:i:<n>` for every integer type, `XX:f:<%g>` (and the
unofficial `XX:d:<%g>`), `XX:Z:<text>`, `XX:H:<hex>` and `XX:B:<type>,v1,v2,...`. As in
htslib, tags are read while at least 4 bytes of the record remain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...batches import byte_rows, range_positions, raw_items
from ...bgzf import CannotProve

AGENT_KEYS = (b"ZA", b"ZB", b"RX", b"QX", b"BC")  # AGeNT Trimmer's tags

# Value bytes of the fixed-size types (0: not a fixed-size type).
_FIXED_SIZE = np.zeros(256, dtype=np.int64)
for _kind, _size in {b"A": 1, b"c": 1, b"C": 1, b"s": 2, b"S": 2, b"i": 4, b"I": 4, b"f": 4, b"d": 8}.items():
    _FIXED_SIZE[_kind[0]] = _size
_KNOWN_KIND = _FIXED_SIZE > 0
for _kind in b"ZHB":
    _KNOWN_KIND[_kind] = True
# Element bytes of B arrays by subtype (0: a subtype htslib rejects or does not print).
_ARRAY_SIZE = np.zeros(256, dtype=np.int64)
for _kind, _size in {b"c": 1, b"C": 1, b"s": 2, b"S": 2, b"i": 4, b"I": 4, b"f": 4}.items():
    _ARRAY_SIZE[_kind[0]] = _size
_INTEGER_DTYPES = {b"c": "i1", b"C": "u1", b"s": "<i2", b"S": "<u2", b"i": "<i4", b"I": "<u4"}
_INTEGER_LETTERS = {letter[0]: dtype for letter, dtype in _INTEGER_DTYPES.items()}
# float (`f`) and double (`d`): the dtype of their raw bits and of their value
FLOAT_KINDS = {ord("f"): ("<u4", "<f4"), ord("d"): ("<u8", "<f8")}
_NAME_AND_TYPE = 5  # "XX:t:"

_float_texts: dict[tuple[int, int], bytes] = {}
PADDING = 512  # zero bytes after a segment's data, so fixed-width reads near its end stay in bounds
_TEN_TO_THE = 10 ** np.arange(19, dtype=np.int64)
_LOG10_2_Q12 = 1233  # log10(2) * 2**12, rounded up: floor(bits * 1233 / 4096) = floor(bits * log10(2)) for bits < 3000
_EXACT_FLOAT_LIMIT = 1 << 53
_BYTEWISE_SCAN = 24  # string bytes read one position at a time before switching to windows
# Byte classes in strings: the NUL that ends them, and bytes whose text is not one plain
# character (non-ASCII, which pysam decodes, and TAB, which would fake a field boundary).
_NUL, _ODD = 1, 2
_BYTE_CLASS = np.zeros(256, dtype=np.uint8)
_BYTE_CLASS[0] = _NUL
_BYTE_CLASS[9] = _ODD
_BYTE_CLASS[128:] = _ODD
# Constants of the zero-byte test on 8-byte words (see nul_in_word).
_ONES = np.uint64(0x0101010101010101)
_HIGH_BITS = np.uint64(0x8080808080808080)
_TABS = np.uint64(0x0909090909090909)
# (2**(8j + 7) >> 7) * magic has j in its top 3 bits, for j = 0..7.
_BYTE_INDEX_MAGIC = np.uint64(sum(j << (61 - 8 * j) for j in range(8)))
_LOW_BITS = {1: np.uint64(0xFF), 2: np.uint64(0xFFFF), 4: np.uint64(0xFFFFFFFF)}
_AGENT_KEY = np.zeros(1 << 16, dtype=bool)
for _key in AGENT_KEYS:
    _AGENT_KEY[_key[0] | _key[1] << 8] = True


def text_digits(values: np.ndarray) -> np.ndarray:
    """Characters of each integer printed in decimal, minus sign included.

    From the bit length (a float's exponent, exact below 2**53: BAM's integers are 32-bit),
    t = floor(bits * log10(2)) is the digit count or one less, and one comparison with 10**t
    tells which.
    """
    values = values.astype(np.int64)
    magnitudes = np.abs(values) | 1  # | 1: zero prints one digit; no power of ten changes its length
    if len(magnitudes) and int(magnitudes.max()) >= _EXACT_FLOAT_LIMIT:
        return 1 + np.searchsorted(_TEN_TO_THE[1:], np.abs(values), side="right") + (values < 0)
    approximate = (np.frexp(magnitudes.astype(np.float64))[1] * _LOG10_2_Q12) >> 12
    return approximate + (magnitudes >= _TEN_TO_THE[approximate]) + (values < 0)


def sums_per_range(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sums of consecutive runs of `values`, run i being `counts[i]` long (0 for empty runs)."""
    running = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=running[1:])
    ends = np.cumsum(counts.astype(np.int64))
    return running[ends] - running[ends - counts]


def _digit_table(dtype: str) -> np.ndarray:
    """Text lengths of every value of a small integer type, indexed by its unsigned bits."""
    unsigned = {"i1": "u1", "u1": "u1", "<i2": "<u2", "<u2": "<u2"}[dtype]
    values = np.arange(np.iinfo(np.dtype(unsigned)).max + 1, dtype=np.int64).astype(unsigned).view(dtype)
    return text_digits(values)


_SMALL_INTEGER_DIGITS = {dtype: _digit_table(dtype) for dtype in ("i1", "u1", "<i2", "<u2")}
# Text lengths of one-byte values by their byte: c and C print as integers, A as one character.
_ONE_BYTE = {ord("c"): _SMALL_INTEGER_DIGITS["i1"], ord("C"): _SMALL_INTEGER_DIGITS["u1"]}
_ONE_BYTE[ord("A")] = np.ones(256, dtype=np.int64)


def key_code(key: bytes) -> int:
    """A two-letter tag key as the little-endian 16-bit value of its bytes."""
    return key[0] | key[1] << 8


@dataclass
class TagPositions:
    """Every tag of a segment in file order: its record, where it starts and where it ends.

    Tag i is `buffer[start[i]:end[i]]` (key, type, value; a Z/H value with its NUL), of record
    `record[i]` (an index into the walked records).
    """

    record: np.ndarray
    start: np.ndarray
    end: np.ndarray


@dataclass
class AuxSummary:
    """Per record: the number of tags, their text length (TABs excluded), which AGeNT keys occur."""

    count: np.ndarray
    text_length: np.ndarray
    has_key: dict[bytes, np.ndarray]
    tags: TagPositions | None = None  # with `walk_aux(..., positions=True)`


class _Views:
    """Gathers of fixed-width values at arbitrary offsets of one segment buffer."""

    def __init__(self, buffer: np.ndarray) -> None:
        self.buffer = buffer
        self._items: dict[int, np.ndarray] = {}

    def __getitem__(self, dtype: str) -> _Gather:
        return _Gather(self, np.dtype(dtype))

    def items(self, width: int) -> np.ndarray:
        if width not in self._items:
            self._items[width] = raw_items(self.buffer, width)
        return self._items[width]


class _Gather:
    """`views[dtype][positions]`: the values of `dtype` at those byte offsets."""

    def __init__(self, views: _Views, dtype: np.dtype) -> None:
        self.views, self.dtype = views, dtype

    def __getitem__(self, positions: np.ndarray) -> np.ndarray:
        if self.dtype.itemsize == 1:
            return self.views.buffer[positions].view(self.dtype)
        return self.views.items(self.dtype.itemsize)[positions].view(self.dtype)


def walk_aux(buffer: np.ndarray, aux_start: np.ndarray, record_end: np.ndarray, positions: bool = False) -> AuxSummary:
    """Walk the tags of every record; record i's tags are `buffer[aux_start[i]:record_end[i]]`.

    With `positions`, also where each tag is (for the tags' SAM text, `bam_text.py`).
    """
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per round: records, starts, ends
    views = _Views(buffer)
    count = np.zeros(len(aux_start), dtype=np.int64)
    text_length = np.zeros(len(aux_start), dtype=np.int64)
    has_key = {key: np.zeros(len(aux_start), dtype=bool) for key in AGENT_KEYS}
    # The state of the records that still have tags, round after round.
    rows = np.arange(len(aux_start))
    cursor = aux_start.astype(np.int64)
    last_start = record_end.astype(np.int64) - 4  # htslib reads a tag while 4 bytes remain
    text = np.zeros(len(aux_start), dtype=np.int64)
    done_rounds = 0
    while True:
        live = cursor <= last_start
        if not live.all():
            done = ~live
            # A fixed-size value that ran past its record's end shows here, once (not per round).
            if np.any(cursor[done] > last_start[done] + 4):
                raise CannotProve("a tag value cut short by the record's end")
            count[rows[done]] = done_rounds
            text_length[rows[done]] = text[done]
            rows, cursor, last_start, text = rows[live], cursor[live], last_start[live], text[live]
            if not len(rows):
                break
        # One read per tag: key, type and the first 5 value bytes (memory latency, not
        # arithmetic, is what a round costs).
        head = views.items(8)[cursor].view("<u8")
        keys = head.view(np.uint16)[0::4]
        if _AGENT_KEY[keys].any():
            for key in AGENT_KEYS:
                has_key[key][rows[keys == key_code(key)]] = True
        starts = cursor.copy() if positions else cursor
        _tag_round(views, head, cursor, last_start + 4, text)
        if positions:
            found.append((rows, starts, cursor.copy()))
        done_rounds += 1
    tags = _in_file_order(found) if positions else None
    return AuxSummary(count, text_length + _NAME_AND_TYPE * count, has_key, tags)


def _in_file_order(found: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> TagPositions:
    """The tags of the rounds (round k: tag k of every record still walking), record by record."""
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return TagPositions(empty, empty, empty)
    record, start, end = (np.concatenate(parts) for parts in zip(*found, strict=True))
    rounds = np.repeat(np.arange(len(found)), [len(rows) for rows, _, _ in found])
    per_record = np.bincount(record)
    at = (np.cumsum(per_record) - per_record)[record] + rounds  # placed without sorting
    ordered = [np.empty_like(record), np.empty_like(start), np.empty_like(end)]
    for target, source in zip(ordered, (record, start, end), strict=True):
        target[at] = source
    return TagPositions(*ordered)


def _tag_round(views: _Views, head: np.ndarray, cursor: np.ndarray, end: np.ndarray, text: np.ndarray) -> None:
    """One tag per record: add its text length beyond `XX:t:` to `text`, move `cursor` past it.

    `head` holds each tag's first 8 bytes (key, type, 5 value bytes) as little-endian words.
    """
    kind = head.view(np.uint8)[2::8]
    kinds = np.flatnonzero(np.bincount(kind, minlength=256))
    if not _KNOWN_KIND[kinds].all():
        raise CannotProve("a tag of an unknown type")  # htslib cannot print the record
    for letter in kinds.tolist():
        # A round often holds one type only (the k-th tag of most records is the same one).
        chosen: slice | np.ndarray = slice(None) if len(kinds) == 1 else kind == letter
        value = head[chosen] >> 24  # the value's first 5 bytes
        size = int(_FIXED_SIZE[letter])
        if letter == ord("A"):
            character = value & 0xFF
            if np.any(character < 0x20) or np.any(character >= 0x80):
                raise CannotProve("an A tag that is not a printable character")
            text[chosen] += 1
        elif letter in _INTEGER_LETTERS:
            dtype = _INTEGER_LETTERS[letter]
            bits = value & _LOW_BITS[size]
            table = _SMALL_INTEGER_DIGITS.get(dtype)
            if table is not None:  # 8- and 16-bit values: one table lookup by their bits
                text[chosen] += table[bits]
            else:
                text[chosen] += text_digits(bits.astype(np.uint32).view(dtype))
        elif letter == ord("f"):
            text[chosen] += float_text_lengths((value & _LOW_BITS[4]).astype(np.uint32), b"f")
        elif letter == ord("d"):
            text[chosen] += float_text_lengths(views["<u8"][cursor[chosen] + 3], b"d")
        elif letter in (ord("Z"), ord("H")):
            at = cursor[chosen] + 3
            terminators = string_ends(views, value, at, end[chosen])
            text[chosen] += terminators - at
            cursor[chosen] = terminators + 1
            continue
        else:  # B
            length, following = _array_text(views, value, cursor[chosen] + 3, end[chosen])
            text[chosen] += length
            cursor[chosen] = following
            continue
        cursor[chosen] += 3 + size  # checked against the record's end when the record is done


def nul_in_word(word: np.ndarray, real_bytes: int) -> np.ndarray:
    """The index of the first NUL among the first `real_bytes` bytes of each 8-byte word, or -1.

    The classic test for a zero byte in a word, `(w - 0x01..01) & ~w & 0x80..80`, flags the
    first zero byte exactly (a borrow can only add flags above it). Bytes past `real_bytes`
    must be zero (they then flag "no NUL yet"). A TAB or non-ASCII byte before the NUL raises
    `CannotProve`.
    """
    flags = (word - _ONES) & ~word & _HIGH_BITS
    lowest = flags & (~flags + np.uint64(1))
    index = (((lowest >> np.uint64(7)) * _BYTE_INDEX_MAGIC) >> np.uint64(61)).astype(np.int64)
    before = lowest - np.uint64(1)  # all bytes when there is no NUL at all
    tabs = word ^ _TABS
    odd = (word & _HIGH_BITS) | ((tabs - _ONES) & ~tabs & _HIGH_BITS)
    if np.any(odd & before):
        raise CannotProve("a string with a TAB or non-ASCII byte")
    return np.where((flags != 0) & (index < real_bytes), index, -1)


def string_ends(views: _Views, head_value: np.ndarray, at: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The NUL ending each string at `at`, whose first 5 bytes are `head_value`'s low bytes.

    Most tag strings are short: the first 5 bytes come with the tag's head, the next 8 with
    one more read; the rare longer ones are scanned by `find_terminators`.
    """
    ends = at + nul_in_word(head_value, 5)
    longer = np.flatnonzero(ends < at)
    if len(longer):
        more = nul_in_word(views["<u8"][at[longer] + 5], 8)
        ends[longer] = at[longer] + 5 + more
        longest = longer[more < 0]
        if len(longest):
            ends[longest] = find_terminators(views.buffer, at[longest] + 13, end[longest])
    if np.any(ends >= end):
        raise CannotProve("a string without its NUL terminator")
    return ends


def integer_text_lengths(views: _Views, dtype: str, at: np.ndarray) -> np.ndarray:
    """Decimal text length of the integers of type `dtype` at offsets `at`."""
    table = _SMALL_INTEGER_DIGITS.get(dtype)
    if table is not None:  # 8- and 16-bit values: one table lookup by their unsigned bits
        return table[views["u1" if table.size == 256 else "<u2"][at]]
    return text_digits(views[dtype][at])


def _array_text(views: _Views, head: np.ndarray, value: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`<subtype>,v1,v2,...` lengths of B arrays, and where each array ends.

    `head` holds each array's first 5 bytes (subtype, element count); `value` where they are.
    """
    subtype = head & 0xFF
    element_size = _ARRAY_SIZE[subtype]
    if np.any(element_size == 0) or np.any(value + 5 > end):
        raise CannotProve("a B array of an unknown subtype or cut short")
    counts = ((head >> np.uint64(8)) & _LOW_BITS[4]).astype(np.int64)
    first = value + 5
    if np.any(counts > (end - first) // element_size):
        raise CannotProve("a B array longer than its record")
    length = 1 + counts  # the subtype letter, and one comma per element (after `XX:B:`)
    for letter, dtype in _INTEGER_DTYPES.items():
        chosen = subtype == letter[0]
        if chosen.any():
            positions = range_positions(first[chosen], counts[chosen], np.dtype(dtype).itemsize)
            length[chosen] += sums_per_range(integer_text_lengths(views, dtype, positions), counts[chosen])
    chosen = subtype == ord("f")
    if chosen.any():
        positions = range_positions(first[chosen], counts[chosen], 4)
        length[chosen] += sums_per_range(float_text_lengths(views["<u4"][positions], b"f"), counts[chosen])
    return length, first + counts * element_size


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


def find_terminators(buffer: np.ndarray, starts: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """The position of the NUL ending each C string starting at `starts`.

    Raises `CannotProve` if a string holds a TAB or non-ASCII byte or runs to its limit
    without a NUL. The first bytes are read one position at a time for all strings at once
    (tag strings are mostly short); the few longer strings are then scanned in windows.
    """
    ends = np.empty(len(starts), dtype=np.int64)
    pending = np.arange(len(starts))
    scan = starts.astype(np.int64)
    for _ in range(_BYTEWISE_SCAN):
        classes = _BYTE_CLASS[buffer[scan]]
        if classes.any():
            if np.any(classes == _ODD):
                raise CannotProve("a string with a TAB or non-ASCII byte")
            found = classes == _NUL
            ends[pending[found]] = scan[found]
            pending, scan = pending[~found], scan[~found]
            if not len(pending):
                break
        scan += 1
    window = 64
    while len(pending):
        if np.any(scan >= limits[pending]):
            raise CannotProve("a string without its NUL terminator")
        rows = byte_rows(buffer, scan, window)
        nul = rows == 0
        first = np.argmax(nul, axis=1)
        found = nul[np.arange(len(scan)), first]
        _refuse_odd_bytes(rows, np.where(found, first, window))
        ends[pending[found]] = scan[found] + first[found]
        pending, scan = pending[~found], scan[~found] + window
        window = min(window * 4, PADDING // 2)
    if np.any(ends >= limits):
        raise CannotProve("a string without its NUL terminator")
    return ends


def check_names(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> None:
    """Raise `CannotProve` unless each name is `lengths[i]` plain bytes followed by its NUL."""
    if not len(starts):
        return
    if np.any(buffer[starts + lengths] != 0):
        raise CannotProve("a read name without its NUL terminator")
    width = int(lengths.max())
    if width == 0:
        return
    rows = byte_rows(buffer, starts, width)
    rows -= 1  # a NUL wraps to 255: one comparison finds it and every non-ASCII byte
    odd = (rows >= 0x7F) | (rows == 9 - 1)
    if int(lengths.min()) < width:  # only the bytes of each name count
        odd &= np.arange(width) < lengths[:, None]
    if odd.any():
        raise CannotProve("a read name with a NUL, TAB or non-ASCII byte")


def _refuse_odd_bytes(rows: np.ndarray, lengths: np.ndarray) -> None:
    """Raise `CannotProve` if a TAB or non-ASCII byte is among the first `lengths[i]` of row i."""
    odd = (rows >= 0x80) | (rows == 9)
    first = np.argmax(odd, axis=1)
    if np.any(odd[np.arange(len(rows)), first] & (first < lengths)):
        raise CannotProve("a name or string with a TAB or non-ASCII byte")
