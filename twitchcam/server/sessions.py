"""Sign-in sessions: the browser keeps a random session id, never the token.

Browsers send a cookie to every port of a host, so whatever the cookie holds reaches any other local server
the clinician's browser visits. The cookie therefore holds a random id that expires (`SESSION_TTL_S`), ends
at sign-out, and ends with the server process (sessions live in memory only).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

COOKIE = "twitchcam_session"
SESSION_TTL_S = 12 * 3600  # a clinic day
MAX_SESSIONS = 1000  # past this, the oldest sign-in is forgotten


def _key(session_id: str) -> str:
    """What is kept in memory: a hash, so that a memory dump does not hand out live sessions."""
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


class Sessions:
    """The signed-in browsers of one server process: id hash → expiry time (monotonic clock)."""

    def __init__(self, ttl_s: float = SESSION_TTL_S):
        self.ttl_s = ttl_s
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self) -> str:
        """A new session id, valid for `ttl_s` seconds."""
        session_id = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._expiry = {k: t for k, t in self._expiry.items() if t > now}
            while len(self._expiry) >= MAX_SESSIONS:
                del self._expiry[min(self._expiry, key=self._expiry.__getitem__)]
            self._expiry[_key(session_id)] = now + self.ttl_s
        return session_id

    def valid(self, session_id: str | None) -> bool:
        if not session_id:
            return False
        with self._lock:
            expiry = self._expiry.get(_key(session_id))
        return expiry is not None and expiry > time.monotonic()

    def end(self, session_id: str | None) -> None:
        """Sign-out: the id is no longer accepted."""
        if session_id:
            with self._lock:
                self._expiry.pop(_key(session_id), None)
