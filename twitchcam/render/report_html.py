"""The markup of report.html: a `string.Template` page filled with fragments in which every value is escaped.

`Html` marks text that is already markup; anything else passed to `render`, `tag` or `join` is escaped with
`html.escape`, so clip names, warnings and parameters cannot inject markup.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from importlib import resources
from string import Template

from twitchcam.core.clinical import SIDES, ClinicalMeasures, EventStrength
from twitchcam.core.detect import REGIONS
from twitchcam.core.severity import ScaleEstimate
from twitchcam.render.plots import SIDE_COLOURS


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


def side_chip(side: str) -> Html:
    return tag("span", side, class_=f"chip {side}")


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
        head = f"{side.upper()} side twitches"
        strength = (f"At its strongest the {side} eye closed {pct(m.peak_eye_closure)} of its opening "
                    f"(median over spasms {pct(m.median_eye_closure)}); the {side} eye was narrowed beyond the "
                    f"other {pct(m.eye_narrowed[side], 1)} of the time.")
    else:
        head = "Spasms on BOTH sides" if m.affected_side == "both" else "One-sided spasms"
        strength = (f"Eye narrowed beyond the other: left {pct(m.eye_narrowed['left'], 1)}, right "
                    f"{pct(m.eye_narrowed['right'], 1)} of the time.")
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
    caption = tag("div", "Regions per spasm, as you face the patient (R on the left).", class_="small muted")
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
                    tag("td", tag("div", e.grade, class_="grade"), tag("div", e.meaning, class_="small")),
                    tag("td", e.rule, class_="small")) for e in estimates)


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
        strength = [tag("div", f"{r.side} eye closed {pct(s.eye_closure)} of its opening "
                               f"({other} {pct(s.other_eye_closure)})"),
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
