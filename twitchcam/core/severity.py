"""Estimated grades on published hemifacial-spasm scales, from the measured numbers. Pure Python.

These are ESTIMATES from one video, not clinical ratings: the published scales are rated by a clinician
who also asks about function (reading, driving, embarrassment), which no video shows. Each estimate carries
the rule that produced it, so a reader can check it against the numbers.

- Jankovic Rating Scale (Jankovic & Orman 1987), severity 0–4 and frequency 0–4.
- SMC grade (Samsung Medical Center grading of HFS): I periocular only; II spread to other muscles of the
  same side; III frequent tonic spasms interfering with vision; IV disfiguring asymmetry.
"""

from __future__ import annotations

from dataclasses import dataclass

from twitchcam.core.clinical import ClinicalMeasures

# Rule constants (fractions of the recording, or events per minute).
NARROWED_MOST_OF_TIME = 0.5  # JRS frequency 4: eye closed/narrowed more than half of the time
SEVERE_NARROWED = 0.25  # JRS severity 4: the affected eye narrowed a quarter of the time or more
SEVERE_SPREADING_SUSTAINED_PER_MIN = 1.0  # ... or sustained spasms reaching cheek/mouth at least once a minute
MODERATE_SPASM_FRACTION = 0.10  # JRS severity 3: in spasm 10% of the time or more
FREQUENT_TONIC_PER_MIN = 1.0  # SMC III: tonic spasms at least once a minute ...
VISION_NARROWED = 0.10  # ... with the eye narrowed at least 10% of the time

JANKOVIC_SEVERITY = {
    0: "no spasm",
    1: "minimal: increased blinking present only with external stimuli (light, wind, reading)",
    2: "mild: spontaneous eyelid fluttering, definitely noticeable, not functionally disabling",
    3: "moderate: very noticeable spasm of the eyelids only, mildly incapacitating",
    4: "severe: incapacitating spasm of the eyelids and possibly other facial muscles",
}
JANKOVIC_FREQUENCY = {
    0: "none",
    1: "slightly increased frequency of blinking",
    2: "eyelid fluttering lasting less than 1 s",
    3: "eyelid spasm lasting more than 1 s, eye open more than 50% of the time",
    4: "functionally 'blind' from eye closure more than 50% of the time",
}
SMC_GRADES = {
    "I": "spasm around the eye only",
    "II": "spread to other facial muscles of the same side (cheek, mouth)",
    "III": "frequent tonic spasms that interfere with vision",
    "IV": "disfiguring asymmetry",
}


@dataclass(frozen=True)
class ScaleEstimate:
    """One estimated grade: the scale, the grade, what the grade means, and the rule that gave it."""

    scale: str
    grade: str
    meaning: str
    rule: str


def jankovic_frequency(m: ClinicalMeasures) -> ScaleEstimate:
    """JRS frequency from spasm durations and the time the affected eye is narrowed."""
    scale = "Jankovic Rating Scale, frequency (0–4)"
    narrowed = m.affected_eye_narrowed
    if m.n_events == 0:
        grade, rule = 0, "no one-sided spasm was found"
    elif narrowed >= NARROWED_MOST_OF_TIME:
        grade, rule = 4, f"the affected eye was narrowed {_pct(narrowed)} of the time (≥ 50%)"
    elif m.n_sustained:
        grade, rule = 3, (f"{m.n_sustained} spasm(s) lasted 1 s or more; the affected eye was narrowed "
                          f"{_pct(narrowed)} of the time (< 50%)")
    else:
        grade, rule = 2, f"all {m.n_events} spasm(s) were brief (< 1 s)"
    rule += ". Grade 1 (slightly more blinking) is not estimated: one clip gives no normal blink rate."
    return ScaleEstimate(scale, str(grade), JANKOVIC_FREQUENCY[grade], rule)


def jankovic_severity(m: ClinicalMeasures) -> ScaleEstimate:
    """JRS severity from how long, how often and how far the spasms spread."""
    scale = "Jankovic Rating Scale, severity (0–4)"
    narrowed = m.affected_eye_narrowed
    spreading_sustained = m.spreading_sustained_per_min
    if m.n_events == 0:
        grade, rule = 0, "no one-sided spasm was found"
    elif narrowed >= SEVERE_NARROWED or spreading_sustained >= SEVERE_SPREADING_SUSTAINED_PER_MIN:
        grade, rule = 4, (f"the affected eye was narrowed {_pct(narrowed)} of the time (4 when ≥ 25%), and "
                          f"sustained spasms reaching cheek or mouth came {spreading_sustained:.1f} times a minute "
                          "(4 when ≥ 1/min)")
    elif m.n_sustained or m.spasm_fraction >= MODERATE_SPASM_FRACTION:
        grade, rule = 3, (f"{m.n_sustained} sustained spasm(s) (≥ 1 s); in spasm {_pct(m.spasm_fraction)} of the "
                          "time (3 when any spasm is sustained or ≥ 10% of the time is in spasm)")
    else:
        grade, rule = 2, (f"only brief spasms (< 1 s), in spasm {_pct(m.spasm_fraction)} of the time (< 10%)")
    rule += ". Grade 1 (blinking only with external stimuli) cannot be seen without the stimuli."
    return ScaleEstimate(scale, str(grade), JANKOVIC_SEVERITY[grade], rule)


def smc_grade(m: ClinicalMeasures) -> ScaleEstimate:
    """SMC-like spread grade I–III from the regions involved and tonic spasms; IV is not assessed."""
    scale = "SMC grade of hemifacial spasm (I–IV), spread"
    narrowed = m.affected_eye_narrowed
    if m.n_events == 0:
        return ScaleEstimate(scale, "–", "not graded: no one-sided spasm was found", "no events")
    if m.tonic_per_min >= FREQUENT_TONIC_PER_MIN and narrowed >= VISION_NARROWED:
        grade, rule = "III", (f"tonic spasms {m.tonic_per_min:.1f} per minute (≥ 1/min) and the affected eye "
                              f"narrowed {_pct(narrowed)} of the time (≥ 10%)")
    elif m.spread_to_cheek_or_mouth:
        grade, rule = "II", (f"{m.spread_to_cheek_or_mouth} of {m.n_events} spasm(s) moved the cheek or mouth; "
                             f"tonic spasms {m.tonic_per_min:.1f}/min with the eye narrowed {_pct(narrowed)} "
                             "of the time (III needs ≥ 1/min and ≥ 10%)")
    else:
        grade, rule = "I", f"all {m.n_events} spasm(s) stayed around the eye (eye, brow)"
    rule += ". IV (disfiguring asymmetry at rest) is not assessed: the method measures movement from rest."
    return ScaleEstimate(scale, grade, SMC_GRADES[grade], rule)


def estimate_scales(m: ClinicalMeasures) -> list[ScaleEstimate]:
    """All estimates shown in the report, in display order."""
    return [jankovic_severity(m), jankovic_frequency(m), smc_grade(m)]


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.0f}%"
