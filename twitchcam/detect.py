"""From per-side signals to candidate hemifacial-spasm events. Pure numpy/pandas, no I/O.

For each region, each side's *contraction* is its deviation from its own resting value (a running median
over the trailing `baseline_window_s`), signed so that contracting is positive. The region's *asymmetry*
is left minus right contraction. A side has a candidate where

    asymmetry ≥ max(threshold_sigmas · 1.4826 · median|asymmetry|, threshold_floor[region])

(the robust noise of the recording itself, over the trailing `noise_window_s`), the side itself contracts
by at least the release level, and the run continues while the asymmetry stays above
`release_fraction` × threshold (hysteresis). A region's run is discarded where the other side moved at
least `one_sided_ratio[region]` as much, in either direction, within `bilateral_margin_s` (blinks, smiles
and speech move both sides). Runs of one side in the eye, cheek and mouth are joined, and runs closer than
`merge_gap_s` merge into one burst. Another region joins an event where its own asymmetry passes its
threshold during it; the brow never starts an event (HFS does not begin there) but joins one it moves with,
in either direction.

Baselines and thresholds use trailing (causal) windows, except that the first `priming_s` take the opening
stretch as their baseline; an event is final `bilateral_margin_s` + `merge_gap_s` after it ends. So a live
detector over a sliding buffer makes the same decisions as the whole-file analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twitchcam.parameters import DetectionParameters

REGIONS = ("eye", "brow", "cheek", "mouth")
TRIGGER_REGIONS = ("eye", "cheek", "mouth")
# Each region's contraction: (signal, sign, one_way) summed; sign +1 when the signal grows on contraction.
# A one-way part counts only in the contracting direction: a mouth corner pushed towards the midline
# (by the other side's pull, a hand, pursed lips) is not a contraction of its own side.
REGION_SIGNALS: dict[str, tuple[tuple[str, int, bool], ...]] = {
    "eye": (("eyelid_aperture", -1, False),),
    "brow": (("brow_height", -1, False),),
    "cheek": (("cheek_height", +1, False),),
    "mouth": (("mouth_corner_height", +1, False), ("mouth_corner_width", +1, True)),
}
SIDE_SIGN = {"left": 1.0, "right": -1.0}


def other_side(side: str) -> str:
    return "right" if side == "left" else "left"

# Image evidence per region (see appearance.py): a second way for a region to start an event, for the lid
# closures MediaPipe's eye landmarks under-read; (signal, sign) as in REGION_SIGNALS. Used where present.
IMAGE_CHANNELS = {"iris_contrast": ("eye", -1)}


@dataclass(frozen=True)
class Event:
    """One candidate spasm. Times in seconds from the start of the video; sides are anatomical."""

    start_s: float
    end_s: float
    side: str
    regions: tuple[str, ...]
    kind: str
    """'clonic' (brief jerks or a train of them) or 'tonic' (a contraction held >= tonic_min_s)."""
    peak_s: float
    peak_asymmetry: float
    """Largest one-sided contraction beyond the other side, in fractions of the inter-ocular distance."""
    confidence: float
    """0–1: how far above threshold, how one-sided, and how much of the event the face was measurable."""
    brow_lift: bool
    """The brow on the event side rose while that eye closed (the 'brow-lift sign' of HFS)."""
    start_frame: int
    end_frame: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class Detection:
    """What the detector found: the events and the per-frame series it decided on."""

    events: list[Event]
    asymmetry: dict[str, np.ndarray]
    """Per region, (n_frames,) left-minus-right contraction, NaN where not measurable."""
    threshold: dict[str, np.ndarray]
    """Per region, (n_frames,) start threshold in force at each frame."""
    contraction: dict[tuple[str, str], np.ndarray]
    """Per (region, side), (n_frames,) contraction beyond the side's resting value."""


def _trailing(values: np.ndarray, index: pd.TimedeltaIndex, window_s: float, t_s: np.ndarray, priming_s: float):
    """Running median over a trailing time window; frames in the priming stretch get its median."""
    series = pd.Series(values, index=index)
    rolled = series.rolling(pd.Timedelta(seconds=window_s), min_periods=1).median().to_numpy(copy=True)
    if len(t_s):
        opening = t_s <= t_s[0] + priming_s
        finite = opening & np.isfinite(values)
        if finite.any():
            rolled[opening] = np.median(values[finite])
    return rolled


def _deviation(values, usable: np.ndarray, index: pd.TimedeltaIndex, t_s: np.ndarray, p: DetectionParameters):
    """A signal's deviation from its own resting value (trailing median), NaN where not usable or not finite
    (an infinite value is a failed measurement, not an infinitely strong contraction)."""
    values = np.asarray(values, dtype=np.float64)
    values = np.where(usable & np.isfinite(values), values, np.nan)
    return values - _trailing(values, index, p.baseline_window_s, t_s, p.priming_s)


