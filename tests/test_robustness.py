"""Every bad input gets a clear answer and nothing is lost (issue #9): the corpus of tests/corpus.py through
`twitchcam analyze`, `twitchcam batch` and `twitchcam serve`, as real processes with the real model.

The contract (README "Exit codes"): a failure is exit code 1-4 with exactly one line on stderr,
`twitchcam: error: …`, no traceback and no results folder or half-written file left behind; a readable
video is exit 0 with the three result files, and what makes it less trustworthy is a quality warning
in summary.json (also printed on stderr as `twitchcam: warning: …`, and nothing else is).

The corpus is built once per module; each case is analysed once (two at a time) in its own folder, and
the tests below check the stored runs.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from corpus import (
    CASES,
    CLIP_FRAMES,
    NON_ASCII_FOLDER,
    ROTATION_DEG,
    SAMPLE,
    build_corpus,
    long_face_clip,
    peak_rss_mb,
    repeated_pts,
    vfr_pts,
)

RESULTS = ["events.csv", "frames.csv", "summary.json"]
RUN_TIMEOUT_S = 300
MAX_RSS_4K_MB = 1500


@dataclass(frozen=True)
class Outcome:
    """The documented answer to one case: the exit code, and a text the answer must contain: in the error
    line for a failure, in one of summary.json's quality warnings for a success (None: no warning at all)."""

    code: int
    says: str | None = None


EXPECTED = {
    "empty": Outcome(3, "empty file"),
    "text_as_mp4": Outcome(3, "not a readable video"),
    "png_as_mp4": Outcome(3, "only one frame could be decoded"),
    "truncated_10": Outcome(3, "not a readable video"),  # MP4 keeps its index at the end: nothing to read
    "truncated_50": Outcome(3, "not a readable video"),
    "truncated_90": Outcome(3, "not a readable video"),
    "truncated_mkv_50": Outcome(0, "s the file announces could be decoded"),
    "corrupt_middle": Outcome(0, "damaged frames could not be decoded and were skipped"),
    "zero_frames": Outcome(3, "not a readable video"),
    "tiny_1x1": Outcome(4, "no face found in any of the 30 frames"),
    "tiny_16x16": Outcome(4, "no face found in any of the 30 frames"),
    "huge_4k": Outcome(0),
    "audio_only": Outcome(3, "not a readable video"),
    "no_face": Outcome(4, "no face found in any of the 45 frames"),
    "face_leaves": Outcome(0, "face found in only 50% of frames"),
    "two_faces": Outcome(0, "more than one face in"),
    "very_dark": Outcome(0),
    "overexposed": Outcome(0),
    "rotated_phone": Outcome(0),
    "variable_frame_rate": Outcome(0),
    "repeated_timestamps": Outcome(0),
    "zero_timestamps": Outcome(0),
    "fps_1": Outcome(0, "low frame rate (1.0 fps)"),
    "fps_240": Outcome(0),
    "odd_path": Outcome(0),
}


# ---- running twitchcam ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One finished `twitchcam` process."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    """The process's peak resident memory (VmHWM, sampled every 20 ms until it exits; NaN without /proc).
    Not wait4's ru_maxrss: that also counts the memory of the forked copy of pytest before exec."""
    seconds: float


def twitchcam(*args: str, model: Path, cwd: Path | None = None, preexec_fn=None,
              timeout: float = RUN_TIMEOUT_S) -> Run:
    """Run `python -m twitchcam._cli.main ARGS` to completion (stderr not a terminal: no progress bar)."""
    env = {k: v for k, v in os.environ.items() if k != "TWITCHCAM_DEBUG"}
    env.update(TWITCHCAM_MODEL=str(model), TWITCHCAM_NO_DOWNLOAD="1")
    start = time.monotonic()
    peak = float("nan")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen([sys.executable, "-m", "twitchcam._cli.main", *args], stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=err, env=env, cwd=cwd, preexec_fn=preexec_fn)
        while process.poll() is None:
            peak = np.fmax(peak, peak_rss_mb(process.pid))  # the high-water mark only grows: the last one counts
            if time.monotonic() - start > timeout:
                process.kill()
                process.wait()
                pytest.fail(f"twitchcam {' '.join(args)} was still running after {timeout:g} s")
            time.sleep(0.02)
        out.seek(0)
        err.seek(0)
        return Run(args, process.returncode, out.read().decode(), err.read().decode(), float(peak),
                   time.monotonic() - start)


