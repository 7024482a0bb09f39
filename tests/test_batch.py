"""`twitchcam batch` on a real folder: real processes, real MediaPipe, real clips, a real Dask cluster.

One archive is built per module from three short clips in ../shared (78, 122 and 169 frames) plus the
things archives really hold (a truncated clip, a text file named .mp4, hidden files, sub-folders, a
space in a name). Its uninterrupted local run is the reference every other run is compared with.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from twitchcam.run.batch import SUMMARY_COLUMNS, find_videos, plan
from twitchcam.run.batch.rows import BatchRow, summary_table

CLIPS = {  # name in the archive: clip in ../shared/clips
    "a.mp4": "normal/lp_d0_smile_eye_roll_greenscreen.mp4",  # 78 frames
    "visit 2/b.MOV": "normal/retalking_older_woman_glasses.mp4",  # 122 frames; space, upper-case extension
    "visit 2/deeper/c.mp4": "normal/tpsmm_vox_talking.mp4",  # 169 frames, two levels down
}
FRAMES = {"a.mp4": 78, "visit 2/b.MOV": 122, "visit 2/deeper/c.mp4": 169}
BAD = ("cut.mp4", "notes.mp4")
RESULTS = ("events.csv", "frames.csv", "summary.json")


def run_batch_cli(*args: str, model: Path, wait: bool = True, **popen):
    """`twitchcam batch` in a subprocess; `popen`: more subprocess arguments (a new session, resource limits)."""
    command = [sys.executable, "-m", "twitchcam._cli.main", "batch", *args, "--model", str(model)]
    env = {**os.environ, "TWITCHCAM_NO_DOWNLOAD": "1"}
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, **popen)


def folder_of(out: Path, rel: str) -> Path:
    return out / rel.rsplit(".", 1)[0]


def read_summary(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "batch_summary.csv", keep_default_na=False, dtype=str)


def assert_same_results(out: Path, reference: Path) -> None:
    """Byte for byte; summary.json apart from the video's path, which names the folder it was read from."""
    for rel in CLIPS:
        for name in RESULTS:
            mine, theirs = folder_of(out, rel) / name, folder_of(reference, rel) / name
            if name == "summary.json":
                mine_summary, their_summary = json.loads(mine.read_text()), json.loads(theirs.read_text())
                assert Path(mine_summary.pop("video")).name == Path(their_summary.pop("video")).name
                assert mine_summary == their_summary, f"{rel}: {name} differs"
            else:
                assert mine.read_bytes() == theirs.read_bytes(), f"{rel}: {name} differs"


def assert_same_rows(out: Path, reference: Path, paths=None) -> None:
    """batch_summary.csv equals the reference's (its rows for `paths`, default all) but for timings; a row
    `skipped` by --resume stands for the `ok` row it kept."""
    mine = read_summary(out).drop(columns="seconds_taken")
    theirs = read_summary(reference).drop(columns="seconds_taken")
    if paths is not None:
        theirs = theirs[theirs["path"].isin(list(paths))].reset_index(drop=True)
    mine["status"] = mine["status"].replace("skipped", "ok")
    pd.testing.assert_frame_equal(mine, theirs)


def leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob(".*") if "partial" in p.name or p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def archive(tmp_path_factory, shared_clips) -> Path:
    """A clinic's folder: three good clips (nested), a truncated clip, a text file named .mp4, hidden files."""
    root = tmp_path_factory.mktemp("archive")
    for rel, clip in CLIPS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes((shared_clips / clip).read_bytes())
    (root / "cut.mp4").write_bytes((shared_clips / CLIPS["a.mp4"]).read_bytes()[:2000])
    (root / "notes.mp4").write_text("not a video, whatever its name says\n" * 20)
    (root / "readme.txt").write_text("not a video extension: never looked at\n")
    (root / ".a-hidden-copy.mp4").write_bytes((root / "a.mp4").read_bytes())
    (root / ".thumbnails").mkdir()
    (root / ".thumbnails" / "a.mp4").write_bytes((root / "a.mp4").read_bytes())
    return root


