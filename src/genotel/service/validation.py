"""What the collector accepts as an uploaded record: the record contract, plus what a database
can store and an analysis can use.

Every string is free of NUL characters and lone surrogates (PostgreSQL refuses the first, UTF-8
the second); numbers are finite and inside the 64-bit range the tables hold; `record_id` is a
UUID, kept in its canonical spelling; `created` is an ISO-8601 UTC time; `fields_gain` is
`NAME,P%,RX` items joined by `; `, with shares of 0-100 %. The rules are declared on the fields,
so the OpenAPI document shows them.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Annotated

from pydantic import AfterValidator, Field

from genotel.record import Record, Source

from .db import MAX_BIGINT

TEXT_PATTERN = r"^[^\x00]*$"  # also refuses lone surrogates: they are not valid Unicode text
CREATED_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|\+00:00)$"
_GAIN_ITEM = r"[^;\x00]+,[0-9]{1,3}(\.[0-9]+)?%,[0-9]{1,12}(\.[0-9]+)?X"
FIELDS_GAIN_PATTERN = rf"^({_GAIN_ITEM}(; {_GAIN_ITEM})*)?$"
MAX_GAIN = 1e12


def _canonical_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("record_id must be a UUID") from None


def _utc_time(value: str) -> str:
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("created must be a valid ISO-8601 UTC time") from None
    return value


def _shares(value: str | None) -> str | None:
    for item in (value or "").split("; ") if value else ():
        share = float(item.rsplit(",", 2)[1][:-1])
        if not (math.isfinite(share) and share <= 100.0):
            raise ValueError(f"a fields_gain share above 100 %: {item!r}")
    return value


Text = Annotated[str, Field(pattern=TEXT_PATTERN)]
Count = Annotated[int, Field(ge=0, le=MAX_BIGINT)]
Gain = Annotated[float, Field(ge=0, le=MAX_GAIN, allow_inf_nan=False)]


class UploadedSource(Source):
    disk_size: Count
    txt_size: Count
    num_lines: Count


class UploadedRecord(Record):
    """The body of `POST /v1/records`."""

    schema_: Text = Field(default="genotel.record/1", alias="schema")
    record_id: Annotated[
        str, Field(json_schema_extra={"format": "uuid"}, max_length=45), AfterValidator(_canonical_uuid)
    ]
    created: Annotated[str, Field(pattern=CREATED_PATTERN), AfterValidator(_utc_time)]
    genotel_version: Text
    license_num: Annotated[int, Field(ge=1, le=MAX_BIGINT)] | None = None
    source: UploadedSource
    features: Text
    fields_gain: Annotated[str, Field(pattern=FIELDS_GAIN_PATTERN), AfterValidator(_shares)] | None = None
    genozip_gain: Gain | None = None
    source_gain: Gain
    flags: Text
    programs: Text | None = None
    qual_acgt: Text | None = None
    hash_issues: list[Text] = Field(default_factory=list)