def assert_one_error_line(run: Run, code: int, says: str) -> str:
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == code, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("twitchcam: error: "), run.stderr
    assert says in lines[0], lines[0]
    assert run.stdout == ""
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Results folders and half-written files under `folder`."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.name.endswith("_twitchcam") or ".partial" in p.name or p.name.endswith(".tmp"))


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under `folder` with its size and modification time, to show nothing changed."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


# ---- the corpus, analysed once -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """(root, case file by name): every case under one folder, as `batch` sees it."""
    root = tmp_path_factory.mktemp("corpus")
    return root, build_corpus(root)


@dataclass(frozen=True)
class Analysed:
    """One case through `twitchcam analyze`: the run, the copy of the video it read, its results folder."""

    run: Run
    video: Path
    out: Path
    """Where the results go (`<stem>_twitchcam` next to the video): present only on success."""

    def summary(self) -> dict:
        return json.loads((self.out / "summary.json").read_text())

    def frames(self) -> pd.DataFrame:
        return pd.read_csv(self.out / "frames.csv")

    def events(self) -> pd.DataFrame:
        return pd.read_csv(self.out / "events.csv")


@pytest.fixture(scope="module")
def corpus_runs(corpus, tmp_path_factory, model_path) -> dict[str, Analysed]:
    """`twitchcam analyze VIDEO` (default output folder) on a copy of every case, each in a folder of its own."""
    root, files = corpus
    runs = tmp_path_factory.mktemp("analyze")

    def analyse(name: str) -> Analysed:
        video = runs / name / files[name].relative_to(root)
        video.parent.mkdir(parents=True)
        shutil.copy2(files[name], video)
        run = twitchcam("analyze", str(video), model=model_path)
        return Analysed(run, video, video.with_name(f"{video.stem}_twitchcam"))

    with ThreadPoolExecutor(max_workers=2) as pool:  # the machine's two cores
        return dict(zip(files, pool.map(analyse, files)))


def test_every_case_has_a_documented_outcome():
    assert set(EXPECTED) == set(CASES)


@pytest.mark.parametrize("case", list(EXPECTED))
def test_analyze_gives_the_documented_answer_and_leaves_nothing_half_done(corpus_runs, case):
    expected, done = EXPECTED[case], corpus_runs[case]
    run = done.run
    folder = runs_folder(done)
    if expected.code:
        assert_one_error_line(run, expected.code, expected.says)
        assert done.video.name in run.stderr
        # Nothing but the input: no results folder, no staging folder, no temporary file.
        assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == [done.video.name]
        assert leftovers(folder) == []
        return

    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert sorted(p.name for p in done.out.iterdir()) == RESULTS
    assert [p for p in folder.rglob("*") if ".partial" in p.name] == []
    summary, frames = done.summary(), done.frames()
    assert run.stdout.strip().endswith(f"results in {done.out}")
    # stderr holds the quality warnings, one line each, and nothing else (no FFmpeg or MediaPipe chatter).
    assert run.stderr.splitlines() == [f"twitchcam: warning: {w}" for w in summary["quality_warnings"]]
    if expected.says is None:
        assert summary["quality_warnings"] == []
    else:
        assert any(expected.says in w for w in summary["quality_warnings"]), summary["quality_warnings"]
    assert len(frames) == summary["frames"] >= 2
    assert frames["t_s"].is_monotonic_increasing and frames["t_s"].diff().iloc[1:].gt(0).all()
    assert summary["video"] == str(done.video)
    assert len(done.events()) == summary["n_events"]


def runs_folder(done: Analysed) -> Path:
    """The case's own folder (the odd path case has a sub-folder in it)."""
    folder = done.video.parent
    return folder.parent if folder.name == NON_ASCII_FOLDER else folder


def succeeded(corpus_runs: dict[str, Analysed], case: str) -> Analysed:
    done = corpus_runs[case]
    if done.run.returncode != 0:
        pytest.fail(f"{case} was not analysed: {done.run.stderr}")
    return done


def truth_events() -> pd.DataFrame:
    return pd.read_csv(SAMPLE.with_suffix(".truth.csv"))


