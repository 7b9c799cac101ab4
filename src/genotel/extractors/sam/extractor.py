"""SAM, BAM and CRAM: the file opened as a reading, and the record made of its tally.

A BGZF BAM goes first to the fast reader (`bam_fast`), which gives the same batches or declines
the file (`CannotProve`); its fallback is the per-record htslib (pysam) reading here, which reads
every file htslib reads; `GENOTEL_BAM_READER=pysam` forces it. Both give each batch's SAM text as
`fields.SamText` columns for `tally.SamTally`. Features and the dictionary fields follow
docs/record.md; sizes count bytes, header and records alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

import numpy as np
import pysam

from ...batches import Strings
from ...bgzf import CannotProve
from ...errors import FormatError, InputError, ReferenceProblem, record_where
from ...options import Options
from ...record import format_contigs, format_percent
from ...sniff import Sniffed
from ...stats.gain import GainProbe
from ...textio import CHUNK_BYTES, open_binary
from ..base import HEADER_UTF8_INVALID, Extraction, HashIssue, read_name_issues
from . import bam_fast
from .batch import AlignmentBatch
from .deep import build_deep_index
from .deep_pairing import FastqIndex
from .diagnostics import field_results, ordered_streams, read_names
from .fields import SamText
from .header import SamHeader, header_aligner, header_programs, parse_header
from .htslib import BamStream, describe_reference, header_text, open_alignments, open_text
from .tally import SamTally

# htslib's own messages would duplicate (and garble) genotel's one-line errors.
pysam.set_verbosity(0)

# Records carrying every one of these tags were processed by Agilent's AGeNT Trimmer.
AGENT_TRIMMER_TAGS = ("ZA", "ZB", "RX", "QX", "BC")
AGENT_TRIMMER = "AGeNT_Trimmer"

class SamExtractor:
    """The SAM/BAM/CRAM family."""

    data_types = ("SAM", "BAM", "CRAM")

    @contextlib.contextmanager
    def open(self, path: Path, sniffed: Sniffed, options: Options) -> Iterator[SamReading]:
        deep_index = build_deep_index(path, sniffed, options) if options.deep else None  # the FASTQ pass, first
        if sniffed.data_type == "BAM" and sniffed.codec == "BGZF" and bam_fast.fast_path_wanted():
            # htslib reads the header (its verdict and text are the reference), the fast path the rest.
            with open_alignments(path, sniffed, replace(options, threads=1)) as alignments:
                header = parse_header(header_text(alignments.header))
            yield FastBamReading(path, sniffed, options, header, deep_index)
        elif sniffed.data_type == "CRAM" and bam_fast.fast_path_wanted():
            # htslib decodes the CRAM to a BAM stream for the fast reader; its header is the reference.
            with open_alignments(path, sniffed, options) as alignments:
                header = parse_header(header_text(alignments.header))
                reference = alignments.reference_filename
                yield CramStreamReading(path, sniffed, options, header, deep_index, reference=reference)
        else:
            with htslib_reading(path, sniffed, options, deep_index) as reading:
                yield reading


@dataclass
class SamReading:
    """A SAM, BAM or CRAM file opened for one pass (`base.Reading`)."""

    path: Path
    sniffed: Sniffed
    options: Options
    header: SamHeader
    deep_index: FastqIndex | None
    header_text: bytes = b""
    text_size: int | None = None  # a SAM file's own text size (else header + records)
    fallback: Callable[[], AbstractContextManager[SamReading]] | None = None

    def __post_init__(self) -> None:
        if self.sniffed.data_type == "SAM":
            self.header_text, self.text_size = sam_file_text(self.path, self.sniffed.codec)
        else:
            self.header_text = self.header.raw_text

    def tally(self, probe: GainProbe | None) -> SamTally:
        return SamTally(probe, list(self.header.contig_lengths.values()), self.deep_index)

    def extraction(self, tally: SamTally, streams: list[tuple[str, int, int]] | None) -> Extraction:
        header, counts = self.header, tally.counts
        programs = header_programs(header)
        if AGENT_TRIMMER in counts.tag_signatures:
            programs.append(AGENT_TRIMMER)
        mapper = header_aligner(header) or ("unknown" if counts.mapped else "none")
        names = read_names(tally.names, header.text)
        sorted_by = counts.sorted_by(header.declared_sort_order)
        features: list[tuple[str, object]] = [
            ("num_lines", counts.records),
            ("sorted_by", sorted_by),
            ("hdr_contigs", format_contigs(header.num_contigs, header.contig_bases)),
            ("mapper", mapper),
            ("QNAME", names.flavour),
            ("sequencer", names.technology),
            ("paired", format_percent(counts.paired, counts.records)),
            ("study", tally.study.study(header, sorted_by == "POS")),
            *([] if header.is_utf8 else [HEADER_UTF8_INVALID]),
        ]
        issues = read_name_issues(field_results(tally.dictionary, tally.sampled), names.misfits)
        if tally.deep is not None:
            at = [key for key, _ in features].index("study") + 1
            features[at:at] = tally.deep.features()
            examples = tally.deep.unpaired_examples()
            if examples is not None:
                issues.append(HashIssue(3, examples))
        is_cram = self.sniffed.data_type == "CRAM"
        text_size = self.text_size if self.text_size is not None else len(header.raw_text) + counts.text_size
        return Extraction(
            data_type=self.sniffed.data_type,
            codec=self.sniffed.codec,
            disk_size=self.path.stat().st_size,
            txt_size=text_size,
            num_lines=counts.records,
            features=features,
            programs=programs,
            hash_issues=issues,
            flags=["reference=EXTERNAL"] if self.options.reference is not None and is_cram else [],
            streams=None if streams is None else with_unprinted_bytes(ordered_streams(streams), text_size),
        )


@dataclass
class FastReading(SamReading):
    """A file whose records the fast reader decodes (`bam_fast`); htslib's reading is its fallback."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.fallback = lambda: htslib_reading(self.path, self.sniffed, self.options, self.deep_index)

    @property
    def decoded_batch_size(self) -> int:
        # Whole decoded slices as batches: the statistics cost numpy calls per batch, and the
        # dictionary fields' lookups are cheaper in bigger pieces (results do not depend on it).
        return max(self.options.batch_size, bam_fast.DECODE_RECORDS)


