"""--redact: example values in hash_issues become short salted hashes.

The salt is made once per installation (32 random bytes in the configuration folder, mode
0600), so one user's files hash a value the same way, letting them see that two records share
a troublesome value, while nobody without the salt can look a value up from its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache

from .paths import config_dir, private_dir

SALT_FILE = "redact.salt"
HASH_CHARS = 12


@lru_cache(maxsize=1)
def installation_salt() -> bytes:
    """The installation's salt, created atomically on first use."""
    folder = config_dir()
    path = folder / SALT_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    private_dir(folder)
    temporary = folder / f".{SALT_FILE}.{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(secrets.token_bytes(32))
    try:
        os.link(temporary, path)  # fails if another process made the salt first: use theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes()


def redact_value(value: str, salt: bytes | None = None) -> str:
    """A short, salted, one-way stand-in for `value` (12 hex characters)."""
    key = installation_salt() if salt is None else salt
    return hmac.new(key, value.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:HASH_CHARS]
