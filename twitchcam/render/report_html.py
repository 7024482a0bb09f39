"""The markup of report.html: a `string.Template` page filled with fragments in which every value is escaped.

`Html` marks text that is already markup; anything else passed to `render`, `tag` or `join` is escaped with
`html.escape`, so clip names, warnings and parameters cannot inject markup.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from string import Template

from twitchcam.core.clinical import SIDES, ClinicalMeasures, EventStrength
from twitchcam.core.detect import REGIONS
from twitchcam.core.severity import MIN_GRADING_S, TOO_SHORT, ScaleEstimate
from twitchcam.render.style import SIDE_COLOURS


class Html(str):
    """Markup that is safe to insert as it is. Adding text to it escapes the text."""

    def __add__(self, other: object) -> Html:
        return Html(str.__add__(self, esc(other)))


def esc(value: object) -> Html:
    """`value` as safe markup: Html passes through, anything else is escaped."""
    return value if isinstance(value, Html) else Html(html.escape(str(value), quote=True))


def join(parts, sep: str = "") -> Html:
    return Html(esc(sep).join(esc(p) for p in parts))


def tag(name: str, *content: object, **attrs: object) -> Html:
    """<name attrs>content</name>; attribute names use `_` for `-` and a trailing `_` for reserved words."""
    attributes = "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in attrs.items() if v is not None)
    return Html(f"<{name}{attributes}>{join(content)}</{name}>")


def image(data: bytes, mime: str, alt: str, **attrs: object) -> Html:
    """An <img> with the picture embedded as a base64 data URI (the report needs no other file)."""
    uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in attrs.items() if v is not None)
    return Html(f'<img src="{uri}" alt="{esc(alt)}"{extra}>')


def render_page(**values: object) -> str:
    """The full page; every placeholder of the template must be given."""
    text = resources.files("twitchcam.render").joinpath("templates/report.html").read_text(encoding="utf-8")
    return Template(text).substitute({k: esc(v) for k, v in values.items()})


# ---- number formatting ------------------------------------------------------------------------------------


def pct(fraction: float, digits: int = 0) -> str:
    return "–" if fraction is None or not math.isfinite(fraction) else f"{100 * fraction:.{digits}f}%"


def clock(seconds: float, digits: int = 1) -> str:
    """m:ss.s (h:mm:ss for an hour or more)."""
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{seconds % 60:0{3 + digits}.{digits}f}"
    return f"{int(seconds // 60)}:{seconds % 60:0{3 + digits}.{digits}f}"


def length(seconds: float) -> str:
    """'24.0 s (0:24)' or '10 min 3 s'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60} min {rest} s"
    return f"{minutes} min {rest} s"


def patient_side(side: str) -> str:
    """A side as the report names it: "patient's left" / "patient's right" (never a bare "left"), "both sides",
    or "none" (no one-sided spasm)."""
    return {"left": "patient's left", "right": "patient's right", "both": "both sides"}.get(side, "none")


def side_chip(side: str) -> Html:
    return tag("span", patient_side(side), class_=f"chip {side}")


# ---- fragments ---------------------------------------------------------------------------------------------


def recording_fields(fields: list[tuple[str, object]]) -> Html:
    return join(tag("div", tag("b", label), value) for label, value in fields)


def warnings_box(warnings: list[str]) -> Html:
    if not warnings:
        return tag("section", tag("strong", "Recording quality: "), "no problems found (face visible, head "
                   "mostly frontal, frame rate and image size sufficient).", class_="warnings ok")
    return tag("section", tag("strong", "Recording quality warnings: the numbers below are less reliable."),
               tag("ul", *(tag("li", w) for w in warnings)), class_="warnings")


