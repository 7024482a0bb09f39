"""`run_batch`: check the arguments, find the videos, skip finished ones, run the rest, keep the summary."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from twitchcam.core.errors import OutputError, UsageError
from twitchcam.core.parameters import DetectionParameters
from twitchcam.run.batch.markers import exclusive, sweep_stale
from twitchcam.run.batch.plan import BatchOptions, find_videos, frame_count, plan
from twitchcam.run.batch.progress import Bars
from twitchcam.run.batch.rows import BatchResult, BatchRow, SummaryWriter
from twitchcam.run.batch.worker import finished_row, report_available

log = logging.getLogger(__name__)


def run_batch(
    root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    pattern: str | None = None,
    resume: bool = False,
    scheduler: str | None = None,
    report: bool = False,
    mirrored: bool = False,
    model: str | os.PathLike | None = None,
    params: DetectionParameters | None = None,
    progress: bool = False,
) -> BatchResult:
    """Analyse every video under `root` into `out`; returns one row per video found.

    `workers`: processes on this machine (default: one per core available). `scheduler`: the address of
    a Dask scheduler to run on instead (`tcp://host:8786`). `pattern`: a glob instead of the video
    extensions. `resume`: skip videos whose results in `out` are complete and still match their file.
    `report`: also write report.html per video. `params`: the detection parameters (default: the defaults).
    `progress`: bars on stderr.
    A bad video becomes a `failed` row; raises only for the batch as a whole: `UsageError` (no such
    folder, bad arguments, cluster unreachable), `ModelNotFoundError`, `OutputError` (OUT not writable).
    """
    root_path, out_path = Path(root).absolute(), Path(out).absolute()
    _check_arguments(root_path, out_path, workers, scheduler, report)
    from twitchcam.media.model import resolve_model

    # Local workers load exactly the model checked here; cluster workers look for their own (same search).
    model_file = resolve_model(model)
    options = BatchOptions(mirrored=mirrored, report=report, model_sha256=model_file.sha256,
                           params=params or DetectionParameters(),
                           model=str(model_file.path) if scheduler is None else _given(model))
    try:
        out_path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot write results to {out_path}: {err.strerror or err}") from err

    with exclusive(out_path):
        removed = sweep_stale(out_path, keep=[root_path])
        if removed:
            log.info("removed %d leftovers of an interrupted run from %s", removed, out_path)
        items = plan(root_path, out_path, find_videos(root_path, pattern=pattern, exclude=[out_path]))
        writer = SummaryWriter(out_path)
        todo = []
        for item in items:
            row = finished_row(item, options) if resume else None
            if row is None:
                todo.append(item)
            else:
                writer.rows[row.path] = row
        writer.write()
        log.info("%d videos found, %d to analyse", len(items), len(todo))
        # Longest first, so that the batch does not end waiting for one long video started last.
        frames = {item.rel: frame_count(item.source) for item in todo}
        todo.sort(key=lambda i: (-frames[i.rel], -i.size, i.rel))
        if todo:
            with Bars(progress, len(items), len(items) - len(todo), frames if scheduler is None else None) as bars:
                def finish(row: BatchRow) -> None:
                    writer.add(row)
                    bars.video_done(row)

                if scheduler is None:
                    from twitchcam.run.batch.local import run_local

                    try:
                        run_local(todo, options, finish, workers=workers or default_workers(), bars=bars)
                    finally:  # the workers have stopped: what a killed one (or Ctrl-C) left half-written can go
                        sweep_stale(out_path, keep=[root_path])
                else:
                    from twitchcam.run.batch.cluster import run_on_cluster

                    run_on_cluster(todo, options, finish, scheduler=scheduler)
    return BatchResult(out=out_path, rows=[writer.rows[i.rel] for i in items if i.rel in writer.rows])


def default_workers() -> int:
    """One worker process per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _given(model: str | os.PathLike | None) -> str | None:
    return None if model is None else str(Path(model).expanduser().absolute())


def _check_arguments(root: Path, out: Path, workers: int | None, scheduler: str | None, report: bool) -> None:
    if not root.exists():
        raise UsageError(f"folder not found: {root}")
    if not root.is_dir():
        raise UsageError(f"not a folder: {root}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out exists and is not a folder: {out}")
    if os.path.realpath(out) == os.path.realpath(root):
        raise UsageError("--out must not be the folder of videos itself (use a new folder or a sub-folder)")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    if workers is not None and scheduler is not None:
        raise UsageError("--workers is for local runs; a Dask cluster has its own workers")
    if scheduler is not None:
        from twitchcam.run.batch.cluster import check_address

        check_address(scheduler)
    if report and not report_available():
        raise UsageError("--report needs twitchcam.render.report, which this installation does not have")
