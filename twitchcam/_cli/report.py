"""`twitchcam report OUTDIR`, and the extra outputs of `twitchcam analyze --report/--annotate`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from twitchcam._cli.options import configure_logging, debug_option


def write_extras(video: str, out: str | Path, result, track, *, report: bool, annotate: bool, quiet: bool) -> None:
    """After `analyze`: annotated.webm (second decode-only pass) and report.html + timeline.png."""
    progress = not quiet and sys.stderr.isatty()
    with track:
        if annotate:
            from twitchcam.render.annotate import annotate_analysis

            annotate_analysis(video, out, result.events, result.frames, result.summary, track, progress=progress)
        if report:
            from twitchcam.render.report import write_report

            written = write_report(out, result.events, result.frames, result.summary, video=video, track=track)
            _warn(written.notes)


@click.command("report")
@click.argument("out_dir", metavar="OUTDIR", type=click.Path(file_okay=False, path_type=str))
@click.option("--video", type=click.Path(dir_okay=False, path_type=str),
              help="The analysed video, for the face pictures  [default: the `video` in summary.json]")
@click.option("--quiet", is_flag=True, help="No result line.")
@debug_option
def report(out_dir: str, video: str | None, quiet: bool, debug: bool) -> None:
    """Write report.html and timeline.png for an existing results folder OUTDIR.

    The face pictures need the video; without it the report is written without them and says so.
    """
    from twitchcam.render.report import report_folder

    configure_logging(debug)
    written = report_folder(out_dir, video=video)
    _warn(written.notes)
    if not quiet:
        click.echo(f"report in {written.html}")


def _warn(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"twitchcam: warning: {note}", err=True)
