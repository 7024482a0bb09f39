"""The patient's diary seen from the web page: sessions from finished jobs, the history table, treatments.

It is the same SQLite file `twitchcam live` and `twitchcam history` use (`store/diary.py`; `serve --db` picks
another). A job sent "to my diary" (every recording made on the Record page, and uploads with the box ticked)
becomes a session once its analysis is done: the events, summary and per-frame measurements, never the
video (that stays in the job's folder until the job is deleted). Only the server process writes here.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import date, datetime
from pathlib import Path

from twitchcam.core.errors import TwitchcamError
from twitchcam.server.jobs import DONE, Job, JobStore

log = logging.getLogger(__name__)

SIDES = ("left", "right", "both")
MAX_TREATMENT_NOTE_CHARS = 500
RECORDED_SOURCE = "web page camera"
UPLOAD_SOURCE = "web page upload"


class InvalidInput(ValueError):
    """A treatment (or other diary input) the server will not store; the message says what is wrong."""


def protocol_steps(name: str) -> list[dict]:
    """The guided protocol `name` as the Record page shows it: prompt, seconds and marker label per step."""
    from twitchcam.run.live.protocol import PROTOCOLS

    return [{"prompt": step.prompt, "seconds": step.seconds, "label": step.label} for step in PROTOCOLS[name]]


def protocol_markers(name: str) -> list[tuple[float, str]]:
    """The markers `live --protocol NAME` leaves: one at the start of each step, labelled as live labels it."""
    from twitchcam.run.live.protocol import PROTOCOLS

    markers, start = [], 0.0
    for step in PROTOCOLS[name]:
        markers.append((round(start, 3), f"protocol: {step.label}"))
        start += step.seconds
    return markers


def add_job(diary_path: Path, job: Job, results: Path) -> int:
    """Store the finished `job` (its results folder `results`) as a diary session; returns the session id."""
    from twitchcam.store.diary import Diary
    from twitchcam.store.results import Analysis

    analysis = Analysis.read(results)
    summary = analysis.summary
    # A recording ends when it is uploaded: it started its length before the job was made.
    started = job.created - (float(summary.get("duration_s", 0.0)) if job.recorded else 0.0)
    duration = float(summary.get("duration_s", 0.0))
    markers = [(t, label) for t, label in protocol_markers(job.protocol) if t < duration] if job.protocol else []
    source = RECORDED_SOURCE if job.recorded else f"{UPLOAD_SOURCE}: {job.name}"
    with Diary(diary_path) as book:
        return book.add_session(
            started_at=datetime.fromtimestamp(started).astimezone(), analysis=analysis, markers=markers,
            source=source, protocol=job.protocol or None, note=_joined(job.label, job.note) or None)


def _joined(label: str, note: str) -> str:
    """The diary has one note per session: the label first, as `history` shows it."""
    return " — ".join(part for part in (label.strip(), note.strip()) if part)


class DiaryKeeper:
    """Adds finished jobs to the diary (from the pool's thread) and records the session on the job."""

    def __init__(self, diary_path: Path, store: JobStore, jobs_dir: Path):
        self.diary_path, self.store, self.jobs_dir = diary_path, store, jobs_dir

    def __call__(self, job_id: str) -> None:
        from twitchcam.server.pool import RESULTS_DIR

        job = self.store.get(job_id)
        if job is None or not job.diary or job.status != DONE or job.session_id is not None:
            return
        try:
            session_id = add_job(self.diary_path, job, self.jobs_dir / job.id / RESULTS_DIR)
        except (TwitchcamError, OSError, ValueError, KeyError) as err:
            log.warning("job %s could not be added to the diary: %s", job.id, err)
            self.store.set_diary(job.id, None, f"it could not be added to the diary: {err}")
            return
        self.store.set_diary(job.id, session_id)

    def catch_up(self) -> None:
        """At start-up: add the jobs that finished while the diary could not be written (a stop in between)."""
        for job in self.store.awaiting_diary():
            self(job.id)


def history_rows(diary_path: Path) -> list[dict]:
    """The sessions as `twitchcam history --csv` writes them, oldest first ([] before the first session)."""
    from twitchcam.render.history import history_table

    sessions, _ = _read(diary_path)
    if sessions is None or sessions.empty:
        return []
    return json.loads(history_table(sessions).to_json(orient="records"))


def treatment_rows(diary_path: Path) -> list[dict]:
    _, treatments = _read(diary_path)
    if treatments is None:
        return []
    return json.loads(treatments.to_json(orient="records"))


def _read(diary_path: Path):
    from twitchcam.store.diary import Diary

    if not diary_path.exists():
        return None, None  # a GET never creates the diary
    with Diary(diary_path, create=False) as book:
        return book.sessions(), book.treatments()


def history_plot_png(diary_path: Path) -> bytes | None:
    """The trend plot `twitchcam history --plot` draws, as PNG bytes; None before the first session."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from twitchcam.render.history import plot_history

    sessions, treatments = _read(diary_path)
    if sessions is None or sessions.empty:
        return None
    fig = plot_history(sessions, treatments)
    FigureCanvasAgg(fig)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    return png.getvalue()


def parse_treatment(data: object):
    """A `Treatment` from the JSON the page sends, or `InvalidInput` saying what is wrong."""
    from twitchcam.store.diary import TREATMENTS, Treatment

    if not isinstance(data, dict):
        raise InvalidInput('send a JSON object like {"kind": "botox", "date": "2026-11-03", "side": "left"}')
    unknown = sorted(set(data) - {"kind", "date", "side", "note"})
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}: a treatment has kind, date, side and note")
    kind = data.get("kind")
    if kind not in TREATMENTS:
        raise InvalidInput(f"kind must be one of {', '.join(TREATMENTS)} (got {_shown(kind)})")
    raw_day = data.get("date")
    try:
        if not isinstance(raw_day, str) or len(raw_day) != 10:
            raise ValueError
        day = date.fromisoformat(raw_day)
    except ValueError:
        raise InvalidInput(f"date must be a day like 2026-11-03 (got {_shown(raw_day)})") from None
    if not 1900 <= day.year <= 2100:
        raise InvalidInput(f"date {raw_day} is not a plausible treatment date")
    side = data.get("side") or None
    if side is not None and side not in SIDES:
        raise InvalidInput(f"side must be left, right or both (the patient's own side), or empty (got {_shown(side)})")
    note = data.get("note") or None
    if note is not None and not isinstance(note, str):
        raise InvalidInput("note must be text")
    if note is not None and len(note) > MAX_TREATMENT_NOTE_CHARS:
        raise InvalidInput(f"note is longer than {MAX_TREATMENT_NOTE_CHARS} characters")
    return Treatment(day=day, kind=kind, side=side, note=note.strip() if note else None)


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def add_treatment(diary_path: Path, data: object) -> dict:
    """Validate and store a treatment; returns it as `GET /api/treatments` lists it."""
    from twitchcam.store.diary import Diary

    treatment = parse_treatment(data)
    with Diary(diary_path) as book:
        number = book.add_treatment(treatment)
    return {"id": number, "date": treatment.day.isoformat(), "kind": treatment.kind, "side": treatment.side,
            "note": treatment.note}


def delete_session(diary_path: Path, session_id: int) -> bool:
    """Remove a session and all that was stored with it; False when there is no such session."""
    from twitchcam.store.diary import Diary

    if not diary_path.exists():
        return False
    with Diary(diary_path, create=False) as book:
        if session_id not in set(book.sessions()["id"]):
            return False
        book.delete_session(session_id)
    return True
