"""The SAM field streams of the compressibility probe: 11 columns, one stream per tag, Other.

Input is SAM text lines (from a SAM file, or made from BAM/CRAM records); every byte of them
lands in exactly one stream, so the streams' text sizes add up to the text size of the records.
"""

from __future__ import annotations

import numpy as np

from .fields import gather, separators_text, split_fields
from .gain import GainProbe

SAM_COLUMNS = ("QNAME", "FLAG", "RNAME", "POS", "MAPQ", "CIGAR", "RNEXT", "PNEXT", "TLEN", "SEQ", "QUAL")
TAG_KEY_BYTES = 4  # a tag field starts `XX:t`, which names its stream


def add_sam_lines(probe: GainProbe, data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
    """Add the fields of the SAM record lines `data[starts[i]:ends[i]]` (no newline) to `probe`."""
    if len(starts) == 0:
        return
    fields = split_fields(data, starts, ends)
    for column, name in enumerate(SAM_COLUMNS):
        chosen = fields.column == column
        probe.add(name, gather(data, fields.start[chosen], fields.end[chosen]))
    tags = np.flatnonzero(fields.column >= len(SAM_COLUMNS))
    if len(tags):
        tag_start, tag_end = fields.start[tags], fields.end[tags]
        short = tag_end - tag_start < TAG_KEY_BYTES
        # The key `XX:t` as one integer per tag field (malformed short tags share key 0).
        key_bytes = data[np.minimum(tag_start[:, None] + np.arange(TAG_KEY_BYTES), len(data) - 1)]
        keys = np.where(short, 0, key_bytes.astype(np.uint32) @ (256 ** np.arange(TAG_KEY_BYTES, dtype=np.uint32)))
        for key in np.unique(keys):  # a handful of distinct tags per file
            chosen = keys == key
            first = int(np.flatnonzero(chosen)[0])
            name = "Other" if short[first] else bytes(key_bytes[first]).decode("ascii", "replace")
            probe.add(name, gather(data, tag_start[chosen], tag_end[chosen]))
    probe.add("Other", separators_text(fields.per_line))
