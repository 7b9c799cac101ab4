"""The wire protocol shared by the upload client and the collector: paths, headers, signing.

A licence signs each request with its secret key: HMAC-SHA256 over a canonical message made of
the method, the path with its query, a Unix timestamp, a random nonce and the SHA-256 of the
body. The timestamp bounds replays to a window, and the collector remembers every nonce it has
accepted inside that window, so a captured request cannot be sent again. Standard library only:
the client imports this without the web framework.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

API_PREFIX = "/v1"
HEADER_LICENCE = "X-Genotel-Licence"
HEADER_TIMESTAMP = "X-Genotel-Timestamp"
HEADER_NONCE = "X-Genotel-Nonce"
HEADER_SIGNATURE = "X-Genotel-Signature"

# Requests whose timestamp is further than this from the collector's clock are refused.
REPLAY_WINDOW_SECONDS = 300
MAX_BODY_BYTES = 64 * 1024
NONCE_MAX_CHARS = 64

LICENCE_TYPES = ("student", "evaluation", "research", "standard", "enterprise")
# These licence types always send telemetry; the others send only if chosen at activation.
MANDATORY_TELEMETRY_TYPES = frozenset({"student", "evaluation"})


def canonical_message(method: str, path_and_query: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes that are signed: every part that a replay or a tamper could change."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path_and_query, timestamp, nonce, digest)).encode("utf-8")


def signature(key: str, method: str, path_and_query: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = canonical_message(method, path_and_query, timestamp, nonce, body)
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(licence: int, key: str, method: str, path_and_query: str, body: bytes) -> dict[str, str]:
    """Headers that authenticate one request; a fresh nonce every call, so every retry differs."""
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    return {
        HEADER_LICENCE: str(licence),
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature(key, method, path_and_query, timestamp, nonce, body),
    }


def signature_matches(expected: str, given: str) -> bool:
    """Constant-time comparison, so the signature cannot be guessed byte by byte."""
    return hmac.compare_digest(expected.encode("ascii", "replace"), given.encode("ascii", "replace"))
