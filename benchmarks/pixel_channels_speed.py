"""Milliseconds per frame of the skin displacement channels (`twitchcam.media.skin_motion.SkinMotion.update`: four
patches, cheek and upper lid on both sides) on real frames.

    python benchmarks/pixel_channels_speed.py [CLIP ...] [--frames N]

For each clip (default: samples/hfs_left.mp4), the face landmarker runs once over the first N frames
(default 150); then, with the landmarks fixed, `SkinMotion.update` is timed over the same frames 3 times
(a fresh tracker each time, so the reference pictures and their median refreshes are counted). One thread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eye_model_speed import REPO, faces, per_call_ms, summary  # noqa: E402

from twitchcam.media.landmarks import FaceLandmarker  # noqa: E402
from twitchcam.media.model import resolve_model  # noqa: E402
from twitchcam.media.skin_motion import SkinMotion  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path)
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    clips = args.clips or [REPO / "samples" / "hfs_left.mp4"]
    print(f"{'ms per frame (four patches)':<62} {'median':>7} {'p95':>7} {'mean':>7}")
    with FaceLandmarker(resolve_model().path) as landmarker:
        for clip in clips:
            frames = faces(clip, landmarker, args.frames)
            trackers: list[SkinMotion] = []

            def update(i: int, frames=frames, trackers=trackers) -> None:
                if i == 0:
                    trackers.append(SkinMotion())
                trackers[-1].update(i / 25.0, *frames[i])

            print(summary(f"SkinMotion.update, {clip.name} ({len(frames)} frames)", per_call_ms(update, len(frames))))


if __name__ == "__main__":
    main()
