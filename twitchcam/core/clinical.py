"""The numbers a clinician reads in the report, computed from the three result files. Pure numpy/pandas.

Everything here is derived from `events.csv`, `frames.csv` and `summary.json` (plus one re-run of the
detector on frames.csv to recover each side's own movement, which the files store only as left-minus-right).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twitchcam.core.blinks import BlinkCount, count_blinks
from twitchcam.core.detect import REGIONS, SIDE_SIGN, Detection, detect_events, other_side
from twitchcam.core.face_mesh import SIDES
from twitchcam.core.parameters import DetectionParameters

BRIEF_SPASM_MAX_S = 1.0  # clinicians split spasms into brief (< 1 s) and sustained (> 1 s)


def parameters_from_summary(summary: dict) -> DetectionParameters:
    """The detection parameters recorded in summary.json.

    Folders written by other versions stay readable: unknown keys are ignored, and missing keys (also inside
    per-region tables) take today's defaults.
    """
    defaults = DetectionParameters()
    given = {}
    for f in dataclasses.fields(DetectionParameters):
        if f.name not in (summary.get("parameters") or {}):
            continue
        value = summary["parameters"][f.name]
        default = getattr(defaults, f.name)
        given[f.name] = {**default, **value} if isinstance(default, dict) and isinstance(value, dict) else value
    return DetectionParameters(**given)


@dataclass(frozen=True)
class Movements:
    """Each side's movement in each region, per frame, as the detector measured it.

    `t_s` (n,) seconds. `by_region[region, side]` (n,): for the eye, the fraction of that eye's resting
    opening that is closed (0 open as at rest, 1 shut); for brow, cheek and mouth, the displacement from that
    side's resting position in fractions of the inter-ocular distance, positive when the muscle contracts
    (brow lowered, cheek raised, mouth corner pulled up/out). NaN where the face was not usable.
    """

    t_s: np.ndarray
    by_region: dict[tuple[str, str], np.ndarray]


def redetect(frames: pd.DataFrame, params: DetectionParameters) -> Detection:
    """The detector re-run on frames.csv, for what the files do not keep (cheap: ~1 ms per 1,000 frames)."""
    return detect_events(frames["t_s"].to_numpy(dtype=np.float64), frames, frames["usable"].to_numpy(dtype=bool),
                         params)


def region_movements(frames: pd.DataFrame, detection: Detection) -> Movements:
    """Per-side movements from frames.csv and the re-run detection (see `Movements`)."""
    t_s = frames["t_s"].to_numpy(dtype=np.float64)
    usable = frames["usable"].to_numpy(dtype=bool)
    by_region = {}
    for region in REGIONS:
        for side in SIDES:
            values = np.asarray(detection.contraction[region, side], dtype=np.float64)
            if region == "eye":
                aperture = frames[f"eyelid_aperture_{side}"].to_numpy(dtype=np.float64)
                resting = aperture + values  # contraction = resting aperture - aperture
                with np.errstate(invalid="ignore", divide="ignore"):
                    values = np.where(resting > 0, values / resting, np.nan)
            by_region[region, side] = np.where(usable, values, np.nan)
    return Movements(t_s=t_s, by_region=by_region)


@dataclass(frozen=True)
class EventStrength:
    """How strongly one event moved its side: peak eye closure on both sides and peak asymmetry."""

    eye_closure: float
    """Largest fraction of the event side's resting eye opening closed during the event (0–1)."""
    other_eye_closure: float
    """The other eye's closure at that same moment (MediaPipe leaks some of one eye's closure to the other)."""
    peak_asymmetry: float
    """From events.csv: the event side's movement beyond the other side at the peak, fraction of IOD."""


