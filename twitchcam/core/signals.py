"""Per-side movement signals of one face, with head pose removed and scaled by face size.

Pure numpy: landmarks in, one row of numbers out. The face is rotated back to frontal with the head
rotation MediaPipe estimates, centred on rigid midline points (forehead, nose bridge) and divided by the
inter-ocular distance (IOD, between the two eye centres), so values do not depend on camera distance,
image size or moderate head turns. Heights are measured upwards from the rigid midline centre.

| signal                 | meaning (per side, subject's anatomical side)                               |
|------------------------|-----------------------------------------------------------------------------|
| eyelid_aperture        | gap between upper and lower lid, fraction of IOD (~0.1 open, ~0 closed)     |
| brow_height            | height of the upper brow edge, fraction of IOD (rises when the brow lifts)  |
| cheek_height           | height of the malar (cheek) surface, fraction of IOD (rises when it bunches)|
| mouth_corner_height    | height of the mouth corner, fraction of IOD (rises when pulled up)          |
| mouth_corner_width     | distance of the mouth corner from the midline, fraction of IOD (outward +)  |
| blend_*                | MediaPipe blendshape scores 0–1, secondary evidence only (docs/method.md)   |
"""

from __future__ import annotations

import numpy as np

from twitchcam.core import face_mesh as fm

GEOMETRY_SIGNALS = ("eyelid_aperture", "brow_height", "cheek_height", "mouth_corner_height", "mouth_corner_width")
# Blendshape columns: our name -> MediaPipe's name without the side suffix.
BLENDSHAPE_SIGNALS = {
    "blend_eye_blink": "eyeBlink",
    "blend_eye_squint": "eyeSquint",
    "blend_brow_down": "browDown",
    "blend_brow_outer_up": "browOuterUp",
    "blend_cheek_squint": "cheekSquint",
    "blend_mouth_smile": "mouthSmile",
}
POSE_COLUMNS = ("head_yaw_deg", "head_pitch_deg", "head_roll_deg", "face_size_px")
PER_SIDE_SIGNALS = GEOMETRY_SIGNALS + tuple(BLENDSHAPE_SIGNALS)
SIGNAL_COLUMNS: tuple[str, ...] = tuple(
    f"{name}_{side}" for name in PER_SIDE_SIGNALS for side in fm.SIDES
) + POSE_COLUMNS

_BLENDSHAPE_INDEX = {name: i for i, name in enumerate(fm.BLENDSHAPE_NAMES)}
_IMAGE_TO_CAMERA = np.array([1.0, -1.0, -1.0])  # image axes (y down, z away) -> camera axes (y up, z towards)


def head_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch and roll in degrees from a (3, 3) rotation matrix (camera axes)."""
    yaw = np.degrees(np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2]))
    roll = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
    return float(yaw), float(pitch), float(roll)


def frontalize(landmarks: np.ndarray, rotation: np.ndarray) -> tuple[np.ndarray, float]:
    """Landmarks rotated to a frontal view, centred and divided by the IOD; also the IOD in pixels.

    Returns (478, 3) with x towards the image right, y up, z towards the camera.
    """
    points = landmarks.astype(np.float64) * _IMAGE_TO_CAMERA
    points -= points[list(fm.MIDLINE_RIGID)].mean(axis=0)
    points = points @ rotation  # applies the inverse rotation to each row
    centres = {
        side: (points[fm.EYE_OUTER[side]] + points[fm.EYE_INNER[side]]) / 2 for side in fm.SIDES
    }
    iod = float(np.linalg.norm(centres["left"] - centres["right"]))
    return points / iod, iod


def _side_geometry(points: np.ndarray, side: str) -> tuple[float, float, float, float, float]:
    upper = points[list(fm.UPPER_LID[side]), :2]
    lower = points[list(fm.LOWER_LID[side]), :2]
    aperture = float(np.linalg.norm(upper - lower, axis=1).mean())
    brow = float(points[list(fm.BROW[side]), 1].mean())
    cheek = float(points[list(fm.CHEEK[side]), 1].mean())
    corner = points[fm.MOUTH_CORNER[side]]
    return aperture, brow, cheek, float(corner[1]), float(abs(corner[0]))


def measure(
    landmarks: np.ndarray, rotation: np.ndarray, blendshapes: np.ndarray, *, mirrored: bool = False
) -> np.ndarray:
    """One row of `SIGNAL_COLUMNS` for a face.

    `landmarks` (478, 3) pixels as `FaceObservation` gives them; `rotation` (3, 3); `blendshapes` (52,).
    With `mirrored`, the frame was a selfie mirror image: MediaPipe's left is the subject's right.
    """
    points, iod_px = frontalize(landmarks, rotation)
    image_side = {"left": "right", "right": "left"} if mirrored else {"left": "left", "right": "right"}
    geometry = {side: _side_geometry(points, image_side[side]) for side in fm.SIDES}
    row: list[float] = []
    for i in range(len(GEOMETRY_SIGNALS)):
        row.extend(geometry[side][i] for side in fm.SIDES)
    for mp_name in BLENDSHAPE_SIGNALS.values():
        for side in fm.SIDES:
            row.append(float(blendshapes[_BLENDSHAPE_INDEX[f"{mp_name}{image_side[side].capitalize()}"]]))
    yaw, pitch, roll = head_angles(rotation)
    if mirrored:
        yaw, roll = -yaw, -roll
    row.extend((yaw, pitch, roll, iod_px))
    return np.asarray(row, dtype=np.float64)


