"""The PAF statistics of a file, accumulated batch by batch and mergeable in file order.

Query names are read names: all of them feed the `queries` count (exact up to the cardinality
accumulator's cap, then estimated); within `--sample` they also feed the read-name flavour
(`stats/readnames.py`) and the dictionary fields QNAME and its tokens (`stats/read_name_fields.py`,
hash_issues form 1), as for SAM and FASTQ. Targets are counted from their runs (`bed.tally`).
"""

from __future__ import annotations

import copy

from ...stats.cardinality import CardinalityAccumulator, CardinalityResult
from ...stats.gain import GainProbe
from ...stats.read_name_fields import DictionaryFields, name_tokens
from ...stats.readnames import ReadNameAccumulator
from ..base import SimpleTally
from ..bed.tally import ContigOrder
from .fields import TagStreams, key_name
from .parse import PafBatch
from .scan import TARGET_COLUMN

QNAME = "QNAME"


class PafTally(SimpleTally):
    """Everything the PAF record counts, batch by batch."""

    def __init__(self, probe: GainProbe | None = None) -> None:
        self.probe = probe
        self.records = 0
        self.text_size = 0
        self.first_tags: list[str] | None = None  # the tags of the file's first line
        self.targets = ContigOrder()
        self.queries = CardinalityAccumulator(QNAME)  # every line
        self.sampled_queries: CardinalityAccumulator | None = None  # within --sample, once that differs
        self.sampled_records = 0
        self.tokens = DictionaryFields()  # QNAME1, QNAME2, ... within --sample
        self.flavour = ReadNameAccumulator()
        self.tags = TagStreams()

    def add(self, batch: PafBatch, within: int) -> None:
        """Count the batch; read names only of its first `within` lines; every line's streams into the probe."""
        count = len(batch)
        if not count:
            self.text_size += batch.text_size
            if self.probe is not None:
                self.tags.add(self.probe, batch)
            return
        if self.first_tags is None:
            keys = batch.tag_keys[batch.tag_rows == 0].tolist()
            self.first_tags = [key_name(key) for key in keys if key >= 0]
        self.records += count
        self.text_size += batch.text_size
        heads = batch.run_heads
        begin = batch.cuts[heads, TARGET_COLUMN] + 1
        self.targets.add_runs(batch.data, begin, batch.cuts[heads, TARGET_COLUMN + 1], (0, 0), True)
        names = batch.names
        if within:
            sampled = names if within == count else names.head(within)
            if within < count and self.sampled_queries is None:
                self.sampled_queries = copy.deepcopy(self.queries)
            if self.sampled_queries is not None:
                self.sampled_queries.add(sampled)
            self.sampled_records += within
            tokens = batch.tokens
            if tokens is None or len(tokens[0]) != within:  # the parser cut them for another --sample
                tokens = name_tokens(sampled)
            if len(tokens) > 1:  # a name without separators is its own single token
                for index, token in enumerate(tokens, start=1):
                    self.tokens.field(f"{QNAME}{index}", QNAME).add(token)
            if not self.flavour.full:
                self.flavour.add(sampled.head(min(within, self.flavour.sample_names)).to_list())
        elif self.sampled_queries is None:
            self.sampled_queries = copy.deepcopy(self.queries)
        self.queries.add(names)
        if self.probe is not None:
            self.tags.add(self.probe, batch)

    def merge(self, later: PafTally) -> None:
        """Add the tally of the part of the file that follows this one (its probe's streams are merged apart)."""
        if self.first_tags is None:
            self.first_tags = later.first_tags
        if self.sampled_queries is not None or later.sampled_queries is not None:  # --sample cut a part
            mine = self.sampled_queries if self.sampled_queries is not None else copy.deepcopy(self.queries)
            mine.merge(later.sampled_queries if later.sampled_queries is not None else later.queries)
            self.sampled_queries = mine
        self.records += later.records
        self.text_size += later.text_size
        self.sampled_records += later.sampled_records
        self.targets.merge(later.targets)
        self.queries.merge(later.queries)
        for name, field in later.tokens.fields.items():
            self.tokens.field(name, QNAME).merge(field)
        self.flavour.merge(later.flavour)

    def field_results(self) -> list[CardinalityResult]:
        """QNAME and its tokens within --sample (hash_issues form 1 reports the overflowing)."""
        qname = self.sampled_queries or self.queries
        return [qname.result(self.sampled_records), *self.tokens.results(self.sampled_records)]
