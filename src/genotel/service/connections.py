"""Connection limits for `genotel serve`: slow and idle clients cannot hold the collector's sockets.

uvicorn closes a keep-alive connection that stays idle after a response, but waits forever for
a request that never completes. This protocol (uvicorn's httptools one, subclassed) gives every
request a deadline from its first byte (or from the connection's opening) until its body is
complete, and closes the connection when it passes; and it refuses connections past a maximum
with a 503 and closes them at once. `guarded_protocol` makes the class with the chosen limits.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

BUSY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n"
        b"content-length: 28\r\n\r\ntoo many connections, retry\n")  # fmt: skip


class GuardedHttpProtocol(HttpToolsProtocol):
    read_timeout: float = 10.0
    max_connections: int = 512
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.write(BUSY)
            transport.close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # the deadline set when the connection opened covers the first request
            self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(read_timeout: float, max_connections: int) -> type[GuardedHttpProtocol]:
    """The protocol class for uvicorn's `http` setting, with these limits."""
    limits = {"read_timeout": read_timeout, "max_connections": max_connections}
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), limits)
