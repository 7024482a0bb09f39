"""`twitchcam serve` as a clinician's browser and scripts use it: a real server process, real uploads, real model.

Each server runs in a subprocess on a free loopback port with its own --data folder; requests go
through a real HTTP client (httpx). The short clip keeps the many-jobs tests fast.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "hfs_left.mp4"
SHORT_CLIP = "normal/lp_d0_smile_eye_roll_greenscreen.mp4"  # 78 frames, one smiling face
RESULT_NAMES = ("events.csv", "frames.csv", "summary.json", "report.html", "timeline.png", "annotated.webm")
JOB_TIMEOUT_S = 240

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A `twitchcam serve` subprocess; `client` talks to it."""

    def __init__(self, data: Path, model: Path, *args: str, log: Path | None = None,
                 env: dict[str, str | None] | None = None, **popen):
        self.data, self.model, self.args = data, model, args
        self.env = env or {}  # environment changes for the server (None: unset the variable)
        self.popen = popen  # extra subprocess.Popen arguments (a new session, resource limits)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or data.with_name(data.name + ".log")
        self.diary = data.with_name(data.name + "-diary.sqlite3")
        self.process: subprocess.Popen | None = None

    def start(self, token: str | None = None) -> Server:
        # The diary beside --data unless a test gives --db: never the user's own.
        env = {**os.environ, "TWITCHCAM_MODEL": str(self.model), "TWITCHCAM_NO_DOWNLOAD": "1",
               "TWITCHCAM_DIARY": str(self.diary), **self.env}
        env = {name: value for name, value in env.items() if value is not None}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "twitchcam._cli.main", "serve", "--port", str(self.port),
                 "--data", str(self.data), *self.args], env=env, stdout=log, stderr=subprocess.STDOUT,
                **self.popen)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}: {self.log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/api/jobs", headers=headers, timeout=2).status_code in (200, 401):
                    return self
            time.sleep(0.2)
        raise AssertionError(f"server did not start: {self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@contextlib.contextmanager
def running_server(data: Path, model: Path, *args: str, token: str | None = None) -> Iterator[Server]:
    server = Server(data, model, *args, *(("--token", token) if token else ())).start(token)
    try:
        yield server
    finally:
        server.stop()


def upload(client: httpx.Client, path: Path, name: str | None = None, **fields: str) -> httpx.Response:
    with open(path, "rb") as f:
        return client.post("/api/jobs", files={"file": (name or path.name, f, "video/mp4")}, data=fields)


def wait_until_finished(client: httpx.Client, job_id: str, timeout_s: float = JOB_TIMEOUT_S) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s} s")


def cut_clip(source: Path, dest: Path, start_s: float, seconds: float, bit_rate: int = 150_000) -> Path:
    """`seconds` of `source` from `start_s`, decoded with OpenCV and re-encoded small (MPEG-4 part 2, in mp4)."""
    import av
    import cv2

    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.set(cv2.CAP_PROP_POS_FRAMES, round(start_s * fps))
    with av.open(str(dest), "w") as container:
        stream = container.add_stream("mpeg4", rate=round(fps))
        stream.width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        stream.height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        stream.pix_fmt, stream.bit_rate = "yuv420p", bit_rate
        for _ in range(round(seconds * fps)):
            ok, image = capture.read()
            assert ok, f"{source} ends before {start_s + seconds} s"
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode(None))
    capture.release()
    return dest


def leftovers(data: Path) -> list[str]:
    """Files under --data other than the database and the inputs and results of accepted jobs."""
    found = []
    for path in data.rglob("*"):
        rel = path.relative_to(data).as_posix()
        if path.is_dir() or rel.startswith("jobs.sqlite3"):
            continue
        parts = rel.split("/")
        if parts[0] == "jobs" and len(parts) >= 3 and (parts[2].startswith("input.") or parts[2] == "results"):
            continue
        found.append(rel)
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_path) -> Iterator[Server]:
    """A server with two workers and the default limits, shared by this module's tests."""
    with running_server(tmp_path_factory.mktemp("serve") / "data", model_path, "--workers", "2") as running:
        yield running


@pytest.fixture(scope="module")
def short_clip(shared_clips, tmp_path_factory) -> Path:
    """A 78-frame clip of a smiling face (no spasm), copied so that uploads never touch ../shared."""
    copy = tmp_path_factory.mktemp("clips") / "short.mp4"
    shutil.copyfile(shared_clips / SHORT_CLIP, copy)
    return copy


