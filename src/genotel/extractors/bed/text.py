"""Decompressed text in chunks of whole lines, the next chunk inflated in a thread meanwhile.

`textio.read_chunks` does the reading; here it runs one chunk ahead in a worker thread (isal,
zlib and the nogil kernels release the GIL), so inflating and parsing overlap. PAF reads its
text the same way.
"""

from __future__ import annotations

from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ...textio import CHUNK_BYTES, read_chunks


def chunks_ahead(path: Path, codec: str, chunk_bytes: int = CHUNK_BYTES) -> Generator[bytes, None, None]:
    """`read_chunks(path, codec)`, each next chunk read while the caller works on this one."""
    chunks = read_chunks(path, codec, chunk_bytes)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="genotel-inflate") as reader:
        ahead = reader.submit(next, chunks, None)
        while (chunk := ahead.result()) is not None:  # a read error is raised here, in the caller
            ahead = reader.submit(next, chunks, None)
            yield chunk
