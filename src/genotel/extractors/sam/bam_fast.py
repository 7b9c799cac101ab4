"""The fast BAM reader: own BGZF inflate and numpy record parsing, in one or two processes.

Gives exactly the statistics the pysam path gives, or raises `CannotProve` wherever its reading
could differ from htslib's (a header htslib would rewrite, a straddle it cannot follow, a record
htslib would reject or print differently); the caller then reads the file with htslib. A
corrupt BGZF block is a `FormatError` as on the pysam path (`truncated BAM file at record N`).
With `--threads 2` or more and a big file, a child process reads the second half from a block
boundary near the middle; its result counts only if that boundary is a record start, else the
parent reads on past it. The parts merge as `SamDiagnostics.merge` describes.
"""

from __future__ import annotations

import multiprocessing
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from ...batches import LazyStrings, PackedBases, Strings, gather_strings
from ...bgzf import CannotProve, CorruptBlock, block_chain, read_block_groups
from ...errors import FormatError, record_where
from ...options import Options
from ...stats.qual import QualAcgtAccumulator, count_code_pairs
from .bam_aux import PADDING
from .bam_records import Contigs, Records, decode_records, plain_walk, walk_blocks
from .bam_text import sam_text
from .batch import AlignmentBatch
from .counts import AlignmentCountsAccumulator
from .diagnostics import SamDiagnostics
from .header import SamHeader

ENV_READER = "GENOTEL_BAM_READER"  # "pysam" forces the htslib path
SPLIT_MIN_BYTES = 64 << 20  # smaller files are not worth a second process
# Record boundaries are walked over groups of many blocks at once (each round of the walk is a
# few numpy calls for one record of every block); records are then decoded in slices whose
# size balances numpy's per-call cost against cache misses on bigger arrays.
WALK_GROUP_BYTES = 2 << 20  # compressed
DECODE_RECORDS = 16384
AGENT_TRIMMER = "AGeNT_Trimmer"
_HIGHEST_PRINTABLE_QUALITY = 94  # phred + 33 stays ASCII up to here
_HEADER_GROUP_BYTES = 1 << 16
_CHILD_START_BYTES = 4 << 20  # compressed bytes the parent reads while a child starts


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


@dataclass
class PartResult:
    """What one part of the file gave: accumulators, records read, and how the part ended."""

    counts: AlignmentCountsAccumulator = field(default_factory=AlignmentCountsAccumulator)
    quality: QualAcgtAccumulator = field(default_factory=QualAcgtAccumulator)
    diagnostics: SamDiagnostics = field(default_factory=lambda: SamDiagnostics(Options(gain=False)))
    records: int = 0
    carry: bytes = b""  # an incomplete last record (empty when the part ends at a record end)
    corrupt: str | None = None  # a corrupt block stopped the part: htslib fails at record `records + 1`
    by_child: bool = False  # read in a child process


class PartReader:
    """Decoded record groups of the blocks in [start, stop); the first record at inflated byte `skip`."""

    def __init__(self, path: Path, contigs: Contigs, start: int, stop: int, skip: int = 0, carry: bytes = b"") -> None:
        self.path, self.contigs = path, contigs
        self.start, self.stop, self.skip = start, stop, skip
        self.carry = carry
        self.corrupt: CorruptBlock | None = None

    def groups(self) -> Iterator[Records]:
        skip = self.skip
        for group in read_block_groups(self.path, self.start, self.stop, WALK_GROUP_BYTES, PADDING):
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


def read_part(
    path: Path, contigs: Contigs, start: int, stop: int, options: Options, skip: int = 0, carry: bytes = b""
) -> PartResult:
    """Every statistic over one part of the file (records numbered from 1 within the part).

    The diagnostics come back sealed (their probe finished), ready to be sent and merged.
    """
    result = PartResult(diagnostics=SamDiagnostics(options))
    try:
        _read_part(result, PartReader(path, contigs, start, stop, skip, carry), options)
    except BaseException:
        result.diagnostics.close()
        raise
    result.diagnostics.seal()
    return result


def _read_part(result: PartResult, reader: PartReader, options: Options) -> None:
    sample = options.sample
    # Whole decoded slices as batches: the statistics cost numpy calls per batch, and the
    # dictionary fields' lookups are cheaper in bigger pieces (results do not depend on it).
    for batch in _batches(reader, max(options.batch_size, DECODE_RECORDS)):
        result.counts.add(batch)
        result.diagnostics.add(batch)
        code_counts, with_quality = count_code_pairs(batch.packed)  # type: ignore[arg-type]
        if code_counts[:, _HIGHEST_PRINTABLE_QUALITY + 1 :].any():
            raise CannotProve("a quality above 94 (its QUAL character is not ASCII)")
        last = batch.first_record + len(batch) - 1
        if sample is None or last <= sample:
            result.quality.add_code_counts(code_counts, with_quality)
        elif batch.first_record <= sample:
            within = sample - batch.first_record + 1
            result.quality.add_code_counts(*count_code_pairs(batch.packed, within))  # type: ignore[arg-type]
        result.records += len(batch)
    result.carry = reader.carry
    if reader.corrupt is not None:
        if result.carry:
            raise CannotProve("a corrupt block inside a straddling record")  # htslib words it differently
        result.corrupt = reader.corrupt.detail


def _batches(reader: PartReader, batch_size: int) -> Iterator[AlignmentBatch]:
    first_record = 1
    for records in reader.groups():
        yield from alignment_batches(records, first_record, batch_size, reader.contigs)
        first_record += len(records)


