"""Statistics over VCF/BCF record batches: counts and gVCF, probe streams and dictionary fields."""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ...batches import Ranges
from ...stats.cardinality import CardinalityResult
from ...stats.gain import GainProbe
from .dictionary import VcfDictionaryAccumulator
from .fields import FIRST_SAMPLE, VcfFieldSplitter, stream_parts
from .text import INFO_COLUMN, VcfBatch, has_reference_block

CUTTING_THREADS = 2
CUT_BYTES = 1 << 20  # text cut at once (work arrays of a few MB)
MAX_PENDING_BATCHES = 3  # batches queued for cutting: bounds memory to a few chunks
# One batch cut into fields: its (stream, bytes) parts and its dictionary values.
Cut = tuple[list[tuple[str, np.ndarray]], list[tuple[str, str, Ranges]]]


class VariantCountsAccumulator:
    """Record count, bytes of record text, and whether any record is a gVCF reference block.

    The gVCF test stops looking once a reference block was seen: later batches cannot change
    the answer, and most of a gVCF is reference blocks anyway.
    """

    def __init__(self) -> None:
        self.records = 0
        self.text_size = 0
        self.reference_blocks = False

    def add(self, batch: VcfBatch) -> None:
        self.records += len(batch)
        self.text_size += batch.text_size
        if not self.reference_blocks:
            self.reference_blocks = has_reference_block(batch)


class VariantFieldsAccumulator:
    """The field-level statistics: the probe's streams (whole file) and the dictionary fields.

    The probe (None under `--no-gain`) sees every record line (the engine gives it the header).
    The dictionary fields see the records within `--sample` only, as `qual_acgt` does for
    reads. Batches are cut into fields only as far as the consumers need: with no probe and no
    text INFO/FORMAT key, just the fixed columns (for ID).

    Cutting a batch is most of the probe's cost, and needs nothing from other batches, so it
    runs in `CUTTING_THREADS` background threads (each with its own `VcfFieldSplitter`; numpy
    releases the GIL for its array work) while the caller reads the next batches. The results
    are applied to the probe and the dictionary fields here, in file order. `close()` (or
    `abort()` when the pass fails) must be called: it applies the last batches and re-raises
    their errors. Not mergeable: the probe compresses each stream in file order.
    """

    def __init__(
        self, probe: GainProbe | None, dictionary: VcfDictionaryAccumulator, cut_bytes: int = CUT_BYTES
    ) -> None:
        self.probe = probe
        self.cut_bytes = cut_bytes
        self.dictionary = dictionary
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=CUTTING_THREADS, thread_name_prefix="genotel-vcf-fields")
        self._pending: deque[Future[Cut]] = deque()

    def add(self, batch: VcfBatch, within: int) -> None:
        """Cut the batch for the probe, and its first `within` lines for the dictionary fields."""
        if len(batch) == 0:
            return
        limit = None if within == len(batch) else within
        if self.probe is None and limit is not None and limit <= 0:
            return  # past --sample and no probe: nothing wants this batch
        while len(self._pending) >= MAX_PENDING_BATCHES:
            self._apply(self._pending.popleft().result())
        self._pending.append(self._pool.submit(self._cut, batch, limit))

    def _cut(self, batch: VcfBatch, limit: int | None) -> Cut:
        """Runs in a cutting thread: the batch's stream parts and dictionary values.

        The batch is cut in pieces of about `cut_bytes` of text, whose work arrays stay in the
        CPU caches.
        """
        splitter = getattr(self._local, "splitter", None)
        if splitter is None:
            splitter = self._local.splitter = VcfFieldSplitter()
        probed = self.probe is not None
        data, starts = batch.lines.data, batch.starts
        bounds = np.searchsorted(starts, np.arange(int(starts[0]), int(starts[-1]) + 1, self.cut_bytes)).tolist()
        info_starts, info_ends = batch.tab_at[:, INFO_COLUMN - 1], batch.tab_at[:, INFO_COLUMN]
        samples = np.maximum(batch.columns - FIRST_SAMPLE, 0)
        parts: list[tuple[str, np.ndarray]] = []
        values: list[tuple[str, str, Ranges]] = []
        for first, last in zip(bounds, [*bounds[1:], len(batch)], strict=True):
            if first == last:
                continue
            text = splitter.split(
                data,
                starts[first:last],
                batch.ends[first:last],
                info=probed or self.dictionary.needs_info,
                samples=probed or self.dictionary.needs_samples,
                end=int(starts[last]) if last < len(batch) else len(data),
                format_keys=self.dictionary.format_text_keys,
                streams=probed,
                sizes=(int(np.sum(info_ends[first:last] - info_starts[first:last])), int(np.sum(samples[first:last]))),
            )
            if probed:
                parts += stream_parts(text, splitter)
            if limit is None or limit > first:
                values += self.dictionary.values(text, splitter, None if limit is None else limit - first)
        return parts, values

    def _apply(self, cut: Cut) -> None:
        parts, values = cut
        if self.probe is not None:
            for name, data in parts:
                self.probe.add(name, data)
        self.dictionary.add_values(values)

    def close(self) -> None:
        """Apply the batches still being cut (re-raising their errors) and stop the threads."""
        try:
            while self._pending:
                self._apply(self._pending.popleft().result())
        finally:
            self.abort()

    def abort(self) -> None:
        """Stop the threads without applying what is still being cut (the pass failed)."""
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def dictionary_results(self) -> list[CardinalityResult]:
        """The dictionary fields' table models (after `close`)."""
        return self.dictionary.results()
