"""Estimated grades on published hemifacial-spasm scales, from the measured numbers. Pure Python.

These are ESTIMATES from one video, not clinical ratings. Each carries the rule that produced it, so a reader
can check it against the numbers, and two limits keep them honest:

- **Length.** A grade is given only from at least `MIN_GRADING_S` (3 minutes) of usable video; a shorter
  recording is "too short to grade" (see `MIN_GRADING_S` for why 3 minutes).
- **What video shows.** Video shows how often the face contracts, for how long, how hard and how far it spreads.
  It does not show disability: the Jankovic severity grades are partly defined by how much the spasms stop the
  patient doing things (reading, driving), which only the patient can say. The severity estimate here uses the
  visible part only (intensity and spread), and no grade's wording claims an effect on daily life or on sight.

- Jankovic Rating Scale (Jankovic & Orman 1987), severity 0–4 (visible part) and frequency 0–4.
- SMC grade (Samsung Medical Center grading of HFS): I periocular only; II spread to other muscles of the
  same side; III frequent tonic spasms closing the eye; IV disfiguring asymmetry (not assessed).
"""

from __future__ import annotations

from dataclasses import dataclass

from twitchcam.core.clinical import ClinicalMeasures

MIN_GRADING_S = 180.0
"""Usable video (face found, head near frontal) needed before any grade is given: 3 minutes.

Why: every rule below turns on a rate (spasms per minute, thresholds of 1/min) or a share of the time, and
hemifacial spasms come in clusters separated by quiet spells. Filmed for 3 minutes, untreated HFS patients
showed 0.3 to 24.7 one-sided blink-like spasms a minute (Osaki et al. 2019, Graefe's Arch Clin Exp Ophthalmol,
doi:10.1007/s00417-019-04567-w, which, like other HFS eyelid studies, records 3 minutes): at the low end a
24-second clip shows no spasm at all, and one cluster fills it. Three minutes is also more than the 1–2 minutes
over which video eye-closure counts of blepharospasm (whose spasms are steadier) were found stable (Hosseini,
Kassavetis & Hallett 2023, Dystonia, doi:10.3389/dyst.2023.11385). Shorter clips still get their measurements
(rate, time in spasm, regions, brow-lift sign), only no grade.
"""

# Rule constants (fractions of the recording, or events per minute).
NARROWED_MOST_OF_TIME = 0.5  # JRS frequency 4: eye closed/narrowed more than half of the time
SEVERE_NARROWED = 0.25  # JRS severity 4: the affected eye narrowed a quarter of the time or more
SEVERE_SPREADING_SUSTAINED_PER_MIN = 1.0  # ... or sustained spasms reaching cheek/mouth at least once a minute
MODERATE_SPASM_FRACTION = 0.10  # JRS severity 3: in spasm 10% of the time or more
FREQUENT_TONIC_PER_MIN = 1.0  # SMC III: tonic spasms at least once a minute ...
VISION_NARROWED = 0.10  # ... with the eye narrowed at least 10% of the time

TOO_SHORT = "too short to grade"

JANKOVIC_SEVERITY = {
    0: "no spasm seen",
    1: "minimal: more blinking only with external stimuli (light, wind, reading)",
    2: "mild: spontaneous eyelid fluttering, definitely noticeable",
    3: "moderate: very noticeable spasm of the eyelids",
    4: "severe: strong spasm of the eyelids and other facial muscles",
}
"""The visible part of each Jankovic severity grade (the published grades 2–4 also rate disability)."""
JANKOVIC_FREQUENCY = {
    0: "none",
    1: "slightly increased frequency of blinking",
    2: "eyelid fluttering lasting less than 1 s",
    3: "eyelid spasm lasting more than 1 s, eye open more than 50% of the time",
    4: "eye closed or narrowed more than 50% of the time",
}
SMC_GRADES = {
    "I": "spasm around the eye only",
    "II": "spread to other facial muscles of the same side (cheek, mouth)",
    "III": "frequent tonic spasms that close the eye",
    "IV": "disfiguring asymmetry",
}
NO_DISABILITY = ("Disability (what the spasms stop the patient doing), part of the published grade, is not "
                 "assessed: video cannot show it.")


