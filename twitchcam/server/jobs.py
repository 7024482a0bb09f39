"""The job store: one SQLite table under --data, so that jobs outlive the server process.

Only the server process writes to it (workers report through a queue, see `pool.py`). A job is
`queued` → `running` → `done` or `failed`; a job found `running` when the server starts was cut off by a
stop or a crash, and is queued again (up to `MAX_ATTEMPTS` runs) or failed with the reason. A job also keeps
the clinician's label and note, and, when it was sent "to my diary", the diary session it became.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)
MAX_ATTEMPTS = 2
JOB_ID_BYTES = 18  # 144 random bits, 24 URL-safe characters
JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    ext TEXT NOT NULL,
    mirrored INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    frames_total INTEGER NOT NULL,
    status TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '',
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    summary TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL
)
"""
# Columns added after the first release: (name, declaration); added to an older database at start-up.
_ADDED_COLUMNS = (
    ("label", "TEXT NOT NULL DEFAULT ''"),
    ("note", "TEXT NOT NULL DEFAULT ''"),
    ("recorded", "INTEGER NOT NULL DEFAULT 0"),
    ("protocol", "TEXT NOT NULL DEFAULT ''"),
    ("diary", "INTEGER NOT NULL DEFAULT 0"),
    ("session_id", "INTEGER"),
    ("diary_error", "TEXT"),
    ("advice", "TEXT"),
    ("step", "TEXT NOT NULL DEFAULT ''"),
    ("step_done", "INTEGER NOT NULL DEFAULT 0"),
    ("step_total", "INTEGER NOT NULL DEFAULT 0"),
)
_BOOLEAN_COLUMNS = ("mirrored", "recorded", "diary")


def new_job_id() -> str:
    """A random, unguessable job id (it is also the name of the job's folder)."""
    return secrets.token_urlsafe(JOB_ID_BYTES)


@dataclass
class Job:
    """One uploaded video and the state of its analysis."""

    id: str
    name: str
    """The uploaded file's name, for display only (never used as a path)."""
    ext: str
    """Validated video extension, e.g. `.mp4`: the upload is stored as `input<ext>`."""
    mirrored: bool
    size_bytes: int
    frames_total: int
    """The container's frame count (0 when unknown), for the percentage done."""
    status: str = QUEUED
    stage: str = ""
    progress: float = 0.0
    """0–1: the analysis pass is most of it, the report and annotated video the rest."""
    error: str | None = None
    summary: dict | None = None
    attempts: int = 0
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    label: str = ""
    """The clinician's patient or visit label (display and search only)."""
    note: str = ""
    recorded: bool = False
    """Recorded on the page's Record page (the webcam), not an uploaded file."""
    protocol: str = ""
    """The guided protocol the recording followed (`run/live/protocol.py`), '' for none."""
    diary: bool = False
    """Add the result to the patient's diary once done."""
    session_id: int | None = None
    """The diary session this job became (None: not in the diary, or not yet)."""
    diary_error: str | None = None
    advice: str | None = None
    """For a failed job: what to do next, in plain words."""
    step: str = ""
    """The stage under way while running: analysing, writing the annotated video, writing the report."""
    step_done: int = 0
    step_total: int = 0
    """Progress within `step` (frames, or 0 of 1 for the report); 0 total when unknown."""

    @property
    def input_name(self) -> str:
        return f"input{self.ext}"

    def public(self) -> dict:
        """The job as the JSON API shows it."""
        record = asdict(self)
        record["progress"] = round(self.progress, 4)
        return record

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        record = dict(row)
        for name in _BOOLEAN_COLUMNS:
            record[name] = bool(record[name])
        record["summary"] = json.loads(record["summary"]) if record["summary"] else None
        return cls(**record)


