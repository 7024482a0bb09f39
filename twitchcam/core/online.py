"""The `analyze` detector run online, over the recent frames of a growing `FrameTable` (for `twitchcam live`).

The detector's windows look back only, so re-running it over the last `TAIL_S` seconds makes the same
decisions as the whole-recording analysis for everything past the windows' reach from the tail's start.
An event is *final* once no later frame can change it: the frames after it have settled (an occlusion
reaches back `occlusion_margin_s`), no run of the same side that could still merge with it (within
`merge_gap_s`) is open, and the opening stretch the baselines prime on is complete. Final events are
released in the order `analyze` numbers them (by start, then side), so their ids match events.csv.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from twitchcam.core.clinical import region_movements
from twitchcam.core.detect import SIDE_SIGN, TRIGGER_REGIONS, Detection, Event, detect_events
from twitchcam.core.parameters import DetectionParameters
from twitchcam.core.quality import usability
from twitchcam.core.timebase import frame_step

ONSET_SLACK_S = 1.0
"""How far an event's onset may be traced back before the run that starts it (see detect._make_event)."""


@dataclass(frozen=True)
class LiveState:
    """What the detector knows after the latest frame."""

    final: list[Event]
    """Events that became final since the previous update, in events.csv order."""
    provisional: list[Event]
    """Events seen in the recent frames that may still grow or merge (shown at once, counted when final)."""
    movement: dict[tuple[str, str], float]
    """(region, side) -> that side's movement at the latest usable frame, as in `clinical.Movements`."""
    turned: bool
    occluded: bool


class GrowingTable(Protocol):
    """A table of measured frames that grows as frames arrive (`media.frame_table.FrameTable`)."""

    def to_frame(self, start: int = 0) -> pd.DataFrame: ...


class OnlineDetector:
    """Runs `detect_events` over the tail of `table` and releases each event once, when it is final."""

    def __init__(self, table: GrowingTable, params: DetectionParameters | None = None):
        self.table = table
        self.params = p = params or DetectionParameters()
        # Detections are exact from `exact_after_s` after the tail's first frame: the baseline window, then
        # the pose fit over baselined values, then the noise window over what the pose does not explain.
        self.exact_after_s = p.baseline_window_s + p.pose_window_s + p.noise_window_s + 1.0
        self.tail_s = self.exact_after_s + p.priming_s + p.max_duration_s + p.merge_gap_s + 10.0
        self._tail_start = 0
        self._first_t: float | None = None
        self._released: set[tuple[str, int]] = set()  # (side, first frame) of events handed out
        self._waiting: dict[tuple[str, int], Event] = {}  # final, waiting for earlier events to be final too
        self.events: list[Event] = []
        """Every event released so far, in order."""

    def update(self) -> LiveState:
        """Re-run the detector over the recent frames; hand out the events that became final."""
        return self._run(finished=False)

    def finish(self) -> list[Event]:
        """At the end of the recording every remaining event is final; returns those not yet handed out."""
        return self._run(finished=True).final

    def _run(self, finished: bool) -> LiveState:
        p = self.params
        frames = self._tail()
        n = len(frames)
        if n == 0 or not frames["face"].any():  # nothing to measure lately (the patient stepped away)
            return LiveState(self._release(everything=finished, before=-np.inf), [], {}, False, False)
        t_s = frames["t_s"].to_numpy()
        turned, occluded, usable = usability(frames, p)
        detection = detect_events(t_s, frames, usable.to_numpy(), p)
        offset = int(frames.index[0])
        exact_from = t_s[0] + self.exact_after_s if offset > 0 else -np.inf

        step = frame_step(t_s)
        settling = n if finished else max(0, n - 1 - int(round(p.occlusion_margin_s / step)))  # first unsettled
        margin = int(round(p.bilateral_margin_s / step))
        open_since = {side: np.inf for side in SIDE_SIGN} if finished else _open_runs(detection, p, settling, margin,
                                                                                          t_s)
        if self._first_t is None:
            self._first_t = float(t_s[0])
        primed = finished or t_s[-1] > self._first_t + p.priming_s
        horizon = t_s[settling] if settling < n else np.inf  # runs may still start from here on

        final: list[tuple[tuple[str, int], Event]] = []
        provisional: list[tuple[tuple[str, int], Event]] = []
        for event in detection.events:
            if event.start_s < exact_from:
                continue
            key = (event.side, event.start_frame + offset)
            if key in self._released or key in self._waiting:
                continue
            last_t = t_s[event.end_frame]
            settled = primed and min(horizon, open_since[event.side]) - last_t > p.merge_gap_s
            global_event = dataclasses.replace(event, start_frame=event.start_frame + offset,
                                               end_frame=event.end_frame + offset)
            (final if settled else provisional).append((key, global_event))
        self._waiting.update(final)
        # Release in (start, side) order: nothing still pending may start before a released event.
        pending_start = min([e.start_s for _, e in provisional] + [min(horizon, *open_since.values()) - ONSET_SLACK_S])
        released = self._release(everything=finished, before=pending_start)
        self._trim(t_s)

        last = n - 1
        movement = {}
        if usable.iloc[last]:
            frames["usable"] = usable
            moved = region_movements(frames.iloc[[last]],
                                     {k: v[[last]] for k, v in detection.contraction.items()})
            movement = {key: float(values[0]) for key, values in moved.by_region.items()}
        return LiveState(final=released, provisional=[e for _, e in provisional], movement=movement,
                         turned=bool(turned.iloc[last]), occluded=bool(occluded.iloc[last]))

    def _release(self, *, everything: bool, before: float) -> list[Event]:
        """Hand out the waiting final events that start before `before` (all with `everything`), in order."""
        released = sorted((e for e in self._waiting.values() if everything or e.start_s < before),
                          key=lambda e: (e.start_s, e.side))
        for event in released:
            key = (event.side, event.start_frame)
            del self._waiting[key]
            self._released.add(key)
        self.events.extend(released)
        return released

    def _tail(self) -> pd.DataFrame:
        return self.table.to_frame(self._tail_start)

    def _trim(self, t_s: np.ndarray) -> None:
        """Move the tail's start so it spans `tail_s` seconds (in whole steps, so the table is not sliced
        at every frame)."""
        if t_s[-1] - t_s[0] > self.tail_s + 5.0:
            self._tail_start += int(np.searchsorted(t_s, t_s[-1] - self.tail_s))


def _open_runs(detection: Detection, p: DetectionParameters, settling: int, margin: int,
               t_s: np.ndarray) -> dict[str, float]:
    """Per side, the start time of the earliest run (at the release level, any trigger region) that frames
    not yet settled can still change; inf when there is none."""
    starts = {}
    for side in SIDE_SIGN:
        earliest = np.inf
        for region in TRIGGER_REGIONS:
            own = np.nan_to_num(detection.side_evidence[region, side], nan=-np.inf)
            weak = own >= p.release_fraction
            reach = max(settling - margin - 1, 0)  # runs ending here or later have unsettled frames in reach
            if not weak[reach:].any():
                continue
            first = reach + int(np.argmax(weak[reach:]))
            while first > 0 and weak[first - 1]:
                first -= 1
            earliest = min(earliest, float(t_s[first]))
        starts[side] = earliest
    return starts