@pytest.fixture(scope="module")
def reference(archive, model_path) -> tuple[subprocess.CompletedProcess, Path]:
    """The uninterrupted local run with two workers, into OUT inside DIR (which must not be searched)."""
    out = archive / "results"
    out.mkdir()
    (out / "stray.mp4").write_bytes((archive / "a.mp4").read_bytes())  # a video inside OUT is not input
    result = run_batch_cli(str(archive), "--out", str(out), "--workers", "2", "--quiet", model=model_path)
    (out / "stray.mp4").unlink()  # later runs write elsewhere: they would rightly analyse it
    return result, out


def test_batch_gives_one_row_per_video_and_exit_5_when_some_fail(archive, reference):
    result, out = reference
    assert result.returncode == 5, result.stderr
    assert result.stdout == ""
    assert result.stderr.strip() == f"twitchcam: error: 2 of 5 videos failed; see {out / 'batch_summary.csv'}"

    table = read_summary(out)
    assert tuple(table.columns) == SUMMARY_COLUMNS == (
        "path", "status", "error", "duration_s", "frames", "face_fraction", "n_events", "events_per_min",
        "affected_side", "spasm_percent", "seconds_taken")
    assert list(table["path"]) == sorted(["a.mp4", "cut.mp4", "notes.mp4", "visit 2/b.MOV", "visit 2/deeper/c.mp4"])
    rows = table.set_index("path")
    for rel, frames in FRAMES.items():
        row = rows.loc[rel]
        summary = json.loads((folder_of(out, rel) / "summary.json").read_text())
        assert row["status"] == "ok" and row["error"] == ""
        assert int(row["frames"]) == frames == summary["frames"]
        assert float(row["duration_s"]) == summary["duration_s"]
        assert int(row["n_events"]) == summary["n_events"] and row["affected_side"] == summary["affected_side"]
        assert float(row["seconds_taken"]) > 0
        assert sorted(p.name for p in folder_of(out, rel).iterdir() if p.is_file()) == [".complete", *RESULTS]

    for rel in BAD:  # the same one-line message `twitchcam analyze` gives, and no results folder
        alone = subprocess.run([sys.executable, "-m", "twitchcam._cli.main", "analyze", str(archive / rel),
                                "--out", str(out / "alone")], capture_output=True, text=True, timeout=120)
        assert alone.returncode == 3
        assert rows.loc[rel, "status"] == "failed"
        assert f"twitchcam: error: {rows.loc[rel, 'error']}" == alone.stderr.strip()
        assert rows.loc[rel, "frames"] == "" and not folder_of(out, rel).exists()
    assert not (out / "stray").exists() and not (out / ".a-hidden-copy").exists()
    assert not (out / ".thumbnails").exists()
    assert leftovers(out) == []


def wait_for_a_finished_video(batch, out: Path) -> None:
    """Block until the running batch has written its first completion marker (at most 2 minutes)."""
    deadline = time.monotonic() + 120
    while not list(out.rglob(".complete")):
        assert batch.poll() is None, batch.communicate()
        assert time.monotonic() < deadline, "no video finished in time"
        time.sleep(0.05)


