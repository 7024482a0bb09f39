"""Peak memory and speed of `twitchcam analyze` on a long recording against a short one made the same way.

    python benchmarks/long_input.py [--minutes 30] [--short-minutes 3] [--fps 30] [--size 640x480] [--work DIR]

Builds, at run time under /tmp (never committed), two clips of the shipped sample's face
(samples/hfs_left.mp4, looped forwards and backwards so the loop has no jump, resized to --size), encoded
as H.264 (libx264, ultrafast) with tests/corpus.py's `long_face_clip`, the generator the slow test
`test_a_30_minute_clip_needs_no_more_memory_than_a_3_minute_one` uses at 4 fps and 192x192. Each is
then analysed by `twitchcam analyze` in its own process; the peak resident memory is the process's
VmHWM (read from /proc every 20 ms until it exits), so it is the analysis's own, not that of this script.

Prints, per clip: frames, wall time, frames per second (decode + MediaPipe + signals + detection +
writing), peak RSS, and the long clip's peak RSS as a multiple of the short one's. Needs the model
($TWITCHCAM_MODEL, or `twitchcam models fetch`). 30 minutes at 30 fps is 54,000 frames: about 12 minutes
of analysis on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from corpus import long_face_clip, peak_rss_mb  # noqa: E402 - the tests' clip maker


def analyse(clip: Path, out: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of `twitchcam analyze clip --out out`."""
    start = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "twitchcam._cli.main", "analyze", str(clip), "--quiet",
                                "--out", str(out)], stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, np.nan_to_num(peak_rss_mb(process.pid)))
        time.sleep(0.02)
    seconds = time.monotonic() - start
    if process.returncode != 0:
        raise SystemExit(f"twitchcam analyze {clip} failed ({process.returncode}): {process.stderr.read()}")
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--short-minutes", type=float, default=3)
    parser.add_argument("--fps", type=float, default=30)
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT of the frames")
    parser.add_argument("--work", type=Path, help="folder for the clips and results [default: a temporary one]")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.lower().split("x"))

    work = args.work or Path(tempfile.mkdtemp(prefix="twitchcam-long-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"clips and results in {work}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    results = {}
    for minutes in (args.short_minutes, args.minutes):
        clip = work / f"face_{minutes:g}min_{args.fps:g}fps_{width}x{height}.mp4"
        if not clip.exists():
            start = time.monotonic()
            long_face_clip(clip, minutes, fps=args.fps, size=(width, height))
            print(f"encoded {clip.name} in {time.monotonic() - start:.0f} s ({clip.stat().st_size / 1e6:.0f} MB)")
        seconds, peak = analyse(clip, work / f"out_{minutes:g}min")
        frames = round(minutes * 60 * args.fps)
        results[minutes] = peak
        print(f"{minutes:g} min: {frames} frames in {seconds:.1f} s = {frames / seconds:.1f} fps, "
              f"peak RSS {peak:.0f} MB (load average {os.getloadavg()[0]:.2f})")
    short, long = results[args.short_minutes], results[args.minutes]
    print(f"peak RSS {args.minutes:g} min / {args.short_minutes:g} min: {long / short:.2f}x")


if __name__ == "__main__":
    main()
