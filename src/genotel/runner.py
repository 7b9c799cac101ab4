"""Many files: expand folders, run files in a process pool or on a Dask cluster, stream results.

The unit of work is `record_file(task, options)`: it opens the file itself (pysam and pyfastx
handles cannot be pickled), never raises, and returns a `FileOutcome` that says what happened.
The same function runs in this process (`--jobs 1`), in a local process pool, or as a Dask task,
so the output, the errors and the records are the same whichever runs it.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path

from .engine import make_record
from .errors import GenotelError, InputError
from .options import Options
from .sniff import sniff

IN_FLIGHT_PER_WORKER = 2
POOL_MIN_BYTES = 64 << 20  # below this, starting worker processes costs more than it saves
DASK_CONNECT_TIMEOUT = "5s"


@dataclass(frozen=True)
class FileTask:
    index: int  # 1-based position among the files of the invocation
    count: int
    path: str
    size: int


@dataclass
class FileOutcome:
    task: FileTask
    record: dict[str, object] | None = None
    error: str | None = None  # a one-line GenotelError message
    bug: str | None = None  # the traceback of an unexpected exception


def expand_inputs(names: Iterable[str]) -> list[str]:
    """Files as given, and the genomics files found (by content) below each folder given."""
    paths: list[str] = []
    for name in names:
        if not Path(name).is_dir():
            paths.append(name)
            continue
        for folder, subfolders, files in os.walk(name):
            subfolders.sort()
            for file_name in sorted(files):
                candidate = os.path.join(folder, file_name)
                if is_genomics_file(candidate):
                    paths.append(candidate)
    return paths


def is_genomics_file(path: str) -> bool:
    """True if the sniffer recognises the file (index files, READMEs... are not)."""
    try:
        sniff(path)
    except GenotelError:
        return False
    return True


def make_tasks(paths: list[str]) -> list[FileTask]:
    def size(path: str) -> int:
        try:
            return os.path.getsize(path)
        except OSError:
            return 0

    return [FileTask(index, len(paths), path, size(path)) for index, path in enumerate(paths, start=1)]


def record_file(task: FileTask, options: Options) -> FileOutcome:
    """The record of one file, or what went wrong; never raises (it may run in another process)."""
    try:
        record = make_record(task.path, options, task.index, task.count)
    except GenotelError as exc:
        return FileOutcome(task, error=str(exc))
    except Exception:  # a bug: carry the traceback back to the one place that reports it
        return FileOutcome(task, bug=traceback.format_exc())
    return FileOutcome(task, record=record.to_dict())


def default_jobs(tasks: list[FileTask]) -> int:
    """The number of cores, or 1 when the files are too small for a process pool to pay."""
    return (os.cpu_count() or 1) if sum(task.size for task in tasks) >= POOL_MIN_BYTES else 1


def threads_per_file(requested: int, jobs: int) -> int:
    """htslib/probe threads per file so that jobs x threads never exceeds the cores."""
    cores = os.cpu_count() or 1
    return max(1, min(requested, cores // max(1, jobs)))


def run_local(tasks: list[FileTask], options: Options, jobs: int) -> Iterator[FileOutcome]:
    """Outcomes as files finish: in this process for one job, else in a bounded process pool."""
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield record_file(task, options)
        return
    options = replace(options, threads=threads_per_file(options.threads, jobs))
    # forkserver: workers start clean (no inherited htslib state or threads from this process).
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("forkserver")) as pool:
        yield from _bounded(tasks, lambda task: pool.submit(record_file, task, options), jobs)


def run_dask(tasks: list[FileTask], options: Options, address: str) -> Iterator[FileOutcome]:
    """Outcomes as files finish, one Dask task per file, on the cluster at `address`."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise InputError(address, "--dask needs the dask extra: pip install 'genotel[dask]'") from exc
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise InputError(address, f"cannot reach the Dask scheduler ({exc})") from exc
    with client:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        limit = IN_FLIGHT_PER_WORKER * workers
        pending = iter(tasks)
        running = as_completed()
        for task in pending:
            running.add(client.submit(record_file, task, options, pure=False))
            if running.count() >= limit:
                break
        for future in running:
            yield future.result()
            next_task = next(pending, None)
            if next_task is not None:
                running.add(client.submit(record_file, next_task, options, pure=False))


def _bounded(
    tasks: list[FileTask], submit: Callable[[FileTask], Future[FileOutcome]], workers: int
) -> Iterator[FileOutcome]:
    """Submit at most IN_FLIGHT_PER_WORKER tasks per worker at once; yield as they finish."""
    pending = iter(tasks)
    running: set[Future[FileOutcome]] = set()
    for task in pending:
        running.add(submit(task))
        if len(running) >= IN_FLIGHT_PER_WORKER * workers:
            break
    while running:
        done, running = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            yield future.result()
            next_task = next(pending, None)
            if next_task is not None:
                running.add(submit(next_task))
