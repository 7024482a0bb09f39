"""`twitchcam serve`'s diary, labels and job stages (issue #16) over real HTTP to a real server process.

One server (one worker, its diary given with --db) serves the module: uploads carry labels and notes and are
searched by label; jobs report their stages as they run; failed jobs say what to do next; jobs sent to the
diary become sessions that `twitchcam history --csv` lists exactly as `GET /api/history` does; treatments
are added and refused with clear reasons, and only from this server's own pages. One more server, without
--db, shows that its diary is by default the one `twitchcam history` and `live` use.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from test_server import SAMPLE, Server, cut_clip, upload, wait_until_finished

httpx = pytest.importorskip("httpx")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_path) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("diary")
    running = Server(folder / "data", model_path, "--workers", "1", "--db", str(folder / "my diary.sqlite3")).start()
    running.db = folder / "my diary.sqlite3"
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def two_seconds(tmp_path_factory) -> Path:
    """2 s of the sample clip with its first spasm (a quick job)."""
    return cut_clip(SAMPLE, tmp_path_factory.mktemp("cut") / "two_seconds.mp4", 2.0, 2.0)


@pytest.fixture(scope="module")
def no_face(tmp_path_factory) -> Path:
    """2 s of a wall: grey frames with a little noise, no face anywhere."""
    import av
    import numpy as np

    path = tmp_path_factory.mktemp("wall") / "wall.mp4"
    rng = np.random.default_rng(16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width = stream.height = 240
        stream.pix_fmt = "yuv420p"
        for _ in range(60):
            image = (128 + rng.integers(-6, 7, (240, 240, 3))).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode(None))
    return path


def test_labels_and_notes_are_kept_shown_and_searched(server, two_seconds):
    with server.client() as client:
        smith = upload(client, two_seconds, label="  Smith,   visit 3 ", note="2 weeks after Botox")
        jones = upload(client, two_seconds, label="JONES <b>visit</b> 1", note="")
        plain = upload(client, two_seconds)
        assert {smith.status_code, jones.status_code, plain.status_code} == {201}, (smith.text, jones.text)
        ids = {name: r.json()["id"] for name, r in (("smith", smith), ("jones", jones), ("plain", plain))}
        job = client.get(f"/api/jobs/{ids['smith']}").json()
        assert (job["label"], job["note"], job["diary"], job["recorded"]) == ("Smith, visit 3", "2 weeks after Botox",
                                                                            False, False)

        def found(q: str) -> set[str]:
            response = client.get("/api/jobs", params={"q": q})
            assert response.status_code == 200, response.text
            return {j["id"] for j in response.json()}

        assert found("smith") == found("SMITH") == found("visit 3") == {ids["smith"]}
        assert found("visit") == {ids["smith"], ids["jones"]}
        assert found("") >= set(ids.values()) and found("nobody") == set()
        assert found("after Botox") == set()  # the label is searched, not the note
        assert client.get("/api/jobs", params={"q": "x" * 201}).status_code == 422

        page = client.get(f"/jobs/{ids['jones']}").text
        assert "JONES &lt;b&gt;visit&lt;/b&gt; 1" in page and "<b>visit</b>" not in page
        assert "2 weeks after Botox" in client.get(f"/jobs/{ids['smith']}").text
        search_page = client.get("/jobs", params={"q": '"><script>alert(1)</script>'}).text
        assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in search_page

        for fields, reason in (({"label": "x" * 121}, "label is longer than 120"),
                               ({"label": "a\x07b"}, "control characters"),
                               ({"protocol": "marathon"}, "unknown protocol 'marathon'"),
                               ({"note": "é" * 600}, "form field 'note' is longer than 1024 bytes")):
            refused = upload(client, two_seconds, **fields)
            assert refused.status_code == 400 and reason in refused.json()["detail"], (fields, refused.text)
        for job_id in ids.values():
            assert wait_until_finished(client, job_id)["status"] == "done"
            assert client.delete(f"/api/jobs/{job_id}").status_code == 204


def test_a_job_reports_each_stage_with_its_own_progress(server):
    """Analysing frame n of N, then the annotated video, then the report; the overall bar never goes back."""
    with server.client() as client:
        job_id = upload(client, SAMPLE).json()["id"]
        seen: list[dict] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            job = client.get(f"/api/jobs/{job_id}").json()
            if job["status"] == "running" and job["step"]:
                seen.append(job)
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        assert job["status"] == "done", job["error"]
    steps = [s["step"] for s in seen]
    order = [step for i, step in enumerate(steps) if i == 0 or steps[i - 1] != step]
    assert order == ["analysing", "writing the annotated video", "writing the report"], order
    analysing = [s for s in seen if s["step"] == "analysing"]
    assert {s["step_total"] for s in analysing} == {720}  # the sample's frames
    done = [s["step_done"] for s in analysing]
    assert done == sorted(done) and done[0] < 100 and done[-1] > 600, done
    assert all(s["stage"] == f"analysing frame {s['step_done']} of 720" for s in analysing)
    video = [s for s in seen if s["step"] == "writing the annotated video"]
    assert all(s["step_total"] == 720 and s["stage"] == "writing the annotated video" for s in video)
    report = [s for s in seen if s["step"] == "writing the report"]
    assert all(s["step_total"] == 1 for s in report)
    overall = [s["progress"] for s in seen]
    assert overall == sorted(overall) and overall[0] < 0.2, overall
    assert max(s["progress"] for s in analysing) <= min(s["progress"] for s in video + report)
    print(f"{len(seen)} polls: {len(analysing)} analysing, {len(video)} video, {len(report)} report")


def test_a_failed_job_says_what_to_do_next(server, no_face, tmp_path):
    with server.client() as client:
        job = wait_until_finished(client, upload(client, no_face).json()["id"])
        assert job["status"] == "failed" and "no face found" in job["error"], job
        assert job["advice"].startswith("Film the face from the front, in good light"), job["advice"]
        page = client.get(f"/jobs/{job['id']}").text
        assert 'id="advice"' in page and "What to do next:" in page and "in good light" in page
        # A video of one frame cannot be analysed at all: the upload is refused with the reason.
        one_frame = cut_clip(SAMPLE, tmp_path / "one_frame.mp4", 2.0, 1 / 30)
        refused = upload(client, one_frame)
        assert refused.status_code == 422 and "only one frame" in refused.json()["detail"], refused.text


def history_csv(db: Path | None, tmp_path: Path, env: dict[str, str] | None = None) -> pd.DataFrame:
    """`twitchcam history --db DB --csv` as the patient would run it (without --db when `db` is None)."""
    out = tmp_path / "history.csv"
    db_args = ["--db", str(db)] if db is not None else []
    subprocess.run([sys.executable, "-m", "twitchcam._cli.main", "history", *db_args, "--csv", str(out)],
                   check=True, capture_output=True, timeout=120, env=env)
    return pd.read_csv(out, keep_default_na=False)


def test_diary_sessions_treatments_and_the_trend(server, two_seconds, tmp_path):
    own = {"Origin": server.url}
    with server.client() as client:
        assert client.get("/api/history").json() == [] and client.get("/api/treatments").json() == []
        assert not server.db.exists()  # reading an empty history creates no diary
        assert client.get("/api/history/plot.png").status_code == 404

        kept = upload(client, two_seconds, diary="true", label="visit 3", note="felt bad today").json()["id"]
        other = upload(client, two_seconds, name="not_for_the_diary.mp4").json()["id"]
        for job_id in (kept, other):
            assert wait_until_finished(client, job_id)["status"] == "done"
        deadline = time.monotonic() + 30
        while (job := client.get(f"/api/jobs/{kept}").json())["session_id"] is None:
            assert job["diary_error"] is None and time.monotonic() < deadline, job
            time.sleep(0.2)
        assert client.get(f"/api/jobs/{other}").json()["session_id"] is None
        assert f"Saved in the diary as session {job['session_id']}" in client.get(f"/jobs/{kept}").text

        rows = client.get("/api/history").json()
        assert len(rows) == 1 and rows[0]["session"] == job["session_id"]
        summary = job["summary"]
        assert rows[0]["spasms_per_min"] == round(summary["events_per_min"], 2) > 0
        assert rows[0]["percent_time_in_spasm"] == round(summary["spasm_percent"], 1)
        assert rows[0]["affected_side"] == summary["affected_side"] == "left"
        assert rows[0]["note"] == "visit 3 — felt bad today" and rows[0]["protocol"] == ""
        assert stat.S_IMODE(server.db.stat().st_mode) == 0o600
        cli = history_csv(server.db, tmp_path)
        assert list(cli.columns) == list(rows[0]) and cli.to_dict("records") == rows  # the same table

        from twitchcam.store.diary import Diary

        with Diary(server.db, create=False) as book:
            stored = book.events(job["session_id"])
            frames = book.frames(job["session_id"])
        served = pd.read_csv(io.BytesIO(client.get(f"/api/jobs/{kept}/files/events.csv").content))
        pd.testing.assert_frame_equal(stored, served, check_dtype=False)
        assert len(frames) == summary["frames"] == 60

        # Treatments: added from our own page, refused with the reason otherwise.
        botox = {"kind": "botox", "date": "2026-11-03", "side": "left", "note": ""}
        added = client.post("/api/treatments", json=botox, headers=own)
        assert added.status_code == 201, added.text
        assert added.json() == {"id": 1, "kind": "botox", "date": "2026-11-03", "side": "left", "note": None}
        assert client.get("/api/treatments").json() == [added.json()]
        for body, status, reason in (
                ({**botox, "kind": "laser"}, 422, "kind must be one of botox, surgery, medication, other"),
                ({**botox, "date": "03/11/2026"}, 422, "date must be a day like 2026-11-03"),
                ({**botox, "date": "2026-02-30"}, 422, "date must be a day like 2026-11-03"),
                ({**botox, "side": "up"}, 422, "side must be left, right or both"),
                ({**botox, "dose": 50}, 422, "unknown field 'dose'"),
                ({**botox, "note": "x" * 501}, 422, "note is longer than 500 characters"),
                ([botox], 422, "send a JSON object"),
                ({**botox, "note": "x" * 5000}, 413, "larger than 4096 bytes")):
            refused = client.post("/api/treatments", json=body, headers=own)
            assert refused.status_code == status and reason in refused.json()["detail"], (body, refused.text)
        not_json = client.post("/api/treatments", content=b"{kind: botox",
                               headers={**own, "Content-Type": "application/json"})
        assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["detail"]
        form = client.post("/api/treatments", data=botox, headers=own)
        assert form.status_code == 415
        for headers in ({"Origin": "null"}, {"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            assert client.post("/api/treatments", json=botox, headers=headers).status_code == 403, headers
            assert client.delete(f"/api/history/{job['session_id']}", headers=headers).status_code == 403, headers
        assert len(client.get("/api/treatments").json()) == 1
        with Diary(server.db, create=False) as book:
            assert book.treatments()["kind"].tolist() == ["botox"]  # what `twitchcam history --plot` marks

        plot = client.get("/api/history/plot.png")
        assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG") and len(plot.content) > 10_000
        assert plot.headers["cache-control"] == "no-store"

        # Deleting the session: gone from the diary, the job stays and no longer points at it.
        assert client.delete(f"/api/history/{job['session_id']}", headers=own).status_code == 204
        assert client.delete(f"/api/history/{job['session_id']}", headers=own).status_code == 404
        assert client.get("/api/history").json() == [] and history_csv(server.db, tmp_path).empty
        assert client.get(f"/api/jobs/{kept}").json()["session_id"] is None
        assert client.get(f"/api/jobs/{kept}/files/report.html").status_code == 200
        assert json.loads(client.get("/openapi.json").text)["paths"].keys() >= {
            "/api/history", "/api/treatments", "/api/history/{session_id}", "/api/history/plot.png"}


def test_a_diary_jobs_report_has_its_label_and_the_trend_of_earlier_sessions(server, two_seconds):
    """The report of a job sent to the diary names its label and compares it with the diary's earlier sessions;
    the first session's report says there are none."""
    own = {"Origin": server.url}
    with server.client() as client:
        sessions = []
        for label in ("visit 1", "visit 2"):
            job_id = upload(client, two_seconds, diary="true", label=label).json()["id"]
            assert wait_until_finished(client, job_id)["status"] == "done"
            deadline = time.monotonic() + 30
            while (job := client.get(f"/api/jobs/{job_id}").json())["session_id"] is None:
                assert job["diary_error"] is None and time.monotonic() < deadline, job
                time.sleep(0.2)
            sessions.append((job_id, job["session_id"]))
        first, second = (client.get(f"/api/jobs/{job_id}/files/report.html").text for job_id, _ in sessions)
        assert "visit 1" in first and "No earlier sessions" in first
        assert "visit 2" in second and "No earlier sessions" not in second and "Trend" in second
        for _, session_id in sessions:
            assert client.delete(f"/api/history/{session_id}", headers=own).status_code == 204


