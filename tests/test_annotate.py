"""`twitchcam analyze --annotate --report` in a real process on the left-spasm sample, and the video it writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLES

from twitchcam.media.face_track import N_OUTLINE_POINTS, FaceTrackRecorder
from twitchcam.media.landmarks import FaceObservation
from twitchcam.media.video import VideoReader

CLIP = SAMPLES / "hfs_left.mp4"
LEFT_BGR = (0x00, 0x5E, 0xD5)


@pytest.fixture(scope="module")
def out(tmp_path_factory, model_path) -> Path:
    """The results folder of `twitchcam analyze hfs_left.mp4 --annotate --report`."""
    folder = tmp_path_factory.mktemp("annotate") / "hfs_left_twitchcam"
    done = subprocess.run(
        [sys.executable, "-m", "twitchcam._cli.main", "analyze", str(CLIP), "--out", str(folder), "--annotate",
         "--report"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TWITCHCAM_MODEL": str(model_path), "TWITCHCAM_NO_DOWNLOAD": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert "5 events" in done.stdout
    return folder


def read_all(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [frame.image for frame in reader]


def test_annotated_video_decodes_with_the_source_frame_count(out):
    annotated = read_all(out / "annotated.webm")
    source = cv2.VideoCapture(str(CLIP))
    source_count = int(source.get(cv2.CAP_PROP_FRAME_COUNT))
    source.release()
    assert len(annotated) == source_count == len(pd.read_csv(out / "frames.csv"))
    with av.open(str(out / "annotated.webm")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name in ("vp8", "vp9")
        assert abs(container.duration / 1e6 - 24.0) < 0.2
    assert {p.name for p in out.iterdir()} == {"events.csv", "frames.csv", "summary.json", "report.html",
                                               "timeline.png", "annotated.webm"}  # nothing partial left


def test_report_of_analyze_crops_pictures_around_the_recorded_face(out):
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/jpeg;base64,") == 10
    assert "face position was not recorded" not in page


def test_banner_in_the_side_colour_during_events_only(out):
    frames = read_all(out / "annotated.webm")
    events = pd.read_csv(out / "events.csv")
    times = pd.read_csv(out / "frames.csv")["t_s"].to_numpy()

    def banner_is_left_colour(image: np.ndarray) -> bool:
        strip = image[4:14, :, :].reshape(-1, 3).astype(int)
        return bool((np.abs(strip - LEFT_BGR).max(axis=1) < 40).mean() > 0.6)

    for event in events.itertuples():
        middle = int(np.argmin(np.abs(times - (event.start_s + event.end_s) / 2)))
        assert banner_is_left_colour(frames[middle]), f"no banner during event {event.event_id}"
    quiet = int(np.argmin(np.abs(times - 11.5)))
    assert not banner_is_left_colour(frames[quiet])
    assert not banner_is_left_colour(frames[0])


def test_outlines_are_drawn_on_the_face(out):
    """The drawn frame differs from the source around the eyes, in both sides' colours."""
    annotated = read_all(out / "annotated.webm")[30]
    capture = cv2.VideoCapture(str(CLIP))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 30)
    source = capture.read()[1]
    capture.release()
    changed = np.abs(annotated.astype(int) - source.astype(int)).max(axis=2) > 60
    height, width = changed.shape
    assert changed[height // 5 : height // 2, : width // 2].mean() > 0.005  # subject's right eye and brow
    assert changed[height // 5 : height // 2, width // 2 :].mean() > 0.005  # subject's left


def test_recorder_keeps_boxes_and_removes_its_temporary_file():
    landmarks = np.random.default_rng(0).uniform(100, 300, (478, 3)).astype(np.float32)
    with FaceTrackRecorder(outlines=True) as recorder:
        recorder(None, FaceObservation(0, 0.0, landmarks, np.eye(3), np.zeros(52), 1))
        recorder(None, FaceObservation(1, 0.033, None, None, None, 0))
        track = recorder.finish()
    path = track._path
    with track:
        assert track.points.shape == (2, N_OUTLINE_POINTS, 2) and path.exists()
        assert np.allclose(track.boxes[0], [*landmarks[:, :2].min(axis=0), *landmarks[:, :2].max(axis=0)])
        assert np.isnan(track.boxes[1]).all() and track.outline(1, "eye", "left") is None
        assert track.outline(0, "eye", "left").shape == (16, 2)
    assert not path.exists()
