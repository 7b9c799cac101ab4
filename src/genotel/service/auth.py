"""Request authentication: a licence's HMAC signature, or the operator's bearer token.

Every endpoint except the health check depends on `authenticate` (uploads on `verify`). A
licence signs the method, path, timestamp, nonce and body hash with its key (`protocol.py`).
The collector refuses a timestamp outside the replay window and a nonce already used by that
licence, so a captured request cannot be replayed, not even right after it was made or across a
collector restart (nonces live in the database). The operator sends `Authorization: Bearer <admin token>`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Request, status
from fastapi.concurrency import run_in_threadpool

from . import protocol
from .db import MAX_BIGINT

# The OpenAPI description of the two ways in: all four signature headers together, or the token.
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "licence": {"type": "apiKey", "in": "header", "name": protocol.HEADER_LICENCE,
                "description": "licence number"},
    "timestamp": {"type": "apiKey", "in": "header", "name": protocol.HEADER_TIMESTAMP,
                  "description": "Unix seconds; refused outside the replay window"},
    "nonce": {"type": "apiKey", "in": "header", "name": protocol.HEADER_NONCE,
              "description": "random, at most 64 characters, never reused"},
    "signature": {"type": "apiKey", "in": "header", "name": protocol.HEADER_SIGNATURE,
                  "description": "hex HMAC-SHA256 with the licence key over METHOD, path?query, timestamp, "
                                 "nonce and the hex SHA-256 of the body, joined by newlines"},
    "admin": {"type": "http", "scheme": "bearer", "description": "the operator's admin token"},
}  # fmt: skip
SECURITY_REQUIREMENT = [{"licence": [], "timestamp": [], "nonce": [], "signature": []}, {"admin": []}]
# Answers that any operation can give, besides its own: documented on every one.
COMMON_RESPONSES = {
    "400": "the HTTP request itself is malformed (answered by the HTTP server)",
    "413": "the request body is larger than the limit (64 KiB)",
}
AUTHENTICATED_RESPONSES = {
    "401": "not authenticated: missing or wrong signature or token, stale timestamp, replayed nonce",
    "403": "authenticated, but not allowed to do this",
    "422": "a parameter or the body breaks the rules of its fields",
}


def document_security(app: FastAPI, open_paths: set[str]) -> None:
    """Add the security schemes to the app's OpenAPI document: every operation but `open_paths`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for path, operations in schema["paths"].items():
                for operation in operations.values():
                    answers = dict(COMMON_RESPONSES)
                    if path not in open_paths:
                        operation["security"] = SECURITY_REQUIREMENT
                        answers.update(AUTHENTICATED_RESPONSES)
                    for code, description in answers.items():
                        operation["responses"].setdefault(code, {"description": description})
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


@dataclass(frozen=True)
class Caller:
    """Who made the request: a licence number, or the operator (licence None)."""

    licence: int | None
    admin: bool
    nonce: str = ""  # of a signed request, still to be consumed (see `authenticate`)
    seen_at: int = 0

    def may_act_for(self, licence: int) -> bool:
        return self.admin or self.licence == licence


def _refuse(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Genotel-HMAC"})


async def verify(request: Request) -> Caller:
    """Who signed the request (or carries the admin token); the nonce is not yet spent.

    The headers are read directly (not as FastAPI parameters: that costs more per request than
    the rest of an upload); `document_security` describes them in the OpenAPI document instead.
    """
    headers = request.headers
    state = request.app.state
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        expected = state.settings.admin_token
        if scheme.lower() == "bearer" and expected and protocol.signature_matches(expected, token.strip()):
            return Caller(licence=None, admin=True)
        raise _refuse("invalid admin token")
    signer_text = headers.get(protocol.HEADER_LICENCE)
    timestamp = headers.get(protocol.HEADER_TIMESTAMP)
    nonce = headers.get(protocol.HEADER_NONCE)
    signature = headers.get(protocol.HEADER_SIGNATURE)
    if signer_text is None or timestamp is None or nonce is None or signature is None:
        raise _refuse(
            f"not authenticated: sign the request ({protocol.HEADER_LICENCE}, {protocol.HEADER_TIMESTAMP}, "
            f"{protocol.HEADER_NONCE}, {protocol.HEADER_SIGNATURE}) or send the admin token"
        )
    if not _digits(signer_text) or not 0 < int(signer_text) <= MAX_BIGINT:
        raise _refuse("the licence number or the signature is wrong")
    signer = int(signer_text)
    if not _digits(timestamp.removeprefix("-")):
        raise _refuse("the request timestamp is not a whole number of seconds")
    sent_at = int(timestamp)
    now = int(time.time())
    window = state.settings.replay_window_seconds
    if abs(now - sent_at) > window:
        raise _refuse(f"the request timestamp is more than {window} s from the collector's clock")
    if not nonce or len(nonce) > protocol.NONCE_MAX_CHARS:
        raise _refuse(f"the nonce must have 1 to {protocol.NONCE_MAX_CHARS} characters")
    body = await request.body()
    # The path and query as sent (from the ASGI scope: building `request.url` costs more).
    query = request.scope.get("query_string", b"").decode("latin-1")
    path = request.scope["path"] + (f"?{query}" if query else "")
    # Every number has a key (derived from the secret), so the signature is checked before the
    # licence is looked up: unknown and known numbers are refused alike, without the database.
    expected = protocol.signature(state.licences.key(signer), request.method, path, timestamp, nonce, body)
    if not protocol.signature_matches(expected, signature):
        raise _refuse("the licence number or the signature is wrong")
    found = state.licences.peek(signer) or await run_in_threadpool(state.licences.get, signer)
    if found is None:  # a valid signature for a number never issued: only the secret's holder can make one
        raise _refuse("the licence number or the signature is wrong")
    return Caller(licence=signer, admin=False, nonce=nonce, seen_at=now)


def _digits(text: str) -> bool:
    """1 to 19 ASCII digits: a number that fits a 64-bit integer or is refused before `int()`."""
    return 0 < len(text) <= 19 and text.isascii() and text.isdigit()


def replayed() -> HTTPException:
    return _refuse("replayed request: this nonce was already used")


async def authenticate(request: Request, caller: Annotated[Caller, Depends(verify)]) -> Caller:
    """`verify`, then spend the nonce so that the same request is never accepted twice. (Uploads
    spend theirs in the same transaction as the record, see `writer.py`.)"""
    if caller.licence is not None:
        accepted, _ = await request.app.state.writer.submit(caller.licence, caller.nonce, caller.seen_at, None)
        if not accepted:
            raise replayed()
    return caller


AnyCaller = Annotated[Caller, Depends(authenticate)]


def require_admin(caller: AnyCaller) -> Caller:
    if not caller.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs the admin token")
    return caller


LicenceNumber = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="licence number")]


def require_licence_or_admin(licence: LicenceNumber, caller: AnyCaller) -> Caller:
    """For /licences/{licence}/...: that licence's own signature, or the operator."""
    if not caller.may_act_for(licence):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a licence may only act on its own records")
    return caller


Signed = Annotated[Caller, Depends(verify)]  # nonce not yet spent: the endpoint must spend it
Admin = Annotated[Caller, Depends(require_admin)]
Owner = Annotated[Caller, Depends(require_licence_or_admin)]
