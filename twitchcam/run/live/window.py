"""The live window: the face with its tracked outlines, per-side meters, the running count, the latest spasm,
and plain warnings when the face cannot be measured. Keys: q (or closing the window) quits, space adds a marker.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass

import numpy as np

from twitchcam.core.detect import Event
from twitchcam.core.errors import UsageError
from twitchcam.core.online import LiveState
from twitchcam.media.face_track import outline_points
from twitchcam.media.landmarks import FaceObservation
from twitchcam.media.video import cv2
from twitchcam.render.annotate import Painter
from twitchcam.run.live.sources import LiveFrame

TITLE = "twitchcam live  (q: quit and save, space: marker)"
WARNING_BGR = (0, 215, 255)
TEXT_BGR = (255, 255, 255)
RECENT_EVENT_S = 1.5  # a spasm's banner stays up this long after it ends


@dataclass
class Hud:
    """The numbers and words drawn over the picture besides the face itself."""

    count: int
    per_min: float
    last_event: Event | None
    prompt: str | None = None
    notice: str | None = None


def require_screen() -> None:
    """Fail early and clearly where there is no screen to show the window on: on Linux, OpenCV's Qt (X11
    only) aborts the whole process when it cannot reach the X server."""
    if not sys.platform.startswith("linux"):
        return
    display = os.environ.get("DISPLAY", "")
    if not display:
        raise UsageError("no screen to show the live window on (no DISPLAY): use --headless")
    if not _x_server_answers(display):
        raise UsageError(f"no X server answers on DISPLAY={display}: use --headless")


def _x_server_answers(display: str) -> bool:
    """Whether something accepts connections where DISPLAY (`[host]:N[.screen]`) points."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    try:
        if host in ("", "unix") or host.startswith("/"):
            path = host if host.startswith("/") else f"/tmp/.X11-unix/X{number}"
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(2.0)
                connection.connect(path)
        else:
            socket.create_connection((host, 6000 + int(number)), timeout=2.0).close()
    except OSError:
        return False
    return True


class LiveWindow:
    """An OpenCV window showing each analysed frame."""

    def __init__(self, width: int, height: int, *, mirrored: bool):
        os.environ.setdefault("QT_LOGGING_RULES", "*=false")  # OpenCV's Qt complains about fonts it never uses
        self.painter = Painter(width, height, mirrored=mirrored)
        cv2.namedWindow(TITLE, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)  # no Qt toolbar
        self._shown = False

    def show(self, frame: LiveFrame, observation: FaceObservation, state: LiveState | None, hud: Hud) -> str | None:
        """Draw and display one frame; returns 'quit', 'marker' or None from the keys pressed."""
        image = frame.image
        recent = [e for e in ([hud.last_event] if hud.last_event else []) if frame.t_s - e.end_s < RECENT_EVENT_S]
        active = [(None, e) for e in (state.provisional if state else [])] or [(None, e) for e in recent]
        points = outline_points(observation.landmarks) if observation.face else None
        movement = state.movement if state else {}
        self.painter.paint(image, points, lambda r, s: movement.get((r, s), float("nan")), active, frame.t_s)
        self._hud(image, observation, state, hud, rows=len(active))
        cv2.imshow(TITLE, image)
        self._shown = True
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), ord("Q"), 27) or cv2.getWindowProperty(TITLE, cv2.WND_PROP_VISIBLE) < 1:
            return "quit"
        if key == ord(" "):
            return "marker"
        return None

    def _hud(self, image: np.ndarray, observation: FaceObservation, state: LiveState | None, hud: Hud,
             rows: int) -> None:
        u = self.painter.unit
        height, width = image.shape[:2]
        y = int((26 * rows + 22) * u)
        self.painter.text(image, f"Spasms: {hud.count}  ({hud.per_min:.1f} per minute)", (int(8 * u), y), 0.6,
                          TEXT_BGR)
        if hud.last_event is not None:
            e = hud.last_event
            self.painter.text(image, f"Last: {e.side} {', '.join(e.regions)} ({e.kind}) at {_clock(e.start_s)}",
                              (int(8 * u), y + int(22 * u)), 0.5, TEXT_BGR)
        if hud.prompt:
            self.painter.text(image, hud.prompt, (int(8 * u), y + int(52 * u)), 0.7, (120, 255, 120))
        warning = _warning(observation, state)
        if warning:
            self.painter.text(image, warning, (int(8 * u), height // 2), 0.7, WARNING_BGR)
        if hud.notice:
            self.painter.text(image, hud.notice, (int(8 * u), height // 2 + int(30 * u)), 0.6, TEXT_BGR)

    def close(self) -> None:
        if self._shown:
            cv2.destroyWindow(TITLE)
            cv2.waitKey(1)


def _warning(observation: FaceObservation, state: LiveState | None) -> str | None:
    """Why the current frame cannot be measured, in words a patient can act on."""
    if not observation.face:
        return "No face found: sit facing the camera, with light on your face"
    if state is not None and state.turned:
        return "Head turned: please look straight at the camera"
    if state is not None and state.occluded:
        return "Something covers your face: keep hands and hair away"
    return None


def _clock(t_s: float) -> str:
    return f"{int(t_s // 60)}:{t_s % 60:04.1f}"
