"""Chunks of text parsed one ahead, in a worker thread, while the caller uses the one before.

`textio.read_chunks` gives the decompressed text in chunks of whole lines; `parsed_ahead` runs
the reading (isal and zlib release the GIL) and the parser (its kernel releases the GIL) of the
next chunk in one worker thread, so inflating and cutting overlap with the caller's statistics.
PAF reads its text the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Parsed = TypeVar("Parsed")


def parsed_ahead(chunks: Iterator[bytes], parse: Callable[[bytes], Parsed]) -> Generator[Parsed, None, None]:
    """`parse(chunk)` for each chunk in order, the next one read and parsed in a worker thread meanwhile."""

    def step() -> Parsed | None:
        chunk = next(chunks, None)
        return None if chunk is None else parse(chunk)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="genotel-parse") as worker:
        ahead = worker.submit(step)
        while (parsed := ahead.result()) is not None:  # an error of the reader or parser is raised here
            ahead = worker.submit(step)
            yield parsed