@pytest.fixture(scope="module")
def two_seconds(tmp_path_factory) -> Path:
    """2 s (60 frames, ~50 KB) of the sample clip, with its first spasm: many jobs stay quick."""
    return cut_clip(SAMPLE, tmp_path_factory.mktemp("cut") / "two_seconds.mp4", 2.0, 2.0)


def test_sample_upload_gives_the_same_events_as_analyze(server, analysed):
    with server.client() as client:
        created = upload(client, SAMPLE, mirrored="false")
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "queued" and len(created.json()["id"]) >= 24
        job_id = created.json()["id"]
        job = wait_until_finished(client, job_id)
        assert job["status"] == "done", job["error"]
        assert job["progress"] == 1.0 and job["error"] is None and set(job) >= {"id", "status", "summary"}
        served = pd.read_csv(io.BytesIO(client.get(f"/api/jobs/{job_id}/files/events.csv").content))
        expected = analysed(SAMPLE).events
        pd.testing.assert_frame_equal(served, pd.read_csv(io.StringIO(expected.to_csv(index=False))))
        assert (served["side"] == "left").all() and len(served) >= 4
        assert job["summary"]["affected_side"] == "left" and job["summary"]["n_events"] == len(served)
        for name in RESULT_NAMES:
            response = client.get(f"/api/jobs/{job_id}/files/{name}")
            assert response.status_code == 200 and response.content, name
        download = client.get(f"/api/jobs/{job_id}/files/events.csv", params={"download": 1})
        assert download.headers["content-disposition"].startswith("attachment")
        page = client.get(f"/jobs/{job_id}")
        assert page.status_code == 200 and "annotated.webm" in page.text and "report.html" in page.text
        assert any(j["id"] == job_id for j in client.get("/api/jobs").json())


def test_refused_uploads_leave_nothing_on_disk(server, tmp_path, short_clip):
    text = tmp_path / "notes.mp4"
    text.write_text("this is a text file, not a video\n" * 100)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with server.client() as client:
        before = {j["id"] for j in client.get("/api/jobs").json()}
        refused = upload(client, text)
        assert refused.status_code == 422 and "not a video" in refused.json()["detail"]
        assert str(server.data) not in refused.json()["detail"]  # no server paths in messages
        refused = upload(client, empty)
        assert refused.status_code == 400 and "empty" in refused.json()["detail"]
        refused = upload(client, short_clip, name="clip.exe")
        assert refused.status_code == 422 and "not a video file" in refused.json()["detail"]
        assert client.post("/api/jobs", data={"mirrored": "true"}).status_code == 400
        assert {j["id"] for j in client.get("/api/jobs").json()} == before
        assert leftovers(server.data) == []

        # A path-traversal name is only a label: the video is stored as input.mp4 in its own job folder.
        created = upload(client, short_clip, name="../../evil.mp4")
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        assert sorted(p.name for p in (server.data / "jobs" / job_id).iterdir())[0] == "input.mp4"
        assert not list(server.data.parent.rglob("evil.mp4")) and not list(tmp_path.rglob("evil.mp4"))
        assert client.get(f"/api/jobs/{job_id}").json()["name"] == "evil.mp4"
        assert wait_until_finished(client, job_id)["status"] == "done"

        # Only the allow-listed result files of the job's own folder can be read.
        for name in ("input.mp4", "..%2F..%2Fjobs.sqlite3", "..%2Finput.mp4", "results", "report.htm"):
            assert client.get(f"/api/jobs/{job_id}/files/{name}").status_code == 404, name
        assert client.get(f"/api/jobs/{job_id}/../../jobs.sqlite3").status_code == 404

        # Unknown ids, and deleting.
        unknown = "A" * 24
        assert client.get(f"/api/jobs/{unknown}").status_code == 404
        assert client.get(f"/api/jobs/{unknown}/files/events.csv").status_code == 404
        assert client.delete(f"/api/jobs/{unknown}").status_code == 404
        assert client.get(f"/jobs/{unknown}").status_code == 404
        assert client.delete(f"/api/jobs/{job_id}").status_code == 204
        assert client.get(f"/api/jobs/{job_id}").status_code == 404
        assert not (server.data / "jobs" / job_id).exists()


def test_requests_from_other_sites_are_refused(server):
    with server.client() as client:
        assert client.get("/api/jobs", headers={"Host": "attacker.example"}).status_code == 400  # DNS rebinding
        other_site = client.post("/api/jobs", headers={"Origin": "http://attacker.example"},
                                 files={"file": ("a.mp4", b"x")})
        assert other_site.status_code == 403


