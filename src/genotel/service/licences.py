"""Licences: numbers, secret keys and types, and the telemetry policy that a type implies.

A licence number is a random 9-digit number (not a counter, so numbers say nothing about how
many licences exist); its key is 256 random bits in hex. The collector keeps the key
itself, not a hash of it, because verifying an HMAC needs the key: the database is therefore a
secret and must be protected like one.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from .db import Database, licences
from .protocol import LICENCE_TYPES, MANDATORY_TELEMETRY_TYPES

NUMBER_LOW = 100_000_000
NUMBER_HIGH = 999_999_999


@dataclass(frozen=True)
class Licence:
    number: int
    key: str
    type: str

    @property
    def telemetry_mandatory(self) -> bool:
        return self.type in MANDATORY_TELEMETRY_TYPES

    def public(self) -> dict[str, object]:
        """What the licence's holder may learn about it (never the key)."""
        return {"licence": self.number, "type": self.type, "telemetry_mandatory": self.telemetry_mandatory}


def create_licence(database: Database, licence_type: str) -> Licence:
    """A new licence of `licence_type` with a fresh number and key."""
    if licence_type not in LICENCE_TYPES:
        raise ValueError(f"unknown licence type {licence_type!r}; expected one of {', '.join(LICENCE_TYPES)}")
    key = secrets.token_hex(32)  # hex: never starts with "-", which a command line would take for an option
    for _ in range(100):  # a clash among 900 million numbers is rare; retry until a free one
        number = NUMBER_LOW + secrets.randbelow(NUMBER_HIGH - NUMBER_LOW + 1)
        row = {"number": number, "key": key, "type": licence_type, "created_at": int(time.time())}
        with database.write() as connection:
            inserted = database.insert_new(connection, licences, row)
        if inserted:
            return Licence(number, key, licence_type)
    raise RuntimeError("could not find a free licence number")


def find_licence(database: Database, number: int) -> Licence | None:
    with database.read() as connection:
        row = connection.execute(
            sa.select(licences.c.number, licences.c.key, licences.c.type).where(licences.c.number == number)
        ).first()
    return Licence(row.number, row.key, row.type) if row else None


def list_licences(database: Database) -> list[dict[str, object]]:
    """Every licence with its record count (keys left out)."""
    from .db import records

    counts = (
        sa.select(records.c.license_num, sa.func.count().label("records"))
        .group_by(records.c.license_num)
        .subquery()
    )
    query = (
        sa.select(licences.c.number, licences.c.type, licences.c.created_at, counts.c.records)
        .select_from(licences.outerjoin(counts, counts.c.license_num == licences.c.number))
        .order_by(licences.c.created_at, licences.c.number)
    )
    with database.read() as connection:
        rows = connection.execute(query).all()
    return [
        {"licence": row.number, "type": row.type, "created_at": row.created_at, "records": row.records or 0}
        for row in rows
    ]


class LicenceCache:
    """Licence lookups for request authentication. Licences are never changed or removed once
    created, so a licence found once can be kept; unknown numbers are looked up every time."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._known: dict[int, Licence] = {}

    def peek(self, number: int) -> Licence | None:
        """A licence already known, without touching the database (safe in the event loop)."""
        return self._known.get(number)

    def get(self, number: int) -> Licence | None:
        licence = self._known.get(number)
        if licence is None:
            licence = find_licence(self._database, number)
            if licence is not None:
                self._known[number] = licence
        return licence
