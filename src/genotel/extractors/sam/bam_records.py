"""BAM records decoded column-wise with numpy: boundaries, fixed fields and the SAM text size.

Works on one *segment*: inflated BAM record bytes padded with `PADDING` zero bytes, so that
fixed-width gathers near its end stay in bounds; only `plain_walk` (records straddling BGZF
blocks) runs Python per record. `decode_records` computes each record's SAM line length as
htslib's `sam_format1` prints it, and raises `CannotProve` for whatever it cannot prove
(non-ASCII text, a CG-tag CIGAR htslib would move, a record htslib rejects).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...batches import raw_items, values_at
from ...bgzf import CannotProve
from .bam_aux import (
    AGENT_KEYS,
    AuxSummary,
    TagPositions,
    check_names,
    range_positions,
    sums_per_range,
    text_digits,
    walk_aux,
)

FIXED_BYTES = 36  # block_size + the 32-byte core of a record
RECORD = np.dtype(
    [
        ("block_size", "<i4"),
        ("ref_id", "<i4"),
        ("pos", "<i4"),
        ("l_read_name", "u1"),
        ("mapq", "u1"),
        ("bin", "<u2"),
        ("n_cigar", "<u2"),
        ("flag", "<u2"),
        ("l_seq", "<i4"),
        ("next_ref_id", "<i4"),
        ("next_pos", "<i4"),
        ("tlen", "<i4"),
    ]
)
# CIGAR operations that consume the query (M I S = X), as htslib's bam_cigar_type bit 1.
_QUERY_CONSUMING = np.array([1, 1, 0, 0, 1, 0, 0, 1, 1], dtype=np.int64)
_SOFT_CLIP = 4
_UNMAPPED = 0x4


def walk_blocks(buffer: np.ndarray, unit_starts: np.ndarray, unit_ends: np.ndarray) -> np.ndarray | None:
    """Record starts of units (of `buffer`) that each begin with a record, walked all at once.

    Round k reads the block_size of the k-th record of every unit (as unsigned, so a garbage
    size jumps past the end instead of backwards). Returns the sorted starts, or None unless
    every unit's walk ends exactly at its end and every record is at least as long as its
    fixed fields (a record straddles units, or is malformed).
    """
    sizes = raw_items(buffer, 4)
    keep = unit_starts < unit_ends
    position, ends = unit_starts[keep], unit_ends[keep]
    units = np.arange(len(position))
    found: list[np.ndarray] = []  # round k: the k-th record of every unit still walking
    found_units: list[np.ndarray] = []
    while len(position):
        found.append(position)
        found_units.append(units)
        position = position + sizes[position].view("<u4")
        position += 4
        over = position >= ends
        if over.any():
            if np.any(position[over] != ends[over]):
                return None
            walking = ~over
            position, ends, units = position[walking], ends[walking], units[walking]
    if not found:
        return np.zeros(0, dtype=np.int64)
    # File order is unit by unit, then round by round: place each record without sorting.
    rounds = np.repeat(np.arange(len(found)), [len(part) for part in found])
    unit_of = np.concatenate(found_units)
    per_unit = np.bincount(unit_of, minlength=int(keep.sum()))
    first_of_unit = np.cumsum(per_unit) - per_unit
    starts = np.empty(len(unit_of), dtype=np.int64)
    starts[first_of_unit[unit_of] + rounds] = np.concatenate(found)
    if np.any(sizes[starts].view("<u4") < FIXED_BYTES - 4):
        return None
    return starts


def plain_walk(data: bytes | memoryview, start: int, end: int) -> tuple[np.ndarray, int]:
    """Record starts from `start`, one record after the other, and where the last whole one ends.

    The fallback for records that straddle blocks: a Python loop, slower but exact.
    """
    found: list[int] = []
    position = start
    while position + 4 <= end:
        size = int.from_bytes(data[position : position + 4], "little", signed=True)
        if size < FIXED_BYTES - 4:
            raise CannotProve("a record shorter than its fixed fields")  # htslib's error to give
        if position + 4 + size > end:
            break
        found.append(position)
        position += 4 + size
    return np.array(found, dtype=np.int64), position


@dataclass
class Contigs:
    """The header's reference names as the record text needs them."""

    names: list[bytes]

    def __post_init__(self) -> None:
        # Index -1 (no contig) prints as `*`: the table's last entry.
        self.text_lengths = np.array([len(name) for name in self.names] + [1], dtype=np.int64)
        # The names as one text, for RNAME and RNEXT columns: name i is text[starts[i]:ends[i]],
        # entry len(names) is RNEXT's `=` (the same contig as RNAME) and entry -1 (the last) is `*`.
        pieces = [*self.names, b"=", b"*"]
        self.text = np.frombuffer(b"".join(pieces), dtype=np.uint8)
        self.text_ends = np.cumsum([len(piece) for piece in pieces], dtype=np.int64)
        self.text_starts = self.text_ends - np.array([len(piece) for piece in pieces], dtype=np.int64)
        # Whether a name printed after a TAB reads as "<agent key>:", as pysam's line test sees it.
        self.fakes_key = {
            key: np.array([name.startswith(key + b":") for name in self.names] + [False]) for key in AGENT_KEYS
        }


