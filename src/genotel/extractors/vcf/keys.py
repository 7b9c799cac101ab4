"""Keys of VCF fields read straight from the bytes: 64-bit words, key codes, and key names.

INFO keys (`DP` of `DP=14`) and FORMAT strings (`GT:AD:DP`) are read as little-endian 64-bit
words at their start positions: a key of up to eight bytes is its own code, and the `=` that
ends it is found by a bit trick on the word. `KeyNames` turns codes into small ids, in order of
first sight, with an open-addressing hash table.
"""

from __future__ import annotations

import numpy as np

from ...batches import Scratch
from ...stats.hashing import mix64
from ...textio import decode_text

WORD = 8  # bytes per uint64
_LOW_BYTES = np.array([(1 << (8 * size)) - 1 for size in range(WORD)] + [(1 << 64) - 1], dtype=np.uint64)
_LONG_KEY = np.uint64(1 << 63)  # set in the code of a key longer than a word


class KeyNames:
    """Names of the keys met so far, looked up by a 64-bit code; ids in order of first sight.

    The lookup is an open-addressing hash table (linear probing, at most a quarter full), so
    that finding the ids of a batch's keys is a multiply, a shift and two array reads per key,
    plus a second round for the few that collided: a binary search would cost ten times more.
    """

    MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing

    def __init__(self) -> None:
        self.names: list[str] = []
        self._bits = 0
        self._slot_codes = np.zeros(0, dtype=np.uint64)
        self._slot_ids = np.zeros(0, dtype=np.int64)

    def ids(self, codes: np.ndarray, data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The id of each key `data[starts[i]:ends[i]]` whose code is `codes[i]`."""
        ids = self._lookup(codes)
        missing = np.flatnonzero(ids < 0)
        if len(missing):  # new keys: rare after the first batch
            new_codes, first = np.unique(codes[missing], return_index=True)
            order = np.argsort(first)  # ids in order of first sight
            for index in missing[first[order]]:
                self.names.append(decode_text(data[starts[index] : ends[index]]))
            self._rebuild(new_codes[order])
            ids = self._lookup(codes)
        return ids

    def _slots(self, codes: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((codes * self.MULTIPLIER) >> np.uint64(64 - self._bits)).view(np.int64)

    def _lookup(self, codes: np.ndarray) -> np.ndarray:
        """Ids of the codes, -1 for unknown ones: one round for all, more for the few that collided."""
        if not self._bits:
            return np.full(len(codes), -1, dtype=np.int64)
        slots = self._slots(codes)
        ids = self._slot_ids[slots]
        # An empty slot holds code 0 and id -1: a code 0 (the empty key) finds it unknown, as it is.
        missed = np.flatnonzero(self._slot_codes[slots] != codes)
        if not len(missed):
            return ids
        ids[missed] = -1
        pending, slots = missed, slots[missed]
        mask = (1 << self._bits) - 1
        while len(pending):
            slot_ids = self._slot_ids[slots]
            occupied = slot_ids >= 0
            hit = occupied & (self._slot_codes[slots] == codes[pending])
            ids[pending[hit]] = slot_ids[hit]
            # the probe goes on past occupied slots of other codes; an empty slot ends it: unknown
            going_on = np.flatnonzero(~hit & occupied)
            pending, slots = pending[going_on], (slots[going_on] + 1) & mask
        return ids

    def _rebuild(self, new_codes: np.ndarray) -> None:
        known = self._slot_ids >= 0
        codes = np.concatenate((self._slot_codes[known], new_codes))
        ids = np.concatenate((self._slot_ids[known], np.arange(len(self.names) - len(new_codes), len(self.names))))
        self._bits = max(4, int(np.ceil(np.log2(4 * len(codes)))))
        self._slot_codes = np.zeros(1 << self._bits, dtype=np.uint64)
        self._slot_ids = np.full(1 << self._bits, -1, dtype=np.int64)
        mask = (1 << self._bits) - 1
        for code, key_id, slot in zip(codes.tolist(), ids.tolist(), self._slots(codes).tolist(), strict=True):
            while self._slot_ids[slot] >= 0:
                slot = (slot + 1) & mask
            self._slot_codes[slot] = code
            self._slot_ids[slot] = key_id


class Words:
    """The bytes `data[begin:end]` read as little-endian 64-bit words at any byte position."""

    def __init__(self, data: np.ndarray, begin: int, end: int, scratch: Scratch) -> None:
        size = end - begin
        padded = scratch.get("words", (size + 3 * WORD - 1) // WORD * WORD, np.uint8)
        padded[:size] = data[begin:end]
        padded[size:] = 0
        self._words = padded.view("<u8")
        self.begin = begin

    def at(self, positions: np.ndarray) -> np.ndarray:
        """The eight bytes from each position of `data` (zeros past `end`)."""
        relative = positions - self.begin
        index = relative >> 3
        shift = (relative.view(np.uint64) & np.uint64(7)) << np.uint64(3)  # positions are >= begin
        # The next word's bytes shifted in: `<< 1 << (63 - shift)` is 0 for shift 0 (`<< 64` is not)
        high = (self._words[index + 1] << np.uint64(1)) << (np.uint64(63) - shift)
        return (self._words[index] >> shift) | high

    def codes(self, starts: np.ndarray, ends: np.ndarray, head: np.ndarray | None = None) -> np.ndarray:
        """A 64-bit code per byte string: exact (its bytes) up to a word, else mixed.

        `head` may give `at(starts)` when the caller has it. Distinct keys of a file get distinct
        codes unless 64-bit mixing collides (about 1e-15 for a thousand long keys).
        """
        lengths = ends - starts
        codes = (self.at(starts) if head is None else head) & _LOW_BYTES[np.minimum(lengths, WORD)]
        long = np.flatnonzero(lengths > WORD)
        if len(long):
            mixed = lengths[long].astype(np.uint64)
            with np.errstate(over="ignore"):
                for block in range(0, int(lengths[long].max()), WORD):
                    word = self.at(starts[long] + block) & _LOW_BYTES[np.clip(lengths[long] - block, 0, WORD)]
                    mixed = mix64(mixed * np.uint64(0x9E3779B97F4A7C15) ^ word)
            codes[long] = mixed | _LONG_KEY
        return codes


def first_byte(words: np.ndarray, value: int) -> np.ndarray:
    """Index (0-7) of the first byte equal to `value` in each little-endian word; 8 if none.

    The zero-byte test `(x - 0x01..01) & ~x & 0x80..80` on `word ^ value*0x01..01` flags the
    first matching byte exactly (a borrow only runs upwards), and its lowest set bit gives it.
    """
    x = words ^ np.uint64(value * 0x0101010101010101)
    with np.errstate(over="ignore"):
        flags = (x - np.uint64(0x0101010101010101)) & ~x & np.uint64(0x8080808080808080)
        lowest = (flags & (~flags + np.uint64(1))) >> np.uint64(7)  # 2**(8k): byte k is 1
        # times 0x0001020304050607 puts byte 7-k of it, which is k, in the top byte
        index = ((lowest * np.uint64(0x0001020304050607)) >> np.uint64(56)).view(np.int64)
    return np.where(flags == 0, WORD, index)
