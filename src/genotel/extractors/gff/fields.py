"""GFF3/GTF field streams for the compressibility probe, and attribute values for hash_issues form 1.

Streams and the rules that cut them (which bytes are `TXT_HEADER`, how column 9 is cut into
`ATTR/<key>` values, which keys go to `Other`, the embedded FASTA section's `DESC`/`SEQ`) are
docs/record.md's. The attribute values also feed hash_issues form 1 as `<key>` with parent
`ATTR`, within `--sample N` feature lines. All of it is numpy over whole chunks: column 9 is cut
at every `;` at once, keys are hashed eight bytes at a time, and every byte is copied once into
its stream (`text_streams.gather_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...stats.cardinality import CardinalityAccumulator, CardinalityResult
from ...stats.gain import GainProbe
from ...stats.hashing import mix64
from ...stats.text_streams import OTHER, Grouped, add_grouped, gaps_between, gather_groups, sequence_ranges

COLUMN_NAMES = ("SEQID", "SOURCE", "TYPE", "START", "END", "SCORE", "STRAND", "PHASE")
TXT_HEADER, FIRST_COLUMN = 1, 2
DESC, SEQ = FIRST_COLUMN + len(COLUMN_NAMES), FIRST_COLUMN + len(COLUMN_NAMES) + 1
FIRST_KEY = SEQ + 1
FIXED_NAMES = ["Other", "TXT_HEADER", *COLUMN_NAMES, "DESC", "SEQ"]
MAX_ATTRIBUTE_KEYS = 128
MAX_KNOWN_KEYS = 4 * MAX_ATTRIBUTE_KEYS  # keys remembered at all, streams or rejected: bounds the work per new key
MAX_KEY_BYTES = 64
_SEMICOLON, _EQUALS, _SPACE, _QUOTE = ord(";"), ord("="), ord(" "), ord('"')
_EMPTY = np.zeros(0, dtype=np.int64)
# MASKS[k] keeps the first k bytes of a little-endian 64-bit word.
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_LOW_BITS, _HIGH_BITS = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)
_SLOT_BITS = 12


@dataclass
class GffLayout:
    """Where the fields of one chunk are: filled by the parser, read by `GffStreams`."""

    data: np.ndarray  # uint8, the chunk
    header_end: int = 0  # data[:header_end] is TXT_HEADER
    feature_starts: np.ndarray = field(default_factory=lambda: _EMPTY)  # first byte of each feature line
    feature_ends: np.ndarray = field(default_factory=lambda: _EMPTY)  # its end, without `\r\n`
    columns: np.ndarray = field(default_factory=lambda: _EMPTY.reshape(0, 8))  # (features, 8) tab positions
    fasta_starts: np.ndarray = field(default_factory=lambda: _EMPTY)  # FASTA-section lines of the chunk
    fasta_ends: np.ndarray = field(default_factory=lambda: _EMPTY)  # their ends, without `\r\n`


class AttributeKeys:
    """Attribute keys seen so far, each with its label, found by a 64-bit hash of the key bytes."""

    def __init__(self) -> None:
        self.names: list[str] = []  # key of label FIRST_KEY + i
        self._hashes = np.zeros(0, dtype=np.uint64)  # sorted
        self._labels = np.zeros(0, dtype=np.int16)  # OTHER for rejected keys
        # A direct-address table on the hash's top bits answers almost every lookup in two gathers.
        self._slot_hash = np.zeros(1 << _SLOT_BITS, dtype=np.uint64)
        self._slot_label = np.full(1 << _SLOT_BITS, -1, dtype=np.int16)

    def labels_of(self, data: np.ndarray, hashes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The label of each key `data[starts[i]:ends[i]]` whose hash is `hashes[i]`."""
        labels = self._lookup(hashes)
        unknown = np.flatnonzero(labels < 0)
        room = MAX_KNOWN_KEYS - len(self._hashes)
        if len(unknown) and room > 0:
            _, first = np.unique(hashes[unknown], return_index=True)
            for index in np.sort(unknown[first])[:room].tolist():  # new keys in order of first appearance
                self._register(hashes[index], data[starts[index] : ends[index]].tobytes())
            labels = self._lookup(hashes)
        return np.maximum(labels, OTHER)  # keys past MAX_KNOWN_KEYS are Other

    def _lookup(self, hashes: np.ndarray) -> np.ndarray:
        slot = (hashes >> np.uint64(64 - _SLOT_BITS)).astype(np.int64)
        labels = np.where(self._slot_hash[slot] == hashes, self._slot_label[slot], -1).astype(np.int16)
        missed = np.flatnonzero(labels < 0)
        if len(missed) and len(self._hashes):  # keys that share a slot with an earlier key
            where = np.minimum(np.searchsorted(self._hashes, hashes[missed]), len(self._hashes) - 1)
            found = self._hashes[where] == hashes[missed]
            labels[missed[found]] = self._labels[where[found]]
        return labels

    def _register(self, key_hash: np.uint64, key: bytes) -> None:
        label = OTHER
        if len(self.names) < MAX_ATTRIBUTE_KEYS and is_plain_key(key):
            label = FIRST_KEY + len(self.names)
            self.names.append(key.decode("ascii"))
        where = int(np.searchsorted(self._hashes, key_hash))
        self._hashes = np.insert(self._hashes, where, key_hash)
        self._labels = np.insert(self._labels, where, label)
        slot = int(key_hash >> np.uint64(64 - _SLOT_BITS))
        if self._slot_label[slot] < 0:
            self._slot_hash[slot], self._slot_label[slot] = key_hash, label


