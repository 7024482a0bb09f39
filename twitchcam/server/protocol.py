"""uvicorn's h11 protocol with a deadline for a request's headers.

uvicorn closes idle keep-alive connections, but a client that connects and sends nothing, or sends half
of a request's headers and stops, holds its connection for ever. Here such a connection is closed after
`timeout_s` seconds (the same `--upload-timeout` that drops a stalled upload body, see `uploads.py`).
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class HeaderDeadlineProtocol(H11Protocol):
    """H11Protocol that drops a connection whose next request's headers do not arrive within `timeout_s`."""

    timeout_s = 30.0
    _deadline: asyncio.TimerHandle | None = None
    _partial = False
    """Part of a request's headers came: worth a log line when it stalls (an unused connection is not: browsers
    open spare ones)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._partial = self._waiting_for_headers()
        if self._partial:
            if self._deadline is None:
                self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            (log.warning if self._partial else log.debug)(
                "closed a connection that sent no complete request headers in %g s", self.timeout_s)
            self.transport.close()


def with_header_deadline(timeout_s: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for uvicorn's `http=` option, with this deadline."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"timeout_s": timeout_s})
