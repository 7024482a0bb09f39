"""From per-side measures to candidate hemifacial-spasm events. Pure numpy/pandas, no I/O.

Every measure is a `Channel` (twitchcam/core/channels.py). For each channel and side the *contraction* is the
deviation from that side's own resting value (a running median over the trailing `baseline_window_s`),
averaged over `smoothing_frames`, signed so that contracting is positive, with the part that head yaw,
pitch and roll explain removed (a ridge regression on the pose over the trailing `pose_window_s`). The
channel's *asymmetry* is left minus right contraction, and its threshold

    threshold = max(threshold_sigmas · 1.4826 · median|asymmetry|, threshold_floor[channel])

comes from the recording's own noise (the quieter of its left- and right-leaning halves, over the trailing
`noise_window_s`). A region's *evidence* for a side fuses its trigger channels' asymmetries towards that
side, in units of their thresholds and capped at `evidence_cap` (`evidence_fusion`: by default the mean of
the two largest, so two measures must agree and a measure blind to the movement does not dilute the others).

A side has a candidate in a region where its evidence reaches 1 while, in that frame, the side itself
contracts (at least `release_fraction`) and, in the most one-sided of the region's measures, the other side
moved at most `one_sided_ratio[region]` as much within ±`bilateral_margin_s` (blinks, smiles and speech move
both sides in all of them; only the face mesh leaks one eye's closure into the other). The run lasts while
the evidence stays above `release_fraction` (hysteresis). Because one-sidedness is judged frame by frame, a
blink inside a held contraction interrupts the run without erasing it. Where a region has several
channels, a run needs two of them to lean its way. Runs of one side closer than `merge_gap_s` form one
burst. Another region joins an event where one of its measures passes its threshold during it; witnesses
(the brow, the mouth, the face mesh's cheek) never start an event; the brow joins in either direction.

Baselines, pose fits and thresholds use trailing (causal) windows, except that the first `priming_s` take
the opening stretch as their baseline, and the smoothing looks half its width ahead; so a live detector
over a sliding buffer decides as the whole-file analysis does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twitchcam.core.channels import PRIMARY, REGIONS, TRIGGER, Channel, available
from twitchcam.core.parameters import DetectionParameters
from twitchcam.core.timebase import frame_step as frame_step_of
from twitchcam.core.timebase import true_runs

TRIGGER_REGIONS = ("eye", "cheek", "mouth")
SIDE_SIGN = {"left": 1.0, "right": -1.0}
POSE = ("head_yaw_deg", "head_pitch_deg", "head_roll_deg")


def other_side(side: str) -> str:
    return "right" if side == "left" else "left"


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
    """Per region (its face-mesh displacement, fraction of the inter-ocular distance) and per channel that is
    not a region's primary one, (n_frames,) left-minus-right contraction, NaN where not measurable."""
    threshold: dict[str, np.ndarray]
    """Same keys: (n_frames,) start threshold in force at each frame."""
    contraction: dict[tuple[str, str], np.ndarray]
    """Per (region, side), (n_frames,) face-mesh contraction beyond the side's resting value."""
    evidence: dict[str, np.ndarray]
    """Per region, (n_frames,) the evidence of the side it leans to, positive for the left, in units of the start
    threshold (1 starts a run)."""
    side_evidence: dict[tuple[str, str], np.ndarray]
    """Per (region, side), (n_frames,) that side's evidence (how far the region leans to it)."""


@dataclass
class _Series:
    """One channel's per-frame series: each side's contraction, the asymmetry and its threshold."""

    channel: Channel
    side: dict[str, np.ndarray]
    asymmetry: np.ndarray
    threshold: np.ndarray


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


