"""A bounded pool of worker processes that analyse uploaded videos, one job per process at a time.

Each worker is a 'spawn' process that loads MediaPipe's model once (`batch.worker.landmarker_for`) and then
runs jobs: `analyze` with the `--report --annotate` outputs, written into a staging folder and moved to
`<job>/results/` only when complete. Workers report progress and results through one queue; a thread in
the server reads it, hands queued jobs to idle workers, and writes every state change to the job store.
A worker that dies fails its job with the reason and is replaced. Workers exit by themselves when the
server process disappears (even after `kill -9`), so no orphan keeps writing into a job.
"""

from __future__ import annotations

import contextlib
import json
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
from dataclasses import dataclass
from pathlib import Path

from twitchcam.server.files import make_private, remove_server_paths
from twitchcam.server.jobs import Job, JobStore
from twitchcam.server.settings import ServerSettings

log = logging.getLogger(__name__)

RESULTS_DIR = "results"
STAGING_DIR = "results.partial"
ANALYSIS_SHARE = 0.85  # of the progress bar: the MediaPipe pass; the report and annotated video are the rest
PROGRESS_EVERY_FRAMES = 10
CRASH_MESSAGE = "the analysis process stopped unexpectedly (a crash, or not enough memory)"


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

    @classmethod
    def for_job(cls, job: Job, jobs_dir: Path) -> Task:
        return cls(job.id, job.attempts, str(jobs_dir / job.id), job.input_name, job.name, job.mirrored,
                   job.frames_total)


# ---- in the worker process -------------------------------------------------------------------------------

def _worker_main(model: str, inbox, outbox, parent_pid: int) -> None:
    """Load the model once, then run tasks from `inbox` until it yields None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the server stops us itself
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    from twitchcam.run.batch.worker import landmarker_for

    landmarker = landmarker_for(model)
    while (task := inbox.get()) is not None:
        try:
            summary = run_task(task, landmarker, outbox)
            outbox.put(("done", task.job_id, task.attempt, summary))
        except Exception as err:  # noqa: BLE001 - one bad video must never stop the worker
            outbox.put(("failed", task.job_id, task.attempt, _reason(err, task)))


def _exit_with_parent(parent_pid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(1)


def run_task(task: Task, landmarker, outbox) -> dict:
    """Analyse the job's video into `<job>/results/` (all or nothing) and return its summary."""
    from twitchcam._cli.report import write_extras
    from twitchcam.media.face_track import FaceTrackRecorder
    from twitchcam.run.pipeline import analyze

    job_dir = Path(task.job_dir)
    video = job_dir / task.input_name
    staging = job_dir / STAGING_DIR
    shutil.rmtree(staging, ignore_errors=True)
    counter = _ProgressCounter(task, outbox)
    try:
        with FaceTrackRecorder(outlines=True) as recorder:
            result = analyze(video, out=staging, mirrored=task.mirrored, landmarker=landmarker,
                             frame_hooks=(counter, recorder))
            _name_the_recording(result.summary, task.display_name, staging)
            outbox.put(("progress", task.job_id, task.attempt, ANALYSIS_SHARE,
                        "writing the report and the annotated video"))
            write_extras(str(video), staging, result, recorder.finish(), report=True, annotate=True, quiet=True)
        remove_server_paths(staging, job_dir)  # the report names its folder: here a server path with the job id
        make_private(staging)  # 0700/0600 even when this process's umask is looser
        results = job_dir / RESULTS_DIR
        shutil.rmtree(results, ignore_errors=True)
        os.replace(staging, results)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result.summary


def _name_the_recording(summary: dict, name: str, folder: Path) -> None:
    """The report and summary.json name the upload as the clinician knows it, not the server's input path."""
    from twitchcam.store.results import SUMMARY_FILE

    summary["video"] = name
    (folder / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")


class _ProgressCounter:
    """Frame hook that reports frames done every few frames."""

    def __init__(self, task: Task, outbox):
        self.task, self.outbox, self.done = task, outbox, 0

    def __call__(self, frame, observation) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY_FRAMES == 0:
            total = self.task.frames_total
            share = min(self.done / total, 1.0) * ANALYSIS_SHARE if total else 0.0
            stage = f"analysing frame {self.done} of {total}" if total else f"analysing frame {self.done}"
            self.outbox.put(("progress", self.task.job_id, self.task.attempt, share, stage))


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

    def __init__(self, settings: ServerSettings, store: JobStore):
        self.settings, self.store = settings, store
        self._context = multiprocessing.get_context("spawn")
        self._outbox = self._context.Queue()
        self._workers: list[_Worker] = []
        self._outcomes: deque[tuple[str, int, dict | None, str | None]] = deque()
        """Ends of jobs (id, attempt, summary, error) not yet in the job store: written in order, kept while
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
                    worker.task = Task.for_job(job, self.settings.jobs_dir)
                    worker.inbox.put(worker.task)

    def _handle(self, message: tuple) -> None:
        kind = message[0]
        if kind == "progress":
            _, job_id, attempt, progress, stage = message
            with contextlib.suppress(sqlite3.Error):  # a progress bar only: the next update will do
                self.store.set_progress(job_id, attempt, progress, stage)
        elif kind in ("done", "failed"):
            _, job_id, attempt, outcome = message
            with self._lock:  # the worker takes the next job even when this one's end cannot be recorded yet
                for worker in self._workers:
                    if worker.task is not None and (worker.task.job_id, worker.task.attempt) == (job_id, attempt):
                        worker.task = None
            self._outcomes.append((job_id, attempt, outcome, None) if kind == "done" else
                                  (job_id, attempt, None, outcome))
            self._record_outcomes()

    def _record_outcomes(self) -> None:
        while self._outcomes:
            job_id, attempt, summary, error = self._outcomes[0]
            try:
                self.store.finish(job_id, attempt, summary=summary, error=error)
            except sqlite3.Error as err:
                if self._waiting != job_id:  # once per job, not at every tick
                    log.warning("cannot record the end of job %s yet (%s); trying again", job_id, err)
                    self._waiting = job_id
                return
            self._outcomes.popleft()

    def _replace_dead_workers(self) -> None:
        with self._lock:
            for i, worker in enumerate(self._workers):
                if worker.process.exitcode is None or self._stopping.is_set():
                    continue
                log.warning("worker process %s ended with code %s", worker.process.pid, worker.process.exitcode)
                if worker.task is not None:
                    self._outcomes.append((worker.task.job_id, worker.task.attempt, None, CRASH_MESSAGE))
                self._workers[i] = self._spawn()
