"""The one table of tunable values: the library, `summary.json` and the `--help` text all read it.

Durations are in seconds; asymmetries are displacements in fractions of the inter-ocular distance
(the distance between the two eye centres), so they do not depend on image size or camera distance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class DetectionParameters:
    """How per-side signals become events. See README "How detection works"."""

    baseline_window_s: float = 15.0
    """Trailing window of the running median that defines each side's resting value. A contraction held
    for more than half of it becomes the new resting value, which bounds the longest measurable spasm."""
    priming_s: float = 4.0
    """The first frames use the median of this opening stretch as their baseline (no history yet)."""
    noise_window_s: float = 30.0
    """Trailing window over which the typical size of the asymmetry (its noise) is measured."""
    threshold_sigmas: float = 3.5
    """An event starts where a region's evidence reaches 1: its measures' asymmetries average this many robust
    standard deviations of their noise (each measure's threshold)..."""
    release_fraction: float = 0.5
    """...and continues while it stays above this fraction of the start threshold (hysteresis)."""
    onset_fraction: float = 0.15
    """An event's onset is traced back to where its asymmetry was still above this fraction of the start
    threshold and rising (hysteresis alone would date it at the release level, late by a frame or two)."""
    threshold_floor: dict[str, float] = field(default_factory=lambda: {
        "eyelid_aperture": 0.012, "eyelid_aperture_eye_model": 0.03, "iris_contrast": 0.06, "brow_height": 0.015,
        "cheek_height": 0.012, "mouth_corner_height": 0.02, "mouth_corner_width": 0.02, "upper_lid_drop": 0.015,
        "cheek_skin_lift": 0.025,
    })
    """Smallest start threshold per channel, well above its jitter on a still face (face-mesh channels in
    fractions of the inter-ocular distance; the eye model's lid gap in fractions of the eye's width; iris
    contrast in fractions of the skin's brightness)."""
    evidence_fusion: str = "top2"
    """How a region's measures combine into its evidence: "mean", or "top2" (the two most telling agree)."""
    evidence_cap: float = 2.0
    """A region's evidence is the mean of its channels' asymmetries in threshold units, each capped at this:
    one measure far out on its own (a glitch) cannot start an event while the others stay still."""
    one_sided_ratio: dict[str, float] = field(default_factory=lambda: {"eye": 0.3, "cheek": 0.4, "mouth": 0.4})
    """Per starting region, the other side may move at most this fraction as much as the active side, in the
    most one-sided of the region's measures, or the movement is bilateral (blinks read about 1:1 in all of
    them; the per-eye model leaks little of a one-sided closure into the other eye, the face mesh 10–45%)."""
    smoothing_frames: int = 3
    """Each measure is averaged over this many neighbouring frames (landmark jitter is independent from frame
    to frame; a twitch lasts several frames)."""
    pose_window_s: float = 30.0
    """Trailing window over which each measure's dependence on head yaw, pitch and roll is fitted and removed
    (0 turns the pose correction off)."""
    pose_ridge_deg: float = 3.0
    """Ridge of that fit, in degrees: a head that moves less than this keeps coefficients near zero."""
    bilateral_margin_s: float = 0.15
    """The other side is checked this long before and after the event too (blinks are not perfectly in step)."""
    merge_gap_s: float = 0.5
    """Jerks on the same side closer than this belong to one burst (a clonic train)."""
    min_duration_s: float = 0.06
    """Shorter candidates are landmark glitches, not muscle twitches (a twitch lasts >= 80 ms)."""
    min_frames: int = 2
    """A candidate must span at least this many frames."""
    max_duration_s: float = 30.0
    """Longer one-sided deviations are a changed resting posture, not a spasm."""
    min_confidence: float = 0.45
    """Events less confident than this are dropped. Confidence is coverage × one-sidedness × (1 + strength) / 2:
    the share of the event's frames that were measurable, 1 minus how much the other side moved in the event's
    most one-sided frame, and how far the evidence rose above its start level. Held-out tuning chose 0.45: a
    movement the other side shares by more than half, or one barely past threshold, is too weak a claim."""
    tonic_min_s: float = 0.5
    """A contraction held at least this long makes the event tonic; otherwise it is clonic."""
    occlusion_change: float = 0.7
    """Frames where the nose looks this different from its recent self (a hand, a tissue) are flagged as
    occluded, with `occlusion_margin_s` either side, and not used for detection. Talking, blinking and
    smiling faces stay below ~0.6; a hand over the face reads ~0.8."""
    occlusion_margin_s: float = 0.3
    max_head_turn_deg: float = 20.0
    """Frames turned further than this (yaw or pitch) are flagged and not used for detection."""
    channels: tuple[str, ...] | None = None
    """Trigger channels to use (names in twitchcam/channels.py); None uses every one the recording has."""

    def as_dict(self) -> dict:
        """Plain-JSON form, written into summary.json."""
        return asdict(self)
