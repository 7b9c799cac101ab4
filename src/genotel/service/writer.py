"""Group commit: one thread writes every signed request's nonce and every uploaded record.

Requests put a job on a queue and await its result; the writer thread takes every job waiting
(up to `MAX_BATCH`), writes them in one transaction (one multi-row INSERT ... ON CONFLICT DO
NOTHING RETURNING for the nonces, one for the records) and answers each request. Under load,
jobs queue up while a batch is written, so one commit serves many uploads; a lone client gets a
batch of one, with no added wait (waiting a few ms for bigger batches was measured: no gain).
It is also the single-writer discipline SQLite wants, and the same code runs on PostgreSQL. A
request is answered only after its transaction has committed, so an acknowledged record is
durable. When a batch fails, its jobs are written again one by one, each in its own transaction:
the job that caused the failure fails alone, the others commit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from .db import Database, nonces, records

MAX_BATCH = 256
Result = tuple[bool, bool]  # (nonce accepted, record newly stored)
log = logging.getLogger("genotel.service")


@dataclass
class Job:
    """One signed request: its nonce, and the record row for an upload (None otherwise)."""

    license_num: int
    nonce: str
    seen_at: int
    row: dict[str, Any] | None
    loop: asyncio.AbstractEventLoop = field(repr=False)
    future: asyncio.Future[Result] = field(repr=False)


class Writer:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="genotel-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish the jobs already queued, then end the thread."""
        self._queue.put(None)
        self._thread.join()

    async def submit(self, license_num: int, nonce: str, seen_at: int, row: dict[str, Any] | None) -> Result:
        """(nonce accepted, record newly stored) once the transaction has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.put(Job(license_num, nonce, seen_at, row, loop, future))
        return await future

    def _run(self) -> None:
        running = True
        while running:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:  # whatever queued up while the last batch was written
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    running = False
                    break
                batch.append(job)
            outcomes = self._write_isolated(batch)
            # One wake-up of each event loop per batch, not one per request.
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Result], Result | Exception]]] = {}
            for job, outcome in zip(batch, outcomes, strict=True):
                by_loop.setdefault(job.loop, []).append((job.future, outcome))
            for loop, settled in by_loop.items():
                loop.call_soon_threadsafe(_settle, settled)

    def _write_isolated(self, batch: list[Job]) -> list[Result | Exception]:
        """The batch's results; if it fails, each job's own result or error, written one by one."""
        try:
            return list(self._write(batch))
        except Exception as exc:
            if len(batch) == 1:
                log.exception("writing a request of licence %d failed", batch[0].license_num)
                return [exc]
            log.warning("writing a batch of %d requests failed (%s); writing them one by one", len(batch), exc)
        outcomes: list[Result | Exception] = []
        for job in batch:
            outcomes.extend(self._write_isolated([job]))
        return outcomes

    def _write(self, batch: list[Job]) -> list[Result]:
        database = self._database
        # A nonce used twice inside one batch: only its first use counts, as if sent one by one.
        first_use: dict[tuple[int, str], int] = {}
        for index, job in enumerate(batch):
            first_use.setdefault((job.license_num, job.nonce), index)
        nonce_rows = [
            {"license_num": job.license_num, "nonce": job.nonce, "seen_at": job.seen_at}
            for index, job in enumerate(batch)
            if first_use[(job.license_num, job.nonce)] == index
        ]
        with database.write() as connection:
            fresh_nonces = {
                (row.license_num, row.nonce)
                for row in connection.execute(
                    database.insert_statement(nonces).returning(nonces.c.license_num, nonces.c.nonce), nonce_rows
                )
            }
            accepted = [
                (key in fresh_nonces and first_use[key] == index)
                for index, key in enumerate((job.license_num, job.nonce) for job in batch)
            ]
            record_rows = [job.row for job, ok in zip(batch, accepted, strict=True) if ok and job.row is not None]
            stored_ids: set[tuple[int, str]] = set()
            if record_rows:
                statement = database.insert_statement(records).returning(records.c.license_num, records.c.record_id)
                stored_ids = {(row.license_num, row.record_id) for row in connection.execute(statement, record_rows)}
        results = []
        for job, ok in zip(batch, accepted, strict=True):
            record_id = (job.license_num, job.row["record_id"]) if ok and job.row is not None else None
            stored = record_id in stored_ids
            stored_ids.discard(record_id)  # the same record twice in one batch: the first one stored it
            results.append((ok, stored))
        return results


def _settle(settled: list[tuple[asyncio.Future[Result], Result | Exception]]) -> None:
    for future, outcome in settled:
        if future.done():  # the client went away and the request was cancelled
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
