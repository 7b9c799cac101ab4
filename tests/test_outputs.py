"""A user's files are safe: genotel never writes to an input, and never replaces or truncates a file it
did not write (--output, --telemetry=PATH); --telemetry and --deep never swallow an input file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genotel.cli import SEND_ONCE, telemetry_without_path

from conftest import FIXTURES, run_cli

GENOTEL = Path(sys.executable).parent / "genotel"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    """Copies of two BAMs and a FASTQ, so that a test that fails cannot harm the fixtures."""
    names = ("aln_bwa.bam", "aln_minimap2.bam", "reads_R1.fastq.gz", "reads_R2.fastq.gz")
    for name in names:
        shutil.copy(FIXTURES / name, tmp_path / name)
    return [tmp_path / name for name in names]


def unchanged(paths: list[Path]) -> bool:
    return all(digest(path) == digest(FIXTURES / path.name) for path in paths)


def test_telemetry_alone_never_takes_the_next_file_as_its_path(inputs: list[Path], tmp_path: Path) -> None:
    """`genotel record --telemetry a.bam b.bam` records both files (the real console script)."""
    home = tmp_path / "home"
    done = subprocess.run(
        [GENOTEL, "record", "--telemetry", inputs[0], inputs[1], "--json"],
        capture_output=True, text=True, check=False, env={"GENOTEL_HOME": str(home), "PATH": ""},
    )  # fmt: skip
    assert unchanged(inputs)
    records = json.loads(done.stdout)
    assert [record["programs"] for record in records] == ["bwa;samtools;", "minimap2;samtools;"]
    # `--telemetry` alone sends; with no licence activated that is the one error.
    assert done.returncode == 2
    assert done.stderr.startswith("genotel: error: --telemetry sends the record, but no licence is activated")


@pytest.mark.parametrize("option", ["--telemetry={}", "--output {}"])
def test_an_input_is_never_an_output(inputs: list[Path], option: str) -> None:
    for target in (inputs[0], inputs[0].parent / ".." / inputs[0].parent.name / inputs[0].name):
        named = option.format(target)
        result = run_cli("record", inputs[0], inputs[1], *(named.split(" ") if " " in named else [named]), "--force")
        assert result.code == 2
        why = "that is one of the input files; genotel never writes to an input"
        assert result.err == f"genotel: error: {named}: {why}\n"
    assert unchanged(inputs)


def test_a_hard_link_to_an_input_is_the_input(inputs: list[Path], tmp_path: Path) -> None:
    link = tmp_path / "other_name.json"
    link.hardlink_to(inputs[0])
    result = run_cli("record", inputs[0], f"--telemetry={link}", "--force")
    assert result.code == 2 and "that is one of the input files" in result.err
    assert unchanged(inputs)


def test_deep_reads_are_inputs_too(inputs: list[Path]) -> None:
    result = run_cli("record", inputs[0], "--deep", inputs[2], f"--output={inputs[2]}")
    assert result.code == 2 and "that is one of the input files" in result.err
    assert unchanged(inputs)


def test_deep_takes_one_file_per_option_and_leaves_the_inputs_alone(inputs: list[Path]) -> None:
    """`--deep R1.fq sample.bam` records the BAM: each --deep takes exactly one FASTQ."""
    paired = run_cli("record", "--deep", inputs[2], "--deep", inputs[3], inputs[0], "--json")
    assert paired.code == 0, paired.err
    assert "deep=" in paired.json()["features"]  # type: ignore[index]
    single = run_cli("record", "--deep", inputs[2], inputs[0], inputs[1], "--json")
    assert single.code == 0, single.err
    assert len(single.json()) == 2  # type: ignore[arg-type]
    three = run_cli("record", inputs[0], "--deep", inputs[2], "--deep", inputs[3], "--deep", inputs[2])
    assert three.code == 2 and "--deep takes one or two FASTQ files (--deep R1 [--deep R2]), got 3" in three.err
    assert unchanged(inputs)


def test_option_prefixes_are_not_expanded(inputs: list[Path]) -> None:
    """`--tele a.bam` would otherwise be `--telemetry a.bam`."""
    result = run_cli("record", "--tele", inputs[0], inputs[1])
    assert result.code == 2 and "unrecognized arguments: --tele" in result.err
    assert unchanged(inputs)


def test_telemetry_refuses_a_file_genotel_did_not_write(inputs: list[Path], tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    result = run_cli("record", inputs[0], f"--telemetry={notes}")
    assert result.code == 2
    assert result.err == (f"genotel: error: --telemetry={notes}: the file exists and genotel did not write it; "
                          "choose another path, or pass --force to replace it\n")  # fmt: skip
    assert notes.read_text() == "my notes\n"
    forced = run_cli("record", inputs[0], f"--telemetry={notes}", "--force")
    assert forced.code == 0
    assert json.loads(notes.read_text())["data_type"] == "BAM"


def test_telemetry_replaces_its_own_file(inputs: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "telemetry.json"
    assert run_cli("record", inputs[0], inputs[1], f"--telemetry={target}").code == 0
    assert len(json.loads(target.read_text())) == 2
    assert run_cli("record", inputs[0], f"--telemetry={target}").code == 0
    assert json.loads(target.read_text())["programs"] == "bwa;samtools;"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([*(p.name for p in inputs), "telemetry.json"])


def test_output_refuses_a_file_genotel_did_not_write(inputs: list[Path], tmp_path: Path) -> None:
    for content, line in ((b"my notes\n", 1), (b"", None)):
        notes = tmp_path / "notes.jsonl"
        notes.write_bytes(content)
        result = run_cli("record", inputs[0], f"--output={notes}")
        if line is None:  # an empty file is taken, as a new one would be
            assert result.code == 0 and json.loads(notes.read_text())["record"]["data_type"] == "BAM"
            continue
        assert result.code == 2
        assert result.err == (f"genotel: error: --output {notes}: it does not start with a genotel record line; "
                              "genotel appends only to its own JSON lines files\n")  # fmt: skip
        assert notes.read_bytes() == content


def test_output_refuses_a_genotel_file_with_a_foreign_line(inputs: list[Path], tmp_path: Path) -> None:
    output = tmp_path / "records.jsonl"
    assert run_cli("record", inputs[0], f"--output={output}").code == 0
    with output.open("a") as stream:
        stream.write("a line someone added\n")
    before = output.read_bytes()
    result = run_cli("record", inputs[1], f"--output={output}")
    assert result.code == 2 and "line 2 is not a genotel record line" in result.err
    assert output.read_bytes() == before


def test_output_cuts_only_its_own_partial_line(inputs: list[Path], tmp_path: Path) -> None:
    output = tmp_path / "records.jsonl"
    assert run_cli("record", inputs[0], f"--output={output}").code == 0
    whole = output.read_bytes()
    output.write_bytes(whole + whole[:40])  # a crash in the middle of the second line
    assert run_cli("record", inputs[1], f"--output={output}").code == 0
    lines = output.read_text().splitlines()
    assert [Path(json.loads(line)["file"]).name for line in lines] == ["aln_bwa.bam", "aln_minimap2.bam"]
    output.write_bytes(whole + b"not ours")
    result = run_cli("record", inputs[1], f"--output={output}")
    assert result.code == 2 and "line 2 is not a genotel record line" in result.err
    assert output.read_bytes() == whole + b"not ours"


def test_a_folder_is_not_an_output(inputs: list[Path], tmp_path: Path) -> None:
    for option in ("--output", "--telemetry"):
        result = run_cli("record", inputs[0], f"{option}={tmp_path}")
        assert result.code == 2 and "is a folder; name a file" in result.err


def test_telemetry_keeps_its_value_outside_record() -> None:
    assert telemetry_without_path(["activate", "--telemetry", "yes"]) == ["activate", "--telemetry", "yes"]
    assert telemetry_without_path(["record", "--telemetry", "a.bam"]) == ["record", f"--telemetry={SEND_ONCE}", "a.bam"]
    assert telemetry_without_path(["record", "--", "--telemetry"]) == ["record", "--", "--telemetry"]


def test_a_replaced_telemetry_file_keeps_its_permissions(inputs: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "telemetry.json"
    umask = os.umask(0o027)
    try:
        assert run_cli("record", inputs[0], f"--telemetry={target}").code == 0
    finally:
        os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o640  # a new file: 0666 less the umask
    target.chmod(0o604)
    assert run_cli("record", inputs[1], f"--telemetry={target}").code == 0
    assert target.stat().st_mode & 0o777 == 0o604  # a replaced file: its own permissions


def test_record_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli("record", "--help")
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert "[--telemetry[=PATH]]" in shown and "--telemetry =PATH" not in shown
    assert "Records hold no file names" in " ".join(shown.split())


def test_every_copy_of_a_record_carries_the_licence(inputs: list[Path], tmp_path: Path) -> None:
    """--output lines, --json and --telemetry=PATH hold the same record, license_num included."""
    from genotel.client.upload import ClientConfig, save_config

    save_config(ClientConfig("http://127.0.0.1:9", 4242, "k" * 64, "research", False, False))
    output, telemetry = tmp_path / "records.jsonl", tmp_path / "telemetry.json"
    result = run_cli("record", inputs[0], f"--output={output}", f"--telemetry={telemetry}", "--json")
    assert result.code == 0, result.err
    line = json.loads(output.read_text())["record"]
    assert line["license_num"] == result.json()["license_num"] == 4242  # type: ignore[index]
    assert line == result.json() == json.loads(telemetry.read_text())
