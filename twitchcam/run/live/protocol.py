"""Guided recordings: timed prompts, so that sessions recorded on different days can be compared."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One part of a protocol: what the patient is asked to do, for how long, and the marker it leaves."""

    prompt: str
    seconds: float
    label: str


PROTOCOLS: dict[str, tuple[Step, ...]] = {
    # A minute at rest is the recording that counts; closing the eyes and smiling are normal, bilateral
    # movements that must not be counted, and show the doctor how far the spasm spreads into them.
    "rest": (
        Step("Look at the camera and relax your face", 60.0, "rest"),
        Step("Gently close your eyes", 10.0, "eyes closed"),
        Step("Open your eyes and smile", 5.0, "smile"),
        Step("Relax again, looking at the camera", 10.0, "rest after smile"),
    ),
}


class Protocol:
    """Which step is under way at a given time of the recording."""

    def __init__(self, name: str):
        self.name = name
        self.steps = PROTOCOLS[name]
        self.duration_s = sum(step.seconds for step in self.steps)

    def at(self, t_s: float) -> tuple[int, Step, float] | None:
        """(step number, step, seconds left in it) at `t_s`, or None once the protocol is over."""
        start = 0.0
        for number, step in enumerate(self.steps):
            if t_s < start + step.seconds:
                return number, step, start + step.seconds - t_s
            start += step.seconds
        return None