def iter_batches(path: Path, header: SamHeader, options: Options) -> Iterator[AlignmentBatch]:
    """The batches the fast path feeds the statistics, one process, for a whole proven file."""
    size = path.stat().st_size
    bam, first_block, skip = read_bam_header(path, size)
    reader = PartReader(path, check_header(bam, header), first_block, size, skip)
    yield from _batches(reader, options.batch_size)
    if reader.corrupt is not None or reader.carry:
        raise CannotProve("the file does not end with a whole record")


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


def read_bam(
    path: Path, header: SamHeader, options: Options, split_min_bytes: int = SPLIT_MIN_BYTES
) -> tuple[AlignmentCountsAccumulator, QualAcgtAccumulator, SamDiagnostics]:
    """Counts, qual_acgt and diagnostics of a BGZF BAM whose header htslib read as `header`.

    With `options.threads` of 2 or more, files of `split_min_bytes` or more are read in that
    many processes (at most one per CPU); `--sample` keeps one process (it counts in order).
    """
    size = path.stat().st_size
    bam, first_block, skip = read_bam_header(path, size)
    contigs = check_header(bam, header)
    parts = min(options.threads, os.cpu_count() or 1)
    # A daemonic process (a multiprocessing.Pool worker) may not start children.
    if options.sample is not None or size < split_min_bytes or multiprocessing.current_process().daemon:
        parts = 1
    if parts < 2:
        result = read_part(path, contigs, first_block, size, options, skip)
        return finish([result], path)
    return read_in_processes(path, contigs, first_block, skip, size, options, parts)


def finish(
    results: list[PartResult], path: Path
) -> tuple[AlignmentCountsAccumulator, QualAcgtAccumulator, SamDiagnostics]:
    """Merge the parts in file order, raising the first part's corrupt block or unfinished record."""
    counts, quality = AlignmentCountsAccumulator(), QualAcgtAccumulator()
    diagnostics = results[0].diagnostics
    records = 0
    for index, result in enumerate(results):
        if result.corrupt is not None:
            raise FormatError(path, "truncated BAM file", record_where(records + result.records + 1))
        counts.merge(result.counts)
        quality.merge(result.quality)
        if index:
            diagnostics.merge(result.diagnostics)
        records += result.records
    if results[-1].carry:
        raise CannotProve("the last record is cut short")  # htslib's error to give
    return counts, quality, diagnostics


def read_in_processes(
    path: Path, contigs: Contigs, first_block: int, skip: int, size: int, options: Options, parts: int
) -> tuple[AlignmentCountsAccumulator, QualAcgtAccumulator, SamDiagnostics]:
    return finish(read_parts(path, contigs, first_block, skip, size, options, parts), path)


def read_parts(
    path: Path, contigs: Contigs, first_block: int, skip: int, size: int, options: Options, parts: int
) -> list[PartResult]:
    """Parts 2..n in child processes, part 1 here; any part that is not proven is read here."""
    part_bytes = (size - first_block) // parts
    # The parent starts at once, a child a few tenths of a second later (a new interpreter):
    # give the parent's part a little more.
    head_start = min(_CHILD_START_BYTES, part_bytes // 4)
    targets = [first_block + part_bytes * index + head_start for index in range(1, parts)]
    try:
        bounds = [first_block, *block_chain(path, first_block, targets, size), size]
    except (CorruptBlock, CannotProve):  # the one-process reader finds and reports it in order
        bounds = [first_block, size]
    context = multiprocessing.get_context("spawn")
    children = []
    try:
        for index in range(1, len(bounds) - 1):
            receiver, sender = context.Pipe(duplex=False)
            child_options = replace(options, threads=1)
            process = context.Process(
                target=_child_part,
                args=(sender, path, contigs.names, bounds[index], bounds[index + 1], child_options),
                daemon=True,
            )
            try:
                process.start()
            except (OSError, RuntimeError, AssertionError):  # no child here: its part is read below
                receiver.close()
            sender.close()
            children.append((process, receiver))
        results = [read_part(path, contigs, bounds[0], bounds[1], options, skip)]
        for index, (process, receiver) in enumerate(children, start=1):
            previous = results[-1]
            if previous.corrupt is not None:
                break
            # The child's part counts only if the records before it end exactly at its start.
            child = _receive(receiver) if not previous.carry else None
            if child is None:  # not a record start (or the child died): read the part here
                if process.pid is not None:
                    process.terminate()
                child = read_part(path, contigs, bounds[index], bounds[index + 1], options, carry=previous.carry)
                results[-1] = replace(previous, carry=b"")
            results.append(child)
        return results
    finally:
        for process, receiver in children:
            receiver.close()
            if process.pid is None:
                continue  # never started
            if process.is_alive():
                process.terminate()
            process.join()


def _receive(receiver: Connection) -> PartResult | None:
    try:
        kind, payload = receiver.recv()
    except (EOFError, OSError):
        return None  # the child died without an answer, or never started
    if kind == "unproven":
        raise CannotProve(payload)
    if kind == "bug":
        raise RuntimeError(f"the fast BAM reader's child process failed:\n{payload}")
    return payload  # type: ignore[no-any-return]


def _child_part(sender: Connection, path: Path, names: list[bytes], start: int, stop: int, options: Options) -> None:
    """Entry point of a child process: read one part, send the result (or why it could not)."""
    import traceback

    try:
        result = read_part(path, Contigs(names), start, stop, options)
        sender.send(("result", replace(result, by_child=True)))
    except CannotProve as exc:
        sender.send(("unproven", str(exc)))
    except BaseException:
        sender.send(("bug", traceback.format_exc()))
    finally:
        sender.close()
