"""`twitchcam live`: analyse a webcam (or a file played as one) as it streams, and keep the session in the diary."""

from __future__ import annotations

import json
import shutil
import sys
from typing import TYPE_CHECKING

import click

from twitchcam._cli.options import configure_logging, debug_option, mirrored_option, model_option, param_option
from twitchcam.run.live.protocol import PROTOCOLS

if TYPE_CHECKING:
    from twitchcam.core.parameters import DetectionParameters


@click.command()
@click.option("--camera", metavar="INDEX", help="Camera number, or a device path or stream URL  [default: 0]")
@click.option("--source", type=click.Path(dir_okay=False, path_type=str),
              help="Play this video file as if it were the camera, at its own frame rate.")
@mirrored_option
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), metavar="S",
              help="Stop after S seconds  [default: until q, the end of the file, or the protocol]")
@click.option("--protocol", type=click.Choice(sorted(PROTOCOLS)),
              help="Guided recording with on-screen prompts (rest: 60 s at rest, eyes gently closed, a smile), "
                   "so that sessions are comparable.")
@click.option("--headless", is_flag=True,
              help="No window: print each event as a JSON line (the columns of events.csv) as soon as it is final, "
                   "then one {\"summary\": ...} line.")
@click.option("--no-save", is_flag=True, help="Do not keep this session in the diary.")
@click.option("--note", help="A note kept with the session (e.g. 'tired', '2 weeks after Botox').")
@click.option("--db", type=click.Path(dir_okay=False, path_type=str),
              help="Diary file  [default: $TWITCHCAM_DIARY, or diary.sqlite3 in the user data folder]")
@click.option("--save-video", is_flag=True,
              help="Also keep the video next to the diary (by default only measurements are kept, never pictures).")
@model_option
@param_option
@debug_option
def live(camera: str | None, source: str | None, mirrored: bool, duration: float | None, protocol: str | None,
         headless: bool, no_save: bool, note: str | None, db: str | None, save_video: bool, model: str | None,
         params: DetectionParameters, debug: bool) -> None:
    """Watch the face on the camera, count one-sided spasms as they happen, and save the session.

    Keys in the window: q quits and saves, space adds a marker. Ctrl-C also ends and saves the session.
    """
    from twitchcam.core.errors import UsageError
    from twitchcam.core.events import event_record
    from twitchcam.media.landmarks import FaceLandmarker
    from twitchcam.media.model import resolve_model
    from twitchcam.run.live.protocol import Protocol
    from twitchcam.run.live.session import run_session
    from twitchcam.run.live.sources import open_source
    from twitchcam.run.live.window import LiveWindow, require_screen
    from twitchcam.store.diary import Diary

    configure_logging(debug)
    if camera is not None and source is not None:
        raise UsageError("give --camera or --source, not both")
    if save_video and no_save:
        raise UsageError("--save-video keeps the video in the diary; it cannot go with --no-save")
    if not headless:
        require_screen()
    diary = None if no_save else Diary(db)  # opened first: a diary that cannot be written fails before recording
    try:
        model_file = resolve_model(model)
        feed = open_source(camera, source)
        window = None if headless else LiveWindow(feed.info.width, feed.info.height, mirrored=mirrored)

        def print_event(event_id, event) -> None:
            click.echo(json.dumps(event_record(event_id, event)))
            sys.stdout.flush()

        with FaceLandmarker(model_file.path) as landmarker:
            result = run_session(
                feed, landmarker, model_file.sha256, mirrored=mirrored, duration_s=duration, params=params,
                protocol=Protocol(protocol) if protocol else None, window=window,
                on_event=print_event if headless else None,
                on_prompt=(lambda text: click.echo(f"twitchcam: {text}", err=True)) if headless else None,
                save_video=save_video)
        summary = result.analysis.summary
        if headless:
            click.echo(json.dumps({"summary": summary}))
        else:
            click.echo(f"{summary['n_events']} spasms in {summary['duration_s'] / 60:.1f} min "
                       f"({summary['events_per_min']:.1f}/min, {summary['spasm_percent']:.1f}% of the time), "
                       f"affected side: {summary['affected_side']}")
        for warning in summary["quality_warnings"]:
            click.echo(f"twitchcam: warning: {warning}", err=True)
        if diary is not None:
            video = None
            if result.video_file is not None:
                video = diary.path.parent / "videos" / f"{result.started_at:%Y-%m-%d_%H%M%S}.mp4"
                video.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                shutil.move(result.video_file, video)
            session_id = diary.add_session(
                started_at=result.started_at, analysis=result.analysis,
                markers=[(m.t_s, m.label) for m in result.markers],
                source=result.source, protocol=result.protocol, note=note, video_file=str(video) if video else None)
            click.echo(f"twitchcam: session {session_id} saved in {diary.path}", err=True)
    finally:
        if diary is not None:
            diary.close()
