"""The fields of VCF record lines as byte ranges: probe streams and dictionary fields.

`VcfFieldSplitter.split` cuts a batch of VCF record lines (a VCF file's, or htslib's rendering
of BCF records) into fields with numpy over the whole batch: every separator (tabs, `;` between
INFO items, `:` between sample sub-fields, line ends, an INFO of `.`) is marked at once and each
field's category follows from per-line counts by index arithmetic. Sub-field k of a sample
belongs to key k of its line's FORMAT, looked up per distinct FORMAT string. `stream_parts`
feeds the probe (every byte in exactly one stream); `dictionary.py` takes the dictionary values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...batches import Scratch, gather
from ...batches import range_positions as ranges
from .keys import WORD, KeyNames, Words, first_byte

FIXED_STREAMS = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER")
INFO_INDEX = 7  # 0-based column of INFO; FORMAT follows, then the samples
FORMAT_INDEX = 8
FIRST_SAMPLE = 9
TAB, SEMICOLON, COLON, EQUALS, DOT, CR = (ord(char) for char in "\t;:=.\r")
OTHER = "Other"


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
    other: np.ndarray  # positions of the separator bytes, in file order
    extra: Pieces  # sample sub-fields beyond their FORMAT's keys (they go to Other)


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def _inside(positions: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted `positions` within the regions `[starts[i], ends[i])`, and the count per region."""
    low = np.searchsorted(positions, starts)
    counts = np.maximum(np.searchsorted(positions, ends) - low, 0)
    if int(counts.sum()) == len(positions):
        return positions, counts
    return positions[ranges(low, counts)], counts


