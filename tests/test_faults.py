"""Faults a batch or a server meets in real use (issue #9): real processes, real signals, a real server on loopback.

- One batch worker killed (`kill -9`) while it writes a video's results: the batch finishes with the results of
  an uninterrupted run and leaves nothing half-written.
- A batch killed as a whole (`kill -9` of its process group) while a worker writes a video's results; `--resume`
  then gives the results of an uninterrupted run.
- A batch whose disk fills up: the video whose results do not fit becomes a `failed` row with the reason and
  leaves no folder, the others finish; `--resume` with space again completes it.
- A server killed as a whole (process group) twice while a job runs: the job is run again once, then `failed`
  with the reason, never left `running`, and its half-written results are gone.
- A server whose disk fills up during a job: the job fails with the reason and leaves nothing partial, an upload
  that does not fit is refused with the reason (507), and once there is space again the next upload is analysed;
  when the job list itself cannot be written, a job's end is recorded once it can, and the next job still runs.

A full disk is simulated without root by RLIMIT_FSIZE, the largest file a process may write (beyond it a write
fails with EFBIG, "File too large", as it would with ENOSPC on a full disk). It is set on the batch or server
process, whose worker processes inherit it, and sized so that the inputs fit and some result file does not;
"space again" raises it on the running processes. A worker killed mid-analysis, the batch's parent killed, the
server's process killed once, and twenty uploads at once are in test_batch.py and test_server.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import test_batch
from test_batch import (
    CLIPS,
    RESULTS,
    assert_same_results,
    assert_same_rows,
    folder_of,
    leftovers,
    read_summary,
    run_batch_cli,
)
from test_server import SAMPLE, Server, cut_clip, upload, wait_until_finished
from test_server import leftovers as server_leftovers

psutil = pytest.importorskip("psutil")
resource = pytest.importorskip("resource")  # Unix: RLIMIT_FSIZE
pytestmark = pytest.mark.slow

# test_batch's archive and its uninterrupted run (module fixtures: this module makes its own).
archive, reference = test_batch.archive, test_batch.reference


def file_size_limit(limit: int):
    """A `preexec_fn`: no file larger than `limit` bytes can be written by the process or its children."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails (EFBIG) rather than kills
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return apply


def lift_file_size_limit(pid: int) -> None:
    """Space again: the process `pid` and its children may write files of any size (up to their hard limit)."""
    parent = psutil.Process(pid)
    for process in (parent, *parent.children(recursive=True)):
        hard = process.rlimit(psutil.RLIMIT_FSIZE)[1]
        process.rlimit(psutil.RLIMIT_FSIZE, (hard, hard))


def kill_group(process: subprocess.Popen) -> None:
    """`kill -9` of a process started in its own session and of every process in its group, at once."""
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while in_group(process.pid):
        assert time.monotonic() < deadline, f"processes outlived kill -9 of their group: {in_group(process.pid)}"
        time.sleep(0.05)


def in_group(pgid: int) -> list[int]:
    alive = []
    for process in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(process.pid)
    return alive


# ---- batch ----------------------------------------------------------------------------------------------------

def lower_priority() -> None:
    """A `preexec_fn`: on a busy machine, the test watching the batch runs as soon as it wakes, not after it."""
    os.nice(10)


def batch_frozen_while_writing(root: Path, tmp_path: Path, model: Path, *args: str, attempts: int = 3):
    """A batch of `root` started in its own session and frozen (SIGSTOP of its process group) at a moment a
    worker is writing a video's results: analyze's staging folder `.NAME.partial-…` holds some of them and the
    worker has a file open in it. Returns (batch, OUT, that folder, the worker's pid); SIGCONT or SIGKILL the group.
    The moment lasts milliseconds: a batch that ends before it is caught is run again into a new OUT."""
    for attempt in range(attempts):
        out = tmp_path / f"out{attempt}"
        batch = run_batch_cli(str(root), "--out", str(out), "--workers", "2", *args, model=model, wait=False,
                              start_new_session=True, preexec_fn=lower_priority)
        try:
            caught = freeze_while_writing(batch, out)
        except BaseException:
            kill_group(batch)
            raise
        if caught is not None:
            return batch, out, *caught
        batch.communicate()
    pytest.fail(f"{attempts} batches ended without being caught writing results")


