"""The numbers a clinician reads, computed from one analysis: its event table, its frames and summary.json.

`event_statistics` is the one source of the event counts and rates, for summary.json and the report alike.
Each side's movement comes from frames.csv's `<region>_contraction_<side>` columns, written by the analysis,
so nothing here runs the detector again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twitchcam.core.blinks import BlinkCount, count_blinks
from twitchcam.core.detect import REGIONS, SIDE_SIGN, Detection, other_side
from twitchcam.core.events import SIDES, EventTable
from twitchcam.core.parameters import DetectionParameters


def parameters_from_summary(summary: dict) -> DetectionParameters:
    """The detection parameters recorded in summary.json.

    Folders written by other versions stay readable: unknown keys are ignored (with a logged warning), and
    missing keys (also inside per-region tables) take today's defaults (`DetectionParameters.from_dict`).
    """
    return DetectionParameters.from_dict(summary.get("parameters") or {})


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


def contraction_column(region: str, side: str) -> str:
    """frames.csv's column of one side's contraction in one region (the detector's per-side series)."""
    return f"{region}_contraction_{side}"


def region_movements(frames: pd.DataFrame, contraction: Mapping[tuple[str, str], np.ndarray] | None = None
                     ) -> Movements:
    """Per-side movements (see `Movements`) from frames.csv, or from a detection's `contraction` when given."""
    t_s = frames["t_s"].to_numpy(dtype=np.float64)
    usable = frames["usable"].to_numpy(dtype=bool)
    by_region = {}
    for region in REGIONS:
        for side in SIDES:
            if contraction is not None:
                values = np.asarray(contraction[region, side], dtype=np.float64)
            elif contraction_column(region, side) in frames:
                values = frames[contraction_column(region, side)].to_numpy(dtype=np.float64)
            else:  # a folder written before frames.csv kept each side's contraction
                values = np.full(len(frames), np.nan)
            if region == "eye":
                aperture = frames[f"eyelid_aperture_{side}"].to_numpy(dtype=np.float64)
                resting = aperture + values  # contraction = resting aperture - aperture
                with np.errstate(invalid="ignore", divide="ignore"):
                    values = np.where(resting > 0, values / resting, np.nan)
            by_region[region, side] = np.where(usable, values, np.nan)
    return Movements(t_s=t_s, by_region=by_region)


def contraction_columns(detection: Detection) -> dict[str, np.ndarray]:
    """The frames.csv columns that keep each side's contraction, from the detection that measured them."""
    return {contraction_column(region, side): detection.contraction[region, side]
            for region in REGIONS for side in SIDES}


@dataclass(frozen=True)
class EventStrength:
    """How strongly one event moved its side: peak eye closure on both sides and peak asymmetry."""

    eye_closure: float
    """Largest fraction of the event side's resting eye opening closed during the event (0–1)."""
    other_eye_closure: float
    """The other eye's closure at that same moment (MediaPipe leaks some of one eye's closure to the other)."""
    peak_asymmetry: float
    """From events.csv: the event side's movement beyond the other side at the peak, fraction of IOD."""


def event_strengths(events: EventTable, movements: Movements) -> list[EventStrength]:
    """One `EventStrength` per event."""
    t_s = movements.t_s
    strengths = []
    for event in events:
        span = (t_s >= event.start_s - 1e-6) & (t_s < event.end_s - 1e-6)
        own = movements.by_region["eye", event.side][span]
        other = movements.by_region["eye", other_side(event.side)][span]
        if span.any() and np.isfinite(own).any():
            i = int(np.nanargmax(own))
            closure, other_closure = float(own[i]), float(other[i]) if np.isfinite(other[i]) else float("nan")
        else:
            closure = other_closure = float("nan")
        strengths.append(EventStrength(closure, other_closure, event.peak_asymmetry))
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


def affected_side(events: EventTable, share: float) -> str:
    """'left' or 'right' when that side has at least `share` of the events, 'both' otherwise, 'none'."""
    if not len(events):
        return "none"
    left = float(np.mean(events.side == "left"))
    if left >= share:
        return "left"
    if 1 - left >= share:
        return "right"
    return "both"


def spasm_time_s(events: EventTable) -> float:
    """Total time covered by events (overlaps of the two sides counted once)."""
    total, end = 0.0, -np.inf
    for start, stop in sorted(zip(events.onset_s, events.end_s)):
        start = max(start, end)
        if stop > start:
            total += stop - start
        end = max(end, stop)
    return float(total)


def event_statistics(events: EventTable, duration_s: float, params: DetectionParameters | None = None) -> dict:
    """The event counts, rates and times of summary.json, which the report reads too."""
    params = params or DetectionParameters()
    minutes = duration_s / 60
    durations = events.duration_s
    spasm_s = spasm_time_s(events)
    brief = durations < params.brief_spasm_max_s
    return {
        "n_events": len(events),
        "events_per_min": round(len(events) / minutes, 3) if duration_s > 0 else 0.0,
        "affected_side": affected_side(events, params.affected_side_share),
        "events_by_side": {side: int((events.side == side).sum()) for side in SIDES},
        "events_by_region": {r: int(events.involves(r).sum()) for r in REGIONS},
        "events_by_kind": {k: int((events.kind == k).sum()) for k in ("clonic", "tonic")},
        "brief_events": int(brief.sum()),
        "sustained_events": int((~brief).sum()),
        "spread_beyond_eye_events": int(events.spreads_beyond_eye().sum()),
        "spasm_time_s": round(spasm_s, 3),
        "spasm_percent": round(100 * spasm_s / duration_s, 2) if duration_s > 0 else 0.0,
        "brow_lift_events": int(events.brow_lift.sum()),
        "brow_lift_by_side": {side: int((events.brow_lift & (events.side == side)).sum()) for side in SIDES},
        "mean_event_s": round(float(durations.mean()), 3) if len(events) else 0.0,
        "longest_event_s": round(float(durations.max()), 3) if len(events) else 0.0,
    }


def clinical_measures(events: EventTable, frames: pd.DataFrame, duration_s: float,
                      strengths: list[EventStrength], params: DetectionParameters | None = None) -> ClinicalMeasures:
    """The report's headline numbers from the analysis and the events' strengths."""
    params = params or DetectionParameters()
    stats = event_statistics(events, duration_s, params)

    def rate(count: int) -> float:
        return round(count / (duration_s / 60), 2) if duration_s > 0 else 0.0

    sustained = events.duration_s >= params.brief_spasm_max_s
    cheek_or_mouth = events.involves("cheek") | events.involves("mouth")
    closures = np.array([s.eye_closure for s in strengths], dtype=np.float64)
    usable = frames["usable"].to_numpy(dtype=bool)
    blinks = count_blinks(frames["t_s"].to_numpy(), frames["eyelid_aperture_left"].to_numpy(),
                          frames["eyelid_aperture_right"].to_numpy(), usable, params=params)
    return ClinicalMeasures(
        duration_s=duration_s,
        affected_side=stats["affected_side"],
        n_events=stats["n_events"],
        n_brief=stats["brief_events"],
        n_sustained=stats["sustained_events"],
        brief_per_min=rate(stats["brief_events"]),
        sustained_per_min=rate(stats["sustained_events"]),
        tonic_per_min=rate(stats["events_by_kind"]["tonic"]),
        spreading_sustained_per_min=rate(int((sustained & cheek_or_mouth).sum())),
        spasm_fraction=stats["spasm_percent"] / 100,
        eye_narrowed={side: eye_narrowed_fraction(frames, side) for side in SIDES},
        mean_event_s=float(events.duration_s.mean()) if len(events) else 0.0,
        longest_event_s=float(events.duration_s.max()) if len(events) else 0.0,
        events_by_region=stats["events_by_region"],
        spread_beyond_eye=stats["spread_beyond_eye_events"],
        spread_to_cheek_or_mouth=int(cheek_or_mouth.sum()),
        brow_lift_events=stats["brow_lift_events"],
        blinks=blinks,
        peak_eye_closure=float(np.nanmax(closures)) if np.isfinite(closures).any() else float("nan"),
        median_eye_closure=float(np.nanmedian(closures)) if np.isfinite(closures).any() else float("nan"),
    )


def quiet_frames(frames: pd.DataFrame, movements: Movements, events: EventTable, blinks: BlinkCount, *,
                 margin_s: float = 0.5, search_s: float = 20.0) -> list[int]:
    """For each event, a nearby frame where the face is at rest: the comparison picture beside its peak.

    Candidates are usable frames at least `margin_s` from every event and blink; among them the one with
    the least asymmetry (relative to each region's threshold) and eye closure, preferring frames within
    `search_s` of the event's peak. Returns frame numbers (row order of events.csv); -1 when none qualify.
    """
    t_s = frames["t_s"].to_numpy(dtype=np.float64)
    ok = frames["usable"].to_numpy(dtype=bool).copy()
    for start, end in [*zip(events.onset_s, events.end_s), *((b.start_s, b.end_s) for b in blinks.blinks)]:
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
    for peak_s in events.peak_s:
        distance = np.abs(t_s - peak_s)
        cost = score + np.where(distance <= search_s, 0.02 * distance, 10 + distance)
        i = int(np.argmin(cost)) if len(cost) else 0
        chosen.append(int(numbers[i]) if len(cost) and np.isfinite(cost[i]) else -1)
    return chosen