@dataclass
class FastBamReading(FastReading):
    """A BGZF BAM read by the fast reader, in parts."""

    def parts(self, count: int) -> list[bam_fast.BamPart]:
        return bam_fast.bam_parts(self.path, self.header, count, self.decoded_batch_size, self.deep_index)

    def batches(self) -> Iterator[AlignmentBatch]:
        """The batches of the whole file as one part (raises `CannotProve` where the parts would)."""
        part = bam_fast.bam_parts(self.path, self.header, 1, self.options.batch_size)[0]
        yield from part.batches()
        if part.stopped is not None or part.leftover:
            raise CannotProve("the file does not end with a whole record")


@dataclass
class CramStreamReading(FastReading):
    """A CRAM decoded by htslib into a BAM stream (`htslib.BamStream`) that the fast reader reads."""

    reference: str | None = None

    def batches(self) -> Iterator[AlignmentBatch]:
        with BamStream(self.path, self.reference, self.options.threads) as stream:
            yield from bam_fast.stream_batches(stream.descriptor, self.header, self.decoded_batch_size)
            stream.check()


@dataclass
class HtslibReading(SamReading):
    """A SAM, BAM or CRAM file read record by record by htslib (pysam)."""

    alignments: pysam.AlignmentFile | None = None

    def batches(self) -> Iterator[AlignmentBatch]:
        assert self.alignments is not None
        return read_batches(self.alignments, self.path, self.sniffed, self.options, self.header)


@contextlib.contextmanager
def htslib_reading(
    path: Path, sniffed: Sniffed, options: Options, deep_index: FastqIndex | None
) -> Iterator[HtslibReading]:
    with open_alignments(path, sniffed, options) as alignments:
        header = parse_header(header_text(alignments.header))
        yield HtslibReading(path, sniffed, options, header, deep_index, alignments=alignments)


