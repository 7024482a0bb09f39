"""From a recording's measured frames to its analysis: which frames count, the events, summary.json.

Pure: the frames come from `media.frame_table.FrameTable`, the video's details from `media.video.VideoInfo`
(any object with the same fields). `run.pipeline` and the diary wrap the result into a `store.results.Analysis`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twitchcam import __version__
from twitchcam.core.clinical import contraction_columns, event_statistics
from twitchcam.core.detect import detect_events
from twitchcam.core.errors import NoFaceError
from twitchcam.core.events import EventTable
from twitchcam.core.parameters import DetectionParameters
from twitchcam.core.quality import quality_warnings, usability
from twitchcam.core.timebase import frame_step

if TYPE_CHECKING:
    from twitchcam.media.video import VideoInfo


def analyse_frames(
    frames: pd.DataFrame, info: VideoInfo, mirrored: bool, params: DetectionParameters, model_sha256: str
) -> tuple[pd.DataFrame, EventTable, dict]:
    """(frames.csv, the events, summary.json) from the measured frames (`FrameTable.to_frame()`) of a recording.

    `frames` gains, in place, each frame's usability, each side's contraction per region and the detector's
    asymmetries, thresholds and evidence. Raises `NoFaceError` when no frame has a face.
    """
    if not frames["face"].any():
        raise NoFaceError(f"no face found in any of the {len(frames)} frames of {info.path}")
    t_s = frames["t_s"].to_numpy()
    turned, occluded, usable = usability(frames, params)
    detection = detect_events(t_s, frames, usable.to_numpy(), params)
    events = EventTable.from_events(detection.events)

    frames.insert(4, "head_turned", turned.to_numpy())
    frames.insert(5, "occluded", occluded.to_numpy())
    frames.insert(6, "usable", usable.to_numpy())
    for channel in detection.asymmetry:
        frames[f"{channel}_asymmetry"] = detection.asymmetry[channel]
        frames[f"{channel}_threshold"] = np.where(usable, detection.threshold[channel], np.nan)
    for region in detection.evidence:
        frames[f"{region}_evidence"] = detection.evidence[region]
    for column, values in contraction_columns(detection).items():
        frames[column] = values
    numeric = frames.select_dtypes("float64").columns
    frames[numeric] = frames[numeric].round(6)

    step = frame_step(t_s, info.fps)
    duration_s = float(t_s[-1] + step) if len(t_s) else 0.0
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
        **event_statistics(events, duration_s, params),
        "occluded_fraction": round(float(occluded.mean()), 4),
        "quality_warnings": quality_warnings(frames, turned, occluded, usable,
                                              len(t_s) / duration_s if duration_s else 0.0, info, params),
        "model_sha256": model_sha256,
        "mediapipe_version": _mediapipe_version(),
        "parameters": params.as_dict(),
    }
    return frames, events, summary


def _mediapipe_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mediapipe")
    except PackageNotFoundError:
        return "unknown"