def test_damaged_frames_are_skipped_not_taken_for_the_end(corpus_runs):
    done = succeeded(corpus_runs, "corrupt_middle")
    (warning,) = [w for w in done.summary()["quality_warnings"] if "damaged frames" in w]
    damaged = int(warning.split()[0])
    frames = done.frames()
    # Every frame of the clip is accounted for: decoded, or counted as damaged; the damage is a gap in time.
    assert 1 <= damaged <= 5 and len(frames) + damaged == CLIP_FRAMES
    steps = frames["t_s"].diff().iloc[1:].to_numpy()
    assert np.isclose(steps, 1 / 30, atol=1e-3).sum() == len(steps) - 1
    assert steps.max() == pytest.approx((damaged + 1) / 30, abs=1e-3)
    assert frames["t_s"].iloc[-1] == pytest.approx((CLIP_FRAMES - 1) / 30, abs=1e-3)


def test_a_cut_matroska_file_keeps_the_frames_before_the_cut(corpus_runs):
    done = succeeded(corpus_runs, "truncated_mkv_50")
    frames = done.frames()
    assert CLIP_FRAMES * 0.3 < len(frames) < CLIP_FRAMES * 0.7
    np.testing.assert_allclose(frames["t_s"], np.arange(len(frames)) / 30, atol=2e-3)
    assert frames["face"].all()


def test_a_4k_video_is_analysed_in_bounded_memory(corpus_runs):
    done = succeeded(corpus_runs, "huge_4k")
    summary = done.summary()
    assert (summary["width"], summary["height"], summary["frames"]) == (3840, 2160, 8)
    assert summary["face_fraction"] == 1.0
    if np.isnan(done.run.peak_rss_mb):
        pytest.skip("no /proc to read the peak memory from")
    assert done.run.peak_rss_mb < MAX_RSS_4K_MB, f"peak RSS {done.run.peak_rss_mb:.0f} MB"


def test_face_leaving_the_frame_is_a_gap_with_a_warning(corpus_runs):
    done = succeeded(corpus_runs, "face_leaves")
    frames, events = done.frames(), done.events()
    # 2 s of face, 4 s of black, 2 s of face.
    assert frames["face"].iloc[:60].all() and not frames["face"].iloc[60:180].any() and frames["face"].iloc[180:].all()
    assert not frames["usable"].iloc[60:180].any()
    for start, end in zip(events["start_s"], events["end_s"]):
        assert end <= 2.0 or start >= 6.0, "an event while no face was in the picture"
    # The sample's first spasm (2.6-3.47 s of the sample) is in the second face stretch, at 6.6-7.47 s.
    first = truth_events().iloc[0]
    assert ((events["start_s"] < first["end_s"] + 4) & (events["end_s"] > first["start_s"] + 4)
            & (events["side"] == "left")).any()


def test_with_two_faces_the_same_subject_is_followed(corpus_runs):
    done = succeeded(corpus_runs, "two_faces")
    frames, events = done.frames(), done.events()
    assert (frames["faces_found"] == 2).mean() > 0.9
    # The subject (the larger face, IOD ~125 px) and not the mirrored smaller one (~95 px) in every frame.
    size = frames["face_size_px"]
    assert size.min() > 0.9 * size.median() and size.max() < 1.1 * size.median() and size.median() > 110
    # The subject's left-sided spasm of the sample, on her left: the mirrored face would show it on the right.
    first = truth_events().iloc[0]
    assert len(events) == 1 and events["side"].iloc[0] == "left"
    assert events["start_s"].iloc[0] < first["end_s"] and events["end_s"].iloc[0] > first["start_s"]


@pytest.mark.parametrize("case", ["very_dark", "overexposed"])
def test_dark_and_overexposed_faces_are_measured_without_false_events(corpus_runs, case):
    done = succeeded(corpus_runs, case)
    summary = done.summary()
    assert summary["face_fraction"] >= 0.9 and summary["usable_fraction"] >= 0.9
    # The clip is the sample's first 2 s, before its first spasm: any event would be a false one.
    assert truth_events()["start_s"].min() > CLIP_FRAMES / 30
    assert summary["n_events"] == 0


