"""Where the face was in each frame, recorded during the analysis pass for thumbnails and the annotated video.

`FaceTrackRecorder` is a frame hook for `twitchcam.analyze(frame_hooks=...)`: it keeps a face box per frame in
memory (16 bytes a frame) and, when asked, streams the outline points of the eyes, brows, cheeks and mouth
to a temporary file (~0.7 KB a frame, ~80 MB for an hour at 30 fps), so that nothing needs MediaPipe again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twitchcam.core import face_mesh as fm

if TYPE_CHECKING:
    from twitchcam.media.landmarks import FaceObservation
    from twitchcam.media.video import Frame

# Outer lip contour, from the upper-lip midline round the corner to the lower-lip midline, per MediaPipe side.
MOUTH_HALF = {"right": (0, 37, 39, 40, 185, 61, 146, 91, 181, 84, 17),
              "left": (0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17)}


def _outline_groups() -> dict[tuple[str, str], tuple[int, ...]]:
    """(part, MediaPipe side) -> landmark indices, in drawing order. The eye is a closed loop."""
    groups = {}
    for side in fm.SIDES:
        groups["eye", side] = fm.UPPER_LID_CONTOUR[side] + tuple(reversed(fm.LOWER_LID_CONTOUR[side][1:-1]))
        groups["brow", side] = fm.BROW[side]
        groups["cheek", side] = fm.CHEEK[side]
        groups["mouth", side] = MOUTH_HALF[side]
    return groups


OUTLINE_GROUPS = _outline_groups()
_OUTLINE_INDEX = np.concatenate([np.asarray(v) for v in OUTLINE_GROUPS.values()])
OUTLINE_SLICES: dict[tuple[str, str], slice] = {}
"""(part, MediaPipe side) -> where its points are in each frame's row of outline points."""
_start = 0
for _key, _indices in OUTLINE_GROUPS.items():
    OUTLINE_SLICES[_key] = slice(_start, _start + len(_indices))
    _start += len(_indices)
N_OUTLINE_POINTS = _start


def outline_points(landmarks: np.ndarray) -> np.ndarray:
    """(N_OUTLINE_POINTS, 2) float32 pixel points of every outline (see `OUTLINE_SLICES`) from 478 landmarks."""
    return np.ascontiguousarray(landmarks[_OUTLINE_INDEX, :2], dtype=np.float32)


@dataclass
class FaceTrack:
    """The recorded face positions of one video, frame by frame (index = frame number).

    `boxes` (n, 4) float32: x0, y0, x1, y1 in pixels of the upright frame around all 478 landmarks, NaN
    where there was no face. `points` (n, N_OUTLINE_POINTS, 2) float32 pixels (a read-only memory map of a
    temporary file), or None when outlines were not recorded. Close it to delete the temporary file.
    """

    boxes: np.ndarray
    points: np.ndarray | None = None
    _path: Path | None = None

    def outline(self, frame: int, part: str, mediapipe_side: str) -> np.ndarray | None:
        """(k, 2) pixel points of one outline in one frame, or None without a face or without outlines."""
        if self.points is None or frame >= len(self.points):
            return None
        pts = np.array(self.points[frame, OUTLINE_SLICES[part, mediapipe_side]])
        return None if np.isnan(pts[0, 0]) else pts

    def frame_points(self, frame: int) -> np.ndarray | None:
        """(N_OUTLINE_POINTS, 2) pixel points of every outline in one frame (see `OUTLINE_SLICES`), or None."""
        if self.points is None or frame >= len(self.points):
            return None
        pts = np.array(self.points.view(np.ndarray)[frame])  # via a plain view: memmap slicing costs ~1 ms
        return None if np.isnan(pts[0, 0]) else pts

    def close(self) -> None:
        """Delete the temporary file (the points are gone afterwards)."""
        self.points = None
        if self._path is not None:
            with contextlib.suppress(PermissionError):  # Windows keeps a file that is still mapped
                self._path.unlink(missing_ok=True)
            self._path = None

    def __enter__(self) -> FaceTrack:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FaceTrackRecorder:
    """Frame hook recording the face box (always) and the outline points (with `outlines=True`) of each frame.

    Use as a context manager so the temporary file goes away even when the analysis fails; `finish()` hands
    over the recording as a `FaceTrack` (which then owns the temporary file).
    """

    def __init__(self, *, outlines: bool = False, tmp_dir: str | os.PathLike | None = None):
        self._boxes: list[np.ndarray] = []
        self._file = None
        self._path: Path | None = None
        self._empty = np.full((N_OUTLINE_POINTS, 2), np.nan, dtype=np.float32)
        if outlines:
            handle, name = tempfile.mkstemp(prefix="twitchcam-outlines-", suffix=".f32", dir=tmp_dir)
            self._file = os.fdopen(handle, "wb", buffering=1 << 20)
            self._path = Path(name)

    def __call__(self, frame: Frame, observation: FaceObservation) -> None:
        if observation.face:
            xy = observation.landmarks[:, :2]
            self._boxes.append(np.concatenate([xy.min(axis=0), xy.max(axis=0)]).astype(np.float32))
            if self._file is not None:
                self._file.write(outline_points(observation.landmarks).tobytes())
        else:
            self._boxes.append(np.full(4, np.nan, dtype=np.float32))
            if self._file is not None:
                self._file.write(self._empty.tobytes())

    def finish(self) -> FaceTrack:
        """The recording so far; the recorder gives up its temporary file to the returned track."""
        boxes = np.array(self._boxes, dtype=np.float32).reshape(-1, 4)
        points = None
        path = self._path
        if self._file is not None:
            self._file.close()
            self._file = None
            if len(boxes):
                points = np.memmap(path, dtype=np.float32, mode="r", shape=(len(boxes), N_OUTLINE_POINTS, 2))
        self._path = None
        return FaceTrack(boxes=boxes, points=points, _path=path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None

    def __enter__(self) -> FaceTrackRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