def test_resume_after_sigkill_finishes_without_redoing_finished_work(archive, reference, model_path, tmp_path):
    import psutil

    out = tmp_path / "out"
    batch = run_batch_cli(str(archive), "--out", str(out), "--workers", "1", "--quiet", model=model_path, wait=False)
    wait_for_a_finished_video(batch, out)
    workers = psutil.Process(batch.pid).children(recursive=True)
    batch.send_signal(signal.SIGKILL)
    batch.communicate(timeout=30)
    assert batch.returncode == -signal.SIGKILL
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == [], "worker processes outlived the killed batch"

    # What the killed run left is consistent: every row in the summary is a finished video.
    finished = {p.parent for p in out.rglob(".complete")}
    assert 1 <= len(finished) < len(CLIPS)
    killed_rows = read_summary(out)
    assert {folder_of(out, r) for r in killed_rows.loc[killed_rows["status"] == "ok", "path"]} <= finished
    marks = {folder: (folder / ".complete").stat().st_mtime_ns for folder in finished}
    # A kill during writing leaves analyze's staging folder; make sure there is one to clean up.
    (out / "visit 2" / ".c.partial-killed").mkdir(parents=True, exist_ok=True)

    resumed = run_batch_cli(str(archive), "--out", str(out), "--resume", "--quiet", model=model_path)
    assert resumed.returncode == 5, resumed.stderr
    assert_same_results(out, reference[1])
    assert_same_rows(out, reference[1])
    rows = read_summary(out).set_index("path")
    for rel in CLIPS:
        folder = folder_of(out, rel)
        if folder in marks:
            assert rows.loc[rel, "status"] == "skipped"
            assert (folder / ".complete").stat().st_mtime_ns == marks[folder], f"{rel} was redone"
        else:
            assert rows.loc[rel, "status"] == "ok"
    assert set(rows.loc[list(BAD), "status"]) == {"failed"}
    assert leftovers(out) == []

    # A video whose file changed since is analysed again; the others are not.
    changed = archive / "a.mp4"
    os.utime(changed, ns=(time.time_ns(), time.time_ns()))
    again = run_batch_cli(str(archive), "--out", str(out), "--resume", "--quiet", model=model_path)
    assert again.returncode == 5, again.stderr
    statuses = read_summary(out).set_index("path")["status"]
    assert statuses["a.mp4"] == "ok"
    assert statuses["visit 2/b.MOV"] == statuses["visit 2/deeper/c.mp4"] == "skipped"


def test_dask_cluster_gives_the_same_results_as_a_local_run(archive, reference, model_path, tmp_path):
    from dask.distributed import LocalCluster

    out = tmp_path / "out"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        result = run_batch_cli(str(archive), "--out", str(out), "--scheduler", cluster.scheduler_address,
                               "--quiet", model=model_path)
    assert result.returncode == 5, result.stderr
    assert_same_results(out, reference[1])
    mine, theirs = read_summary(out), read_summary(reference[1])
    pd.testing.assert_frame_equal(mine.drop(columns="seconds_taken"), theirs.drop(columns="seconds_taken"))


