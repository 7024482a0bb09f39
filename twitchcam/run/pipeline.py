"""The analysis pipeline: one video file in, events, per-frame signals and a summary out."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from twitchcam.core.analysis import analyse_frames
from twitchcam.core.parameters import DetectionParameters
from twitchcam.media.eye_model import EyeModel
from twitchcam.media.frame_table import FrameTable
from twitchcam.media.landmarks import FaceLandmarker, FaceObservation
from twitchcam.media.model import resolve_model
from twitchcam.media.video import Frame, FrameCallback, VideoInfo, VideoReader
from twitchcam.store.results import Analysis

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
    on_frame: FrameCallback | None = None,
) -> Analysis:
    """Analyse a face video for one-sided spasms; write the result files into `out` when given.

    `mirrored`: the recording is a selfie mirror image (left and right swapped). `landmarker`: an open
    `FaceLandmarker` to reuse across videos (its model is then used; `model` is ignored). `frame_hooks`:
    callables run on every frame in order, during the single decoding pass. `eye_model`: an open
    `EyeModel` to reuse (default: the one `resolve_eye_model()` finds). `on_frame(done, total)`: told after
    each frame (for progress shown elsewhere than a terminal).
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
        table = _measure_frames(reader, landmarker, eye_model, mirrored, progress, frame_hooks, on_frame)
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
                    progress: bool, hooks: Sequence[FrameHook], on_frame: FrameCallback | None) -> pd.DataFrame:
    table = FrameTable(mirrored=mirrored, eye_model=eye_model)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=reader.info.frame_count or None, unit="frame", desc=reader.path.name, file=sys.stderr,
                   leave=False, dynamic_ncols=True)
    # The frame's own measurements (the per-eye model, the pixel channels) run on a second thread while the
    # landmarker reads the next frame: MediaPipe keeps only about one core busy. One frame in flight at a
    # time, so rows are added in order and memory stays flat.
    measuring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twitchcam-measure")
    pending: Future | None = None
    try:
        for frame in reader:
            observation = landmarker.observe(frame.index, frame.t_s, frame.image)
            if pending is not None:
                pending.result()
            pending = measuring.submit(table.add, observation, frame.image)
            for hook in hooks:
                hook(frame, observation)
            if on_frame is not None:
                on_frame(frame.index + 1, reader.info.frame_count)
            if bar is not None:
                bar.update(1)
                if bar.total is not None and bar.n >= bar.total and frame.t_s < reader.info.duration_s:
                    bar.total = None  # the container's count was an underestimate: show a plain count
        if pending is not None:
            pending.result()
    finally:
        measuring.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.total = bar.n  # ends at 100% of the frames there really were
            bar.refresh()
            bar.close()
    return table.to_frame()


def analyse_table(
    frames: pd.DataFrame, info: VideoInfo, mirrored: bool, params: DetectionParameters, model_sha256: str
) -> Analysis:
    """The analysis of a recording's measured frames (`FrameTable.to_frame()`); see `core.analysis`."""
    frames, events, summary = analyse_frames(frames, info, mirrored, params, model_sha256)
    return Analysis(event_table=events, frames=frames, summary=summary)


__all__ = ["analyse_table", "analyze", "default_out_dir"]
