"""The frame source on small videos written by the test itself."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from twitchcam.core.errors import UsageError, VideoOpenError
from twitchcam.media.video import VideoReader


def write_clip(path, frames: int, fps: float = 25.0, size=(96, 64)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        image = np.zeros((size[1], size[0], 3), np.uint8)
        image[:, : (i * 7) % size[0]] = 200  # a bar that grows, so frames differ
        writer.write(image)
    writer.release()
    return path


def test_every_frame_once_with_increasing_times(tmp_path):
    clip = write_clip(tmp_path / "bar.mp4", 60, fps=25)
    with VideoReader(clip) as reader:
        assert (reader.info.width, reader.info.height, reader.info.fps, reader.info.frame_count) == (96, 64, 25, 60)
        frames = list(reader)
    assert [f.index for f in frames] == list(range(60))
    times = np.array([f.t_s for f in frames])
    assert times[0] == 0 and np.all(np.diff(times) > 0)
    np.testing.assert_allclose(np.diff(times), 0.04, atol=1e-3)
    assert frames[10].image.shape == (64, 96, 3) and frames[10].image.dtype == np.uint8


def test_stopping_early_releases_the_decoder_thread(tmp_path):
    clip = write_clip(tmp_path / "bar.mp4", 200)
    before = threading.active_count()
    with VideoReader(clip) as reader:
        for frame in reader:
            if frame.index == 3:
                break
    assert threading.active_count() == before


def test_avi_container_is_read(tmp_path):
    clip = tmp_path / "bar.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(12):
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()
    with VideoReader(clip) as reader:
        assert sum(1 for _ in reader) == 12


def test_truncated_video_yields_what_it_can(tmp_path):
    clip = write_clip(tmp_path / "bar.avi", 100)
    data = clip.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with VideoReader(cut) as reader:
        count = sum(1 for _ in reader)
    assert 5 < count < 90


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(UsageError, match="file not found"):
        VideoReader(tmp_path / "missing.mp4")
    with pytest.raises(UsageError, match="folder"):
        VideoReader(tmp_path)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoOpenError, match="empty"):
        VideoReader(tmp_path / "empty.mp4")
