"""The tables and summary of one analysis, and writing them to a folder without leaving partial files."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from twitchcam.core.clinical import contraction_column
from twitchcam.core.detect import Event
from twitchcam.core.errors import OutputError, UsageError
from twitchcam.core.events import EventTable

EVENTS_FILE, FRAMES_FILE, SUMMARY_FILE = "events.csv", "frames.csv", "summary.json"
BOOLEAN_FRAME_COLUMNS = ("face", "head_turned", "occluded", "usable")


@dataclass
class Analysis:
    """Everything `twitchcam analyze` produces; the files hold exactly these tables.

    `event_table`: the events (see `twitchcam.core.events.EventTable`); `events` is the same as the events.csv
    table. `frames`: frames.csv, one row per decoded frame (measures, usability, each side's contraction per
    region, the detector's asymmetries, thresholds and evidence). `summary`: summary.json.
    """

    event_table: EventTable
    frames: pd.DataFrame
    summary: dict

    @property
    def events(self) -> pd.DataFrame:
        return self.event_table.to_frame()

    @property
    def event_list(self) -> list[Event]:
        """The events as the detector's records, in order of onset."""
        return list(self.event_table)

    @property
    def duration_s(self) -> float:
        return float(self.summary.get("duration_s") or 0.0)

    def write(self, out_dir: str | os.PathLike) -> Path:
        """Write events.csv, frames.csv and summary.json into `out_dir`, all or nothing."""
        return write_outputs(out_dir, {
            EVENTS_FILE: lambda p: self.events.to_csv(p, index=False),
            FRAMES_FILE: lambda p: self.frames.to_csv(p, index=False),
            SUMMARY_FILE: lambda p: p.write_text(json.dumps(self.summary, indent=2, allow_nan=False) + "\n"),
        })

    @classmethod
    def read(cls, folder: str | os.PathLike) -> Analysis:
        """Load a results folder. Raises `UsageError` when it is not one, or was written by an older twitchcam
        whose frames.csv lacks each side's contraction."""
        folder = Path(folder)
        if not folder.is_dir():
            raise UsageError(f"not a results folder: {folder}")
        missing = [name for name in (EVENTS_FILE, FRAMES_FILE, SUMMARY_FILE) if not (folder / name).is_file()]
        if missing:
            raise UsageError(f"{folder} has no {', '.join(missing)}: run `twitchcam analyze` first")
        try:
            events = pd.read_csv(folder / EVENTS_FILE)
            frames = pd.read_csv(folder / FRAMES_FILE)
            summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
            table = EventTable.from_frame(events)
        except (OSError, ValueError, KeyError, pd.errors.ParserError) as err:
            raise UsageError(f"cannot read the results in {folder}: {err}") from err
        if contraction_column("eye", "left") not in frames:
            raise UsageError(f"{folder} was written by an older twitchcam (frames.csv has no per-side contraction): "
                             "run `twitchcam analyze` on the video again")
        return cls(event_table=table, frames=parse_frames(frames), summary=summary)


def parse_frames(frames: pd.DataFrame) -> pd.DataFrame:
    """frames.csv as read back from text: its true/false columns as booleans."""
    for column in BOOLEAN_FRAME_COLUMNS:
        if column in frames and frames[column].dtype != bool:
            frames[column] = frames[column].astype(str).str.lower().eq("true")
    return frames


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
