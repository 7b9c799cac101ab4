"""Distinct counting for hash_issues form 1: exact, sketched, the table model, the examples."""

from __future__ import annotations

import numpy as np
import pytest

from genotel.batches import Ranges, Strings
from genotel.record import format_table_size, render_cardinality_issue
from genotel.stats.cardinality import CardinalityAccumulator, InexactMerge
from genotel.stats.distinct_hashes import DistinctHashes, HyperLogLog, value_hashes
from genotel.stats.hashing import hash_strings


def strings(values: list[str]) -> Strings:
    return Strings.from_list([value.encode() for value in values])


def test_hashes_are_equal_for_equal_strings_across_batches() -> None:
    first = hash_strings(strings(["a", "", "abc", "b"]))
    second = hash_strings(strings(["abc", "a", "b", ""]))
    assert sorted(first.tolist()) == sorted(second.tolist())
    assert len(set(first.tolist())) == 4
    assert hash_strings(strings(["ab"]))[0] != hash_strings(strings(["ba"]))[0]


def test_ranges_left_in_their_text_count_as_their_strings_do() -> None:
    """`Ranges` (values not copied out of a chunk, in any order, some overlapping) give the same
    hashes, counts and examples as the same values gathered into `Strings`."""
    text = b"rs1\tabc\t.\t" + b"x" * 300 + b"\trs1\tab\t\t" + b"long_value_of_more_than_a_word"
    pieces = [(0, 3), (4, 7), (8, 9), (10, 310), (311, 314), (315, 317), (318, 318), (319, 349), (4, 6), (8, 9)]
    starts, ends = (np.array(bounds, dtype=np.int64) for bounds in zip(*pieces, strict=True))
    ranges = Ranges(np.frombuffer(text, dtype=np.uint8), starts, ends)
    gathered = Strings.from_list([text[start:end] for start, end in pieces])
    assert [ranges[i] for i in range(len(ranges))] == gathered.to_list()
    assert value_hashes(ranges).tolist() == value_hashes(gathered).tolist()
    results = []
    for values in (ranges, gathered):
        accumulator = CardinalityAccumulator("ID")
        accumulator.add(values)
        results.append(accumulator.result())
    assert results[0] == results[1]
    assert results[0].distinct == len(set(gathered.to_list())) == 7


def test_sketch_registers_are_leading_zeros_plus_one() -> None:
    # Register = the hash's top 16 bits; its rank = 1 + the leading zeros of the other 48 bits
    # (at most 49), as Python's int.bit_length counts them.
    values = [1, 2, 3, 1 << 31, (1 << 32) - 1, 1 << 32, (1 << 63) + 5, (1 << 64) - 1, 0xFFFF << 48, 7 << 48]
    sketch = HyperLogLog()
    sketch.add(np.array(values, dtype=np.uint64))
    expected = np.zeros(1 << 16, dtype=np.uint8)
    for value in values:
        rest = (value << 16) & ((1 << 64) - 1)
        rank = 1 + 64 - (rest | 1 << 15).bit_length()
        expected[value >> 48] = max(expected[value >> 48], rank)
    assert sketch.registers.tolist() == expected.tolist()


def test_distinct_hashes_is_an_exact_set_and_marks_first_new_occurrences() -> None:
    rng = np.random.default_rng(7)
    table = DistinctHashes()
    seen: set[int] = set()
    for _ in range(50):  # the table grows several times on the way
        # Repeats inside a batch too; small numbers all start probing at slot 0 (long chains).
        batch = rng.integers(1, 5000, size=300).astype(np.uint64)
        first_new = table.add(batch)
        expected = []
        for value in batch.tolist():
            expected.append(value not in seen)
            seen.add(value)
        assert first_new.tolist() == expected
    assert table.size == len(seen)
    assert sorted(table.values().tolist()) == sorted(seen)
    probe = np.array([1, 2, 4999, 5000, 123456], dtype=np.uint64)
    assert table.contains(probe).tolist() == [value in seen for value in probe.tolist()]
    zero = DistinctHashes()
    assert zero.add(np.array([0, 0, 5], dtype=np.uint64)).tolist() == [True, False, True]
    assert zero.contains(np.array([0, 7], dtype=np.uint64)).tolist() == [True, False]


