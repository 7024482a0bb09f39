"""The analysis pipeline: one video file in, events, per-frame signals and a summary out."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from twitchcam import __version__
from twitchcam.core.detect import detect_events
from twitchcam.core.errors import NoFaceError
from twitchcam.core.parameters import DetectionParameters
from twitchcam.core.quality import quality_warnings, usability
from twitchcam.media.eye_model import EyeModel
from twitchcam.media.frame_table import FrameTable
from twitchcam.media.landmarks import FaceLandmarker, FaceObservation
from twitchcam.media.model import resolve_model
from twitchcam.media.video import Frame, VideoInfo, VideoReader
from twitchcam.store.results import Analysis, events_table, summarize

FrameHook = Callable[[Frame, FaceObservation], None]
"""Called for every frame with the decoded image and the subject's face (e.g. to draw, record, count)."""

log = logging.getLogger(__name__)

def default_out_dir(video: str | os.PathLike) -> Path:
    """`<video stem>_twitchcam/` next to the video."""
    path = Path(video)
    return path.with_name(f"{path.stem}_twitchcam")


def analyze(
    video: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    mirrored: bool = False,
    model: str | os.PathLike | None = None,
    params: DetectionParameters | None = None,
    progress: bool = False,
    landmarker: FaceLandmarker | None = None,
    frame_hooks: Sequence[FrameHook] = (),
    eye_model: EyeModel | None = None,
) -> Analysis:
    """Analyse a face video for one-sided spasms; write the result files into `out` when given.

    `mirrored`: the recording is a selfie mirror image (left and right swapped). `landmarker`: an open
    `FaceLandmarker` to reuse across videos (its model is then used; `model` is ignored). `frame_hooks`:
    callables run on every frame in order, during the single decoding pass. `eye_model`: an open
    `EyeModel` to reuse (default: the one `resolve_eye_model()` finds).
    Raises `UsageError` (no such file), `VideoOpenError`, `NoFaceError`, `ModelNotFoundError`, `OutputError`.
    """
    params = params or DetectionParameters()
    with VideoReader(video) as reader, contextlib.ExitStack() as owned:
        model_file = resolve_model(model)
        if eye_model is None:
            eye_model = owned.enter_context(EyeModel())
        if landmarker is None:
            landmarker = owned.enter_context(FaceLandmarker(model_file.path))
        landmarker.reset()
        table = _measure_frames(reader, landmarker, eye_model, mirrored, progress, frame_hooks)
        info = reader.info
    analysis = analyse_table(table, info, mirrored, params, model_file.sha256)
    analysis.summary["eye_model_sha256"] = eye_model.model_file.sha256
    if reader.damaged_frames:
        analysis.summary["quality_warnings"].append(
            f"{reader.damaged_frames} damaged frames could not be decoded and were skipped (their time is a gap)")
    if out is not None:
        analysis.write(out)
    return analysis


def _measure_frames(reader: VideoReader, landmarker: FaceLandmarker, eye_model: EyeModel, mirrored: bool,
                    progress: bool, hooks: Sequence[FrameHook]) -> pd.DataFrame:
    table = FrameTable(mirrored=mirrored, eye_model=eye_model)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=reader.info.frame_count or None, unit="frame", desc=reader.path.name, file=sys.stderr,
                   leave=False, dynamic_ncols=True)
    try:
        for frame in reader:
            observation = landmarker.observe(frame.index, frame.t_s, frame.image)
            table.add(observation, frame.image)
            for hook in hooks:
                hook(frame, observation)
            if bar is not None:
                bar.update(1)
                if bar.total is not None and bar.n >= bar.total and frame.t_s < reader.info.duration_s:
                    bar.total = None  # the container's count was an underestimate: show a plain count
    finally:
        if bar is not None:
            bar.total = bar.n  # ends at 100% of the frames there really were
            bar.refresh()
            bar.close()
    return table.to_frame()


def analyse_table(
    frames: pd.DataFrame, info: VideoInfo, mirrored: bool, params: DetectionParameters, model_sha256: str
) -> Analysis:
    """Events, per-frame table and summary from the measured frames (`FrameTable.to_frame()`) of a recording."""
    if not frames["face"].any():
        raise NoFaceError(f"no face found in any of the {len(frames)} frames of {info.path}")
    t_s = frames["t_s"].to_numpy()
    turned, occluded, usable = usability(frames, params)
    detection = detect_events(t_s, frames, usable.to_numpy(), params)

    frames.insert(4, "head_turned", turned.to_numpy())
    frames.insert(5, "occluded", occluded.to_numpy())
    frames.insert(6, "usable", usable.to_numpy())
    for channel in detection.asymmetry:
        frames[f"{channel}_asymmetry"] = detection.asymmetry[channel]
        frames[f"{channel}_threshold"] = np.where(usable, detection.threshold[channel], np.nan)
    for region in detection.evidence:
        frames[f"{region}_evidence"] = detection.evidence[region]
    numeric = frames.select_dtypes("float64").columns
    frames[numeric] = frames[numeric].round(6)

    frame_step = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 1 / info.fps
    duration_s = float(t_s[-1] + frame_step) if len(t_s) else 0.0
    summary = {
        "video": str(info.path),
        "twitchcam_version": __version__,
        "duration_s": round(duration_s, 3),
        "fps": round(len(t_s) / duration_s, 3) if duration_s > 0 else info.fps,
        "nominal_fps": round(info.fps, 3),
        "frames": int(len(frames)),
        "width": info.width,
        "height": info.height,
        "rotation_deg": info.rotation_deg,
        "mirrored": mirrored,
        "face_fraction": round(float(frames["face"].mean()), 4),
        "usable_fraction": round(float(usable.mean()), 4),
        **summarize(detection.events, duration_s),
        "occluded_fraction": round(float(occluded.mean()), 4),
        "quality_warnings": quality_warnings(frames, turned, occluded, usable,
                                              len(t_s) / duration_s if duration_s else 0.0, info, params),
        "model_sha256": model_sha256,
        "mediapipe_version": _mediapipe_version(),
        "parameters": params.as_dict(),
    }
    return Analysis(events=events_table(detection.events), frames=frames, summary=summary,
                    event_list=list(detection.events))


def _mediapipe_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mediapipe")
    except PackageNotFoundError:
        return "unknown"


__all__ = ["analyse_table", "analyze", "default_out_dir"]
