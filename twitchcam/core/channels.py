"""The measures the detector reads, declared once: which region each measures, which way is contraction,
how its threshold is floored, and whether it can start an event or only witness one.

Adding a measure means adding its per-side columns to the frame table and one `Channel` line here (and
its floor in `DetectionParameters.threshold_floor`). Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

REGIONS = ("eye", "brow", "cheek", "mouth")
TRIGGER = "trigger"
WITNESS = "witness"


@dataclass(frozen=True)
class Channel:
    """One per-side measure of a region, read from the columns `<name>_left` and `<name>_right`."""

    name: str
    region: str
    sign: int
    """+1 when the value grows as the region contracts, -1 when it shrinks (a closing lid's aperture)."""
    role: str
    """`TRIGGER`: can start an event; `WITNESS`: joins or corroborates one, never starts it."""
    one_way: bool = False
    """Only the contracting direction counts (a mouth corner pushed towards the midline is not a pull)."""
    mesh: bool = False
    """A face-mesh displacement in fractions of the inter-ocular distance: these size an event."""
    label: str = ""
    """What it measures, in a clinician's words."""

    def columns(self) -> tuple[str, str]:
        return f"{self.name}_left", f"{self.name}_right"


CHANNELS: tuple[Channel, ...] = (
    Channel("eyelid_aperture", "eye", -1, TRIGGER, mesh=True, label="lid gap from the face mesh"),
    Channel("eyelid_aperture_eye_model", "eye", -1, TRIGGER, label="lid gap from the per-eye model"),
    Channel("iris_contrast", "eye", -1, TRIGGER, label="how much of the iris the lid leaves visible"),
    Channel("upper_lid_drop", "eye", +1, TRIGGER, label="how far the upper lid has moved down, from the pixels"),
    Channel("brow_height", "brow", -1, WITNESS, mesh=True, label="height of the brow"),
    # The face mesh's cheek points barely follow a cheek pull (0.002–0.008 of the inter-ocular distance for a
    # 4–9% pull): they witness, the cheek skin's own shift starts events.
    Channel("cheek_height", "cheek", +1, WITNESS, mesh=True, label="height of the cheek"),
    Channel("cheek_skin_lift", "cheek", +1, TRIGGER, label="how far the cheek skin has moved up, from the pixels"),
    # The mouth witnesses but does not start events: speech and lopsided expressions move one corner more
    # than the other all the time, and on its own it found no injected mouth spasm that it did not also
    # report in clean speech (benchmarks/accuracy.py, README "Measuring accuracy").
    Channel("mouth_corner_height", "mouth", +1, WITNESS, mesh=True, label="height of the mouth corner"),
    Channel("mouth_corner_width", "mouth", +1, WITNESS, one_way=True, mesh=True,
            label="outward pull of the mouth corner"),
)
BY_NAME = {c.name: c for c in CHANNELS}
PRIMARY = {"eye": "eyelid_aperture", "brow": "brow_height", "cheek": "cheek_height", "mouth": "mouth_corner_height"}
"""Each region's face-mesh measure, whose floor bounds the region's displacement threshold."""


def region_channels(region: str) -> tuple[Channel, ...]:
    return tuple(c for c in CHANNELS if c.region == region)


def available(signals, chosen: tuple[str, ...] | None = None) -> tuple[Channel, ...]:
    """The channels whose two columns `signals` has (and, with `chosen`, that are named in it)."""
    return tuple(c for c in CHANNELS if all(col in signals for col in c.columns())
                 and (chosen is None or c.name in chosen or c.role == WITNESS))
