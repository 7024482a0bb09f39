"""The one table of tunable values: the library reads it, `summary.json` records it, `twitchcam params` lists it,
and `--param name=value` (on `analyze`, `batch` and `live`) changes it.

Durations are in seconds; asymmetries are displacements in fractions of the inter-ocular distance
(the distance between the two eye centres), so they do not depend on image size or camera distance.
Each number's allowed range is declared beside it (`Annotated[float, Range(...)]`) and checked on construction:
a value outside it raises `ParameterError` (a `ValueError`; the command line's exit code 2). The defaults are
explained in docs/method.md.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import typing
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from twitchcam.core.channels import BY_NAME, REGIONS, TRIGGER
from twitchcam.core.errors import UsageError

log = logging.getLogger(__name__)


class ParameterError(UsageError, ValueError):
    """A parameter with an unknown name, a value of the wrong type, or a value outside its range."""


@dataclass(frozen=True)
class Range:
    """The allowed values of a number: `lo` ≤ value ≤ `hi` (strict where `lo_open` / `hi_open`), finite."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def __contains__(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)

    def __str__(self) -> str:
        low = "" if self.lo is None else f"{'>' if self.lo_open else '>='} {self.lo:g}"
        high = "" if self.hi is None else f"{'<' if self.hi_open else '<='} {self.hi:g}"
        return " and ".join(part for part in (low, high) if part) or "any finite number"


POSITIVE = Range(0, lo_open=True)
NON_NEGATIVE = Range(0)
FRACTION = Range(0, 1)
"""0 to 1, both included."""
SHARE = Range(0, 1, lo_open=True)
"""More than 0, at most 1."""
AT_LEAST_ONE = Range(1)

FUSION_RULES = ("mean", "top2", "max")


