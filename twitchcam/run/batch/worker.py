"""The per-video function every runner calls, and its counterpart that recognises finished work.

`process_item` runs in a worker process (local pool or Dask worker). The worker keeps one MediaPipe
landmarker per thread and model for its whole life, so the model is loaded once, not once per video.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from twitchcam.core.errors import TwitchcamError
from twitchcam.core.parameters import DetectionParameters
from twitchcam.run.batch.markers import MARKER_FILE, marker_record, read_marker, write_marker
from twitchcam.run.batch.plan import BatchItem, BatchOptions
from twitchcam.run.batch.rows import BatchRow
from twitchcam.store.results import EVENTS_FILE, FRAMES_FILE, SUMMARY_FILE

if TYPE_CHECKING:
    from twitchcam.media.landmarks import FaceLandmarker

log = logging.getLogger(__name__)

# What a results folder can hold (twitchcam.render.report writes the last two); removed when a redo fails.
RESULT_FILES = (EVENTS_FILE, FRAMES_FILE, SUMMARY_FILE, "report.html", "timeline.png")
CRASH_MESSAGE = "the process analysing this video died each time it was tried (crash, or out of memory)"

FrameCounter = Callable[[str, int], None]
"""Called in the worker with (item.rel, frames since the last call) while a video is analysed."""

_FRAME_REPORT_EVERY = 10
_local = threading.local()  # this thread's landmarkers, by model path
_opened: list[FaceLandmarker] = []  # every landmarker of this process, closed at exit before MediaPipe is torn down


def landmarker_for(model: str | None) -> FaceLandmarker:
    """This worker thread's `FaceLandmarker` for `model`, loaded on first use and then reused."""
    cache = getattr(_local, "landmarkers", None)
    if cache is None:
        cache = _local.landmarkers = {}
    if model not in cache:
        from twitchcam.media.landmarks import FaceLandmarker
        from twitchcam.media.model import resolve_model

        _one_opencv_thread()
        cache[model] = FaceLandmarker(resolve_model(model).path)
        if not _opened:
            # MediaPipe closes through a thread pool, which is shut down before `atexit` handlers run;
            # threading's own exit hook runs before that (and a Dask worker otherwise prints a traceback).
            getattr(threading, "_register_atexit", atexit.register)(_close_all)
        _opened.append(cache[model])
    return cache[model]


def _close_all() -> None:
    while _opened:
        with contextlib.suppress(Exception):
            _opened.pop().close()


def _one_opencv_thread() -> None:
    """Parallelism comes from the worker processes; OpenCV's own thread pool would only compete with them."""
    from twitchcam.media.video import cv2  # twitchcam.media.video sets the decoder's log level before cv2 is used

    cv2.setNumThreads(1)


def process_item(item: BatchItem, options: BatchOptions, frame_counter: FrameCounter | None = None) -> BatchRow:
    """Analyse one video into its folder and mark it complete; never raises for a bad video.

    A video `analyze` rejects becomes a `failed` row with analyze's one-line message, and results of an
    earlier analysis of the same path are removed, so the folder never disagrees with the summary.
    """
    from twitchcam.run.folder import analyse_into_folder

    start = time.perf_counter()
    folder = Path(item.out_dir)
    (folder / MARKER_FILE).unlink(missing_ok=True)  # not complete until proven again
    pending = [0]
    hooks = []
    if frame_counter is not None:
        def count(frame, observation) -> None:
            pending[0] += 1
            if pending[0] == _FRAME_REPORT_EVERY:
                frame_counter(item.rel, pending[0])
                pending[0] = 0

        hooks.append(count)
    try:
        result = analyse_into_folder(item.source, folder, report=options.report, mirrored=options.mirrored,
                                     model=options.model, params=options.params,
                                     landmarker=landmarker_for(options.model),
                                     frame_hooks=hooks)
        for note in result.notes:
            log.info("%s: %s", item.rel, note)
        analysis = result.analysis
        seconds = round(time.perf_counter() - start, 2)
        write_marker(folder, marker_record(item.rel, item.size, item.mtime_ns, mirrored=options.mirrored,
                                           model_sha256=analysis.summary["model_sha256"], report=options.report,
                                           seconds_taken=seconds))
        return BatchRow.from_summary(item.rel, "ok", analysis.summary, seconds)
    except TwitchcamError as err:
        message = str(err)
    except Exception as err:  # noqa: BLE001 - one bad video must never stop the batch
        log.debug("internal error on %s", item.source, exc_info=True)
        message = f"internal error: {type(err).__name__}: {err}"
    finally:
        if frame_counter is not None and pending[0]:
            frame_counter(item.rel, pending[0])
    _remove_results(folder)
    return BatchRow.failed(item.rel, message, round(time.perf_counter() - start, 2))


def finished_row(item: BatchItem, options: BatchOptions) -> BatchRow | None:
    """The `skipped` row of an item whose results are complete and still match its video, else None."""
    folder = Path(item.out_dir)
    marker = read_marker(folder)
    if marker is None:
        return None
    matches = (
        marker.get("size") == item.size
        and marker.get("mtime_ns") == item.mtime_ns
        and marker.get("mirrored") == options.mirrored
        and (not options.model_sha256 or marker.get("model_sha256") == options.model_sha256)
        and (marker.get("report") or not options.report)
    )
    if not matches:
        return None
    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text())
        if DetectionParameters.from_dict(summary.get("parameters") or {}) != options.params:
            return None  # analysed with other parameters (--param)
        return BatchRow.from_summary(item.rel, "skipped", summary, marker.get("seconds_taken"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def report_available() -> bool:
    """Whether this installation can write reports (`twitchcam.render.report`)."""
    try:
        from twitchcam.media.face_track import FaceTrackRecorder  # noqa: F401
        from twitchcam.render.report import write_report  # noqa: F401
    except ImportError:
        return False
    return True


def _remove_results(folder: Path) -> None:
    for name in RESULT_FILES:
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when empty: a folder can also hold the results of a sub-folder's videos
