"""Frame times: the typical step between frames, and runs of consecutive frames."""

from __future__ import annotations

import numpy as np

DEFAULT_FPS = 30.0


def frame_step(t_s: np.ndarray, fps: float = DEFAULT_FPS) -> float:
    """The median time between frames (1 / `fps` with fewer than two frames). The median, because dropped or
    duplicated frames make single steps irregular."""
    t_s = np.asarray(t_s, dtype=np.float64)
    return float(np.median(np.diff(t_s))) if len(t_s) > 1 else 1.0 / fps


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index pairs of the True runs in a boolean array."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(change[::2], change[1::2])]