@dataclass(frozen=True)
class QualityParameters:
    """When summary.json warns that a recording deserves less trust. These change warnings only, never events."""

    min_face_fraction: Annotated[float, FRACTION] = 0.9
    """Warn when a face was found in fewer than this share of the frames."""
    max_turned_fraction: Annotated[float, FRACTION] = 0.1
    """Warn when more than this share of the frames with a face had the head turned beyond `max_head_turn_deg`."""
    min_fps: Annotated[float, NON_NEGATIVE] = 20.0
    """Warn below this frame rate (frames per second): a twitch of 80 ms spans fewer than two frames."""
    min_face_size_px: Annotated[float, NON_NEGATIVE] = 40.0
    """Warn when the median distance between the eye centres is below this many pixels: lid measurements get
    coarse (a lid gap of ~0.1 of it is then 4 pixels)."""
    min_decoded_fraction: Annotated[float, FRACTION] = 0.9
    """Warn when the decoded frames cover less than this share of the duration the file announces (a truncated
    or damaged file). Compared by time, since frame counts of WebM/MKV are estimates."""

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class DetectionParameters:
    """How per-side signals become events, how blinks are counted, and the summary's rules (README "How it
    works", docs/method.md). `quality` holds the thresholds of the quality warnings."""

    baseline_window_s: Annotated[float, POSITIVE] = 15.0
    """Trailing window of the running median that defines each side's resting value. A contraction held
    for more than half of it becomes the new resting value, which bounds the longest measurable spasm."""
    priming_s: Annotated[float, NON_NEGATIVE] = 4.0
    """The first frames use the median of this opening stretch as their baseline (no history yet)."""
    noise_window_s: Annotated[float, POSITIVE] = 30.0
    """Trailing window over which the typical size of the asymmetry (its noise) is measured."""
    threshold_sigmas: Annotated[float, POSITIVE] = 3.5
    """An event starts where a region's evidence reaches 1: its measures' asymmetries average this many robust
    standard deviations of their noise (each measure's threshold)..."""
    release_fraction: Annotated[float, SHARE] = 0.5
    """...and continues while it stays above this fraction of the start threshold (hysteresis)."""
    onset_fraction: Annotated[float, FRACTION] = 0.15
    """An event's onset is traced back to where its asymmetry was still above this fraction of the start
    threshold and rising (hysteresis alone would date it at the release level, late by a frame or two)."""
    threshold_floor: Annotated[dict[str, float], POSITIVE] = field(default_factory=lambda: {
        "eyelid_aperture": 0.012, "eyelid_aperture_eye_model": 0.03, "iris_contrast": 0.06, "brow_height": 0.015,
        "cheek_height": 0.012, "mouth_corner_height": 0.02, "mouth_corner_width": 0.02, "upper_lid_drop": 0.015,
        "cheek_skin_lift": 0.025,
    })
    """Smallest start threshold per channel, well above its jitter on a still face (face-mesh channels in
    fractions of the inter-ocular distance; the eye model's lid gap in fractions of the eye's width; iris
    contrast in fractions of the skin's brightness)."""
    evidence_fusion: str = "top2"
    """How a region's measures combine into its evidence: "mean", "top2" (the mean of the two most telling, so
    two must agree) or "max"."""
    evidence_cap: Annotated[float, AT_LEAST_ONE] = 2.0
    """A region's evidence is the mean of its channels' asymmetries in threshold units, each capped at this:
    one measure far out on its own (a glitch) cannot start an event while the others stay still."""
    one_sided_ratio: Annotated[dict[str, float], SHARE] = field(
        default_factory=lambda: {"eye": 0.3, "cheek": 0.4, "mouth": 0.4})
    """Per starting region, the other side may move at most this fraction as much as the active side, in the
    most one-sided of the region's measures, or the movement is bilateral (blinks read about 1:1 in all of
    them; the per-eye model leaks little of a one-sided closure into the other eye, the face mesh 10–45%)."""
    smoothing_frames: Annotated[int, AT_LEAST_ONE] = 3
    """Each measure is averaged over this many neighbouring frames (landmark jitter is independent from frame
    to frame; a twitch lasts several frames)."""
    pose_window_s: Annotated[float, NON_NEGATIVE] = 30.0
    """Trailing window over which each measure's dependence on head yaw, pitch and roll is fitted and removed
    (0 turns the pose correction off)."""
    pose_ridge_deg: Annotated[float, POSITIVE] = 3.0
    """Ridge of that fit, in degrees: a head that moves less than this keeps coefficients near zero."""
    bilateral_margin_s: Annotated[float, NON_NEGATIVE] = 0.15
    """The other side is checked this long before and after the event too (blinks are not perfectly in step)."""
    merge_gap_s: Annotated[float, NON_NEGATIVE] = 0.5
    """Jerks on the same side closer than this belong to one burst (a clonic train)."""
    min_duration_s: Annotated[float, NON_NEGATIVE] = 0.06
    """Shorter candidates are landmark glitches, not muscle twitches (a twitch lasts >= 80 ms)."""
    min_frames: Annotated[int, AT_LEAST_ONE] = 2
    """A candidate must span at least this many frames."""
    max_duration_s: Annotated[float, POSITIVE] = 30.0
    """Longer one-sided deviations are a changed resting posture, not a spasm."""
    min_confidence: Annotated[float, FRACTION] = 0.45
    """Events less confident than this are dropped. Confidence is coverage × one-sidedness × (1 + strength) / 2:
    the share of the event's frames that were measurable, 1 minus how much the other side moved in the event's
    most one-sided frame, and how far the evidence rose above its start level. Held-out tuning chose 0.45: a
    movement the other side shares by more than half, or one barely past threshold, is too weak a claim."""
    tonic_min_s: Annotated[float, NON_NEGATIVE] = 0.5
    """A contraction held at least this long makes the event tonic; otherwise it is clonic."""
    occlusion_change: Annotated[float, POSITIVE] = 0.7
    """Frames where the nose looks this different from its recent self (a hand, a tissue) are flagged as
    occluded, with `occlusion_margin_s` either side, and not used for detection. Talking, blinking and
    smiling faces stay below ~0.6; a hand over the face reads ~0.8."""
    occlusion_margin_s: Annotated[float, NON_NEGATIVE] = 0.3
    """Frames this close to an occluded frame are not used either (a hand arriving or leaving blurs the face
    before the change is large enough to flag)."""
    max_head_turn_deg: Annotated[float, Range(0, 90, lo_open=True)] = 20.0
    """Frames turned further than this (yaw or pitch) are flagged and not used for detection."""
    channels: tuple[str, ...] | None = None
    """Trigger channels to use (names in twitchcam/core/channels.py); None uses every one the recording has.
    Witness channels are always read. On the command line: a comma-separated list, or `all`."""
    blink_closed_fraction: Annotated[float, SHARE] = 0.15
    """A blink is a closure where one eye loses at least this share of its resting opening. Low, because the
    face mesh under-reports partial one-sided closures (a lid half down reads ~20–30% closed; blinks ~75–85%)."""
    blink_release_fraction: Annotated[float, SHARE] = 0.08
    """A blink lasts while either eye stays closed by at least this share (hysteresis below
    `blink_closed_fraction`)."""
    blink_one_eye_ratio: Annotated[float, SHARE] = 0.6
    """A blink is both-eye when the less-closed eye closed at least this fraction as much as the other, one-eye
    otherwise. Generous, because the face mesh's two-eye prior makes an untouched eye read 10–45% of a one-sided
    closure."""
    blink_max_s: Annotated[float, POSITIVE] = 1.0
    """Closures longer than this are not blinks (eyes closed on purpose, or a held spasm)."""
    blink_min_frames: Annotated[int, AT_LEAST_ONE] = 2
    """A blink spans at least this many frames (one frame is landmark jitter)."""
    blink_rest_window_s: Annotated[float, POSITIVE] = 10.0
    """Each eye's resting opening is the centred running median of its lid gap over this window (blinks are
    too brief to move it)."""
    affected_side_share: Annotated[float, Range(0.5, 1, lo_open=True)] = 0.8
    """The affected side is the side with at least this share of the events; "both" when neither has it."""
    brief_spasm_max_s: Annotated[float, POSITIVE] = 1.0
    """Spasms shorter than this are brief, the others sustained (the split clinicians use, and the Jankovic
    frequency scale's 1 s)."""
    quality: QualityParameters = field(default_factory=QualityParameters)
    """Thresholds of summary.json's quality warnings (on the command line: `quality.<name>`)."""

    def __post_init__(self) -> None:
        _check(self)
        floor = self.threshold_floor
        if missing := sorted(set(BY_NAME) - set(floor)):
            raise ParameterError(f"threshold_floor has no value for {', '.join(missing)}")
        if unknown := sorted(set(floor) - set(BY_NAME)):
            raise ParameterError(f"threshold_floor: unknown channel {', '.join(unknown)} "
                                 f"(channels: {', '.join(BY_NAME)})")
        starting = {c.region for c in BY_NAME.values() if c.role == TRIGGER}
        if missing := sorted(starting - set(self.one_sided_ratio)):
            raise ParameterError(f"one_sided_ratio has no value for {', '.join(missing)}")
        if unknown := sorted(set(self.one_sided_ratio) - set(REGIONS)):
            raise ParameterError(f"one_sided_ratio: unknown region {', '.join(unknown)} "
                                 f"(regions: {', '.join(REGIONS)})")
        if self.evidence_fusion not in FUSION_RULES:
            raise ParameterError(f"evidence_fusion must be one of {', '.join(FUSION_RULES)}, "
                                 f"not {self.evidence_fusion!r}")
        if self.channels is not None:
            if not isinstance(self.channels, tuple) or not all(isinstance(c, str) for c in self.channels):
                raise ParameterError(f"channels must be a tuple of channel names or None, not {self.channels!r}")
            triggers = [name for name, c in BY_NAME.items() if c.role == TRIGGER]
            if unknown := [c for c in self.channels if c not in triggers]:
                raise ParameterError(f"channels: not a trigger channel: {', '.join(unknown)} "
                                     f"(trigger channels: {', '.join(triggers)})")
            if not self.channels:
                raise ParameterError("channels needs at least one trigger channel (or None for all)")
        if self.max_duration_s <= self.min_duration_s:
            raise ParameterError(f"max_duration_s ({self.max_duration_s:g}) must be longer than min_duration_s "
                                 f"({self.min_duration_s:g})")
        if self.blink_release_fraction > self.blink_closed_fraction:
            raise ParameterError(f"blink_release_fraction ({self.blink_release_fraction:g}) must not exceed "
                                 f"blink_closed_fraction ({self.blink_closed_fraction:g})")
        if not isinstance(self.quality, QualityParameters):
            raise ParameterError(f"quality must be a QualityParameters, not {type(self.quality).__name__}")

    def as_dict(self) -> dict:
        """Plain-JSON form, written into summary.json (`quality` as a nested table)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DetectionParameters:
        """The parameters recorded in summary.json (`as_dict()`), also from other versions of twitchcam.

        Missing keys (also inside `threshold_floor`, `one_sided_ratio` and `quality`) take today's defaults;
        unknown keys, written by a newer version, are ignored with a logged warning. Raises `ParameterError`
        when a known key holds a value of the wrong type or outside its range.
        """
        return _from_dict(cls, values, prefix="")

    def with_values(self, assignments: Iterable[str]) -> DetectionParameters:
        """A copy with `name=value` assignments applied, as given to `--param` (see `parameter_names`).

        `name` is a field (`threshold_sigmas=4`), an entry of a table (`threshold_floor.eyelid_aperture=0.02`,
        `one_sided_ratio.eye=0.35`) or a quality field (`quality.min_fps=15`). Values are parsed to the field's
        type; `channels` takes a comma-separated list or `all`. Raises `ParameterError`, naming the assignment.
        """
        assignments = list(assignments)
        changes: dict[str, Any] = {}
        quality: dict[str, Any] = {}
        for assignment in assignments:
            name, sep, text = assignment.partition("=")
            name = name.strip()
            if not sep or not name:
                raise ParameterError(f"{assignment}: expected NAME=VALUE (see `twitchcam params`)")
            head, _, key = name.partition(".")
            try:
                if head == "quality" and key:
                    quality[key] = _parse(QualityParameters, key, text)
                elif key and head in _table_fields(type(self)):
                    table = changes.setdefault(head, dict(getattr(self, head)))
                    if key not in table:
                        raise ParameterError(f"{head} has no entry {key!r} (entries: {', '.join(table)})")
                    table[key] = _parse_number(float, name, text, parameter_range(type(self), head))
                elif key or head in ("quality", *_table_fields(type(self))):
                    raise ParameterError(_unknown(name) if key else
                                         f"give one entry at a time, e.g. {_example_entry(self, head)}")
                else:
                    changes[head] = _parse(type(self), head, text)
            except ParameterError as err:
                raise ParameterError(f"{assignment}: {err}") from None
        try:
            if quality:
                changes["quality"] = dataclasses.replace(self.quality, **quality)
            return dataclasses.replace(self, **changes)
        except ParameterError as err:
            raise ParameterError(f"{' '.join(assignments)}: {err}") from None


def parameter_names() -> list[str]:
    """Every name `--param` takes: the fields, each table entry (`threshold_floor.<channel>`), `quality.<field>`."""
    defaults = DetectionParameters()
    names = []
    for f in dataclasses.fields(DetectionParameters):
        if f.name == "quality":
            names += [f"quality.{q.name}" for q in dataclasses.fields(QualityParameters)]
        elif f.name in _table_fields(DetectionParameters):
            names += [f"{f.name}.{key}" for key in getattr(defaults, f.name)]
        else:
            names.append(f.name)
    return names


def parameter_range(cls: type, name: str) -> Range | None:
    """The declared range of field `name` of `cls` (of a table's entries for a table), or None."""
    return _spec(cls)[name][1]


# --- checking and parsing ------------------------------------------------------------------------------------


_SPECS: dict[type, dict[str, tuple[Any, Range | None]]] = {}


def _spec(cls: type) -> dict[str, tuple[Any, Range | None]]:
    """field name -> (its type without Annotated, its Range or None), worked out once per class."""
    if cls not in _SPECS:
        spec = {}
        for name, hint in typing.get_type_hints(cls, include_extras=True).items():
            ranges = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Range)]
            base = hint.__origin__ if typing.get_origin(hint) is Annotated else hint
            spec[name] = (base, ranges[0] if ranges else None)
        _SPECS[cls] = spec
    return _SPECS[cls]


