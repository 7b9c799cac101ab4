"""Items of an iterator made in a worker thread, ahead of the caller that uses them.

The work that makes each item (inflating, a compiled kernel, reading a pipe) releases the GIL,
so making the next items overlaps with the caller's use of the one before. Used for the text of
BED and PAF (read and cut one chunk ahead) and for a CRAM's BAM stream (read while decoded).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
_DONE = object()


def ahead(items: Iterator[Item], depth: int = 1) -> Generator[Item, None, None]:
    """The items of `items` in order, up to `depth` of them made in a worker thread in advance.

    An error raised while making an item is raised here, when that item is reached. Closing the
    generator waits for the item in the making; `items` itself is left open (close it after).
    """

    def step() -> object:
        return next(items, _DONE)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="genotel-ahead") as worker:
        pending = deque(worker.submit(step) for _ in range(depth))  # one worker: made in order
        while (item := pending.popleft().result()) is not _DONE:
            pending.append(worker.submit(step))
            yield item  # type: ignore[misc]
