"""How far the skin of the cheek and of the upper lid has moved from its resting place, per side, from pixels.

MediaPipe's cheek landmarks barely follow a real cheek pull, and its eye landmarks share a two-eye prior that
under-reads a one-sided lid closure. The skin itself moves, so each region is resampled as a small patch in
a frame fixed by rigid landmarks (the four eye corners and the nose bridge, which these muscles do not move),
compared with its own recent resting picture (the pixel-wise median of pictures stored every
`sample_every_s` over the last `window_s`: causal, so a live session computes the same numbers), and the
vertical shift between the two is read with OpenCV's DIS optical flow. Values are fractions of the
inter-ocular distance (IOD), positive for contraction: cheek skin up, upper lid down.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from twitchcam.core import face_mesh as fm

PIXELS_PER_IOD = 80.0
"""Patch resolution. Faces smaller than this are upsampled (no new detail, but a steady flow grid)."""


@dataclass(frozen=True)
class Region:
    """A patch in the rigid face frame: centre (lateral towards its side, down) and size, in IOD."""

    name: str
    centre: tuple[float, float]
    size: tuple[float, float]
    sign: int
    """+1 when downward skin motion is contraction (a closing lid), -1 when upward is (a rising cheek)."""


REGIONS = (
    Region("cheek_skin_lift", (0.7, 0.45), (0.42, 0.34), -1),
    Region("upper_lid_drop", (0.5, -0.12), (0.36, 0.2), +1),
)
COLUMNS = tuple(f"{r.name}_{side}" for r in REGIONS for side in fm.SIDES)
"""Column names, anatomical sides, in the order `SkinMotion.update` returns (once sides are mapped)."""

_RIGID = (fm.EYE_OUTER["right"], fm.EYE_INNER["right"], fm.EYE_INNER["left"], fm.EYE_OUTER["left"], 168, 6)
_FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST


def face_frame(landmarks_px: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Origin, unit axes (image-right along the eye line, and its perpendicular pointing down) and IOD in px."""
    points = landmarks_px[list(_RIGID), :2].astype(np.float64)
    right_eye, left_eye = points[:2].mean(axis=0), points[2:4].mean(axis=0)
    along = left_eye - right_eye  # the mesh's left eye is on the image right in an unmirrored frame
    iod = float(np.hypot(*along))
    ex = along / max(iod, 1e-6)
    ey = np.array([-ex[1], ex[0]])
    # Near the eye-line midpoint (the nose bridge points lie on and just below it): six points jitter less.
    return points.mean(axis=0), np.stack([ex, ey]), iod


def _patch_matrix(origin: np.ndarray, axes: np.ndarray, iod: float, region: Region, side: str,
                  size_px: tuple[int, int]) -> np.ndarray:
    """2x3 matrix from patch pixel (u, v) to image (x, y)."""
    lateral = 1.0 if side == "left" else -1.0  # mesh sides: "left" lies towards +ex
    centre = origin + iod * (lateral * region.centre[0] * axes[0] + region.centre[1] * axes[1])
    step = iod / PIXELS_PER_IOD
    width, height = size_px
    corner = centre - step * ((width - 1) / 2 * axes[0] + (height - 1) / 2 * axes[1])
    return np.array([[step * axes[0, 0], step * axes[1, 0], corner[0]],
                     [step * axes[0, 1], step * axes[1, 1], corner[1]]])


def _normalised(patch_bgr: np.ndarray) -> np.ndarray:
    """Grey uint8 patch with its mean at 128 and a fixed contrast, so lighting drifts do not read as motion."""
    grey = cv2.cvtColor(patch_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey = (grey - grey.mean()) * (40.0 / (grey.std() + 4.0)) + 128.0
    return np.clip(grey, 0, 255).astype(np.uint8)


@dataclass
class _Reference:
    """The recent pictures of one patch and their pixel-wise median."""

    stored: deque = field(default_factory=deque)
    median: np.ndarray | None = None
    since_refresh: int = 0


class SkinMotion:
    """Per frame, each region's mean vertical skin shift from its resting picture, per mesh side.

    `update` returns {column stem + "_" + mesh side: value}; NaN while a patch is outside the image or has
    no reference yet. The caller maps mesh sides to anatomical ones (`--mirrored`).
    """

    def __init__(self, *, window_s: float = 10.0, sample_every_s: float = 0.2, refresh_every: int = 5):
        self.window_s = window_s
        self.sample_every_s = sample_every_s
        self.refresh_every = refresh_every  # the median, the costly step, is redone every this many pictures
        self._flow = cv2.DISOpticalFlow_create(_FLOW_PRESET)
        self._sizes = {r.name: (round(r.size[0] * PIXELS_PER_IOD), round(r.size[1] * PIXELS_PER_IOD))
                       for r in REGIONS}
        self._references = {(r.name, side): _Reference() for r in REGIONS for side in fm.SIDES}
        self._last_sample = -np.inf

    def update(self, t_s: float, image_bgr: np.ndarray, landmarks_px: np.ndarray) -> dict[str, float]:
        origin, axes, iod = face_frame(landmarks_px)
        sample = t_s - self._last_sample >= self.sample_every_s
        if sample:
            self._last_sample = t_s
        h, w = image_bgr.shape[:2]
        values = {}
        for region in REGIONS:
            size = self._sizes[region.name]
            for side in fm.SIDES:
                matrix = _patch_matrix(origin, axes, iod, region, side, size)
                corners = matrix @ np.array([[0, size[0] - 1, 0, size[0] - 1], [0, 0, size[1] - 1, size[1] - 1],
                                             [1, 1, 1, 1]], dtype=np.float64)
                key = f"{region.name}_{side}"
                if iod < 8 or corners.min() < 0 or np.any(corners[0] > w - 1) or np.any(corners[1] > h - 1):
                    values[key] = float("nan")
                    continue
                patch = _normalised(cv2.warpAffine(image_bgr, matrix, size,
                                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP))
                values[key] = self._shift(self._references[region.name, side], patch, region.sign)
                if sample:
                    self._store(self._references[region.name, side], t_s, patch)
        return values

    def _shift(self, reference: _Reference, patch: np.ndarray, sign: int) -> float:
        if reference.median is None:
            return float("nan")
        flow = self._flow.calc(reference.median, patch, None)
        inner = flow[2:-2, 2:-2, 1]  # the border's flow is extrapolated
        return float(sign * inner.mean() / PIXELS_PER_IOD)

    def _store(self, reference: _Reference, t_s: float, patch: np.ndarray) -> None:
        reference.stored.append((t_s, patch))
        while reference.stored[0][0] < t_s - self.window_s:
            reference.stored.popleft()
        reference.since_refresh += 1
        if reference.median is None or reference.since_refresh >= self.refresh_every:
            reference.since_refresh = 0
            reference.median = np.median(np.stack([p for _, p in reference.stored]), axis=0).astype(np.uint8)