class VcfFieldSplitter:
    """Cuts batches of record lines into fields; keeps the key names met across batches."""

    def __init__(self) -> None:
        self.info_keys = KeyNames()
        self.format_strings = KeyNames()  # whole FORMAT strings, e.g. `GT:AD:DP`
        self.format_keys: dict[str, int] = {}  # FORMAT key name -> id
        self._format_key_ids: list[list[int]] = []  # per FORMAT string id, its keys' ids
        self.scratch = Scratch()

    @property
    def format_key_names(self) -> list[str]:
        return list(self.format_keys)

    def split(
        self,
        data: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        tabs: np.ndarray,
        first_tab: np.ndarray,
        columns: np.ndarray,
        info: bool = True,
        samples: bool = True,
        end: int | None = None,
    ) -> VcfText:
        """Cut the (column-checked) record lines `data[starts[i]:ends[i]]` (no newline).

        `tabs`/`first_tab`/`columns` are the batch's tab positions (`VcfBatch`); the lines' text,
        line ends included, runs from `starts[0]` to `end` (the end of `data` by default). With
        `info` or `samples` false, the INFO items or the sample sub-fields are not cut (each
        INFO or sample is then one field, left without keys).
        """
        count, begin = len(starts), int(starts[0])
        end = len(data) if end is None else end
        cr = (ends > starts) & (data[np.maximum(ends - 1, 0)] == CR)
        text_ends = ends - cr
        last_tab = len(tabs) - 1
        column_start = [starts] + [tabs[first_tab + column - 1] + 1 for column in range(1, FORMAT_INDEX)]
        fixed = [Pieces(column_start[c], tabs[first_tab + c], np.arange(count + 1)) for c in range(INFO_INDEX)]
        info_start = column_start[INFO_INDEX]
        info_end = np.where(columns > FORMAT_INDEX, tabs[np.minimum(first_tab + INFO_INDEX, last_tab)], text_ends)
        format_end = np.where(columns > FIRST_SAMPLE, tabs[np.minimum(first_tab + FORMAT_INDEX, last_tab)], text_ends)
        has_format = columns > FORMAT_INDEX
        has_samples = columns > FIRST_SAMPLE
        if not info and not samples:  # only the fixed columns are wanted
            none, empty = _no_pieces(count), np.zeros(0, dtype=np.int64)
            return VcfText(data, count, fixed, none, empty, none, none, empty, none)

        # separator[p - begin] marks byte p; one more at `end` stands for a last line without '\n'
        separator = self.scratch.get("separator", end - begin + 1, np.bool_)
        separator.fill(False)
        separator[tabs[first_tab[0] : first_tab[-1] + columns[-1] - 1] - begin] = True
        separator[ends - begin] = True
        separator[ends[cr] - 1 - begin] = True
        dot = (info_end - info_start == 1) & (data[np.minimum(info_start, len(data) - 1)] == DOT)
        separator[info_start[dot] - begin] = True  # an INFO of `.` goes to Other, leaving two empty fields
        semicolons = np.zeros(0, dtype=np.int64)
        if info:
            semicolons = np.flatnonzero(data[begin:end] == SEMICOLON) + begin
            semicolons, per_line = _inside(semicolons, info_start, info_end)
            separator[semicolons - begin] = True
            info_fields = per_line + 1 + dot
        else:
            info_fields = 1 + dot.astype(np.int64)
        sample_lines = np.flatnonzero(has_samples)
        sample_fields = columns[sample_lines] - FIRST_SAMPLE
        colons = np.zeros(0, dtype=np.int64)
        if samples and len(sample_lines):
            colons = np.flatnonzero(data[begin:end] == COLON) + begin
            colons, per_line = _inside(colons, format_end[sample_lines] + 1, text_ends[sample_lines])
            separator[colons - begin] = True
            sample_fields = sample_fields + per_line
        separators = np.flatnonzero(separator) + begin

        # Field i of the batch is data[separators[i-1] + 1 : separators[i]].
        per_line = len(FIXED_STREAMS) + info_fields + has_format + cr
        per_line[sample_lines] += sample_fields
        first_field = np.cumsum(per_line) - per_line
        items = ranges(first_field + INFO_INDEX, info_fields)
        item_start, item_end = separators[items - 1] + 1, separators[items]
        nonempty = item_end > item_start
        item_offsets = _offsets(info_fields)
        if not nonempty.all():
            item_offsets = np.concatenate(([0], np.cumsum(nonempty)))[item_offsets]
            item_start, item_end = item_start[nonempty], item_end[nonempty]
        words = Words(data, begin, end, self.scratch)
        keys, values = self._info_keys(data, words, item_start, item_end) if info else (None, item_end)
        info_pieces = Pieces(item_start, item_end, item_offsets, keys)
        format_pieces = Pieces(info_end[has_format] + 1, format_end[has_format], _offsets(has_format))
        sample_pieces = extra = _no_pieces(count)
        if samples and len(sample_lines):
            fields = ranges(first_field[sample_lines] + FORMAT_INDEX + info_fields[sample_lines], sample_fields)
            field_start, field_end = separators[fields - 1] + 1, separators[fields]
            line_fields = np.zeros(count, dtype=np.int64)
            line_fields[sample_lines] = sample_fields
            sample_pieces = Pieces(field_start, field_end, _offsets(line_fields))
            format_codes = words.codes(format_pieces.starts, format_pieces.ends)
            groups = self.format_strings.ids(format_codes, data, format_pieces.starts, format_pieces.ends)
            sample_pieces, extra = self._sample_keys(
                data, separators, fields, sample_pieces, groups[has_samples[has_format]], sample_fields, len(colons) > 0
            )
        other = separators[: len(separators) - (int(ends[-1]) == end)]  # not the virtual end
        return VcfText(data, count, fixed, info_pieces, values, format_pieces, sample_pieces, other, extra)

    def _info_keys(
        self, data: np.ndarray, words: Words, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The key id and the value start of each INFO item (`key=value`, or a flag `key`)."""
        lengths = ends - starts
        head = words.at(starts)
        at = first_byte(head, EQUALS)
        found = (at < WORD) & (at < lengths)
        key_end = np.where(found, starts + at, ends)
        unsure = np.flatnonzero(~found & (lengths > WORD))  # no '=' in the first word of a long item
        if len(unsure):
            low, high = int(starts[unsure].min()), int(ends[unsure].max())
            equals = np.flatnonzero(data[low:high] == EQUALS) + low
            equals = equals if len(equals) else np.array([high], dtype=np.int64)  # none: every item is a flag
            after = equals[np.minimum(np.searchsorted(equals, starts[unsure]), max(len(equals) - 1, 0))]
            key_end[unsure] = np.where((after >= starts[unsure]) & (after < ends[unsure]), after, ends[unsure])
        codes = words.codes(starts, key_end, head)
        return self.info_keys.ids(codes, data, starts, key_end), np.minimum(key_end + 1, ends)

    def _sample_keys(
        self,
        data: np.ndarray,
        separators: np.ndarray,
        fields: np.ndarray,
        pieces: Pieces,
        groups: np.ndarray,
        per_line: np.ndarray,
        has_colons: bool,
    ) -> tuple[Pieces, Pieces]:
        """Key each sample sub-field; those beyond their FORMAT's keys are split off as extra."""
        table = self._key_table()
        if has_colons:  # sub-field k of a sample: fields since the sample's first (after a tab)
            opens = data[separators[fields - 1]] == TAB
            index = np.arange(len(fields), dtype=np.int64)
            k = index - np.maximum.accumulate(np.where(opens, index, 0))
            keys = table[np.repeat(groups, per_line), np.minimum(k, table.shape[1] - 1)]
        else:
            keys = table[np.repeat(groups, per_line), 0]
        pieces.keys = keys
        kept = keys >= 0
        if kept.all():
            return pieces, Pieces(pieces.starts[:0], pieces.ends[:0], pieces.offsets * 0)
        cumulative = np.concatenate(([0], np.cumsum(kept)))
        extra_offsets = pieces.offsets - cumulative[pieces.offsets]
        extra = Pieces(pieces.starts[~kept], pieces.ends[~kept], extra_offsets)
        return Pieces(pieces.starts[kept], pieces.ends[kept], cumulative[pieces.offsets], keys[kept]), extra

    def _key_table(self) -> np.ndarray:
        """Per FORMAT string id, the key ids of its sub-fields (-1 past the last key)."""
        for name in self.format_strings.names[len(self._format_key_ids) :]:
            self._format_key_ids.append(
                [self.format_keys.setdefault(key, len(self.format_keys)) for key in name.split(":")]
            )
        width = max(len(ids) for ids in self._format_key_ids) + 1
        table = np.full((len(self._format_key_ids), width), -1, dtype=np.int64)
        for row, ids in enumerate(self._format_key_ids):
            table[row, : len(ids)] = ids
        return table


def _no_pieces(count: int) -> Pieces:
    """No fields, for a category that was not cut (or that no line has)."""
    empty = np.zeros(0, dtype=np.int64)
    return Pieces(empty, empty, np.zeros(count + 1, dtype=np.int64))


def stream_parts(text: VcfText, splitter: VcfFieldSplitter) -> list[tuple[str, np.ndarray]]:
    """Every byte of the batch's record lines (line ends included), as (stream, bytes) in stream order.

    Within the batch, the INFO and FORMAT key streams come in order of first sight, so that the
    order does not depend on which batches a splitter saw before.
    """
    if text.records == 0:
        return []
    streams: list[tuple[str, np.ndarray, np.ndarray]] = [
        (name, pieces.starts, pieces.ends) for name, pieces in zip(FIXED_STREAMS, text.fixed, strict=True)
    ]
    streams += _by_key(text.info, [f"INFO/{name}" for name in splitter.info_keys.names])
    streams.append(("FORMAT", text.format.starts, text.format.ends))
    streams += _by_key(text.samples, [f"FORMAT/{name}" for name in splitter.format_key_names])
    streams.append((OTHER, text.extra.starts, text.extra.ends))
    starts = np.concatenate([starts for _, starts, _ in streams])
    ends = np.concatenate([ends for _, _, ends in streams])
    content = gather(text.data, starts, ends, splitter.scratch)
    parts = []
    offset = 0
    for name, starts, ends in streams[:-1]:
        size = int((ends - starts).sum())
        parts.append((name, content[offset : offset + size]))
        offset += size
    # Other: the separators in file order, then any sub-fields beyond their FORMAT's keys.
    parts.append((OTHER, np.concatenate((text.data[text.other], content[offset:]))))
    return parts


def _by_key(pieces: Pieces, names: list[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The pieces grouped by key, each group in file order, groups in order of first sight."""
    if not len(pieces) or pieces.keys is None:
        return []
    keys = pieces.keys
    counts = np.bincount(keys, minlength=len(names))
    present = np.flatnonzero(counts)
    if len(present) == 1:
        return [(names[int(present[0])], pieces.starts, pieces.ends)]
    order = np.argsort(keys.astype(np.int16) if len(names) < 2**15 else keys, kind="stable")  # radix sort
    bounds = np.cumsum(counts) - counts
    present = present[np.argsort(order[bounds[present]])]  # a group's first piece: its first sight
    starts, ends = pieces.starts[order], pieces.ends[order]
    return [
        (names[key], starts[bounds[key] : bounds[key] + counts[key]], ends[bounds[key] : bounds[key] + counts[key]])
        for key in present
    ]