def sam_file_text(path: Path, codec: str) -> tuple[bytes, int]:
    """A SAM file's own header bytes (its leading `@` lines) and the size of its whole text.

    htslib rewrites some header lines (`@CO` as `@CO<TAB>`) and drops the `\r` of CRLF line ends;
    a SAM file's text is its own bytes, as for every text format.
    """
    header: list[bytes] = []
    first_record = b""
    with open_binary(path, codec) as stream:
        for line in stream:
            if not line.startswith(b"@"):
                first_record = line
                break
            header.append(line)
        if codec == "NONE":
            return b"".join(header), path.stat().st_size  # plain text: the file is its text
        size = sum(len(line) for line in header) + len(first_record)
        while chunk := stream.read(CHUNK_BYTES):
            size += len(chunk)
    return b"".join(header), size


def with_unprinted_bytes(
    streams: list[tuple[str, int, int]] | None, text_size: int
) -> list[tuple[str, int, int]] | None:
    """The probe's streams, with the bytes of the file that htslib's text leaves out (the `\r`
    of CRLF line ends, number spellings it normalises) counted in `Other`, so that the streams
    add up to `text_size`."""
    if streams is None:
        return None
    missing = text_size - sum(text for _, text, _ in streams)
    if missing <= 0:
        return streams
    return [(name, text + missing if name == "Other" else text, compressed) for name, text, compressed in streams]


def read_batches(
    alignments: pysam.AlignmentFile, path: Path, sniffed: Sniffed, options: Options, header: SamHeader
) -> Iterator[AlignmentBatch]:
    """Columnar batches of every record, wrapping htslib failures with the record number."""
    records = alignments.fetch(until_eof=True)
    first_record = 1
    while True:
        try:
            batch = _read_batch(records, first_record, options.batch_size)
        except _BatchFailure as failure:
            cause = failure.__cause__
            raise decode_error(path, sniffed, options, header, failure.record_number, cause) from cause
        if batch is None:
            return
        yield batch
        first_record += len(batch)


class _BatchFailure(Exception):
    def __init__(self, record_number: int) -> None:
        super().__init__(record_number)
        self.record_number = record_number


def _read_batch(records: Iterator[pysam.AlignedSegment], first_record: int, size: int) -> AlignmentBatch | None:
    flags: list[int] = []
    ref_ids: list[int] = []
    positions: list[int] = []
    mate_ref_ids: list[int] = []
    mate_positions: list[int] = []
    names: list[bytes] = []
    sequences: list[bytes] = []
    qualities: list[bytes] = []
    lines: list[str] = []
    try:
        for read in islice(records, size):
            flags.append(read.flag)
            ref_ids.append(read.reference_id)
            positions.append(read.reference_start)
            mate_ref_ids.append(read.next_reference_id)
            mate_positions.append(read.next_reference_start)
            name = read.query_name
            names.append(name.encode() if name else b"*")
            sequence = read.query_sequence
            sequences.append(sequence.encode() if sequence else b"")
            # query_qualities (an array), never query_qualities_str: pysam 0.24 corrupts
            # Python's cached one-character strings through the latter on length-1 reads.
            quality = read.query_qualities
            qualities.append(quality.tobytes() if quality is not None else b"")
            lines.append(read.to_string())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise _BatchFailure(first_record + len(flags)) from exc
    if not flags:
        return None
    data, line_starts, line_ends = lines_as_bytes(lines)
    agent = has_agent_tags(data, lines)
    return AlignmentBatch(
        first_record=first_record,
        flag=np.array(flags, dtype=np.uint16),
        ref_id=np.array(ref_ids, dtype=np.int32),
        pos=np.array(positions, dtype=np.int64),
        names=Strings.from_list(names),
        sequences=Strings.from_list(sequences),
        qualities=Strings.from_list(qualities),
        text_size=len(data),
        tag_signatures=frozenset({AGENT_TRIMMER}) if agent else frozenset(),
        sam_text=lambda full: SamText.from_lines(data, line_starts, line_ends),
        mate_ref_id=np.array(mate_ref_ids, dtype=np.int32),
        mate_pos=np.array(mate_positions, dtype=np.int64),
    )


_AGENT_NEEDLES = tuple(f"\t{tag}:" for tag in AGENT_TRIMMER_TAGS)