def finding_text(m: ClinicalMeasures, regions_text: str) -> Html:
    """The one-paragraph answer: which side, where, how often, how strongly."""
    duration = length(m.duration_s)
    if m.n_events == 0:
        return join([tag("strong", "No one-sided spasm found", class_="big"),
                     f"in {duration} of video. Bilateral blinks: {m.blinks.both}."])
    rate = m.n_events / (m.duration_s / 60) if m.duration_s > 0 else 0.0
    if m.affected_side in SIDES:
        side = m.affected_side
        head = f"The patient's {side.upper()} side twitches"
        strength = (f"At its strongest the patient's {side} eye closed {pct(m.peak_eye_closure)} of its opening "
                    f"(median over spasms {pct(m.median_eye_closure)}); it was narrowed beyond the other eye "
                    f"{pct(m.eye_narrowed[side], 1)} of the time.")
    else:
        head = "Spasms on BOTH sides" if m.affected_side == "both" else "One-sided spasms"
        strength = (f"Eye narrowed beyond the other: patient's left {pct(m.eye_narrowed['left'], 1)}, patient's "
                    f"right {pct(m.eye_narrowed['right'], 1)} of the time.")
    return join([
        tag("strong", head, class_="big"),
        f"{m.n_events} one-sided spasm{'s' if m.n_events != 1 else ''} in {duration} "
        f"({rate:.1f} per minute: {m.n_brief} brief, {m.n_sustained} sustained). ",
        f"Where: {regions_text}. ",
        f"Longest {m.longest_event_s:.1f} s, in spasm {pct(m.spasm_fraction, 1)} of the time. ",
        strength,
    ])


def face_map(by_side_region: dict[tuple[str, str], int], n_events: int) -> Html:
    """A schematic face, as seen facing the patient (their right on the left), each region shaded by how often
    it took part in that side's spasms, with the count beside it."""
    parts = ['<svg viewBox="0 0 220 250" width="210" height="238" role="img" aria-label="Where the spasms were">',
             '<ellipse cx="110" cy="128" rx="82" ry="106" fill="#fff" stroke="#888" stroke-width="2"/>',
             '<line x1="110" y1="30" x2="110" y2="232" stroke="#ccc" stroke-dasharray="3 4"/>']
    shapes = {
        "brow": lambda x: f'<rect x="{x - 24}" y="72" width="48" height="9" rx="4"',
        "eye": lambda x: f'<ellipse cx="{x}" cy="100" rx="21" ry="9"',
        "cheek": lambda x: f'<ellipse cx="{x - 6 if x < 110 else x + 6}" cy="145" rx="21" ry="15"',
        "mouth": lambda x: (f'<path d="M110 188 Q{(110 + x) / 2} 196 {x - 6 if x < 110 else x + 6} 184" '
                            'stroke-width="7" stroke-linecap="round" fill="none"'),
    }
    label_y = {"brow": 70, "eye": 104, "cheek": 150, "mouth": 200}
    for side, x in (("right", 72), ("left", 148)):
        colour = SIDE_COLOURS[side]
        for region in REGIONS:
            count = by_side_region.get((side, region), 0)
            share = count / n_events if n_events else 0.0
            opacity = 0.15 + 0.85 * share if count else 0.0
            paint = (f'stroke="{colour}" stroke-opacity="{max(opacity, 0.25):.2f}"' if region == "mouth" else
                     f'fill="{colour}" fill-opacity="{opacity:.2f}" stroke="{colour}" stroke-width="1.5"')
            parts.append(f"{shapes[region](x)} {paint}/>")
            if count:
                tx = 8 if side == "right" else 212
                anchor = "start" if side == "right" else "end"
                parts.append(f'<text x="{tx}" y="{label_y[region]}" font-size="13" font-weight="700" '
                             f'fill="{colour}" text-anchor="{anchor}">{count}</text>')
        parts.append(f'<text x="{x}" y="246" font-size="12" font-weight="700" fill="{colour}" text-anchor="middle">'
                     f'{"R" if side == "right" else "L"}</text>')
    parts.append("</svg>")
    caption = tag("div", "Regions per spasm, drawn as you face the patient: R marks the patient's right side, "
                  "L the patient's left.", class_="small muted")
    return Html("".join(parts)) + caption


@dataclass(frozen=True)
class Card:
    label: str
    value: object
    detail: object


def cards(items: list[Card]) -> Html:
    return join(tag("div", tag("div", c.label, class_="label"), tag("div", c.value, class_="value"),
                    tag("div", c.detail, class_="detail"), class_="card") for c in items)


