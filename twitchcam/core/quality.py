"""Which frames the detector may use (a face, facing the camera, nothing covering it), and the plain-language
warnings of summary.json about a recording's quality."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twitchcam.core.parameters import DetectionParameters
from twitchcam.core.timebase import frame_step

if TYPE_CHECKING:
    from twitchcam.media.video import VideoInfo


def usability(frames: pd.DataFrame, params: DetectionParameters) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(turned, occluded, usable) per frame: the detector only uses frames with a face, facing the camera
    and not covered. Whether a frame is occluded depends on frames up to `occlusion_margin_s` later."""
    turned = (frames["head_yaw_deg"].abs() > params.max_head_turn_deg) | (
        frames["head_pitch_deg"].abs() > params.max_head_turn_deg
    )
    occluded = _occluded(frames, params)
    return turned, occluded, frames["face"] & ~turned & ~occluded


def _occluded(frames: pd.DataFrame, params: DetectionParameters) -> pd.Series:
    """Frames where something covers the face (see `media.appearance.MidlineTracker`), widened by the margin."""
    covered = (frames["midline_appearance_change"] >= params.occlusion_change).to_numpy()
    if covered.any() and len(frames) > 1:
        step = frame_step(frames["t_s"].to_numpy())
        width = 2 * int(round(params.occlusion_margin_s / step)) + 1
        covered = np.convolve(covered, np.ones(width), mode="same") > 0
    return pd.Series(covered, index=frames.index)


def quality_warnings(frames, turned, occluded, usable, fps: float, info: VideoInfo,
                      params: DetectionParameters) -> list[str]:
    """Plain-language reasons to trust this recording less; the thresholds are `params.quality`."""
    q = params.quality
    warnings = []
    face = float(frames["face"].mean())
    if face < q.min_face_fraction:
        warnings.append(f"face found in only {100 * face:.0f}% of frames")
    turned_fraction = float(turned[frames["face"]].mean())
    if turned_fraction > q.max_turned_fraction:
        warnings.append(f"head turned more than {params.max_head_turn_deg:g} degrees in "
                        f"{100 * turned_fraction:.0f}% of frames with a face")
    if occluded.any():
        warnings.append(f"something covered part of the face (a hand?) in {100 * float(occluded.mean()):.0f}% of "
                        "frames; those frames were not used")
    if (frames["faces_found"] > 1).any():
        warnings.append(f"more than one face in {int((frames['faces_found'] > 1).sum())} frames; "
                        "the largest, most central face was followed")
    if fps < q.min_fps:
        warnings.append(f"low frame rate ({fps:.1f} fps): brief twitches may be missed")
    size = float(np.nanmedian(frames.loc[usable, "face_size_px"])) if usable.any() else float("nan")
    if size < q.min_face_size_px:
        warnings.append(f"small face ({size:.0f} px between the eyes): lid measurements are coarse")
    decoded_s = float(frames["t_s"].iloc[-1]) + 1 / info.fps if len(frames) else 0.0
    if info.duration_s and decoded_s < q.min_decoded_fraction * info.duration_s:  # by time (see the field)
        warnings.append(f"only the first {decoded_s:.1f} s of the {info.duration_s:.1f} s the file announces "
                        "could be decoded")
    return warnings
