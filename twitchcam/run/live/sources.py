"""Where live frames come from: a webcam, or a video file played at its own pace as if it were one.

A camera is read on its own thread that keeps only the newest frame, so a slow moment in the analysis
drops frames instead of building up delay. A file is never dropped from: `live --source` must see exactly
the frames `analyze` sees, only not faster than they were recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twitchcam.core.errors import CameraError
from twitchcam.media.video import VideoInfo, VideoReader, cv2

CAMERA_SIZE = (640, 480)
CAMERA_FPS = 30.0
_FIRST_FRAME_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class LiveFrame:
    """One frame as the live loop gets it. `captured` is `time.perf_counter()` when it was taken (camera) or
    was due (file), for the capture-to-display latency."""

    index: int
    t_s: float
    image: np.ndarray
    captured: float


class FileSource:
    """A video file played in real time (or as fast as it decodes, with `realtime=False`)."""

    def __init__(self, path: str | Path, *, realtime: bool = True):
        self._reader = VideoReader(path)
        self.info: VideoInfo = self._reader.info
        self.name = str(self._reader.path)
        self.realtime = realtime

    def frames(self) -> Iterator[LiveFrame]:
        start = time.perf_counter()
        for frame in self._reader:
            due = start + frame.t_s
            now = time.perf_counter()
            if self.realtime and due > now:
                time.sleep(due - now)
            yield LiveFrame(frame.index, frame.t_s, frame.image, max(due, now) if self.realtime else now)

    def close(self) -> None:
        self._reader.close()


class CameraSource:
    """A webcam by index (or a device path or stream URL, e.g. a phone's RTSP camera), read on a background
    thread that keeps only the newest frame."""

    def __init__(self, index: int | str, *, size: tuple[int, int] = CAMERA_SIZE, fps: float = CAMERA_FPS):
        self.name = f"camera {index}"
        quiet = cv2.utils.logging.getLogLevel()
        # Probing the backends for a missing camera logs errors; twitchcam's own error line says it.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            self._capture = cv2.VideoCapture(index)
        finally:
            cv2.utils.logging.setLogLevel(quiet)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(f"no camera {index}")
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        self._capture.set(cv2.CAP_PROP_FPS, fps)
        self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        ok, first = self._capture.read()
        if not ok or first is None:
            self._capture.release()
            raise CameraError(f"camera {index} gives no picture (in use by another program?)")
        self.info = VideoInfo(path=Path(self.name), width=int(first.shape[1]), height=int(first.shape[0]),
                              fps=float(self._capture.get(cv2.CAP_PROP_FPS) or fps), frame_count=0, rotation_deg=0)
        self._latest: tuple[np.ndarray, float] | None = None
        self._fresh = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._grab, name="twitchcam-camera", daemon=True)

    def _grab(self) -> None:
        while not self._stop.is_set():
            ok, image = self._capture.read()
            captured = time.perf_counter()
            with self._fresh:
                self._latest = (image, captured) if ok and image is not None else None
                self._fresh.notify()
            if not ok:
                return

    def frames(self) -> Iterator[LiveFrame]:
        self._thread.start()
        start, index = None, 0
        while True:
            with self._fresh:
                if not self._fresh.wait_for(lambda: self._latest is not None or not self._thread.is_alive(),
                                            timeout=_FIRST_FRAME_TIMEOUT_S):
                    raise CameraError(f"{self.name} stopped sending pictures")
                if self._latest is None:
                    return  # unplugged
                image, captured = self._latest
                self._latest = None
            start = captured if start is None else start
            yield LiveFrame(index, captured - start, image, captured)
            index += 1

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._capture.release()


def open_source(camera: str | None, source: str | Path | None) -> FileSource | CameraSource:
    """The file when `source` is given, otherwise the camera: an index ('0' by default), a device or a URL."""
    if source is not None:
        return FileSource(source)
    camera = camera or "0"
    return CameraSource(int(camera) if camera.isdigit() else camera)
