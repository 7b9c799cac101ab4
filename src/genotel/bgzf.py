"""BGZF block reading for the fast BAM path: blocks inflated and checked, one group at a time.

A BGZF file is a chain of gzip members ("blocks") of at most 64 KiB whose `BC` extra field holds
the compressed size, so the chain is followed without inflating. Blocks are read in groups of
about `GROUP_BYTES` compressed bytes (flat memory) and inflated with isal, else zlib. A corrupt
block (bad magic, deflate data or CRC, cut short) is the file's fault: `CorruptBlock`; a block
htslib would read differently than a plain BGZF reader (a non-BGZF gzip member, an ISIZE that
disagrees with the data) raises `CannotProve`, and the caller hands the file to htslib.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:  # isal: the zlib interface, about twice as fast
    from isal import isal_zlib as _inflater
except ImportError:  # pragma: no cover - isal is a dependency; this keeps genotel importable
    _inflater = zlib  # type: ignore[assignment]

GROUP_BYTES = 1 << 20  # compressed bytes per group: about 3 MB inflated
HEADER_BYTES = 18  # gzip header with the 6-byte BC extra field
FOOTER_BYTES = 8  # CRC32, ISIZE
MAX_BLOCK_BYTES = 1 << 16
STREAM_END = 1 << 62  # `stop` for a stream: read to its end
_BGZF_HEADER = b"\x1f\x8b\x08\x04"
_GZIP_MAGIC = b"\x1f\x8b\x08"
_BC_FIELD = b"\x06\x00BC\x02\x00"  # XLEN 6, subfield BC of length 2
_FOOTER = struct.Struct("<II")


class CannotProve(Exception):
    """The fast path cannot show that it reads this file exactly as htslib does."""


class CorruptBlock(Exception):
    """A BGZF block that no reader can inflate: bad header, bad deflate data or CRC, cut short."""

    def __init__(self, offset: int, detail: str) -> None:
        super().__init__(f"{detail} (BGZF block at byte {offset})")
        self.offset = offset
        self.detail = detail


@dataclass
class BlockGroup:
    """The inflated bytes of consecutive blocks.

    Block i's bytes are `data[starts[i]:starts[i + 1]]` (the last one runs to `size`), and it
    began at byte `offsets[i]` of the file. `corrupt` is set when the block after the group's
    last one is corrupt: the group holds the good blocks before it, and no group follows.
    """

    data: np.ndarray  # uint8: the inflated bytes, then `padding` zero bytes
    size: int  # inflated bytes, padding excluded
    starts: np.ndarray  # int64
    offsets: list[int]
    end_offset: int  # file offset just after the group's last block
    corrupt: CorruptBlock | None = None


def block_size_at(head: bytes, offset: int) -> int:
    """The compressed size of the block whose first 18 bytes are `head` (starting at `offset`)."""
    if len(head) < HEADER_BYTES:
        raise CorruptBlock(offset, "BGZF block cut short")
    if head[:4] != _BGZF_HEADER or head[10:16] != _BC_FIELD:
        if head[:3] == _GZIP_MAGIC:
            # htslib reads other gzip members as plain gzip; this reader does not.
            raise CannotProve(f"a gzip member without the BGZF layout at byte {offset}")
        raise CorruptBlock(offset, "not a BGZF block header")
    size = int.from_bytes(head[16:18], "little") + 1
    if size < HEADER_BYTES + FOOTER_BYTES:
        raise CorruptBlock(offset, "BGZF block size too small")
    return size


def inflate_block(block: memoryview, offset: int) -> bytes:
    """The checked content of one whole block (header included in `block`)."""
    crc, isize = _FOOTER.unpack_from(block, len(block) - FOOTER_BYTES)
    payload = block[HEADER_BYTES : len(block) - FOOTER_BYTES]
    try:  # ISIZE is only a hint until the CRC confirms the footer
        data = _inflater.decompress(payload, -15, min(max(isize, 1), MAX_BLOCK_BYTES))
    except _inflater.error:
        try:  # zlib is the reference for what htslib accepts
            data = zlib.decompress(payload, -15)
        except zlib.error as exc:
            raise CorruptBlock(offset, f"corrupt deflate data ({exc})") from exc
    if _inflater.crc32(data) != crc:
        raise CorruptBlock(offset, "CRC32 mismatch")
    if len(data) != isize or isize > MAX_BLOCK_BYTES:  # htslib reads at most 64 KiB a block
        raise CannotProve(f"ISIZE {isize} and {len(data)} bytes inflated at byte {offset}")
    return data


class _OutputBuffers:
    """Memory for inflated groups, reused once nothing refers to an earlier group any more.

    A fresh multi-megabyte allocation per group costs a page fault per page, about as much
    as inflating into it. A buffer is reused only when no array made from it (a view, a
    batch) is alive, which its reference count tells; the reader still holds the previous
    group while the next one is made (and a stream read ahead holds a few more), so up to
    `KEPT` buffers take turns.
    """

    KEPT = 4

    def __init__(self) -> None:
        self._pool: list[np.ndarray] = []

    def get(self, size: int) -> np.ndarray:
        for array in self._pool:
            if len(array) >= size and sys.getrefcount(array) <= 3:  # the pool, `array`, the call
                return array[:size]
        array = np.empty(size + (size >> 3), dtype=np.uint8)  # some room for larger groups
        self._pool = [array, *self._pool][: self.KEPT]
        return array[:size]


def read_block_groups(
    source: Path | int, start: int, stop: int, group_bytes: int = GROUP_BYTES, padding: int = 0
) -> Iterator[BlockGroup]:
    """Every block starting in [start, stop) (a block boundary each) of a file, in groups.

    `source` is the file's path, or the descriptor of a stream (a pipe, read from its start to
    its end: `start` 0, `stop` STREAM_END). Each group's data is followed by `padding` zero bytes
    (so readers can look past its end).
    """
    output = _OutputBuffers()
    capacity = group_bytes + MAX_BLOCK_BYTES
    buffer = bytearray(capacity)  # compressed bytes from `buffer_offset`, `filled` of them
    filled = 0
    buffer_offset = start
    with open(source, "rb", buffering=0, closefd=not isinstance(source, int)) as raw:
        if start:
            raw.seek(start)
        while buffer_offset < stop:
            wanted = min(capacity, stop - buffer_offset)
            with memoryview(buffer) as view:
                while filled < wanted:
                    count = raw.readinto(view[filled:wanted])
                    if not count:
                        break
                    filled += count
                if not filled:  # the end of a stream
                    return
                pieces: list[bytes] = []
                offsets: list[int] = []
                position = 0
                corrupt = None
                while position < min(group_bytes, filled) and buffer_offset + position < stop:
                    offset = buffer_offset + position
                    try:
                        size = block_size_at(bytes(view[position : position + HEADER_BYTES]), offset)
                        if position + size > filled or offset + size > stop:
                            raise CorruptBlock(offset, "BGZF block cut short")
                        pieces.append(inflate_block(view[position : position + size], offset))
                    except CorruptBlock as exc:
                        corrupt = exc
                        break
                    offsets.append(offset)
                    position += size
            group = _group(output, pieces, offsets, buffer_offset + position, corrupt, padding)
            pieces = []  # their bytes are in the group now; free them while it is processed
            yield group
            if corrupt is not None:
                return
            buffer[: filled - position] = buffer[position:filled]  # keep the unread tail
            filled -= position
            buffer_offset += position


def _group(
    output: _OutputBuffers,
    pieces: list[bytes],
    offsets: list[int],
    end_offset: int,
    corrupt: CorruptBlock | None,
    padding: int,
) -> BlockGroup:
    lengths = np.fromiter((len(piece) for piece in pieces), dtype=np.int64, count=len(pieces))
    starts = np.zeros(len(pieces), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    size = int(lengths.sum())
    data = output.get(size + padding)
    target = memoryview(data)  # type: ignore[arg-type]
    for piece, piece_start in zip(pieces, starts.tolist(), strict=True):
        target[piece_start : piece_start + len(piece)] = piece
    target.release()
    data[size:] = 0
    return BlockGroup(data, size, starts, offsets, end_offset, corrupt)


def block_chain(path: Path, start: int, targets: list[int], stop: int) -> list[int]:
    """For each target offset, the first block boundary at or after it, following the chain.

    Walking the chain from `start` (a block boundary) proves each returned offset is a block
    boundary; an offset of `stop` means the target fell in the last blocks.
    """
    found: list[int] = []
    remaining = sorted(targets)
    offset = start
    with open(path, "rb", buffering=0) as raw:
        descriptor = raw.fileno()
        while remaining and offset < stop:
            while remaining and remaining[0] <= offset:
                found.append(offset)
                remaining.pop(0)
            if not remaining:
                break
            offset += block_size_at(os.pread(descriptor, HEADER_BYTES, offset), offset)
    if offset > stop:
        raise CorruptBlock(offset, "BGZF block chain runs past the end of the file")
    found.extend(stop for _ in remaining)
    return found