def _remove_pose(deviations: np.ndarray, pose: np.ndarray, index: pd.TimedeltaIndex, frame_step: float,
                 p: DetectionParameters):
    """`deviations` (n, m) minus what the head pose (n, 3: deviations of yaw, pitch, roll from rest) explains.

    Each frame's coefficients come from a ridge regression over the trailing `pose_window_s`; the ridge
    (`pose_ridge_deg`² per frame, and at least a third of a full window's worth of frames) keeps a steady
    head's coefficients near zero, and the first seconds' (fitted on few frames) too, instead of fitting
    noise or a spasm that happens to come with a head movement.
    """
    n, m = deviations.shape
    if n == 0 or m == 0:
        return deviations
    valid = np.isfinite(pose).all(axis=1)
    x = np.where(valid[:, None], pose, 0.0)
    y = np.where(valid[:, None] & np.isfinite(deviations), deviations, 0.0)
    products = [valid.astype(np.float64)]
    pairs = [(i, j) for i in range(3) for j in range(i, 3)]
    products += [x[:, i] * x[:, j] for i, j in pairs]
    products += [x[:, i] * y[:, k] for i in range(3) for k in range(m)]
    sums = pd.DataFrame(np.column_stack(products), index=index).rolling(
        pd.Timedelta(seconds=p.pose_window_s), min_periods=1).sum().to_numpy()
    count = sums[:, 0]
    gram = np.zeros((n, 3, 3))
    for column, (i, j) in enumerate(pairs, start=1):
        gram[:, i, j] = gram[:, j, i] = sums[:, column]
    prior_frames = p.pose_window_s / 3 / frame_step
    gram += (np.maximum(count, prior_frames) * p.pose_ridge_deg**2)[:, None, None] * np.eye(3)
    cross = sums[:, 1 + len(pairs):].reshape(n, 3, m)
    coefficients = np.linalg.solve(gram, cross)
    return deviations - np.einsum("ni,nim->nm", x, coefficients)


def _channel_series(channels, signals, usable, index, t_s, frame_step: float, p: DetectionParameters) -> list[_Series]:
    """Contraction, asymmetry and threshold of every channel (pose removed where the pose is known)."""
    columns = [np.asarray(signals[col], dtype=np.float64) for c in channels for col in c.columns()]
    if not columns:
        return []
    deviations = np.column_stack([_deviation(v, usable, index, t_s, p) for v in columns])
    if p.smoothing_frames > 1:  # (frames not measured stay unmeasured)
        smoothed = pd.DataFrame(deviations).rolling(p.smoothing_frames, center=True, min_periods=1).mean()
        deviations = np.where(np.isfinite(deviations), smoothed.to_numpy(), np.nan)
    if all(name in signals for name in POSE) and p.pose_window_s > 0:
        pose = np.column_stack([_deviation(signals[name], usable, index, t_s, p) for name in POSE])
        deviations = _remove_pose(deviations, pose, index, frame_step, p)
    out = []
    for k, channel in enumerate(channels):
        side = {}
        for j, name in enumerate(SIDE_SIGN):
            part = channel.sign * deviations[:, 2 * k + j]
            side[name] = np.fmax(part, 0.0) if channel.one_way else part
        asymmetry = side["left"] - side["right"]
        spread = _noise(asymmetry, index, t_s, p)
        threshold = np.maximum(p.threshold_sigmas * np.nan_to_num(spread), p.threshold_floor[channel.name])
        out.append(_Series(channel, side, asymmetry, threshold))
    return out