def freeze_while_writing(batch: subprocess.Popen, out: Path) -> tuple[Path, int] | None:
    """See `batch_frozen_while_writing`: (the staging folder, the writer's pid), or None if the batch ended."""
    parents = {folder_of(out, rel).parent for rel in CLIPS}
    deadline = time.monotonic() + 120
    while True:
        if batch.poll() is not None:
            return None
        assert time.monotonic() < deadline, "no video's results were written in time"
        for parent in parents:
            with contextlib.suppress(OSError):
                for entry in os.scandir(parent):
                    if ".partial-" in entry.name and entry.is_dir():
                        os.killpg(batch.pid, signal.SIGSTOP)
                        wait_until_stopped(batch.pid)
                        writer = writer_in(batch.pid, entry.path)
                        if writer is not None:
                            return Path(entry.path), writer
                        os.killpg(batch.pid, signal.SIGCONT)  # between two files, or done: try again
        time.sleep(0.001)


def wait_until_stopped(pgid: int) -> None:
    """Wait until every process of the group has stopped (a process in a system call stops when it ends)."""
    deadline = time.monotonic() + 10
    while True:
        states = []
        for pid in in_group(pgid):
            with contextlib.suppress(psutil.Error):
                states.append(psutil.Process(pid).status())
        if all(state == psutil.STATUS_STOPPED for state in states):
            return
        assert time.monotonic() < deadline, f"the batch did not stop: {states}"
        time.sleep(0.005)