@dataclass(frozen=True)
class ScaleEstimate:
    """One estimated grade: the scale, the grade, what the grade means, and the rule that gave it.

    `graded` is False when the recording is too short (`MIN_GRADING_S`): `grade` is then "too short to grade".
    """

    scale: str
    grade: str
    meaning: str
    rule: str
    graded: bool = True


def long_enough(usable_s: float) -> bool:
    """Whether `usable_s` seconds of usable video are enough to grade (see `MIN_GRADING_S`)."""
    return usable_s >= MIN_GRADING_S


def _not_graded(scale: str, m: ClinicalMeasures, usable_s: float) -> ScaleEstimate:
    seen = (f"{m.n_events} one-sided spasm{'s' if m.n_events != 1 else ''} seen" if m.n_events else
            "no one-sided spasm seen")
    return ScaleEstimate(
        scale, TOO_SHORT, f"{seen}; a grade needs at least {MIN_GRADING_S / 60:g} minutes of usable video",
        f"this recording has {_minutes(usable_s)} of usable video (face found, head near frontal) out of "
        f"{_minutes(m.duration_s)}: too short to tell a steady rate from one cluster of spasms or a quiet spell. "
        "Record a rest of 3 minutes or more to get an estimate.", graded=False)


def jankovic_frequency(m: ClinicalMeasures, *, usable_s: float | None = None) -> ScaleEstimate:
    """JRS frequency from spasm durations and the time the affected eye is narrowed.

    `usable_s`: seconds of usable video (default: the whole recording); below `MIN_GRADING_S` there is no grade.
    """
    scale = "Jankovic Rating Scale, frequency (0–4)"
    usable_s = m.duration_s if usable_s is None else usable_s
    if not long_enough(usable_s):
        return _not_graded(scale, m, usable_s)
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
    rule += (". Grade 1 (slightly more blinking) is not estimated: one clip gives no normal blink rate. Grade 4 "
             "is read from the eye's closure on video, not from what the patient can see.")
    return ScaleEstimate(scale, str(grade), JANKOVIC_FREQUENCY[grade], rule)


def jankovic_severity(m: ClinicalMeasures, *, usable_s: float | None = None) -> ScaleEstimate:
    """JRS severity, the part video shows: how long, how often and how far the spasms spread (not disability).

    `usable_s`: seconds of usable video (default: the whole recording); below `MIN_GRADING_S` there is no grade.
    """
    scale = "Jankovic Rating Scale, severity (0–4), intensity and spread only"
    usable_s = m.duration_s if usable_s is None else usable_s
    if not long_enough(usable_s):
        return _not_graded(scale, m, usable_s)
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
    rule += ". Grade 1 (blinking only with external stimuli) cannot be seen without the stimuli. " + NO_DISABILITY
    return ScaleEstimate(scale, str(grade), JANKOVIC_SEVERITY[grade], rule)


def smc_grade(m: ClinicalMeasures, *, usable_s: float | None = None) -> ScaleEstimate:
    """SMC-like spread grade I–III from the regions involved and tonic spasms; IV is not assessed.

    `usable_s`: seconds of usable video (default: the whole recording); below `MIN_GRADING_S` there is no grade.
    """
    scale = "SMC grade of hemifacial spasm (I–IV), spread"
    usable_s = m.duration_s if usable_s is None else usable_s
    if not long_enough(usable_s):
        return _not_graded(scale, m, usable_s)
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
    rule += (". IV (disfiguring asymmetry at rest) is not assessed: the method measures movement from rest. "
             "III is read from the eye's closure on video; whether it hinders sight is for the patient to say.")
    return ScaleEstimate(scale, grade, SMC_GRADES[grade], rule)


def estimate_scales(m: ClinicalMeasures, *, usable_s: float | None = None) -> list[ScaleEstimate]:
    """All estimates shown in the report, in display order. `usable_s`: seconds of usable video (default: all)."""
    return [jankovic_severity(m, usable_s=usable_s), jankovic_frequency(m, usable_s=usable_s),
            smc_grade(m, usable_s=usable_s)]


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.0f}%"


def _minutes(seconds: float) -> str:
    """'24 s' or '3 min 12 s'."""
    whole = int(round(seconds))
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60} s"
