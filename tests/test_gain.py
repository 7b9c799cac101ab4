"""The compressibility probe: sizes per stream, sampling, and the fields_gain string."""

from __future__ import annotations

import numpy as np
import pytest
import zstandard

from genotel.record import render_fields_gain
from genotel.stats import gain
from genotel.stats.gain import GainProbe, chunk_selected


def test_sizes_per_stream_equal_zstd_of_each_chunk() -> None:
    probe = GainProbe(level=3, chunk_bytes=1000)
    qual = b"IIIIIIII55555555" * 200  # 3,200 bytes: chunks of 1,000 + remainder
    for start in range(0, len(qual), 300):
        probe.add("QUAL", qual[start : start + 300])
    probe.add("POS", b"1\t2\t3\n")
    sizes = {size.name: size for size in probe.result()}
    assert sizes["QUAL"].text_size == 3200 and sizes["POS"].text_size == 6
    compressor = zstandard.ZstdCompressor(level=3, write_checksum=False, write_content_size=False)
    expected = sum(len(compressor.compress(qual[i : i + 1000])) for i in (0, 1000, 2000, 3000))
    assert sizes["QUAL"].compressed_size == expected
    assert [size.name for size in probe.result()] == ["QUAL", "POS"]


def test_sizes_do_not_depend_on_how_text_is_split_into_adds() -> None:
    text = bytes(range(256)) * 50 + b"ACGT" * 3000
    results = []
    for piece in (1, 7, 300, 999, 5000):
        probe = GainProbe(chunk_bytes=1000)
        for start in range(0, len(text), piece):
            probe.add("S", text[start : start + piece])
        results.append(probe.result()[0].compressed_size)
    assert len(set(results)) == 1


def test_memory_bound_compresses_the_fullest_stream_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_BUFFERED_BYTES in all, the fullest stream's text is compressed as a chunk of its
    own; numpy arrays (strided ones too) count as their bytes."""
    monkeypatch.setattr(gain, "MAX_BUFFERED_BYTES", 1500)
    zstd = zstandard.ZstdCompressor(level=1, write_checksum=False, write_content_size=False)
    first = bytes(range(256)) * 4
    pairs = np.frombuffer(b"xy" * 800, dtype=np.uint8)
    probe = GainProbe(level=1, chunk_bytes=1000)
    probe.add("A", first[:900])
    probe.add("B", pairs[::2])  # 800 bytes of "x": 1,700 buffered, so A's 900 go now
    probe.add("A", first[900:])
    sizes = {size.name: size for size in probe.result()}
    assert (sizes["A"].text_size, sizes["B"].text_size) == (1024, 800)
    assert sizes["A"].compressed_size == len(zstd.compress(first[:900])) + len(zstd.compress(first[900:]))
    assert sizes["B"].compressed_size == len(zstd.compress(b"x" * 800))


def test_chunk_sampling_is_deterministic_and_keeps_the_first() -> None:
    chosen = [index for index in range(100) if chunk_selected(index, 0.1)]
    assert chosen[0] == 0 and 10 <= len(chosen) <= 11
    assert chosen == [index for index in range(100) if chunk_selected(index, 0.1)]
    assert all(chunk_selected(index, None) for index in range(5))


def test_sampled_probe_scales_to_the_whole_stream() -> None:
    data = bytes(range(256)) * 4000  # 1,024,000 bytes of one repeated pattern
    full, sampled = GainProbe(chunk_bytes=10_000), GainProbe(chunk_bytes=10_000, sample_fraction=0.2)
    for probe in (full, sampled):
        probe.add("X", data)
    full_size, sampled_size = full.result()[0], sampled.result()[0]
    assert sampled_size.text_size == full_size.text_size
    assert abs(sampled_size.compressed_size / full_size.compressed_size - 1) < 0.05


def test_fields_gain_string() -> None:
    text, gain = render_fields_gain([("SEQ", 1000, 100), ("QUAL", 1500, 300), ("Other", 50, 1), ("EMPTY", 0, 0)])
    assert text == "QUAL,74.8%,5.0X; SEQ,24.9%,10.0X; Other,0.3%,50.0X"  # largest remainder: 0.249 -> 0.3
    assert gain == 6.4  # 2,550 / 401
    assert render_fields_gain([]) == ("", 0.0)


def test_shares_always_add_up_to_exactly_100() -> None:
    streams = [(f"S{index}", 1000, 7 + index) for index in range(23)]
    text, _ = render_fields_gain(streams)
    shares = [float(item.split(",")[1].rstrip("%")) for item in text.split("; ")]
    assert round(sum(shares), 1) == 100.0
    exact = [100 * (7 + index) / sum(7 + i for i in range(23)) for index in range(23)]
    assert all(abs(share - value) < 0.1 for share, value in zip(sorted(shares), sorted(exact), strict=True))
