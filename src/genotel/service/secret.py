"""The collector's one secret, and the licence keys derived from it.

A licence key is never stored: it is HMAC-SHA256(secret, "genotel licence key <number>") in hex,
so the collector recomputes it for each request and a copy of the database gives away no key.
The secret comes from `GENOTEL_SERVER_SECRET`, else from `server.secret` in the data folder,
created (mode 0600) on first use. Licences made before keys were derived keep their keys: the
database holds them XOR a pad derived from the secret (`key_mask`), useless without it. A
fingerprint of the secret kept in the database refuses a collector started with another one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ..paths import data_dir, private_dir

SECRET_VARIABLE = "GENOTEL_SERVER_SECRET"
SECRET_FILE = "server.secret"
MIN_SECRET_CHARS = 32


class SecretError(ValueError):
    """The secret is missing, too short, or not the one the database was made with."""


def load_secret(path: Path | None = None) -> bytes:
    """GENOTEL_SERVER_SECRET, else the secret file (created with a fresh secret, mode 0600)."""
    given = os.environ.get(SECRET_VARIABLE, "").strip()
    if given:
        return _checked(given, SECRET_VARIABLE)
    path = path or data_dir() / SECRET_FILE
    try:
        return _checked(path.read_text(encoding="utf-8").strip(), str(path))
    except FileNotFoundError:
        pass
    private_dir(path.parent)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return _checked(path.read_text(encoding="utf-8").strip(), str(path))
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(secrets.token_hex(32) + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    return _checked(path.read_text(encoding="utf-8").strip(), str(path))


def _checked(text: str, origin: str) -> bytes:
    if len(text) < MIN_SECRET_CHARS:
        raise SecretError(f"the server secret in {origin} is shorter than {MIN_SECRET_CHARS} characters")
    return text.encode("utf-8")


def licence_key(secret: bytes, number: int) -> str:
    """The key of licence `number`: 64 hex digits."""
    return hmac.new(secret, f"genotel licence key {number}".encode(), hashlib.sha256).hexdigest()


def _pad(secret: bytes, number: int, length: int) -> bytes:
    blocks = b""
    counter = 0
    while len(blocks) < length:
        message = f"genotel key mask {number} {counter}".encode()
        blocks += hmac.new(secret, message, hashlib.sha256).digest()
        counter += 1
    return blocks[:length]


def mask_key(secret: bytes, number: int, key: str) -> str:
    """A key issued before keys were derived, as stored: XOR a pad of the secret, in hex."""
    raw = key.encode("utf-8")
    return bytes(a ^ b for a, b in zip(raw, _pad(secret, number, len(raw)), strict=True)).hex()


def unmask_key(secret: bytes, number: int, mask: str) -> str:
    raw = bytes.fromhex(mask)
    return bytes(a ^ b for a, b in zip(raw, _pad(secret, number, len(raw)), strict=True)).decode("utf-8")


def fingerprint(secret: bytes) -> str:
    """Stored in the database: tells whether a secret is the right one, reveals nothing of it."""
    return hmac.new(secret, b"genotel secret fingerprint", hashlib.sha256).hexdigest()