def writer_in(batch_pid: int, folder: str) -> int | None:
    """The worker of the batch `batch_pid` that has a file open in `folder`, if one has."""
    for worker in psutil.Process(batch_pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(f.path.startswith(folder + os.sep) for f in worker.open_files()):
                return worker.pid
    return None


def test_a_worker_killed_while_writing_leaves_no_half_written_results(archive, reference, model_path, tmp_path):
    good = tmp_path / "in"
    for rel in CLIPS:
        (good / rel).parent.mkdir(parents=True, exist_ok=True)
        (good / rel).symlink_to(archive / rel)
    batch, out, staging, writer = batch_frozen_while_writing(good, tmp_path, model_path)
    try:
        os.kill(writer, signal.SIGKILL)  # as the out-of-memory killer would, in the middle of writing results
        os.killpg(batch.pid, signal.SIGCONT)
        stdout, stderr = batch.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(batch.pid, signal.SIGKILL)
    assert batch.returncode == 0, stderr
    assert "a worker process died while analysing" in stderr
    assert not staging.exists() and leftovers(out) == []
    assert set(read_summary(out)["status"]) == {"ok"}
    assert_same_results(out, reference[1])
    assert_same_rows(out, reference[1], paths=CLIPS)


def test_batch_killed_as_a_whole_while_writing_then_resumed_gives_the_results_of_an_uninterrupted_run(
        archive, reference, model_path, tmp_path):
    batch, out, staging, _ = batch_frozen_while_writing(archive, tmp_path, model_path, "--quiet")
    kill_group(batch)  # the batch, its workers and Python's resource tracker, all at the same moment

    # What the killed run left is consistent: every `ok` row is a finished video; the half-written one is not.
    assert staging.is_dir(), "the half-written results were not left behind by the kill"
    finished = {p.parent for p in out.rglob(".complete")}
    assert len(finished) < len(CLIPS)
    rows = read_summary(out)
    assert {folder_of(out, rel) for rel in rows.loc[rows["status"] == "ok", "path"]} <= finished
    marks = {folder: (folder / ".complete").stat().st_mtime_ns for folder in finished}
    # With --report a kill can also land while report.html is written beside finished files: its temporary file.
    unfinished = next(folder_of(out, rel) for rel in CLIPS if folder_of(out, rel) not in finished)
    unfinished.mkdir(parents=True, exist_ok=True)
    (unfinished / ".report.html.partial-k1ll3d").write_bytes(b"<html>half a rep")

    resumed = run_batch_cli(str(archive), "--out", str(out), "--resume", "--quiet", model=model_path)
    assert resumed.returncode == 5, resumed.stderr
    assert_same_results(out, reference[1])
    assert_same_rows(out, reference[1])
    assert leftovers(out) == []
    statuses = read_summary(out).set_index("path")["status"]
    for rel in CLIPS:
        folder = folder_of(out, rel)
        assert statuses[rel] == ("skipped" if folder in marks else "ok"), rel
        if folder in marks:
            assert (folder / ".complete").stat().st_mtime_ns == marks[folder], f"{rel} was redone"


def test_a_full_disk_fails_only_the_video_whose_results_do_not_fit(archive, reference, model_path, tmp_path):
    # Sized from the reference run: every video's results fit but those of the one with the largest file.
    largest = {rel: max((folder_of(reference[1], rel) / name).stat().st_size for name in RESULTS) for rel in CLIPS}
    *fitting, too_big = sorted(CLIPS, key=largest.get)
    assert largest[fitting[-1]] < largest[too_big]
    limit = (largest[fitting[-1]] + largest[too_big]) // 2
    good = tmp_path / "in"
    for rel in CLIPS:
        (good / rel).parent.mkdir(parents=True, exist_ok=True)
        (good / rel).symlink_to(archive / rel)
    out = tmp_path / "out"

    full = run_batch_cli(str(good), "--out", str(out), "--workers", "2", "--quiet", model=model_path,
                         preexec_fn=file_size_limit(limit))
    assert full.returncode == 5, full.stderr
    assert full.stderr.strip() == f"twitchcam: error: 1 of 3 videos failed; see {out / 'batch_summary.csv'}"
    rows = read_summary(out).set_index("path")
    assert rows.loc[too_big, "status"] == "failed"
    assert rows.loc[too_big, "error"] == f"cannot write results to {folder_of(out, too_big)}: File too large"
    assert rows.loc[too_big, "frames"] == ""
    assert not folder_of(out, too_big).exists(), "a partial results folder was left"
    assert leftovers(out) == []
    for rel in fitting:
        assert rows.loc[rel, "status"] == "ok"
        for name in ("events.csv", "frames.csv"):  # summary.json's `video` names the folder it was read from
            assert (folder_of(out, rel) / name).read_bytes() == (folder_of(reference[1], rel) / name).read_bytes()

    again = run_batch_cli(str(good), "--out", str(out), "--resume", "--quiet", model=model_path)  # space again
    assert again.returncode == 0, again.stderr
    assert_same_results(out, reference[1])
    assert_same_rows(out, reference[1], paths=CLIPS)
    statuses = read_summary(out).set_index("path")["status"]
    assert statuses[too_big] == "ok" and {statuses[rel] for rel in fitting} == {"skipped"}
    assert leftovers(out) == []


# ---- server ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cut(tmp_path_factory) -> dict[str, Path]:
    """Short parts of the sample clip (its first spasm is at 2.6 s), re-encoded small (~25 KB a second)."""
    folder = tmp_path_factory.mktemp("cut")
    return {"2s": cut_clip(SAMPLE, folder / "two_seconds.mp4", 2.0, 2.0),
            "6s": cut_clip(SAMPLE, folder / "six_seconds.mp4", 2.0, 6.0)}


def wait_for_stage(client, job_id: str, stage: str, timeout_s: float = 120) -> dict:
    """Poll quickly until the job is running and its stage starts with `stage`."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] == "running" and job["stage"].startswith(stage):
            return job
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.02)


def test_a_server_killed_twice_during_a_job_fails_it_with_the_reason(tmp_path, model_path, cut):
    server = Server(tmp_path / "data", model_path, "--workers", "1", start_new_session=True).start()
    job_dir = None
    try:
        with server.client() as client:
            job_id = upload(client, cut["6s"]).json()["id"]
            job_dir = server.data / "jobs" / job_id
            wait_for_stage(client, job_id, "analysing")
        kill_group(server.process)  # the server and its worker, mid-analysis

        server.start()
        with server.client() as client:
            job = wait_for_stage(client, job_id, "writing")  # queued again, run again, now writing its results
            assert job["attempts"] == 2
        kill_group(server.process)
        assert (job_dir / "results.partial").is_dir(), "the kill did not leave half-written results"

        server.start()
        with server.client() as client:
            job = client.get(f"/api/jobs/{job_id}").json()
            assert job["status"] == "failed" and job["attempts"] == 2, job
            assert job["error"] == ("the server stopped while analysing this video, 2 times; "
                                    "it was not tried again")
            assert client.get(f"/api/jobs/{job_id}/files/events.csv").status_code == 404
            assert sorted(p.name for p in job_dir.iterdir()) == ["input.mp4"]
            assert server_leftovers(server.data) == []
            after = wait_until_finished(client, upload(client, cut["2s"]).json()["id"])
            assert after["status"] == "done", after["error"]
    finally:
        server.stop()


def test_a_full_disk_fails_the_job_cleanly_and_the_server_carries_on(tmp_path, model_path, cut):
    limit = 128 * 1024  # the uploads (~50 KB) and the job list fit; the annotated video and the report do not
    assert cut["2s"].stat().st_size < limit // 2
    server = Server(tmp_path / "data", model_path, "--workers", "1", preexec_fn=file_size_limit(limit)).start()
    try:
        with server.client() as client:
            job_id = upload(client, cut["2s"]).json()["id"]
            job = wait_until_finished(client, job_id)
            assert job["status"] == "failed" and job["summary"] is None, job
            assert "File too large" in job["error"] and str(server.data) not in job["error"], job["error"]
            assert client.get(f"/api/jobs/{job_id}/files/events.csv").status_code == 404
            assert sorted(p.name for p in (server.data / "jobs" / job_id).iterdir()) == ["input.mp4"]
            assert server_leftovers(server.data) == []

            # An upload that does not fit is refused with the reason and leaves nothing.
            refused = upload(client, SAMPLE)
            assert refused.status_code == 507 and "File too large" in refused.json()["detail"], refused.text
            assert [j["id"] for j in client.get("/api/jobs").json()] == [job_id]
            assert server_leftovers(server.data) == []

            lift_file_size_limit(server.process.pid)  # space again
            job = wait_until_finished(client, upload(client, cut["2s"]).json()["id"])
            assert job["status"] == "done", job["error"]
            results = server.data / "jobs" / job["id"] / "results"
            assert max(p.stat().st_size for p in results.iterdir()) > limit  # so the first job did meet the limit
            assert server_leftovers(server.data) == []

            # While a job runs, the job list (SQLite, written by the server process) stops fitting on the disk:
            # the end of the job is recorded once there is space again, and the worker takes the next job.
            job_id = upload(client, cut["2s"]).json()["id"]
            wait_for_stage(client, job_id, "analysing")
            wal, process = server.data / "jobs.sqlite3-wal", psutil.Process(server.process.pid)
            process.rlimit(psutil.RLIMIT_FSIZE, (wal.stat().st_size, process.rlimit(psutil.RLIMIT_FSIZE)[1]))
            deadline = time.monotonic() + 60
            while f"cannot record the end of job {job_id} yet" not in server.log.read_text():
                assert time.monotonic() < deadline, f"the job did not finish: {server.log.read_text()}"
                time.sleep(0.1)
            assert (server.data / "jobs" / job_id / "results").is_dir()
            assert client.get(f"/api/jobs/{job_id}").json()["status"] == "running"  # the API still answers
            lift_file_size_limit(server.process.pid)
            job = wait_until_finished(client, job_id, timeout_s=30)
            assert job["status"] == "done", job["error"]
            after = wait_until_finished(client, upload(client, cut["2s"]).json()["id"], timeout_s=60)
            assert after["status"] == "done", after["error"]
            assert server_leftovers(server.data) == []
    finally:
        server.stop()