def severity_rows(estimates: list[ScaleEstimate]) -> Html:
    return join(tag("tr", tag("td", tag("strong", e.scale)),
                    tag("td", tag("div", e.grade, class_="grade" if e.graded else "grade ungraded"),
                        tag("div", e.meaning, class_="small")),
                    tag("td", e.rule, class_="small"), data_graded="yes" if e.graded else "no") for e in estimates)


def timeline_figures(pngs: list[bytes], n_pages: int) -> Html:
    figures = []
    for i, png in enumerate(pngs):
        alt = ("Overview of the whole recording" if n_pages > 1 and i == 0 else
               f"Timeline page {i + (0 if n_pages > 1 else 1)} of {n_pages}")
        figures.append(tag("figure", image(png, "image/png", alt)))
    return join(figures)


@dataclass(frozen=True)
class EventRow:
    """One row of the event table, with its two thumbnails (JPEG bytes, or None without the video)."""

    event_id: int
    start_s: float
    end_s: float
    duration_s: float
    side: str
    regions: list[str]
    kind: str
    peak_s: float
    confidence: float
    strength: EventStrength
    brow_lift: bool | None
    peak_jpeg: bytes | None
    quiet_jpeg: bytes | None
    quiet_s: float | None


def event_table(rows: list[EventRow], thumbnails_note: str | None) -> Html:
    if not rows:
        return tag("p", "No one-sided spasm was detected, so there is no event to show.")
    notice = tag("div", thumbnails_note, class_="notice") if thumbnails_note else Html("")
    head = tag("thead", tag("tr", *(tag("th", h) for h in (
        "#", "When", "Side and regions", "Strength", "Face at the peak", "Same face at rest"))))
    body = []
    for r in rows:
        other = "right" if r.side == "left" else "left"
        s = r.strength
        strength = [tag("div", f"patient's {r.side} eye closed {pct(s.eye_closure)} of its opening "
                               f"(patient's {other} {pct(s.other_eye_closure)})"),
                    tag("div", f"peak asymmetry {100 * s.peak_asymmetry:.1f}% of eye distance", class_="t"),
                    tag("div", f"confidence {r.confidence:.2f}", class_="t")]
        brow = {True: "brow-lift sign: yes", False: "brow-lift sign: no", None: "brow-lift sign: –"}[r.brow_lift]
        peak = (image(r.peak_jpeg, "image/jpeg", f"event {r.event_id} at its peak, {clock(r.peak_s)}",
                      class_=f"peak-{r.side}") if r.peak_jpeg else "–")
        quiet = (image(r.quiet_jpeg, "image/jpeg", f"the same crop at rest, {clock(r.quiet_s or 0.0)}")
                 if r.quiet_jpeg else "–")
        body.append(tag(
            "tr",
            tag("td", r.event_id, class_="num"),
            tag("td", tag("div", f"{clock(r.start_s)} – {clock(r.end_s)}", class_="nowrap"),
                tag("div", f"{r.duration_s:.2f} s, {r.kind}", class_="t"),
                tag("div", "brief (< 1 s)" if r.duration_s < 1 else "sustained (≥ 1 s)", class_="t")),
            tag("td", side_chip(r.side), tag("div", ", ".join(r.regions)), tag("div", brow, class_="t")),
            tag("td", *strength),
            tag("td", peak, tag("div", f"peak {clock(r.peak_s)}", class_="t"), class_="thumb"),
            tag("td", quiet, tag("div", f"rest {clock(r.quiet_s)}" if r.quiet_s is not None else "", class_="t"),
                class_="thumb"),
            id=f"event-{r.event_id}", data_side=r.side, data_start_s=f"{r.start_s:.4f}",
        ))
    return notice + tag("table", head, tag("tbody", *body), class_="events")


def definitions(items: list[tuple[str, str]]) -> Html:
    return tag("dl", *(Html(tag("dt", term) + tag("dd", text)) for term, text in items), class_="defs")


def parameter_table(parameters: dict) -> Html:
    rows = []
    for key, value in parameters.items():
        shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else value
        rows.append(tag("tr", tag("td", key), tag("td", shown)))
    return tag("table", tag("tbody", *rows), class_="params")


# ---- the one-page clinic summary ---------------------------------------------------------------------------

LABEL_MAX_CHARS = 120
"""A longer patient or visit label is cut (with "…") in the summary, which must stay on one page."""


