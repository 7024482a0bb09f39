"""Source frame timestamps and lossless FFV1 Matroska writing, with PyAV.

Frames are written as FFV1 `bgr0` (lossless RGB), so a decoder returns exactly the BGR frames given;
timestamps are the source's own presentation times (Matroska stores them to the millisecond).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def source_timing(path: Path) -> tuple[np.ndarray, Fraction, Fraction]:
    """(pts in presentation order (n,), stream time base, average frame rate) of the first video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None)
        return np.asarray(pts, dtype=np.int64), stream.time_base, stream.average_rate or Fraction(30)


class FFV1Writer:
    """Write BGR frames with given pts to a lossless `.mkv`; use as a context manager."""

    def __init__(self, path: Path, width: int, height: int, rate: Fraction, time_base: Fraction):
        self.path = path
        self._tmp = path.with_name(path.name + ".part")
        self._container = av.open(str(self._tmp), mode="w", format="matroska")
        self._stream = self._container.add_stream("ffv1", rate=rate)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "bgr0"
        self._stream.time_base = time_base
        self._stream.codec_context.time_base = time_base
        self._stream.codec_context.thread_count = 1
        self._time_base = time_base

    def write(self, image_bgr: np.ndarray, pts: int) -> None:
        frame = av.VideoFrame.from_ndarray(image_bgr, format="bgr24")
        frame.pts, frame.time_base = int(pts), self._time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def __enter__(self) -> FFV1Writer:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        try:
            if exc_type is None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
        finally:
            self._container.close()
        if exc_type is None:
            self._tmp.replace(self.path)
        else:
            self._tmp.unlink(missing_ok=True)