def is_plain_key(key: bytes) -> bool:
    """Printable ASCII without spaces or commas: safe as a stream name in the record."""
    return all(0x21 <= byte <= 0x7E and byte != 0x2C for byte in key)


def scan_keys(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, separator: int) -> tuple[np.ndarray, ...]:
    """Where each item's key ends (its first `separator`), and a 64-bit hash of the key.

    Reads eight bytes at a time and finds the first separator byte of a word with bit tricks
    (no loop over bytes), so a key of up to 7 bytes costs one round over all items; longer
    keys take further rounds over just those items. The key end is -1 when the item has no
    separator or the key is longer than MAX_KEY_BYTES.
    """
    size = len(data)
    padded = np.zeros(size + 8, dtype=np.uint8)
    padded[:size] = data
    # Every (unaligned) 8-byte window of the chunk as one uint64: words[i] = bytes i..i+7.
    words = np.ndarray((size + 1,), dtype="<u8", buffer=padded, strides=(1,))
    pattern = np.uint64(separator * 0x0101010101010101)
    word = words[starts]
    first = _first_byte_equal(word, pattern)  # 8 when the word has no separator
    left = ends - starts  # bytes of the item from this word on
    hashes = mix64(word & _MASKS[np.minimum(first, left)])
    found = first < np.minimum(left, 8)
    key_end = np.where(found, starts + first, -1)
    active = np.flatnonzero(~found & (left > 8))
    for round_index in range(1, MAX_KEY_BYTES // 8 + 1):
        if not len(active):
            break
        at = starts[active] + 8 * round_index
        word = words[at]
        first = _first_byte_equal(word, pattern)
        left = ends[active] - at
        hashes[active] = mix64(hashes[active] ^ (word & _MASKS[np.minimum(first, left)]))
        found = first < np.minimum(left, 8)
        key_end[active[found]] = at[found] + first[found]
        active = active[~found & (left > 8)]
    length = key_end - starts
    key_end[length > MAX_KEY_BYTES] = -1
    return key_end, mix64(hashes ^ length.astype(np.uint64))


def _first_byte_equal(words: np.ndarray, pattern: np.uint64) -> np.ndarray:
    """Index (0-7) of the first byte of each little-endian word equal to `pattern`'s byte, else 8."""
    match = words ^ pattern
    flagged = (match - _LOW_BITS) & ~match & _HIGH_BITS  # exact for the lowest matching byte
    lowest = flagged & (~flagged + np.uint64(1))
    # The bytes below the lowest flag (all 8 when there is none) as 0x01s, summed by a multiply.
    below = ((lowest - np.uint64(1)) & _HIGH_BITS) >> np.uint64(7)
    return ((below * _LOW_BITS) >> np.uint64(56)).astype(np.int64)


class GffStreams:
    """The probe's streams and the attribute cardinalities of one GFF/GTF file, chunk by chunk."""

    def __init__(self, probe: GainProbe | None, gtf: bool) -> None:
        self.probe = probe
        self.gtf = gtf
        self.keys = AttributeKeys()
        self.cardinality: dict[int, CardinalityAccumulator] = {}

    def add(self, layout: GffLayout, within: int) -> None:
        """Cut the chunk into streams; its first `within` feature lines feed the cardinalities."""
        data, features = layout.data, len(layout.feature_starts)
        counting = within > 0
        if self.probe is None and not (features and counting):
            return
        value_start, value_end, value_label, value_line = self._values(layout) if features else (_EMPTY,) * 4
        label_count = FIRST_KEY + len(self.keys.names)
        values_within = None
        if within < features:  # per key, how many values lie in the first `within` feature lines
            values_within = np.bincount(value_label[value_line < within], minlength=label_count)
        order = np.argsort(value_label, kind="stable")  # the values grouped by key, each key's in file order
        value_bounds = np.searchsorted(value_label[order], np.arange(FIRST_KEY, label_count + 1))
        if self.probe is None:
            piece_bounds = np.concatenate((np.zeros(FIRST_KEY, dtype=np.int64), value_bounds))
            grouped = gather_groups(data, value_start[order], value_end[order], piece_bounds)
        else:
            grouped = self._all_streams(layout, value_start, value_end, value_line, order, value_bounds)
            add_grouped(self.probe, grouped, FIXED_NAMES + [f"ATTR/{name}" for name in self.keys.names])
        if not counting:
            return
        for label in range(FIRST_KEY, label_count):
            if grouped.piece_bounds[label + 1] > grouped.piece_bounds[label]:
                accumulator = self.cardinality.get(label)
                if accumulator is None:
                    accumulator = self.cardinality[label] = CardinalityAccumulator(self._key(label), "ATTR")
                accumulator.add(grouped.strings(label, None if values_within is None else int(values_within[label])))

    def _key(self, label: int) -> str:
        return self.keys.names[label - FIRST_KEY]

    def _values(self, layout: GffLayout) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The attribute values of the chunk's feature lines: start, end, label, line (file order)."""
        data = layout.data
        item_start, item_end, item_line = split_attributes(data, layout.columns[:, 7] + 1, layout.feature_ends)
        item_start = skip_spaces(data, item_start, item_end)
        key_end, hashes = scan_keys(data, item_start, item_end, _SPACE if self.gtf else _EQUALS)
        keyed = np.flatnonzero(key_end > item_start)  # a separator, after a key of 1..MAX_KEY_BYTES bytes
        labels = self.keys.labels_of(data, hashes[keyed], item_start[keyed], key_end[keyed])
        kept = keyed[labels != OTHER]
        start, end = key_end[kept] + 1, item_end[kept]
        if self.gtf:  # `key "value"`: spaces, then the quotes, belong to the line's structure
            start = skip_spaces(data, start, end)
            last = len(data) - 1
            quoted = (end - start >= 2) & (data[np.minimum(start, last)] == _QUOTE) & (data[end - 1] == _QUOTE)
            start, end = start + quoted, end - quoted
        return start, end, labels[labels != OTHER], item_line[kept]

    def _all_streams(
        self, layout: GffLayout, value_start: np.ndarray, value_end: np.ndarray, value_line: np.ndarray,
        order: np.ndarray, value_bounds: np.ndarray,
    ) -> Grouped:  # fmt: skip
        """Every byte of the chunk grouped by stream: Other, TXT_HEADER, the columns, DESC, SEQ, the keys.

        The named pieces are built already grouped (a column's pieces are one column of the tab
        matrix; the values come sorted by key); only Other needs the named ranges in file order:
        its pieces are the gaps between them.
        """
        data, features, tabs = layout.data, len(layout.feature_starts), layout.columns
        column_start = np.empty((8, features), dtype=np.int64)  # column-major: each column's pieces together
        column_start[0], column_start[1:] = layout.feature_starts, tabs[:, :7].T + 1
        column_end = np.ascontiguousarray(tabs.T)
        fasta_start, fasta_end, fasta_label = sequence_ranges(data, layout.fasta_starts, layout.fasta_ends, DESC, SEQ)
        desc = fasta_label == DESC
        header = [0, layout.header_end] if layout.header_end else []
        header_start, header_end = np.array(header[:1], dtype=np.int64), np.array(header[1:], dtype=np.int64)
        # In file order: the header, per feature line its 8 columns then its values, the FASTA lines.
        per_line = np.bincount(value_line, minlength=features).astype(np.int64)
        line_offset = 8 * np.arange(features, dtype=np.int64) + np.cumsum(per_line) - per_line
        body_start = np.empty(8 * features + len(value_start), dtype=np.int64)
        body_end = np.empty_like(body_start)
        column_at = line_offset[:, None] + np.arange(8)
        body_start[column_at], body_end[column_at] = column_start.T, column_end.T
        value_at = np.arange(len(value_start)) + 8 * (value_line + 1)
        body_start[value_at], body_end[value_at] = value_start, value_end
        gap_start, gap_end = gaps_between(
            np.concatenate((header_start, body_start, fasta_start)),
            np.concatenate((header_end, body_end, fasta_end)),
            len(data),
        )
        starts = [gap_start, header_start, column_start.ravel(), fasta_start[desc], fasta_start[~desc]]
        ends = [gap_end, header_end, column_end.ravel(), fasta_end[desc], fasta_end[~desc]]
        counts = [len(gap_start), len(header_start), *[features] * 8, int(desc.sum()), int((~desc).sum())]
        fixed_bounds = np.cumsum([0, *counts])
        piece_bounds = np.concatenate((fixed_bounds, fixed_bounds[-1] + value_bounds[1:]))
        return gather_groups(
            data, np.concatenate([*starts, value_start[order]]), np.concatenate([*ends, value_end[order]]), piece_bounds
        )

    def field_results(self) -> list[CardinalityResult]:
        """The distinct values of each attribute key (hash_issues form 1 reports the overflowing)."""
        return [accumulator.result() for accumulator in self.cardinality.values()]


def split_attributes(data: np.ndarray, begin: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cut each column 9 `data[begin[i]:end[i]]` at `;`: item starts, ends and line index, in order."""
    low, high = int(begin[0]), int(end[-1])
    semicolons = np.flatnonzero(data[low:high] == _SEMICOLON) + low
    # Line i's semicolons are semicolons[first_in[i]:after[i]]: two binary searches per line, none per item.
    first_in, after = np.searchsorted(semicolons, begin), np.searchsorted(semicolons, end)
    counts = after - first_in
    inside = int(counts.sum())
    line = np.repeat(np.arange(len(begin), dtype=np.int64), counts)
    if inside < len(semicolons):  # some are in columns 1-8 or in comment lines: keep those of column 9
        semicolons = semicolons[np.arange(inside) + np.repeat(first_in - (np.cumsum(counts) - counts), counts)]
    per_line = counts + 1
    first = np.cumsum(per_line) - per_line
    count = int(per_line.sum())
    item_start, item_end = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64)
    item_start[first], item_end[first + per_line - 1] = begin, end
    # The j-th semicolon of the chunk, on line L, ends item j + L and starts item j + L + 1.
    at = np.arange(inside, dtype=np.int64) + line
    item_end[at], item_start[at + 1] = semicolons, semicolons + 1
    return item_start, item_end, np.repeat(np.arange(len(begin), dtype=np.int64), per_line)


def skip_spaces(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """`start` moved past the spaces that begin each range (one numpy step per space)."""
    start = start.copy()
    last = len(data) - 1
    while True:
        space = (start < end) & (data[np.minimum(start, last)] == _SPACE)
        if not space.any():
            return start
        start += space
