"""SAM, BAM and CRAM files opened by htslib (pysam): offline CRAM references, the header text as
htslib prints it, and one-line errors for what htslib rejects."""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pysam

from ...bgzf import CannotProve, CorruptBlock
from ...errors import FormatError, ReferenceProblem
from ...options import Options
from ...sniff import Sniffed
from ...textio import pysam_surrogate_escapes
from ..base import bgzf_eof_missing
from . import bam_fast
from .header import SamHeader, parse_header

# htslib's own messages would duplicate (and garble) genotel's one-line errors.
pysam.set_verbosity(0)

_OPEN_MODES = {"SAM": "r", "BAM": "rb", "CRAM": "rc"}
# Without a reference, htslib would fetch CRAM references from the network (the EBI server);
# genotel never goes online for a record, so it points the lookup at nothing unless the
# user configured REF_PATH themselves.
_OFFLINE_REF_PATH = os.path.join(tempfile.gettempdir(), "genotel-no-ref-path", "%s")


@contextlib.contextmanager
def open_alignments(path: Path, sniffed: Sniffed, options: Options) -> Iterator[pysam.AlignmentFile]:
    """The file opened by htslib: offline CRAM references, a BAM without its end-of-file block read as
    samtools reads it, and a header htslib rejects turned into a one-line error naming the line."""
    with contextlib.ExitStack() as stack:
        kwargs: dict[str, object] = {"check_sq": False, "threads": max(1, options.threads)}
        reference = None
        if sniffed.data_type == "CRAM":
            reference = prepare_reference(path, options.reference, stack)
            kwargs["reference_filename"] = reference
            os.environ.setdefault("REF_PATH", _OFFLINE_REF_PATH)
        if sniffed.data_type == "BAM" and sniffed.codec == "BGZF" and bgzf_eof_missing(path):
            # Read a BAM without its end-of-file block, as samtools does (the record says so);
            # its header must be whole (htslib would fail noisily on a cut one).
            require_whole_bam_header(path)
            kwargs["ignore_truncation"] = True
            kwargs["threads"] = 1  # pysam allows no extra threads with ignore_truncation
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "no BGZF EOF marker", UserWarning)
                alignments = pysam.AlignmentFile(str(path), _OPEN_MODES[sniffed.data_type], **kwargs)
        except (OSError, ValueError) as exc:
            raise header_error(path, sniffed) from exc
        stack.enter_context(_closing(alignments))
        if sniffed.data_type == "CRAM":
            header = parse_header(header_text(alignments.header))
            check_reference_lengths(path, header, reference, options.reference)
        yield alignments


# A child Python runs htslib's `samtools view` (pysam's copy) to turn a CRAM into an uncompressed
# BAM stream: pysam holds the GIL while samtools runs, so it cannot run in a thread.
_BAM_STREAM_CODE = "import sys, pysam; pysam.samtools.view(*sys.argv[1:], catch_stdout=False)"
_PIPE_BYTES = 1 << 20  # the pipe's buffer: the decoder runs ahead by this much


