"""Distinct values of the VCF dictionary fields, for hash_issues form 1.

The fields are docs/record.md's: the ID column and every INFO or FORMAT key declared
`Type=String` or `Type=Character`, except `GT`. A value is one record's ID, one INFO value (the
text after `key=`) or one sample's sub-field, as written (a missing `.` counts as a value).
Entries are named by the key with `INFO` or `FORMAT` as parent (`ID` has none).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...batches import Ranges
from ...stats.cardinality import CardinalityAccumulator, CardinalityResult
from .fields import VcfFieldSplitter, VcfText

ID_COLUMN = 2
NOT_DICTIONARY = frozenset({"GT"})


class VcfDictionaryAccumulator:
    """One `CardinalityAccumulator` per dictionary field, in order of first value."""

    def __init__(self, info_text_keys: Iterable[str] = (), format_text_keys: Iterable[str] = ()) -> None:
        self.info_text_keys = frozenset(info_text_keys)
        self.format_text_keys = frozenset(format_text_keys) - NOT_DICTIONARY
        self.fields: dict[tuple[str, str], CardinalityAccumulator] = {}

    @property
    def needs_info(self) -> bool:
        """Whether any INFO key is a dictionary field (else the INFO items need not be cut)."""
        return bool(self.info_text_keys)

    @property
    def needs_samples(self) -> bool:
        """Whether any FORMAT key is a dictionary field (else the samples need not be cut)."""
        return bool(self.format_text_keys)

    def add(self, text: VcfText, splitter: VcfFieldSplitter, limit: int | None = None) -> None:
        """Feed the values of the batch's first `limit` lines (all lines when None)."""
        self.add_values(self.values(text, splitter, limit))

    def values(
        self, text: VcfText, splitter: VcfFieldSplitter, limit: int | None = None
    ) -> list[tuple[str, str, Ranges]]:
        """The values of the batch's first `limit` lines per field: (name, parent, values).

        Needs no state of the accumulator (it may run in another thread); fields come in order of
        first sight in the batch.
        """
        lines = text.records if limit is None else min(limit, text.records)
        if lines <= 0:
            return []
        data, ids = text.data, text.fixed[ID_COLUMN]
        found: list[tuple[int, str, str, Ranges]] = [(-1, "ID", "", Ranges(data, ids.starts[:lines], ids.ends[:lines]))]
        for parent, pieces, names, wanted, starts in (
            ("INFO", text.info, splitter.info_keys.names, self.info_text_keys, text.info_values),
            ("FORMAT", text.samples, splitter.format_key_names, self.format_text_keys, text.samples.starts),
        ):
            if pieces.keys is None:
                continue
            keys = pieces.keys[: pieces.first_lines(lines)]
            for key, name in enumerate(names):
                if name in wanted:
                    chosen = np.flatnonzero(keys == key)
                    if len(chosen):
                        values = Ranges(data, starts[chosen], pieces.ends[chosen])
                        found.append((int(chosen[0]), name, parent, values))
        found[1:] = sorted(found[1:], key=lambda item: (item[2] != "INFO", item[0]))
        return [(name, parent, strings) for _, name, parent, strings in found]

    def add_values(self, values: list[tuple[str, str, Ranges]]) -> None:
        """Feed values from `values()`, batch after batch in file order."""
        for name, parent, strings in values:
            field = self.fields.get((name, parent))
            if field is None:
                field = self.fields[(name, parent)] = CardinalityAccumulator(name, parent)
            field.add(strings)

    def results(self) -> list[CardinalityResult]:
        """Each field's table model over the values it was fed (within `--sample`)."""
        return [field.result() for field in self.fields.values()]

