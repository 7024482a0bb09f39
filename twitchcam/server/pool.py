"""A bounded pool of worker processes that analyse uploaded videos, one job per process at a time.

Each worker is a 'spawn' process that loads MediaPipe's model once (`batch.worker.landmarker_for`) and then
runs jobs: `analyze` with the `--report --annotate` outputs, written into a staging folder and moved to
`<job>/results/` only when complete. Workers report progress (each stage with its own progress, through one
small callback, `progress(stage, done, total)`) and results through one queue; a thread in
the server reads it, hands queued jobs to idle workers, and writes every state change to the job store.
A worker that dies fails its job with the reason and is replaced. Workers exit by themselves when the
server process disappears (even after `kill -9`), so no orphan keeps writing into a job.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import re
import shutil
import signal
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twitchcam.run.folder import ANALYSING, WRITING_REPORT, WRITING_VIDEO, ProgressCallback
from twitchcam.run.processes import SPAWN, die_with_parent
from twitchcam.server.files import make_private, remove_server_paths
from twitchcam.server.jobs import Job, JobStore
from twitchcam.server.settings import ServerSettings

log = logging.getLogger(__name__)

RESULTS_DIR = "results"
STAGING_DIR = "results.partial"
STEPS = (ANALYSING, WRITING_VIDEO, WRITING_REPORT)
"""The stages of a job, in the order `run.folder.analyse_into_folder` runs them."""
STAGE_SHARES = {ANALYSING: (0.0, 0.72), WRITING_VIDEO: (0.72, 0.20), WRITING_REPORT: (0.92, 0.08)}
"""(start, share) of the overall bar per stage: roughly the time each takes for a 30 fps 480p clip on 2 cores."""
PROGRESS_EVERY_S = 0.5
"""Progress is sent at most this often within a stage: each update is a write to the job list (a page of
SQLite's log), and a page that polls every half second needs no more."""
CRASH_MESSAGE = "the analysis process stopped unexpectedly (a crash, or not enough memory)"
CRASH_ADVICE = ("Upload the video again. If it fails again, this computer may not have enough memory for it: "
                "try a shorter or smaller video.")
NO_FACE_ADVICE = ("Film the face from the front, in good light, with the whole face in the picture and nothing "
                  "covering it, then try again.")
TOO_SHORT_ADVICE = "The video is too short to measure movement: record at least 10 seconds of the face."
UNREADABLE_ADVICE = ("The file could not be read as a video: export it again as MP4 (H.264) or WebM, "
                     "or record it again.")
OUTPUT_ADVICE = "The server could not write the results (its disk may be full): free some space, then upload again."
INTERNAL_ADVICE = "Upload the video again; if it fails again, report the problem with the message above."
@dataclass(frozen=True)
class Task:
    """What a worker needs to run one job (plain values: it crosses a process boundary)."""

    job_id: str
    attempt: int
    job_dir: str
    input_name: str
    display_name: str
    mirrored: bool
    frames_total: int
    label: str = ""
    earlier: tuple = ()
    """The patient's earlier diary sessions (`EarlierSession`s), for the report's trend: diary jobs only."""

    @classmethod
    def for_job(cls, job: Job, jobs_dir: Path, diary: Path | None = None) -> Task:
        return cls(job.id, job.attempts, str(jobs_dir / job.id), job.input_name, job.name, job.mirrored,
                   job.frames_total, job.label, tuple(_earlier_sessions(diary)) if job.diary else ())


def _earlier_sessions(diary: Path | None) -> list:
    """The diary's sessions so far as `EarlierSession`s (none when there is no diary yet or it cannot be read)."""
    from twitchcam.core.errors import TwitchcamError
    from twitchcam.render.report_html import EarlierSession
    from twitchcam.store.diary import Diary, default_diary_path

    path = diary or default_diary_path()
    if not path.exists():
        return []
    try:
        with Diary(path, create=False) as book:
            return EarlierSession.from_diary(book.sessions())
    except TwitchcamError as err:
        log.warning("the report's trend is left out: %s", err)
        return []


# ---- in the worker process -------------------------------------------------------------------------------

def _worker_main(model: str, inbox, outbox, parent_pid: int) -> None:
    """Load the model once, then run tasks from `inbox` until it yields None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the server stops us itself
    die_with_parent(parent_pid)
    from twitchcam.run.batch.worker import landmarker_for

    landmarker = landmarker_for(model)
    while (task := inbox.get()) is not None:
        try:
            summary = run_task(task, landmarker, StageProgress(task, outbox))
            outbox.put(("done", task.job_id, task.attempt, summary, None))
        except Exception as err:  # noqa: BLE001 - one bad video must never stop the worker
            outbox.put(("failed", task.job_id, task.attempt, _reason(err, task), advice_for(err)))


def run_task(task: Task, landmarker, progress: ProgressCallback) -> dict:
    """Analyse the job's video into `<job>/results/` (all or nothing) and return its summary.

    `progress(stage, done, total)` is told as the work goes on: `ANALYSING` frame by frame, then
    `WRITING_VIDEO`, then `WRITING_REPORT` (0 of 1, then 1 of 1)."""
    from twitchcam.run.folder import analyse_into_folder

    job_dir = Path(task.job_dir)
    staging = job_dir / STAGING_DIR
    shutil.rmtree(staging, ignore_errors=True)
    try:
        result = analyse_into_folder(job_dir / task.input_name, staging, report=True, annotate=True,
                                     mirrored=task.mirrored, landmarker=landmarker,
                                     recording_name=task.display_name, label=task.label or None,
                                     earlier=task.earlier, on_progress=progress)
        remove_server_paths(staging, job_dir)  # the report names its folder: here a server path with the job id
        make_private(staging)  # 0700/0600 even when this process's umask is looser
        results = job_dir / RESULTS_DIR
        shutil.rmtree(results, ignore_errors=True)
        os.replace(staging, results)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result.analysis.summary


class StageProgress:
    """The `progress(stage, done, total)` callback of one task: sends the job's stage, its own progress and
    the overall bar to the server when a stage begins and then at most every `PROGRESS_EVERY_S` seconds.

    A total of 0 (a WebM from a browser's recorder names no frame count) is replaced by the count the server
    found when the upload was checked."""

    def __init__(self, task: Task, outbox):
        self.task, self.outbox = task, outbox
        self._stage, self._sent_at = "", 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage in (ANALYSING, WRITING_VIDEO):  # frame by frame
            total = total or self.task.frames_total
            done = min(done, total) if total else done
        now = time.monotonic()
        if stage == self._stage and now - self._sent_at < PROGRESS_EVERY_S:
            return
        self._stage, self._sent_at = stage, now
        start, share = STAGE_SHARES.get(stage, (0.0, 0.0))
        overall = start + share * (min(done / total, 1.0) if total else 0.0)
        self.outbox.put(("progress", self.task.job_id, self.task.attempt, overall, stage_text(stage, done, total),
                         stage, done, total))


def stage_text(stage: str, done: int, total: int) -> str:
    """The stage as the job page says it: "analysing frame 120 of 720", "writing the annotated video"."""
    if stage == ANALYSING:
        return f"analysing frame {done} of {total}" if total else f"analysing frame {done}"
    return stage


def advice_for(err: BaseException | None) -> str:
    """What a clinician or patient should do after this failure, in plain words."""
    from twitchcam.core.errors import NoFaceError, OutputError, VideoOpenError

    if err is None:
        return CRASH_ADVICE
    if isinstance(err, NoFaceError):
        return NO_FACE_ADVICE
    if isinstance(err, VideoOpenError):
        return TOO_SHORT_ADVICE if "only one frame" in str(err) else UNREADABLE_ADVICE
    if isinstance(err, OutputError):
        return OUTPUT_ADVICE
    return INTERNAL_ADVICE


def _reason(err: Exception, task: Task) -> str:
    """The one-line reason a clinician sees, with no server paths: the input is named as uploaded, other
    files in the job's folder by their own names (`cannot write annotated.webm: … File too large`)."""
    from twitchcam.core.errors import TwitchcamError

    message = str(err) if isinstance(err, TwitchcamError) else f"internal error: {type(err).__name__}: {err}"
    message = message.replace(str(Path(task.job_dir) / task.input_name), task.display_name)
    sep = re.escape(os.sep)
    return re.sub(re.escape(str(Path(task.job_dir))) + rf"((?:{sep}[^{sep}\s:'\"]+)*)",
                  lambda m: m.group(1).rsplit(os.sep, 1)[-1] or "the job's folder", message)


def remove_partial_results(jobs_dir: Path) -> int:
    """Remove the half-written results that workers killed with the server left in job folders; returns how
    many. Only safe while no worker runs (at start-up)."""
    removed = 0
    for job_dir in jobs_dir.iterdir() if jobs_dir.is_dir() else ():
        # run_task's staging folder, and analyze's own staging folder beside it (results.write_outputs)
        for path in (job_dir / STAGING_DIR, *job_dir.glob(f".{STAGING_DIR}.partial-*")):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed


# ---- in the server process -------------------------------------------------------------------------------

@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    inbox: object
    task: Task | None = None


class WorkerPool:
    """`settings.workers` worker processes fed from the job store's queue."""

    def __init__(self, settings: ServerSettings, store: JobStore, on_done: Callable[[str], None] | None = None):
        """`on_done(job_id)` runs in the pool's thread once a job's success is recorded (e.g. to add it to the
        diary)."""
        self.settings, self.store, self.on_done = settings, store, on_done
        self._context = SPAWN
        self._outbox = self._context.Queue()
        self._workers: list[_Worker] = []
        self._outcomes: deque[tuple[str, int, dict | None, str | None, str | None]] = deque()
        """Ends of jobs (id, attempt, summary, error, advice) not yet in the job store: written in order, kept while
        the store cannot be written (a full disk), so that no job stays `running` for ever."""
        self._waiting: str | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="twitchcam-jobs", daemon=True)

    def start(self) -> None:
        with self._lock:
            self._workers = [self._spawn() for _ in range(self.settings.workers)]
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: hand it out now rather than at the next tick."""
        self._outbox.put(("wake",))

    def cancel(self, job_id: str) -> None:
        """Stop the worker running `job_id` (the job was deleted) and start a fresh one in its place."""
        with self._lock:
            for i, worker in enumerate(self._workers):
                if worker.task is not None and worker.task.job_id == job_id:
                    self._kill(worker)
                    self._workers[i] = self._spawn()

    def stop(self) -> None:
        """Stop handing out jobs and end every worker; running jobs are requeued at the next start."""
        self._stopping.set()
        self.wake()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self._lock:
            for worker in self._workers:
                self._kill(worker)
            self._workers = []

    def _spawn(self) -> _Worker:
        inbox = self._context.Queue()
        process = self._context.Process(target=_worker_main, name="twitchcam-worker", daemon=True,
                                        args=(self.settings.model, inbox, self._outbox, os.getpid()))
        process.start()
        return _Worker(process, inbox)

    @staticmethod
    def _kill(worker: _Worker) -> None:
        with contextlib.suppress(Exception):
            worker.process.kill()
            worker.process.join(timeout=5)

    def _run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            try:
                self._record_outcomes()
                self._dispatch()
                try:
                    message = self._outbox.get(timeout=0.5)
                except queue.Empty:
                    message = None
                if message is not None:
                    self._handle(message)
                self._replace_dead_workers()
                failing = False
            except sqlite3.Error as err:  # e.g. a full disk: the job store cannot be written for now
                if not failing:
                    log.warning("cannot update the job list (%s); trying again", err)
                failing = True
                time.sleep(0.5)
            except Exception:  # noqa: BLE001 - the loop that runs every job must survive anything
                log.exception("job pool error")
                time.sleep(0.5)

    def _dispatch(self) -> None:
        with self._lock:
            for worker in self._workers:
                if worker.task is None and not self._stopping.is_set():
                    job = self.store.claim_next()
                    if job is None:
                        return
                    worker.task = Task.for_job(job, self.settings.jobs_dir, self.settings.diary)
                    worker.inbox.put(worker.task)

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "progress":
            _, job_id, attempt, progress, stage, step, done, total = message
            with contextlib.suppress(sqlite3.Error):  # a progress bar only: the next update will do
                self.store.set_progress(job_id, attempt, progress, stage, step, done, total)
        elif kind in ("done", "failed"):
            _, job_id, attempt, outcome, advice = message
            with self._lock:  # the worker takes the next job even when this one's end cannot be recorded yet
                for worker in self._workers:
                    if worker.task is not None and (worker.task.job_id, worker.task.attempt) == (job_id, attempt):
                        worker.task = None
            self._outcomes.append((job_id, attempt, outcome, None, None) if kind == "done" else
                                  (job_id, attempt, None, outcome, advice))
            self._record_outcomes()

    def _record_outcomes(self) -> None:
        while self._outcomes:
            job_id, attempt, summary, error, advice = self._outcomes[0]
            try:
                recorded = self.store.finish(job_id, attempt, summary=summary, error=error, advice=advice)
            except sqlite3.Error as err:
                if self._waiting != job_id:  # once per job, not at every tick
                    log.warning("cannot record the end of job %s yet (%s); trying again", job_id, err)
                    self._waiting = job_id
                return
            self._outcomes.popleft()
            if recorded and error is None and self.on_done is not None:
                try:
                    self.on_done(job_id)
                except Exception:  # noqa: BLE001 - the job is done; what follows must not stop the pool
                    log.exception("after job %s", job_id)

    def _replace_dead_workers(self) -> None:
        with self._lock:
            for i, worker in enumerate(self._workers):
                if worker.process.exitcode is None or self._stopping.is_set():
                    continue
                log.warning("worker process %s ended with code %s", worker.process.pid, worker.process.exitcode)
                if worker.task is not None:
                    self._outcomes.append((worker.task.job_id, worker.task.attempt, None, CRASH_MESSAGE,
                                           CRASH_ADVICE))
                self._workers[i] = self._spawn()
