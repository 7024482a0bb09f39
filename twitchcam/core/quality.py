"""Which frames the detector may use (a face, facing the camera, nothing covering it), and the plain-language
warnings of summary.json about a recording's quality."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twitchcam.core.parameters import DetectionParameters

if TYPE_CHECKING:
    from twitchcam.media.video import VideoInfo

# Quality thresholds behind the warnings in summary.json.
MIN_FACE_FRACTION = 0.9
MAX_TURNED_FRACTION = 0.1
MIN_FPS = 20.0
MIN_FACE_SIZE_PX = 40.0  # inter-ocular distance below which lid measurements get coarse



def usability(frames: pd.DataFrame, params: DetectionParameters) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(turned, occluded, usable) per frame: the detector only uses frames with a face, facing the camera
    and not covered. Whether a frame is occluded depends on frames up to `occlusion_margin_s` later."""
    turned = (frames["head_yaw_deg"].abs() > params.max_head_turn_deg) | (
        frames["head_pitch_deg"].abs() > params.max_head_turn_deg
    )
    occluded = _occluded(frames, params)
    return turned, occluded, frames["face"] & ~turned & ~occluded


def _occluded(frames: pd.DataFrame, params: DetectionParameters) -> pd.Series:
    """Frames where something covers the face (see appearance.MidlineTracker), widened by the margin."""
    covered = (frames["midline_appearance_change"] >= params.occlusion_change).to_numpy()
    if covered.any() and len(frames) > 1:
        step = float(np.median(np.diff(frames["t_s"])))
        width = 2 * int(round(params.occlusion_margin_s / step)) + 1
        covered = np.convolve(covered, np.ones(width), mode="same") > 0
    return pd.Series(covered, index=frames.index)


def quality_warnings(frames, turned, occluded, usable, fps: float, info: VideoInfo,
                      params: DetectionParameters) -> list[str]:
    """Plain-language reasons to trust this recording less."""
    warnings = []
    face = float(frames["face"].mean())
    if face < MIN_FACE_FRACTION:
        warnings.append(f"face found in only {100 * face:.0f}% of frames")
    turned_fraction = float(turned[frames["face"]].mean())
    if turned_fraction > MAX_TURNED_FRACTION:
        warnings.append(f"head turned more than {params.max_head_turn_deg:g} degrees in "
                        f"{100 * turned_fraction:.0f}% of frames with a face")
    if occluded.any():
        warnings.append(f"something covered part of the face (a hand?) in {100 * float(occluded.mean()):.0f}% of "
                        "frames; those frames were not used")
    if (frames["faces_found"] > 1).any():
        warnings.append(f"more than one face in {int((frames['faces_found'] > 1).sum())} frames; "
                        "the largest, most central face was followed")
    if fps < MIN_FPS:
        warnings.append(f"low frame rate ({fps:.1f} fps): brief twitches may be missed")
    size = float(np.nanmedian(frames.loc[usable, "face_size_px"])) if usable.any() else float("nan")
    if size < MIN_FACE_SIZE_PX:
        warnings.append(f"small face ({size:.0f} px between the eyes): lid measurements are coarse")
    decoded_s = float(frames["t_s"].iloc[-1]) + 1 / info.fps if len(frames) else 0.0
    if info.duration_s and decoded_s < 0.9 * info.duration_s:  # by time: frame counts of WebM/MKV are estimates
        warnings.append(f"only the first {decoded_s:.1f} s of the {info.duration_s:.1f} s the file announces "
                        "could be decoded")
    return warnings
