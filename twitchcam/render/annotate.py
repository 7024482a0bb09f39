"""annotated.webm: the video with the tracked outlines, per-side movement bars and a banner during each spasm.

Events are known only after the analysis pass, so the analysis records the outlines (`FaceTrackRecorder`)
and this module makes a second, decode-only pass that draws and encodes; MediaPipe does not run again.

Encoding uses PyAV (FFmpeg's libvpx VP8 encoder in real-time mode). OpenCV's pip wheel can write VP8/VP9
WebM too, but ignores encoder settings: measured here it needs 15 ms a frame at 480x480 and 86 ms at
1080x720 (VP8; VP9 is 6x slower), which would make the analysis slower than real time. libvpx VP8 in
real-time mode takes ~1 ms and ~3 ms (VP9 real-time: ~1.2 and ~6 ms), and plays natively in Chromium,
Firefox and Safari.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from twitchcam.core.clinical import Movements, region_movements
from twitchcam.core.detect import REGIONS, Event
from twitchcam.core.errors import OutputError
from twitchcam.core.events import EventTable
from twitchcam.media.face_track import OUTLINE_SLICES, FaceTrack
from twitchcam.media.video import FrameCallback, VideoReader, cv2
from twitchcam.render.style import SIDE_BGR
from twitchcam.store.results import Analysis

ANNOTATED_FILE = "annotated.webm"
MAX_LONG_SIDE_PX = 1280  # larger videos are scaled down: the annotations stay readable, encoding stays fast
ENCODER = "libvpx"  # VP8
# Real-time mode at its fastest speed, constant quality 30 capped at 2 Mbit/s: the overlays stay crisp.
ENCODER_OPTIONS = {"deadline": "realtime", "cpu-used": "16", "crf": "30", "b": "2M"}
# Bar full scale per region: eye in fraction of the opening closed; others in fractions of the eye distance.
BAR_FULL_SCALE = {"eye": 1.0, "brow": 0.06, "cheek": 0.06, "mouth": 0.06}


def annotate_analysis(video: str | os.PathLike, out_dir: str | os.PathLike, analysis: Analysis, track: FaceTrack,
                      *, progress: bool = False, on_frame: FrameCallback | None = None) -> Path:
    """Write `out_dir`/annotated.webm for an analysis whose outlines `track` recorded."""
    overlay = Overlay(events=analysis.event_table, movements=region_movements(analysis.frames),
                      mirrored=bool(analysis.summary.get("mirrored", False)))
    return write_annotated_video(video, Path(out_dir) / ANNOTATED_FILE, track, overlay, progress=progress,
                                 on_frame=on_frame)


@dataclass(frozen=True)
class Overlay:
    """Everything drawn over the video besides the image: events, movements and the mirrored flag."""

    events: EventTable
    movements: Movements
    mirrored: bool


def write_annotated_video(
    video: str | os.PathLike,
    out_path: str | os.PathLike,
    track: FaceTrack,
    overlay: Overlay,
    *,
    progress: bool = False,
    on_frame: FrameCallback | None = None,
) -> Path:
    """Decode `video` again and write the annotated copy to `out_path` (temporary name, then renamed).

    The copy has one frame per source frame, at the source's timestamps. `track` must hold outlines.
    `progress`: a progress bar on stderr; `on_frame(done, total)`: called after each frame (total: the
    container's frame count, 0 when unknown).
    Raises `VideoOpenError` if the video cannot be read, `OutputError` if the file cannot be written.
    """
    import av

    out_path = Path(out_path)
    temp = out_path.with_name(f".{out_path.stem}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}.webm")
    try:
        with VideoReader(video) as reader:
            width, height = _output_size(reader.info.width, reader.info.height)
            painter = _TrackPainter(track, overlay, reader.info.width, reader.info.height, width, height)
            bar = _progress_bar(progress, reader.info.frame_count, out_path.name)
            try:
                with av.open(str(temp), mode="w", format="webm") as container:
                    stream = container.add_stream(ENCODER, rate=max(1, round(reader.info.fps)),
                                                  options=dict(ENCODER_OPTIONS))
                    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                    stream.thread_count = 1  # the decoder has its own thread; more only contend for 2 cores
                    stream.time_base = Fraction(1, 1000)
                    stream.codec_context.time_base = Fraction(1, 1000)
                    last_pts = -1
                    for frame in reader:
                        image = painter.draw(frame.index, frame.t_s, frame.image)
                        # OpenCV's BGR -> I420 (BT.601, limited range, as decoders assume) is ~5x faster than
                        # letting FFmpeg's swscale convert bgr24.
                        yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
                        video_frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                        last_pts = max(int(round(frame.t_s * 1000)), last_pts + 1)
                        video_frame.pts, video_frame.time_base = last_pts, Fraction(1, 1000)
                        container.mux(stream.encode(video_frame))
                        if bar is not None:
                            bar.update(1)
                        if on_frame is not None:
                            on_frame(frame.index + 1, reader.info.frame_count)
                    container.mux(stream.encode(None))
            finally:
                if bar is not None:
                    bar.close()
        os.replace(temp, out_path)
    except av.FFmpegError as err:
        raise OutputError(f"cannot write {out_path}: {err}") from err
    except OSError as err:
        raise OutputError(f"cannot write {out_path}: {err.strerror or err}") from err
    finally:
        temp.unlink(missing_ok=True)
    return out_path


def _output_size(width: int, height: int) -> tuple[int, int]:
    """The annotated video's size: at most MAX_LONG_SIDE_PX on the long side, even in both (for yuv420p)."""
    scale = min(1.0, MAX_LONG_SIDE_PX / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def _progress_bar(enabled: bool, total: int, name: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total or None, unit="frame", desc=f"writing {name}", file=sys.stderr, leave=False,
                dynamic_ncols=True)


class _TrackPainter:
    """Draws one frame of the annotated video from the recorded outlines and the analysis' movements."""

    def __init__(self, track: FaceTrack, overlay: Overlay, src_w: int, src_h: int, width: int, height: int):
        if track.points is None:
            raise ValueError("the face track has no outlines: record with FaceTrackRecorder(outlines=True)")
        self.track, self.overlay = track, overlay
        self.size = (width, height)
        self.painter = Painter(width, height, mirrored=overlay.mirrored, scale=(width / src_w, height / src_h))
        self.events = list(enumerate(overlay.events, start=1))

    def draw(self, index: int, t_s: float, image: np.ndarray) -> np.ndarray:
        # Decoded frames are not reused by the reader, so drawing happens in place (no copy).
        if (image.shape[1], image.shape[0]) != self.size:  # scaled down, or rounded to even sizes
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        by_region = self.overlay.movements.by_region

        def movement(region: str, side: str) -> float:
            values = by_region[region, side]
            return float(values[index]) if index < len(values) else float("nan")

        active = [(n, e) for n, e in self.events if e.start_s <= t_s < e.end_s]
        self.painter.paint(image, self.track.frame_points(index), movement, active, t_s)
        return image


class Painter:
    """Draws the tracked outlines, per-side movement bars, a banner per active spasm and the clock on a frame
    (the annotated video and the live window). Text is rendered once into cached sprites: cv2.putText with
    anti-aliasing costs ~0.5 ms a call at 720p, which would dominate the pass."""

    def __init__(self, width: int, height: int, *, mirrored: bool, scale: tuple[float, float] = (1.0, 1.0)):
        self.scale = np.array(scale, dtype=np.float32)  # outline points (source pixels) -> image pixels
        self.unit = max(1.0, min(width, height) / 480)  # line and text scale
        # MediaPipe side names -> anatomical sides (swapped in a mirrored recording).
        self.anatomical = {"left": "right", "right": "left"} if mirrored else {"left": "left", "right": "right"}
        # Where each anatomical side appears in the image: the subject's left is on the image's right.
        self.on_image_right = {"left": not mirrored, "right": mirrored}
        self.sprites: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def paint(self, image: np.ndarray, points: np.ndarray | None, movement: Callable[[str, str], float],
              active: Sequence[tuple[int | None, Event]], t_s: float) -> None:
        """Draw in place. `points`: outline points (`face_track.OUTLINE_SLICES`) or None without a face;
        `movement(region, side)`: the bar values; `active`: the events under way, each with its number (None
        while live and not yet final)."""
        involved = {(e.side, r) for _, e in active for r in e.regions}
        if points is not None:
            self._outlines(image, points, involved)
        self._bars(image, movement)
        self._banner(image, active)
        self._clock(image, t_s)

    def _outlines(self, image: np.ndarray, points: np.ndarray, involved: set) -> None:
        u = self.unit
        points = (points * self.scale).astype(np.int32)
        for (part, mp_side), where in OUTLINE_SLICES.items():
            side = self.anatomical[mp_side]
            pts = points[where]
            if part == "cheek":
                pts = cv2.convexHull(pts)
            thick = max(1, int(round((3 if (side, part) in involved else 1.4) * u)))
            cv2.polylines(image, [pts.reshape(-1, 1, 2)], part in ("eye", "cheek"), SIDE_BGR[side], thick,
                          cv2.LINE_AA)

    def _bars(self, image: np.ndarray, movement: Callable[[str, str], float]) -> None:
        """Per side, one bar per region showing how far that side moved from rest, at that side's image edge."""
        u = self.unit
        height, width = image.shape[:2]
        bar_w, gap, bar_h = int(12 * u), int(6 * u), int(70 * u)
        panel_w = len(REGIONS) * (bar_w + gap) + gap
        panel_h = bar_h + int(34 * u)
        for side in ("left", "right"):
            x0 = width - panel_w - int(6 * u) if self.on_image_right[side] else int(6 * u)
            y0 = height - panel_h - int(6 * u)
            roi = image[y0 : y0 + panel_h, x0 : x0 + panel_w]
            np.right_shift(roi, 1, out=roi)  # darkened background
            self.text(image, side.upper(), (x0 + gap, y0 + int(12 * u)), 0.4, SIDE_BGR[side])
            base = y0 + int(16 * u) + bar_h
            for k, region in enumerate(REGIONS):
                x = x0 + gap + k * (bar_w + gap)
                value = movement(region, side)
                level = float(np.clip(value / BAR_FULL_SCALE[region], 0, 1)) if np.isfinite(value) else 0.0
                cv2.rectangle(image, (x, base - bar_h), (x + bar_w, base), (90, 90, 90), 1)
                if level > 0:
                    cv2.rectangle(image, (x, base - int(level * bar_h)), (x + bar_w, base), SIDE_BGR[side], -1)
                self.text(image, region[0].upper(), (x + 1, base + int(13 * u)), 0.38, (235, 235, 235))

    def _banner(self, image: np.ndarray, active: Sequence[tuple[int | None, Event]]) -> None:
        u = self.unit
        width = image.shape[1]
        row_h = int(26 * u)
        for k, (number, event) in enumerate(active):
            y0 = k * row_h
            cv2.rectangle(image, (0, y0), (width, y0 + row_h), SIDE_BGR[event.side], -1)
            label = f" #{number}" if number is not None else ""
            text = f"{event.side.upper()} spasm{label}: {', '.join(event.regions)} ({event.kind})"
            self.text(image, text, (int(8 * u), y0 + int(18 * u)), 0.55, (255, 255, 255), outline=False)

    def _clock(self, image: np.ndarray, t_s: float) -> None:
        u = self.unit
        height, width = image.shape[:2]
        text = f"{int(t_s // 60)}:{t_s % 60:04.1f}"
        self.text(image, text, (width // 2 - int(20 * u), height - int(10 * u)), 0.5, (255, 255, 255))

    def text(self, image: np.ndarray, text: str, origin: tuple[int, int], size: float, colour,
              outline: bool = True) -> None:
        """Anti-aliased text (with a dark outline) at `origin` (baseline left), from a cached sprite."""
        key = (text, size, colour, outline)
        sprite = self.sprites.get(key)
        if sprite is None:
            if len(self.sprites) > 512:  # the clock makes a new text every tenth of a second
                self.sprites.clear()
            sprite = self.sprites[key] = self._render(text, size, colour, outline)
        pixels, alpha = sprite
        pad = alpha.shape[0] - int(4 * self.unit)
        x0, y0 = origin[0] - int(2 * self.unit), origin[1] - pad
        h, w = alpha.shape
        ys, xs = max(0, -y0), max(0, -x0)
        ye, xe = min(h, image.shape[0] - y0), min(w, image.shape[1] - x0)
        if ye <= ys or xe <= xs:
            return
        roi = image[y0 + ys : y0 + ye, x0 + xs : x0 + xe]
        a = alpha[ys:ye, xs:xe, None]
        roi[:] = (roi * (1 - a) + pixels[ys:ye, xs:xe] * a).astype(np.uint8)

    def _render(self, text: str, size: float, colour, outline: bool) -> tuple[np.ndarray, np.ndarray]:
        scale = size * self.unit
        thick = max(1, int(round(self.unit)))
        (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick + 2)
        margin = int(2 * self.unit)
        h, w = th + baseline + 2 * margin + int(2 * self.unit), tw + 2 * margin + 2
        origin = (margin, h - int(4 * self.unit))
        pixels = np.zeros((h, w, 3), dtype=np.uint8)
        mask = np.zeros((h, w), dtype=np.uint8)
        cv2.putText(mask, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
        if outline:  # the dark outline is the text grown by a pixel (a thicker putText also spaces wider)
            mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        cv2.putText(pixels, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)
        return pixels.astype(np.float32), mask.astype(np.float32) / 255
