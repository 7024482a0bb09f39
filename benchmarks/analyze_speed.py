"""Frames per second of `twitchcam.analyze` on the shipped samples (and any clips given as arguments).

    python benchmarks/analyze_speed.py [CLIP ...]

Prints one line per clip: frames, size, wall time and frames per second, including decoding, MediaPipe,
signals, detection and writing the outputs. The model is loaded once before timing starts.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from twitchcam.media.landmarks import FaceLandmarker
from twitchcam.media.model import resolve_model
from twitchcam.run.pipeline import analyze

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> None:
    clips = [Path(a) for a in argv] or sorted((REPO / "samples").glob("*.mp4"))
    with FaceLandmarker(resolve_model().path) as landmarker, tempfile.TemporaryDirectory() as tmp:
        print(f"{'clip':<40} {'frames':>7} {'size':>9} {'seconds':>8} {'fps':>7}")
        for clip in clips:
            start = time.perf_counter()
            result = analyze(clip, out=Path(tmp) / clip.stem, landmarker=landmarker)
            elapsed = time.perf_counter() - start
            s = result.summary
            print(f"{clip.name:<40} {s['frames']:>7} {s['width']:>4}x{s['height']:<4} {elapsed:>8.2f} "
                  f"{s['frames'] / elapsed:>7.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
