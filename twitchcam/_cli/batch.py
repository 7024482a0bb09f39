"""`twitchcam batch DIR --out OUT`: every video under a folder, in parallel here or on a Dask cluster.

Exit codes: 0 every video analysed (or skipped by --resume), also when no video was found; 5 some videos
failed (their rows in batch_summary.csv say why); 2 bad usage; 1 internal error or OUT not writable;
130 interrupted (finished rows are kept; run again with --resume).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from twitchcam._cli.options import configure_logging, debug_option, mirrored_option, model_option, param_option

if TYPE_CHECKING:
    from twitchcam.core.parameters import DetectionParameters


@click.command()
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder for the results: OUT/<path in DIR without extension>/ per video, and "
                   "OUT/batch_summary.csv.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Worker processes on this machine  [default: one per core]")
@click.option("--pattern", metavar="GLOB",
              help="Only files whose path in DIR matches GLOB from the right (e.g. '*.MTS', 'visit-*/*.mp4') "
                   "[default: mp4, mov, m4v, avi, mkv, webm in any case]")
@click.option("--resume", is_flag=True,
              help="Skip videos whose results in OUT are complete and whose file has not changed.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786).")
@click.option("--report", is_flag=True,
              help="Also write report.html and timeline.png for every video, as `analyze --report` does.")
@mirrored_option
@model_option
@param_option
@click.option("--quiet", is_flag=True, help="No progress bars and no result line.")
@debug_option
def batch(folder: str, out_dir: str, workers: int | None, pattern: str | None, resume: bool, scheduler: str | None,
          report: bool, mirrored: bool, model: str | None, params: DetectionParameters, quiet: bool,
          debug: bool) -> None:
    """Analyse every video under DIR (recursively, hidden files skipped) into OUT."""
    from twitchcam.core.errors import VideosFailedError
    from twitchcam.run.batch import run_batch

    configure_logging(debug)
    start = time.monotonic()
    result = run_batch(folder, out_dir, workers=workers, pattern=pattern, resume=resume, scheduler=scheduler,
                       report=report, mirrored=mirrored, model=model, params=params,
                       progress=not quiet and sys.stderr.isatty())
    failed = result.count("failed")
    if not result.rows:
        if not quiet:
            click.echo(f"twitchcam: warning: no videos found in {folder}", err=True)
        return
    if not quiet:
        click.echo(f"{len(result.rows)} videos: {result.count('ok')} analysed, {result.count('skipped')} already "
                   f"done, {failed} failed in {_duration(time.monotonic() - start)}; summary in "
                   f"{result.summary_path}")
    if failed:
        raise VideosFailedError(f"{failed} of {len(result.rows)} videos failed; see {result.summary_path}")


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
