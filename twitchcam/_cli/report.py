"""`twitchcam report OUTDIR`: the report of an existing results folder."""

from __future__ import annotations

import click

from twitchcam._cli.options import configure_logging, debug_option


@click.command("report")
@click.argument("out_dir", metavar="OUTDIR", type=click.Path(file_okay=False, path_type=str))
@click.option("--video", type=click.Path(dir_okay=False, path_type=str),
              help="The analysed video, for the face pictures  [default: the `video` in summary.json]")
@click.option("--label", metavar="TEXT",
              help="The patient or visit, for the report's first-page summary (e.g. \"J. Smith, visit 3\").")
@click.option("--quiet", is_flag=True, help="No result line.")
@debug_option
def report(out_dir: str, video: str | None, label: str | None, quiet: bool, debug: bool) -> None:
    """Write report.html and timeline.png for an existing results folder OUTDIR.

    The face pictures need the video; without it the report is written without them and says so.
    """
    from twitchcam.render.report import report_folder

    configure_logging(debug)
    written = report_folder(out_dir, video=video, label=label)
    _warn(written.notes)
    if not quiet:
        click.echo(f"report in {written.html}")


def _warn(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"twitchcam: warning: {note}", err=True)
