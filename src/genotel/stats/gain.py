"""The column-wise compressibility probe behind fields_gain and genozip_gain.

Extractors split each record into field streams (one per column, tag, INFO key...) and `add`
each stream's text; the probe compresses every stream on its own with zstandard and reports,
per stream, its text size and compressed size. Streams are cut into independent chunks of
`CHUNK_BYTES`, compressed in a thread pool (zstandard releases the GIL), so memory stays
bounded and both cores work; with `sample_fraction` only a deterministic subset of each
stream's chunks is compressed and the compressed size is scaled by the text share it covered.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import zstandard

from ..options import DEFAULT_CODEC_LEVEL, Options

DEFAULT_LEVEL = DEFAULT_CODEC_LEVEL
HEADER_STREAM = "TXT_HEADER"  # the stream of a file's header bytes
CHUNK_BYTES = 4 << 20
MAX_IN_FLIGHT_PER_THREAD = 2
# Total text held in stream buffers. Past it the fullest buffer is compressed early (a file with
# hundreds of INFO keys would otherwise hold 4 MB per key); only then do chunk boundaries, and so
# the compressed sizes, depend on how the extractor batched its adds.
MAX_BUFFERED_BYTES = 256 << 20


@dataclass
class StreamSize:
    name: str
    text_size: int
    compressed_size: int


def chunk_selected(index: int, fraction: float | None) -> bool:
    """Deterministic sampling: chunk 0 always, then about `fraction` of the chunks, evenly spread."""
    if fraction is None or index == 0:
        return True
    return int(index * fraction) > int((index - 1) * fraction)


class GainProbe:
    """Per-stream text and compressed sizes; `add` in file order, `result` once at the end."""

    def __init__(
        self, level: int = DEFAULT_LEVEL, sample_fraction: float | None = None, threads: int = 2,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:  # fmt: skip
        self.level = level
        self.sample_fraction = sample_fraction
        self.chunk_bytes = chunk_bytes
        self.text_size: dict[str, int] = {}
        self._buffers: dict[str, bytearray] = {}
        self._chunks: dict[str, int] = {}
        self._sampled_text: dict[str, int] = {}
        self._compressed: dict[str, int] = {}
        self._total_buffered = 0
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="genotel-probe")
        self._in_flight: deque[tuple[str, Future[int]]] = deque()
        self._max_in_flight = MAX_IN_FLIGHT_PER_THREAD * max(1, threads)

    def add(self, name: str, data: bytes | memoryview | np.ndarray) -> None:
        """Append text to stream `name` (created on first use).

        Each byte is copied once, into its stream's chunk buffer, which goes to the compressing
        thread as it is when full (no per-add bytes copy, no join, no slicing of the joined text).
        """
        if name not in self.text_size:
            self.text_size[name] = 0
            self._buffers[name] = bytearray()
            self._chunks[name] = 0
            self._sampled_text[name] = 0
            self._compressed[name] = 0
        view = memoryview(np.ascontiguousarray(data) if isinstance(data, np.ndarray) else data).cast("B")
        size = len(view)
        if not size:
            return
        self.text_size[name] += size
        self._total_buffered += size
        buffer = self._buffers[name]
        used = 0
        # Cut at exact multiples of chunk_bytes, so that the chunks, and the compressed sizes,
        # do not depend on how the text was split into add() calls.
        while size - used >= self.chunk_bytes - len(buffer):
            take = self.chunk_bytes - len(buffer)
            buffer += view[used : used + take]
            used += take
            self._total_buffered -= len(buffer)
            self._submit(name, buffer)
            buffer = self._buffers[name] = bytearray()
        if used < size:
            buffer += view[used:]
        while self._total_buffered > MAX_BUFFERED_BYTES:
            self._flush(max(self._buffers, key=lambda stream: len(self._buffers[stream])))

    def _flush(self, name: str) -> None:
        chunk = self._buffers[name]
        if not chunk:
            return
        self._total_buffered -= len(chunk)
        self._buffers[name] = bytearray()
        self._submit(name, chunk)

    def _submit(self, name: str, chunk: bytes | bytearray) -> None:
        index = self._chunks[name]
        self._chunks[name] += 1
        if not chunk_selected(index, self.sample_fraction):
            return
        self._sampled_text[name] += len(chunk)
        while len(self._in_flight) >= self._max_in_flight:
            self._collect_oldest()
        self._in_flight.append((name, self._pool.submit(self._compressed_size, chunk)))

    def _compressed_size(self, chunk: bytes | bytearray) -> int:
        compressor = getattr(self._local, "compressor", None)
        if compressor is None:  # a ZstdCompressor must not be shared between threads
            compressor = zstandard.ZstdCompressor(level=self.level, write_checksum=False, write_content_size=False)
            self._local.compressor = compressor
        return len(compressor.compress(chunk))

    def _collect_oldest(self) -> None:
        name, future = self._in_flight.popleft()
        self._compressed[name] += future.result()

    def close(self) -> None:
        """Stop the worker threads without waiting for the result (e.g. after a FormatError)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> GainProbe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def result(self) -> list[StreamSize]:
        """Finish every stream; sizes per stream in order of first appearance."""
        for name in self.text_size:
            self._flush(name)
        while self._in_flight:
            self._collect_oldest()
        self._pool.shutdown()
        sizes = []
        for name, text in self.text_size.items():
            if not text:
                continue
            sampled = self._sampled_text[name]
            compressed = self._compressed[name]
            if sampled < text:  # scale the sampled chunks to the whole stream
                compressed = round(compressed * text / sampled)
            sizes.append(StreamSize(name, text, max(compressed, 1)))
        return sizes


def probe_for(options: Options, threads: int = 2) -> GainProbe | None:
    """The probe the options ask for (codec level, sample fraction), or None under --no-gain."""
    if not options.gain:
        return None
    return GainProbe(level=options.codec_level, sample_fraction=options.gain_sample, threads=threads)
