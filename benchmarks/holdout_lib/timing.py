"""Spasm time courses and the per-clip plan of events (pure numpy, no I/O).

Time courses, after clinical descriptions of hemifacial spasm (docs/method.md, "How hemifacial spasm presents"):
- clonic: a train of 1-5 jerks, each 80-250 ms (40 % rise, 60 % fall, raised-cosine), 40-250 ms apart;
- tonic: a 0.6-3 s contraction, 100-250 ms raised-cosine ramps, a plateau with a small slow waver.
The envelope peaks at exactly 1; warps scale it by the event's amplitude. The truth interval is where the
envelope is above `TRUTH_LEVEL` of its peak (a clonic train is one event).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TRUTH_LEVEL = 0.2
LEAD_IN_S = 2.0
SLOT_S = 3.5
TAIL_S = 0.3
_GRID_S = 0.001


def _bump(x: np.ndarray, rise: float = 0.4) -> np.ndarray:
    """A jerk on x in [0, 1]: raised-cosine rise over `rise`, fall over the rest, 0 outside."""
    y = np.zeros_like(x)
    up = (x >= 0) & (x < rise)
    down = (x >= rise) & (x <= 1)
    y[up] = 0.5 * (1 - np.cos(np.pi * x[up] / rise))
    y[down] = 0.5 * (1 + np.cos(np.pi * (x[down] - rise) / (1 - rise)))
    return y


@dataclass(frozen=True)
class Spasm:
    """One injected event: its time course, side, regions and magnitudes.

    `jerks`: clonic only, (start_s, duration_s, relative peak) per jerk. Tonic: `onset_s`, `duration_s`,
    `ramps_s` (on, off) and `waver` (amplitude, frequency Hz, phase) terms. `amplitude`: eyelid closure as a
    fraction of the lid gap (unit "aperture"), or displacement over the inter-ocular distance (unit "iod")
    for cheek/mouth-only events. `extras`: secondary magnitudes and notes (lower_rise, cheek, mouth, blink_wanted).
    """

    kind: str
    side: str
    regions: tuple[str, ...]
    amplitude: float
    amplitude_unit: str
    onset_s: float
    duration_s: float
    jerks: tuple[tuple[float, float, float], ...] = ()
    ramps_s: tuple[float, float] = (0.0, 0.0)
    waver: tuple[tuple[float, float, float], ...] = ()
    extras: dict = field(default_factory=dict)

    def envelope(self, t: np.ndarray) -> np.ndarray:
        """Activation in [0, 1] at times `t` (seconds, any shape), peaking at exactly 1; 0 outside the event."""
        t = np.asarray(t, dtype=np.float64)
        if self.kind == "clonic":
            return self._raw(t)
        grid = np.arange(self.onset_s, self.end_s + _GRID_S, _GRID_S)
        return self._raw(t) / float(self._raw(grid).max())

    def _raw(self, t: np.ndarray) -> np.ndarray:
        if self.kind == "clonic":
            y = np.zeros_like(t)
            for start, dur, peak in self.jerks:
                y = np.maximum(y, peak * _bump((t - start) / dur))
            return y
        on, off = self.ramps_s
        end = self.onset_s + self.duration_s
        rise = 0.5 * (1 - np.cos(np.pi * np.clip((t - self.onset_s) / on, 0, 1)))
        fall = 0.5 * (1 - np.cos(np.pi * np.clip((end - t) / off, 0, 1)))
        wave = 1.0 + sum(a * np.sin(2 * np.pi * f * (t - self.onset_s) + p) for a, f, p in self.waver)
        return np.where((t >= self.onset_s) & (t <= end), rise * fall * wave, 0.0)

    @property
    def end_s(self) -> float:
        return self.onset_s + self.duration_s

    def truth_interval(self) -> tuple[float, float]:
        """(start_s, end_s) where the envelope is above TRUTH_LEVEL of its peak."""
        t = np.arange(self.onset_s, self.end_s + _GRID_S, _GRID_S)
        y = self.envelope(t)
        above = np.flatnonzero(y >= TRUTH_LEVEL * y.max())
        return float(t[above[0]]), float(t[above[-1]])

    def peak_s(self) -> float:
        t = np.arange(self.onset_s, self.end_s + _GRID_S, _GRID_S)
        return float(t[int(np.argmax(self.envelope(t)))])


def clonic(rng: np.random.Generator, onset_s: float, room_s: float) -> tuple[tuple[float, float, float], ...]:
    """Jerks of a clonic train starting at `onset_s` that fits in `room_s` seconds (at least one jerk)."""
    n = int(rng.integers(1, 6))
    jerks, t = [], onset_s
    for _ in range(n):
        dur = float(rng.uniform(0.08, 0.25))
        if jerks and t + dur > onset_s + room_s:
            break
        jerks.append((t, dur, float(rng.uniform(0.7, 1.0))))
        t += dur + float(rng.uniform(0.04, 0.25))
    strongest = int(np.argmax([j[2] for j in jerks]))
    jerks[strongest] = (jerks[strongest][0], jerks[strongest][1], 1.0)
    return tuple(jerks)


def _overlaps(a0: float, a1: float, intervals: list[tuple[float, float]]) -> bool:
    return any(a0 < b1 and b0 < a1 for b0, b1 in intervals)


def plan_times(
    rng: np.random.Generator, *, duration_s: float, blinks: list[tuple[float, float]], usable: np.ndarray,
    times: np.ndarray,
) -> list[dict]:
    """Where each event goes: one per SLOT_S after LEAD_IN_S, inside the clip, on frames with a face.

    `blinks`: the source's own bilateral blinks, (start_s, end_s). `usable`: (n_frames,) bool, a face was
    found; `times`: (n_frames,) seconds. Returns dicts with kind, onset_s, duration_s, jerks/ramps and
    `blink_wanted` (tonic only: True = placed over a blink if the slot has one, False = kept blink-free).
    """
    plans = []
    slot = LEAD_IN_S
    while slot + 0.35 < duration_s - TAIL_S:
        lo, hi = slot, min(slot + SLOT_S - 0.4, duration_s - TAIL_S)
        slot += SLOT_S
        room = hi - lo
        kind = "tonic" if rng.random() < 0.45 and room >= 0.7 else "clonic"
        for _ in range(40):
            if kind == "tonic":
                dur = float(min(rng.uniform(0.6, 3.0), room))
                ramps = (float(rng.uniform(0.1, 0.25)), float(rng.uniform(0.1, 0.25)))
                want_blink = bool(rng.random() < 0.5)
                starts = rng.uniform(lo, hi - dur, 60) if hi - dur > lo else np.array([lo])
                inside = [s for s in starts if _overlaps(s + ramps[0], s + dur - ramps[1], blinks)]
                clear = [s for s in starts if not _overlaps(s - 0.15, s + dur + 0.15, blinks)]
                pool = (inside or list(starts)) if want_blink else (clear or list(starts))
                onset = float(pool[0])
                waver = ((float(rng.uniform(0.02, 0.05)), float(rng.uniform(0.8, 2.5)), float(rng.uniform(0, 6.3))),
                         (float(rng.uniform(0.01, 0.03)), float(rng.uniform(4.0, 8.0)), float(rng.uniform(0, 6.3))))
                plan = dict(kind=kind, onset_s=onset, duration_s=dur, ramps_s=ramps, waver=waver,
                            blink_wanted=want_blink)
            else:
                onset = float(rng.uniform(lo, max(hi - 0.3, lo)))
                jerks = clonic(rng, onset, hi - onset)
                end = jerks[-1][0] + jerks[-1][1]
                plan = dict(kind=kind, onset_s=onset, duration_s=end - onset, jerks=jerks, blink_wanted=None)
            frames = (times >= plan["onset_s"]) & (times <= plan["onset_s"] + plan["duration_s"])
            if frames.any() and usable[frames].all():
                plans.append(plan)
                break
    return plans


def blink_intervals(times: np.ndarray, gaps: np.ndarray) -> list[tuple[float, float]]:
    """The source's bilateral blinks: runs of frames where BOTH eyes' lid gap is under 65 % of its median.

    `gaps`: (n_frames, 2) per-eye lid gap over inter-ocular distance (NaN without a face).
    """
    med = np.nanmedian(gaps, axis=0)
    closed = np.all(gaps < 0.65 * med, axis=1)
    out, start = [], None
    for i, c in enumerate(closed):
        if c and start is None:
            start = i
        if not c and start is not None:
            out.append((float(times[start]), float(times[i - 1])))
            start = None
    if start is not None:
        out.append((float(times[start]), float(times[-1])))
    return out
