"""Counting blinks from the eyelid apertures in frames.csv, split into both-eye and one-eye blinks.

Pure numpy/pandas. Each eye's *closure* is how much of its resting opening is gone,

    closure = 1 - eyelid_aperture / resting aperture      (0 open as usual, 1 fully shut)

where the resting aperture is the running median of that eye's aperture over `blink_rest_window_s`. A closure
episode is a stretch where either eye is closed by at least `blink_release_fraction` and one of them reaches
`blink_closed_fraction` (hysteresis), lasting `blink_min_frames` frames to `blink_max_s` seconds (longer
closures are not blinks). It is a *both-eye* blink when the less-closed eye closed at least
`blink_one_eye_ratio` as much as the other, otherwise a *one-eye* blink of the more-closed eye. The values are
fields of `DetectionParameters`. The ratio (0.6) is generous because MediaPipe's two-eye shape prior makes an
untouched eye read 10–45% of a one-sided closure (docs/method.md, "Eye landmarks share a two-eye prior").

MediaPipe also under-reports partial, one-sided closures (a lid half down reads as ~20–30% closed), which is
why the closed fraction is low (15%); bilateral blinks read 75–85%.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twitchcam.core.parameters import DetectionParameters
from twitchcam.core.timebase import frame_step, true_runs


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


def eye_closure(t_s: np.ndarray, aperture: np.ndarray, *, rest_window_s: float | None = None) -> np.ndarray:
    """(n,) fraction of the eye's resting opening that is closed; NaN where the aperture is NaN.

    `t_s` (n,) increasing seconds; `aperture` (n,) eyelid aperture in any unit (frames.csv: fraction of IOD).
    The resting opening is a centred running median over `rest_window_s` (default
    `DetectionParameters.blink_rest_window_s`; blinks are too brief to move it).
    """
    if rest_window_s is None:
        rest_window_s = DetectionParameters().blink_rest_window_s
    t_s = np.asarray(t_s, dtype=np.float64)
    aperture = np.asarray(aperture, dtype=np.float64)
    if len(t_s) == 0:
        return np.zeros(0)
    step = frame_step(t_s)
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
    params: DetectionParameters | None = None,
) -> BlinkCount:
    """Blinks in per-frame eyelid apertures (the `eyelid_aperture_left/right` columns of frames.csv).

    All arrays (n,); `usable` (n,) bool marks frames to use (default: where both apertures are finite).
    `params`: the `blink_*` fields (default `DetectionParameters()`). Returns an empty `BlinkCount` for empty
    input or when no eye ever closes.
    """
    p = params or DetectionParameters()
    t_s = np.asarray(t_s, dtype=np.float64)
    n = len(t_s)
    if n == 0:
        return BlinkCount()
    left = eye_closure(t_s, aperture_left, rest_window_s=p.blink_rest_window_s)
    right = eye_closure(t_s, aperture_right, rest_window_s=p.blink_rest_window_s)
    ok = np.isfinite(left) & np.isfinite(right)
    if usable is not None:
        ok &= np.asarray(usable, dtype=bool)
    left, right = np.where(ok, left, 0.0), np.where(ok, right, 0.0)
    either = np.maximum(left, right)
    step = frame_step(t_s)

    blinks = []
    for a, b in true_runs((either >= p.blink_release_fraction) & ok):
        peak_left, peak_right = float(left[a : b + 1].max()), float(right[a : b + 1].max())
        top = max(peak_left, peak_right)
        duration = float(t_s[b] - t_s[a] + step)
        if top < p.blink_closed_fraction or b - a + 1 < p.blink_min_frames or duration > p.blink_max_s:
            continue
        if min(peak_left, peak_right) >= p.blink_one_eye_ratio * top:
            eyes = "both"
        else:
            eyes = "left" if peak_left > peak_right else "right"
        blinks.append(Blink(round(float(t_s[a]), 4), round(float(t_s[b] + step), 4), eyes, round(peak_left, 3),
                            round(peak_right, 3)))
    return BlinkCount(blinks)