def test_without_db_the_diary_is_the_one_live_and_history_use(tmp_path, model_path, two_seconds):
    """With no --db and no $TWITCHCAM_DIARY, a diary job goes into diary.sqlite3 in the user data folder, the file
    `twitchcam history` (and `live`) read by default: the patient sees one diary, whichever way a session came."""
    home = tmp_path / "data-home"  # the user data folder is $XDG_DATA_HOME/twitchcam on Linux
    env = {"XDG_DATA_HOME": str(home), "TWITCHCAM_DIARY": None}
    server = Server(tmp_path / "data", model_path, "--workers", "1", env=env).start()
    try:
        with server.client() as client:
            job_id = upload(client, two_seconds, diary="true", label="at home").json()["id"]
            assert wait_until_finished(client, job_id)["status"] == "done"
            deadline = time.monotonic() + 30
            while (job := client.get(f"/api/jobs/{job_id}").json())["session_id"] is None:
                assert job["diary_error"] is None and time.monotonic() < deadline, job
                time.sleep(0.2)
            rows = client.get("/api/history").json()
    finally:
        server.stop()
    assert (home / "twitchcam" / "diary.sqlite3").is_file() and not server.diary.exists()
    patient = {k: v for k, v in os.environ.items() if k != "TWITCHCAM_DIARY"} | {"XDG_DATA_HOME": str(home)}
    listed = history_csv(None, tmp_path, env=patient)
    assert [row["session"] for row in rows] == [job["session_id"]] and listed.to_dict("records") == rows
