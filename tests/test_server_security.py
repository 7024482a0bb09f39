"""`twitchcam serve` against the attacks of issue #15, over real HTTP to a real server process (no mocks).

One server, started with umask 022 inherited (the server must not follow it), a 1 MB upload limit and a
2 s upload timeout, serves most tests; the sign-in tests start their own with --token. Raw sockets play the
clients that misbehave (stalled, cut-off and field-flooding uploads).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from test_server import RESULT_NAMES, SAMPLE, Server, cut_clip, leftovers, running_server, upload, wait_until_finished

httpx = pytest.importorskip("httpx")
psutil = pytest.importorskip("psutil")

IDLE_S = 2.0
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_path) -> Iterator[Server]:
    """A server started from a shell whose umask is 022, with small limits to test against."""
    data = tmp_path_factory.mktemp("secure") / "data"
    running = Server(data, model_path, "--workers", "1", "--max-upload-mb", "1", "--upload-timeout", str(IDLE_S),
                     preexec_fn=lambda: os.umask(0o022)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """1 s of the sample clip (~30 KB): a real video under the 1 MB limit that analyses in seconds."""
    return cut_clip(SAMPLE, tmp_path_factory.mktemp("clip") / "one_second.mp4", 2.0, 1.0)


@pytest.fixture(scope="module")
def done_job(server, clip) -> str:
    with server.client() as client:
        created = upload(client, clip)
        assert created.status_code == 201, created.text
        job = wait_until_finished(client, created.json()["id"])
        assert job["status"] == "done", job["error"]
        return job["id"]


def multipart_head(port: int, boundary: str = "b0undary", length: int | None = None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (f"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{framing}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode()


def chunked(parts: Iterable[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield f"{len(part):x}\r\n".encode() + part + b"\r\n"
    yield b"0\r\n\r\n"


def send_until_answered(port: int, head: bytes, body: Iterable[bytes], timeout_s: float = 30) -> tuple[bytes, int]:
    """Send `head` then `body` until the server answers or closes; returns its answer and the body bytes sent."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(head)
        for piece in body:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        return _read_all(sock, timeout_s), sent


