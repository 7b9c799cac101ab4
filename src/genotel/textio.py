"""Streaming the plain text of a text-format file (VCF, GFF/GTF, FASTQ, FASTA, SAM).

The text is decompressed (gzip or BGZF) in chunks that always end at a line boundary, and
each chunk is split into lines with numpy, so that line-oriented formats see whole lines and
their 1-based line numbers without any per-line Python work. isal's inflate is used where
installed, the standard library's gzip otherwise.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import FormatError, line_where

try:  # isal: the same interface as gzip, faster inflate
    from isal import igzip as _gzip_module
except ImportError:  # pragma: no cover - isal is a dependency; this keeps genotel importable
    _gzip_module = gzip  # type: ignore[assignment]

CHUNK_BYTES = 4 * 1024 * 1024
NEWLINE = 10


LATIN1_FALLBACK = "genotel-latin1"
REPLACEMENT_CHARACTER = "\ufffd"


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error(LATIN1_FALLBACK, _latin1_fallback)


def decode_text(raw: bytes) -> str:
    """Text for the record from file bytes: UTF-8, each byte that is not valid UTF-8 read as Latin-1.

    Never yields U+FFFD (one present in the file is dropped), so no record field holds it.
    """
    return bytes(raw).decode("utf-8", LATIN1_FALLBACK).replace(REPLACEMENT_CHARACTER, "")


def is_utf8(raw: bytes) -> bool:
    """Whether `raw` is valid UTF-8."""
    try:
        bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def open_binary(path: Path, codec: str) -> BinaryIO:
    """The decompressed byte stream of `path` (codec as sniffed: NONE, GZ or BGZF)."""
    if codec in ("GZ", "BGZF"):
        return _gzip_module.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_chunks(path: Path, codec: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Decompressed text in chunks ending at a newline (the very last chunk may lack one)."""
    carry = b""
    try:
        with open_binary(path, codec) as stream:
            while True:
                block = stream.read(chunk_bytes)
                if not block:
                    break
                cut = block.rfind(b"\n") + 1
                if cut == 0:  # no line ends in this block: keep reading
                    carry += block
                    continue
                # One copy per chunk (the carried part of a line, then the block up to its last line end).
                chunk = carry + memoryview(block)[:cut] if carry or cut < len(block) else block
                carry = block[cut:]
                yield chunk
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise compressed_data_error(path, exc) from exc
    except OSError as exc:
        raise FormatError(path, f"cannot be read ({exc})") from exc
    if carry:
        yield carry


def compressed_data_error(path: Path, exc: Exception) -> FormatError:
    """The error for gzip/BGZF data that stops inflating, naming the line it cuts."""
    return FormatError(path, f"truncated or corrupt compressed data ({exc})", line_where(complete_lines(path) + 1))


def complete_lines(path: Path) -> int:
    """The number of newlines in the part of a gzip/BGZF file that inflates (for error messages)."""
    count = 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as raw:
        while block := raw.read(CHUNK_BYTES):
            while block:
                try:
                    count += inflater.decompress(block).count(b"\n")
                except zlib.error:
                    return count
                block = inflater.unused_data if inflater.eof else b""
                if inflater.eof:  # the next gzip member (BGZF block) starts
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return count


@dataclass
class LineBatch:
    """Whole lines of one chunk: line i is `data[starts[i]:ends[i]]` (newline excluded)."""

    data: np.ndarray  # uint8 view of the chunk
    starts: np.ndarray  # int64
    ends: np.ndarray  # int64
    first_line: int  # 1-based number of line 0 in the file
    ends_with_newline: bool  # False only for a final line without '\n'

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, index: int) -> bytes:
        return self.data[self.starts[index] : self.ends[index]].tobytes()

    def where(self, index: int) -> str:
        return line_where(self.first_line + index)


def split_lines(chunk: bytes, first_line: int) -> LineBatch:
    """Split one chunk into lines with numpy."""
    data = np.frombuffer(chunk, dtype=np.uint8)
    newlines = np.flatnonzero(data == NEWLINE)
    ends_with_newline = bool(len(data)) and data[-1] == NEWLINE
    ends = newlines if ends_with_newline else np.append(newlines, len(data))
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    return LineBatch(data, starts.astype(np.int64), ends.astype(np.int64), first_line, ends_with_newline)


def line_batches(path: Path, codec: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[LineBatch]:
    """Every line of the file, as batches with line numbers."""
    next_line = 1
    for chunk in read_chunks(path, codec, chunk_bytes):
        batch = split_lines(chunk, next_line)
        next_line += len(batch)
        yield batch


@contextlib.contextmanager
def pysam_surrogate_escapes() -> Iterator[None]:
    """pysam decodes text with bytes that are not UTF-8 kept as surrogate escapes (not raising)."""
    from pysam import libcutils  # only the readers that use pysam pay for importing it

    handler = libcutils.get_encoding_error_handler()
    libcutils.set_encoding_error_handler("surrogateescape")
    try:
        yield
    finally:
        libcutils.set_encoding_error_handler(handler)
