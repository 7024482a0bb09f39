"""`twitchcam synth`: warp realistic one-sided spasms into a real face video and write their truth."""

from __future__ import annotations

from pathlib import Path

import click

from twitchcam._cli.options import debug_option, model_option
from twitchcam.synth.clip import REGION_CHOICES


@click.command("synth")
@click.argument("video", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_video", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--truth", "truth_csv", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the truth CSV (start_s,end_s,side,regions,kind,amplitude).")
@click.option("--seed", default=0, show_default=True, help="Same seed, same spasms.")
@click.option("--events", type=click.IntRange(min=1), help="How many spasms  [default: one per 6 s]")
@click.option("--side", type=click.Choice(["left", "right", "random"]), default="random", show_default=True,
              help="Anatomical side of every spasm (HFS is one-sided).")
@click.option("--regions", multiple=True, type=click.Choice(list(REGION_CHOICES)),
              help="Allowed region sets, repeatable  [default: mostly eye alone, some with cheek and mouth]")
@click.option("--amplitude", nargs=2, type=click.FloatRange(0, 1), default=(0.35, 0.9), show_default=True,
              help="Range of the eyelid closure at the peak, as a fraction of the aperture.")
@model_option
@debug_option
def synth(video, out_video, truth_csv, seed, events, side, regions, amplitude, model, debug) -> None:
    """Write OUT_VIDEO: VIDEO with one-sided spasms warped in (.mkv/.avi: lossless FFV1; else mp4v)."""
    from twitchcam.synth.clip import inject

    truth = inject(video, out_video, truth_csv, seed=seed, events=events, side=side, regions=regions or None,
                   amplitude=tuple(amplitude), model=model)
    click.echo(f"{len(truth)} spasms injected into {out_video}; truth in {truth_csv}")