def has_agent_tags(data: np.ndarray, lines: list[str]) -> bool:
    """Whether one of the lines carries every AGeNT_Trimmer tag.

    The first tag is looked for in the batch's text `data` at once: nearly every file has none,
    and a check of every tag on every line took ~8 % of a CRAM record's time.
    """
    first = _AGENT_NEEDLES[0]
    raw = data.base if isinstance(data.base, bytes) else data.tobytes()  # lines_as_bytes' bytes, not a copy
    if first.encode() not in raw:
        return False
    return any(all(needle in line for needle in _AGENT_NEEDLES) for line in lines if first in line)


def lines_as_bytes(lines: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The text lines as one UTF-8 buffer with a newline after each, and each line's range in it.

    Sizes are in bytes (`txt_size` counts the header in bytes too); a non-ASCII line, rare in
    SAM text, is measured on its own.
    """
    data = np.frombuffer(("\n".join(lines) + "\n").encode(), dtype=np.uint8)
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    if int(lengths.sum()) + len(lines) != len(data):  # some character takes more than one byte
        lengths = np.fromiter((len(line.encode()) for line in lines), dtype=np.int64, count=len(lines))
    ends = np.cumsum(lengths + 1) - 1
    return data, ends - lengths, ends


def decode_error(
    path: Path, sniffed: Sniffed, options: Options, header: SamHeader, record_number: int, cause: BaseException | None
) -> InputError:
    """The one-line error for a record htslib could not decode."""
    where = record_where(record_number)
    if sniffed.data_type == "CRAM":
        if options.reference is None:
            needed = describe_reference(header)
            problem = f"cannot decode the CRAM without its reference ({needed}); pass --reference FASTA"
            return ReferenceProblem(path, problem)
        problem = f"the reference {options.reference} does not match the CRAM (checksum mismatch)"
        return ReferenceProblem(path, problem, where)
    if sniffed.data_type == "SAM":
        problem, line_number = explain_sam_line(path, record_number, header)
        return FormatError(path, f"malformed SAM record: {problem}", f"{where} (line {line_number})")
    detail = str(cause) if cause else "unknown error"
    if "truncated" in detail:
        return FormatError(path, f"truncated {sniffed.data_type} file", where)
    return FormatError(path, f"malformed {sniffed.data_type} record ({detail})", where)


def explain_sam_line(path: Path, record_number: int, header: SamHeader) -> tuple[str, int]:
    """What is wrong with the `record_number`-th record of a SAM text file, and its line number."""
    line, line_number = None, 0
    try:
        with open_text(path) as text:
            records_seen = 0
            for line_number, text_line in enumerate(text, start=1):  # noqa: B007
                if text_line.startswith("@"):
                    continue
                records_seen += 1
                if records_seen == record_number:
                    line = text_line
                    break
    except (OSError, UnicodeDecodeError):
        return "unreadable line", line_number
    if line is None:
        return "unexpected end of file", line_number
    return explain_record_line(line.rstrip("\r\n"), header), line_number


def explain_record_line(line: str, header: SamHeader) -> str:
    """The first problem found in one SAM record line (htslib only says that it failed)."""
    fields = line.split("\t")
    if len(fields) < 11:
        return f"{len(fields)} tab-separated fields, expected at least 11"
    for index, name in ((1, "FLAG"), (3, "POS"), (4, "MAPQ"), (7, "PNEXT")):
        if not fields[index].isdigit():
            return f"{name} is not a number: {fields[index][:20]!r}"
    if not fields[8].lstrip("-").isdigit():
        return f"TLEN is not a number: {fields[8][:20]!r}"
    for index, name in ((2, "RNAME"), (6, "RNEXT")):
        if fields[index] not in ("*", "=") and fields[index] not in header.contig_lengths:
            return f"{name} {fields[index][:40]!r} is not a contig of the header"
    if fields[10] != "*" and fields[9] != "*" and len(fields[9]) != len(fields[10]):
        return f"SEQ has {len(fields[9])} bases but QUAL {len(fields[10])} characters"
    return "htslib rejected it (check CIGAR against SEQ, and the optional fields)"


