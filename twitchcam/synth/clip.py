"""Injecting realistic one-sided spasms into a real face video, with the injected times as ground truth.

No public video of hemifacial spasm has frame-level labels, so twitchcam measures itself on real faces
(with their own blinks, speech and head motion) into which spasms are warped: clonic trains of brief jerks
and tonic pulls with ramps, led by the eye and sometimes spreading to cheek and mouth, on one side.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from twitchcam.core.errors import OutputError, UsageError
from twitchcam.media.landmarks import FaceLandmarker
from twitchcam.media.model import resolve_model
from twitchcam.media.video import VideoReader
from twitchcam.synth.warp import warp_face

TRUTH_COLUMNS = ("start_s", "end_s", "side", "regions", "kind", "amplitude")
REGION_CHOICES = ("eye", "eye;cheek", "eye;cheek;mouth")
# How far cheek, mouth and brow move for a given eye amplitude (fractions of the inter-ocular distance
# per unit of eyelid closure): a full closure raises the cheek and pulls the mouth corner by ~8% of IOD.
CHEEK_PER_EYE, MOUTH_PER_EYE, BROW_LIFT_PER_EYE = 0.08, 0.08, 0.05
LEAD_IN_S = 2.0  # no spasm in the opening seconds, which the detector uses to learn the resting face
MIN_GAP_S = 1.5


@dataclass(frozen=True)
class InjectedSpasm:
    """One planned spasm. `jerks` are (start_s, duration_s) pairs; a tonic spasm has one long 'jerk'."""

    side: str
    regions: tuple[str, ...]
    kind: str
    amplitude: float
    """Fraction of the eyelid aperture closed at the peak (0–1)."""
    jerks: tuple[tuple[float, float], ...]
    ramp_s: float
    brow_lift: bool

    @property
    def start_s(self) -> float:
        return self.jerks[0][0]

    @property
    def end_s(self) -> float:
        return self.jerks[-1][0] + self.jerks[-1][1]

    def strength(self, t_s: float) -> float:
        """0–1 contraction profile at time `t_s`: smooth rise and fall for each jerk."""
        for start, duration in self.jerks:
            if start <= t_s < start + duration:
                ramp = min(self.ramp_s, duration / 2)
                edge = min(t_s - start, start + duration - t_s)
                return 1.0 if edge >= ramp else 0.5 - 0.5 * math.cos(math.pi * edge / ramp)
        return 0.0


def plan_spasms(
    duration_s: float,
    *,
    seed: int,
    events: int | None = None,
    side: str = "random",
    regions: Sequence[str] | None = None,
    amplitude: tuple[float, float] = (0.35, 0.9),
    kinds: Sequence[str] = ("clonic", "tonic"),
) -> list[InjectedSpasm]:
    """Spasms at random, non-overlapping times (deterministic per seed), all on one side as in HFS.

    `events`: how many (default one per 6 s); `regions`: choices like "eye;cheek" (default a mix, mostly
    eye alone); `amplitude`: range of eyelid closure at the peak.
    """
    rng = np.random.default_rng(seed)
    if side == "random":
        side = str(rng.choice(["left", "right"]))
    if side not in ("left", "right"):
        raise UsageError(f"side must be left, right or random, not {side!r}")
    lo, hi = amplitude
    if not 0 < lo <= hi <= 1:
        raise UsageError(f"amplitude must satisfy 0 < LO <= HI <= 1, got {lo} {hi}")
    count = events if events is not None else max(1, int((duration_s - LEAD_IN_S) // 6))
    planned: list[InjectedSpasm] = []
    cursor = LEAD_IN_S
    room = duration_s - LEAD_IN_S - 0.5
    slot = room / max(count, 1)
    for i in range(count):
        kind = str(rng.choice(list(kinds)))
        if kind == "clonic":
            n_jerks = int(rng.integers(1, 7))
            rate = rng.uniform(2.0, 5.0)
            durations = rng.uniform(0.08, 0.2, n_jerks)
            length = (n_jerks - 1) / rate + durations[-1]
            ramp = 0.03
        else:
            length = float(rng.uniform(0.5, 3.0))
            ramp = float(rng.uniform(0.1, 0.25))
        slot_start = LEAD_IN_S + i * slot
        latest = slot_start + slot - length - MIN_GAP_S / 2
        start = float(rng.uniform(max(cursor, slot_start), max(latest, max(cursor, slot_start))))
        if start + length > duration_s - 0.3:
            break
        if kind == "clonic":
            jerks = tuple((start + k / rate, float(d)) for k, d in enumerate(durations))
        else:
            jerks = ((start, length),)
        chosen = str(rng.choice(list(regions))) if regions else str(
            rng.choice(list(REGION_CHOICES), p=[0.5, 0.2, 0.3]))
        planned.append(InjectedSpasm(
            side=side, regions=tuple(chosen.split(";")), kind=kind, amplitude=round(float(rng.uniform(lo, hi)), 3),
            jerks=jerks, ramp_s=ramp, brow_lift=bool(rng.random() < 0.3),
        ))
        cursor = start + length + MIN_GAP_S
    return planned


def truth_table(spasms: Sequence[InjectedSpasm]) -> pd.DataFrame:
    """The truth CSV: one row per spasm (a clonic train is one row)."""
    rows = [
        (round(s.start_s, 4), round(s.end_s, 4), s.side,
         ";".join(s.regions + (("brow",) if s.brow_lift else ())), s.kind, s.amplitude)
        for s in spasms
    ]
    return pd.DataFrame(rows, columns=list(TRUTH_COLUMNS))


def _writer_for(path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    """FFV1 (lossless) for .mkv/.avi, so frames outside spasms stay exactly as decoded; mp4v otherwise."""
    fourcc = "FFV1" if path.suffix.lower() in (".mkv", ".avi") else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    if not writer.isOpened():
        raise OutputError(f"cannot write video {path}")
    return writer


def inject(
    video: str | os.PathLike,
    out_video: str | os.PathLike,
    truth_csv: str | os.PathLike,
    *,
    seed: int = 0,
    events: int | None = None,
    side: str = "random",
    regions: Sequence[str] | None = None,
    amplitude: tuple[float, float] = (0.35, 0.9),
    model: str | os.PathLike | None = None,
    landmarker: FaceLandmarker | None = None,
) -> pd.DataFrame:
    """Write `out_video` with spasms warped into `video`, and their truth to `truth_csv`; return the truth.

    Frames are streamed. A spasm is kept in the truth only if the face was found in at least 80% of its
    frames (a face cannot be warped where it was not found).
    """
    out_video, truth_csv = Path(out_video), Path(truth_csv)
    with VideoReader(video) as reader:
        info = reader.info
        duration = info.frame_count / info.fps if info.frame_count else 60.0
        spasms = plan_spasms(duration, seed=seed, events=events, side=side, regions=regions, amplitude=amplitude)
        own = landmarker is None
        if own:
            landmarker = FaceLandmarker(resolve_model(model).path)
        tmp_video = out_video.with_name(f".{out_video.stem}.partial{out_video.suffix}")
        seen = np.zeros(len(spasms))
        found = np.zeros(len(spasms))
        try:
            landmarker.reset()
            writer = _writer_for(tmp_video, info.fps, (info.width, info.height))
            try:
                for frame in reader:
                    image = frame.image
                    active = [(i, s) for i, s in enumerate(spasms) if s.start_s <= frame.t_s < s.end_s]
                    if active:
                        face = landmarker.observe(frame.index, frame.t_s, image)
                        for i, spasm in active:
                            seen[i] += 1
                            strength = spasm.strength(frame.t_s)
                            if face.face:
                                found[i] += 1
                                if strength > 0:
                                    image = _warp(image, face.landmarks[:, :2], spasm, strength)
                    writer.write(image)
            finally:
                writer.release()
            kept = [s for i, s in enumerate(spasms) if seen[i] and found[i] / seen[i] >= 0.8]
            truth = truth_table(kept)
            tmp_truth = truth_csv.with_name(f".{truth_csv.name}.partial")
            truth.to_csv(tmp_truth, index=False)
            os.replace(tmp_video, out_video)
            os.replace(tmp_truth, truth_csv)
        except OSError as err:
            raise OutputError(f"cannot write {out_video}: {err}") from err
        finally:
            tmp_video.unlink(missing_ok=True)
            if own:
                landmarker.close()
    return truth


def _warp(image: np.ndarray, landmarks_px: np.ndarray, spasm: InjectedSpasm, strength: float) -> np.ndarray:
    amount = spasm.amplitude * strength
    return warp_face(
        image, landmarks_px, spasm.side,
        eye=amount if "eye" in spasm.regions else 0.0,
        cheek=CHEEK_PER_EYE * amount if "cheek" in spasm.regions else 0.0,
        mouth=MOUTH_PER_EYE * amount if "mouth" in spasm.regions else 0.0,
        brow=BROW_LIFT_PER_EYE * amount if spasm.brow_lift else 0.0,
    )