def detect_events(
    t_s: np.ndarray,
    signals: pd.DataFrame | dict[str, np.ndarray],
    usable: np.ndarray,
    params: DetectionParameters | None = None,
) -> Detection:
    """Find one-sided bursts in per-side signals.

    `t_s`: (n,) strictly increasing frame times in seconds. `signals`: columns `<channel>_left` and
    `<channel>_right` for the channels of twitchcam/core/channels.py (those missing are left out; the face-mesh
    ones are required), and the head pose columns when known, (n,) each. `usable`: (n,) bool, False where
    there is no face or the head is turned too far; those frames never belong to an event.
    """
    p = params or DetectionParameters()
    t_s = np.asarray(t_s, dtype=np.float64)
    n = len(t_s)
    usable = np.asarray(usable, dtype=bool)
    index = pd.to_timedelta(t_s, unit="s")
    frame_step = frame_step_of(t_s)

    series = _channel_series(available(signals, p.channels), signals, usable, index, t_s, frame_step, p)
    by_region = {region: [s for s in series if s.channel.region == region] for region in REGIONS}

    contraction, asymmetry, threshold, evidence = {}, {}, {}, {}
    own_side: dict[tuple[str, str], np.ndarray] = {}
    side_evidence: dict[tuple[str, str], np.ndarray] = {}
    joining: dict[tuple[str, str], np.ndarray] = {}  # the region's most telling measure: may it join an event
    peak_strength: dict[tuple[str, str], np.ndarray] = {}  # the evidence uncapped: where in an event it peaks
    for region, members in by_region.items():
        mesh = [s for s in members if s.channel.mesh]
        for side in SIDE_SIGN:
            contraction[region, side] = np.sum([s.side[side] for s in mesh], axis=0) if mesh else np.full(n, np.nan)
        asymmetry[region] = contraction[region, "left"] - contraction[region, "right"]
        threshold[region] = np.maximum(p.threshold_sigmas * np.nan_to_num(_noise(asymmetry[region], index, t_s, p)),
                                       p.threshold_floor[PRIMARY[region]])
        for s in members:
            if s.channel.name != PRIMARY[region]:
                asymmetry[s.channel.name], threshold[s.channel.name] = s.asymmetry, s.threshold
        voters = [s for s in members if s.channel.role == TRIGGER] or members
        for side, sign in SIDE_SIGN.items():
            leaning = [sign * s.asymmetry / s.threshold for s in voters]
            side_evidence[region, side] = _fuse(leaning, p.evidence_cap, p.evidence_fusion, n)
            peak_strength[region, side] = _fuse(leaning, np.inf, p.evidence_fusion, n)
            joining[region, side] = _fuse([sign * s.asymmetry / s.threshold for s in members], p.evidence_cap, "max", n)
        left, right = side_evidence[region, "left"], side_evidence[region, "right"]
        evidence[region] = np.where(np.nan_to_num(left, nan=-np.inf) >= np.nan_to_num(right, nan=-np.inf), left, -right)
        for side in SIDE_SIGN:
            own_side[region, side] = _fuse([s.side[side] / s.threshold for s in voters], p.evidence_cap, "mean", n)

    margin = int(round(p.bilateral_margin_s / frame_step))
    runs_by_side: dict[str, list[tuple[int, int, str]]] = {"left": [], "right": []}
    leans: dict[tuple[str, str], np.ndarray] = {}
    for region in TRIGGER_REGIONS:
        voters = [s for s in by_region[region] if s.channel.role == TRIGGER]
        if not voters:
            continue
        for side, sign in SIDE_SIGN.items():
            lean = leans[region, side] = _one_sided_lean(voters, side, margin, p.release_fraction)
            leaning = np.nan_to_num(side_evidence[region, side], nan=-np.inf)
            strong = ((leaning >= 1.0)
                      & (np.nan_to_num(own_side[region, side], nan=-np.inf) >= p.release_fraction)
                      & (lean < p.one_sided_ratio[region]))
            weak = leaning >= p.release_fraction
            for a, b in _hysteresis(strong, weak):
                if _corroborated(voters, sign, a, b, p.release_fraction):
                    runs_by_side[side].append((a, b, region))

    events = []
    for side, runs in runs_by_side.items():
        for group in _group_runs(runs, t_s, p.merge_gap_s):
            event = _make_event(group, side, t_s, frame_step, usable, contraction, asymmetry, threshold, side_evidence,
                                own_side, leans, peak_strength, joining, p)
            if event is not None:
                events.append(event)
    events.sort(key=lambda e: (e.start_s, e.side))
    return Detection(events=events, asymmetry=asymmetry, threshold=threshold, contraction=contraction,
                     evidence=evidence, side_evidence=side_evidence)