def test_a_worker_killed_mid_batch_does_not_stop_it(archive, reference, model_path, tmp_path):
    import psutil

    good = tmp_path / "good"
    for rel in CLIPS:
        (good / rel).parent.mkdir(parents=True, exist_ok=True)
        (good / rel).symlink_to(archive / rel)
    out = tmp_path / "out"
    batch = run_batch_cli(str(good), "--out", str(out), "--workers", "2", model=model_path, wait=False)
    wait_for_a_finished_video(batch, out)
    workers = [p for p in psutil.Process(batch.pid).children() if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 2
    workers[-1].kill()  # as the kernel's out-of-memory killer would
    stdout, stderr = batch.communicate(timeout=120)
    assert batch.returncode == 0, stderr
    assert "a worker process died while analysing" in stderr
    assert set(read_summary(out)["status"]) == {"ok"}
    assert_same_results(out, reference[1])
    assert_same_rows(out, reference[1], paths=CLIPS)
    assert leftovers(out) == []


def test_ctrl_c_stops_the_workers_keeps_finished_rows_and_exits_130(archive, model_path, tmp_path):
    import psutil

    (tmp_path / "in").mkdir()
    for rel in ("a.mp4", "visit 2/deeper/c.mp4"):
        (tmp_path / "in" / Path(rel).name).symlink_to(archive / rel)
    out = tmp_path / "out"
    batch = run_batch_cli(str(tmp_path / "in"), "--out", str(out), "--workers", "1", model=model_path, wait=False)
    wait_for_a_finished_video(batch, out)
    workers = psutil.Process(batch.pid).children(recursive=True)
    batch.send_signal(signal.SIGINT)
    stdout, stderr = batch.communicate(timeout=30)
    assert batch.returncode == 130 and stderr.strip() == "twitchcam: error: interrupted"
    assert psutil.wait_procs(workers, timeout=10)[1] == []
    rows = read_summary(out)
    assert list(rows["status"]) == ["ok"] and (folder_of(out, rows["path"][0]) / ".complete").exists()
    assert leftovers(out) == []


def test_report_is_written_for_every_video_and_counts_for_resume(archive, model_path, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.mp4").symlink_to(archive / "a.mp4")
    out = tmp_path / "out"
    first = run_batch_cli(str(tmp_path / "in"), "--out", str(out), "--report", "--quiet", model=model_path)
    assert first.returncode == 0, first.stderr
    assert {"report.html", "timeline.png"} <= {p.name for p in (out / "a").iterdir()}
    assert json.loads((out / "a" / ".complete").read_text())["report"] is True
    again = run_batch_cli(str(tmp_path / "in"), "--out", str(out), "--resume", "--report", "--quiet", model=model_path)
    assert again.returncode == 0, again.stderr
    assert list(read_summary(out)["status"]) == ["skipped"]


def test_finding_videos_skips_hidden_files_and_out_and_honours_a_pattern(archive, reference):
    out = reference[1]
    found = [p.relative_to(archive).as_posix() for p in find_videos(archive, exclude=[out])]
    assert found == ["a.mp4", "cut.mp4", "notes.mp4", "visit 2/b.MOV", "visit 2/deeper/c.mp4"]
    assert [p.name for p in find_videos(archive, pattern="*.MOV")] == ["b.MOV"]
    assert [p.name for p in find_videos(archive, pattern="deeper/*.mp4")] == ["c.mp4"]


def test_videos_differing_only_by_extension_get_their_own_folders(tmp_path):
    for name in ("x.mp4", "x.mov", "y.mp4"):
        (tmp_path / "in" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_bytes(b"")
    items = plan(tmp_path / "in", tmp_path / "out", find_videos(tmp_path / "in"))
    assert [Path(i.out_dir).name for i in items] == ["x.mov", "x.mp4", "y"]


def test_summary_table_keeps_whole_numbers_whole_and_failed_rows_empty():
    rows = [BatchRow(path="b.mp4", status="ok", duration_s=3.12, frames=78, face_fraction=1.0, n_events=0,
                     events_per_min=0.0, affected_side="none", spasm_percent=0.0, seconds_taken=1.5),
            BatchRow.failed("a.mp4", "not a readable video:\n a.mp4", 0.01)]
    csv = summary_table(rows).to_csv(index=False).splitlines()
    assert csv == [",".join(SUMMARY_COLUMNS), "a.mp4,failed,not a readable video: a.mp4,,,,,,,,0.01",
                   "b.mp4,ok,,3.12,78,1.0,0,0.0,none,0.0,1.5"]


@pytest.mark.parametrize(("args", "code", "text"), [
    (["{missing}", "--out", "{tmp}/o"], 2, "folder not found"),
    (["{tmp}", "--out", "{tmp}"], 2, "must not be the folder of videos itself"),
    (["{tmp}", "--out", "{tmp}/o", "--workers", "0"], 2, "--workers"),
    (["{tmp}", "--out", "{tmp}/o", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], 2, "Dask cluster"),
    (["{tmp}", "--out", "{tmp}/o", "--scheduler", "no-port"], 2, "not a Dask scheduler address"),
    (["{tmp}"], 2, "--out"),
])
def test_bad_usage_is_one_line_and_exit_2(tmp_path, model_path, capsys, args, code, text):
    from twitchcam._cli.main import main

    args = [a.format(tmp=tmp_path, missing=tmp_path / "nope") for a in args]
    assert main(["batch", *args, "--model", str(model_path)]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("twitchcam: error: ") and text in err[0], err


def test_a_folder_without_videos_is_not_an_error(tmp_path, model_path, capsys):
    from twitchcam._cli.main import main

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("no videos here")
    assert main(["batch", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--model", str(model_path)]) == 0
    assert capsys.readouterr().err.strip() == f"twitchcam: warning: no videos found in {tmp_path / 'in'}"
    assert (tmp_path / "out" / "batch_summary.csv").read_text().strip() == ",".join(SUMMARY_COLUMNS)


def test_a_second_batch_into_the_same_out_is_refused(tmp_path, model_path):
    import fcntl

    from twitchcam.core.errors import UsageError
    from twitchcam.run.batch import run_batch

    (tmp_path / "in").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".twitchcam-batch.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(UsageError, match="another twitchcam batch"):
            run_batch(tmp_path / "in", out, model=model_path)
