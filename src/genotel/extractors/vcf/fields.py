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
    samples: Pieces  # sample sub-fields, keyed by FORMAT key id (those beyond the keys left out)
    other: np.ndarray  # the separator bytes, in file order
    extra: Pieces  # sample sub-fields beyond their FORMAT's keys (they go to Other)


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
    ) -> VcfText:
        """Cut the (column-checked) record lines `data[starts[i]:ends[i]]` (no newline).

        The lines' text, line ends included, runs from `starts[0]` to `end` (the end of `data`
        by default). With `info` false the INFO items are not cut (each INFO is then one field,
        left without keys). With `samples`, the sample sub-fields are cut: those of every key
        (and those beyond their FORMAT's keys, as `extra`), or with `format_keys` only those of
        the keys named there.
        """
        count, begin = len(starts), int(starts[0])
        end = len(data) if end is None else end
        text = data[begin:end]
        # Bounds on the number of INFO items and of sample sub-fields (every one when probing):
        # one per separator, plus one per line.
        item_bound = count + (int(np.count_nonzero(text == SEMICOLON)) if info else 0)
        field_bound = count + (int(np.count_nonzero(text == COLON) + np.count_nonzero(text == TAB)) if samples else 0)
        while True:
            wanted = (info, samples, format_keys is None, item_bound, field_bound)
            formats = (*self.format_strings.table(), self._key_table(format_keys))
            cut = cut_lines(data, starts, ends, end, *wanted, *formats)
            format_ranges, format_codes, groups = cut[4:7]
            unknown = np.flatnonzero(groups == UNKNOWN_FORMAT)
            if not len(unknown):
                break
            # FORMAT strings new to this splitter (rare after the first lines): learn them, cut again.
            self.format_strings.ids(format_codes[unknown], data, format_ranges[0][unknown], format_ranges[1][unknown])
        fixed_ranges, item_ranges, item_offsets, item_codes = cut[:4]
        fields, field_offsets, extras, extra_offsets, other = cut[7:]
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
        return VcfText(data, count, fixed, info_pieces, values, format_pieces, sample_pieces, other, extra)

    def _key_table(self, wanted: frozenset[str] | None) -> np.ndarray:
        """Per FORMAT string id, the key id of each of its sub-fields; the last column for those
        beyond its keys. -1 marks a sub-field not wanted; -2 one beyond the keys that is wanted
        (every sub-field is, when `wanted` is None)."""
        for name in self.format_strings.names[len(self._format_key_ids) :]:
            self._format_key_ids.append(
                [self.format_keys.setdefault(key, len(self.format_keys)) for key in name.split(":")]
            )
        names = self.format_key_names
        width = max((len(ids) for ids in self._format_key_ids), default=0) + 1
        table = np.full((len(self._format_key_ids), width), -2 if wanted is None else -1, dtype=np.int64)
        for row, ids in enumerate(self._format_key_ids):
            table[row, : len(ids)] = [key if wanted is None or names[key] in wanted else -1 for key in ids]
        return table


