"""The blink counter on constructed eyelid-aperture signals: both-eye and one-eye blinks, and what is not a blink."""

from __future__ import annotations

import numpy as np

from twitchcam.core.blinks import count_blinks, eye_closure

FPS = 30.0


def apertures(seconds: float = 20.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time and two open eyes (aperture 0.15 of the eye distance) with 1.4% landmark noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FPS)) / FPS
    left = 0.15 * (1 + 0.014 * rng.standard_normal(len(t)))
    right = 0.15 * (1 + 0.014 * rng.standard_normal(len(t)))
    return t, left, right


def close(eye: np.ndarray, t: np.ndarray, start: float, length: float, fraction: float) -> None:
    """Close the eye by `fraction` of its opening over a triangular lid movement."""
    inside = (t >= start) & (t < start + length)
    shape = 1 - np.abs((t[inside] - start) / length * 2 - 1)
    eye[inside] *= 1 - fraction * shape


def test_bilateral_blinks_count_as_both_eye():
    t, left, right = apertures()
    for start in (2.0, 6.0, 11.0, 15.5):
        close(left, t, start, 0.25, 0.85)
        close(right, t, start + 1 / FPS, 0.25, 0.75)  # a frame out of step, a little less deep
    count = count_blinks(t, left, right)
    assert (count.both, count.left_only, count.right_only) == (4, 0, 0)
    assert all(b.closure_left > 0.7 and b.closure_right > 0.6 for b in count.blinks)


def test_one_eye_closure_with_leak_into_the_other_eye_is_one_eye():
    """MediaPipe's two-eye prior makes the untouched eye read part of the closure: still one eye."""
    t, left, right = apertures()
    close(left, t, 3.0, 0.3, 0.30)
    close(right, t, 3.0, 0.3, 0.09)
    close(right, t, 9.0, 0.2, 0.5)
    count = count_blinks(t, left, right)
    assert (count.both, count.left_only, count.right_only) == (0, 1, 1)
    first = count.blinks[0]
    assert first.eyes == "left" and 2.9 < first.start_s < 3.2 and first.end_s < 3.4


def test_noise_long_closures_and_unusable_frames_are_not_blinks():
    t, left, right = apertures()
    close(left, t, 5.0, 3.0, 0.9)  # eyes closed for 3 s: not a blink
    close(right, t, 5.0, 3.0, 0.9)
    close(left, t, 12.0, 0.25, 0.8)  # a blink while the face is not usable (head turned)
    close(right, t, 12.0, 0.25, 0.8)
    usable = ~((t > 11.5) & (t < 13.0))
    assert count_blinks(t, left, right, usable).blinks == []
    assert count_blinks(*apertures()[0:3]).blinks == []  # landmark noise only


def test_missing_faces_and_empty_input():
    t, left, right = apertures(5.0)
    left[:30] = np.nan
    right[:30] = np.nan
    close(left, t, 2.0, 0.25, 0.8)
    close(right, t, 2.0, 0.25, 0.8)
    assert count_blinks(t, left, right).both == 1
    assert count_blinks(np.zeros(0), np.zeros(0), np.zeros(0)).blinks == []
    closure = eye_closure(t, left)
    assert np.isnan(closure[:30]).all() and np.nanmax(closure) > 0.7