def _fuse(parts: list[np.ndarray], cap: float, rule: str, n: int) -> np.ndarray:
    """Per frame, the measures (each capped at ±`cap`) that are finite combined by `rule`: "mean"; "top2", the
    mean of the two largest (two measures must agree, and a measure blind to this movement does not dilute
    the others); or "max". NaN where none is finite."""
    if not parts:
        return np.full(n, np.nan)
    stacked = np.clip(np.vstack(parts), -cap, cap)
    finite = np.isfinite(stacked)
    count = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if rule == "max":
            return np.where(count > 0, np.where(finite, stacked, -np.inf).max(axis=0), np.nan)
        if rule == "top2" and len(parts) > 2:
            ordered = np.sort(np.where(finite, stacked, -np.inf), axis=0)[::-1]
            top = np.where(count >= 2, (ordered[0] + ordered[1]) / 2, ordered[0])
            return np.where(count > 0, top, np.nan)
        total = np.where(finite, stacked, 0.0).sum(axis=0)
        return np.where(count > 0, total / count, np.nan)


def _one_sided_lean(voters: list[_Series], side: str, margin: int, release: float) -> np.ndarray:
    """Per frame, how much the other side moved (its largest contraction either way within ±`margin` frames)
    relative to this side's contraction, in the most one-sided of the region's measures.

    The face mesh's two-eye prior makes an untouched eye read part of the other's closure, while the
    per-eye model barely does; a blink or a smile moves both sides in every measure. So the least leaky
    reading decides. Frames where no measure has this side contracting get inf.
    """
    other = other_side(side)
    best = None
    for s in voters:
        own = np.nan_to_num(s.side[side] / s.threshold, nan=-np.inf)
        passive = np.nan_to_num(np.abs(s.side[other] / s.threshold), nan=0.0)
        if margin > 0 and len(passive):
            passive = pd.Series(passive).rolling(2 * margin + 1, center=True, min_periods=1).max().to_numpy()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # (a huge ratio is just bilateral)
            lean = np.where(own >= release, passive / np.maximum(own, 1e-12), np.inf)
        best = lean if best is None else np.fmin(best, lean)
    assert best is not None, "a region that starts events has at least one measure"
    return best


def _corroborated(voters: list[_Series], sign: float, a: int, b: int, release: float) -> bool:
    """Where a region has several measures, at least two lean this way at their release level in the run
    (pixels change for reasons that are not muscle too: glare, a lock of hair, a landmark glitch)."""
    leaning = [s for s in voters if np.any(np.nan_to_num(sign * s.asymmetry[a: b + 1], nan=-np.inf)
                                           >= release * s.threshold[a: b + 1])]
    measurable = [s for s in voters if np.isfinite(s.asymmetry[a: b + 1]).any()]
    return len(leaning) >= min(2, len(measurable)) and bool(leaning)


def _hysteresis(strong: np.ndarray, weak: np.ndarray) -> list[tuple[int, int]]:
    """Runs of `weak` that contain at least one `strong` frame."""
    return [(a, b) for a, b in true_runs(weak | strong) if strong[a : b + 1].any()]


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