@dataclass(frozen=True)
class EarlierSession:
    """An earlier recording of the same patient, for the summary's trend (for example a diary session).

    `recorded`: when (a date, a datetime or an ISO 8601 text such as the diary's `started_at`);
    `events_per_min`: its spasms per minute; `minutes`: its length, when known (a short session's rate is rough).
    """

    recorded: date | datetime | str
    events_per_min: float
    minutes: float | None = None

    @property
    def day(self) -> date:
        """The calendar day it was recorded."""
        when = self.recorded
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        return when.date() if isinstance(when, datetime) else when

    @classmethod
    def from_diary(cls, sessions) -> list[EarlierSession]:
        """From `Diary.sessions()` (a table with `started_at`, `events_per_min` and `duration_s`), oldest first."""
        return [cls(row.started_at, float(row.events_per_min), float(row.duration_s) / 60)
                for row in sessions.itertuples()]


def _change(now: float, before: float) -> str:
    if before <= 0:
        return "none before" if now <= 0 else "up from none"
    change = (now - before) / before
    if abs(change) < 0.005:
        return "unchanged"
    return f"{'up' if change > 0 else 'down'} {abs(change) * 100:.0f}%"


def trend(earlier: Sequence[EarlierSession] | None, events_per_min: float, minutes: float, *,
          shown: int = 6) -> Html:
    """The trend of the summary: this recording's spasms per minute against the earlier sessions given (the last
    `shown` of them in a small table, oldest on the left), or "no earlier sessions"."""
    if not earlier:
        return tag("p", "No earlier sessions: this recording is the first one given for this patient.",
                   class_="trend-none")
    sessions = sorted(earlier, key=lambda s: s.day)
    last, first = sessions[-1], sessions[0]
    sentence = [f"{events_per_min:.1f} spasms/min now, {_change(events_per_min, last.events_per_min)} on the "
                f"previous session ({last.day:%Y-%m-%d}: {last.events_per_min:.1f}/min)"]
    if len(sessions) > 1:
        sentence.append(f"{_change(events_per_min, first.events_per_min)} on the first of {len(sessions)} earlier "
                        f"sessions ({first.day:%Y-%m-%d}: {first.events_per_min:.1f}/min)")
    listed = sessions[-shown:]

    def row(head: str, cells: list[str], current: str) -> Html:
        return tag("tr", tag("th", head), *(tag("td", c) for c in cells), tag("td", current, class_="now"))

    table = tag("table", tag("tbody",
                             row("Session", [f"{s.day:%Y-%m-%d}" for s in listed], "this recording"),
                             row("Minutes", [f"{s.minutes:.1f}" if s.minutes is not None else "–" for s in listed],
                                 f"{minutes:.1f}"),
                             row("Spasms/min", [f"{s.events_per_min:.1f}" for s in listed], f"{events_per_min:.1f}")),
                class_="trend")
    more = (tag("p", f"{len(sessions) - shown} older session(s) not listed.", class_="small muted")
            if len(sessions) > shown else Html(""))
    return join([tag("p", "; ".join(sentence) + "."), table, more])


