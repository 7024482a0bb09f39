"""Speed of `twitchcam live` at 640x480: frames per second and capture-to-display delay (issue #7's targets:
>= 25 fps, <= 100 ms).

    python benchmarks/live.py [--seconds 60]

A 640x480 camera stand-in is made from samples/hfs_left.mp4 (looped, padded to 4:3) and played through the
live session loop at its own 30 fps, as a camera delivers frames: once headless, once with the window on a
virtual screen (Xvfb, started here when there is no DISPLAY), and once unpaced to show how many frames per
second the loop could take. The delay is from the moment a frame is due (a camera would have taken it) to
the moment it has been analysed and shown. Also printed: how long after each spasm ends it is final.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from twitchcam.media.landmarks import FaceLandmarker
from twitchcam.media.model import resolve_model
from twitchcam.media.video import VideoReader, cv2
from twitchcam.run.live.session import run_session
from twitchcam.run.live.sources import FileSource

REPO = Path(__file__).resolve().parent.parent
SIZE = (640, 480)


def make_clip(path: Path, seconds: float) -> Path:
    """samples/hfs_left.mp4 looped to `seconds` and padded to 640x480, at 30 fps."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, SIZE)
    written = 0
    while written < seconds * 30:
        with VideoReader(REPO / "samples" / "hfs_left.mp4") as reader:
            for frame in reader:
                image = cv2.resize(frame.image, (SIZE[1], SIZE[1]))
                writer.write(cv2.copyMakeBorder(image, 0, 0, 80, 80, cv2.BORDER_REPLICATE))
                written += 1
                if written >= seconds * 30:
                    break
    writer.release()
    return path


def run(clip: Path, landmarker: FaceLandmarker, sha256: str, *, realtime: bool, window: bool) -> None:
    source = FileSource(clip, realtime=realtime)
    live_window = None
    if window:
        from twitchcam.run.live.window import LiveWindow

        live_window = LiveWindow(*SIZE, mirrored=False)
    final_after = []  # seconds from a spasm's end to its release as final (real time when paced)
    start = time.perf_counter()
    result = run_session(source, landmarker, sha256, window=live_window,
                         on_event=lambda _id, event: final_after.append(time.perf_counter() - start - event.end_s))
    t = result.timing
    mode = ("window" if window else "headless") + (", at 30 fps" if realtime else ", unpaced")
    final = f"final {np.median(final_after):.2f} s (max {max(final_after):.2f}) after the end" if realtime else ""
    delay = (f"delay p50 {t.latency_ms(50):5.1f} ms  p95 {t.latency_ms(95):5.1f} ms  max {t.latency_ms(100):6.1f} ms"
             if realtime else "(frames are due before they are read: no delay)")
    print(f"{mode:<22} {t.frames:>6} frames {t.wall_s:>6.1f} s {t.fps:>6.1f} fps   {delay}   "
          f"{result.analysis.summary['n_events']} events {final}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    model = resolve_model()
    xvfb = None
    if not os.environ.get("DISPLAY") and shutil.which("Xvfb"):
        xvfb = subprocess.Popen(["Xvfb", ":77", "-screen", "0", "1024x768x24"], stderr=subprocess.DEVNULL)
        os.environ["DISPLAY"] = ":77"
        time.sleep(1.0)
    try:
        with tempfile.TemporaryDirectory() as tmp, FaceLandmarker(model.path) as landmarker:
            clip = make_clip(Path(tmp) / "camera.mp4", args.seconds)
            print(f"{args.seconds:.0f} s of 640x480 video at 30 fps, {os.cpu_count()} cores")
            run(clip, landmarker, model.sha256, realtime=True, window=False)
            if os.environ.get("DISPLAY"):
                run(clip, landmarker, model.sha256, realtime=True, window=True)
            run(clip, landmarker, model.sha256, realtime=False, window=False)
    finally:
        if xvfb is not None:
            xvfb.terminate()


if __name__ == "__main__":
    main()