def _table_fields(cls: type) -> tuple[str, ...]:
    return tuple(name for name, (kind, _) in _spec(cls).items() if typing.get_origin(kind) is dict)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(params: Any) -> None:
    """Type and range of every number of a parameters dataclass (tables: each entry)."""
    for name, (kind, allowed) in _spec(type(params)).items():
        value = getattr(params, name)
        if kind is int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise ParameterError(f"{name} must be a whole number, not {value!r}")
        elif kind is float:
            if not _is_number(value):
                raise ParameterError(f"{name} must be a number, not {value!r}")
        elif typing.get_origin(kind) is dict:
            if not isinstance(value, dict) or not all(isinstance(k, str) and _is_number(v) for k, v in value.items()):
                raise ParameterError(f"{name} must map names to numbers, not {value!r}")
            for key, entry in value.items():
                if allowed is not None and entry not in allowed:
                    raise ParameterError(f"{name}.{key} must be {allowed}, not {entry:g}")
            continue
        elif kind is str and not isinstance(value, str):
            raise ParameterError(f"{name} must be text, not {value!r}")
        if allowed is not None and value not in allowed:
            raise ParameterError(f"{name} must be {allowed}, not {value:g}")


def _parse_number(kind: type, name: str, text: str, allowed: Range | None) -> float:
    try:
        value = kind(text.strip())
    except ValueError:
        raise ParameterError(f"{name} must be {'a whole number' if kind is int else 'a number'}, "
                             f"not {text!r}") from None
    if allowed is not None and value not in allowed:
        raise ParameterError(f"{name} must be {allowed}, not {text.strip()}")
    return value