class JobStore:
    """Jobs in SQLite, safe to use from the request handlers and the pool's thread at once."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)  # the user's alone, whatever the umask: SQLite gives its -wal and -shm files this mode
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        present = {row["name"] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for name, declaration in _ADDED_COLUMNS:
            if name not in present:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {declaration}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # also when COMMIT failed (a full disk): the next BEGIN must work
                    self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, job: Job) -> Job:
        job.created = job.created or time.time()
        record = asdict(job)
        for name in _BOOLEAN_COLUMNS:
            record[name] = int(record[name])
        record["summary"] = json.dumps(job.summary) if job.summary is not None else None
        columns = ", ".join(record)
        with self._transaction() as db:
            db.execute(f"INSERT INTO jobs ({columns}) VALUES ({', '.join('?' * len(record))})",
                       tuple(record.values()))
        return job

    def get(self, job_id: str) -> Job | None:
        if not JOB_ID_PATTERN.match(job_id):
            return None
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    def all(self, label_contains: str = "") -> list[Job]:
        """Every job, newest first; with `label_contains`, only those whose label contains it (any case)."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY created DESC").fetchall()
        jobs = [Job.from_row(row) for row in rows]
        wanted = label_contains.strip().casefold()
        return [job for job in jobs if wanted in job.label.casefold()] if wanted else jobs

    def delete(self, job_id: str) -> Job | None:
        """Remove a job's row; returns it as it was (None when unknown)."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is not None:
                db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        return Job.from_row(row) if row else None

    def claim_next(self) -> Job | None:
        """Mark the oldest queued job `running` (one more attempt) and return it."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM jobs WHERE status = ? ORDER BY created LIMIT 1", (QUEUED,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET status = ?, stage = ?, progress = 0, step = '', step_done = 0, step_total = 0, "
                       "attempts = attempts + 1, "
                       "started = ? WHERE id = ?", (RUNNING, "starting", time.time(), row["id"]))
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone()
        return Job.from_row(row)

    def set_progress(self, job_id: str, attempt: int, progress: float, stage: str, step: str = "",
                     step_done: int = 0, step_total: int = 0) -> None:
        with self._transaction() as db:
            db.execute("UPDATE jobs SET progress = ?, stage = ?, step = ?, step_done = ?, step_total = ? "
                       "WHERE id = ? AND attempts = ? AND status = ?",
                       (progress, stage, step, step_done, step_total, job_id, attempt, RUNNING))

    def finish(self, job_id: str, attempt: int, *, summary: dict | None = None, error: str | None = None,
               advice: str | None = None) -> bool:
        """Record the end of a run: `done` with its summary, or `failed` with the reason and what to do next.
        Returns whether this run's end was recorded (False for a stale attempt, or a deleted job)."""
        status = FAILED if error is not None else DONE
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = ?, stage = '', step = '', progress = ?, error = ?, advice = ?, summary = ?, "
                "finished = ? WHERE id = ? AND attempts = ? AND status = ?",
                (status, 1.0 if status == DONE else 0.0, error, advice,
                 json.dumps(summary) if summary is not None else None, time.time(), job_id, attempt, RUNNING))
        return cursor.rowcount == 1

    def set_diary(self, job_id: str, session_id: int | None, error: str | None = None) -> None:
        """Record the diary session a done job became (or why it could not be added)."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET session_id = ?, diary_error = ? WHERE id = ?", (session_id, error, job_id))

    def forget_session(self, session_id: int) -> None:
        """A diary session was deleted: the jobs that became it no longer point at it."""
        with self._transaction() as db:
            db.execute("UPDATE jobs SET session_id = NULL WHERE session_id = ?", (session_id,))

    def awaiting_diary(self) -> list[Job]:
        """Done jobs meant for the diary that are not in it yet (e.g. the server stopped in between)."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE status = ? AND diary = 1 AND session_id IS NULL "
                                    "AND diary_error IS NULL ORDER BY created", (DONE,)).fetchall()
        return [Job.from_row(row) for row in rows]

    def recover(self) -> list[str]:
        """At start-up: requeue jobs a stopped server left `running`, or fail them after `MAX_ATTEMPTS` runs."""
        with self._transaction() as db:
            rows = db.execute("SELECT id, attempts FROM jobs WHERE status = ?", (RUNNING,)).fetchall()
            for row in rows:
                if row["attempts"] >= MAX_ATTEMPTS:
                    db.execute("UPDATE jobs SET status = ?, stage = '', error = ?, finished = ? WHERE id = ?",
                               (FAILED, f"the server stopped while analysing this video, {row['attempts']} times; "
                                        "it was not tried again", time.time(), row["id"]))
                else:
                    db.execute("UPDATE jobs SET status = ?, stage = ?, progress = 0, step = '' WHERE id = ?",
                               (QUEUED, "queued again after a server restart", row["id"]))
        return [row["id"] for row in rows]
