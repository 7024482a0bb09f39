"""Frames from a video file, decoded on a background thread, one at a time (memory does not grow).

Times come from the container's timestamps (phones record variable frame rate); rotation metadata is
applied by OpenCV's decoder, so frames arrive upright. Damaged frames inside a file are skipped and
counted (`VideoReader.damaged_frames`), not taken for its end.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from twitchcam.core.errors import UsageError, VideoOpenError

FALLBACK_FPS = 30.0
_PREFETCH_FRAMES = 8
# OpenCV's read() fails alike at the end and on a damaged frame; this many failures in a row are taken for
# the end. Bridges ~10 s of damage at 30 fps; at the real end a failing read costs microseconds.
_MAX_DAMAGED_RUN = 300


FrameCallback = Callable[[int, int], None]
"""Told (frames done, frames in the file) as a pass over a video goes on; the total is the container's count,
an estimate, and 0 when unknown."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video, read before decoding starts."""

    path: Path
    width: int
    height: int
    fps: float
    """Nominal frame rate; `FALLBACK_FPS` when the container gives none."""
    frame_count: int
    """The container's frame count: an estimate, 0 when unknown."""
    rotation_deg: int
    """Rotation metadata that was applied to every frame."""

    @property
    def duration_s(self) -> float:
        """The duration the container announces (frame count over frame rate), 0 when unknown."""
        return self.frame_count / self.fps if self.frame_count else 0.0


@dataclass(frozen=True)
class Frame:
    """One decoded, upright frame: `image` is BGR uint8 of shape (height, width, 3)."""

    index: int
    t_s: float
    image: np.ndarray


class VideoReader:
    """Iterate over the frames of a video file with strictly increasing times.

    Use as a context manager; decoding runs ahead of the consumer on a thread by a few frames only.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise UsageError(f"file not found: {self.path}")
        if self.path.is_dir():
            raise UsageError(f"is a folder, not a video file: {self.path}")
        if self.path.stat().st_size == 0:
            raise VideoOpenError(f"empty file: {self.path}")
        level = cv2.utils.logging.getLogLevel()  # a failed open logs ERROR lines; the VideoOpenError says it once
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            self._capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not self._capture.isOpened():
            self._capture.release()
            raise VideoOpenError(f"not a readable video: {self.path}")
        self.damaged_frames = 0
        """Frames that could not be decoded and were skipped (a damaged stretch inside the file); final once
        iteration has ended."""
        opening = [self._read(), None]
        if opening[0] is not None:
            opening[1] = self._read()
        if opening[1] is None:
            self._capture.release()
            if opening[0] is None:
                raise VideoOpenError(f"no decodable video frame in {self.path} (not a video, or truncated)")
            raise VideoOpenError(f"only one frame could be decoded from {self.path} (a still image, or a video "
                                 "cut after its first frame): movement cannot be measured")
        first = opening[0][0]
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        if not (math.isfinite(fps) and 0.5 <= fps <= 1000):
            fps = FALLBACK_FPS
        count = self._capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self.info = VideoInfo(
            path=self.path,
            width=int(first.shape[1]),
            height=int(first.shape[0]),
            fps=float(fps),
            frame_count=int(count) if math.isfinite(count) and count > 0 else 0,
            rotation_deg=int(self._capture.get(cv2.CAP_PROP_ORIENTATION_META) or 0),
        )
        self._opening: list | None = opening
        self._queue: queue.Queue = queue.Queue(maxsize=_PREFETCH_FRAMES)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            while self._thread.is_alive():
                try:  # unblock a producer waiting on a full queue
                    self._queue.get(timeout=0.05)
                except queue.Empty:
                    pass
            self._thread = None
        self._capture.release()

    def _decode(self) -> None:
        """Producer: put (image, container time in ms) pairs, then None at the end."""
        try:
            opening, self._opening = self._opening, None
            for item in opening:
                self._put(item)
            while not self._stop.is_set() and (item := self._read()) is not None:
                self._put(item)
        finally:
            self._put(None)

    def _read(self) -> tuple[np.ndarray, float] | None:
        """The next decodable frame and its container time in ms, skipping damaged frames; None at the end."""
        for failed in range(_MAX_DAMAGED_RUN + 1):
            ok, image = self._capture.read()
            if ok and image is not None and image.size:
                self.damaged_frames += failed
                return image, self._capture.get(cv2.CAP_PROP_POS_MSEC)
        return None

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Frame]:
        if self._thread is not None:
            raise RuntimeError("a VideoReader can be iterated only once")
        self._thread = threading.Thread(target=self._decode, name="twitchcam-decode", daemon=True)
        self._thread.start()
        frame_step = 1.0 / self.info.fps
        previous_t = -math.inf
        index = 0
        while True:
            item = self._queue.get()
            if item is None:
                return
            image, msec = item
            t_s = msec / 1000.0 if math.isfinite(msec) else math.nan
            # Repeated, missing or backwards container times: continue at the nominal frame rate.
            if not math.isfinite(t_s) or t_s <= previous_t:
                t_s = previous_t + frame_step if index else 0.0
            previous_t = t_s
            yield Frame(index=index, t_s=t_s, image=image)
            index += 1
