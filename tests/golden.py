"""Golden records: each `golden/<case>.json` holds the CLI arguments and the expected record.

`python tests/golden.py CASE ARG...` (re)writes one case from the current code and prints the
record, to be checked by eye before it is committed; `python tests/golden.py --all` rewrites
every existing case. Both print what changed in a case (the `genotel diff` report). Arguments
under `fixtures/` are stored relative to the repository root.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from genotel.compare import IGNORED_BY_DEFAULT
from genotel.record_files import VOLATILE_KEYS, stable
from genotel.testing import record_differences

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = HERE / "golden"
# A case holds every key but the volatile ones, and every key it holds is compared.
COMPARED = tuple(key for key in IGNORED_BY_DEFAULT if key not in VOLATILE_KEYS)


def absolute_args(args: list[str]) -> list[str]:
    return [str(ROOT / arg) if arg.startswith("fixtures/") else arg for arg in args]


def load_cases() -> dict[str, dict[str, object]]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(GOLDEN.glob("*.json"))}


def write_case(name: str, args: list[str]) -> tuple[dict[str, object], str]:
    """Write the case from the current code; return it and what changed (the diff report, "" if nothing)."""
    sys.path.insert(0, str(HERE))
    from conftest import run_cli

    result = run_cli("record", *absolute_args(args), "--json")
    if result.code != 0:
        raise SystemExit(f"{name}: genotel exited {result.code}: {result.err}")
    path = GOLDEN / f"{name}.json"
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    case = {"args": args, "record": stable(result.json())}  # type: ignore[arg-type]
    path.write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    changes = record_differences(case, previous, include=COMPARED) if previous else "a new case\n"
    return case, changes


if __name__ == "__main__":
    if sys.argv[1:] == ["--all"]:
        for case_name, case in load_cases().items():
            _, changes = write_case(case_name, case["args"])  # type: ignore[arg-type]
            print(f"rewrote {case_name}: {changes or 'unchanged'}", end="" if changes else "\n")
    elif len(sys.argv) >= 3:
        written, changes = write_case(sys.argv[1], sys.argv[2:])
        print(json.dumps(written, indent=2, ensure_ascii=False))
        print(changes or "unchanged", end="" if changes else "\n", file=sys.stderr)
    else:
        raise SystemExit(__doc__)