def test_twenty_uploads_at_once_all_complete(server, two_seconds):
    n = 20
    results: dict[int, httpx.Response] = {}

    def send(i: int) -> None:
        with server.client() as client:
            results[i] = upload(client, two_seconds, name=f"clip{i}.mp4")

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(n))
    assert all(r.status_code == 201 for r in results.values()), [r.text for r in results.values()]
    ids = {r.json()["id"] for r in results.values()}
    assert len(ids) == n
    with server.client() as client:
        finished = [wait_until_finished(client, job_id) for job_id in ids]
        assert [job["status"] for job in finished] == ["done"] * n, [job["error"] for job in finished]
        assert {job["name"] for job in finished} == {f"clip{i}.mp4" for i in range(n)}
        assert ids <= {job["id"] for job in client.get("/api/jobs").json()}
        events = {client.get(f"/api/jobs/{job_id}/files/events.csv").content for job_id in ids}
        assert len(events) == 1 and events.pop().count(b"\n") >= 2  # the same spasm found in every copy
    assert leftovers(server.data) == []


def test_token_limit_and_login(tmp_path, model_path):
    token = "s3cret-token"
    with running_server(tmp_path / "data", model_path, "--max-upload-mb", "1", token=token) as server:
        with httpx.Client(base_url=server.url, timeout=30) as anonymous:
            assert anonymous.get("/api/jobs").status_code == 401
            assert anonymous.get(f"/api/jobs/{'A' * 24}").status_code == 401
            assert anonymous.get("/docs").status_code == 401
            for path in ("/api/history", "/api/treatments", "/api/history/plot.png"):
                assert anonymous.get(path).status_code == 401, path
            assert anonymous.post("/api/treatments", json={"kind": "botox", "date": "2026-11-03"}).status_code == 401
            assert anonymous.delete("/api/history/1").status_code == 401
            for path in ("/record", "/history"):
                assert anonymous.get(path, headers={"Accept": "text/html"}).status_code == 303, path
            assert anonymous.get("/api/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert anonymous.post("/api/jobs", headers={"Authorization": "Bearer wrong"},
                                  files={"file": ("a.mp4", b"x" * 1000)}).status_code == 401
            page = anonymous.get("/", headers={"Accept": "text/html"})
            assert page.status_code == 303 and page.headers["location"].startswith("/login")
            assert anonymous.post("/login", data={"token": "wrong", "next": "/"}).status_code == 401
            login = anonymous.post("/login", data={"token": token, "next": "/jobs"})
            assert login.status_code == 303 and login.headers["location"] == "/jobs"
            assert "httponly" in login.headers["set-cookie"].lower()
            assert anonymous.get("/api/jobs").status_code == 200  # the cookie now stands for the token
        with server.client(token) as client:
            assert client.get("/api/jobs").json() == []
            too_big = tmp_path / "big.mp4"
            too_big.write_bytes(os.urandom(2 * 1024 * 1024))
            refused = upload(client, too_big)
            assert refused.status_code == 413 and "1 MB" in refused.json()["detail"]
            # Without a Content-Length the body is read up to the limit only, then refused.
            chunks = (b"x" * 65536 for _ in range(40))
            boundary = "b0undary"
            body = iter([f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.mp4\"\r\n"
                         "Content-Type: video/mp4\r\n\r\n".encode(), *chunks, f"\r\n--{boundary}--\r\n".encode()])
            streamed = client.post("/api/jobs", content=body,
                                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
            assert streamed.status_code == 413
            assert client.get("/api/jobs").json() == []
        assert leftovers(server.data) == []


def test_restart_finishes_the_job_that_was_running(tmp_path, model_path):
    psutil = pytest.importorskip("psutil")
    server = Server(tmp_path / "data", model_path, "--workers", "1").start()
    try:
        with server.client() as client:
            job_id = upload(client, SAMPLE).json()["id"]
            deadline = time.monotonic() + 120
            while (job := client.get(f"/api/jobs/{job_id}").json())["progress"] < 0.1:
                assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
                time.sleep(0.2)
        workers = psutil.Process(server.process.pid).children(recursive=True)
        server.stop(signal.SIGKILL)  # no chance to clean up
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == [], "worker processes outlived the server"
        server.start()
        with server.client() as client:
            job = wait_until_finished(client, job_id)
            assert job["status"] == "done", job["error"]
            assert job["attempts"] == 2
            assert client.get(f"/api/jobs/{job_id}/files/report.html").status_code == 200
    finally:
        server.stop()
