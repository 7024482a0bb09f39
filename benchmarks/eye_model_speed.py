"""Milliseconds per frame of the per-eye model (`twitchcam.media.eye_model.EyeModel.read`, both eyes) on real frames.

    python benchmarks/eye_model_speed.py [CLIP ...] [--frames N]

For each clip (default: samples/hfs_left.mp4), the face landmarker runs once over the first N frames
(default 150); then, with the landmarks fixed, `EyeModel.read` (crop, resample, one batch of two eyes,
lid openings) is timed over the same frames 3 times. For comparison it also times the interpreter alone,
as one batch of two and as two single-eye calls, to show why `EyeModel` batches. One thread, as analyze uses.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from twitchcam.media.eye_model import CROP_SIZE, EyeModel
from twitchcam.media.landmarks import FaceLandmarker
from twitchcam.media.model import resolve_eye_model, resolve_model
from twitchcam.media.video import VideoReader

REPO = Path(__file__).resolve().parent.parent
REPEATS = 3


def faces(clip: Path, landmarker: FaceLandmarker, limit: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image, landmarks) of the first `limit` frames with a face."""
    found = []
    landmarker.reset()
    with VideoReader(clip) as reader:
        for frame in reader:
            observation = landmarker.observe(frame.index, frame.t_s, frame.image)
            if observation.face:
                found.append((frame.image, observation.landmarks))
            if len(found) >= limit:
                break
    return found


def per_call_ms(function, count: int) -> list[float]:
    """Milliseconds of each call of `function(i)` for i in range(count), repeated REPEATS times."""
    times = []
    for _ in range(REPEATS):
        for i in range(count):
            start = time.perf_counter()
            function(i)
            times.append(1000 * (time.perf_counter() - start))
    return times


def interpreter_ms(batch: int, calls: int, count: int) -> list[float]:
    """The interpreter alone on random crops: `calls` invocations of a batch of `batch` eyes per frame."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(resolve_eye_model().path), num_threads=1)
    interpreter.resize_tensor_input(0, [batch, CROP_SIZE, CROP_SIZE, 3])
    interpreter.allocate_tensors()
    crops = np.random.default_rng(0).random((batch, CROP_SIZE, CROP_SIZE, 3), dtype=np.float32)

    def frame(_: int) -> None:
        for _ in range(calls):
            interpreter.set_tensor(0, crops)
            interpreter.invoke()

    frame(0)
    return per_call_ms(frame, count)


def summary(name: str, times: list[float]) -> str:
    return f"{name:<62} {np.median(times):>7.2f} {np.percentile(times, 95):>7.2f} {np.mean(times):>7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path)
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    clips = args.clips or [REPO / "samples" / "hfs_left.mp4"]
    print(f"{'ms per frame (both eyes)':<62} {'median':>7} {'p95':>7} {'mean':>7}")
    with FaceLandmarker(resolve_model().path) as landmarker, EyeModel() as eye_model:
        for clip in clips:
            frames = faces(clip, landmarker, args.frames)
            eye_model.read(*frames[0])  # the first call allocates
            times = per_call_ms(lambda i, frames=frames: eye_model.read(*frames[i]), len(frames))
            print(summary(f"EyeModel.read, {clip.name} ({len(frames)} frames)", times))
    print(summary("interpreter only, one batch of 2", interpreter_ms(2, 1, args.frames)))
    print(summary("interpreter only, 2 calls of 1", interpreter_ms(1, 2, args.frames)))


if __name__ == "__main__":
    main()
