"""MediaPipe Face Landmarker on single frames, following one subject through the video.

IMAGE running mode on purpose: VIDEO mode with one face smooths landmarks over time and hides twitches shorter
than ~100 ms (docs/method.md, "Image mode, not video mode"). Up to `MAX_FACES` faces are found per frame and
the subject is chosen here: the face nearest the subject's last position, or at the start the largest, most
central one.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MAX_FACES = 2



@dataclass(frozen=True)
class FaceObservation:
    """The subject's face in one frame, or its absence.

    `landmarks`: (478, 3) float32 in pixels of the upright frame, x to the image right, y down, z depth
    in the same scale as x (smaller is nearer the camera). `rotation`: (3, 3) head rotation taken from
    MediaPipe's facial transformation matrix (camera axes: x right, y up, z towards the viewer).
    `blendshapes`: (52,) scores in `face_mesh.BLENDSHAPE_NAMES` order. All three are None when no face was found.
    """

    frame: int
    t_s: float
    landmarks: np.ndarray | None
    rotation: np.ndarray | None
    blendshapes: np.ndarray | None
    faces_found: int = 0

    @property
    def face(self) -> bool:
        return self.landmarks is not None


@contextlib.contextmanager
def _quiet_native_stderr(enabled: bool):
    """Silence the C++ logging MediaPipe and TFLite print to fd 2 while the graph starts."""
    if not enabled:
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class FaceLandmarker:
    """One MediaPipe landmarker for one stream; `observe(frame)` returns the subject's `FaceObservation`."""

    def __init__(self, model_path: str | Path, *, quiet: bool = True):
        from mediapipe.tasks.python import BaseOptions, vision  # heavy import, only when really needed

        self._quiet = quiet
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=MAX_FACES,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        with _quiet_native_stderr(quiet):
            self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._warmed_up = False
        self._last_centre: np.ndarray | None = None

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def reset(self) -> None:
        """Forget the subject's position (call between unrelated videos)."""
        self._last_centre = None

    def warm_up(self, width: int, height: int) -> None:
        """Run the model once on a blank frame: its first call is slow (~0.5 s), which a live picture would show."""
        self.observe(-1, 0.0, np.zeros((height, width, 3), dtype=np.uint8))
        self.reset()

    def observe(self, frame_index: int, t_s: float, image_bgr: np.ndarray) -> FaceObservation:
        import mediapipe as mp

        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)  # ~10x faster than a reversed-channel numpy copy
        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        with _quiet_native_stderr(self._quiet and not self._warmed_up):
            result = self._landmarker.detect(mp_image)
        self._warmed_up = True
        n = len(result.face_landmarks)
        if n == 0:
            return FaceObservation(frame_index, t_s, None, None, None, 0)
        height, width = image_bgr.shape[:2]
        scale = np.array([width, height, width], dtype=np.float32)
        faces = [
            np.array([(p.x, p.y, p.z) for p in face], dtype=np.float32) * scale for face in result.face_landmarks
        ]
        chosen = self._choose_subject(faces, width, height)
        matrix = np.asarray(result.facial_transformation_matrixes[chosen], dtype=np.float64)
        rotation = matrix[:3, :3] / np.cbrt(np.linalg.det(matrix[:3, :3]))
        blendshapes = np.array([c.score for c in result.face_blendshapes[chosen]], dtype=np.float32)
        return FaceObservation(frame_index, t_s, faces[chosen], rotation, blendshapes, n)

    def _choose_subject(self, faces: list[np.ndarray], width: int, height: int) -> int:
        """Index of the subject among the faces found: continuity first, then size and centrality."""
        centres = [face[:, :2].mean(axis=0) for face in faces]
        sizes = [float(np.ptp(face[:, 0]) + np.ptp(face[:, 1])) / 2 for face in faces]
        best = 0
        if self._last_centre is not None:
            distances = [float(np.linalg.norm(c - self._last_centre)) / s for c, s in zip(centres, sizes)]
            best = int(np.argmin(distances))
            if distances[best] > 0.5:  # the subject moved too far to be sure: choose afresh
                best = self._largest_central(centres, sizes, width, height)
        elif len(faces) > 1:
            best = self._largest_central(centres, sizes, width, height)
        self._last_centre = centres[best]
        return best

    @staticmethod
    def _largest_central(centres, sizes, width: int, height: int) -> int:
        frame_centre = np.array([width / 2, height / 2])
        half_diagonal = float(np.hypot(width, height)) / 2
        scores = [
            size * (1.0 - 0.5 * float(np.linalg.norm(centre - frame_centre)) / half_diagonal)
            for centre, size in zip(centres, sizes)
        ]
        return int(np.argmax(scores))
