"""The event table: every candidate spasm of one recording, the one form events take between the detector and
every output (events.csv, summary.json, the report, the annotated video, the diary, the live window, the page).

Like MNE's `Annotations`, it holds parallel arrays, checked together when it is made, one entry per event in
order of onset. `to_frame()` gives the events.csv table and `from_frame()` reads it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from twitchcam.core.detect import REGIONS, Event

SIDES = ("left", "right")
KINDS = ("clonic", "tonic")
EVENT_COLUMNS = (
    "event_id", "start_s", "end_s", "duration_s", "side", "regions", "kind", "peak_s", "peak_asymmetry", "confidence",
    "start_frame", "end_frame", "brow_lift",
)
"""events.csv's columns, in order (the first ten are those of twitchcam 0.1's files)."""
REGION_SEPARATOR = ";"


@dataclass(frozen=True, eq=False)
class EventTable:
    """Candidate spasms as parallel arrays (length n, in order of onset). Sides are the subject's anatomical.

    `onset_s`, `duration_s`: seconds from the start of the video. `start_frame`, `end_frame`: the event's first
    and last frame (row numbers of frames.csv). `regions[i]`: the regions that moved, eye first when it did.
    `kind`: 'clonic' or 'tonic'. `peak_s`, `peak_asymmetry`: when the one-sided contraction was largest and how
    far it went beyond the other side (fraction of the inter-ocular distance). `confidence`: 0–1.
    `brow_lift`: the brow on the event's side rose while its eye closed (the 'other Babinski sign').
    """

    onset_s: np.ndarray
    duration_s: np.ndarray
    start_frame: np.ndarray
    end_frame: np.ndarray
    side: np.ndarray
    regions: tuple[tuple[str, ...], ...]
    kind: np.ndarray
    peak_s: np.ndarray
    peak_asymmetry: np.ndarray
    confidence: np.ndarray
    brow_lift: np.ndarray

    def __post_init__(self) -> None:
        kinds = {"onset_s": float, "duration_s": float, "start_frame": np.int64, "end_frame": np.int64,
                 "side": object, "kind": object, "peak_s": float, "peak_asymmetry": float, "confidence": float,
                 "brow_lift": bool}
        for name, dtype in kinds.items():
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=dtype).reshape(-1))
        object.__setattr__(self, "regions", tuple(tuple(r) for r in self.regions))
        n = len(self.onset_s)
        wrong = [f.name for f in fields(self) if len(getattr(self, f.name)) != n]
        if wrong:
            raise ValueError(f"event table columns of unequal length: {', '.join(wrong)} (expected {n})")
        if not set(self.side) <= set(SIDES):
            raise ValueError(f"event side must be one of {SIDES}, not {sorted(set(self.side) - set(SIDES))}")
        if not set(self.kind) <= set(KINDS):
            raise ValueError(f"event kind must be one of {KINDS}, not {sorted(set(self.kind) - set(KINDS))}")
        unknown = {r for regions in self.regions for r in regions} - set(REGIONS)
        if unknown or any(not regions for regions in self.regions):
            raise ValueError(f"every event needs regions among {REGIONS} (found {sorted(unknown) or 'none'})")
        if (self.duration_s < 0).any() or (self.end_frame < self.start_frame).any():
            raise ValueError("an event ends before it starts")
        if (np.diff(self.onset_s) < 0).any():
            raise ValueError("events must be in order of onset")

    # Construction ------------------------------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> EventTable:
        return cls.from_events(())

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> EventTable:
        """From the detector's records (sorted by onset; ties keep their order)."""
        ordered = sorted(events, key=lambda e: e.start_s)
        def column(values) -> np.ndarray:
            return np.asarray(list(values))

        return cls(  # times to 0.1 ms, as events.csv keeps them: a table read back equals the one written
            onset_s=column(round(e.start_s, 4) for e in ordered),
            duration_s=column(round(e.end_s, 4) - round(e.start_s, 4) for e in ordered),
            start_frame=column(e.start_frame for e in ordered), end_frame=column(e.end_frame for e in ordered),
            side=column(e.side for e in ordered), regions=tuple(e.regions for e in ordered),
            kind=column(e.kind for e in ordered), peak_s=column(round(e.peak_s, 4) for e in ordered),
            peak_asymmetry=column(round(e.peak_asymmetry, 4) for e in ordered),
            confidence=column(e.confidence for e in ordered), brow_lift=column(e.brow_lift for e in ordered),
        )

    @classmethod
    def from_frame(cls, table: pd.DataFrame) -> EventTable:
        """From an events.csv table. Files of twitchcam 0.1 lack the frame numbers (read as -1) and `brow_lift`."""
        missing = [c for c in EVENT_COLUMNS[:10] if c not in table.columns and c != "event_id"]
        if missing:
            raise ValueError(f"events table lacks the columns {', '.join(missing)}")
        n = len(table)

        def column(name: str, fallback) -> np.ndarray:
            return table[name].to_numpy() if name in table.columns else np.full(n, fallback)

        brow_lift = column("brow_lift", False)
        if brow_lift.dtype != bool:  # read from CSV as text when empty or mixed
            brow_lift = pd.Series(brow_lift).astype(str).str.lower().eq("true").to_numpy()
        return cls(
            onset_s=table["start_s"].to_numpy(float), duration_s=(table["end_s"] - table["start_s"]).to_numpy(float),
            start_frame=column("start_frame", -1), end_frame=column("end_frame", -1),
            side=table["side"].to_numpy(object),
            regions=tuple(tuple(str(r).split(REGION_SEPARATOR)) for r in table["regions"]),
            kind=table["kind"].to_numpy(object), peak_s=table["peak_s"].to_numpy(float),
            peak_asymmetry=table["peak_asymmetry"].to_numpy(float), confidence=table["confidence"].to_numpy(float),
            brow_lift=brow_lift,
        )

    # Reading ---------------------------------------------------------------------------------------------------

    @property
    def end_s(self) -> np.ndarray:
        return self.onset_s + self.duration_s

    def __len__(self) -> int:
        return len(self.onset_s)

    def __iter__(self) -> Iterator[Event]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, i: int) -> Event:
        return Event(start_s=float(self.onset_s[i]), end_s=float(self.end_s[i]), side=str(self.side[i]),
                     regions=self.regions[i], kind=str(self.kind[i]), peak_s=float(self.peak_s[i]),
                     peak_asymmetry=float(self.peak_asymmetry[i]), confidence=float(self.confidence[i]),
                     brow_lift=bool(self.brow_lift[i]), start_frame=int(self.start_frame[i]),
                     end_frame=int(self.end_frame[i]))

    def involves(self, region: str) -> np.ndarray:
        """(n,) whether each event moved `region`."""
        return np.array([region in regions for regions in self.regions], dtype=bool)

    def spreads_beyond_eye(self) -> np.ndarray:
        """(n,) eye events that also moved the cheek or the mouth (the brow moves with the eye muscle itself)."""
        return np.array([("eye" in r) and bool(set(r) & {"cheek", "mouth"}) for r in self.regions], dtype=bool)

    def to_frame(self) -> pd.DataFrame:
        """The events.csv table: rounded values, regions joined by ';', event ids from 1."""
        n = len(self)
        table = pd.DataFrame({
            "event_id": np.arange(1, n + 1, dtype=np.int64),
            "start_s": self.onset_s.round(4), "end_s": self.end_s.round(4), "duration_s": self.duration_s.round(4),
            "side": self.side, "kind": self.kind,
            "regions": np.array([REGION_SEPARATOR.join(r) for r in self.regions], dtype=object),
            "peak_s": self.peak_s.round(4), "peak_asymmetry": self.peak_asymmetry.round(4),
            "confidence": self.confidence, "start_frame": self.start_frame, "end_frame": self.end_frame,
            "brow_lift": self.brow_lift,
        }, columns=list(EVENT_COLUMNS))
        return table


def event_record(event_id: int, event: Event) -> dict:
    """One row of events.csv as plain JSON values (`live --headless` prints exactly these)."""
    row = EventTable.from_events([event]).to_frame().iloc[0].to_dict()
    return {key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()} | {
        "event_id": event_id}


def events_table(events: Iterable[Event]) -> pd.DataFrame:
    """The events.csv table of the detector's records."""
    return EventTable.from_events(events).to_frame()
