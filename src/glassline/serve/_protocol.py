"""The HTTP protocol the service runs on: uvicorn's httptools protocol with a deadline for request headers.

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but not a connection that sent
part of a request line or of its headers and then stalls: each such connection would stay open for as long
as the client likes (a slow-headers attack needs only a few hundred of them). :class:`HeaderDeadlineProtocol`
closes a connection whose request headers are not complete within :data:`HEADER_SECONDS` of the connection's
opening or of its request's first byte; a request whose headers are complete is never cut.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HEADER_SECONDS", "HeaderDeadlineProtocol"]

#: A connection must complete its request line and headers within this many seconds of opening (or, on a
#: kept-alive connection, of the next request's first byte); otherwise the server closes it.
HEADER_SECONDS = 5.0


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers are late (:data:`HEADER_SECONDS`,
    or the class attribute :attr:`header_seconds` of a subclass)."""

    header_seconds: float = HEADER_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers_due: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._headers_due is None:
            self._headers_due = self.loop.call_later(self.header_seconds, self._headers_late)

    def _disarm(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None

    def _headers_late(self) -> None:
        self._headers_due = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