def test_hyperloglog_within_two_percent() -> None:
    sketch = HyperLogLog()
    for start in range(0, 3_000_000, 500_000):
        sketch.add(hash_strings(strings([f"n{i}" for i in range(start, start + 500_000)])))
    assert abs(sketch.estimate() / 3_000_000 - 1) < 0.02
    small = HyperLogLog()
    small.add(hash_strings(strings([f"v{i % 1000}" for i in range(10_000)])))
    assert abs(small.estimate() - 1000) < 20


def test_examples_are_first_three_and_last_three_new_values_in_order() -> None:
    accumulator = CardinalityAccumulator("QNAME")
    accumulator.add(strings(["a", "b", "a", "c", "d"]))
    accumulator.add(strings(["b", "e", "f", "f", "g"]))
    result = accumulator.result()
    assert result.distinct == 7
    assert result.examples == ["a", "b", "c", "e", "f", "g"]


def test_few_values_give_each_example_once() -> None:
    accumulator = CardinalityAccumulator("RNAME")
    accumulator.add(strings(["x", "y", "x", "z", "w"]))
    assert accumulator.result().examples == ["x", "y", "z", "w"]


def test_table_model_from_the_first_records() -> None:
    # 10,000 records with 100 distinct values, file of 1,000,000 records: estimate 10,000,
    # table = next power of two >= 50,000 = 65,536 entries.
    accumulator = CardinalityAccumulator("XX:Z")
    accumulator.add(strings([f"v{i % 100}" for i in range(10_000)]))
    result = accumulator.result(total_records=1_000_000)
    assert result.table_entries == 65_536 and result.occupancy_percent == 0 and not result.reported


def test_a_field_that_grows_later_overflows_its_table() -> None:
    accumulator = CardinalityAccumulator("TOKEN", "QNAME")
    accumulator.add(strings(["same"] * 10_000))  # model: 1 distinct value -> table of 8
    accumulator.add(strings([f"u{i}" for i in range(20)]))
    result = accumulator.result()
    assert result.table_entries == 8 and result.distinct == 21 and result.occupancy_percent == 262
    assert result.reported
    line = render_cardinality_issue(result.name, result.parent, result.table_entries, result.occupancy_percent,
                                    result.examples)  # fmt: skip
    assert line == "TOKEN,QNAME,8 B,262%,same,u0,u1,u17,u18,u19"


def test_past_the_exact_cap_the_sketch_counts() -> None:
    accumulator = CardinalityAccumulator("QNAME", exact_cap=1000)
    for start in range(0, 200_000, 20_000):
        accumulator.add(strings([f"r{i}" for i in range(start, start + 20_000)]))
    assert accumulator.exact is None
    assert abs(accumulator.distinct / 200_000 - 1) < 0.02
    assert accumulator.result().examples[-3:] == ["r199997", "r199998", "r199999"]


@pytest.mark.parametrize(
    ("entries", "text"), [(512, "512 B"), (1024, "1.0 KB"), (524_288, "512.0 KB"), (3 << 20, "3.0 MB")]
)
def test_table_size_units(entries: int, text: str) -> None:
    assert format_table_size(entries) == text


