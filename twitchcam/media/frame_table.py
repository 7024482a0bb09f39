"""Per-frame measurements collected in growing numpy blocks (a DataFrame append per frame is slow)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twitchcam.core.face_mesh import SIDES
from twitchcam.core.signals import SIGNAL_COLUMNS, measure
from twitchcam.media.appearance import MidlineTracker, iris_contrast
from twitchcam.media.eye_model import EyeModel
from twitchcam.media.landmarks import FaceObservation
from twitchcam.media.skin_motion import REGIONS as SKIN_REGIONS
from twitchcam.media.skin_motion import SkinMotion

EYE_MODEL_COLUMNS = tuple(f"eyelid_aperture_eye_model_{side}" for side in SIDES)
"""Each eye's lid opening over its width as MediaPipe's per-eye model reads it (`twitchcam.media.eye_model`)."""
SKIN_COLUMNS = tuple(f"{region.name}_{side}" for region in SKIN_REGIONS for side in SIDES)
"""How far the cheek skin rose and the upper lid dropped from rest, from the pixels (`twitchcam.media.skin_motion`)."""
IMAGE_COLUMNS = ("iris_contrast_left", "iris_contrast_right", *EYE_MODEL_COLUMNS, "midline_appearance_change",
                 *SKIN_COLUMNS)
MEASURED_COLUMNS = SIGNAL_COLUMNS + IMAGE_COLUMNS

_BLOCK_ROWS = 4096


class FrameTable:
    """Collects one row per frame: frame index, time, whether a face was found, and every signal.

    Memory is ~0.3 KB per frame (about 30 MB for an hour at 30 fps); frame images are never kept.
    `eye_model`: an open `EyeModel` to share (default: the model `resolve_eye_model()` finds, loaded here).
    """

    def __init__(self, *, mirrored: bool = False, eye_model: EyeModel | None = None):
        self.mirrored = mirrored
        self.eye_model = eye_model if eye_model is not None else EyeModel()
        self._midline = MidlineTracker()
        self._skin = SkinMotion()
        self._image_side = {"left": "right", "right": "left"} if mirrored else {"left": "left", "right": "right"}
        self._blocks: list[np.ndarray] = []
        self._meta: list[np.ndarray] = []  # frame, t_s, face, faces_found
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def add(self, observation: FaceObservation, image: np.ndarray) -> np.ndarray:
        """Measure the observation (and the frame's pixels) and store its row of `MEASURED_COLUMNS` values."""
        slot = self._rows % _BLOCK_ROWS
        if slot == 0:
            self._blocks.append(np.full((_BLOCK_ROWS, len(MEASURED_COLUMNS)), np.nan))
            self._meta.append(np.zeros((_BLOCK_ROWS, 4)))
        if observation.face:
            row = self._blocks[-1][slot]
            row[: len(SIGNAL_COLUMNS)] = measure(
                observation.landmarks, observation.rotation, observation.blendshapes, mirrored=self.mirrored
            )
            eyes = self.eye_model.read(image, observation.landmarks)  # keyed by the mesh's (unmirrored) sides
            skin = self._skin.update(observation.t_s, image, observation.landmarks)  # mesh sides too
            row[len(SIGNAL_COLUMNS):] = [
                *(iris_contrast(image, observation.landmarks, self._image_side[side]) for side in SIDES),
                *(eyes[self._image_side[side]].lid_opening for side in SIDES),
                self._midline.update(observation.t_s, image, observation.landmarks),
                *(skin[f"{region.name}_{self._image_side[side]}"] for region in SKIN_REGIONS for side in SIDES),
            ]
        self._meta[-1][slot] = (observation.frame, observation.t_s, observation.face, observation.faces_found)
        self._rows += 1
        return self._blocks[-1][slot]

    def to_frame(self, start: int = 0) -> pd.DataFrame:
        """Rows from `start` on as a DataFrame: `frame`, `t_s`, `face`, `faces_found`, then `MEASURED_COLUMNS`.

        The index counts from `start` (a live detector reads only the recent rows)."""
        start = min(max(start, 0), self._rows)
        first = start // _BLOCK_ROWS
        if self._rows == start:
            meta = np.zeros((0, 4))
            values = np.zeros((0, len(MEASURED_COLUMNS)))
        else:
            skip, count = start - first * _BLOCK_ROWS, self._rows - start
            meta = np.concatenate(self._meta[first:])[skip : skip + count]
            values = np.concatenate(self._blocks[first:])[skip : skip + count]
        table = pd.DataFrame(values, columns=list(MEASURED_COLUMNS), index=pd.RangeIndex(start, self._rows))
        table.insert(0, "frame", meta[:, 0].astype(np.int64))
        table.insert(1, "t_s", meta[:, 1])
        table.insert(2, "face", meta[:, 2].astype(bool))
        table.insert(3, "faces_found", meta[:, 3].astype(np.int64))
        return table