def test_rotation_metadata_is_applied_so_the_face_is_upright(corpus_runs):
    done = succeeded(corpus_runs, "rotated_phone")
    summary, frames = done.summary(), done.frames()
    assert (summary["width"], summary["height"], summary["rotation_deg"]) == (320, 480, ROTATION_DEG)
    assert summary["face_fraction"] >= 0.9
    # Upright: the head is not rolled (a face lying on its side would read about ±90 degrees).
    assert frames["head_roll_deg"].abs().median() < 15


def test_variable_frame_rate_times_come_from_the_container(corpus_runs):
    frames = succeeded(corpus_runs, "variable_frame_rate").frames()
    np.testing.assert_allclose(frames["t_s"], np.array(vfr_pts()) / 1000, atol=1e-6)


@pytest.mark.parametrize("case", ["repeated_timestamps", "zero_timestamps"])
def test_repeated_or_zero_timestamps_lose_no_frame(corpus_runs, case):
    done = succeeded(corpus_runs, case)
    frames = done.frames()
    assert len(frames) == CLIP_FRAMES
    steps = frames["t_s"].diff().iloc[1:]
    assert steps.gt(0).all()
    if case == "zero_timestamps":  # no usable time at all: the nominal frame rate
        np.testing.assert_allclose(steps, 1 / 30, atol=1e-6)
    else:  # the first of each repeated pair keeps the container's time; the repeat falls between two
        np.testing.assert_allclose(frames["t_s"].iloc[::2], repeated_pts()[::2] / 1000, atol=1e-6)


@pytest.mark.parametrize(("case", "fps", "frames"), [("fps_1", 1, 10), ("fps_240", 240, 120)])
def test_extreme_frame_rates(corpus_runs, case, fps, frames):
    done = succeeded(corpus_runs, case)
    summary, table = done.summary(), done.frames()
    assert summary["frames"] == frames and summary["fps"] == pytest.approx(fps)
    np.testing.assert_allclose(table["t_s"], np.arange(frames) / fps, atol=1e-3)
    assert summary["face_fraction"] == 1.0


def test_spaces_and_non_ascii_in_folder_and_file_names(corpus_runs):
    done = succeeded(corpus_runs, "odd_path")
    assert done.video.parent.name == NON_ASCII_FOLDER
    assert done.out == done.video.parent / "Visite à l'hôpital (2)_twitchcam"
    assert done.summary()["video"] == str(done.video) and done.summary()["frames"] == 45


# ---- output that cannot be written ---------------------------------------------------------------------------

PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1


def _drop_root_override() -> None:
    """preexec_fn: give up root's power to write where file permissions say no (CAP_DAC_OVERRIDE), for the
    child and everything it runs, so that a read-only folder is read-only for it too."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


READ_ONLY = stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH


def _skip_unless_read_only(folder: Path) -> None:
    """Skip when a child started with `_drop_root_override` can still write into `folder`."""
    probe = [sys.executable, "-c", "import sys; open(sys.argv[1] + '/probe', 'w')", str(folder)]
    try:
        writable = subprocess.run(probe, preexec_fn=_drop_root_override, capture_output=True).returncode == 0
    except subprocess.SubprocessError:  # prctl refused (no CAP_SETPCAP)
        writable = True
    if writable:
        folder.chmod(0o755)
        (folder / "probe").unlink(missing_ok=True)
        pytest.skip("file permissions do not stop this user from writing (root unable to drop CAP_DAC_OVERRIDE)")


@pytest.fixture
def read_only(tmp_path, corpus_runs) -> Iterator[Path]:
    """A read-only folder holding a face clip (read-only even for root, with `_drop_root_override`)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    shutil.copy2(corpus_runs["odd_path"].video, folder / "clip.mp4")
    folder.chmod(READ_ONLY)
    _skip_unless_read_only(folder)
    yield folder
    folder.chmod(0o755)


def test_read_only_folder_is_one_clear_error_and_nothing_written(read_only, model_path):
    before = tree(read_only)
    # Default output (next to the video), and a new folder inside the read-only one.
    for out in ([], ["--out", str(read_only / "results")]):
        run = twitchcam("analyze", str(read_only / "clip.mp4"), *out, model=model_path,
                        preexec_fn=_drop_root_override)
        assert_one_error_line(run, 1, "cannot write results to")
        assert "Permission denied" in run.stderr
        assert tree(read_only) == before


