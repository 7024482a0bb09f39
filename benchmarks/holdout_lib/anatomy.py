"""MediaPipe face-mesh indices per anatomical side, and the per-frame face geometry the warps need.

Sides are the SUBJECT's: in an unmirrored image the subject's right eye (33/133) is on the image's left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDES = ("right", "left")


@dataclass(frozen=True)
class SideIndices:
    """Mesh indices of one side's eye, brow, cheek and mouth corner."""

    corner_a: int
    """Eye corner nearer the image's left edge."""
    corner_b: int
    """Eye corner nearer the image's right edge."""
    upper: tuple[int, ...]
    """Upper-lid margin, corners excluded."""
    lower: tuple[int, ...]
    """Lower-lid margin, corners excluded."""
    brow: tuple[int, ...]
    """Lower edge of the eyebrow."""
    cheek: int
    malar: int
    """Infraorbital cheek point, between the cheek point and the lower lid."""
    mouth_corner: int
    gap_pair: tuple[int, int]
    """Upper/lower mid-lid points whose distance is the lid gap used by the checks."""


INDICES = {
    "right": SideIndices(33, 133, (246, 161, 160, 159, 158, 157, 173), (7, 163, 144, 145, 153, 154, 155),
                         (46, 53, 52, 65, 55), 50, 117, 61, (159, 145)),
    "left": SideIndices(362, 263, (398, 384, 385, 386, 387, 388, 466), (382, 381, 380, 374, 373, 390, 249),
                        (276, 283, 282, 295, 285), 280, 346, 291, (386, 374)),
}


def eye_centre(landmarks: np.ndarray, side: str) -> np.ndarray:
    """Midpoint of the eye's two corners, (2,) pixels."""
    ix = INDICES[side]
    return (landmarks[ix.corner_a, :2] + landmarks[ix.corner_b, :2]) / 2


def inter_ocular(landmarks: np.ndarray) -> float:
    """Distance between the two eye centres (corner midpoints), pixels."""
    return float(np.linalg.norm(eye_centre(landmarks, "right") - eye_centre(landmarks, "left")))


def lid_gap(landmarks: np.ndarray, side: str) -> float:
    """Mid-lid gap (159-145 or 386-374) over the inter-ocular distance."""
    up, lo = INDICES[side].gap_pair
    return float(np.linalg.norm(landmarks[up, :2] - landmarks[lo, :2])) / inter_ocular(landmarks)


def face_axes(landmarks: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (2,) in the image: `up` towards the forehead, `out` from the midline towards `side`."""
    right, left = eye_centre(landmarks, "right"), eye_centre(landmarks, "left")
    line = left - right
    up = np.array([line[1], -line[0]]) / np.linalg.norm(line)
    mouth = (landmarks[61, :2] + landmarks[291, :2]) / 2
    if np.dot((right + left) / 2 - mouth, up) < 0:
        up = -up
    out = (right if side == "right" else left) - (right + left) / 2
    return up, out / np.linalg.norm(out)