@numba.njit(cache=True, nogil=True)
def cut_lines(
    data: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    end: int,
    info: bool,
    samples: bool,
    separators: bool,
    item_bound: int,
    field_bound: int,
    slot_codes: np.ndarray,
    slot_ids: np.ndarray,
    bits: int,
    table: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Walk the record lines `data[starts[i]:ends[i]]` once and cut them into fields.

    Per line: the seven fixed columns (their tabs must be there: the lines are column-checked),
    the INFO items between `;` (non-empty ones only; with `info` false the whole INFO is one
    item; an INFO of `.` has none), the FORMAT column, and with `samples` the sample sub-fields
    between `:` and tabs. A FORMAT string is looked up by its code in the open-addressing table
    (`slot_codes`, `slot_ids`, `bits`: `KeyNames.table`) and sub-field k of its samples is
    `table[group, min(k, width - 1)]`: a key id (kept, with the key), -2 (kept as an extra) or
    -1 (left out); the samples of a FORMAT string not in the table are not cut (its group is
    `UNKNOWN_FORMAT`). With `separators`, the separator bytes (tabs, `;`, `:`, the `.` of an
    empty INFO, `\\r`, the newline unless the text ends without one at `end`) are copied to
    `other` in file order.

    Returns, in this order: the fixed columns' (start, end) of shape (2, 7, lines); the INFO
    items' (start, end, key end), their offsets per line and key codes (`keys.key_code`); the
    FORMAT (start, end) per line (-1 without one), its code and group (-1 without one); the kept
    sub-fields' (start, end, key) and offsets per line; the extras' (start, end) and offsets per
    line; and `other`. With neither `info` nor `samples`, only the fixed columns are cut.
    """
    count = len(starts)
    fixed = np.empty((2, INFO_INDEX, count), dtype=np.int64)
    items = np.empty((3, item_bound), dtype=np.int64)
    item_offsets = np.zeros(count + 1, dtype=np.int64)
    item_codes = np.zeros(item_bound, dtype=np.uint64)
    formats = np.full((2, count), -1, dtype=np.int64)
    format_codes = np.zeros(count, dtype=np.uint64)
    groups = np.full(count, -1, dtype=np.int64)
    fields = np.empty((3, field_bound), dtype=np.int64)
    field_offsets = np.zeros(count + 1, dtype=np.int64)
    extras = np.empty((2, field_bound), dtype=np.int64)  # (pages that are not written cost nothing)
    extra_offsets = np.zeros(count + 1, dtype=np.int64)
    other = np.empty(end - starts[0] if count and separators else 0, dtype=np.uint8)
    last_column = table.shape[1] - 1
    reach = np.zeros(len(table), dtype=np.int64)  # per FORMAT string: sub-fields to look at per sample
    for group in range(len(table)):
        for column in range(last_column + 1):
            if table[group, column] != -1:
                reach[group] = column + 1 if column < last_column else np.iinfo(np.int64).max
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
            if separators:
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
            if separators:
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
                if separators:
                    other[other_count] = SEMICOLON
                    other_count += 1
                item = stop + 1
        item_offsets[line + 1] = item_count
        wanted = 0
        if position < text_end:  # a FORMAT column
            if separators:
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
        if position < text_end and (wanted > 0 or separators):  # samples
            row = groups[line] if wanted > 0 else 0
            index = 0
            field = position + 1
            if separators:
                other[other_count] = TAB
                other_count += 1
            while True:
                stop = field
                if index < wanted or separators:
                    while stop < text_end and data[stop] != TAB and not (samples and data[stop] == COLON):
                        stop += 1
                else:  # nothing more is wanted of this sample: on to the next
                    while stop < text_end and data[stop] != TAB:
                        stop += 1
                key = table[row, min(index, last_column)] if index < wanted else -1
                if key >= 0:
                    fields[0, field_count], fields[1, field_count], fields[2, field_count] = field, stop, key
                    field_count += 1
                elif key == -2:
                    extras[0, extra_count], extras[1, extra_count] = field, stop
                    extra_count += 1
                if stop == text_end:
                    break
                if separators:
                    other[other_count] = data[stop]
                    other_count += 1
                index = index + 1 if data[stop] == COLON else 0
                field = stop + 1
        field_offsets[line + 1] = field_count
        extra_offsets[line + 1] = extra_count
        if separators and has_cr:
            other[other_count] = CR
            other_count += 1
        if separators and ends[line] < end:
            other[other_count] = NEWLINE
            other_count += 1
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
    )


def _no_pieces(count: int) -> Pieces:
    """No fields, for a category that was not cut (or that no line has)."""
    empty = np.zeros(0, dtype=np.int64)
    return Pieces(empty, empty, np.zeros(count + 1, dtype=np.int64))


def stream_parts(text: VcfText, splitter: VcfFieldSplitter) -> list[tuple[str, np.ndarray]]:
    """Every byte of the batch's record lines (line ends included), as (stream, bytes) in stream order.

    The seven fixed columns, the INFO key streams, FORMAT, the FORMAT key streams, Other. Within
    the batch, the key streams come in order of first sight, so that the order does not depend
    on which batches a splitter saw before.
    """
    if text.records == 0:
        return []
    info_names = [f"INFO/{name}" for name in splitter.info_keys.names]
    format_names = [f"FORMAT/{name}" for name in splitter.format_key_names]
    # One label per stream; the pieces in stream order, each category's in file order, so that
    # the labels' order of first sight is the order of the streams.
    names = [*FIXED_STREAMS, *info_names, "FORMAT", *format_names, OTHER]
    format_label = len(FIXED_STREAMS) + len(info_names)
    categories = [(pieces, np.int64(column)) for column, pieces in enumerate(text.fixed)]
    categories += [
        (text.info, None if text.info.keys is None else text.info.keys + len(FIXED_STREAMS)),
        (text.format, np.int64(format_label)),
        (text.samples, None if text.samples.keys is None else text.samples.keys + format_label + 1),
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
    # Other: the separators in file order, then any sub-fields beyond their FORMAT's keys.
    extra = parts.pop()[1] if parts[-1][0] == OTHER else content[:0]
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
