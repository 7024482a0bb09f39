"""Options and set-up shared by every `twitchcam` command, defined once so their help reads the same."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from twitchcam.core.parameters import DetectionParameters

model_option = click.option(
    "--model", type=click.Path(dir_okay=False, path_type=str),
    help="face_landmarker.task to use  [default: $TWITCHCAM_MODEL, models/, user cache, download]",
)
mirrored_option = click.option(
    "--mirrored", is_flag=True,
    help="The recording is a mirror image (selfie preview): swap left and right.",
)
debug_option = click.option("--debug", is_flag=True, help="Verbose logging, and a traceback on errors.")


def configure_logging(debug: bool) -> None:
    """Warnings (everything with --debug) on stderr, in the `twitchcam: …` form of the error line."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="twitchcam: %(levelname)s: %(message)s")


def _parameters(ctx: click.Context, option: click.Parameter, assignments: tuple[str, ...]) -> DetectionParameters:
    """The `--param NAME=VALUE` assignments applied to the defaults (a bad one stops the command, exit 2)."""
    from twitchcam.core.parameters import DetectionParameters, ParameterError

    try:
        return DetectionParameters().with_values(assignments)
    except ParameterError as err:
        raise click.BadParameter(str(err), ctx=ctx, param=option) from None


param_option = click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", callback=_parameters,
    help="Change one detection or quality parameter, e.g. --param threshold_sigmas=4 or "
         "--param threshold_floor.eyelid_aperture=0.02 (repeatable; `twitchcam params` lists them with their "
         "defaults). The values used are recorded in summary.json.",
)
