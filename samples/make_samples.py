"""Generate twitchcam's sample clips from a real photograph.

The still is scikit-image's ``astronaut`` photo (Eileen Collins, NASA, public domain). MediaPipe Face
Landmarker is run once on the upscaled face crop; every frame is then rendered by warping that still with
:func:`twitchcam.synth.warp.warp_face` (eyelid closures, cheek rise, mouth-corner pull), followed by a slow,
small head motion (the same in both clips) and a little seeded sensor noise.

Writes, next to this script (or into ``--out-dir``):

* ``hfs_left.mp4`` + ``hfs_left.truth.csv``: normal bilateral blinks and left-sided hemifacial spasm
  events (clonic trains, single jerks, tonic spasms), one truth row per spasm event;
* ``normal_blinks.mp4`` + ``normal_blinks.truth.csv``: only normal bilateral blinks (header-only truth).

Run from the repository root: ``python samples/make_samples.py [--model PATH]``. The output is
deterministic (fixed seeds); the truth files are identical on every run.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # allow `python samples/make_samples.py` without installing the package
    sys.path.insert(0, str(REPO_ROOT))

from twitchcam.synth.warp import warp_face  # noqa: E402

FPS = 30
FRAME_SIZE = 480  # output frames are FRAME_SIZE x FRAME_SIZE
# Face crop in the 512x512 astronaut photo: centre and side of the square shown in the output frame.
CROP_CENTRE = (225.0, 128.0)
CROP_SIDE = 160.0
# The still is rendered with this much extra margin around the crop, so head motion never shows a border.
CANVAS_MARGIN = 1.3
NOISE_SIGMA = 1.5  # sensor noise, grey levels (per channel, per frame)
SEEDS = {"hfs_left": 20240601, "normal_blinks": 20240602}
TRUTH_COLUMNS = ("start_s", "end_s", "side", "regions", "kind", "amplitude")
REGION_ORDER = ("eye", "brow", "cheek", "mouth")


# --------------------------------------------------------------------------------------------------
# Activation profiles (all return a value in 0..1 at time t seconds after the onset)
# --------------------------------------------------------------------------------------------------

def _rise(x: float) -> float:
    """Smooth 0 -> 1 over x in [0, 1] (half a cosine), flat at both ends."""
    x = min(max(x, 0.0), 1.0)
    return math.sin(0.5 * math.pi * x) ** 2


@dataclass(frozen=True)
class Pulse:
    """Close / hold / release pulse: a blink or a clonic jerk. Durations in seconds."""

    close_s: float
    hold_s: float
    open_s: float

    @property
    def duration_s(self) -> float:
        return self.close_s + self.hold_s + self.open_s

    def __call__(self, t: float) -> float:
        if t < 0.0 or t >= self.duration_s:
            return 0.0
        if t < self.close_s:
            return _rise(t / self.close_s)
        if t < self.close_s + self.hold_s:
            return 1.0
        return 1.0 - _rise((t - self.close_s - self.hold_s) / self.open_s)


@dataclass(frozen=True)
class Tonic:
    """Sustained contraction with ramps, and a slight ~6 Hz fluctuation on the plateau (as in real spasms)."""

    duration: float
    ramp_s: float = 0.15
    tremor: float = 0.04
    tremor_hz: float = 6.0

    @property
    def duration_s(self) -> float:
        return self.duration

    def __call__(self, t: float) -> float:
        if t < 0.0 or t >= self.duration:
            return 0.0
        level = min(_rise(t / self.ramp_s), _rise((self.duration - t) / self.ramp_s))
        return level * (1.0 - self.tremor * 0.5 * (1.0 - math.cos(2.0 * math.pi * self.tremor_hz * t)))


# --------------------------------------------------------------------------------------------------
# Timelines
# --------------------------------------------------------------------------------------------------

@dataclass
class Event:
    """One truth-table event: one or more pulses (a clonic train) or one tonic spasm, on one side."""

    kind: str  # "blink", "clonic" or "tonic"
    side: str  # "both" for blinks, else the subject's side
    onsets_s: list[float]  # onset of every pulse, seconds (rounded to frames when rendered)
    profile: Pulse | Tonic
    amplitudes: dict[str, float] = field(default_factory=dict)  # warp amounts at full activation

    def frames(self) -> list[int]:
        return [round(t * FPS) for t in self.onsets_s]

    def span_frames(self) -> tuple[int, int]:
        """First frame of the first pulse and the frame just after the last pulse ends."""
        onsets = self.frames()
        return onsets[0], onsets[-1] + math.ceil(self.profile.duration_s * FPS - 1e-9)

    def activation(self, frame: int) -> float:
        return max(self.profile((frame - f0) / FPS) for f0 in self.frames())


def _blink(onset_s: float, close_s: float = 0.09, hold_s: float = 0.04, open_s: float = 0.14) -> Event:
    """Normal blink: both eyes close fully together (~250-300 ms, quick close, slower opening)."""
    return Event("blink", "both", [onset_s], Pulse(close_s, hold_s, open_s), {"eye": 1.0})


JERK = Pulse(0.045, 0.025, 0.07)  # brief clonic twitch, ~140 ms
LONG_JERK = Pulse(0.07, 0.03, 0.10)  # single clonic jerk, ~200 ms


def hfs_left_timeline() -> tuple[float, list[Event]]:
    """~24 s: bilateral blinks every 3-5 s and left-sided spasms in between (>= 1 s from any blink)."""
    events = [
        _blink(1.2),
        # (a) clonic train, eye only: 3 jerks at ~3/s
        Event("clonic", "left", [2.6, 2.933, 3.3], JERK, {"eye": 0.6}),
        _blink(4.8, 0.10, 0.03, 0.15),
        # (b) tonic spasm eye + cheek + mouth, ~1.5 s with ~150 ms ramps
        Event("tonic", "left", [6.2], Tonic(1.5), {"eye": 0.7, "cheek": 0.05, "mouth": 0.06}),
        _blink(9.0, 0.08, 0.04, 0.13),
        # (c) single clonic jerk eye + cheek + mouth, ~200 ms
        Event("clonic", "left", [10.4], LONG_JERK, {"eye": 0.65, "cheek": 0.04, "mouth": 0.05}),
        _blink(12.3),
        # (d) tonic spasm eye only, ~1 s
        Event("tonic", "left", [13.7], Tonic(1.0), {"eye": 0.5}),
        _blink(16.0, 0.10, 0.04, 0.16),
        # (e) clonic train of 2 jerks, eye + cheek
        Event("clonic", "left", [17.4, 17.733], JERK, {"eye": 0.6, "cheek": 0.04}),
        _blink(19.6, 0.09, 0.03, 0.14),
        _blink(23.0),
    ]
    return 24.0, events


def normal_blinks_timeline() -> tuple[float, list[Event]]:
    """~20 s of normal bilateral blinks every 3-5 s, slightly varied."""
    events = [
        _blink(1.0),
        _blink(4.6, 0.10, 0.03, 0.15),
        _blink(8.9, 0.08, 0.04, 0.13),
        _blink(12.2),
        _blink(15.9, 0.10, 0.04, 0.16),
        _blink(19.0, 0.09, 0.03, 0.14),
    ]
    return 20.0, events


def _check_timeline(duration_s: float, events: list[Event]) -> None:
    """Events must not overlap, spasms must keep >= 1 s from blinks, and all must fit in the clip."""
    spans = sorted((e.span_frames(), e.kind) for e in events)
    for ((a0, a1), ka), ((b0, b1), kb) in zip(spans, spans[1:]):
        gap = b0 - a1
        needed = FPS if "blink" in (ka, kb) and ka != kb else 1
        if gap < needed:
            raise ValueError(f"events too close: {ka} {a0}-{a1} and {kb} {b0}-{b1} (frames)")
    if spans and spans[-1][0][1] > round(duration_s * FPS):
        raise ValueError("an event runs past the end of the clip")


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------

def head_motion(t: float) -> tuple[float, float, float, float]:
    """Slow, small, smooth head motion at time t: (roll degrees, dx px, dy px, scale).

    Sums of slow sines with unrelated periods: roll within about +-2.5 deg, translation within a few
    pixels, scale within +-2 %. A function of time only, so both clips get the same motion.
    """
    tau = 2.0 * math.pi * t
    roll = 1.8 * math.sin(tau / 9.7 + 0.4) + 0.7 * math.sin(tau / 4.3 + 1.3)
    dx = 3.0 * math.sin(tau / 11.3 + 2.1) + 1.0 * math.sin(tau / 3.9 + 0.2)
    dy = 2.0 * math.sin(tau / 7.9 + 0.9) + 0.8 * math.sin(tau / 5.1 + 2.6)
    scale = 1.0 + 0.015 * math.sin(tau / 13.1 + 0.8) + 0.005 * math.sin(tau / 3.7 + 1.9)
    return roll, dx, dy, scale


def _canvas() -> tuple[np.ndarray, float]:
    """The upscaled face still (BGR) with a margin around the output crop, and the upscale factor."""
    from skimage import data  # the photo ships with scikit-image

    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    zoom = FRAME_SIZE / CROP_SIDE
    side = CROP_SIDE * CANVAS_MARGIN
    canvas_px = int(round(side * zoom))
    # Affine from canvas pixels to photo pixels (centres aligned), then sample with Lanczos.
    src_x0 = CROP_CENTRE[0] - side / 2.0
    src_y0 = CROP_CENTRE[1] - side / 2.0
    to_photo = np.array([[1.0 / zoom, 0.0, src_x0 + 0.5 / zoom - 0.5],
                         [0.0, 1.0 / zoom, src_y0 + 0.5 / zoom - 0.5]])
    canvas = cv2.warpAffine(photo, to_photo, (canvas_px, canvas_px), flags=cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REFLECT)
    return canvas, zoom


def _landmarks(image_bgr: np.ndarray, model: Path) -> np.ndarray:
    """(478, 2) pixel landmarks of the single face in ``image_bgr`` (MediaPipe Face Landmarker, IMAGE mode)."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.FaceLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model)),
                                           running_mode=vision.RunningMode.IMAGE, num_faces=1)
    with vision.FaceLandmarker.create_from_options(options) as landmarker:
        rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
    if not result.face_landmarks:
        raise RuntimeError("MediaPipe found no face in the still")
    h, w = image_bgr.shape[:2]
    return np.array([[p.x * w, p.y * h] for p in result.face_landmarks[0]], dtype=np.float64)


