"""The fast BAM reader: own BGZF inflate and record decoding in numba kernels, as one or more parts.

Gives exactly the batches htslib's reading gives, or raises `CannotProve` wherever its reading
could differ (a header htslib would rewrite, a straddle it cannot follow, a record htslib would
reject or print differently); the engine then reads the file with htslib. A corrupt BGZF block
ends a part (`stopped`), which the engine reports as htslib does (`truncated BAM file at record
N`). A big file is cut into parts at block boundaries for the engine to read in threads.
`stream_batches` reads a BAM from a pipe (a CRAM that htslib decodes).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...ahead import ahead
from ...batches import LazyStrings, PackedBases, Strings, gather_strings
from ...bgzf import STREAM_END, BlockGroup, CannotProve, CorruptBlock, block_chain, read_block_groups
from ...stats.gain import GainProbe
from .bam_aux import PADDING
from .bam_records import Contigs, Records, decode_records, plain_walk, walk_blocks
from .bam_text import sam_text
from .batch import AlignmentBatch
from .deep_pairing import FastqIndex
from .header import SamHeader
from .tally import SamTally

ENV_READER = "GENOTEL_BAM_READER"  # "pysam" forces the htslib path
SPLIT_MIN_BYTES = 64 << 20  # smaller files are read in one part
# Record boundaries are walked over groups of many blocks at once (each round of the walk is a
# few numpy calls for one record of every block); records are then decoded in slices whose
# size balances numpy's per-call cost against cache misses on bigger arrays.
WALK_GROUP_BYTES = 2 << 20  # compressed
DECODE_RECORDS = 16384
AGENT_TRIMMER = "AGeNT_Trimmer"
STREAM_AHEAD = 2  # groups of a stream read ahead, in a thread: the decoder behind the pipe keeps going
_HEADER_GROUP_BYTES = 1 << 16


def fast_path_wanted() -> bool:
    return os.environ.get(ENV_READER, "").strip().lower() != "pysam"


@dataclass
class BamHeader:
    """The binary BAM header: its text, contigs, and where in the inflated stream records begin."""

    text: bytes
    contigs: list[tuple[bytes, int]]
    records_start: int


def parse_bam_header(data: bytes) -> BamHeader | None:
    """The header at the start of inflated BAM bytes, or None if `data` holds only part of it."""
    if len(data) < 12:
        return None
    if data[:4] != b"BAM\x01":
        raise CannotProve("no BAM magic")
    (text_length,) = struct.unpack_from("<i", data, 4)
    if text_length < 0:
        raise CannotProve("negative header text length")
    position = 8 + text_length
    if len(data) < position + 4:
        return None
    text = data[8:position]
    (count,) = struct.unpack_from("<i", data, position)
    position += 4
    contigs = []
    for _ in range(count):
        if len(data) < position + 4:
            return None
        (name_length,) = struct.unpack_from("<i", data, position)
        if name_length <= 0:
            raise CannotProve("empty contig name")
        if len(data) < position + 8 + name_length:
            return None
        raw = data[position + 4 : position + 4 + name_length]
        (length,) = struct.unpack_from("<I", data, position + 4 + name_length)
        contigs.append((raw.split(b"\0", 1)[0], length))  # printed as a C string
        position += 8 + name_length
    return BamHeader(text, contigs, position)


def read_bam_header(path: Path, size: int) -> tuple[BamHeader, int, int]:
    """The header, the file offset of the block where records begin, and their offset in it."""
    data = b""
    starts: list[int] = []  # inflated offset of each block
    offsets: list[int] = []
    for group in read_block_groups(path, 0, size, _HEADER_GROUP_BYTES):
        if group.corrupt is not None and not group.offsets:
            raise CannotProve(f"header block unreadable: {group.corrupt}")  # htslib's error to give
        starts.extend((len(data) + group.starts).tolist())
        offsets.extend(group.offsets)
        data += group.data[: group.size].tobytes()
        header = parse_bam_header(data)
        if header is not None:
            break
        if group.corrupt is not None:
            raise CannotProve(f"header block unreadable: {group.corrupt}")
    else:
        raise CannotProve("the file ends inside the BAM header")
    # The block holding the first record byte (the next block if the header fills its block).
    index = int(np.searchsorted(starts, header.records_start, side="right")) - 1
    block_end = starts[index + 1] if index + 1 < len(starts) else len(data)
    if header.records_start == block_end:
        if index + 1 < len(offsets):
            return header, offsets[index + 1], 0
        return header, group.end_offset, 0
    return header, offsets[index], header.records_start - starts[index]


def check_header(bam: BamHeader, header: SamHeader) -> Contigs:
    """The contigs, once the binary header is shown to be the one htslib shows as text."""
    text = bam.text.decode("utf-8", "surrogateescape")  # as `sam.header_text` reads it
    if text != header.text:
        raise CannotProve("htslib rewrites this header text")
    if any(not raw.isascii() or b"\t" in raw for raw, _ in bam.contigs):
        raise CannotProve("a contig name that is not plain ASCII")
    if list(header.contig_lengths.items()) != [(raw.decode(), length) for raw, length in bam.contigs]:
        raise CannotProve("the @SQ lines differ from the binary contig list")
    return Contigs([raw for raw, _ in bam.contigs])


class PartReader:
    """Decoded record groups of a chain of block groups; the first record at inflated byte `skip`
    of the first group (or continuing `carry`, the start of a record cut short before it)."""

    def __init__(self, blocks: Iterator[BlockGroup], contigs: Contigs, skip: int = 0, carry: bytes = b"") -> None:
        self.blocks, self.contigs = blocks, contigs
        self.skip = skip
        self.carry = carry
        self.corrupt: CorruptBlock | None = None

    def groups(self) -> Iterator[Records]:
        skip = self.skip
        for group in self.blocks:
            shift = len(self.carry)
            buffer = np.concatenate([np.frombuffer(self.carry, np.uint8), group.data]) if shift else group.data
            end = shift + group.size
            unit_starts = group.starts + shift
            unit_ends = np.append(unit_starts[1:], end)
            if len(unit_starts):
                unit_starts[0] = 0 if shift else skip
            starts = walk_blocks(buffer, unit_starts, unit_ends) if len(unit_starts) else None
            if starts is not None:
                self.carry = b""
            else:  # a record straddles blocks: follow the records one by one
                starts, last_end = plain_walk(memoryview(buffer), 0 if shift else skip, end)  # type: ignore[arg-type]
                self.carry = buffer[last_end:end].tobytes()
            skip = 0
            for first in range(0, len(starts), DECODE_RECORDS):
                yield decode_records(buffer, starts[first : first + DECODE_RECORDS], self.contigs, positions=True)
            if group.corrupt is not None:
                self.corrupt = group.corrupt
                return

    def batches(self, batch_size: int) -> Iterator[AlignmentBatch]:
        """The records as AlignmentBatches of at most `batch_size` records."""
        first_record = 1
        for records in self.groups():
            yield from alignment_batches(records, first_record, batch_size, self.contigs)
            first_record += len(records)


@dataclass
class BamPart:
    """The blocks in [start, stop) of a BAM, its first record at inflated byte `skip` (or
    continuing `carry`, the bytes of a record the part before left unfinished): a `base.Part`."""

    path: Path
    contig_names: list[bytes]
    contig_lengths: list[int]
    start: int
    stop: int
    batch_size: int
    skip: int = 0
    carry: bytes = b""
    deep_index: FastqIndex | None = None
    leftover: bytes = b""
    stopped: str | None = None

    def batches(self) -> Iterator[AlignmentBatch]:
        blocks = read_block_groups(self.path, self.start, self.stop, WALK_GROUP_BYTES, PADDING)
        reader = PartReader(blocks, Contigs(self.contig_names), self.skip, self.carry)
        yield from reader.batches(self.batch_size)
        self.leftover = reader.carry
        if reader.corrupt is not None:
            if reader.carry:
                raise CannotProve("a corrupt block inside a straddling record")  # htslib words it differently
            self.stopped = "truncated BAM file"

    def tally(self, probe: GainProbe | None) -> SamTally:
        return SamTally(probe, self.contig_lengths, self.deep_index)

    def continued(self, leftover: bytes) -> BamPart:
        return replace(self, skip=0, carry=leftover, leftover=b"", stopped=None)


def bam_parts(
    path: Path, header: SamHeader, count: int, batch_size: int, deep_index: FastqIndex | None = None,
    split_min_bytes: int | None = None,
) -> list[BamPart]:  # fmt: skip
    """The parts of a BGZF BAM whose header htslib read as `header`, in file order.

    Files of `split_min_bytes` (default SPLIT_MIN_BYTES) or more are cut into `count` parts of
    about equal size at block boundaries; smaller ones, or a chain of blocks that cannot be
    followed, give one part.
    """
    size = path.stat().st_size
    bam, first_block, skip = read_bam_header(path, size)
    names = check_header(bam, header).names
    bounds = [first_block, size]
    if count > 1 and size >= (SPLIT_MIN_BYTES if split_min_bytes is None else split_min_bytes):
        part_bytes = (size - first_block) // count
        targets = [first_block + part_bytes * index for index in range(1, count)]
        with contextlib.suppress(CorruptBlock, CannotProve):  # one part then: it finds and reports it in order
            bounds = [first_block, *block_chain(path, first_block, targets, size), size]
    lengths = list(header.contig_lengths.values())
    parts = [BamPart(path, names, lengths, start, stop, batch_size) for start, stop in itertools.pairwise(bounds)]
    parts[0] = replace(parts[0], skip=skip, deep_index=deep_index)
    return parts


def stream_batches(stream: int, header: SamHeader, batch_size: int) -> Iterator[AlignmentBatch]:
    """The batches of a BAM read from a stream (the descriptor of a pipe), its header first.

    Raises `CannotProve` where the file reader would, and where the stream is not a whole BAM.
    """
    blocks = ahead(read_block_groups(stream, 0, STREAM_END, WALK_GROUP_BYTES, PADDING), STREAM_AHEAD)
    data = b""
    for group in blocks:
        if group.corrupt is not None:
            raise CannotProve(f"the BAM stream is corrupt: {group.corrupt}")
        data += group.data[: group.size].tobytes()
        bam = parse_bam_header(data)
        if bam is not None:
            break
    else:
        raise CannotProve("the BAM stream ends inside its header")
    rest = np.zeros(len(data) - bam.records_start + PADDING, dtype=np.uint8)
    rest[: len(data) - bam.records_start] = np.frombuffer(data, np.uint8, offset=bam.records_start)
    first = BlockGroup(rest, len(rest) - PADDING, np.zeros(1, dtype=np.int64), [0], 0)
    reader = PartReader(itertools.chain([first], blocks), check_header(bam, header))
    yield from reader.batches(batch_size)
    if reader.corrupt is not None or reader.carry:
        raise CannotProve("the BAM stream does not end with a whole record")


def alignment_batches(
    records: Records, first_record: int, batch_size: int, contigs: Contigs
) -> Iterator[AlignmentBatch]:
    """The records of one group as AlignmentBatch slices of `batch_size` records."""
    bases = PackedBases(records.buffer, records.seq_start, records.seq_length, records.has_quality)
    text_before = np.zeros(len(records) + 1, dtype=np.int64)
    np.cumsum(records.text_length, out=text_before[1:])
    for start in range(0, len(records), batch_size):
        stop = min(start + batch_size, len(records))
        packed = bases.slice(start, stop)
        yield AlignmentBatch(
            first_record=first_record + start,
            flag=records.flag[start:stop],
            ref_id=records.ref_id[start:stop],
            pos=records.pos[start:stop],
            names=_lazy_names(records.buffer, records.name_start[start:stop], records.name_length[start:stop]),
            sequences=LazyStrings(stop - start, packed.sequences, lambda i, p=packed: p.slice(i, i + 1).sequences()[0]),
            qualities=LazyStrings(stop - start, packed.qualities, lambda i, p=packed: p.slice(i, i + 1).qualities()[0]),
            text_size=int(text_before[stop] - text_before[start]),
            tag_signatures=frozenset({AGENT_TRIMMER}) if records.agent[start:stop].any() else frozenset(),
            packed=packed,
            sam_text=lambda full, start=start, stop=stop: sam_text(records, start, stop, contigs, full),
            mate_ref_id=records.next_ref_id[start:stop],
            mate_pos=records.next_pos[start:stop],
        )


def _lazy_names(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> LazyStrings:
    """Read names as the pysam path gives them: `*` for an empty one."""

    def item(index: int) -> bytes:
        name = buffer[starts[index] : starts[index] + lengths[index]].tobytes()
        return name or b"*"

    def build() -> Strings:
        if np.all(lengths > 0):
            return gather_strings(buffer, starts, lengths)
        return Strings.from_list([item(index) for index in range(len(starts))])

    return LazyStrings(len(starts), build, item)