def _noise(asymmetry: np.ndarray, index: pd.TimedeltaIndex, t_s: np.ndarray, p: DetectionParameters) -> np.ndarray:
    """Robust standard deviation of the asymmetry's noise, from whichever half (left-leaning or
    right-leaning frames) is quieter: spasms push one way only, so that half holds the noise alone even when
    a side spends most of the recording in spasm."""
    halves = []
    for sign in (1.0, -1.0):
        half = np.where(sign * asymmetry > 0, np.abs(asymmetry), np.nan)
        halves.append(_trailing(half, index, p.noise_window_s, t_s, p.priming_s))
    return 1.4826 * np.fmin(halves[0], halves[1])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index pairs of the True runs in a boolean array."""
    if not mask.any():
        return []
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(change[::2], change[1::2])]


def _hysteresis(strong: np.ndarray, weak: np.ndarray) -> list[tuple[int, int]]:
    """Runs of `weak` that contain at least one `strong` frame."""
    return [(a, b) for a, b in _runs(weak | strong) if strong[a : b + 1].any()]


def detect_events(
    t_s: np.ndarray,
    signals: pd.DataFrame | dict[str, np.ndarray],
    usable: np.ndarray,
    params: DetectionParameters | None = None,
) -> Detection:
    """Find one-sided bursts in per-side signals.

    `t_s`: (n,) strictly increasing frame times in seconds. `signals`: columns `<signal>_left` and
    `<signal>_right` for every signal in `REGION_SIGNALS`, (n,) each. `usable`: (n,) bool, False where
    there is no face or the head is turned too far; those frames never belong to an event.
    """
    p = params or DetectionParameters()
    t_s = np.asarray(t_s, dtype=np.float64)
    n = len(t_s)
    usable = np.asarray(usable, dtype=bool)
    index = pd.to_timedelta(t_s, unit="s")
    frame_step = float(np.median(np.diff(t_s))) if n > 1 else 1 / 30

    contraction: dict[tuple[str, str], np.ndarray] = {}
    for region, parts in REGION_SIGNALS.items():
        for side in SIDE_SIGN:
            total = np.zeros(n)
            for name, sign, one_way in parts:
                part = sign * _deviation(signals[f"{name}_{side}"], usable, index, t_s, p)
                total += np.fmax(part, 0.0) if one_way else part
            contraction[region, side] = total

    asymmetry = {r: contraction[r, "left"] - contraction[r, "right"] for r in REGIONS}
    threshold = {}
    for region in REGIONS:
        spread = _noise(asymmetry[region], index, t_s, p)
        threshold[region] = np.maximum(p.threshold_sigmas * np.nan_to_num(spread), p.threshold_floor[region])

    margin = int(round(p.bilateral_margin_s / frame_step))
    runs_by_side: dict[str, list[tuple[int, int, str]]] = {"left": [], "right": []}
    for region in TRIGGER_REGIONS:
        for side, sign in SIDE_SIGN.items():
            other = other_side(side)
            for a, b in _one_sided_runs(sign * asymmetry[region], contraction[region, side],
                                        contraction[region, other], threshold[region], margin,
                                        p.release_fraction, p.one_sided_ratio[region]):
                runs_by_side[side].append((a, b, region))

    image_runs = []
    for name, (region, direction) in IMAGE_CHANNELS.items():
        if f"{name}_left" not in signals:
            continue
        change = {side: direction * _deviation(signals[f"{name}_{side}"], usable, index, t_s, p) for side in SIDE_SIGN}
        asymmetry[name] = change["left"] - change["right"]
        threshold[name] = np.maximum(p.image_sigmas * np.nan_to_num(_noise(asymmetry[name], index, t_s, p)),
                                     p.image_floor[name])
        for side, sign in SIDE_SIGN.items():
            other = other_side(side)
            for a, b in _one_sided_runs(sign * asymmetry[name], change[side], change[other], threshold[name],
                                        margin, p.release_fraction, p.one_sided_ratio[region]):
                image_runs.append((a, b, side, region, name))
    # An image channel must be corroborated: another measure of the same region leans the same way at least
    # at its release level (pixels can also change for reasons that are not muscle: glare, a lock of hair).
    for a, b, side, region, name in image_runs:
        witnesses = [region] + [
            c for c, (r, _) in IMAGE_CHANNELS.items() if r == region and c != name and c in asymmetry
        ]
        if any(np.nanmax(SIDE_SIGN[side] * asymmetry[c][a : b + 1], initial=-np.inf)
               >= p.release_fraction * np.nanmin(threshold[c][a : b + 1]) for c in witnesses):
            runs_by_side[side].append((a, b, region))

    events = []
    for side, runs in runs_by_side.items():
        for group in _group_runs(runs, t_s, p.merge_gap_s):
            event = _make_event(group, side, t_s, frame_step, usable, contraction, asymmetry, threshold, p)
            if event is not None:
                events.append(event)
    events.sort(key=lambda e: (e.start_s, e.side))
    return Detection(events=events, asymmetry=asymmetry, threshold=threshold, contraction=contraction)


def _one_sided_runs(
    own: np.ndarray, active: np.ndarray, passive: np.ndarray, threshold: np.ndarray, margin: int,
    release_fraction: float, ratio: float,
) -> list[tuple[int, int]]:
    """Hysteresis runs of one side's asymmetry `own` where that side really moved and the other did not.

    `active`/`passive`: this and the other side's deviation from rest. A run is kept when, within ±`margin`
    frames, the other side's largest deviation (either way) stays below `ratio` × this side's largest.
    """
    release = release_fraction * threshold
    own = np.nan_to_num(own, nan=-np.inf)
    moving = np.nan_to_num(active, nan=-np.inf)
    kept = []
    for a, b in _hysteresis((own >= threshold) & (moving >= release), own >= release):
        lo, hi = max(0, a - margin), min(len(own), b + margin + 1)
        peak_active = np.nanmax(active[a : b + 1])
        peak_other = np.nanmax(np.nan_to_num(np.abs(passive[lo:hi]), nan=0.0))
        if peak_other < ratio * peak_active:
            kept.append((a, b))
    return kept


def _group_runs(runs: list[tuple[int, int, str]], t_s: np.ndarray, merge_gap_s: float):
    """Runs of one side grouped into bursts: overlapping runs, or gaps shorter than `merge_gap_s`."""
    groups: list[list[tuple[int, int, str]]] = []
    end = -1
    for run in sorted(runs):
        if groups and (run[0] <= end + 1 or t_s[run[0]] - t_s[end] <= merge_gap_s):
            groups[-1].append(run)
            end = max(end, run[1])
        else:
            groups.append([run])
            end = run[1]
    return groups


def _make_event(group, side, t_s, frame_step, usable, contraction, asymmetry, threshold, p) -> Event | None:
    sign = SIDE_SIGN[side]
    other = other_side(side)
    first = min(a for a, _, _ in group)
    last = max(b for _, b, _ in group)
    # Onset: hysteresis starts at the release level; step back over the frames where the starting
    # region's asymmetry was still rising from rest, so the onset is where the movement began.
    start_region = next(r for a, _, r in sorted(group) if a == first)
    rising = sign * asymmetry[start_region]
    floor = p.onset_fraction * threshold[start_region]
    while first > 0 and usable[first - 1] and floor[first - 1] < rising[first - 1] < rising[first]:
        first -= 1
    start_s, end_s = float(t_s[first]), float(t_s[last] + frame_step)
    if last - first + 1 < p.min_frames or end_s - start_s < p.min_duration_s or end_s - start_s > p.max_duration_s:
        return None
    span = slice(first, last + 1)
    regions = {region for _, _, region in group}
    # Other regions join an established event when they pass their own threshold on the same side at any
    # moment of it; the brow in either direction (lowered by the orbicularis, or raised: brow-lift sign).
    for region in REGIONS:
        own = sign * asymmetry[region][span]
        if region == "brow":
            own = np.abs(own)
        if np.any(np.nan_to_num(own, nan=-np.inf) >= threshold[region][span]):
            regions.add(region)

    # Kind: the longest continuous contraction within the burst.
    longest = max(t_s[b] - t_s[a] + frame_step for a, b, _ in group)
    kind = "tonic" if longest >= p.tonic_min_s else "clonic"

    # Peak: the trigger region and frame with the largest asymmetry relative to its threshold.
    best_ratio, peak_index, peak_region = -np.inf, first, "eye"
    for region in regions & set(TRIGGER_REGIONS):
        ratio = np.nan_to_num(sign * asymmetry[region][span] / threshold[region][span], nan=-np.inf)
        i = int(np.argmax(ratio))
        if ratio[i] > best_ratio:
            best_ratio, peak_index, peak_region = float(ratio[i]), first + i, region
    peak_asymmetry = float(sign * asymmetry[peak_region][peak_index])

    active = float(np.nanmax(contraction[peak_region, side][span]))
    passive = float(np.nanmax(contraction[peak_region, other][span]))
    one_sidedness = float(np.clip(1 - max(passive, 0.0) / active, 0, 1)) if active > 0 else 0.0
    strength = 1 - np.exp(-max(best_ratio - 1, 0.0))
    coverage = float(usable[span].mean())
    confidence = round(float(coverage * one_sidedness * (0.5 + 0.5 * strength)), 3)

    # Brow-lift sign: the same-side brow rises (negative brow contraction) while that eye closes.
    eye_closing = contraction["eye", side][span] >= p.release_fraction * threshold["eye"][span]
    brow_rising = -contraction["brow", side][span] >= p.release_fraction * threshold["brow"][span]
    brow_lift = bool(np.any(eye_closing & brow_rising))

    if confidence < p.min_confidence:
        return None
    ordered = tuple(r for r in REGIONS if r in regions)
    return Event(
        start_s=start_s, end_s=end_s, side=side, regions=ordered, kind=kind,
        peak_s=float(t_s[peak_index]), peak_asymmetry=peak_asymmetry,
        confidence=confidence, brow_lift=brow_lift, start_frame=int(first), end_frame=int(last),
    )
