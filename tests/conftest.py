"""Shared test helpers: where the fixtures are, and running the CLI in-process."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import zstandard

from genotel.cli import main
from genotel.engine import extract, make_record
from genotel.options import DEFAULT_CODEC_LEVEL, Options

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
pytest_plugins = ["collector"]  # the `server` fixture: a real collector per backend, shared by the run


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


def run_cli(*args: str | Path) -> CliResult:
    """Run `genotel ARGS` in this process and capture what it prints."""
    out, err = io.StringIO(), io.StringIO()
    code = main([str(arg) for arg in args], stdout=out, stderr=err)
    return CliResult(code, out.getvalue(), err.getvalue())


def record_of(path: Path, **options: object) -> dict[str, object]:
    """The record of `path` as JSON-ready data, made in this process."""
    return make_record(path, Options(**options)).to_dict()  # type: ignore[arg-type]


def features(record: dict[str, object]) -> dict[str, str]:
    """The record's `key=value;` features as a dict."""
    items = str(record["features"]).rstrip(";").split(";")
    return dict(item.split("=", 1) for item in items)


def assert_fields_gain_contract(record: dict[str, object], streams: dict[str, tuple[int, int]]) -> None:
    """fields_gain against the probe's streams: largest compressed first, shares exactly 100.0 in all
    (largest remainder, record.py) and each within 0.1 of its true share, ratios text over compressed,
    genozip_gain the overall ratio, and the streams' text adding up to txt_size."""
    items = [item.split(",") for item in str(record["fields_gain"]).split("; ")]
    assert [name for name, _, _ in items] == sorted(streams, key=lambda name: (-streams[name][1], name))
    total_text, total_compressed = (sum(size[i] for size in streams.values()) for i in (0, 1))
    assert round(sum(float(share.rstrip("%")) for _, share, _ in items), 1) == 100.0
    for name, share, ratio in items:
        text, compressed = streams[name]
        assert abs(float(share.rstrip("%")) - 100 * compressed / total_compressed) < 0.1
        assert ratio == f"{text / compressed:.1f}X"
    assert record["genozip_gain"] == round(total_text / total_compressed, 1)
    assert total_text == record["source"]["txt_size"]  # type: ignore[index]


ZSTD = zstandard.ZstdCompressor(level=DEFAULT_CODEC_LEVEL, write_checksum=False, write_content_size=False)


def text_of(path: Path) -> bytes:
    """A text fixture's text (gzip and BGZF inflated)."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def stream_sizes(streams: dict[str, bytes]) -> dict[str, tuple[int, int]]:
    """Text and zstd-compressed size of each stream, as the probe measures them."""
    return {name: (len(value), len(ZSTD.compress(value))) for name, value in streams.items()}


def assert_streams_hold_every_byte(path: Path, reference: dict[str, bytes]) -> None:
    """The probe's streams of `path` against `reference` (the streams cut from its text by a plain
    Python split): the same sizes and compressed sizes, every byte in one, and fields_gain from them."""
    got = {stream: (size, compressed) for stream, size, compressed in extract(path, Options()).streams or []}
    assert got == stream_sizes(reference)
    assert sum(size for size, _ in got.values()) == len(text_of(path))
    assert_fields_gain_contract(record_of(path), got)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test is its own machine: its own GENOTEL_HOME (not created yet), no opt-out variables.

    A licence activated on this machine must never make a test upload or stamp records, and
    tests never touch the user's configuration or salt.
    """
    home = tmp_path / "genotel-home"
    monkeypatch.setenv("GENOTEL_HOME", str(home))
    for name in ("GENOTEL_NO_TELEMETRY", "DO_NOT_TRACK", "GENOTEL_ADMIN_TOKEN", "GENOTEL_SERVER_SECRET",
                 "GENOTEL_LICENCE_KEY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return home
