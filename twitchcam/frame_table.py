"""Per-frame measurements collected in growing numpy blocks (a DataFrame append per frame is slow)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twitchcam.landmarks import FaceObservation
from twitchcam.signals import SIGNAL_COLUMNS, measure

_BLOCK_ROWS = 4096


class FrameTable:
    """Collects one row per frame: frame index, time, whether a face was found, and every signal.

    Memory is ~0.3 KB per frame (about 30 MB for an hour at 30 fps); frame images are never kept.
    """

    def __init__(self, *, mirrored: bool = False):
        self.mirrored = mirrored
        self._blocks: list[np.ndarray] = []
        self._meta: list[np.ndarray] = []  # frame, t_s, face, faces_found
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def add(self, observation: FaceObservation) -> np.ndarray:
        """Measure the observation and store its row; returns the row of `SIGNAL_COLUMNS` values."""
        slot = self._rows % _BLOCK_ROWS
        if slot == 0:
            self._blocks.append(np.full((_BLOCK_ROWS, len(SIGNAL_COLUMNS)), np.nan))
            self._meta.append(np.zeros((_BLOCK_ROWS, 4)))
        if observation.face:
            self._blocks[-1][slot] = measure(
                observation.landmarks, observation.rotation, observation.blendshapes, mirrored=self.mirrored
            )
        self._meta[-1][slot] = (observation.frame, observation.t_s, observation.face, observation.faces_found)
        self._rows += 1
        return self._blocks[-1][slot]

    def to_frame(self) -> pd.DataFrame:
        """All rows as a DataFrame: `frame`, `t_s`, `face`, `faces_found`, then `SIGNAL_COLUMNS`."""
        if self._rows == 0:
            meta = np.zeros((0, 4))
            values = np.zeros((0, len(SIGNAL_COLUMNS)))
        else:
            meta = np.concatenate(self._meta)[: self._rows]
            values = np.concatenate(self._blocks)[: self._rows]
        table = pd.DataFrame(values, columns=list(SIGNAL_COLUMNS))
        table.insert(0, "frame", meta[:, 0].astype(np.int64))
        table.insert(1, "t_s", meta[:, 1])
        table.insert(2, "face", meta[:, 2].astype(bool))
        table.insert(3, "faces_found", meta[:, 3].astype(np.int64))
        return table
