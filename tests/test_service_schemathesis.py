"""A bounded schemathesis run against a real `genotel serve` (SQLite and PostgreSQL): requests
made from the OpenAPI document, valid and invalid, signed as a licence, sent with the admin
token, and with the document's own (unsigned) credential headers. No answer may be a server
error or a status the document does not list for its operation."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from genotel.service import protocol

from collector import ADMIN_TOKEN, Server
from test_service_e2e import new_licence

EXAMPLES = 6  # per operation and generation mode, each sent by 3 callers: ~250 requests per backend
CHECKS = [not_a_server_error, status_code_conformance]


class Signed(requests.auth.AuthBase):
    """Signs the request as it will be sent (method, path?query, body), as genotel's client does."""

    def __init__(self, licence: int, key: str) -> None:
        self.licence, self.key = licence, key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        request.headers.pop("Authorization", None)
        request.headers.update(protocol.signed_headers(self.licence, self.key, request.method or "GET",
                                                       request.path_url, body))  # fmt: skip
        return request


class Bearer(requests.auth.AuthBase):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        for name in (protocol.HEADER_LICENCE, protocol.HEADER_TIMESTAMP, protocol.HEADER_NONCE,
                     protocol.HEADER_SIGNATURE):  # fmt: skip
            request.headers.pop(name, None)
        request.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        return request


@pytest.mark.usefixtures("server_secret")
def test_no_server_error_and_no_undocumented_status(server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    number, key = new_licence(server, "research")
    sessions = {"licence": requests.Session(), "admin": requests.Session(), "as generated": requests.Session()}
    sessions["licence"].auth = Signed(number, key)
    sessions["admin"].auth = Bearer()
    statuses: set[int] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
            def exercise(case: schemathesis.Case) -> None:
                for session in sessions.values():
                    response = case.call_and_validate(base_url=server.url, session=session, checks=CHECKS)
                    statuses.add(response.status_code)

            try:
                exercise()
            except Unsatisfiable:  # no invalid request exists for an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE and operation.path == "/v1/health"
    for session in sessions.values():
        session.close()
    assert {200, 201, 401, 403, 422} <= statuses  # the run reached past authentication and validation
