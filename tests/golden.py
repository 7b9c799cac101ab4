"""Golden records: each `golden/<case>.json` holds the CLI arguments and the expected record.

`python tests/golden.py CASE ARG...` (re)writes one case from the current code and prints the
record, to be checked by eye before it is committed; `python tests/golden.py --all` rewrites
every existing case. Arguments under `fixtures/` are stored relative to the repository root.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = HERE / "golden"
VOLATILE_KEYS = ("record_id", "created")


def stable(record: dict[str, object]) -> dict[str, object]:
    """The record without the keys that differ on every run."""
    return {key: value for key, value in record.items() if key not in VOLATILE_KEYS}


def absolute_args(args: list[str]) -> list[str]:
    return [str(ROOT / arg) if arg.startswith("fixtures/") else arg for arg in args]


def load_cases() -> dict[str, dict[str, object]]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(GOLDEN.glob("*.json"))}


def write_case(name: str, args: list[str]) -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    from conftest import run_cli

    result = run_cli("record", *absolute_args(args), "--json")
    if result.code != 0:
        raise SystemExit(f"{name}: genotel exited {result.code}: {result.err}")
    case = {"args": args, "record": stable(result.json())}  # type: ignore[arg-type]
    (GOLDEN / f"{name}.json").write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return case


if __name__ == "__main__":
    if sys.argv[1:] == ["--all"]:
        for case_name, case in load_cases().items():
            write_case(case_name, case["args"])  # type: ignore[arg-type]
            print(f"rewrote {case_name}")
    elif len(sys.argv) >= 3:
        print(json.dumps(write_case(sys.argv[1], sys.argv[2:]), indent=2, ensure_ascii=False))
    else:
        raise SystemExit(__doc__)
