"""Options and set-up shared by every `twitchcam` command, defined once so their help reads the same."""

from __future__ import annotations

import logging

import click

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
