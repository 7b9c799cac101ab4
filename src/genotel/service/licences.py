"""Licences: numbers, secret keys and types, and the telemetry policy that a type implies.

A licence number is a random 9-digit number (not a counter, so numbers say nothing about how
many licences exist); its key is derived from the server secret and the number (`secret.py`), so
the database holds no key. Keys issued before that are kept masked with the secret.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from .db import Database, licences
from .protocol import LICENCE_TYPES, MANDATORY_TELEMETRY_TYPES
from .secret import licence_key, unmask_key

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
    """A new licence of `licence_type` with a fresh number; its key is derived, not stored."""
    if licence_type not in LICENCE_TYPES:
        raise ValueError(f"unknown licence type {licence_type!r}; expected one of {', '.join(LICENCE_TYPES)}")
    for _ in range(100):  # a clash among 900 million numbers is rare; retry until a free one
        number = NUMBER_LOW + secrets.randbelow(NUMBER_HIGH - NUMBER_LOW + 1)
        row = {"number": number, "key_mask": None, "type": licence_type, "created_at": int(time.time())}
        with database.write() as connection:
            inserted = database.insert_new(connection, licences, row)
        if inserted:
            # hex: never starts with "-", which a command line would take for an option
            return Licence(number, licence_key(database.secret, number), licence_type)
    raise RuntimeError("could not find a free licence number")


def find_licence(database: Database, number: int) -> Licence | None:
    with database.read() as connection:
        row = connection.execute(
            sa.select(licences.c.number, licences.c.key_mask, licences.c.type).where(licences.c.number == number)
        ).first()
    return Licence(row.number, _key(database.secret, row.number, row.key_mask), row.type) if row else None


def _key(secret: bytes, number: int, mask: str | None) -> str:
    return licence_key(secret, number) if mask is None else unmask_key(secret, number, mask)


def issued_keys(database: Database) -> dict[int, str]:
    """The keys issued before keys were derived, by licence number (unmasked)."""
    query = sa.select(licences.c.number, licences.c.key_mask).where(licences.c.key_mask.is_not(None))
    with database.read() as connection:
        return {row.number: _key(database.secret, row.number, row.key_mask) for row in connection.execute(query)}


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
    created, so a licence found once can be kept; unknown numbers are looked up every time.

    `key` gives the key of any number without the database (issued keys are read once, at
    start: no licence gets one since), so an unknown number is refused at the same cost as a
    known one with a wrong signature."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._known: dict[int, Licence] = {}
        self._issued = issued_keys(database)

    def key(self, number: int) -> str:
        return self._issued.get(number) or licence_key(self._database.secret, number)

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
