"""SAM, BAM and CRAM: header facts and columnar record batches through pysam (htslib).

A BGZF BAM goes first to the fast reader (`bam_fast`), which gives the same statistics or
declines the file (`CannotProve`) and leaves it to the per-record pysam loop here, which reads
every file htslib reads; `GENOTEL_BAM_READER=pysam` forces the pysam loop. Both give each
batch's SAM text as `fields.SamText` columns for `diagnostics.SamDiagnostics` (read names,
dictionary fields, probe). Features, `--sample` and the dictionary fields follow docs/record.md;
sizes count bytes, header and records alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import islice
from pathlib import Path

import numpy as np
import pysam

from ...batches import Strings, select_records
from ...bgzf import CannotProve
from ...errors import FormatError, InputError, ReferenceProblem, record_where
from ...options import Options
from ...record import format_contigs, format_percent
from ...sniff import Sniffed, sniff
from ...stats.qual import QualAcgtAccumulator, count_code_pairs
from ...textio import CHUNK_BYTES, open_binary
from ..base import HEADER_UTF8_INVALID, Extraction, HashIssue, field_issues
from . import bam_fast
from .batch import AlignmentBatch
from .counts import AlignmentCountsAccumulator
from .deep import DeepPairing
from .diagnostics import SamDiagnostics
from .fields import SamText
from .header import SamHeader, header_aligner, header_programs, parse_header
from .htslib import describe_reference, header_text, open_alignments, open_text

# htslib's own messages would duplicate (and garble) genotel's one-line errors.
pysam.set_verbosity(0)

# Records carrying every one of these tags were processed by Agilent's AGeNT Trimmer.
AGENT_TRIMMER_TAGS = ("ZA", "ZB", "RX", "QX", "BC")
AGENT_TRIMMER = "AGeNT_Trimmer"

class SamExtractor:
    """The SAM/BAM/CRAM family."""

    data_types = ("SAM", "BAM", "CRAM")

    def read_header(self, path: Path, sniffed: Sniffed, options: Options) -> SamHeader:
        with open_alignments(path, sniffed, options) as alignments:
            return parse_header(header_text(alignments.header))

    def batches(self, path: Path, header: SamHeader, options: Options) -> Iterator[AlignmentBatch]:
        """Record batches in file order, read by htslib (`extract` tries the fast BAM reader first)."""
        sniffed = sniff(path)
        with open_alignments(path, sniffed, options) as alignments:
            yield from read_batches(alignments, path, sniffed, options, header)

    def extract(self, path: Path, sniffed: Sniffed, options: Options) -> Extraction:
        deep = DeepPairing(path, sniffed, options) if options.deep else None  # the FASTQ pass, first
        if sniffed.data_type == "BAM" and sniffed.codec == "BGZF" and bam_fast.fast_path_wanted():
            # htslib reads the header (its verdict and text are the reference), the fast path the rest.
            header = self.read_header(path, sniffed, replace(options, threads=1))
            try:
                counts, quality, diagnostics = bam_fast.read_bam(path, header, options)
                if deep is not None:
                    deep.read_fast(path, header, options)
            except CannotProve:
                pass  # read below by htslib, which gives the same numbers or the right error
            else:
                extraction = self._extraction(path, sniffed, options, header, counts, quality, diagnostics)
                return deep.finish(extraction) if deep is not None else extraction
        counts = AlignmentCountsAccumulator()
        quality = QualAcgtAccumulator()
        diagnostics = SamDiagnostics(options)
        try:
            with open_alignments(path, sniffed, options) as alignments:
                header = parse_header(header_text(alignments.header))
                for batch in read_batches(alignments, path, sniffed, options, header):
                    counts.add(batch)
                    diagnostics.add(batch)
                    if deep is not None:
                        deep.add(batch)
                    if options.sample is None or batch.first_record <= options.sample:
                        add_qualities(quality, batch, options.sample)
        except BaseException:
            diagnostics.close()  # the probe's threads stop; their work is dropped
            raise
        extraction = self._extraction(path, sniffed, options, header, counts, quality, diagnostics)
        return deep.finish(extraction) if deep is not None else extraction

    def _extraction(
        self,
        path: Path,
        sniffed: Sniffed,
        options: Options,
        header: SamHeader,
        counts: AlignmentCountsAccumulator,
        quality: QualAcgtAccumulator,
        diagnostics: SamDiagnostics,
    ) -> Extraction:
        programs = header_programs(header)
        if AGENT_TRIMMER in counts.tag_signatures:
            programs.append(AGENT_TRIMMER)
        mapper = header_aligner(header) or ("unknown" if counts.mapped else "none")
        names = diagnostics.read_names(header.text)
        features: list[tuple[str, object]] = [
            ("num_lines", counts.records),
            ("sorted_by", counts.sorted_by(header.declared_sort_order)),
            ("hdr_contigs", format_contigs(header.num_contigs, header.contig_bases)),
            ("mapper", mapper),
            ("QNAME", names.flavour),
            ("sequencer", names.technology),
            ("paired", format_percent(counts.paired, counts.records)),
            *([] if header.is_utf8 else [HEADER_UTF8_INVALID]),  # --deep items follow
        ]
        issues = field_issues(diagnostics.field_results())
        if names.misfits:
            issues.append(HashIssue(2, names.misfits))
        flags = ["reference=EXTERNAL"] if options.reference is not None and sniffed.data_type == "CRAM" else []
        if sniffed.data_type == "SAM":
            header_bytes, text_size = sam_file_text(path, sniffed.codec)
        else:
            header_bytes = header.raw_text
            text_size = len(header_bytes) + counts.text_size
        return Extraction(
            data_type=sniffed.data_type,
            codec=sniffed.codec,
            disk_size=path.stat().st_size,
            txt_size=text_size,
            num_lines=counts.records,
            features=features,
            programs=programs,
            qual_counts=quality.result(),
            hash_issues=issues,
            flags=flags,
            streams=with_unprinted_bytes(diagnostics.stream_sizes(header_bytes, options), text_size),
        )



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


def add_qualities(quality: QualAcgtAccumulator, batch: AlignmentBatch, sample: int | None) -> None:
    """Feed the records with both sequence and qualities (within --sample) to qual_acgt."""
    if batch.packed is not None:  # BAM's own layout: counted without decoding the bases
        within = len(batch) if sample is None else max(0, min(len(batch), sample - batch.first_record + 1))
        quality.add_code_counts(*count_code_pairs(batch.packed, within))
        return
    sequence_lengths = batch.sequences.lengths
    keep = (sequence_lengths > 0) & (batch.qualities.lengths == sequence_lengths)
    if sample is not None:
        keep &= batch.first_record + np.arange(len(batch)) <= sample
    bases = select_records(batch.sequences, keep)
    values = select_records(batch.qualities, keep)
    quality.add(bases, values, int(np.count_nonzero(keep)))


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


