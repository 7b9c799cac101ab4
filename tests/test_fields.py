"""Splitting tab-separated lines into fields and SAM field streams, checked against Python."""

from __future__ import annotations

import numpy as np

from genotel.batches import COPY_WIDTH, Strings, gather, gather_by_positions
from genotel.extractors.sam.fields import SamDictionaryAccumulator, SamText, add_sam_streams
from genotel.stats.fields import separators_text, split_fields
from genotel.stats.gain import GainProbe
from genotel.stats.read_name_fields import name_tokens
from genotel.textio import split_lines

from conftest import FIXTURES


def lines_of(text: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    batch = split_lines(text, 1)
    return batch.data, batch.starts, batch.ends


def test_split_fields_matches_str_split() -> None:
    text = b"a\tbb\t\tc\n\nx\ny\tz\n"
    data, starts, ends = lines_of(text)
    fields = split_fields(data, starts, ends)
    got = [bytes(data[s:e]) for s, e in zip(fields.start, fields.end, strict=True)]
    expected = [field for line in text.split(b"\n")[:-1] for field in line.split(b"\t")]
    assert got == expected
    assert fields.per_line.tolist() == [4, 1, 1, 2]
    assert fields.column.tolist() == [0, 1, 2, 3, 0, 0, 0, 1]
    assert bytes(gather(data, fields.start[fields.column == 1], fields.end[fields.column == 1])) == b"bbz"
    assert bytes(separators_text(fields.per_line)) == b"\t\t\t\n\n\n\t\n"


def test_sam_streams_cover_every_byte_of_the_records() -> None:
    text = (FIXTURES / "aln_qname.sam").read_bytes()
    header_size = sum(len(line) + 1 for line in text.split(b"\n") if line.startswith(b"@"))
    records = text[header_size:]
    data, starts, ends = lines_of(records)
    probe = GainProbe(chunk_bytes=1 << 16)
    add_sam_streams(probe, SamText.from_lines(data, starts, ends))
    sizes = {size.name: size.text_size for size in probe.result()}
    assert sum(sizes.values()) == len(records)
    lines = records.split(b"\n")[:-1]
    assert sizes["QNAME"] == sum(len(line.split(b"\t")[0]) for line in lines)
    assert sizes["SEQ"] == sum(len(line.split(b"\t")[9]) for line in lines)
    tag_sizes: dict[str, int] = {}
    for line in lines:
        for tag in line.split(b"\t")[11:]:
            tag_sizes[tag[:4].decode()] = tag_sizes.get(tag[:4].decode(), 0) + len(tag)
    assert {name: sizes[name] for name in tag_sizes} == tag_sizes
    assert sizes["Other"] == sum(line.count(b"\t") + 1 for line in lines)


def test_name_tokens_cut_at_separators() -> None:
    names = Strings.from_list([b"A00910:85:HY:1", b"SRR1.57", b"plain", b""])
    tokens = [token.to_list() for token in name_tokens(names)]
    assert tokens == [
        [b"A00910", b"SRR1", b"plain", b""],
        [b"85", b"57", b"", b""],
        [b"HY", b"", b"", b""],
        [b"1", b"", b"", b""],
    ]


def test_sam_dictionary_fields_of_a_fixture() -> None:
    text = (FIXTURES / "aln_qname.sam").read_bytes()
    header_size = sum(len(line) + 1 for line in text.split(b"\n") if line.startswith(b"@"))
    lines = text[header_size:].split(b"\n")[:-1]
    dictionary = SamDictionaryAccumulator()
    dictionary.add(SamText.from_lines(*lines_of(text[header_size:])))
    results = {result.name: result for result in dictionary.results(len(lines))}
    assert results["QNAME"].distinct == len({line.split(b"\t")[0] for line in lines})
    assert results["CIGAR"].distinct == len({line.split(b"\t")[5] for line in lines})
    assert results["RNAME"].examples == ["ec536_a"]
    assert results["QNAME1"].parent == "QNAME"
    assert "RG:Z" in results and "MD:Z" in results and "AS:i" not in results


def test_gather_copies_every_range_exactly() -> None:
    """Item copies (short ranges), in-range items (long ones), rows of one length, empty ranges and the
    end of the data all agree with a plain copy."""
    rng = np.random.default_rng(7)
    widths = [0, 1, 2, 5, COPY_WIDTH - 1, COPY_WIDTH, COPY_WIDTH + 1, 2 * COPY_WIDTH, 2 * COPY_WIDTH + 3, 100]
    for round_number in range(300):
        data = rng.integers(0, 256, int(rng.integers(1, 2000))).astype(np.uint8)
        starts = rng.integers(0, len(data), int(rng.integers(1, 300)))
        if round_number % 3 == 0:  # every range of one length (the row copy), unless clipped at the end
            lengths = np.full(len(starts), rng.choice(widths))
        else:
            lengths = rng.choice(widths, len(starts))
            starts[-1] = len(data) - 1  # a range at the very end
        ends = starts + np.minimum(lengths, len(data) - starts)
        expected = b"".join(data[start:end].tobytes() for start, end in zip(starts, ends, strict=True))
        assert gather(data, starts, ends).tobytes() == expected
        assert gather_by_positions(data, starts, ends).tobytes() == expected
    empty = np.zeros(0, dtype=np.int64)
    assert gather(np.zeros(5, dtype=np.uint8), empty, empty).tobytes() == b""

