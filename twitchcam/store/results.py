"""The tables and summary of one analysis, and writing them to a folder without leaving partial files."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twitchcam.core.clinical import BRIEF_SPASM_MAX_S
from twitchcam.core.detect import REGIONS, Event
from twitchcam.core.errors import OutputError

EVENT_COLUMNS = (
    "event_id", "start_s", "end_s", "duration_s", "side", "regions", "kind", "peak_s", "peak_asymmetry", "confidence",
)
EVENTS_FILE, FRAMES_FILE, SUMMARY_FILE = "events.csv", "frames.csv", "summary.json"



def event_record(event_id: int, e: Event) -> dict:
    """One row of `events.csv` as plain JSON values (`live --headless` prints exactly these)."""
    values = (event_id, round(e.start_s, 4), round(e.end_s, 4), round(e.duration_s, 4), e.side, ";".join(e.regions),
              e.kind, round(e.peak_s, 4), round(e.peak_asymmetry, 4), e.confidence)
    return dict(zip(EVENT_COLUMNS, values))


def events_table(events: Sequence[Event]) -> pd.DataFrame:
    """Events as the `events.csv` table (an empty table with the same columns when there are none)."""
    rows = [event_record(i + 1, e) for i, e in enumerate(events)]
    table = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    return table.astype({"event_id": "int64", "start_s": "float64", "end_s": "float64", "duration_s": "float64",
                         "peak_s": "float64", "peak_asymmetry": "float64", "confidence": "float64"})


def affected_side(events: Sequence[Event], dominance: float = 0.8) -> str:
    """'left' or 'right' when that side has at least `dominance` of the events, 'both' otherwise, 'none'."""
    if not events:
        return "none"
    left = sum(e.side == "left" for e in events) / len(events)
    if left >= dominance:
        return "left"
    if 1 - left >= dominance:
        return "right"
    return "both"


def spasm_time_s(events: Sequence[Event]) -> float:
    """Total time covered by events (overlaps of the two sides counted once)."""
    total, end = 0.0, -np.inf
    for e in sorted(events, key=lambda e: e.start_s):
        start = max(e.start_s, end)
        if e.end_s > start:
            total += e.end_s - start
        end = max(end, e.end_s)
    return total


def summarize(events: Sequence[Event], duration_s: float) -> dict:
    """The event statistics of summary.json (everything except the recording and method details)."""
    minutes = duration_s / 60 if duration_s > 0 else float("nan")
    spasm_s = spasm_time_s(events)
    return {
        "n_events": len(events),
        "events_per_min": round(len(events) / minutes, 3) if minutes == minutes else 0.0,
        "affected_side": affected_side(events),
        "events_by_side": {side: sum(e.side == side for e in events) for side in ("left", "right")},
        "events_by_region": {r: sum(r in e.regions for e in events) for r in REGIONS},
        "events_by_kind": {k: sum(e.kind == k for e in events) for k in ("clonic", "tonic")},
        "brief_events": sum(e.duration_s < BRIEF_SPASM_MAX_S for e in events),
        "sustained_events": sum(e.duration_s >= BRIEF_SPASM_MAX_S for e in events),
        "spread_beyond_eye_events": sum("eye" in e.regions and len(set(e.regions) - {"eye", "brow"}) > 0
                                        for e in events),
        "spasm_time_s": round(spasm_s, 3),
        "spasm_percent": round(100 * spasm_s / duration_s, 2) if duration_s > 0 else 0.0,
        "brow_lift_events": sum(e.brow_lift for e in events),
        "brow_lift_by_side": {side: sum(e.brow_lift and e.side == side for e in events) for side in ("left", "right")},
        "mean_event_s": round(float(np.mean([e.duration_s for e in events])), 3) if events else 0.0,
        "longest_event_s": round(max((e.duration_s for e in events), default=0.0), 3),
    }


@dataclass
class Analysis:
    """Everything `twitchcam analyze` produces; the files hold exactly these tables."""

    events: pd.DataFrame
    frames: pd.DataFrame
    summary: dict
    event_list: list[Event]

    def write(self, out_dir: str | os.PathLike) -> Path:
        """Write events.csv, frames.csv and summary.json into `out_dir`, all or nothing."""
        return write_outputs(out_dir, {
            EVENTS_FILE: lambda p: self.events.to_csv(p, index=False),
            FRAMES_FILE: lambda p: self.frames.to_csv(p, index=False),
            SUMMARY_FILE: lambda p: p.write_text(json.dumps(self.summary, indent=2, allow_nan=False) + "\n"),
        })


def replace_file(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, then rename it over `path` (never a partial file)."""
    path = Path(path)
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.partial-", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes it private; results are not
            os.replace(temp, path)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from err
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_outputs(out_dir: str | os.PathLike, writers: dict) -> Path:
    """Run each writer on a temporary path beside `out_dir`, then move the finished files into place.

    A failure (full disk, no permission) leaves neither partial files nor a new empty folder behind.
    """
    out = Path(out_dir)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the results folder should not be
    except OSError as err:
        raise OutputError(f"cannot write results to {out}: {err.strerror or err}") from err
    try:
        for name, write in writers.items():
            write(staging / name)
        if not out.exists():
            os.replace(staging, out)
            return out
        if not out.is_dir():
            raise OutputError(f"output path exists and is not a folder: {out}")
        for name in writers:
            os.replace(staging / name, out / name)
        return out
    except OSError as err:
        raise OutputError(f"cannot write results to {out}: {err.strerror or err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
