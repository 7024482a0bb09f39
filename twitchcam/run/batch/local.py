"""The local runner of `twitchcam batch`: a pool of worker processes, each loading the model once.

Workers are started with 'spawn' (MediaPipe's threads do not survive fork) and die with the batch process,
even when it is SIGKILLed (Linux: PR_SET_PDEATHSIG; elsewhere a watchdog thread). Each worker tells the
batch, through a queue, which video it starts and how many frames it has done: for the progress bars,
and to know which videos were running when a worker died. A dead worker (segfault, out of memory) breaks
the pool; a fresh pool carries on, and a video that keeps killing its worker ends up alone in a pool of
one, where it is named and becomes a `failed` row while the others carry on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from twitchcam.core.errors import TwitchcamError
from twitchcam.run.batch.plan import BatchItem, BatchOptions
from twitchcam.run.batch.progress import Bars
from twitchcam.run.batch.rows import BatchRow
from twitchcam.run.batch.worker import CRASH_MESSAGE, landmarker_for, process_item
from twitchcam.run.processes import SPAWN, die_with_parent

log = logging.getLogger(__name__)


def run_local(items: Sequence[BatchItem], options: BatchOptions, finish: Callable[[BatchRow], None], *,
              workers: int, bars: Bars) -> None:
    """Analyse `items` in `workers` processes, calling `finish(row)` in this process as each one ends.

    When a worker dies, the pool stops every worker; the videos that were running go back into the queue.
    A video running at two deaths is then tried alone: if its worker dies again, it is the culprit and
    becomes a `failed` row, without ever blaming the videos that merely shared the pool with it.
    """
    remaining = list(items)
    deaths: Counter[str] = Counter()
    while remaining:
        for item in [i for i in remaining if deaths[i.rel] >= 2]:
            alone = _pool_pass([item], options, finish, 1, bars)
            if alone.crashed:
                bars.video_restarted(item.rel)
                finish(BatchRow.failed(item.rel, CRASH_MESSAGE))
            elif not alone.finished:
                raise _no_start(alone)
        remaining = [i for i in remaining if deaths[i.rel] < 2]
        if not remaining:
            return
        outcome = _pool_pass(remaining, options, finish, min(workers, len(remaining)), bars)
        if not outcome.finished and not outcome.crashed:
            raise _no_start(outcome)
        for item in outcome.crashed:
            log.warning("a worker process died while analysing %s; it will be tried again", item.rel)
            deaths[item.rel] += 1
            bars.video_restarted(item.rel)
        remaining = [i for i in remaining if i.rel not in outcome.finished]


def _no_start(outcome: _PassOutcome) -> TwitchcamError:
    return TwitchcamError(f"the worker processes stopped before analysing any video: "
                          f"{outcome.init_error or 'no reason given'}")


@dataclass
class _PassOutcome:
    finished: set[str] = field(default_factory=set)
    crashed: list[BatchItem] = field(default_factory=list)
    """Items that were running when a worker died (the pool then stops every worker)."""
    init_error: str | None = None


def _pool_pass(items: Sequence[BatchItem], options: BatchOptions, finish: Callable[[BatchRow], None],
               workers: int, bars: Bars) -> _PassOutcome:
    """One process pool over `items` until all are done or a worker dies."""
    context = SPAWN
    channel = context.Queue()
    listener = _Listener(channel, bars)
    listener.start()
    executor = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker,
        initargs=(options, channel, os.getpid(), logging.getLogger().getEffectiveLevel(), bars.shows_frames),
    )
    outcome = _PassOutcome()
    broken = False
    try:
        futures = {executor.submit(_run_one, item, options): item for item in items}
        for future in as_completed(futures):
            try:
                row = future.result()
            except BrokenProcessPool:
                broken = True
                continue
            outcome.finished.add(row.path)
            finish(row)
    except BaseException:  # Ctrl-C: stop the workers now rather than after their current videos
        _kill_workers(executor)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        listener.stop()
        channel.close()
    if broken:
        outcome.crashed = [i for i in items if i.rel in listener.started and i.rel not in outcome.finished]
    outcome.init_error = listener.init_error
    return outcome


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, AttributeError):
            process.terminate()


class _Listener(threading.Thread):
    """Reads the workers' messages in the batch process: videos started, frames done, start-up errors."""

    def __init__(self, channel, bars: Bars):
        super().__init__(name="twitchcam-batch-listener", daemon=True)
        self.channel = channel
        self.bars = bars
        self.started: set[str] = set()
        self.init_error: str | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        while True:
            try:
                message = self.channel.get(timeout=0.1)
            except queue.Empty:
                if self._stopping.is_set():  # the workers have exited: nothing more can arrive
                    return
                continue
            except (EOFError, OSError):
                return
            kind, *args = message
            if kind == "start":
                self.started.add(args[0])
            elif kind == "frames":
                self.bars.frames_done(*args)
            elif kind == "init-error":
                self.init_error = args[0]

    def stop(self) -> None:
        self._stopping.set()
        self.join()


# --- in the worker processes ----------------------------------------------------------------------------

_channel = None
_count_frames = False


def _init_worker(options: BatchOptions, channel, parent_pid: int, log_level: int, count_frames: bool) -> None:
    """Runs once in each worker: die with the batch, log like it, and load the model."""
    global _channel, _count_frames
    _channel, _count_frames = channel, count_frames
    die_with_parent(parent_pid)
    logging.basicConfig(level=log_level, format="twitchcam: %(levelname)s: %(message)s")
    try:
        landmarker_for(options.model)
    except Exception as err:  # noqa: BLE001 - reported to the batch process, which stops with the message
        channel.put(("init-error", str(err) if isinstance(err, TwitchcamError) else f"{type(err).__name__}: {err}"))
        channel.close()
        channel.join_thread()
        os._exit(1)  # not `raise`: the pool would print a traceback


def _run_one(item: BatchItem, options: BatchOptions) -> BatchRow:
    _channel.put(("start", item.rel))
    return process_item(item, options, frame_counter=_report_frames if _count_frames else None)


def _report_frames(rel: str, n: int) -> None:
    _channel.put(("frames", rel, n))


