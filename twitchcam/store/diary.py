"""The patient's private diary: live sessions and treatments in one SQLite file in the user's data folder.

Sessions keep their analysis whole (events, summary and frames.csv: numbers derived from the face landmarks),
and their markers, never pictures: a video is kept only when the patient asks
(`live --save-video`), as a separate file next to the diary. The folder and file are readable by their owner
only. Each session is stored in one transaction, so an interrupted save leaves no half session.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from twitchcam.core.errors import OutputError, UsageError
from twitchcam.core.events import EVENT_COLUMNS, EventTable
from twitchcam.media.frame_table import MEASURED_COLUMNS
from twitchcam.store.results import Analysis, parse_frames

TREATMENTS = ("botox", "surgery", "medication", "other")
"""botox: botulinum toxin injections; surgery: microvascular decompression; medication: e.g. carbamazepine."""
SCHEMA_VERSION = 2
"""1: events without frame numbers and brow-lift, frames with the measured columns only. 2: the whole analysis."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,          -- ISO 8601 local time with its UTC offset
    duration_s REAL NOT NULL,
    frames INTEGER NOT NULL,
    face_frames INTEGER NOT NULL,
    n_events INTEGER NOT NULL,
    events_per_min REAL NOT NULL,
    spasm_percent REAL NOT NULL,
    affected_side TEXT NOT NULL,
    source TEXT NOT NULL,
    protocol TEXT,
    note TEXT,
    summary_json TEXT NOT NULL,
    video_file TEXT
);
CREATE TABLE IF NOT EXISTS events (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL, start_s REAL, end_s REAL, duration_s REAL, side TEXT, regions TEXT, kind TEXT,
    peak_s REAL, peak_asymmetry REAL, confidence REAL, start_frame INTEGER, end_frame INTEGER, brow_lift INTEGER,
    PRIMARY KEY (session_id, event_id)
);
CREATE TABLE IF NOT EXISTS markers (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t_s REAL NOT NULL,
    label TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS session_frames (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    frames_csv_gz BLOB NOT NULL         -- frames.csv, gzip-compressed (version 1: its measured columns)
);
CREATE TABLE IF NOT EXISTS treatments (
    id INTEGER PRIMARY KEY,
    date TEXT NOT NULL,                 -- YYYY-MM-DD
    kind TEXT NOT NULL,
    side TEXT,
    note TEXT
);
"""
FRAME_COLUMNS = ("frame", "t_s", "face", "faces_found", *MEASURED_COLUMNS)


def default_diary_path() -> Path:
    """$TWITCHCAM_DIARY, or diary.sqlite3 in the user's data folder (e.g. ~/.local/share/twitchcam)."""
    if os.environ.get("TWITCHCAM_DIARY"):
        return Path(os.environ["TWITCHCAM_DIARY"])
    from platformdirs import user_data_path

    return user_data_path("twitchcam", appauthor=False) / "diary.sqlite3"


@dataclass(frozen=True)
class _Recording:
    """The video details a version-1 session's summary kept (what `core.analysis` reads of a `VideoInfo`)."""

    path: Path
    width: int
    height: int
    fps: float
    rotation_deg: int
    duration_s: float = 0.0


@dataclass(frozen=True)
class Treatment:
    """A treatment the patient had: Botox injections, decompression surgery, a medication."""

    day: date
    kind: str
    side: str | None = None
    note: str | None = None


class Diary:
    """One diary file. Use as a context manager."""

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = True):
        self.path = Path(path) if path is not None else default_diary_path()
        if not create and not self.path.exists():
            raise UsageError(f"no diary at {self.path} yet: record a session with `twitchcam live` first")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fresh = not self.path.exists()
            self._db = sqlite3.connect(self.path)
            if fresh:
                self.path.chmod(0o600)
            self._db.execute("PRAGMA foreign_keys = ON")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise UsageError(f"{self.path} was written by a newer twitchcam (diary version {version})")
            with self._db:
                self._db.executescript(_SCHEMA)
                if 0 < version < 2:  # a version-1 diary: its events gain the new columns (empty for old sessions)
                    for column in ("start_frame INTEGER", "end_frame INTEGER", "brow_lift INTEGER"):
                        self._db.execute(f"ALTER TABLE events ADD COLUMN {column}")
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as err:
            raise UsageError(f"cannot open the diary {self.path}: {err}") from err
        except OSError as err:
            raise OutputError(f"cannot create the diary {self.path}: {err.strerror or err}") from err

    def __enter__(self) -> Diary:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def add_session(self, *, started_at: datetime, analysis: Analysis, markers: list[tuple[float, str]],
                    source: str, protocol: str | None = None, note: str | None = None,
                    video_file: str | None = None) -> int:
        """Store one finished session with everything that belongs to it; returns its id."""
        summary, frames, events = analysis.summary, analysis.frames, analysis.events
        frames_csv = frames.to_csv(index=False).encode()
        try:
            with self._db:
                cursor = self._db.execute(
                    "INSERT INTO sessions (started_at, duration_s, frames, face_frames, n_events, events_per_min,"
                    " spasm_percent, affected_side, source, protocol, note, summary_json, video_file)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (started_at.isoformat(timespec="seconds"), summary["duration_s"], summary["frames"],
                     int(frames["face"].sum()), summary["n_events"], summary["events_per_min"],
                     summary["spasm_percent"], summary["affected_side"], source, protocol, note,
                     json.dumps(summary), video_file))
                session_id = int(cursor.lastrowid)
                self._db.executemany(
                    f"INSERT INTO events (session_id, {', '.join(EVENT_COLUMNS)})"
                    f" VALUES (?{', ?' * len(EVENT_COLUMNS)})",
                    [(session_id, *(v.item() if hasattr(v, "item") else v for v in row))
                     for row in events.loc[:, list(EVENT_COLUMNS)].itertuples(index=False)])
                self._db.executemany("INSERT INTO markers (session_id, t_s, label) VALUES (?, ?, ?)",
                                     [(session_id, t, label) for t, label in markers])
                self._db.execute("INSERT INTO session_frames (session_id, frames_csv_gz) VALUES (?, ?)",
                                 (session_id, gzip.compress(frames_csv, compresslevel=6)))
        except sqlite3.Error as err:
            raise OutputError(f"cannot save the session in {self.path}: {err}") from err
        return session_id

    def add_treatment(self, treatment: Treatment) -> int:
        if treatment.kind not in TREATMENTS:
            raise UsageError(f"unknown treatment {treatment.kind!r}: use one of {', '.join(TREATMENTS)}")
        with self._db:
            cursor = self._db.execute("INSERT INTO treatments (date, kind, side, note) VALUES (?, ?, ?, ?)",
                                      (treatment.day.isoformat(), treatment.kind, treatment.side, treatment.note))
        return int(cursor.lastrowid)

    def sessions(self) -> pd.DataFrame:
        """One row per session, oldest first (the columns of the sessions table, without the summary)."""
        return pd.read_sql_query(
            "SELECT id, started_at, duration_s, frames, face_frames, n_events, events_per_min, spasm_percent,"
            " affected_side, source, protocol, note, video_file FROM sessions ORDER BY started_at, id", self._db)

    def treatments(self) -> pd.DataFrame:
        """One row per treatment, oldest first: id, date, kind, side, note."""
        return pd.read_sql_query("SELECT id, date, kind, side, note FROM treatments ORDER BY date, id", self._db)

    def events(self, session_id: int) -> pd.DataFrame:
        """The session's events, as its events.csv would be (sessions of a version-1 diary lack the last three
        columns' values)."""
        events = pd.read_sql_query(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE session_id = ? ORDER BY event_id", self._db,
            params=(session_id,))
        if events["brow_lift"].notna().all():
            events["brow_lift"] = events["brow_lift"].astype(bool)
        return events

    def markers(self, session_id: int) -> pd.DataFrame:
        return pd.read_sql_query("SELECT t_s, label FROM markers WHERE session_id = ? ORDER BY t_s", self._db,
                                 params=(session_id,))

    def frames(self, session_id: int) -> pd.DataFrame:
        """The session's per-frame measurements (the detector's input: `FRAME_COLUMNS`)."""
        return self._stored_frames(session_id).loc[:, list(FRAME_COLUMNS)]

    def _stored_frames(self, session_id: int) -> pd.DataFrame:
        row = self._db.execute("SELECT frames_csv_gz FROM session_frames WHERE session_id = ?",
                               (session_id,)).fetchone()
        if row is None:
            raise UsageError(f"no session {session_id} in {self.path}")
        return parse_frames(pd.read_csv(io.BytesIO(gzip.decompress(row[0]))))

    def analysis(self, session_id: int) -> Analysis:
        """The session as `analyze` results (events.csv, frames.csv, summary.json), as it was stored: what a
        doctor's report is made from. A session of a version-1 diary, which kept only the measurements, is
        analysed again with the parameters it was recorded with."""
        summary = self.summary(session_id)
        frames = self._stored_frames(session_id)
        if "usable" in frames:
            return Analysis(event_table=EventTable.from_frame(self.events(session_id)), frames=frames,
                            summary=summary)
        from twitchcam.core.analysis import analyse_frames
        from twitchcam.core.clinical import parameters_from_summary

        recording = _Recording(path=Path(summary["video"]), width=summary["width"], height=summary["height"],
                               fps=summary["nominal_fps"], rotation_deg=summary["rotation_deg"])
        frames, events, fresh = analyse_frames(frames, recording, summary["mirrored"],
                                               parameters_from_summary(summary), summary["model_sha256"])
        fresh.update({key: summary[key] for key in ("video", "twitchcam_version", "quality_warnings",
                                                    "eye_model_sha256") if key in summary})
        return Analysis(event_table=events, frames=frames, summary=fresh)

    def delete_session(self, session_id: int) -> None:
        """Remove a session and everything stored with it, its video too."""
        row = self._db.execute("SELECT video_file FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise UsageError(f"no session {session_id} in {self.path}")
        with self._db:
            self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        if row[0]:
            Path(row[0]).unlink(missing_ok=True)

    def summary(self, session_id: int) -> dict:
        row = self._db.execute("SELECT summary_json FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise UsageError(f"no session {session_id} in {self.path}")
        return json.loads(row[0])