def _read_all(sock: socket.socket, timeout_s: float) -> bytes:
    answer = b""
    sock.settimeout(timeout_s)
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def test_cross_site_writes_are_refused_origin_null_included(server, clip):
    """Issue #15.1: `Origin: null` (a sandboxed frame, a local file) is another site; so is Sec-Fetch-Site."""
    own = f"http://127.0.0.1:{server.port}"
    with server.client() as client:
        for headers in ({"Origin": "null"}, {"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:9"},
                        {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site", "Origin": own}):
            refused = client.post("/api/jobs", headers=headers, files={"file": ("a.mp4", clip.read_bytes())})
            assert refused.status_code == 403, (headers, refused.text)
            assert refused.json()["detail"].startswith("cross-site request refused"), refused.text
        assert client.post("/login", headers={"Origin": "null"}, data={"token": "x"}).status_code == 403
        assert client.delete(f"/api/jobs/{'A' * 24}", headers={"Origin": "null"}).status_code == 403
        assert client.get("/api/jobs", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
        assert all(job["name"] != "a.mp4" for job in client.get("/api/jobs").json())
        # Our own page's writes carry our origin (the referrer policy is same-origin, not no-referrer).
        assert client.get("/").headers["referrer-policy"] == "same-origin"
        own_page = client.post("/api/jobs", headers={"Origin": own, "Sec-Fetch-Site": "same-origin"},
                               files={"file": ("own.mp4", clip.read_bytes())})
        assert own_page.status_code == 201, own_page.text
        assert client.delete(f"/api/jobs/{own_page.json()['id']}", headers={"Origin": own}).status_code == 204


def test_served_files_and_pages_name_no_server_path(server, done_job):
    """Issue #15.3: report.html named `…/jobs/<id>/results.partial` twice: the job id is the secret."""
    secrets_ = [str(server.data).encode(), str(server.data.resolve()).encode(), b"results.partial", b"/jobs/"]
    with server.client() as client:
        for name in RESULT_NAMES:
            content = client.get(f"/api/jobs/{done_job}/files/{name}").content
            assert content, name
            for secret in [*secrets_, done_job.encode()]:
                assert secret not in content, (name, secret)
        report = client.get(f"/api/jobs/{done_job}/files/report.html").text
        assert "this job's results on the twitchcam web page" in report
        for path in ("/", "/jobs", f"/jobs/{done_job}", "/api/jobs", f"/api/jobs/{done_job}", "/docs",
                     "/openapi.json", "/record", "/history", "/api/history"):
            content = client.get(path).content
            assert not any(secret in content for secret in secrets_[:3]), path


def test_form_fields_beside_the_video_are_bounded(server):
    """Issue #15.4: 60,000 one-KB fields (63 MB, chunked) are refused at the 9th, and memory does not grow."""
    process = psutil.Process(server.process.pid)
    rss_before = process.memory_info().rss
    fields = (b"--b0undary\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n" % i + b"x" * 1000 + b"\r\n"
              for i in range(60_000))
    began = time.monotonic()
    answer, sent = send_until_answered(server.port, multipart_head(server.port), chunked(fields))
    took = time.monotonic() - began
    grown_mb = (process.memory_info().rss - rss_before) / 2**20
    assert status_of(answer) == 400, answer[:300]
    assert b"too many form fields" in answer
    assert sent < 8 * 2**20, f"{sent} bytes went in before the refusal"
    assert grown_mb < 5, f"the server grew by {grown_mb:.1f} MB"
    assert took < 10, f"the connection stayed open {took:.0f} s after the refusal"
    print(f"60,000 fields: refused after {sent / 2**20:.2f} MB sent, closed in {took:.1f} s; "
          f"server memory grew {grown_mb:.1f} MB")
    assert leftovers(server.data) == []


def test_refusals_say_what_is_wrong(server, clip):
    """Issue #15.7: a video in another field, and a 1,800-character unicode file name."""
    with server.client() as client:
        wrong_field = client.post("/api/jobs", files={"other": ("clip.mp4", clip.read_bytes(), "video/mp4")})
        assert wrong_field.status_code == 400
        detail = wrong_field.json()["detail"]
        assert detail == "a file came in the form field 'other': send the video in the field 'file'", detail
        long_name = "Überwachung_Lidschlag_" + "é" * 1800 + ".mp4"
        created = upload(client, clip, name=long_name)
        assert created.status_code == 201, created.text
        name = client.get(f"/api/jobs/{created.json()['id']}").json()["name"]
        assert len(name) == 200 and name.startswith("Überwachung_Lidschlag_éé") and name.endswith("….mp4"), name
        assert client.delete(f"/api/jobs/{created.json()['id']}").status_code == 204
        too_long = client.post("/api/jobs", files={"file": ("x" * 40_000 + ".mp4", b"data")})
        assert too_long.status_code == 400 and "shorten the file name" in too_long.json()["detail"], too_long.text


def test_a_stalled_upload_is_timed_out_and_a_disconnect_logs_one_line(server):
    """Issue #15.5: no bytes for --upload-timeout seconds ends the upload, and headers must be complete in that
    time (a byte a second does not keep them open); a disconnect is one log line."""
    head = multipart_head(server.port, length=500_000)
    start = (b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.mp4\"\r\n\r\n"
             + b"\0" * 1000)
    log_before = server.log.read_text(errors="replace")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head + start)
        began = time.monotonic()
        answer = _read_all(sock, 30)  # returns when the server closes the connection
        waited = time.monotonic() - began
    assert status_of(answer) == 408, answer[:300]
    assert b"the upload stalled: nothing arrived for 2 s" in answer
    assert IDLE_S <= waited < IDLE_S + 5, waited
    print(f"stalled upload closed after {waited:.1f} s (--upload-timeout {IDLE_S:g})")
    assert leftovers(server.data) == []  # no .part file left

    # Half a request's headers, sent a byte at a time, or nothing at all: the connection is closed all the same.
    for first_bytes in (b"GET /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b""):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            began = time.monotonic()
            sock.sendall(first_bytes)
            sock.settimeout(0.5)
            closed = False
            while not closed and time.monotonic() - began < IDLE_S + 5:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    sock.sendall(b"a" if first_bytes else b"")
                try:
                    closed = sock.recv(100) == b""
                except TimeoutError:
                    pass
                except ConnectionResetError:
                    closed = True
            waited = time.monotonic() - began
        assert closed and IDLE_S - 0.5 <= waited < IDLE_S + 5, (first_bytes, waited)

    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head + start)
        time.sleep(0.3)
    time.sleep(1.0)
    new_lines = server.log.read_text(errors="replace")[len(log_before):].splitlines()
    assert not any("Traceback" in line or "Exception in ASGI" in line for line in new_lines), new_lines
    assert len([line for line in new_lines if "stalled" in line]) == 1, new_lines
    assert len([line for line in new_lines if "no complete request headers" in line]) == 1, new_lines
    assert len([line for line in new_lines if "disconnected" in line]) == 1, new_lines
    assert leftovers(server.data) == []


def test_files_are_the_users_alone_whatever_the_umask(server, done_job):
    """Issue #15.6: started with umask 022, uploads, results and the database are still 0600 in 0700 folders."""
    checked = 0
    for path in [server.data, *server.data.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        assert mode == wanted, f"{path.relative_to(server.data)} has mode {mode:o}"
        checked += 1
    names = {p.name for p in server.data.rglob("*")}
    assert {"jobs.sqlite3", "input.mp4", "report.html", "annotated.webm"} <= names and checked > 10


def test_symlinks_in_results_are_not_followed(server, done_job, tmp_path):
    """Issue #15.6: a link planted in a job's results (to /etc/hostname, or to another file) is not served."""
    results = server.data / "jobs" / done_job / "results"
    outside = tmp_path / "secret.csv"
    outside.write_text("not a result\n")
    with server.client() as client:
        for name, target in (("events.csv", outside), ("timeline.png", Path("/etc/hostname"))):
            kept = results / f"{name}.kept"
            os.replace(results / name, kept)
            try:
                (results / name).symlink_to(target)
                refused = client.get(f"/api/jobs/{done_job}/files/{name}")
                assert refused.status_code == 404 and "not a regular file" in refused.json()["detail"], refused.text
            finally:
                (results / name).unlink()
                os.replace(kept, results / name)
        assert client.get(f"/api/jobs/{done_job}/files/events.csv").status_code == 200


def test_sign_in_keeps_a_session_id_not_the_token(tmp_path, model_path):
    """Issue #15.2: the cookie is a random, expiring id; sign-out and a restart revoke it."""
    token = "s3cret-token-for-the-clinic"
    with running_server(tmp_path / "data", model_path, token=token) as server:
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            with httpx.Client(base_url=server.url, timeout=30, cookies={"twitchcam_token": token}) as old_cookie:
                assert old_cookie.get("/api/jobs").status_code == 401  # what older versions kept: no way in now
            login = browser.post("/login", data={"token": token, "next": "/jobs"})
            assert login.status_code == 303 and login.headers["location"] == "/jobs"
            session = login.cookies["twitchcam_session"]
            assert token not in login.headers["set-cookie"] and len(session) >= 40
            max_age = int(re.search(r"max-age=(\d+)", login.headers["set-cookie"], re.I).group(1))
            assert 0 < max_age <= 12 * 3600
            assert "httponly" in login.headers["set-cookie"].lower()
            assert browser.get("/api/jobs").status_code == 200
            assert 'action="/logout"' in browser.get("/jobs").text
            with httpx.Client(base_url=server.url, timeout=30, cookies={"twitchcam_session": session}) as replay:
                assert replay.get("/api/jobs").status_code == 200
                assert browser.post("/logout").status_code == 200
                assert replay.get("/api/jobs").status_code == 401  # the same id, replayed after sign-out
            browser.cookies.clear()
            again = browser.post("/login", data={"token": token, "next": "/"}).cookies["twitchcam_session"]
            assert again != session and browser.get("/api/jobs").status_code == 200
        server.stop()
        server.start(token)
        with httpx.Client(base_url=server.url, timeout=30, cookies={"twitchcam_session": again}) as browser:
            assert browser.get("/api/jobs").status_code == 401  # sessions end with the server process


def test_api_docs_are_local_and_nothing_is_cached(server, done_job):
    """Privacy: /docs from local files with the pages' CSP, no /redoc, and no-store on every response; the
    pages and /docs run no inline script at all (their scripts and one stylesheet come from /static)."""
    from twitchcam.server.pages import PAGE_POLICY

    with server.client() as client:
        docs = client.get("/docs")
        assert docs.status_code == 200 and docs.headers["content-security-policy"] == PAGE_POLICY
        assert "script-src 'self';" in PAGE_POLICY and "unsafe" not in PAGE_POLICY
        docs_scripts = re.findall(r"<script([^>]*)>(.*?)</script>", docs.text, re.S)
        assert all(('src="/' in attrs and not body.strip()) or 'type="application/json"' in attrs
                   for attrs, body in docs_scripts), docs_scripts
        for path in ("/", "/jobs", f"/jobs/{done_job}", "/record", "/history"):
            page = client.get(path)
            assert page.headers["content-security-policy"] == PAGE_POLICY, path
            scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
            assert scripts and all('src="/static/' in attrs or 'type="application/json"' in attrs
                                   for attrs, _ in scripts), (path, scripts)
            assert "style=" not in page.text and '<link rel="stylesheet" href="/static/style.css">' in page.text
        assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
        assert client.get("/static/../jobs.sqlite3").status_code == 404
        assert client.get("/static/base.html").status_code == 404
        assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert "/docs/assets/swagger-ui-bundle.js" in assets and all(a.startswith("/") for a in assets), assets
        assert "cdn" not in docs.text and "fastapi.tiangolo.com" not in docs.text
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
        assert client.get("/redoc").status_code == 404
        assert client.get("/docs/assets/index.html").status_code == 404
        for path in ("/", "/jobs", f"/jobs/{done_job}", "/api/jobs", f"/api/jobs/{done_job}", "/docs",
                     "/openapi.json", "/docs/assets/swagger-ui.css", "/api/jobs/nope", "/login", "/record", "/history",
                     "/api/history", "/api/treatments", "/api/history/plot.png", "/static/style.css",
                     "/static/record.js", "/static/docs.js",
                     *(f"/api/jobs/{done_job}/files/{name}" for name in RESULT_NAMES)):
            response = client.get(path)
            assert response.headers.get("cache-control") == "no-store", path
            assert "content-security-policy" in response.headers, path


def test_names_and_next_cannot_inject(server, clip):
    """File names are escaped labels in every page; `next=` after sign-in never leaves this server."""
    with server.client() as client:
        name = "<img src=x onerror=alert(1)><svg onload=alert(2)>.mp4"  # no slash (it would cut the name), no quote
        created = upload(client, clip, name=name)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        assert client.get(f"/api/jobs/{job_id}").json()["name"] == name
        page = client.get(f"/jobs/{job_id}").text
        assert "<img src=x" not in page and "<svg onload" not in page
        assert page.count("&lt;img src=x onerror=alert(1)&gt;&lt;svg onload=alert(2)&gt;.mp4") == 2
        assert client.delete(f"/api/jobs/{job_id}").status_code == 204
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
            form = client.get("/login", params={"next": target}).text
            assert 'name="next" value="/"' in form, target
