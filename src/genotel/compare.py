"""Field-aware comparison of two records, and of two sets of records matched by file.

Exact: `schema`, `data_type`, `source` counts, `programs`, `features` and `flags` items.
`qual_acgt` per base, naming the quality characters whose rank moved. `fields_gain` per field
(share and ratio), `genozip_gain` and `source_gain` within a relative tolerance of the old value
(0: equal as printed). `hash_issues` as sets. Keys that depend on the run rather than the file
are ignored unless included (`IGNORED_BY_DEFAULT`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from .record import QUAL_BASES, QUAL_GROUP_SEPARATOR
from .record_files import Entry, file_key

# `file_i` is the flags item `file_i=i/n`: the file's place in its invocation, not a property of it.
IGNORED_BY_DEFAULT = ("record_id", "created", "genotel_version", "license_num", "file_i")
GAIN_KEYS = ("genozip_gain", "source_gain")
SET_KEYS = ("hash_issues",)


@dataclass(frozen=True)
class Change:
    """One difference: `field` of the record, `item` inside it (a feature key, a base, a stream)."""

    field: str
    item: str | None
    old: object
    new: object
    note: str = ""


@dataclass
class FileDiff:
    """The comparison of one file's records; `old` or `new` is None when the file is on one side only."""

    name: str
    old: Entry | None
    new: Entry | None
    changes: list[Change] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed" if self.changes else "same"


@dataclass
class SetDiff:
    matched_by: str  # "file" or "order"
    files: list[FileDiff]

    @property
    def same(self) -> bool:
        return all(diff.status == "same" for diff in self.files)


def tolerance_of(value: str | float) -> Decimal:
    """A relative tolerance from `5%`, `0.05` or 0.05; ValueError unless it is at least 0 and below 1."""
    text = str(value).strip()
    try:
        tolerance = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except ArithmeticError:
        raise ValueError(f"not a tolerance: {value!r} (write 5% or 0.05)") from None
    if not tolerance.is_finite() or not 0 <= tolerance < 1:
        raise ValueError(f"a tolerance is at least 0 and below 100%: {value!r} (write 5% or 0.05)")
    return tolerance


def included_keys(keys: Iterable[str]) -> tuple[str, ...]:
    """`keys` to compare although ignored by default; ValueError for a key that is not one of them."""
    keys = tuple(keys)
    unknown = [key for key in keys if key not in IGNORED_BY_DEFAULT]
    if unknown:
        raise ValueError(f"not among the keys ignored by default ({', '.join(IGNORED_BY_DEFAULT)}): {unknown}")
    return keys


def compare_records(
    old: dict[str, object], new: dict[str, object], tolerance: Decimal = Decimal(0), include: Iterable[str] = ()
) -> list[Change]:
    """The differences between two records, in the record's key order."""
    ignored = set(IGNORED_BY_DEFAULT) - set(include)
    changes: list[Change] = []
    for key in dict.fromkeys([*old, *new]):
        if key in ignored:
            continue
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        changes += _compare_field(key, before, after, tolerance, ignored)
    return changes


def _compare_field(key: str, old: object, new: object, tolerance: Decimal, ignored: set[str]) -> list[Change]:
    if key == "source" and isinstance(old, dict) and isinstance(new, dict):
        return [Change(key, name, old.get(name), new.get(name)) for name in dict.fromkeys([*old, *new])
                if old.get(name) != new.get(name)]  # fmt: skip
    if key in GAIN_KEYS:
        note = _beyond(old, new, tolerance)
        return [Change(key, None, old, new, note)] if note is not None else []
    if not isinstance(old, (str, list)) or not isinstance(new, (str, list)):
        return [Change(key, None, old, new)]  # absent or null on one side, or not a compact string
    if key in SET_KEYS:
        return _set_changes(key, old, new)
    if key == "features":
        return _item_changes(key, _items(str(old), ";"), _items(str(new), ";"), str(old), str(new))
    if key == "flags":
        flags = (_items(str(side), "; ") for side in (old, new))
        before, after = ({name: value for name, value in side.items() if name not in ignored} for side in flags)
        return _item_changes(key, before, after, str(old), str(new)) if before != after else []
    if key == "programs":
        return _program_changes(str(old), str(new))
    if key == "qual_acgt":
        return _qual_changes(str(old), str(new))
    if key == "fields_gain":
        try:
            return _gain_changes(str(old), str(new), tolerance)
        except (ValueError, ArithmeticError):  # not `NAME,P%,RX` items: compared as text
            return [Change(key, None, old, new)]
    return [Change(key, None, old, new)]


def _items(text: str, separator: str) -> dict[str, str | None]:
    """`key=value` items (a bare item has the value None), in order."""
    pairs = (item.partition("=") for item in text.split(separator) if item)
    return {name: value if equals else None for name, equals, value in pairs}


def _item_changes(key: str, old: dict[str, str | None], new: dict[str, str | None], old_text: str, new_text: str
                  ) -> list[Change]:  # fmt: skip
    """Items added, removed or with another value; a bare item (`deep`) is shown with its name."""
    changes = []
    for name in dict.fromkeys([*old, *new]):
        if name not in old:
            changes.append(Change(key, name, None, new[name] or name, "added"))
        elif name not in new:
            changes.append(Change(key, name, old[name] or name, None, "removed"))
        elif old[name] != new[name]:
            changes.append(Change(key, name, old[name], new[name]))
    if not changes and list(old) != list(new):
        changes.append(Change(key, None, old_text, new_text, "same items, in another order"))
    return changes