def test_a_read_only_results_folder_keeps_its_earlier_results(corpus_runs, model_path, tmp_path):
    earlier = tmp_path / "results"
    shutil.copytree(succeeded(corpus_runs, "odd_path").out, earlier)
    video = tmp_path / "clip.mp4"
    shutil.copy2(corpus_runs["odd_path"].video, video)
    earlier.chmod(READ_ONLY)
    try:
        _skip_unless_read_only(earlier)
        before = tree(earlier)
        run = twitchcam("analyze", str(video), "--out", str(earlier), model=model_path, preexec_fn=_drop_root_override)
        assert_one_error_line(run, 1, f"cannot write results to {earlier}")
        assert tree(earlier) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "results"]
    finally:
        earlier.chmod(0o755)


FILE_SIZE_LIMIT = 16 * 1024  # bytes: frames.csv of 45 frames is ~45 KB


def _full_disk() -> None:
    """preexec_fn: files may not grow beyond FILE_SIZE_LIMIT, and growing one fails with EFBIG (as ENOSPC
    would on a full disk) instead of killing the process with SIGXFSZ."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def test_full_disk_is_one_clear_error_and_no_partial_files(corpus_runs, model_path, tmp_path):
    video = tmp_path / "clip.mp4"
    shutil.copy2(corpus_runs["odd_path"].video, video)
    run = twitchcam("analyze", str(video), model=model_path, preexec_fn=_full_disk)
    assert_one_error_line(run, 1, f"cannot write results to {tmp_path / 'clip_twitchcam'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]

    # Over earlier results: all or nothing, the earlier files stay as they were.
    earlier = tmp_path / "results"
    shutil.copytree(succeeded(corpus_runs, "odd_path").out, earlier)
    before = tree(earlier)
    run = twitchcam("analyze", str(video), "--out", str(earlier), model=model_path, preexec_fn=_full_disk)
    assert_one_error_line(run, 1, "File too large")
    assert tree(earlier) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "results"]


# ---- the same corpus through batch and the web server --------------------------------------------------------

def test_batch_over_the_whole_corpus_gives_every_case_a_row(corpus, corpus_runs, model_path, tmp_path):
    root, files = corpus
    out = tmp_path / "batch out"
    run = twitchcam("batch", str(root), "--out", str(out), "--workers", "2", "--quiet", model=model_path)
    failed = [case for case, outcome in EXPECTED.items() if outcome.code]
    assert run.returncode == 5, run.stderr
    assert run.stderr.splitlines() == [
        f"twitchcam: error: {len(failed)} of {len(files)} videos failed; see {out / 'batch_summary.csv'}"]
    assert run.stdout == ""

    table = pd.read_csv(out / "batch_summary.csv", keep_default_na=False, dtype=str).set_index("path")
    rel = {case: files[case].relative_to(root).as_posix() for case in files}
    assert sorted(table.index) == sorted(rel.values())
    for case, outcome in EXPECTED.items():
        row, folder = table.loc[rel[case]], out / rel[case].rsplit(".", 1)[0]
        if outcome.code:
            # The same one-line message `analyze` gives for this file.
            alone = corpus_runs[case].run.stderr.strip().removeprefix("twitchcam: error: ")
            assert row["status"] == "failed" and row["error"] == alone.replace(
                str(corpus_runs[case].video), str(files[case])), case
            assert row["frames"] == "" and not folder.exists(), case
        else:
            summary = json.loads((folder / "summary.json").read_text())
            assert row["status"] == "ok" and row["error"] == "", case
            assert int(row["frames"]) == summary["frames"] == corpus_runs[case].summary()["frames"], case
            assert summary["quality_warnings"] == corpus_runs[case].summary()["quality_warnings"], case
            assert sorted(p.name for p in folder.iterdir()) == [".complete", *RESULTS], case
    assert [p for p in out.rglob("*") if ".partial" in p.name or p.name.endswith(".tmp")] == []
    assert sorted(p.name for p in root.rglob("*")) == sorted([*(p.name for p in files.values()), NON_ASCII_FOLDER])


WEB_CASES = {  # case: (HTTP status of the upload, text of the refusal or of the failed job's error)
    "empty": (400, "is empty (0 bytes)"),
    "text_as_mp4": (422, "not a readable video: 'text_as_mp4.mp4'"),
    "truncated_50": (422, "not a readable video: 'truncated_50.mp4'"),
    "no_face": (201, "no face found in any of the 45 frames of no_face.mp4"),
    "tiny_16x16": (201, "no face found in any of the 30 frames of tiny_16x16.mp4"),
}


@pytest.mark.slow
def test_web_server_answers_bad_uploads_and_keeps_serving(corpus, model_path, tmp_path):
    pytest.importorskip("fastapi")
    from test_server import leftovers as server_leftovers
    from test_server import running_server, upload, wait_until_finished

    root, files = corpus
    with running_server(tmp_path / "data", model_path, "--workers", "1") as server, server.client() as client:
        for case, (status, says) in WEB_CASES.items():
            response = upload(client, files[case])
            assert response.status_code == status, (case, response.text)
            if status != 201:
                assert says in response.json()["detail"], (case, response.json())
                continue
            job = wait_until_finished(client, response.json()["id"])
            assert job["status"] == "failed" and says in job["error"], (case, job)
            assert str(server.data) not in job["error"]
        # Still serving: a good clip (with a non-ASCII name) uploaded after them all is corpus_runs.
        good = files["odd_path"]
        response = upload(client, good)
        assert response.status_code == 201, response.text
        job = wait_until_finished(client, response.json()["id"])
        assert job["status"] == "done", job["error"]
        assert job["name"] == good.name and job["summary"]["frames"] == 45
        assert len(client.get("/api/jobs").json()) == 3
        assert server.process.poll() is None
        assert server_leftovers(server.data) == []


# ---- long input ----------------------------------------------------------------------------------------------

LONG_FPS = 4  # cheap: a 30-minute clip is 7,200 frames, ~100 s of analysis on 2 cores
MAX_RSS_GROWTH = 1.3


@pytest.mark.slow
def test_a_30_minute_clip_needs_no_more_memory_than_a_3_minute_one(tmp_path, model_path):
    short = long_face_clip(tmp_path / "three minutes.mp4", 3, fps=LONG_FPS, size=(192, 192))
    long = long_face_clip(tmp_path / "thirty minutes.mp4", 30, fps=LONG_FPS, size=(192, 192))
    runs = {}
    for minutes, clip in ((3, short), (30, long)):
        runs[minutes] = twitchcam("analyze", str(clip), "--quiet", "--out", str(tmp_path / f"out{minutes}"),
                                  model=model_path, timeout=600)
        assert runs[minutes].returncode == 0, runs[minutes].stderr
        summary = json.loads((tmp_path / f"out{minutes}" / "summary.json").read_text())
        assert summary["frames"] == minutes * 60 * LONG_FPS and summary["face_fraction"] > 0.9
        assert summary["duration_s"] == pytest.approx(minutes * 60, abs=0.5)
    if np.isnan(runs[3].peak_rss_mb):
        pytest.skip("no /proc to read the peak memory from")
    ratio = runs[30].peak_rss_mb / runs[3].peak_rss_mb
    assert ratio < MAX_RSS_GROWTH, (f"peak RSS {runs[3].peak_rss_mb:.0f} MB for 3 minutes, "
                                    f"{runs[30].peak_rss_mb:.0f} MB for 30 minutes")


# ---- the progress bar ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["variable_frame_rate", "zero_timestamps", "odd_path"])
def test_the_progress_bar_ends_at_the_frames_there_really_were(corpus, model_path, tmp_path, case):
    """On a terminal, the bar's last count is the number of frames analysed, even where the container's
    frame count is an estimate (Matroska: 65 announced for 60 variable-rate frames, 1 with zero times)."""
    import fcntl
    import pty
    import re
    import struct
    import termios

    root, files = corpus
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a 120-column terminal
    env = {**os.environ, "TWITCHCAM_MODEL": str(model_path), "TWITCHCAM_NO_DOWNLOAD": "1"}
    process = subprocess.Popen([sys.executable, "-m", "twitchcam._cli.main", "analyze", str(files[case]),
                                "--out", str(tmp_path / "out")], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=terminal, env=env)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait(timeout=120) == 0
    os.close(controller)
    counts = re.findall(rb"\| *(\d+)/(\d+) \[", shown)
    frames = json.loads((tmp_path / "out" / "summary.json").read_text())["frames"]
    assert counts and counts[-1] == (str(frames).encode(), str(frames).encode()), shown[-400:]
    assert all(int(n) <= int(total) for n, total in counts), counts  # never past its own end
