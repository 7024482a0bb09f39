"""Image evidence beside the landmarks: how visible each iris is, and whether something covers the face.

MediaPipe's eye landmarks follow a two-eye shape prior: a one-sided lid closure moves them only a little (a
58% closure warped into a real face read as ~10%; docs/method.md, "Eye landmarks share a two-eye prior"). The
pixels change a lot, so each eye's *iris contrast* is measured from the image inside the iris circle MediaPipe
places. A hand or object over the face is recognised by the *midline appearance change*: the nose, which no
one-sided spasm moves, compared with its own recent picture.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from twitchcam.core import face_mesh as fm

NOSE_PATCH = (16, 24)  # width, height in pixels of the aligned nose patch


def _patch_transform(origin: np.ndarray, x_axis: np.ndarray, y_axis: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """2x3 matrix from patch pixel (u, v) to image (x, y): origin + u/width·x_axis + v/height·y_axis."""
    width, height = size
    return np.array([
        [x_axis[0] / width, y_axis[0] / height, origin[0]],
        [x_axis[1] / width, y_axis[1] / height, origin[1]],
    ], dtype=np.float64)


def nose_patch(image_bgr: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
    """Contrast-normalised grey patch of the nose from its bridge to its tip, float32."""
    top, tip = landmarks_px[fm.NOSE_BRIDGE, :2], landmarks_px[fm.NOSE_TIP, :2]
    down = tip - top
    across = np.array([down[1], -down[0]]) * 0.6
    matrix = _patch_transform(top - 0.5 * across, across, down, NOSE_PATCH)
    patch = cv2.warpAffine(image_bgr, matrix, NOSE_PATCH, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
    grey = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey -= grey.mean()
    grey /= grey.std() + 4.0  # + a few grey levels, so flat patches do not amplify noise
    return grey


class MidlineTracker:
    """Per frame, how different the nose looks from the pixel-wise median of its recent pictures.

    Mean absolute difference of contrast-normalised patches: ~0.1–0.3 for a face talking, blinking and
    smiling; ~0.8 when a hand covers it. A picture is stored every `sample_every_s`; the reference is the
    median of those from the last `window_s` (causal, so a live session computes the same numbers).
    """

    def __init__(self, *, window_s: float = 10.0, sample_every_s: float = 0.2):
        self.window_s = window_s
        self.sample_every_s = sample_every_s
        self._stored: deque = deque()
        self._reference: np.ndarray | None = None
        self._last_sample = -np.inf

    def update(self, t_s: float, image_bgr: np.ndarray, landmarks_px: np.ndarray) -> float:
        patch = nose_patch(image_bgr, landmarks_px)
        change = float(np.abs(patch - self._reference).mean()) if self._reference is not None else float("nan")
        if t_s - self._last_sample >= self.sample_every_s:
            self._last_sample = t_s
            self._stored.append((t_s, patch))
            while self._stored[0][0] < t_s - self.window_s:
                self._stored.popleft()
            self._reference = np.median(np.stack([p for _, p in self._stored]), axis=0)
        return change


def iris_contrast(image_bgr: np.ndarray, landmarks_px: np.ndarray, side: str) -> float:
    """How much darker the iris is than the skin above and below the eye: 1 − iris / skin brightness.

    MediaPipe places the iris circle even where a lid covers it, so the pixels inside that circle show how
    much of the iris is really visible: ~0.4–0.7 for an open eye, near 0 when lid skin covers it. Gaze
    moves the circle with the iris, so looking around does not change this number.
    """
    centre = landmarks_px[fm.IRIS_CENTRE[side], :2]
    radius = float(np.linalg.norm(landmarks_px[list(fm.IRIS_RING[side]), :2] - centre, axis=1).mean())
    radius = max(radius, 1.5)
    half = int(np.ceil(3.6 * radius))
    x0, y0 = int(round(centre[0])) - half, int(round(centre[1])) - half
    h, w = image_bgr.shape[:2]
    if x0 < 0 or y0 < 0 or x0 + 2 * half + 1 > w or y0 + 2 * half + 1 > h:
        return float("nan")
    crop = cv2.cvtColor(image_bgr[y0 : y0 + 2 * half + 1, x0 : x0 + 2 * half + 1], cv2.COLOR_BGR2GRAY)
    # Pixel offsets from the crop centre as a row (x) and a column (y), broadcast to the crop's shape.
    offsets = np.arange(-half, half + 1)
    xx, yy = offsets[np.newaxis, :], offsets[:, np.newaxis]
    cx, cy = centre[0] - (x0 + half), centre[1] - (y0 + half)
    dx, dy = xx - cx, yy - cy
    iris = crop[np.hypot(dx, dy) <= 0.8 * radius]
    skin = crop[(np.abs(dx) <= radius) & (np.abs(np.abs(dy) - 2.8 * radius) <= 0.6 * radius)]
    skin_level = float(skin.mean()) if skin.size else 0.0
    if skin_level < 8 or not iris.size:  # too dark to tell
        return float("nan")
    return 1.0 - float(iris.mean()) / skin_level