class BamStream:
    """A CRAM decoded by htslib, as an uncompressed BAM stream (header and records) on a pipe.

    `descriptor` is the pipe's read end; `check` (after reading to the end) raises `CannotProve`
    when htslib failed, so that the file is read again record by record and its error reported.
    """

    def __init__(self, path: Path, reference: str | None, threads: int) -> None:
        command = [sys.executable, "-c", _BAM_STREAM_CODE, "-u", "--no-PG", "-@", str(max(1, threads))]
        command += ["-T", reference] if reference else []
        self.process = subprocess.Popen([*command, str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.process.stdout is not None
        self.descriptor = self.process.stdout.fileno()
        if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: a bigger pipe, where the system allows it
            with contextlib.suppress(OSError):
                fcntl.fcntl(self.descriptor, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)

    def __enter__(self) -> BamStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()

    def check(self) -> None:
        if self.process.wait() != 0:
            raise CannotProve(f"htslib could not decode the file (exit status {self.process.returncode})")


def header_text(header: pysam.AlignmentHeader) -> str:
    """The header text as htslib holds and prints it (`samtools view -H --no-PG`); bytes that are
    not UTF-8 kept as surrogate escapes (see SamHeader).

    pysam's `str(header)` differs in one way: a header text without @SQ lines gets an empty line
    after it, before the @SQ lines pysam builds from the binary contig list (or at the very end
    when there are none). That line is taken out here.
    """
    with pysam_surrogate_escapes():
        text = str(header)
    if text.startswith("@SQ\t"):
        return text
    first_sq = text.find("\n@SQ\t") + 1  # 0: no @SQ line at all
    if first_sq == 0:
        return text[:-1] if text.endswith("\n") else text
    if first_sq == 1 or text[first_sq - 2] == "\n":  # an empty line just before the first @SQ line
        return text[: first_sq - 1] + text[first_sq:]
    return text


def require_whole_bam_header(path: Path) -> None:
    """Raise `FormatError` unless the BAM's binary header can be read to its end."""
    try:
        bam_fast.read_bam_header(path, path.stat().st_size)
    except (CannotProve, CorruptBlock) as exc:
        raise FormatError(path, f"truncated or unreadable BAM header ({exc})") from exc


@contextlib.contextmanager
def _closing(alignments: pysam.AlignmentFile) -> Iterator[pysam.AlignmentFile]:
    """Close the file; after a read error, quietly: htslib repeats the error on close, and
    pysam would raise it from close() in place of the error already being reported."""
    try:
        yield alignments
    except BaseException:
        with contextlib.suppress(OSError):
            alignments.close()
        raise
    alignments.close()


def prepare_reference(path: Path, reference: Path | None, stack: contextlib.ExitStack) -> str | None:
    """The reference FASTA to give htslib, checked to exist.

    htslib builds a missing `.fai` index next to the FASTA; genotel never writes beside the
    user's data, so a FASTA without an index is linked into a temporary folder first.
    """
    if reference is None:
        return None
    if not reference.is_file():
        raise ReferenceProblem(path, f"the reference {reference} does not exist or is not a file")
    if Path(f"{reference}.fai").is_file():
        return str(reference)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="genotel-ref-")))
    link = folder / reference.name
    link.symlink_to(reference.resolve())
    return str(link)


def check_reference_lengths(path: Path, header: SamHeader, prepared: str | None, reference: Path | None) -> None:
    """Fail early, naming the contig, when --reference cannot be this CRAM's reference.

    `prepared` is the path htslib reads (see `prepare_reference`), `reference` the user's.
    """
    if prepared is None:
        return
    try:
        with pysam.FastaFile(prepared) as fasta:
            lengths = dict(zip(fasta.references, fasta.lengths, strict=True))
    except (OSError, ValueError):
        return  # htslib reports what is wrong with it while decoding
    shared = [name for name in header.contig_lengths if name in lengths]
    if header.contig_lengths and not shared:
        raise ReferenceProblem(path, f"the reference {reference} has none of the CRAM's contigs")
    for name in shared:
        if lengths[name] != header.contig_lengths[name]:
            raise ReferenceProblem(
                path,
                f"the reference {reference} does not match: contig {name} is "
                f"{header.contig_lengths[name]} bp in the CRAM but {lengths[name]} bp in the reference",
            )


def describe_reference(header: SamHeader) -> str:
    """Which reference a CRAM needs, in words: its contigs and, where known, their MD5s."""
    names = list(header.contig_lengths)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    first_md5 = header.contig_md5.get(names[0]) if names else None
    md5 = f"; M5 of {names[0]} is {first_md5}" if first_md5 else ""
    return f"contigs {shown}{md5}" if names else "no @SQ lines"


def header_error(path: Path, sniffed: Sniffed) -> FormatError:
    """The error for a header htslib rejected, saying which line is wrong where we can tell."""
    if sniffed.data_type != "SAM":
        return FormatError(path, f"malformed or unreadable {sniffed.data_type} header")
    try:
        with open_text(path) as text:
            for number, line in enumerate(text, start=1):
                if not line.startswith("@"):
                    break
                problem = explain_header_line(line.rstrip("\r\n"))
                if problem:
                    return FormatError(path, f"malformed SAM header: {problem}", f"line {number}")
    except (OSError, UnicodeDecodeError):
        pass
    return FormatError(path, "malformed SAM header")


def explain_header_line(line: str) -> str | None:
    """What is wrong with one SAM header line, or None if it looks right."""
    record_type, _, rest = line.partition("\t")
    if len(record_type) != 3 or not record_type[1:].isalpha():
        return f"{record_type[:10]!r} is not a header record type such as @SQ"
    if record_type == "@CO":
        return None
    tags = dict(item.split(":", 1) for item in rest.split("\t") if ":" in item)
    if record_type == "@SQ":
        if "SN" not in tags:
            return "@SQ line without SN"
        if not tags.get("LN", "").isdigit():
            return f"@SQ {tags['SN']} has no numeric LN (found {tags.get('LN', 'none')!r})"
    return None


def open_text(path: Path) -> TextIO:
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")
