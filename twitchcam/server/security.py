"""Who may use the server: the optional token, the Host check against DNS rebinding, same-origin writes.

- `--token`: every page and API call needs it, as `Authorization: Bearer TOKEN` (compared in constant time),
  or the session cookie the sign-in page sets (`sessions.py`: a random id, never the token).
- Bound to loopback (the default), only loopback Host names are answered, so a web page the clinician
  visits cannot rebind its own domain name to 127.0.0.1 and read patients' results.
- POST and DELETE from any other page than this server's own are refused: a different Origin, `Origin: null`
  (sandboxed frames, local files, redirects) and what the browser marks `Sec-Fetch-Site: cross-site` or
  `same-site` (another port of this machine). The API is not answered to other sites' pages at all.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from twitchcam.server.sessions import COOKIE, Sessions
from twitchcam.server.settings import ServerSettings, is_loopback

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/login", "/logout"})
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OWN_SITE = frozenset({"same-origin", "none"})  # Sec-Fetch-Site of our own pages, and of typed-in addresses


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


def _host_name(host_header: str) -> str:
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def cross_site(request: Request) -> str | None:
    """Why `request` comes from another site's page (None when it does not): writes need our own page."""
    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if request.method not in SAFE_METHODS:
        if fetch_site is not None and fetch_site not in OWN_SITE:
            return f"cross-site request refused (it came from a page of another site: {fetch_site})"
        if origin == "null":
            return "cross-site request refused (Origin: null, a sandboxed frame or a local file)"
        if origin and urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
            return "cross-site request refused (it came from a page of another site)"
    elif request.url.path.startswith("/api/") and fetch_site is not None and fetch_site not in OWN_SITE:
        return f"cross-site request refused (the API answers only this server's pages, not {fetch_site})"
    return None


def refusal(request: Request, settings: ServerSettings, sessions: Sessions) -> Response | None:
    """The response refusing `request`, or None when it may go on."""
    if is_loopback(settings.host) and _host_name(request.headers.get("host", "")) not in LOOPBACK_NAMES:
        return JSONResponse({"detail": "unexpected Host header: this server answers only on this machine"}, 400)
    why = cross_site(request)
    if why is not None:  # one line each: a page that tries this is worth knowing about
        log.warning("refused %s %s from another site (Origin: %s, Sec-Fetch-Site: %s)", request.method,
                    request.url.path, request.headers.get("origin", "-"), request.headers.get("sec-fetch-site", "-"))
        return JSONResponse({"detail": why}, 403)
    if settings.token is None or request.url.path in OPEN_PATHS:
        return None
    if token_matches(bearer_token(request), settings.token) or sessions.valid(request.cookies.get(COOKIE)):
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
