"""The fields of VCF record lines as byte ranges: probe streams and dictionary fields.

`VcfFieldSplitter.split` cuts a batch of VCF record lines (a VCF file's, or htslib's rendering
of BCF records) into fields with one compiled loop over the lines (`cut_lines`, numba): fixed
columns, INFO items and their keys, FORMAT, the sample sub-fields that are wanted, and the
separator bytes (tabs, `;` between INFO items, `:` between sub-fields, line ends, an INFO of
`.`). Sub-field k of a sample belongs to key k of its line's FORMAT, looked up per distinct
FORMAT string.
`stream_parts` feeds the probe (every byte in exactly one stream, grouped by a second compiled
loop, `group_by_first_sight`); `dictionary.py` takes the dictionary values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .keys import KeyNames, find_code, key_code

FIXED_STREAMS = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER")
INFO_INDEX = 7  # 0-based column of INFO; FORMAT follows, then the samples
FORMAT_INDEX = 8
FIRST_SAMPLE = 9
TAB, SEMICOLON, COLON, EQUALS, DOT, CR, NEWLINE = (ord(char) for char in "\t;:=.\r\n")
OTHER = "Other"
UNKNOWN_FORMAT = -2  # the group of a FORMAT string the splitter has not learnt yet
BEYOND_KEYS = -2  # in the key table: a sub-field beyond its FORMAT's keys
STREAM_BLOCK = 4096  # bytes per block of the sample streams while they are cut


@dataclass
class Pieces:
    """Byte ranges `data[starts[i]:ends[i]]` in file order; a line's ranges are consecutive.

    Line l's ranges are `[offsets[l], offsets[l+1])`; `keys[i]` names the key of each (an INFO
    key id or a FORMAT key id) where the category has keys.
    """

    starts: np.ndarray
    ends: np.ndarray
    offsets: np.ndarray
    keys: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.starts)

    def first_lines(self, lines: int) -> int:
        """How many ranges belong to the first `lines` lines."""
        return int(self.offsets[min(lines, len(self.offsets) - 1)])


@dataclass
class VcfText:
    """The fields of the record lines of one batch."""

    data: np.ndarray
    records: int
    fixed: list[Pieces]  # the seven columns CHROM..FILTER, one range per line
    info: Pieces  # non-empty INFO items (`key=value` or `key`), keyed by INFO key id
    info_values: np.ndarray  # per INFO item, where its value starts (after `=`; its end if none)
    format: Pieces  # the FORMAT column of the lines that have one
    samples: Pieces  # the kept sample sub-fields, keyed by FORMAT key id
    other: np.ndarray  # the separator bytes, in file order (with `streams`)
    extra: Pieces  # sample sub-fields beyond their FORMAT's keys (they go to Other; with `streams`)
    sample_streams: Streams | None = None  # every FORMAT key's sub-fields (with `streams`)


@dataclass
class Streams:
    """Bytes grouped by key: key `order[i]`'s bytes are `content[bounds[i]:bounds[i + 1]]`,
    the keys in order of first sight."""

    content: np.ndarray
    order: np.ndarray
    bounds: np.ndarray


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


class VcfFieldSplitter:
    """Cuts batches of record lines into fields; keeps the key names met across batches."""

    def __init__(self) -> None:
        self.info_keys = KeyNames()
        self.format_strings = KeyNames()  # whole FORMAT strings, e.g. `GT:AD:DP`
        self.format_keys: dict[str, int] = {}  # FORMAT key name -> id
        self._format_key_ids: list[list[int]] = []  # per FORMAT string id, its keys' ids

    @property
    def format_key_names(self) -> list[str]:
        return list(self.format_keys)

    def split(
        self,
        data: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        info: bool = True,
        samples: bool = True,
        end: int | None = None,
        format_keys: frozenset[str] | None = None,
        streams: bool = False,
        *,
        sizes: tuple[int, int],
    ) -> VcfText:
        """Cut the (column-checked) record lines `data[starts[i]:ends[i]]` (no newline).

        The lines' text, line ends included, runs from `starts[0]` to `end` (the end of `data`
        by default). With `info` false the INFO items are not cut (each INFO is then one field,
        left without keys). With `samples`, the sample sub-fields of the keys in `format_keys`
        (every key when None) are kept as pieces. With `streams` (the probe), the separators and
        the sub-fields beyond their FORMAT's keys are kept too, and every key's sub-fields are
        copied into its stream. `sizes`: the lines' INFO bytes (at least) and their number of
        samples, which a `VcfBatch` knows; they bound the kernel's arrays.
        """
        count = len(starts)
        end = len(data) if end is None else end
        samples = samples or streams
        # Bounds on the number of INFO items (a byte and a `;` each, but a line's last) and of the
        # kept sub-fields (a sample holds one per kept key of its FORMAT), plus one per line.
        info_bytes, sample_count = sizes
        item_bound = count + (info_bytes // 2 if info else 0)
        while True:
            table = self._key_table()
            kept = np.array([format_keys is None or name in format_keys for name in self.format_keys], dtype=np.bool_)
            kept_per_sample = max((int(np.count_nonzero(kept[row[row >= 0]])) for row in table), default=0)
            field_bound = count + (sample_count * kept_per_sample if samples else 0)
            wanted = (info, samples, streams, item_bound, field_bound)
            cut = cut_lines(data, starts, ends, end, *wanted, *self.format_strings.table(), table, kept)
            format_ranges, format_codes, groups = cut[4:7]
            unknown = np.flatnonzero(groups == UNKNOWN_FORMAT)
            if not len(unknown):
                break
            # FORMAT strings new to this splitter (rare after the first lines): learn them, cut again.
            self.format_strings.ids(format_codes[unknown], data, format_ranges[0][unknown], format_ranges[1][unknown])
        fixed_ranges, item_ranges, item_offsets, item_codes = cut[:4]
        fields, field_offsets, extras, extra_offsets, other = cut[7:12]
        lines = np.arange(count + 1)
        fixed = [Pieces(fixed_ranges[0, column], fixed_ranges[1, column], lines) for column in range(INFO_INDEX)]
        if not (info or samples):  # only the fixed columns were cut
            none, empty = _no_pieces(count), np.zeros(0, dtype=np.int64)
            return VcfText(data, count, fixed, none, empty, none, none, np.zeros(0, dtype=np.uint8), none)
        item_start, item_end, key_end = item_ranges
        keys, values = None, item_end
        if info:
            keys = self.info_keys.ids(item_codes, data, item_start, key_end)
            values = np.minimum(key_end + 1, item_end)
        info_pieces = Pieces(item_start, item_end, item_offsets, keys)
        has_format = format_ranges[0] >= 0
        format_pieces = Pieces(format_ranges[0][has_format], format_ranges[1][has_format], _offsets(has_format))
        sample_pieces = Pieces(fields[0], fields[1], field_offsets, fields[2])
        extra = Pieces(extras[0], extras[1], extra_offsets)
        sample_streams = Streams(*cut[12:]) if streams else None
        pieces = (info_pieces, values, format_pieces, sample_pieces, other, extra, sample_streams)
        return VcfText(data, count, fixed, *pieces)

    def _key_table(self) -> np.ndarray:
        """Per FORMAT string id, the key id of each of its sub-fields; -2 (in the last column at
        least) for the sub-fields beyond its keys."""
        for name in self.format_strings.names[len(self._format_key_ids) :]:
            self._format_key_ids.append(
                [self.format_keys.setdefault(key, len(self.format_keys)) for key in name.split(":")]
            )
        width = max((len(ids) for ids in self._format_key_ids), default=0) + 1
        table = np.full((len(self._format_key_ids), width), BEYOND_KEYS, dtype=np.int64)
        for row, ids in enumerate(self._format_key_ids):
            table[row, : len(ids)] = ids
        return table


@numba.njit(cache=True, nogil=True)
def cut_lines(
    data: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    end: int,
    info: bool,
    samples: bool,
    streams: bool,
    item_bound: int,
    field_bound: int,
    slot_codes: np.ndarray,
    slot_ids: np.ndarray,
    bits: int,
    table: np.ndarray,
    kept: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Walk the record lines `data[starts[i]:ends[i]]` once and cut them into fields.

    Per line: the seven fixed columns (their tabs must be there: the lines are column-checked),
    the INFO items between `;` (non-empty ones only; with `info` false the whole INFO is one
    item; an INFO of `.` has none), the FORMAT column, and with `samples` the sample sub-fields
    between `:` and tabs. A FORMAT string is looked up by its code in the open-addressing table
    (`slot_codes`, `slot_ids`, `bits`: `KeyNames.table`); sub-field k of its samples belongs to
    key `table[group, min(k, width - 1)]` (`BEYOND_KEYS` past its keys), and is kept as a piece
    where `kept[key]`. The samples of a FORMAT string not in the table are not cut (its group is
    `UNKNOWN_FORMAT`). With `streams` (the probe), the separator bytes (tabs, `;`, `:`, the `.`
    of an empty INFO, `\\r`, the newline unless the text ends without one at `end`) are copied
    to `other` in file order, the sub-fields beyond their keys are kept as extras, and every
    key's sub-fields are copied into its stream: blocks of `STREAM_BLOCK` bytes taken in turn
    from one pool, joined per key at the end.

    Returns, in this order: the fixed columns' (start, end) of shape (2, 7, lines); the INFO
    items' (start, end, key end), their offsets per line and key codes (`keys.key_code`); the
    FORMAT (start, end) per line (-1 without one), its code and group (-1 without one); the kept
    sub-fields' (start, end, key) and offsets per line; the extras' (start, end) and offsets per
    line; `other`; and the streams (`Streams`' content, order and bounds). With neither `info`
    nor `samples`, only the fixed columns are cut.
    """
    count = len(starts)
    text_size = end - starts[0] if count else 0
    fixed = np.empty((2, INFO_INDEX, count), dtype=np.int64)
    items = np.empty((3, item_bound), dtype=np.int64)
    item_offsets = np.zeros(count + 1, dtype=np.int64)
    item_codes = np.empty(item_bound, dtype=np.uint64)
    formats = np.full((2, count), -1, dtype=np.int64)
    format_codes = np.zeros(count, dtype=np.uint64)
    groups = np.full(count, -1, dtype=np.int64)
    fields = np.empty((3, field_bound), dtype=np.int64)
    field_offsets = np.zeros(count + 1, dtype=np.int64)
    extras = np.empty((2, 16), dtype=np.int64)  # grown when needed: rare
    extra_offsets = np.zeros(count + 1, dtype=np.int64)
    other = np.empty(text_size if streams else 0, dtype=np.uint8)
    # The streams' pool: every block full but each key's last one, so the text plus a block per key bounds it.
    key_count = len(kept)
    pool = np.empty(text_size + (key_count + 1) * STREAM_BLOCK if streams else 0, dtype=np.uint8)
    block_keys = np.empty(len(pool) // STREAM_BLOCK + 1, dtype=np.int64)
    block_of = np.full(key_count, -1, dtype=np.int64)  # per key, its current block
    filled = np.zeros(key_count, dtype=np.int64)  # bytes in it
    order = np.empty(key_count, dtype=np.int64)  # the keys in order of first sight
    cursor = np.full(key_count, -1, dtype=np.int64)  # -1: not seen yet; at the end, where its bytes go
    stream = (pool, block_keys, block_of, filled, order, cursor)
    blocks, seen = 0, 0
    last_column = table.shape[1] - 1
    reach = np.zeros(len(table), dtype=np.int64)  # per FORMAT string: sub-fields to look at per sample
    for group in range(len(table)):
        for column in range(last_column + 1):
            key = table[group, column]
            if streams or (key >= 0 and kept[key]):
                reach[group] = column + 1 if column < last_column else np.iinfo(np.int64).max
    only_key = np.full(len(table), -1, dtype=np.int64)  # per FORMAT string of one key not kept: that key
    for group in range(len(table)):
        if table[group, 0] >= 0 and table[group, 1] == BEYOND_KEYS and not kept[table[group, 0]]:
            only_key[group] = table[group, 0]
    longest = 0
    for line in range(count):
        longest = max(longest, ends[line] - starts[line])
    scratch = np.empty(longest if streams else 0, dtype=np.uint8)  # a line's samples, tabs left out
    item_count, field_count, extra_count, other_count = 0, 0, 0, 0
    for line in range(count):
        position, text_end = starts[line], ends[line]
        has_cr = text_end > position and data[text_end - 1] == CR
        if has_cr:
            text_end -= 1
        for column in range(INFO_INDEX):
            fixed[0, column, line] = position
            while data[position] != TAB:
                position += 1
            fixed[1, column, line] = position
            if streams:
                other[other_count] = TAB
                other_count += 1
            position += 1
        if not (info or samples):  # only the fixed columns are wanted
            continue
        info_start = position
        while position < text_end and data[position] != TAB:
            position += 1
        info_end = position
        if info_end - info_start == 1 and data[info_start] == DOT:
            if streams:
                other[other_count] = DOT
                other_count += 1
        else:
            item = info_start
            while True:
                stop = item
                while stop < info_end and not (info and data[stop] == SEMICOLON):
                    stop += 1
                if stop > item:
                    key_end = item
                    while key_end < stop and data[key_end] != EQUALS:
                        key_end += 1
                    items[0, item_count], items[1, item_count], items[2, item_count] = item, stop, key_end
                    if info:
                        item_codes[item_count] = key_code(data, item, key_end)
                    item_count += 1
                if stop == info_end:
                    break
                if streams:
                    other[other_count] = SEMICOLON
                    other_count += 1
                item = stop + 1
        item_offsets[line + 1] = item_count
        wanted = 0
        if position < text_end:  # a FORMAT column
            if streams:
                other[other_count] = TAB
                other_count += 1
            position += 1
            formats[0, line] = position
            while position < text_end and data[position] != TAB:
                position += 1
            formats[1, line] = position
            format_codes[line] = key_code(data, formats[0, line], position)
            groups[line] = find_code(slot_codes, slot_ids, bits, format_codes[line])
            if groups[line] < 0:
                groups[line] = UNKNOWN_FORMAT
            elif samples:
                wanted = reach[groups[line]]
        if streams and position < text_end and groups[line] >= 0 and only_key[groups[line]] >= 0:
            # A FORMAT of one key that is not kept as pieces (GT alone, most often): its stream takes
            # the samples' bytes but the tabs, Other the tabs; a `:` (sub-fields beyond the key)
            # leaves the line to the walk below.
            key, region = only_key[groups[line]], np.uint64(position + 1)
            stream_bytes, colons = 0, 0
            for offset in range(np.uint64(text_end - position - 1)):  # unsigned: no wraparound tests
                byte = data[region + offset]
                scratch[stream_bytes] = byte
                stream_bytes += byte != TAB
                colons += byte == COLON
            if colons == 0:
                blocks, seen = _add_to_stream(stream, blocks, seen, key, scratch, 0, stream_bytes)
                tabs = text_end - position - stream_bytes  # the one before the first sample too
                other[other_count : other_count + tabs] = TAB
                other_count += tabs
                position = text_end
        if position < text_end and (wanted > 0 or streams):  # samples
            row = groups[line] if wanted > 0 else 0
            index = 0
            field = position + 1
            if streams:
                other[other_count] = TAB
                other_count += 1
            while True:
                stop = field
                if index < wanted or streams:
                    while stop < text_end and data[stop] != TAB and not (samples and data[stop] == COLON):
                        stop += 1
                else:  # nothing more is wanted of this sample: on to the next
                    while stop < text_end and data[stop] != TAB:
                        stop += 1
                key = table[row, min(index, last_column)] if index < wanted else -1
                if key >= 0:
                    if kept[key]:
                        fields[0, field_count], fields[1, field_count], fields[2, field_count] = field, stop, key
                        field_count += 1
                    if streams:
                        block, used = block_of[key], filled[key]
                        if block >= 0 and used + stop - field <= STREAM_BLOCK:  # room in its block
                            target = np.uint64(block * STREAM_BLOCK + used)  # unsigned: no wraparound tests
                            for offset in range(np.uint64(stop - field)):
                                pool[target + offset] = data[np.uint64(field) + offset]
                            filled[key] = used + stop - field
                        else:
                            blocks, seen = _add_to_stream(stream, blocks, seen, key, data, field, stop)
                elif key == BEYOND_KEYS and streams:
                    if extra_count == extras.shape[1]:
                        larger = np.empty((2, 2 * extra_count), dtype=np.int64)
                        larger[:, :extra_count] = extras
                        extras = larger
                    extras[0, extra_count], extras[1, extra_count] = field, stop
                    extra_count += 1
                if stop == text_end:
                    break
                if streams:
                    other[other_count] = data[stop]
                    other_count += 1
                index = index + 1 if data[stop] == COLON else 0
                field = stop + 1
        field_offsets[line + 1] = field_count
        extra_offsets[line + 1] = extra_count
        if streams and has_cr:
            other[other_count] = CR
            other_count += 1
        if streams and ends[line] < end:
            other[other_count] = NEWLINE
            other_count += 1
    # The streams: keys in order of first sight, each key's blocks joined (all full but its last).
    block_sizes = np.full(blocks, STREAM_BLOCK, dtype=np.int64)
    for key in range(key_count):
        if block_of[key] >= 0:
            block_sizes[block_of[key]] = filled[key]
    sizes = np.zeros(key_count, dtype=np.int64)
    for block in range(blocks):
        sizes[block_keys[block]] += block_sizes[block]
    bounds = np.zeros(seen + 1, dtype=np.int64)
    for rank in range(seen):
        cursor[order[rank]] = bounds[rank]
        bounds[rank + 1] = bounds[rank] + sizes[order[rank]]
    content = np.empty(bounds[seen], dtype=np.uint8)
    for block in range(blocks):
        key, size, start = block_keys[block], block_sizes[block], block * STREAM_BLOCK
        content[cursor[key] : cursor[key] + size] = pool[start : start + size]
        cursor[key] += size
    return (
        fixed,
        items[:, :item_count],
        item_offsets,
        item_codes[:item_count],
        formats,
        format_codes,
        groups,
        fields[:, :field_count],
        field_offsets,
        extras[:, :extra_count],
        extra_offsets,
        other[:other_count],
        content,
        order[:seen],
        bounds,
    )


@numba.njit(cache=True, nogil=True)
def _add_to_stream(
    stream: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    blocks: int,
    seen: int,
    key: int,
    source: np.ndarray,
    begin: int,
    end: int,
) -> tuple[int, int]:
    """Append `source[begin:end]` to the stream of `key` (`cut_lines`' pool, block list, each key's
    current block and its fill, the keys' order of first sight, and which keys were seen).

    The bytes go into the key's current block while it has room, then into blocks taken in turn
    from the pool. Returns the numbers of blocks taken and of keys seen.
    """
    pool, block_keys, block_of, filled, order, cursor = stream
    if cursor[key] < 0:  # the key's first sub-field in the batch (it may be empty)
        cursor[key] = 0
        order[seen] = key
        seen += 1
    block, used = block_of[key], filled[key]
    while begin < end:
        if block < 0 or used == STREAM_BLOCK:
            block, used = blocks, 0
            block_keys[block] = key
            blocks += 1
        size = min(end - begin, STREAM_BLOCK - used)
        target, origin = np.uint64(block * STREAM_BLOCK + used), np.uint64(begin)  # unsigned: no wraparound tests
        for offset in range(np.uint64(size)):
            pool[target + offset] = source[origin + offset]
        used, begin = used + size, begin + size
    block_of[key], filled[key] = block, used
    return blocks, seen


def _no_pieces(count: int) -> Pieces:
    """No fields, for a category that was not cut (or that no line has)."""
    empty = np.zeros(0, dtype=np.int64)
    return Pieces(empty, empty, np.zeros(count + 1, dtype=np.int64))


def stream_parts(text: VcfText, splitter: VcfFieldSplitter) -> list[tuple[str, np.ndarray]]:
    """Every byte of the batch's record lines (line ends included), as (stream, bytes) in stream order.

    The seven fixed columns, the INFO key streams, FORMAT, the FORMAT key streams, Other. Within
    the batch, the key streams come in order of first sight, so that the order does not depend
    on which batches a splitter saw before. `text` must be cut with `streams`.
    """
    if text.records == 0:
        return []
    assert text.sample_streams is not None, "cut with streams=True"
    info_names = [f"INFO/{name}" for name in splitter.info_keys.names]
    # One label per stream; the pieces in stream order, each category's in file order, so that
    # the labels' order of first sight is the order of the streams.
    names = [*FIXED_STREAMS, *info_names, "FORMAT", OTHER]
    categories = [(pieces, np.int64(column)) for column, pieces in enumerate(text.fixed)]
    categories += [
        (text.info, None if text.info.keys is None else text.info.keys + len(FIXED_STREAMS)),
        (text.format, np.int64(len(names) - 2)),
        (text.extra, np.int64(len(names) - 1)),
    ]
    kept = [(pieces, labels) for pieces, labels in categories if labels is not None and len(pieces)]
    starts = np.concatenate([pieces.starts for pieces, _ in kept])
    ends = np.concatenate([pieces.ends for pieces, _ in kept])
    labels = np.concatenate([np.broadcast_to(labels, len(pieces)) for pieces, labels in kept])
    content, order, bounds = group_by_first_sight(text.data, starts, ends, labels, len(names))
    spans = zip(order.tolist(), bounds[:-1], bounds[1:], strict=True)
    parts = [(names[label], content[low:high]) for label, low, high in spans]
    if not len(text.format):  # FORMAT comes after the INFO keys even when no line has one
        infos = sum(name.startswith("INFO/") for name, _ in parts)
        parts.insert(len(FIXED_STREAMS) + infos, ("FORMAT", content[:0]))
    # The FORMAT key streams, then Other: the separators in file order, then any sub-fields
    # beyond their FORMAT's keys.
    extra = parts.pop()[1] if parts[-1][0] == OTHER else content[:0]
    streams, format_names = text.sample_streams, splitter.format_key_names
    spans = zip(streams.order.tolist(), streams.bounds[:-1], streams.bounds[1:], strict=True)
    parts += [(f"FORMAT/{format_names[key]}", streams.content[low:high]) for key, low, high in spans]
    parts.append((OTHER, np.concatenate((text.other, extra))))
    return parts


@numba.njit(cache=True, nogil=True)
def group_by_first_sight(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray, labels: np.ndarray, label_count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bytes of the ranges `data[starts[i]:ends[i]]` grouped by `labels[i]` (below `label_count`).

    Each label's ranges keep their order, and the labels come in the order of their first
    range. Returns the bytes, the labels in that order, and where each label's bytes start
    (one more: the end).
    """
    sizes = np.zeros(label_count, dtype=np.int64)
    cursor = np.full(label_count, -1, dtype=np.int64)
    order = np.empty(label_count, dtype=np.int64)
    seen = 0
    for index in range(len(starts)):
        label = labels[index]
        if cursor[label] < 0:
            cursor[label] = 0
            order[seen] = label
            seen += 1
        sizes[label] += ends[index] - starts[index]
    bounds = np.zeros(seen + 1, dtype=np.int64)
    for rank in range(seen):
        cursor[order[rank]] = bounds[rank]
        bounds[rank + 1] = bounds[rank] + sizes[order[rank]]
    out = np.empty(bounds[seen], dtype=np.uint8)
    for index in range(len(starts)):
        at = cursor[labels[index]]
        for offset in range(ends[index] - starts[index]):  # mostly short ranges: no call per copy
            out[at + offset] = data[starts[index] + offset]
        cursor[labels[index]] = at + ends[index] - starts[index]
    return out, order[:seen], bounds