def event_strengths(events: pd.DataFrame, movements: Movements) -> list[EventStrength]:
    """One `EventStrength` per row of events.csv."""
    t_s = movements.t_s
    strengths = []
    for row in events.itertuples():
        span = (t_s >= row.start_s - 1e-6) & (t_s < row.end_s - 1e-6)
        own = movements.by_region["eye", row.side][span]
        other = movements.by_region["eye", other_side(row.side)][span]
        if span.any() and np.isfinite(own).any():
            i = int(np.nanargmax(own))
            closure, other_closure = float(own[i]), float(other[i]) if np.isfinite(other[i]) else float("nan")
        else:
            closure = other_closure = float("nan")
        strengths.append(EventStrength(closure, other_closure, float(row.peak_asymmetry)))
    return strengths


def eye_narrowed_fraction(frames: pd.DataFrame, side: str) -> float:
    """Fraction of usable frames in which `side`'s eye is narrowed beyond the other eye.

    Narrowed: the eye's closure exceeds the other eye's by more than the eye detection threshold
    (`eye_asymmetry` towards that side ≥ `eye_threshold` in frames.csv). Bilateral blinks do not count.
    """
    usable = frames["usable"].to_numpy(dtype=bool)
    if not usable.any():
        return 0.0
    toward = SIDE_SIGN[side] * frames["eye_asymmetry"].to_numpy(dtype=np.float64)
    threshold = frames["eye_threshold"].to_numpy(dtype=np.float64)
    narrowed = np.nan_to_num(toward, nan=-np.inf) >= np.nan_to_num(threshold, nan=np.inf)
    return float(narrowed[usable].mean())


@dataclass(frozen=True)
class ClinicalMeasures:
    """The headline numbers of one recording. Rates are per minute of recording; fractions are 0–1."""

    duration_s: float
    affected_side: str
    """'left', 'right', 'both' (neither side has 80% of the events) or 'none'."""
    n_events: int
    n_brief: int
    n_sustained: int
    brief_per_min: float
    sustained_per_min: float
    tonic_per_min: float
    spreading_sustained_per_min: float
    """Sustained (>= 1 s) spasms that reached the cheek or mouth, per minute."""
    spasm_fraction: float
    eye_narrowed: dict[str, float]
    """Per side, `eye_narrowed_fraction`."""
    mean_event_s: float
    longest_event_s: float
    events_by_region: dict[str, int]
    spread_beyond_eye: int
    """Events of the eye that also moved the cheek or mouth."""
    spread_to_cheek_or_mouth: int
    """Events involving cheek or mouth at all (with or without the eye)."""
    brow_lift_events: int
    blinks: BlinkCount
    peak_eye_closure: float
    """Largest eye closure on the event side over all events (0–1), NaN without events."""
    median_eye_closure: float

    @property
    def affected_eye_narrowed(self) -> float:
        """Narrowed fraction of the affected eye (the larger of the two when the side is 'both' or 'none')."""
        if self.affected_side in SIDES:
            return self.eye_narrowed[self.affected_side]
        return max(self.eye_narrowed.values())