def _set_changes(key: str, old: object, new: object) -> list[Change]:
    before, after = _as_list(old), _as_list(new)
    removed = [Change(key, None, item, None, "removed") for item in before if item not in after]
    return removed + [Change(key, None, None, item, "added") for item in after if item not in before]


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


def _program_changes(old: str, new: str) -> list[Change]:
    before, after = old.rstrip(";").split(";"), new.rstrip(";").split(";")
    gone = [name for name in before if name not in after]
    came = [name for name in after if name not in before]
    parts = [f"added {', '.join(came)}"] * bool(came) + [f"removed {', '.join(gone)}"] * bool(gone)
    return [Change("programs", None, old, new, "; ".join(parts) or "same programs, in another order")]


def _qual_changes(old: str, new: str) -> list[Change]:
    before, after = old.split(QUAL_GROUP_SEPARATOR), new.split(QUAL_GROUP_SEPARATOR)
    if len(before) != len(QUAL_BASES) or len(after) != len(QUAL_BASES):
        return [Change("qual_acgt", None, old, new)]
    return [Change("qual_acgt", base, was, now, _rank_moves(was, now))
            for base, was, now in zip(QUAL_BASES, before, after, strict=True) if was != now]  # fmt: skip


def _rank_moves(old: str, new: str) -> str:
    """Which quality characters moved rank (1-based), came or went, e.g. `E 4→5, B 5→4; new X`."""
    moved = [f"{char} {old.index(char) + 1}→{new.index(char) + 1}"
             for char in old if char in new and old.index(char) != new.index(char)]  # fmt: skip
    came = [f"{char} at {new.index(char) + 1}" for char in new if char not in old]
    gone = [f"{char} from {old.index(char) + 1}" for char in old if char not in new]
    parts = [f"moved {', '.join(moved)}"] * bool(moved) + [f"new {', '.join(came)}"] * bool(came)
    return "; ".join(parts + [f"gone {', '.join(gone)}"] * bool(gone))


def _gain_changes(old: str, new: str, tolerance: Decimal) -> list[Change]:
    before, after = _streams(old), _streams(new)
    changes = []
    for name in dict.fromkeys([*before, *after]):
        was, now = before.get(name), after.get(name)
        if was is None or now is None:
            note = "added" if was is None else "removed"
            changes.append(Change("fields_gain", name, _gain_item(was), _gain_item(now), note))
            continue
        notes = [f"{label} {note}" for label, a, b in zip(("share", "ratio"), was, now, strict=True)
                 if (note := _beyond(a, b, tolerance)) is not None]  # fmt: skip
        if notes:
            changes.append(Change("fields_gain", name, _gain_item(was), _gain_item(now), ", ".join(notes)))
    if not changes and not tolerance and old != new:  # exact: the printed string, order included
        changes.append(Change("fields_gain", None, old, new, "same items, in another order"))
    return changes


def _streams(text: str) -> dict[str, tuple[Decimal, Decimal]]:
    """fields_gain items `NAME,P%,RX` as {name: (share, ratio)}."""
    streams = {}
    for item in filter(None, text.split("; ")):
        name, share, ratio = item.rsplit(",", 2)
        streams[name] = (Decimal(share.rstrip("%")), Decimal(ratio.rstrip("X")))
    return streams


def _gain_item(values: tuple[Decimal, Decimal] | None) -> str | None:
    return None if values is None else f"{values[0]}%,{values[1]}X"


def _beyond(old: object, new: object, tolerance: Decimal) -> str | None:
    """None when `new` is within `tolerance` of `old` (relative, bounds included); else the change."""
    before, after = _number(old), _number(new)
    if before is None or after is None:
        return None if old == new else ""
    if abs(after - before) <= tolerance * abs(before):
        return None
    relative = f"{(after - before) / before:+.1%}" if before else "from 0"
    return f"{relative}, beyond {tolerance:.1%}" if tolerance else relative


def _number(value: object) -> Decimal | None:
    """A gain as printed (`6.4` stays 6.4, not its binary neighbour); None for null or a non-number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return Decimal(str(value))


def compare_sets(
    old: list[Entry], new: list[Entry], tolerance: Decimal = Decimal(0), include: Iterable[str] = ()
) -> SetDiff:
    """Records matched by the file they describe when both sets name every file, else by order."""
    include = tuple(include)
    by_file = all(entry.file is not None for entry in [*old, *new]) and bool(old or new)
    pairs = _pairs_by_file(old, new) if by_file else _pairs_by_order(old, new)
    files = [FileDiff(name, a, b, compare_records(a.record, b.record, tolerance, include) if a and b else [])
             for name, a, b in pairs]  # fmt: skip
    return SetDiff("file" if by_file else "order", files)


def _pairs_by_file(old: list[Entry], new: list[Entry]) -> Iterator[tuple[str, Entry | None, Entry | None]]:
    sides = [{file_key(str(entry.file)): entry for entry in entries} for entries in (old, new)]
    for key in dict.fromkeys([*sides[0], *sides[1]]):
        a, b = sides[0].get(key), sides[1].get(key)
        yield str((a or b).file), a, b  # type: ignore[union-attr]


def _pairs_by_order(old: list[Entry], new: list[Entry]) -> Iterator[tuple[str, Entry | None, Entry | None]]:
    for index in range(max(len(old), len(new))):
        a = old[index] if index < len(old) else None
        b = new[index] if index < len(new) else None
        yield "record" if len(old) == len(new) == 1 else f"#{index + 1}", a, b