@dataclass
class Records:
    """Every record of one segment, column-wise. Offsets index the segment buffer."""

    buffer: np.ndarray
    flag: np.ndarray
    ref_id: np.ndarray
    pos: np.ndarray
    name_start: np.ndarray
    name_length: np.ndarray  # without the NUL
    seq_start: np.ndarray
    seq_length: np.ndarray
    has_quality: np.ndarray
    text_length: np.ndarray  # the record's SAM line, newline included
    agent: np.ndarray  # the line carries every AGeNT Trimmer tag
    # What the SAM text columns need beyond the above (bam_text.py).
    mapq: np.ndarray
    next_ref_id: np.ndarray
    next_pos: np.ndarray
    tlen: np.ndarray
    cigar_start: np.ndarray
    n_cigar: np.ndarray
    tags: TagPositions | None = None  # with `decode_records(..., positions=True)`

    def __len__(self) -> int:
        return len(self.flag)


def decode_records(buffer: np.ndarray, starts: np.ndarray, contigs: Contigs, positions: bool = False) -> Records:
    """Decode the records starting at `starts` (sorted) of one segment (`positions`: where each tag is)."""
    core = raw_items(buffer, FIXED_BYTES)[starts].view(RECORD)
    block_size = core["block_size"].astype(np.int64)
    name_length = core["l_read_name"].astype(np.int64)
    n_cigar = core["n_cigar"].astype(np.int64)
    seq_length = core["l_seq"].astype(np.int64)
    ref_id, next_ref_id = core["ref_id"], core["next_ref_id"]
    flag = core["flag"]
    _check_core(block_size, name_length, n_cigar, seq_length, ref_id, next_ref_id, len(contigs.names))

    name_start = starts + FIXED_BYTES
    record_end = starts + 4 + block_size
    check_names(buffer, name_start, name_length - 1)
    cigar_start = name_start + name_length
    cigar_text = _cigar_text(buffer, cigar_start, n_cigar, seq_length, flag, ref_id, core["pos"])
    seq_start = cigar_start + 4 * n_cigar
    quality_start = seq_start + (seq_length + 1) // 2
    has_quality = (seq_length > 0) & (buffer[quality_start] != 0xFF)
    aux: AuxSummary = walk_aux(buffer, quality_start + seq_length, record_end, positions)

    rnext_text = np.where(
        (next_ref_id < 0) | (next_ref_id == ref_id), 1, contigs.text_lengths[np.maximum(next_ref_id, 0)]
    )
    text_length = (
        (name_length - 1)  # QNAME: l_read_name counts the NUL
        + text_digits(flag)
        + contigs.text_lengths[ref_id]
        + text_digits(core["pos"].astype(np.int64) + 1)
        + text_digits(core["mapq"])
        + cigar_text
        + rnext_text
        + text_digits(core["next_pos"].astype(np.int64) + 1)
        + text_digits(core["tlen"])
        + np.where(seq_length > 0, seq_length, 1)
        + np.where(has_quality, seq_length, 1)
        + aux.text_length
        + 10  # the TABs between the 11 mandatory fields
        + aux.count  # one TAB before each tag
        + 1  # newline
    )
    agent = _agent_lines(buffer, aux, quality_start, has_quality & (seq_length >= 3), ref_id, next_ref_id, contigs)
    return Records(
        buffer=buffer,
        flag=flag.astype(np.uint16),
        ref_id=ref_id.astype(np.int32),
        pos=core["pos"].astype(np.int64),
        name_start=name_start,
        name_length=name_length - 1,
        seq_start=seq_start,
        seq_length=seq_length,
        has_quality=has_quality,
        text_length=text_length,
        agent=agent,
        mapq=core["mapq"],
        next_ref_id=next_ref_id,
        next_pos=core["next_pos"],
        tlen=core["tlen"],
        cigar_start=cigar_start,
        n_cigar=n_cigar,
        tags=aux.tags,
    )