def _render_frame(canvas: np.ndarray, landmarks: np.ndarray, events: list[Event], frame: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Face warp for this frame's active event, then head motion, then sensor noise."""
    face = canvas
    for event in events:
        level = event.activation(frame)
        if level > 0.0:
            amounts = {region: amp * level for region, amp in event.amplitudes.items()}
            face = warp_face(canvas, landmarks, event.side, **amounts)
            break  # the timeline guarantees that events never overlap
    roll, dx, dy, scale = head_motion(frame / FPS)
    centre = (canvas.shape[1] - 1) / 2.0, (canvas.shape[0] - 1) / 2.0
    matrix = cv2.getRotationMatrix2D(centre, roll, scale)
    out_centre = (FRAME_SIZE - 1) / 2.0
    matrix[0, 2] += out_centre - centre[0] + dx
    matrix[1, 2] += out_centre - centre[1] + dy
    moved = cv2.warpAffine(face, matrix, (FRAME_SIZE, FRAME_SIZE), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    noisy = moved.astype(np.float32) + rng.normal(0.0, NOISE_SIGMA, moved.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def _write_truth(path: Path, events: list[Event]) -> None:
    rows = []
    for e in sorted(events, key=lambda e: e.span_frames()):
        if e.kind == "blink":
            continue
        f0, f1 = e.span_frames()
        regions = ";".join(r for r in REGION_ORDER if e.amplitudes.get(r, 0.0) > 0.0)
        amplitude = e.amplitudes.get("eye", 0.0)
        rows.append((f"{f0 / FPS:.3f}", f"{f1 / FPS:.3f}", e.side, regions, e.kind, f"{amplitude:.2f}"))
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(TRUTH_COLUMNS)
        writer.writerows(rows)


def make_clip(name: str, duration_s: float, events: list[Event], canvas: np.ndarray, landmarks: np.ndarray,
              out_dir: Path) -> Path:
    """Render and write ``<name>.mp4`` and ``<name>.truth.csv``; returns the video path."""
    _check_timeline(duration_s, events)
    rng = np.random.default_rng(SEEDS[name])
    video = out_dir / f"{name}.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (FRAME_SIZE, FRAME_SIZE))
    if not writer.isOpened():
        raise RuntimeError(f"cannot open a video writer for {video}")
    try:
        for frame in range(round(duration_s * FPS)):
            writer.write(_render_frame(canvas, landmarks, events, frame, rng))
    finally:
        writer.release()
    _write_truth(out_dir / f"{name}.truth.csv", events)
    return video


def default_model() -> Path:
    """$TWITCHCAM_MODEL, else models/face_landmarker.task in the repo, else ../shared/models/ next to it."""
    env = os.environ.get("TWITCHCAM_MODEL")
    if env:
        return Path(env)
    candidates = [REPO_ROOT / "models" / "face_landmarker.task",
                  REPO_ROOT.parent / "shared" / "models" / "face_landmarker.task"]
    for path in candidates:
        if path.is_file():
            return path
    return candidates[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None,
                        help="MediaPipe face_landmarker.task (default: $TWITCHCAM_MODEL, models/face_landmarker.task, "
                             "or ../shared/models/face_landmarker.task relative to the repo root)")
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent,
                        help="where to write the clips and truth files (default: this script's folder)")
    args = parser.parse_args(argv)
    model = args.model or default_model()
    if not model.is_file():
        parser.error(f"MediaPipe model not found: {model} (pass --model or set TWITCHCAM_MODEL)")
    args.out_dir.mkdir(parents=True, exist_ok=True)

    canvas, _ = _canvas()
    landmarks = _landmarks(canvas, model)
    for name, timeline in (("hfs_left", hfs_left_timeline), ("normal_blinks", normal_blinks_timeline)):
        duration_s, events = timeline()
        video = make_clip(name, duration_s, events, canvas, landmarks, args.out_dir)
        print(f"wrote {video} ({video.stat().st_size} bytes, {duration_s:.1f} s) and {name}.truth.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
