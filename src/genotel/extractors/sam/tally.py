"""The SAM family's statistics over its batches: counts, read names, dictionary fields, probe
streams, the study's evidence and `--deep` matches, for a whole file or one part of it (parts
merge in file order)."""

from __future__ import annotations

from ...stats.gain import GainProbe
from ...stats.readnames import ReadNameAccumulator
from .batch import AlignmentBatch
from .counts import AlignmentCountsAccumulator
from .deep_pairing import DeepAccumulator, FastqIndex
from .diagnostics import head_text
from .fields import SamDictionaryAccumulator, add_sam_streams
from .study import SamStudyEvidence


class SamTally:
    """Everything but qual_acgt (the engine's) over `AlignmentBatch`es.

    Each batch's `sam_text(full)` is built only as far as needed: the whole text while the probe
    runs, only the dictionary columns without it, nothing past `--sample N`; the study's evidence
    reads the same text. `contig_lengths` are the header's (the study's position bins).
    """

    def __init__(
        self, probe: GainProbe | None, contig_lengths: list[int], deep_index: FastqIndex | None = None
    ) -> None:
        self.probe = probe
        self.counts = AlignmentCountsAccumulator()
        self.names = ReadNameAccumulator()
        self.dictionary = SamDictionaryAccumulator()
        self.sampled = 0  # records that fed the names and dictionary fields
        self.deep = DeepAccumulator(deep_index) if deep_index is not None else None
        self.study = SamStudyEvidence(contig_lengths)

    def add(self, batch: AlignmentBatch, within: int) -> None:
        self.counts.add(batch)
        if self.deep is not None:
            self.deep.add(batch)
        if within and not self.names.full:
            room = min(within, self.names.sample_names - len(self.names.names))
            self.names.add([batch.names[index] for index in range(room)])
        text = None
        if (self.probe is not None or within) and batch.sam_text is not None:
            text = batch.sam_text(self.probe is not None)
            if self.probe is not None:
                add_sam_streams(self.probe, text)
            if within:
                self.dictionary.add(text if within == len(batch) else head_text(text, within))
                self.sampled += within
        self.study.add(batch, within, text)

    def merge(self, later: SamTally) -> None:
        """Add the tally of the part of the file that follows this one."""
        self.counts.merge(later.counts)
        self.names.merge(later.names)
        for name, field in later.dictionary.fields.items():
            if name in self.dictionary.fields:
                self.dictionary.fields[name].merge(field)
            else:
                self.dictionary.fields[name] = field
        self.sampled += later.sampled
        self.study.merge(later.study)

    def close(self) -> None:
        self.probe = None  # the engine finishes it

    def abort(self) -> None:
        self.probe = None
