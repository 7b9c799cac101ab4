"""FASTQ fast paths against their plain counterparts: each must give exactly what the plain one gives.

The record kernel against Python's own bytes operations, the reader's chunking, the padded-row
gathers, quality counting from the characters, the read-name tokens cut by a separator table and
the probe's `Other` stream from its size alone.
"""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import numpy as np
import pytest

from genotel.batches import Strings, gather
from genotel.extractors.fastq.fields import _other, _plain_other, _stream_ranges
from genotel.extractors.fastq.parse import NumpyFastqReader, parse_records
from genotel.stats.line_spans import MAX_PADDED_WIDTH, gather_lines
from genotel.stats.qual import QualAcgtAccumulator
from genotel.stats.read_name_fields import MAX_NAME_TOKENS, name_tokens
from genotel.textio import line_batches
from test_fastq import FASTQ_FIXTURES, GOOD, write

from conftest import FIXTURES

VARIANTS = {
    "as-is": lambda text: text,
    "crlf": lambda text: text.replace(b"\n", b"\r\n"),
    "no-final-newline": lambda text: text[:-1],
}


def joined_line_batch_sizes(path: Path, codec: str, chunk_bytes: int) -> list[int]:
    """Records per batch when each chunk of `textio.line_batches`, joined to the lines carried
    from the last, gives its whole records: the batch boundaries the reader must keep."""
    sizes, lines, records = [], 0, 0
    for chunk in line_batches(path, codec, chunk_bytes):
        lines += len(chunk)
        if lines // 4 > records:
            sizes.append(lines // 4 - records)
            records = lines // 4
    return sizes


@pytest.mark.parametrize("chunk_bytes", [1, 7, 64, 4099, 65536])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", FASTQ_FIXTURES)
def test_batches_end_where_joined_line_batches_ended(tmp_path: Path, name: str, variant: str, chunk_bytes: int) -> None:
    # The batches decide how the distinct-value counting cuts its work (and, past its exact cap,
    # which values count as new), so the reader keeps these boundaries exactly.
    text = (FIXTURES / name).read_bytes()
    if name.endswith(".gz"):
        text = gzip.decompress(text)
    if chunk_bytes < 1000:  # the first 40 records: thousands of chunks already
        text = b"".join(line + b"\n" for line in text.split(b"\n")[: 4 * 40])
    path = write(tmp_path, VARIANTS[variant](text), "BGZF")
    reader = NumpyFastqReader(path, "BGZF", chunk_bytes)
    sizes = [len(batch) for batch in reader if len(batch)]
    assert sizes == joined_line_batch_sizes(path, "BGZF", chunk_bytes)
    assert reader.text_size == len(VARIANTS[variant](text))


def random_spans(
    rng: np.random.Generator, count: int, low: int, high: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lengths = rng.integers(low, high + 1, count)
    gaps = rng.integers(1, 5, count)
    starts = np.cumsum(gaps + np.concatenate(([0], lengths[:-1])))
    data = rng.integers(0, 256, int(starts[-1] + lengths[-1] + rng.integers(0, 3)), dtype=np.uint8)
    return data, starts.astype(np.int64), lengths.astype(np.int64)


@pytest.mark.parametrize(
    ("low", "high"), [(0, 0), (5, 5), (0, 30), (20, 24), (1, MAX_PADDED_WIDTH + 40), (100, 100), (0, 3)]
)
def test_gather_lines_equals_the_gather_by_index(low: int, high: int) -> None:
    rng = np.random.default_rng(low * 1000 + high)
    for count in (0, 1, 2, 50, 3000):
        if not count:
            data, starts, lengths = np.zeros(5, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64)
        else:
            data, starts, lengths = random_spans(rng, count, low, high)
        assert np.array_equal(gather_lines(data, starts, lengths), gather(data, starts, starts + lengths))


def test_gather_lines_with_the_last_span_at_the_end_of_the_data() -> None:
    data = np.frombuffer(b"xxabcdeyyabc", dtype=np.uint8)
    starts, lengths = np.array([2, 9]), np.array([5, 3])
    assert gather_lines(data, starts, lengths).tobytes() == b"abcdeabc"


def test_quality_characters_count_as_their_phred_values() -> None:
    rng = np.random.default_rng(3)
    bases = np.frombuffer(b"ACGTNacgtn-*", dtype=np.uint8)[rng.integers(0, 12, 20_000)]
    chars = rng.integers(0, 256, 20_000).astype(np.uint8)  # below '!' and above '~' too: uint8 wraps
    from_chars, from_phred = QualAcgtAccumulator(), QualAcgtAccumulator()
    from_chars.add(bases, chars, 7, phred_offset=33)
    from_phred.add(bases, chars - np.uint8(33), 7)
    assert from_chars.result() == from_phred.result()
    expected = np.zeros((4, 256), dtype=np.int64)
    for base, phred in zip(bases.tolist(), (chars - np.uint8(33)).tolist(), strict=True):
        if chr(base).upper() in "ACGT":
            expected["ACGT".index(chr(base).upper()), phred] += 1
    assert from_phred.result() == expected.tolist()


def plain_tokens(names: list[bytes]) -> list[list[bytes]]:
    """Token k of every name by re.split at the SAM separators, as many tokens as the longest name has (<= 12)."""
    split = [re.split(rb"[:_./\-# ]", name) for name in names]
    width = min(max(len(parts) for parts in split), MAX_NAME_TOKENS)
    return [[parts[k] if k < len(parts) else b"" for parts in split] for k in range(width)]


def test_name_tokens_equal_a_plain_python_split() -> None:
    rng = random.Random(20241128)
    cases = [[b"NC_008253.1-a2715130/1", b"NC_008253.1-b6/1"], [b""], [b"", b""], [b"a:b", b""], [b"a" * 256]]
    cases.append([b":".join([b"t"] * 20), b"x"])  # more tokens than are counted
    for _ in range(400):
        count = rng.randint(1, 30)
        if rng.random() < 0.5:  # anything
            names = [bytes(rng.choice(b"ab7:_./-# ") for _ in range(rng.randint(0, 12))) for _ in range(count)]
        else:  # one layout of tokens, as in most files
            tokens = rng.randint(0, 15)
            names = [
                b":".join(bytes(rng.choice(b"ab7") for _ in range(rng.randint(1, 3))) for _ in range(tokens + 1))
                for _ in range(count)
            ]
        cases.append(names)
    for names in cases:
        assert [token.to_list() for token in name_tokens(Strings.from_list(names))] == plain_tokens(names)
    assert name_tokens(Strings.from_list([])) == []


PLAIN_AND_ODD = [
    GOOD,
    GOOD[:-1],
    GOOD.replace(b"\n", b"\r\n"),
    GOOD.replace(b"+\n", b"+r\n", 1),
    GOOD + b"\n\n",
    b"@r1\nACGT\n+\nIIII\n@r2\nAC\n+\nII",  # one byte short of the plain layout...
    b"@r1\r\nACGT\n+\nIIII\n@r2\nAC\n+\nII",  # ...made up by a '\r': six bytes a record on average
]


@pytest.mark.parametrize("text", PLAIN_AND_ODD)
@pytest.mark.parametrize("chunk_bytes", [5, 64, 4 << 20])
def test_other_from_its_size_equals_the_gathered_other(tmp_path: Path, text: bytes, chunk_bytes: int) -> None:
    path = write(tmp_path, text)
    for batch in NumpyFastqReader(path, "NONE", chunk_bytes):
        layout = batch.layout
        assert layout is not None
        if not len(batch):
            continue
        named = len(batch.header_strings().buffer) + len(batch.sequences.buffer) + len(batch.quality_text.buffer)
        plain = _plain_other(layout.data, layout.size, layout.line_ends, len(batch), named)
        ranges = _stream_ranges(layout.data, layout.line_starts, layout.line_ends, 0)
        gathered = _other(layout.data, layout.size, layout.line_ends, *ranges)
        if plain is not None:
            assert plain.tobytes() == gathered.tobytes()
        else:
            assert gathered.tobytes() != b"@\n\n+\n\n" * len(batch)


def test_phred_values_of_a_batch() -> None:
    (batch,) = list(NumpyFastqReader(FIXTURES / "reads_interleaved.fastq", "NONE"))
    assert np.array_equal(batch.qualities.buffer + 33, batch.quality_text.buffer)
    assert np.array_equal(batch.qualities.offsets, batch.quality_text.offsets)


def plain_records(text: bytes) -> tuple[bytes, bytes, list[int]]:
    """Bases, quality characters and sequence lengths of whole records, by `bytes.split`."""
    lines = text.split(b"\n")
    records = [lines[4 * record : 4 * record + 4] for record in range(len(lines) // 4)]
    return b"".join(r[1] for r in records), b"".join(r[3] for r in records), [len(r[1]) for r in records]


def kernel_records(text: bytes) -> tuple[bytes, bytes, list[int], list[int]]:
    """parse_records over the whole lines of `text` (each ending in a newline)."""
    data = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    whole = len(ends) - len(ends) % 4
    bases, qualities, offsets, problem = parse_records(data, starts[:whole], ends[:whole])
    return bases.tobytes(), qualities.tobytes(), np.diff(offsets).tolist(), problem.tolist()


EDGE_RECORDS = [
    b"",  # no record
    b"@r\nA\n+\nI\n",  # one record of one base
    b"@r\n\n+\n\n@s\nAC\n+\n!~\n",  # an empty read; qualities 0 and 93
    b"@r\n" + b"ACGTN" * 51 + b"\n+\n" + b"~" * 255 + b"\n",  # 255 bases
    b"@r\n" + b"acgtRYKMSWnx.-*=" * 16 + b"\n+r\n" + bytes(range(33, 127)) * 2 + b"!" * 68 + b"\n",  # 256, not ACGT
]


@pytest.mark.parametrize("text", EDGE_RECORDS)
def test_record_kernel_on_edge_cases(text: bytes) -> None:
    bases, qualities, lengths = plain_records(text)
    assert kernel_records(text) == (bases, qualities, lengths, [0, 0, 0])


@pytest.mark.parametrize("name", FASTQ_FIXTURES)
def test_record_kernel_on_every_fixture(name: str) -> None:
    text = (FIXTURES / name).read_bytes()
    if name.endswith(".gz"):
        text = gzip.decompress(text)
    bases, qualities, lengths = plain_records(text)
    assert len(lengths) > 10 and kernel_records(text) == (bases, qualities, lengths, [0, 0, 0])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"@r\nAC\n+\nII\nr\nAC\n+\nII\n", [1, 1, 0]),  # record 1: no '@'
        (b"@r\nAC\n-\nII\n", [0, 2, 0]),  # no '+'
        (b"@r\nAC\n+\nIII\n", [0, 3, 0]),  # lengths differ
        (b"@r\nAC\n+\nI\x7f\n", [0, 4, 127]),  # a quality past '~'
        (b"@r\nACG\n+\nI I\n@s\nA\n+\n\x00\n", [0, 4, 32]),  # the first record's problem wins
        (b"r\nAC\n+\nI \n", [0, 1, 0]),  # within a record, the header before the qualities
    ],
)
def test_record_kernel_names_the_first_problem(text: bytes, problem: list[int]) -> None:
    bases, qualities, lengths, found = kernel_records(text)
    assert found == problem
    assert len(bases) == len(qualities) == sum(lengths)
    assert lengths == plain_records(text)[2][: problem[0]]  # the records before the bad one
