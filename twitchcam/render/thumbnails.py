"""Face crops of chosen frames, read in one decoding pass (no MediaPipe), for the report's event table.

Frames are read in order; the reader jumps ahead (seeks) only when that is cheaper than decoding the frames
in between, judged from the measured cost of both, so sparse events in a long clip stay fast.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twitchcam.core.errors import VideoOpenError
from twitchcam.media.video import cv2  # imported through video.py, which silences FFmpeg's console chatter

FACE_MARGIN = 0.12  # crop this much wider than the landmarks on each side (forehead, chin, ears)
CENTRE_CROP_IODS = 4.5  # without a recorded face box: a centred square this many eye distances wide
THUMB_WIDTH_PX = 240
JPEG_QUALITY = 82


@dataclass(frozen=True)
class CropBox:
    """A square crop in pixels of the upright frame; `from_face` says whether it follows the recorded face."""

    x0: int
    y0: int
    x1: int
    y1: int
    from_face: bool


def crop_box(width: int, height: int, face_box: np.ndarray | None, face_size_px: float | None) -> CropBox:
    """The square to crop: around the recorded face box when there is one, else a generous centred square.

    `face_box` (4,) x0, y0, x1, y1 pixels (NaN: unknown); `face_size_px` the inter-ocular distance in pixels.
    """
    if face_box is not None and np.isfinite(face_box).all():
        x0, y0, x1, y1 = (float(v) for v in face_box)
        side = max(x1 - x0, y1 - y0) * (1 + 2 * FACE_MARGIN)
        cx, cy, from_face = (x0 + x1) / 2, (y0 + y1) / 2, True
    else:
        iod = face_size_px if face_size_px and np.isfinite(face_size_px) else min(width, height) / CENTRE_CROP_IODS
        side = CENTRE_CROP_IODS * iod
        cx, cy, from_face = width / 2, height / 2, False
    side = min(side, width, height)
    left = int(round(min(max(cx - side / 2, 0), width - side)))
    top = int(round(min(max(cy - side / 2, 0), height - side)))
    size = int(round(side))
    return CropBox(left, top, left + size, top + size, from_face)


def read_frames(video: str | os.PathLike, wanted: Iterable[int]) -> dict[int, np.ndarray]:
    """The BGR images of the wanted frame numbers (0-based, as in frames.csv), reading the file once.

    Frames past the end of the file are left out of the result. Raises `VideoOpenError` if it cannot be opened.
    """
    targets = sorted(set(int(i) for i in wanted if i >= 0))
    capture = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        raise VideoOpenError(f"cannot open the video for thumbnails: {video}")
    images: dict[int, np.ndarray] = {}
    position = 0  # number of the frame the next grab() returns
    grab_s, grabs = 0.002, 0  # running estimates of the cost of decoding one frame and of one seek
    seek_s = None
    try:
        for target in targets:
            gap = target - position
            if gap > 30 and (seek_s is None or gap * grab_s / max(grabs, 1) > seek_s):
                start = time.perf_counter()
                if capture.set(cv2.CAP_PROP_POS_FRAMES, target):
                    position = target
                seek_s = time.perf_counter() - start
            ok = True
            while position < target and ok:
                start = time.perf_counter()
                ok = capture.grab()
                grab_s += time.perf_counter() - start
                grabs += 1
                position += 1
            if not ok:
                break
            ok, image = capture.read()
            position += 1
            if not ok or image is None:
                break
            images[target] = image
    finally:
        capture.release()
    return images


def thumbnail_jpeg(image: np.ndarray, box: CropBox, *, mirrored: bool = False, width: int = THUMB_WIDTH_PX) -> bytes:
    """JPEG bytes of the crop, `width` pixels wide, with the subject's R and L marked in the top corners."""
    crop = image[box.y0 : box.y1, box.x0 : box.x1]
    scale = width / max(crop.shape[1], 1)
    thumb = cv2.resize(crop, (width, max(1, int(round(crop.shape[0] * scale)))),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    left_mark, right_mark = ("L", "R") if mirrored else ("R", "L")  # image left, image right
    for text, x in ((left_mark, 5), (right_mark, width - 19)):
        cv2.putText(thumb, text, (x, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.62, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(thumb, text, (x, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.62, (255, 255, 255), 2, cv2.LINE_AA)
    ok, data = cv2.imencode(".jpg", thumb, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def find_video(recorded: str | None, out_dir: Path) -> Path | None:
    """The analysed video: summary.json's path as given, else relative to the results folder's parent."""
    if not recorded:
        return None
    path = Path(recorded)
    candidates = [path] if path.is_absolute() else [path, out_dir.parent / path, out_dir.parent / path.name]
    return next((c for c in candidates if c.is_file()), None)


def recording_date(video: str | os.PathLike) -> str | None:
    """The recording time the container gives (e.g. phones' `creation_time`), as 'YYYY-MM-DD HH:MM UTC'."""
    import av

    try:
        with av.open(str(video)) as container:
            tags = dict(container.metadata)
            for stream in container.streams:
                tags.update({k: v for k, v in stream.metadata.items() if k not in tags})
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return None
    for key in ("creation_time", "com.apple.quicktime.creationdate", "date"):
        value = tags.get(key)
        if value and not value.startswith("1970") and not value.startswith("1904"):
            return _readable_date(value)
    return None


def _readable_date(value: str) -> str:
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M %z").strip()
