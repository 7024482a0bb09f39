"""The `twitchcam` command as a user runs it: real process, real model, real clips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twitchcam.core.events import EVENT_COLUMNS
from twitchcam.media import model as model_module

SHORT_CLIP = "normal/lp_d0_smile_eye_roll_greenscreen.mp4"


def run_cli(*args: str, model: Path | None = None, cwd: Path | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TWITCHCAM_NO_DOWNLOAD": "1", **(extra_env or {})}
    if model is not None:
        env["TWITCHCAM_MODEL"] = str(model)
    return subprocess.run([sys.executable, "-m", "twitchcam._cli.main", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("twitchcam: error: "), result.stderr
    assert text in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_file_exits_2(tmp_path, model_path):
    assert_one_line_error(run_cli("analyze", str(tmp_path / "nope.mp4"), model=model_path), 2, "file not found")


def test_bad_option_exits_2(model_path):
    assert_one_line_error(run_cli("analyze", "--no-such-option", "x.mp4", model=model_path), 2, "no-such-option")


@pytest.mark.parametrize("content", [b"", b"this is a text file, not a video\n" * 50, bytes(range(256)) * 400])
def test_not_a_video_exits_3_and_writes_nothing(tmp_path, model_path, content):
    fake = tmp_path / "clip.mp4"
    fake.write_bytes(content)
    assert_one_line_error(run_cli("analyze", str(fake), model=model_path), 3, str(fake))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_truncated_before_first_frame_exits_3(tmp_path, shared_clips, model_path):
    clip = tmp_path / "cut.mp4"
    clip.write_bytes((shared_clips / SHORT_CLIP).read_bytes()[:2000])
    assert_one_line_error(run_cli("analyze", str(clip), model=model_path), 3, "cut.mp4")


def test_video_without_face_exits_4_and_writes_nothing(tmp_path, model_path):
    import cv2

    clip = tmp_path / "wall.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 120))
    rng = np.random.default_rng(1)
    for _ in range(25):
        writer.write(rng.integers(90, 110, (120, 160, 3), dtype=np.uint8))
    writer.release()
    assert_one_line_error(run_cli("analyze", str(clip), model=model_path), 4, "no face")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wall.mp4"]


def test_missing_model_offline_exits_2_and_says_where(tmp_path, shared_clips):
    env_home = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "twitchcam._cli.main", "analyze", str(shared_clips / SHORT_CLIP),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
        env={k: v for k, v in {**os.environ, **env_home, "TWITCHCAM_NO_DOWNLOAD": "1"}.items()
             if k != "TWITCHCAM_MODEL"},
        cwd=tmp_path,
    )
    if result.returncode == 0:
        pytest.skip("a model is installed in the source tree's models/ folder")
    assert_one_line_error(result, 2, "models fetch --from")
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback(tmp_path, model_path):
    result = run_cli("analyze", str(tmp_path / "nope.mp4"), "--debug", model=model_path)
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_analyze_writes_the_three_files_and_the_api_matches_them(tmp_path, shared_clips, model_path):
    clip = tmp_path / "my clip é.mp4"  # spaces and non-ASCII in the path
    clip.write_bytes((shared_clips / SHORT_CLIP).read_bytes())
    result = run_cli("analyze", str(clip), "--quiet", model=model_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    out = tmp_path / "my clip é_twitchcam"
    assert sorted(p.name for p in out.iterdir()) == ["events.csv", "frames.csv", "summary.json"]

    events = pd.read_csv(out / "events.csv")
    frames = pd.read_csv(out / "frames.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert tuple(events.columns) == EVENT_COLUMNS
    assert len(frames) == summary["frames"] == 78
    assert frames["t_s"].is_monotonic_increasing and frames["t_s"].iloc[1] == pytest.approx(0.04)
    for key in ("video", "duration_s", "fps", "frames", "face_fraction", "n_events", "events_per_min",
                "affected_side", "events_by_region", "spasm_time_s", "spasm_percent", "brow_lift_events",
                "model_sha256", "eye_model_sha256", "twitchcam_version", "parameters"):
        assert key in summary
    face = frames["face"]
    for column in ("eyelid_aperture_eye_model_left", "eyelid_aperture_eye_model_right"):
        assert frames.loc[face, column].between(0.05, 0.6).mean() > 0.9  # measured wherever the face is
    assert summary["duration_s"] == pytest.approx(3.12, abs=0.01) and summary["fps"] == pytest.approx(25)

    import twitchcam

    api = twitchcam.analyze(clip, model=model_path)
    pd.testing.assert_frame_equal(api.frames, frames, check_dtype=False)
    pd.testing.assert_frame_equal(api.events, events, check_dtype=False)
    assert api.summary == summary


def test_rerun_replaces_results_in_an_existing_folder(tmp_path, shared_clips, model_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "events.csv").write_text("stale")
    result = run_cli("analyze", str(shared_clips / SHORT_CLIP), "--out", str(out), "--quiet", model=model_path)
    assert result.returncode == 0, result.stderr
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "events.csv").read_text().startswith("event_id,")
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_unwritable_output_folder_is_a_clean_error(tmp_path, shared_clips, model_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("analyze", str(shared_clips / SHORT_CLIP), "--out", str(blocker / "out"), model=model_path)
    assert_one_line_error(result, 1, "cannot write results")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_models_fetch_from_both_files_then_path_shows_both(tmp_path, model_path, eye_model_path):
    cache = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "TWITCHCAM_MODEL": "", "TWITCHCAM_EYE_MODEL": ""}
    installed = tmp_path / "cache" / "twitchcam"
    result = run_cli("models", "fetch", "--from", str(eye_model_path), "--from", str(model_path), extra_env=cache)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"installed {installed / 'face_landmarker.task'} (sha256 {model_module.MODEL_SHA256})",
        f"installed {installed / 'iris_landmark.tflite'} (sha256 {model_module.EYE_MODEL_SHA256})",
    ]
    again = run_cli("models", "fetch", extra_env=cache)  # nothing missing: no download, nothing rewritten
    assert again.returncode == 0 and again.stdout.count("already installed") == 2, again.stderr
    if model_module.PROJECT_MODEL.is_file() or model_module.PROJECT_EYE_MODEL.is_file():
        pytest.skip("a model is installed in the source tree's models/ folder")
    shown = run_cli("models", "path", extra_env=cache)
    assert shown.stdout.splitlines() == [str(installed / name) for name in ("face_landmarker.task",
                                                                            "iris_landmark.tflite")]


def test_models_fetch_refuses_a_file_that_is_neither_model(tmp_path):
    fake = tmp_path / "model.tflite"
    fake.write_bytes(b"\0" * 4096)
    result = run_cli("models", "fetch", "--from", str(fake), extra_env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert_one_line_error(result, 2, "neither face_landmarker.task nor iris_landmark.tflite")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.t*"))


def test_models_fetch_offline_without_the_eye_model_says_how(tmp_path, model_path):
    result = run_cli("models", "fetch", "--from", str(model_path), extra_env={"XDG_CACHE_HOME": str(tmp_path / "c")})
    assert_one_line_error(result, 2, "iris_landmark.tflite is not installed and TWITCHCAM_NO_DOWNLOAD forbids")
    assert "--from FILE" in result.stderr
