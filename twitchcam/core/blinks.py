"""Counting blinks from the eyelid apertures in frames.csv, split into both-eye and one-eye blinks.

Pure numpy/pandas. Each eye's *closure* is how much of its resting opening is gone,

    closure = 1 - eyelid_aperture / resting aperture      (0 open as usual, 1 fully shut)

where the resting aperture is the running median of that eye's aperture over `rest_window_s`. A closure
episode is a stretch where either eye is closed by at least `release` and one of them reaches `closed`
(hysteresis), lasting `min_frames` frames to `max_blink_s` seconds (longer closures are not blinks). It is a
*both-eye* blink when the less-closed eye closed at least `one_eye_ratio` as much as the other, otherwise a
*one-eye* blink of the more-closed eye. The ratio is generous because MediaPipe's two-eye shape prior makes
an untouched eye read 10–45% of a one-sided closure (FINDINGS; detect.py uses the same 0.6 for the eye).

MediaPipe also under-reports partial, one-sided closures (a lid half down reads as ~20–30% closed), which is
why `closed` is low (15%); bilateral blinks read 75–85%.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CLOSED_FRACTION = 0.15
RELEASE_FRACTION = 0.08
ONE_EYE_RATIO = 0.6
MAX_BLINK_S = 1.0
MIN_FRAMES = 2
REST_WINDOW_S = 10.0


@dataclass(frozen=True)
class Blink:
    """One blink: times in seconds, `eyes` is 'both', 'left' or 'right'; closures are peak fractions 0–1."""

    start_s: float
    end_s: float
    eyes: str
    closure_left: float
    closure_right: float


@dataclass(frozen=True)
class BlinkCount:
    """Blinks of a recording, split by which eyes closed."""

    blinks: list[Blink] = field(default_factory=list)

    @property
    def both(self) -> int:
        return sum(b.eyes == "both" for b in self.blinks)

    @property
    def left_only(self) -> int:
        return sum(b.eyes == "left" for b in self.blinks)

    @property
    def right_only(self) -> int:
        return sum(b.eyes == "right" for b in self.blinks)


def eye_closure(t_s: np.ndarray, aperture: np.ndarray, *, rest_window_s: float = REST_WINDOW_S) -> np.ndarray:
    """(n,) fraction of the eye's resting opening that is closed; NaN where the aperture is NaN.

    `t_s` (n,) increasing seconds; `aperture` (n,) eyelid aperture in any unit (frames.csv: fraction of IOD).
    The resting opening is a centred running median over `rest_window_s` (blinks are too brief to move it).
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    aperture = np.asarray(aperture, dtype=np.float64)
    if len(t_s) == 0:
        return np.zeros(0)
    step = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 1 / 30
    window = max(3, int(round(rest_window_s / step)) | 1)
    rest = pd.Series(aperture).rolling(window, center=True, min_periods=1).median().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        closure = 1.0 - aperture / rest
    return np.where(rest > 0, closure, np.nan)


def count_blinks(
    t_s: np.ndarray,
    aperture_left: np.ndarray,
    aperture_right: np.ndarray,
    usable: np.ndarray | None = None,
    *,
    closed: float = CLOSED_FRACTION,
    release: float = RELEASE_FRACTION,
    one_eye_ratio: float = ONE_EYE_RATIO,
    max_blink_s: float = MAX_BLINK_S,
    min_frames: int = MIN_FRAMES,
    rest_window_s: float = REST_WINDOW_S,
) -> BlinkCount:
    """Blinks in per-frame eyelid apertures (the `eyelid_aperture_left/right` columns of frames.csv).

    All arrays (n,); `usable` (n,) bool marks frames to use (default: where both apertures are finite).
    Returns an empty `BlinkCount` for empty input or when no eye ever closes.
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    n = len(t_s)
    if n == 0:
        return BlinkCount()
    left = eye_closure(t_s, aperture_left, rest_window_s=rest_window_s)
    right = eye_closure(t_s, aperture_right, rest_window_s=rest_window_s)
    ok = np.isfinite(left) & np.isfinite(right)
    if usable is not None:
        ok &= np.asarray(usable, dtype=bool)
    left, right = np.where(ok, left, 0.0), np.where(ok, right, 0.0)
    either = np.maximum(left, right)
    step = float(np.median(np.diff(t_s))) if n > 1 else 1 / 30

    blinks = []
    for a, b in _runs((either >= release) & ok):
        peak_left, peak_right = float(left[a : b + 1].max()), float(right[a : b + 1].max())
        top = max(peak_left, peak_right)
        duration = float(t_s[b] - t_s[a] + step)
        if top < closed or b - a + 1 < min_frames or duration > max_blink_s:
            continue
        if min(peak_left, peak_right) >= one_eye_ratio * top:
            eyes = "both"
        else:
            eyes = "left" if peak_left > peak_right else "right"
        blinks.append(Blink(round(float(t_s[a]), 4), round(float(t_s[b] + step), 4), eyes, round(peak_left, 3),
                            round(peak_right, 3)))
    return BlinkCount(blinks)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index pairs of the True runs in a boolean array."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(change[::2], change[1::2])]
