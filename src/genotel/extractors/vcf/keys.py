"""Keys of VCF fields read straight from the bytes: 64-bit key codes, and key names.

INFO keys (`DP` of `DP=14`) and FORMAT strings (`GT:AD:DP`) get a 64-bit code (`key_code`,
called by the field-cutting kernel): a key of up to eight bytes is its own code. `KeyNames` turns
codes into small ids, in order of first sight, with an open-addressing hash table.
"""

from __future__ import annotations

import numba
import numpy as np

from ...stats.hashing import mix_scalar
from ...textio import decode_text

WORD = 8  # bytes per uint64
_LONG_KEY = np.uint64(1 << 63)  # set in the code of a key longer than a word
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class KeyNames:
    """Names of the keys met so far, looked up by a 64-bit code; ids in order of first sight.

    The lookup is an open-addressing hash table (linear probing, at most a quarter full), so
    that finding the ids of a batch's keys is a multiply, a shift and two array reads per key,
    plus a second round for the few that collided: a binary search would cost ten times more.
    """

    MULTIPLIER = _GOLDEN  # Fibonacci hashing (`find_code` uses the same)

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

    def table(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The hash table as `find_code` takes it: each slot's code and id (-1: empty), and its bits."""
        return self._slot_codes, self._slot_ids, self._bits

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


@numba.njit(cache=True, nogil=True)
def key_code(data: np.ndarray, start: int, end: int) -> np.uint64:
    """A 64-bit code for the bytes `data[start:end]`: exact (the little-endian bytes) up to a word, else mixed.

    Distinct keys of a file get distinct codes unless 64-bit mixing collides (about 1e-15 for a
    thousand long keys); a long key's code has its top bit set, so no short key has it.
    """
    length = end - start
    if length <= WORD:
        code = np.uint64(0)
        for byte in range(length):
            code |= np.uint64(data[start + byte]) << np.uint64(8 * byte)
        return code
    mixed = np.uint64(length)
    for block in range(start, end, WORD):
        word = np.uint64(0)
        for byte in range(min(WORD, end - block)):
            word |= np.uint64(data[block + byte]) << np.uint64(8 * byte)
        mixed = mix_scalar(mixed * _GOLDEN ^ word)
    return mixed | _LONG_KEY


@numba.njit(cache=True, nogil=True)
def find_code(slot_codes: np.ndarray, slot_ids: np.ndarray, bits: int, code: np.uint64) -> int:
    """The id of `code` in a `KeyNames.table()`, -1 when it is not there: the lookup of `KeyNames`, for one code."""
    if bits == 0:
        return -1
    mask = np.uint64((1 << bits) - 1)
    slot = (code * _GOLDEN) >> np.uint64(64 - bits)  # as `KeyNames._slots`
    while True:
        index = np.int64(slot)
        if slot_ids[index] < 0:
            return -1
        if slot_codes[index] == code:
            return slot_ids[index]
        slot = (slot + np.uint64(1)) & mask
