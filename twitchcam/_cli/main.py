"""The `twitchcam` command. Errors become one line on stderr and a documented exit code.

Exit codes: 0 analysed; 1 internal error or results not writable; 2 bad usage, file or model not found;
3 not a readable video, or no such camera; 4 no face in any frame; 5 `batch` finished but some videos failed
(see batch_summary.csv); 130 interrupted.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import TYPE_CHECKING

import click

from twitchcam import __version__
from twitchcam._cli.options import configure_logging, debug_option, mirrored_option, model_option, param_option
from twitchcam.core.errors import TwitchcamError

if TYPE_CHECKING:
    from twitchcam.core.parameters import DetectionParameters

EXIT_INTERRUPTED = 130


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="twitchcam")
def cli() -> None:
    """Find one-sided facial spasms (hemifacial spasm) in face videos.

    Results are estimates for clinicians and patients to discuss, not a diagnosis.
    """


@cli.command()
@click.argument("video", type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=str),
              help="Folder for events.csv, frames.csv and summary.json  [default: <video stem>_twitchcam/ "
                   "next to the video]")
@mirrored_option
@model_option
@click.option("--quiet", is_flag=True, help="No progress bar and no result line.")
@debug_option
@click.option("--report", "make_report", is_flag=True,
              help="Also write report.html (one self-contained file for clinicians) and timeline.png.")
@click.option("--annotate", is_flag=True,
              help="Also write annotated.webm: the video with outlines, per-side bars and a banner during spasms.")
@click.option("--label", metavar="TEXT",
              help="With --report: the patient or visit, for the report's first-page summary (e.g. \"J. Smith\").")
@param_option
def analyze(video: str, out_dir: str | None, mirrored: bool, model: str | None, quiet: bool, debug: bool,
            make_report: bool, annotate: bool, label: str | None, params: DetectionParameters) -> None:
    """Analyse VIDEO and write its events, per-frame signals and summary."""
    from twitchcam.run.folder import analyse_into_folder
    from twitchcam.run.pipeline import default_out_dir

    configure_logging(debug)
    out = out_dir or default_out_dir(video)
    result = analyse_into_folder(video, out, report=make_report, annotate=annotate, mirrored=mirrored, model=model,
                                 params=params, progress=not quiet and sys.stderr.isatty(), label=label)
    for note in result.notes:
        click.echo(f"twitchcam: warning: {note}", err=True)
    if not quiet:
        s = result.analysis.summary
        click.echo(f"{s['n_events']} events ({s['events_per_min']:.1f}/min, {s['spasm_percent']:.1f}% of the time), "
                   f"affected side: {s['affected_side']}; results in {out}")
        for warning in s["quality_warnings"]:
            click.echo(f"twitchcam: warning: {warning}", err=True)


@cli.group()
def models() -> None:
    """Install or locate MediaPipe's two models: the face landmark model and the per-eye model."""


@models.command("fetch")
@click.option("--from", "sources", multiple=True, type=click.Path(dir_okay=False, path_type=str),
              help="Install from this local copy instead of downloading: face_landmarker.task or iris_landmark.tflite, "
                   "recognised by its sha256 (give --from twice for both).")
@click.option("--dest", type=click.Path(file_okay=False, path_type=str),
              help="Folder to install them in  [default: the user cache folder]")
def models_fetch(sources: tuple[str, ...], dest: str | None) -> None:
    """Install face_landmarker.task and iris_landmark.tflite, each only if missing or damaged, checking their sha256."""
    from twitchcam.media.model import install_models

    for done in install_models(sources, dest):
        state = "installed" if done.written else "already installed"
        click.echo(f"{state} {done.file.path} (sha256 {done.file.sha256})")


@models.command("path")
def models_path() -> None:
    """Print the two model files twitchcam would use (without downloading): the face model, then the eye model."""
    from twitchcam.media.model import resolve_eye_model, resolve_model

    click.echo(resolve_model(download=False).path)
    click.echo(resolve_eye_model(download=False).path)


# Commands defined in their own modules are registered here, one line each.
from twitchcam._cli.batch import batch  # noqa: E402
from twitchcam._cli.diary import diary, history  # noqa: E402
from twitchcam._cli.evaluate import evaluate  # noqa: E402
from twitchcam._cli.live import live  # noqa: E402
from twitchcam._cli.params import params_command  # noqa: E402
from twitchcam._cli.report import report  # noqa: E402
from twitchcam._cli.serve import serve  # noqa: E402
from twitchcam._cli.synth import synth  # noqa: E402

cli.add_command(batch)
cli.add_command(evaluate)
cli.add_command(synth)
cli.add_command(report)
cli.add_command(serve)
cli.add_command(live)
cli.add_command(diary)
cli.add_command(history)
cli.add_command(params_command)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args or os.environ.get("TWITCHCAM_DEBUG", "") == "1"
    try:
        cli.main(args=args, prog_name="twitchcam", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.NoArgsIsHelpError as err:
        click.echo(err.ctx.get_help() if err.ctx else str(err))
        return 2
    except click.ClickException as err:  # bad usage: one line, not click's usage block
        click.echo(f"twitchcam: error: {err.format_message()}", err=True)
        return 2
    except click.Abort:
        click.echo("twitchcam: error: interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("twitchcam: error: interrupted", err=True)
        return EXIT_INTERRUPTED
    except TwitchcamError as err:
        if debug:
            traceback.print_exc()
        click.echo(f"twitchcam: error: {err}", err=True)
        return err.exit_code
    except Exception as err:  # noqa: BLE001 - the last resort must catch everything
        if debug:
            traceback.print_exc()
        click.echo(f"twitchcam: error: internal error: {type(err).__name__}: {err} (run with --debug for details)",
                   err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
