"""The analysis by bytes: size-weighted gains, field shares of a group's compressed bytes, trends.

A group's median gain counts a 3 KB file as much as a 30 GB one, and in small files the header
is most of the text. The size-weighted gain is the group's total text size over its total
compressed size (each record's compressed size being txt_size / genozip_gain), i.e. the gain
of all its bytes together. A group is flagged on it when it is more than 20 % below its data
type's and the group holds at least WEIGHTED_MIN_SHARE of the data type's text bytes.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from .db import Database, records

WEIGHTED_MIN_SHARE = 0.01  # a group must hold 1 % of its data type's text bytes to be flagged by weight
TOP_FIELDS = 5
TREND_MIN_DAYS = 7  # trends are reported when the records' dates span more than a week


@dataclass
class SizeTotals:
    """Byte totals of a set of records."""

    text_bytes: int = 0
    disk_bytes: int = 0
    gain_text: float = 0.0  # text bytes of the records that have a gain
    gain_compressed: float = 0.0  # their compressed bytes (txt_size / genozip_gain)
    field_compressed: float = 0.0  # compressed bytes of the records that also have fields_gain
    field_bytes: dict[str, float] = field(default_factory=dict)

    def add(self, gain: float | None, shares: dict[str, float], txt_size: int | None, disk_size: int | None) -> None:
        self.text_bytes += txt_size or 0
        self.disk_bytes += disk_size or 0
        if not gain or txt_size is None:
            return
        compressed = txt_size / gain
        self.gain_text += txt_size
        self.gain_compressed += compressed
        if shares:
            self.field_compressed += compressed
            for name, share in shares.items():
                self.field_bytes[name] = self.field_bytes.get(name, 0.0) + compressed * share / 100

    def weighted_gain(self) -> float | None:
        return round(self.gain_text / self.gain_compressed, 2) if self.gain_compressed else None

    def top_fields_by_bytes(self) -> list[dict[str, object]]:
        """The fields with the largest share of the group's compressed bytes."""
        ranked = sorted(self.field_bytes.items(), key=lambda item: (-item[1], item[0]))[:TOP_FIELDS]
        return [{"field": name, "share": round(100 * size / self.field_compressed, 1)} for name, size in ranked]


def group_size_figures(group: SizeTotals, data_type: SizeTotals, flag_ratio: float) -> dict[str, object]:
    """A group's by-bytes figures against its data type's."""
    weighted, reference = group.weighted_gain(), data_type.weighted_gain()
    relative = round(100.0 * (weighted - reference) / reference, 1) if weighted is not None and reference else None
    share = group.text_bytes / data_type.text_bytes if data_type.text_bytes else 0.0
    return {
        "text_bytes": group.text_bytes,
        "disk_bytes": group.disk_bytes,
        "weighted_genozip_gain": weighted,
        "weighted_vs_data_type_percent": relative,
        "share_of_data_type_bytes": round(100 * share, 1),
        "top_fields_by_bytes": group.top_fields_by_bytes(),
        "flagged_weighted": weighted is not None and bool(reference) and weighted < flag_ratio * reference  # type: ignore[operator]
        and share >= WEIGHTED_MIN_SHARE,
    }


def source_size(database: Database, key: str) -> sa.ColumnElement[int]:
    """`source.<key>` of the stored record's JSON body, as a 64-bit integer, in SQL."""
    # SQLite's CAST(... AS JSON) would turn the text into a number; its JSON functions read text as it is.
    body = sa.type_coerce(records.c.body, sa.JSON) if database.is_sqlite else sa.cast(records.c.body, sa.JSON)
    return sa.cast(body[("source", key)].as_string(), sa.BigInteger)


def week_of(created: str | None) -> dt.date | None:
    """The Monday of the week of an ISO time (None when it is not one)."""
    try:
        day = dt.date.fromisoformat(str(created)[:10])
    except ValueError:
        return None
    return day - dt.timedelta(days=day.weekday())


def trends(dated: Iterable[tuple[str, str | None, float | None, int | None]]) -> list[dict[str, object]]:
    """Per data type and week: record count, median gain and size-weighted gain. Empty unless the
    records' dates span more than TREND_MIN_DAYS. Items are (data type, created, gain, txt_size)."""
    weeks: dict[tuple[str, dt.date], tuple[list[int], list[float], SizeTotals]] = {}
    days: list[dt.date] = []
    for data_type, created, gain, txt_size in dated:
        week = week_of(created)
        if week is None:
            continue
        days.append(dt.date.fromisoformat(str(created)[:10]))
        count, gains, sizes = weeks.setdefault((data_type, week), ([0], [], SizeTotals()))
        count[0] += 1
        if gain is not None:
            gains.append(gain)
        sizes.add(gain, {}, txt_size, None)
    if not days or (max(days) - min(days)).days <= TREND_MIN_DAYS:
        return []
    return [
        {"data_type": data_type, "week": week.isoformat(), "count": count[0],
         "median_genozip_gain": round(statistics.median(gains), 2) if gains else None,
         "weighted_genozip_gain": sizes.weighted_gain()}
        for (data_type, week), (count, gains, sizes) in sorted(weeks.items())
    ]  # fmt: skip
