"""Who may use the server: the optional token, the Host check against DNS rebinding, same-origin writes.

- `--token`: every page and API call needs it, as `Authorization: Bearer TOKEN` or the HttpOnly cookie the
  login form sets; compared in constant time.
- Bound to loopback (the default), only loopback Host names are answered, so a web page the clinician
  visits cannot rebind its own domain name to 127.0.0.1 and read patients' results.
- POST and DELETE coming from another site's page (a different Origin) are refused (cross-site requests).
"""

from __future__ import annotations

import hmac
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from twitchcam.server.settings import ServerSettings, is_loopback

COOKIE = "twitchcam_token"
OPEN_PATHS = frozenset({"/login"})
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def _host_name(host_header: str) -> str:
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def refusal(request: Request, settings: ServerSettings) -> Response | None:
    """The response refusing `request`, or None when it may go on."""
    if is_loopback(settings.host) and _host_name(request.headers.get("host", "")) not in LOOPBACK_NAMES:
        return JSONResponse({"detail": "unexpected Host header: this server answers only on this machine"}, 400)
    origin = request.headers.get("origin")
    if request.method not in ("GET", "HEAD", "OPTIONS") and origin and origin != "null":
        if urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
            return JSONResponse({"detail": "cross-site request refused"}, 403)
    if settings.token is None or request.url.path in OPEN_PATHS:
        return None
    if token_matches(request_token(request), settings.token):
        return None
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": "a valid token is needed (Authorization: Bearer TOKEN)"}, 401,
                            headers={"WWW-Authenticate": "Bearer"})
    return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)


def safe_next(path: str | None) -> str:
    """Where to go after logging in: a path on this server only."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"
