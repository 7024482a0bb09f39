"""One live session: frames in, the same measurements and detector as `analyze`, events out as they become final.

At the end the whole session is analysed once more from its measured frames (not its pixels), which gives
the summary and tables `analyze` would give for the same frames; the events released during the session
are the same events (see `online.py`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from twitchcam.core.detect import Event
from twitchcam.core.online import LiveState, OnlineDetector
from twitchcam.core.parameters import DetectionParameters
from twitchcam.media.frame_table import FrameTable
from twitchcam.media.landmarks import FaceLandmarker
from twitchcam.media.video import cv2
from twitchcam.run.live.protocol import Protocol
from twitchcam.run.live.sources import CameraSource, FileSource
from twitchcam.run.live.window import Hud, LiveWindow
from twitchcam.run.pipeline import analyse_table
from twitchcam.store.results import Analysis

log = logging.getLogger(__name__)

DETECT_EVERY_S = 0.1
"""How often the detector re-runs over the recent frames (it takes ~5–20 ms; the meters update this often)."""
LATENCY_SAMPLES = 20_000  # ~11 minutes at 30 fps


@dataclass(frozen=True)
class Marker:
    """A moment the patient marked (space) or a protocol step began."""

    t_s: float
    label: str


@dataclass
class Timing:
    """How fast the session ran: frames analysed per second and capture-to-display delays in milliseconds."""

    frames: int = 0
    wall_s: float = 0.0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    """The most recent delays (bounded, so a long session does not grow memory)."""

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def latency_ms(self, percentile: float) -> float:
        return float(np.percentile(self.latencies_ms, percentile)) if self.latencies_ms else float("nan")


@dataclass
class SessionResult:
    """A finished session: its analysis (as `analyze` would give), when it started, and what was marked."""

    analysis: Analysis
    started_at: datetime
    markers: list[Marker]
    source: str
    protocol: str | None
    timing: Timing
    video_file: Path | None = None
    """The recorded video (only with `save_video`), a temporary file the caller moves or deletes."""


def run_session(
    source: FileSource | CameraSource,
    landmarker: FaceLandmarker,
    model_sha256: str,
    *,
    mirrored: bool = False,
    duration_s: float | None = None,
    protocol: Protocol | None = None,
    window: LiveWindow | None = None,
    on_event: Callable[[int, Event], None] | None = None,
    on_prompt: Callable[[str], None] | None = None,
    save_video: bool = False,
    params: DetectionParameters | None = None,
) -> SessionResult:
    """Analyse frames from `source` until it ends, `duration_s` (or the protocol) is over, or the patient quits.

    `on_event(event_id, event)` is called for each event as soon as it is final, numbered as in events.csv.
    Ctrl-C ends the session like `q`: what was recorded is kept.
    """
    params = params or DetectionParameters()
    table = FrameTable(mirrored=mirrored)
    detector = OnlineDetector(table, params)
    started_at = datetime.now().astimezone()
    markers: list[Marker] = []
    timing = Timing()
    recorder = _VideoRecorder(source.info.fps) if save_video else None
    limit_s = duration_s if duration_s is not None else (protocol.duration_s if protocol else None)
    hud = Hud(count=0, per_min=0.0, last_event=None)
    state: LiveState | None = None
    last_detect_t, step_shown = -np.inf, None
    notice_until = -np.inf

    def release(events: list[Event]) -> None:
        for event in events:
            hud.count += 1
            hud.last_event = event
            if on_event is not None:
                on_event(hud.count, event)

    landmarker.warm_up(source.info.width, source.info.height)
    wall_start = time.perf_counter()
    info = source.info
    try:
        for frame in source.frames():
            if limit_s is not None and frame.t_s >= limit_s:
                info = dataclasses.replace(info, frame_count=0)
                break
            observation = landmarker.observe(frame.index, frame.t_s, frame.image)
            table.add(observation, frame.image)
            if recorder is not None:
                recorder.write(frame.image)
            if frame.t_s - last_detect_t >= DETECT_EVERY_S:
                state = detector.update()
                release(state.final)
                last_detect_t = frame.t_s
            hud.per_min = 60.0 * hud.count / frame.t_s if frame.t_s > 0 else 0.0
            if protocol is not None:
                current = protocol.at(frame.t_s)
                if current is not None:
                    number, step, left = current
                    hud.prompt = f"{step.prompt}  ({left:.0f} s)"
                    if step_shown != number:
                        step_shown = number
                        markers.append(Marker(round(frame.t_s, 3), f"protocol: {step.label}"))
                        if on_prompt is not None:
                            on_prompt(step.prompt)
            hud.notice = hud.notice if frame.t_s < notice_until else None
            if window is not None:
                action = window.show(frame, observation, state, hud)
                if action == "quit":
                    info = dataclasses.replace(info, frame_count=0)  # stopped early: the rest is not missing
                    break
                if action == "marker":
                    number = sum(m.label.startswith("marker") for m in markers) + 1
                    markers.append(Marker(round(frame.t_s, 3), f"marker {number}"))
                    hud.notice, notice_until = f"{markers[-1].label} added", frame.t_s + 1.5
            timing.latencies_ms.append(1000 * (time.perf_counter() - frame.captured))
    except KeyboardInterrupt:
        log.info("interrupted: ending the session and keeping what was recorded")
        info = dataclasses.replace(info, frame_count=0)
    finally:
        timing.wall_s = time.perf_counter() - wall_start
        timing.frames = len(table)
        source.close()
        if window is not None:
            window.close()
        video_file = recorder.finish() if recorder is not None else None

    release(detector.finish())
    try:
        analysis = analyse_table(table.to_frame(), info, mirrored, params, model_sha256)
        analysis.summary["eye_model_sha256"] = table.eye_model.model_file.sha256
    except Exception:
        if video_file is not None:
            video_file.unlink(missing_ok=True)
        raise
    analysis.summary["video"] = source.name
    if [(e.start_frame, e.side) for e in analysis.event_table] != [(e.start_frame, e.side) for e in detector.events]:
        log.warning("the events found live differ from those of the whole session; the diary keeps the latter")
    return SessionResult(analysis=analysis, started_at=started_at, markers=markers, source=source.name,
                         protocol=protocol.name if protocol else None, timing=timing, video_file=video_file)


class _VideoRecorder:
    """The session's frames as an MP4 file (only when the patient asks for it: `--save-video`)."""

    def __init__(self, fps: float):
        handle, name = tempfile.mkstemp(prefix="twitchcam-live-", suffix=".mp4")
        os.close(handle)
        self.path = Path(name)
        self.fps = fps
        self._writer = None

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            height, width = image.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
        self._writer.write(image)

    def finish(self) -> Path | None:
        if self._writer is None:
            self.path.unlink(missing_ok=True)
            return None
        self._writer.release()
        return self.path