def test_batches_without_repeats_count_as_batches_with_them() -> None:
    # A batch whose values all differ skips the table's search for repeats; the counts and the
    # examples are those of the same values with a repeat inside each batch.
    names = [f"r{i}" for i in range(300)]
    batches = [names[0:100], names[50:150], names[150:300]]
    for cap in (10_000, 120):  # exact throughout, and past the exact cap from the third batch
        plain, repeated = CardinalityAccumulator("QNAME", exact_cap=cap), CardinalityAccumulator("QNAME", exact_cap=cap)
        for batch in batches:
            plain.add(strings(batch))
            repeated.add(strings([*batch, batch[-1]]))
        assert plain.result().examples == repeated.result().examples == ["r0", "r1", "r2", "r297", "r298", "r299"]
        assert plain.distinct == repeated.distinct
    assert plain.exact is None
    exact = CardinalityAccumulator("QNAME")
    for batch in batches:
        exact.add(strings(batch))
    assert exact.distinct == 300 and exact.model_distinct == 300


MASK = (1 << 64) - 1
SALT = 0x9E3779B97F4A7C15


def mix(x: int) -> int:
    """splitmix64's finaliser in plain Python integers."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def plain_polynomial_hash(value: bytes) -> int:
    """`hash_strings` for one value, in plain Python integers."""
    total = sum((byte + 1) * pow(0x100000001B3, len(value) - 1 - at, 1 << 64) for at, byte in enumerate(value))
    return mix((total & MASK) ^ ((len(value) * SALT) & MASK))


def test_hash_strings_equal_a_plain_python_polynomial_hash() -> None:
    rng = np.random.default_rng(5)
    values = [b"", b"a", bytes(255), bytes(256), bytes(257), b"\xff" * 1000]
    values += [rng.integers(0, 256, int(rng.integers(0, 700)), dtype=np.uint8).tobytes() for _ in range(30)]
    assert hash_strings(Strings.from_list(values)).tolist() == [plain_polynomial_hash(value) for value in values]
    # value_hashes: the word hash up to WORD_HASH_MAX bytes, the polynomial one beyond
    expected = [plain_word_hash(value) if len(value) <= 256 else plain_polynomial_hash(value) for value in values]
    assert value_hashes(Strings.from_list(values)).tolist() == expected


def plain_word_hash(value: bytes) -> int:
    """`value_hashes` for one value up to WORD_HASH_MAX bytes, in plain Python integers."""
    mask, salt = MASK, SALT
    mixed = (len(value) * salt) & mask
    for start in range(0, len(value), 8):
        mixed = mix(mixed ^ int.from_bytes(value[start : start + 8].ljust(8, b"\0"), "little"))
    return mix(mixed ^ salt)


def test_value_hashes_equal_a_plain_python_word_hash() -> None:
    rng = np.random.default_rng(11)
    batches = [[b""], [b"a"], [b"12345678", b"1234567", b"123456789"], [bytes(22)] * 3]
    for _ in range(40):
        width = int(rng.integers(0, 40))
        batches.append(
            [rng.integers(0, 256, int(rng.integers(0, width + 1)), dtype=np.uint8).tobytes() for _ in range(9)]
        )
    for batch in batches:
        assert value_hashes(Strings.from_list(batch)).tolist() == [plain_word_hash(value) for value in batch]


def test_a_merge_says_when_the_later_part_did_not_keep_the_examples() -> None:
    """The whole file's last new values are the later part's last values that the earlier part
    never saw; when its kept values (the last 32 of its own new ones) hold too few of those, the
    merge says so instead of guessing (the engine then reads the file in one part)."""
    shared = [f"v{index}".encode() for index in range(100)]

    def accumulator(values: list[bytes]) -> CardinalityAccumulator:
        part = CardinalityAccumulator("F")
        part.add(Strings.from_list(values))
        return part

    whole = accumulator([*shared, b"fresh", *shared[:40]])
    first = accumulator(shared)
    with pytest.raises(InexactMerge, match="F"):
        first.merge(accumulator([b"fresh", *shared[:40]]))  # "fresh" is behind 40 old values
    first = accumulator(shared)
    first.merge(accumulator([*shared[:40], b"fresh"]))  # kept: the merge is exact
    assert first.result().examples == accumulator(shared + shared[:40] + [b"fresh"]).result().examples
    assert whole.result().examples[-3:] == ["v98", "v99", "fresh"]