def _check_core(
    block_size: np.ndarray,
    name_length: np.ndarray,
    n_cigar: np.ndarray,
    seq_length: np.ndarray,
    ref_id: np.ndarray,
    next_ref_id: np.ndarray,
    num_contigs: int,
) -> None:
    """htslib's bam_read1/sam_read1 checks; a record failing one is htslib's error to report."""
    if np.any(name_length < 1) or np.any(seq_length < 0):
        raise CannotProve("a record with an empty name field or a negative sequence length")
    needed = FIXED_BYTES - 4 + name_length + 4 * n_cigar + (seq_length + 1) // 2 + seq_length
    if np.any(needed > block_size):
        raise CannotProve("a record shorter than its fields")
    for ids in (ref_id, next_ref_id):
        if np.any(ids < -1) or np.any(ids >= num_contigs):
            raise CannotProve("a contig index outside the header")


def _cigar_text(
    buffer: np.ndarray,
    cigar_start: np.ndarray,
    n_cigar: np.ndarray,
    seq_length: np.ndarray,
    flag: np.ndarray,
    ref_id: np.ndarray,
    pos: np.ndarray,
) -> np.ndarray:
    """The CIGAR field's text length per record, after htslib's own CIGAR checks."""
    text = np.ones(len(n_cigar), dtype=np.int64)  # `*`
    with_cigar = n_cigar > 0
    if not with_cigar.any():
        return text
    words = values_at(buffer, range_positions(cigar_start, n_cigar, 4), "<u4")
    operation, length = words & 0xF, (words >> 4).astype(np.int64)
    if np.any(operation > 8):
        raise CannotProve("a CIGAR operation beyond X")
    text[with_cigar] = sums_per_range(text_digits(length) + 1, n_cigar)[with_cigar]
    query_length = sums_per_range(length * _QUERY_CONSUMING[operation], n_cigar)
    mapped = (flag & _UNMAPPED) == 0
    if np.any(with_cigar & (seq_length > 0) & mapped & (query_length != seq_length)):
        raise CannotProve("CIGAR and sequence lengths differ")  # htslib rejects the record
    first = np.cumsum(n_cigar) - n_cigar
    first_words = words[np.minimum(first, len(words) - 1)]
    # htslib replaces a placeholder CIGAR (one soft clip of the whole read) by the CG tag.
    whole_clip = ((first_words & 0xF) == _SOFT_CLIP) & ((first_words >> 4) == seq_length)
    placeholder = with_cigar & (ref_id >= 0) & (pos >= 0) & whole_clip
    if placeholder.any():
        raise CannotProve("a placeholder CIGAR that htslib may replace from a CG tag")
    return text


def _agent_lines(
    buffer: np.ndarray,
    aux: AuxSummary,
    quality_start: np.ndarray,
    quality_of_3: np.ndarray,
    ref_id: np.ndarray,
    next_ref_id: np.ndarray,
    contigs: Contigs,
) -> np.ndarray:
    """Records whose SAM line contains `\\tZA:`, `\\tZB:`, `\\tRX:`, `\\tQX:` and `\\tBC:`.

    That is the pysam path's test, on the line: a tag with the key, or a QUAL, RNAME or RNEXT
    field that happens to begin with "<key>:".
    """
    if not any(present.any() for present in aux.has_key.values()):
        return np.zeros(len(ref_id), dtype=bool)
    quality_head = values_at(buffer, quality_start, "<u4") & 0xFFFFFF
    shown_next = np.where((next_ref_id >= 0) & (next_ref_id != ref_id), next_ref_id, -1)
    agent = np.ones(len(ref_id), dtype=bool)
    for key in AGENT_KEYS:
        quality_fakes = quality_of_3 & (quality_head == _quality_code(key))
        agent &= aux.has_key[key] | quality_fakes | contigs.fakes_key[key][ref_id] | contigs.fakes_key[key][shown_next]
    return agent


def _quality_code(key: bytes) -> int:
    """The first three quality values whose QUAL text reads "<key>:" (little-endian, 24 bits)."""
    return sum((char - 33) << (8 * index) for index, char in enumerate(key + b":"))