def clinical_measures(events: pd.DataFrame, frames: pd.DataFrame, summary: dict,
                      strengths: list[EventStrength]) -> ClinicalMeasures:
    """The report's headline numbers from the three result files and the events' strengths."""
    duration_s = float(summary.get("duration_s") or 0.0)
    minutes = duration_s / 60 if duration_s > 0 else float("nan")

    def rate(count: int) -> float:
        return round(count / minutes, 2) if duration_s > 0 else 0.0

    durations = events["duration_s"].to_numpy(dtype=np.float64)
    regions = [set(str(r).split(";")) for r in events["regions"]]
    n_brief = int((durations < BRIEF_SPASM_MAX_S).sum())
    n_sustained = int((durations >= BRIEF_SPASM_MAX_S).sum())
    closures = np.array([s.eye_closure for s in strengths], dtype=np.float64)
    usable = frames["usable"].to_numpy(dtype=bool)
    blinks = count_blinks(frames["t_s"].to_numpy(), frames["eyelid_aperture_left"].to_numpy(),
                          frames["eyelid_aperture_right"].to_numpy(), usable)
    return ClinicalMeasures(
        duration_s=duration_s,
        affected_side=str(summary.get("affected_side", "none")),
        n_events=len(events),
        n_brief=n_brief,
        n_sustained=n_sustained,
        brief_per_min=rate(n_brief),
        sustained_per_min=rate(n_sustained),
        tonic_per_min=rate(int((events["kind"] == "tonic").sum())),
        spreading_sustained_per_min=rate(sum(d >= BRIEF_SPASM_MAX_S and bool(rs & {"cheek", "mouth"})
                                             for d, rs in zip(durations, regions))),
        spasm_fraction=float(summary.get("spasm_percent", 0.0)) / 100,
        eye_narrowed={side: eye_narrowed_fraction(frames, side) for side in SIDES},
        mean_event_s=float(durations.mean()) if len(durations) else 0.0,
        longest_event_s=float(durations.max()) if len(durations) else 0.0,
        events_by_region={r: sum(r in rs for rs in regions) for r in REGIONS},
        spread_beyond_eye=sum("eye" in rs and bool(rs & {"cheek", "mouth"}) for rs in regions),
        spread_to_cheek_or_mouth=sum(bool(rs & {"cheek", "mouth"}) for rs in regions),
        brow_lift_events=int(summary.get("brow_lift_events", 0)),
        blinks=blinks,
        peak_eye_closure=float(np.nanmax(closures)) if np.isfinite(closures).any() else float("nan"),
        median_eye_closure=float(np.nanmedian(closures)) if np.isfinite(closures).any() else float("nan"),
    )


def brow_lift_per_event(events: pd.DataFrame, detection: Detection, frame_step_s: float) -> list[bool | None]:
    """Whether each events.csv row showed the brow-lift sign (None if the row cannot be matched).

    events.csv does not store it per event: the re-run detection's events are matched by side and onset.
    """
    found = []
    for row in events.itertuples():
        match = [e for e in detection.events if e.side == row.side and abs(e.start_s - row.start_s) < frame_step_s]
        found.append(bool(match[0].brow_lift) if match else None)
    return found


def quiet_frames(frames: pd.DataFrame, movements: Movements, events: pd.DataFrame, blinks: BlinkCount, *,
                 margin_s: float = 0.5, search_s: float = 20.0) -> list[int]:
    """For each event, a nearby frame where the face is at rest: the comparison picture beside its peak.

    Candidates are usable frames at least `margin_s` from every event and blink; among them the one with
    the least asymmetry (relative to each region's threshold) and eye closure, preferring frames within
    `search_s` of the event's peak. Returns frame numbers (row order of events.csv); -1 when none qualify.
    """
    t_s = frames["t_s"].to_numpy(dtype=np.float64)
    ok = frames["usable"].to_numpy(dtype=bool).copy()
    for start, end in [(r.start_s, r.end_s) for r in events.itertuples()] + [(b.start_s, b.end_s)
                                                                              for b in blinks.blinks]:
        ok &= ~((t_s > start - margin_s) & (t_s < end + margin_s))
    score = np.zeros(len(t_s))
    for region in REGIONS:
        ratio = np.abs(frames[f"{region}_asymmetry"].to_numpy(dtype=np.float64)) / frames[
            f"{region}_threshold"].to_numpy(dtype=np.float64)
        score += np.nan_to_num(ratio, nan=np.inf)
    for side in SIDES:
        score += 5 * np.abs(np.nan_to_num(movements.by_region["eye", side], nan=np.inf))
    score = np.where(ok, score, np.inf)
    numbers = frames["frame"].to_numpy()
    chosen = []
    for row in events.itertuples():
        distance = np.abs(t_s - row.peak_s)
        cost = score + np.where(distance <= search_s, 0.02 * distance, 10 + distance)
        i = int(np.argmin(cost)) if len(cost) else 0
        chosen.append(int(numbers[i]) if len(cost) and np.isfinite(cost[i]) else -1)
    return chosen
