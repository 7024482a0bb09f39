"""Shared fixtures: the real model and real clips from ../shared, and each clip analysed once per session.

Without ../shared the tests that need it are skipped, unless TWITCHCAM_REQUIRE_SHARED=1 (set by CI),
in which case they fail: CI must never pass by skipping the real-data tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SHARED_MODEL = SHARED / "models" / "face_landmarker.task"
SHARED_EYE_MODEL = SHARED / "models" / "iris_landmark.tflite"
SAMPLES = REPO / "samples"


def _need(path: Path) -> Path:
    if not path.exists():
        message = f"{path} is not available"
        if os.environ.get("TWITCHCAM_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The official model: $TWITCHCAM_MODEL, else ../shared/models/face_landmarker.task."""
    given = os.environ.get("TWITCHCAM_MODEL")
    return _need(Path(given) if given else SHARED_MODEL)


@pytest.fixture(scope="session")
def eye_model_path() -> Path:
    """The official per-eye model: $TWITCHCAM_EYE_MODEL, else ../shared/models/iris_landmark.tflite."""
    given = os.environ.get("TWITCHCAM_EYE_MODEL")
    return _need(Path(given) if given else SHARED_EYE_MODEL)


@pytest.fixture(scope="session", autouse=True)
def _eye_model_everywhere():
    """Every analysis needs the eye model: point in-process runs and subprocesses at ../shared's copy when
    nothing else is set (as TWITCHCAM_MODEL is passed explicitly for the face model), never at the network."""
    if os.environ.get("TWITCHCAM_EYE_MODEL") or not SHARED_EYE_MODEL.is_file():
        yield
        return
    os.environ["TWITCHCAM_EYE_MODEL"] = str(SHARED_EYE_MODEL)
    try:
        yield
    finally:
        os.environ.pop("TWITCHCAM_EYE_MODEL", None)


@pytest.fixture(scope="session")
def shared_clips() -> Path:
    return _need(SHARED / "clips")


@pytest.fixture(scope="session")
def landmarker(model_path):
    """One real MediaPipe landmarker for the whole session (reset between videos by `analyze`)."""
    from twitchcam.media.landmarks import FaceLandmarker

    with FaceLandmarker(model_path) as lm:
        yield lm


@pytest.fixture(scope="session")
def analysed(landmarker, model_path):
    """analyze() with the session's landmarker, memoised per path: each clip is analysed once."""
    from twitchcam.run.pipeline import analyze

    cache: dict[Path, object] = {}

    def run(path: Path):
        if path not in cache:
            cache[path] = analyze(path, landmarker=landmarker, model=model_path)
        return cache[path]

    return run