def clinic_summary(*, label: str | None, clip_name: str, recorded: str | None, duration_s: float, usable_s: float,
                   summary: dict, measures: ClinicalMeasures, estimates: list[ScaleEstimate],
                   earlier: Sequence[EarlierSession] | None, version: str) -> Html:
    """The first page of the report, for the clinic file: who and when, the side, how often, how much of the
    time, where, the brow-lift sign, the estimated grades (or why there are none) and the trend.

    `summary` is summary.json, whose rounded numbers (`events_per_min`, `spasm_percent`) are shown as they are.
    """
    m = measures
    if label and len(label) > LABEL_MAX_CHARS:  # the summary must stay one page
        label = label[: LABEL_MAX_CHARS - 1] + "…"
    n = int(summary.get("n_events", m.n_events))
    rate = float(summary.get("events_per_min", 0.0))
    by_side = summary.get("events_by_side", {})
    side = str(summary.get("affected_side", m.affected_side))
    who = [tag("div", tag("b", "Patient / visit"), tag("span", label, class_="label-text") if label else
               tag("span", "no label given", class_="muted"), class_="who-label"),
           tag("div", tag("b", "Recorded"), recorded or "date not stated in the file"),
           tag("div", tag("b", "Length"), f"{length(duration_s)}"
               + (f" ({length(usable_s)} usable)" if usable_s < duration_s - 0.5 else " (all usable)")),
           tag("div", tag("b", "Video"), tag("span", clip_name, class_="mono"))]
    if n:
        side_detail = (f"{by_side.get('left', 0)} on the patient's left, {by_side.get('right', 0)} on the "
                       "patient's right")
        regions = ", ".join(f"{r} {c}" for r, c in m.events_by_region.items() if c)
        region_detail = (f"of {n} spasm{'s' if n != 1 else ''}; spread beyond the eye (cheek or mouth with it) in "
                         f"{m.spread_beyond_eye}")
        brow = f"{m.brow_lift_events} of {n}" if m.brow_lift_events else f"not seen (0 of {n})"
    else:
        side_detail, regions, region_detail, brow = "no one-sided spasm found", "–", "no spasm", "–"
    rate_detail = (f"{n} spasm{'s' if n != 1 else ''} in {length(duration_s)}: {m.n_brief} brief (< 1 s), "
                   f"{m.n_sustained} sustained (≥ 1 s)")
    boxes = [
        ("Affected side", patient_side(side).capitalize() if side != "none" else "None found", side_detail,
         f"side {side}"),
        ("Spasms per minute", f"{rate:.1f}", rate_detail, "rate"),
        ("Time in spasm", f"{float(summary.get('spasm_percent', 0.0)):.1f}%",
         f"{float(summary.get('spasm_time_s', 0.0)):.1f} s of {length(duration_s)}", "time"),
        ("Regions involved", regions, region_detail, "regions"),
        ("Brow-lift sign", brow, "spasms in which the same-side brow rose as the eye closed (typical of "
                                 "hemifacial spasm, not of blepharospasm)", "brow"),
    ]
    numbers = join(tag("div", tag("div", label_, class_="label"), tag("div", value, class_="value"),
                       tag("div", detail, class_="detail"), class_=f"box {kind}") for label_, value, detail, kind
                   in boxes)
    graded = [e for e in estimates if e.graded]
    if graded:
        grades = tag("table", tag("tbody", *(tag("tr", tag("td", e.scale), tag("td", tag("strong", e.grade)),
                                                  tag("td", e.meaning)) for e in graded)), class_="grades")
        grades_note = ("Estimates from this video by the rules on the following pages, not a clinical rating. "
                       "Video shows frequency, intensity and spread, not disability.")
    else:
        grades = tag("p", tag("strong", TOO_SHORT.capitalize() + ": "),
                     f"a grade needs at least {MIN_GRADING_S / 60:g} minutes of usable video, and this recording "
                     f"has {length(usable_s)}. Its numbers above are measurements of this clip only; one cluster "
                     "of spasms, or a quiet spell, can fill a short clip.", class_="too-short")
        grades_note = "Record a rest of 3 minutes or more for estimated grades."
    warnings = list(summary.get("quality_warnings", []))
    quality = (f"Recording quality: {len(warnings)} warning{'s' if len(warnings) != 1 else ''} (listed on the next "
               "page); the numbers are less reliable." if warnings else
               "Recording quality: no problems found.")
    return tag(
        "section",
        tag("div", tag("h2", "Clinic summary"), tag("div", f"twitchcam {version} · one page for the clinic file",
                                                         class_="small muted"), class_="summary-head"),
        tag("div", *who, class_="who"),
        tag("div", numbers, class_="boxes"),
        tag("h3", "Estimated severity"), grades, tag("p", grades_note, class_="small muted"),
        tag("h3", "Trend"), trend(earlier, rate, duration_s / 60),
        tag("p", quality, class_="small quality" + (" warn" if warnings else "")),
        tag("p", "Sides are anatomical (the patient's left as the patient feels it), whatever the camera shows. "
                 "Details, timeline, every spasm with its pictures and the method follow on the next pages.",
            class_="small muted end-of-summary"),
        class_="clinic-summary", id="clinic-summary", aria_label="Clinic summary",
    )