def _make_event(group, side, t_s, frame_step, usable, contraction, asymmetry, threshold, side_evidence, own_side,
                leans, peak_strength, joining, p: DetectionParameters) -> Event | None:
    sign = SIDE_SIGN[side]
    first = min(a for a, _, _ in group)
    last = max(b for _, b, _ in group)
    # Onset: hysteresis starts at the release level; step back over the frames where the starting
    # region's evidence was still rising from rest, so the onset is where the movement began.
    start_region = next(r for a, _, r in sorted(group) if a == first)
    rising = np.nan_to_num(side_evidence[start_region, side], nan=-np.inf)
    while first > 0 and usable[first - 1] and p.onset_fraction < rising[first - 1] < rising[first]:
        first -= 1
    start_s, end_s = float(t_s[first]), float(t_s[last] + frame_step)
    if last - first + 1 < p.min_frames or end_s - start_s < p.min_duration_s or end_s - start_s > p.max_duration_s:
        return None
    span = slice(first, last + 1)
    regions = {region for _, _, region in group}
    # Other regions join an established event when one of their measures passes its threshold on the same side
    # at any moment of it; the brow in either direction (lowered by the orbicularis, or raised: brow-lift sign).
    for region in REGIONS:
        own = joining[region, side][span]
        if region == "brow":
            own = np.fmax(own, joining[region, other_side(side)][span])
        if np.any(np.nan_to_num(own, nan=-np.inf) >= 1.0):
            regions.add(region)

    # Kind: the longest stretch the side stays contracted within the burst (a blink inside a held contraction
    # keeps that side closed, so it does not cut the stretch).
    held = np.zeros(last - first + 1, dtype=bool)
    for region in {r for _, _, r in group}:
        held |= np.nan_to_num(own_side[region, side][span], nan=-np.inf) >= p.release_fraction
    for a, b, _ in group:
        held[a - first: b - first + 1] = True
    longest = max(((b - a + 1) * frame_step for a, b in true_runs(held)), default=0.0)
    kind = "tonic" if longest >= p.tonic_min_s else "clonic"

    # Peak: the trigger region and frame with the largest evidence.
    best, peak_index, peak_region = -np.inf, first, "eye"
    for region in sorted(regions & set(TRIGGER_REGIONS)):
        strength = np.nan_to_num(peak_strength[region, side][span], nan=-np.inf)
        i = int(np.argmax(strength))
        if strength[i] > best:
            best, peak_index, peak_region = float(strength[i]), first + i, region
    peak_asymmetry = float(np.nan_to_num(sign * asymmetry[peak_region][peak_index]))

    # One-sidedness: in the most one-sided frame of the run holding the peak (a blink elsewhere in a held
    # contraction moves both sides, and says nothing about the contraction itself).
    held_run = next(((a, b) for a, b, r in group if r == peak_region and a <= peak_index <= b),
                    (peak_index, peak_index))
    lean = leans.get((peak_region, side))
    least = float(np.min(lean[held_run[0]: held_run[1] + 1])) if lean is not None else np.inf
    one_sidedness = float(np.clip(1 - least, 0, 1)) if np.isfinite(least) else 0.0
    strength = 1 - np.exp(-max(min(best, p.evidence_cap) - 1, 0.0))
    coverage = float(usable[span].mean())
    confidence = round(float(coverage * one_sidedness * (0.5 + 0.5 * strength)), 3)

    # Brow-lift sign: the same-side brow rises (negative brow contraction) while that eye closes.
    eye_closing = np.nan_to_num(own_side["eye", side][span], nan=-np.inf) >= p.release_fraction
    brow_rising = -contraction["brow", side][span] >= p.release_fraction * threshold["brow"][span]
    brow_lift = bool(np.any(eye_closing & brow_rising))

    if confidence < p.min_confidence or not np.isfinite(peak_asymmetry):
        return None
    ordered = tuple(r for r in REGIONS if r in regions)
    return Event(
        start_s=start_s, end_s=end_s, side=side, regions=ordered, kind=kind,
        peak_s=float(t_s[peak_index]), peak_asymmetry=peak_asymmetry,
        confidence=confidence, brow_lift=brow_lift, start_frame=int(first), end_frame=int(last),
    )


__all__ = ["REGIONS", "TRIGGER_REGIONS", "Detection", "Event", "detect_events", "other_side"]
