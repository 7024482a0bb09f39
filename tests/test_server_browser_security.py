"""Issue #15's browser cases in headless Chromium against real `twitchcam serve` processes.

- A page of another site (another local port) uploads from a sandboxed iframe (`Origin: null`): refused.
- After signing in, the cookie Chromium sends to an unrelated local server on another port is a session id,
  never the token; signing out revokes it.
- Chromium's network log (CDP, through chromedriver's performance log) for the upload page, the list, a
  job page, its report and /docs names no address outside this machine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_server import SAMPLE, cut_clip, running_server, upload, wait_until_finished
from test_server_browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS, _need_browser

httpx = pytest.importorskip("httpx")
pytestmark = pytest.mark.slow

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome-error"})


class OtherSite:
    """An unrelated web server on another loopback port: serves `pages`, records what browsers send it."""

    def __init__(self, pages: dict[str, tuple[str, bytes]]):
        self.pages, self.requests = pages, []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                site.requests.append((self.path, dict(self.headers)))
                media_type, body = site.pages.get(self.path, ("text/plain", b"nothing here"))
                self.send_response(200 if self.path in site.pages else 404)
                self.send_header("Content-Type", media_type)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def chromium(profile: Path):
    """Headless Chromium with its DevTools network events kept (the performance log)."""
    webdriver = _need_browser()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@pytest.fixture
def browser(tmp_path) -> Iterator:
    driver = chromium(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return cut_clip(SAMPLE, tmp_path_factory.mktemp("clip") / "one_second.mp4", 2.0, 1.0)


def network_events(driver) -> list[dict]:
    return [json.loads(entry["message"])["message"] for entry in driver.get_log("performance")]


def wait_for(driver, condition, timeout_s: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout_s).until(condition)


def attacker_page(target: str, clip_url: str) -> bytes:
    """Another site's page whose sandboxed iframe (an opaque origin: `Origin: null`) posts a real video."""
    frame = f"""<script>
fetch({json.dumps(clip_url)}).then(r => r.blob()).then(b => {{
  const form = new FormData(); form.append('file', b, 'clip.mp4'); form.append('mirrored', 'false');
  return fetch({json.dumps(target + "/api/jobs")}, {{method: 'POST', body: form, mode: 'no-cors'}});
}}).then(() => parent.postMessage('sent', '*'), e => parent.postMessage('failed: ' + e, '*'));
</script>"""
    return f"""<!doctype html><html><head><title>waiting</title></head><body>
<script>window.addEventListener('message', e => {{ document.title = String(e.data); }});</script>
<iframe sandbox="allow-scripts" srcdoc="{escape(frame)}"></iframe></body></html>""".encode()


def test_a_sandboxed_iframe_of_another_site_cannot_upload(browser, tmp_path, model_path, clip):
    """Issue #15.1 in Chromium: the request arrives with `Origin: null` and is refused; no job is made. (The
    sandboxed frame runs in a process of its own, whose requests the page's network log does not show: the
    server's log line of the refusal says what arrived.)"""
    with running_server(tmp_path / "data", model_path) as server:
        other = OtherSite({"/clip.mp4": ("video/mp4", clip.read_bytes())})
        other.pages["/"] = ("text/html", attacker_page(server.url, f"{other.url}/clip.mp4"))
        try:
            browser.get(f"{other.url}/")
            wait_for(browser, lambda d: d.title != "waiting")
            assert browser.title == "sent", browser.title  # the request went out and was answered
        finally:
            other.close()
        refused = [line for line in server.log.read_text().splitlines() if "refused POST /api/jobs" in line]
        assert refused and all("Origin: null" in line for line in refused), refused
        with server.client() as client:
            assert client.get("/api/jobs").json() == []


def test_the_cookie_another_local_port_receives_is_not_the_token(browser, tmp_path, model_path):
    """Issue #15.2 in Chromium: cookies are not separated by port, so the cookie must not be the token."""
    from selenium.webdriver.common.by import By

    token = "clinic-token-7f3a9c"
    with running_server(tmp_path / "data", model_path, token=token) as server:
        other = OtherSite({"/": ("text/html", b"<!doctype html><title>other</title>")})
        try:
            browser.get(f"{server.url}/jobs")
            wait_for(browser, lambda d: "/login" in d.current_url)
            browser.find_element(By.NAME, "token").send_keys(token)
            browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
            wait_for(browser, lambda d: d.current_url == f"{server.url}/jobs")
            browser.get(f"{other.url}/")
            wait_for(browser, lambda d: d.title == "other")
        finally:
            other.close()
        cookies = [headers.get("Cookie", "") for path, headers in other.requests if path == "/"]
        assert cookies and all(token not in cookie for cookie in cookies), cookies
        assert "twitchcam_session=" in cookies[0], cookies  # the browser did send our cookie there
        session = cookies[0].split("twitchcam_session=")[1].split(";")[0]
        with httpx.Client(base_url=server.url, timeout=30) as client:
            client.cookies.set("twitchcam_session", session)
            assert client.get("/api/jobs").status_code == 200
            browser.get(f"{server.url}/jobs")
            browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
            wait_for(browser, lambda d: "signed out" in d.page_source)
            assert client.get("/api/jobs").status_code == 401  # revoked by signing out
        assert not [c for c in browser.get_cookies() if c["name"] == "twitchcam_session"]


def test_chromium_reaches_nothing_outside_the_machine(browser, tmp_path, model_path, clip):
    """Privacy: every request Chromium makes for the pages, a job, its report and /docs stays on loopback; and
    no page, /docs included, needs anything its CSP blocks (Chromium logs each blocked script or style)."""
    from selenium.webdriver.common.by import By

    with running_server(tmp_path / "data", model_path) as server:
        with server.client() as client:
            job_id = upload(client, clip).json()["id"]
            assert wait_until_finished(client, job_id)["status"] == "done"
        browser.get("about:blank")
        network_events(browser)  # Chromium's own new-tab page (chrome://), before any of ours
        visits = {"/": "jobs-body", "/jobs": "jobs-body", f"/jobs/{job_id}": "report", "/record": "camera-on",
                  "/history": "sessions-body",
                  f"/api/jobs/{job_id}/files/report.html": None, "/docs": None}
        for path, element in visits.items():
            browser.get(f"{server.url}{path}")
            wait_for(browser, lambda d: d.execute_script("return document.readyState") == "complete")
            if element:
                assert browser.find_elements(By.ID, element), path
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"))  # not blank offline
        assert "/api/jobs" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui").text
        urls = [e["params"]["request"]["url"] for e in network_events(browser)
                if e["method"] == "Network.requestWillBeSent"]
        outside = [u for u in urls if urlsplit(u).scheme not in LOCAL_SCHEMES and urlsplit(u).hostname not in
                   LOCAL_HOSTS]
        assert len(urls) >= 10 and outside == [], outside
        blocked = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
        assert blocked == [], blocked
        for path in ("/docs/assets/swagger-ui-bundle.js", "/openapi.json", f"/api/jobs/{job_id}/files/annotated.webm"):
            assert f"{server.url}{path}" in urls, path
        print(f"{len(urls)} requests, all to this machine")