def _parse(cls: type, name: str, text: str) -> Any:
    """`text` as the value of field `name` of `cls`."""
    if name not in _spec(cls) or name == "quality":
        raise ParameterError(_unknown(name if cls is DetectionParameters else f"quality.{name}"))
    kind = _spec(cls)[name][0]
    if kind in (int, float):
        return _parse_number(kind, name, text, _spec(cls)[name][1])
    if kind is str:
        return text.strip()
    if name == "channels":
        names = tuple(part.strip() for part in text.split(",") if part.strip())
        return None if names in ((), ("all",)) else names
    raise ParameterError(_unknown(name))  # pragma: no cover - every field's type is handled above


def _unknown(name: str) -> str:
    return f"unknown parameter {name!r} (`twitchcam params` lists them)"


def _example_entry(params: DetectionParameters, table: str) -> str:
    if table == "quality":
        return "quality.min_fps=15"
    key, value = next(iter(getattr(params, table).items()))
    return f"{table}.{key}={value:g}"


def _from_dict(cls: type, values: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(values, Mapping):
        raise ParameterError(f"{prefix.rstrip('.') or 'parameters'} must be a table, not {values!r}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    given: dict[str, Any] = {}
    for name, value in values.items():
        if name not in known:
            log.warning("ignoring parameter %s%s (not known to this version of twitchcam)", prefix, name)
            continue
        default = getattr(defaults, name)
        if dataclasses.is_dataclass(default):
            value = _from_dict(type(default), value, f"{prefix}{name}.")
        elif isinstance(default, dict) and isinstance(value, Mapping):
            extra = [key for key in value if key not in default]
            for key in extra:
                log.warning("ignoring parameter %s%s.%s (not known to this version of twitchcam)", prefix, name, key)
            value = {**default, **{k: v for k, v in value.items() if k not in extra}}
        elif name == "channels" and isinstance(value, list):
            value = tuple(value)
        given[name] = value
    return cls(**given)
