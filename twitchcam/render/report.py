"""report.html (one self-contained file) and timeline.png for an analysis: what a clinician reads.

`write_report` works from the three result tables (and, for thumbnails, the video); `report_folder` does the
same for an existing results folder. Both write under temporary names and rename, so a failure leaves no
half-written report.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from twitchcam import __version__
from twitchcam.core.clinical import (
    ClinicalMeasures,
    clinical_measures,
    event_strengths,
    parameters_from_summary,
    quiet_frames,
    region_movements,
)
from twitchcam.core.detect import other_side
from twitchcam.core.errors import UsageError, VideoOpenError
from twitchcam.core.events import SIDES, EventTable
from twitchcam.core.parameters import DetectionParameters
from twitchcam.core.severity import estimate_scales
from twitchcam.media.face_track import FaceTrack
from twitchcam.render import report_html as h
from twitchcam.render.plots import png_bytes, stack_images, timeline_images, timeline_pages
from twitchcam.render.report_html import EarlierSession
from twitchcam.render.style import SIDE_COLOURS
from twitchcam.store.results import EVENTS_FILE, FRAMES_FILE, SUMMARY_FILE, Analysis, replace_file

REPORT_FILE = "report.html"
TIMELINE_FILE = "timeline.png"

log = logging.getLogger(__name__)


@dataclass
class ReportResult:
    """The files written, and notes for the user (e.g. why there are no thumbnails)."""

    html: Path
    timeline: Path
    notes: list[str] = field(default_factory=list)


def report_folder(out_dir: str | os.PathLike, *, video: str | os.PathLike | None = None, label: str | None = None,
                  earlier: Sequence[EarlierSession] | None = None) -> ReportResult:
    """Write report.html and timeline.png into an existing results folder.

    The video (for thumbnails) is `video` when given, else summary.json's `video`, looked for as recorded
    and beside the folder. Without it the report is still written, without thumbnails, and says so.
    """
    folder = Path(out_dir)
    analysis = Analysis.read(folder)
    if video is not None and not Path(video).is_file():
        raise UsageError(f"video not found: {video}")
    from twitchcam.render.thumbnails import find_video

    found = Path(video) if video is not None else find_video(analysis.summary.get("video"), folder)
    return write_report(folder, analysis, video=found, label=label, earlier=earlier)


def write_report(
    out_dir: str | os.PathLike,
    analysis: Analysis,
    *,
    video: str | os.PathLike | None = None,
    track: FaceTrack | None = None,
    label: str | None = None,
    earlier: Sequence[EarlierSession] | None = None,
) -> ReportResult:
    """Write report.html and timeline.png into `out_dir` from an analysis (see `twitchcam.store.results`).

    `video`: the analysed file, for the thumbnails (None: no thumbnails, and the report says why).
    `track`: face boxes recorded during the analysis, to crop thumbnails around the face.
    `label`: the patient or visit, for the first-page summary (default: summary.json's `label`). `earlier`: the
    patient's earlier sessions (e.g.
    `EarlierSession.from_diary(diary.sessions())`), for its trend; None: "no earlier sessions".
    """
    folder = Path(out_dir)
    notes: list[str] = []
    events, frames, summary = analysis.event_table, analysis.frames, analysis.summary
    label = label or summary.get("label")
    params = parameters_from_summary(summary)
    movements = region_movements(frames)
    strengths = event_strengths(events, movements)
    duration = analysis.duration_s
    measures = clinical_measures(events, frames, duration, strengths, params)
    t_s = frames["t_s"].to_numpy(dtype=np.float64)
    images = timeline_images(movements, events, duration)
    pngs = [png_bytes(im) for im in images]

    quiet = quiet_frames(frames, movements, events, measures.blinks)
    peak_frames = [int(frames["frame"].iloc[int(np.argmin(np.abs(t_s - p)))]) for p in events.peak_s]
    jpegs, thumbs_note = _thumbnails(video, summary, frames, track, peak_frames, quiet, notes)
    rows = [
        h.EventRow(
            event_id=i + 1, start_s=e.start_s, end_s=e.end_s, duration_s=e.duration_s, side=e.side,
            regions=list(e.regions), kind=e.kind, peak_s=e.peak_s, confidence=e.confidence, strength=strengths[i],
            brow_lift=e.brow_lift, peak_jpeg=jpegs.get(("peak", i)), quiet_jpeg=jpegs.get(("quiet", i)),
            quiet_s=float(t_s[quiet[i]]) if 0 <= quiet[i] < len(t_s) else None,
        )
        for i, e in enumerate(events)
    ]
    date = _recording_date(video)
    usable_s = duration * float(summary.get("usable_fraction", 1.0))
    estimates = estimate_scales(measures, usable_s=usable_s)
    page = h.render_page(
        version=__version__,
        title=f"twitchcam report: {label + ' – ' if label else ''}{Path(str(summary.get('video', 'video'))).name}",
        clinic_summary=h.clinic_summary(
            label=label, clip_name=Path(str(summary.get("video", ""))).name or "(unknown video)", recorded=date,
            duration_s=duration, usable_s=usable_s, summary=summary, measures=measures, estimates=estimates,
            earlier=earlier, version=__version__),
        clip_name=Path(str(summary.get("video", ""))).name or "(unknown video)",
        clip_path=str(summary.get("video", "")),
        recording=h.recording_fields(_recording_fields(summary, frames, date, folder)),
        warnings=h.warnings_box(list(summary.get("quality_warnings", []))),
        finding_colour=SIDE_COLOURS.get(measures.affected_side, "#1d1d1f"),
        finding=h.finding_text(measures, _regions_text(events, measures)),
        face_map=h.face_map(_side_region_counts(events), len(events)),
        cards=h.cards(_cards(measures, summary)),
        severity=h.severity_rows(estimates),
        timeline=h.timeline_figures(pngs, len(timeline_pages(duration))),
        events=h.event_table(rows, thumbs_note),
        method=_method(summary, params, folder),
        footer=h.join([f"Report made {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by twitchcam {__version__} "
                       f"from {EVENTS_FILE}, {FRAMES_FILE} and {SUMMARY_FILE} in {folder.resolve()}."]),
    )
    timeline_png = png_bytes(stack_images(images))
    html_path = replace_file(folder / REPORT_FILE, page.encode("utf-8"))
    timeline_path = replace_file(folder / TIMELINE_FILE, timeline_png)
    return ReportResult(html=html_path, timeline=timeline_path, notes=notes)


def _thumbnails(video, summary: dict, frames: pd.DataFrame, track: FaceTrack | None, peaks: list[int],
                quiet: list[int], notes: list[str]) -> tuple[dict, str | None]:
    """JPEG bytes keyed ('peak' | 'quiet', row), and a note for the report when something is missing."""
    if not peaks:
        return {}, None
    if video is None:
        recorded = summary.get("video") or "(not recorded)"
        missing = not Path(str(recorded)).is_file()
        note = (f"The analysed video ({recorded}) {'was not found' if missing else 'was not given'}, so there are "
                "no face pictures. Run `twitchcam report FOLDER --video PATH` to add them.")
        notes.append(f"video {recorded} {'not found' if missing else 'not given'}: the report has no thumbnails "
                     "(give --video PATH)")
        return {}, note
    from twitchcam.render.thumbnails import crop_box, read_frames, thumbnail_jpeg

    try:
        images = read_frames(video, peaks + [q for q in quiet if q >= 0])
    except VideoOpenError as err:
        notes.append(f"{err}: the report has no thumbnails")
        return {}, f"The video could not be read ({err}), so there are no face pictures."
    mirrored = bool(summary.get("mirrored", False))
    iod = float(np.nanmedian(frames["face_size_px"])) if frames["face_size_px"].notna().any() else None
    jpegs, centred = {}, False
    for i, (peak, rest) in enumerate(zip(peaks, quiet)):
        if peak not in images:
            continue
        height, width = images[peak].shape[:2]
        face = _face_box(track, peak)
        box = crop_box(width, height, face, iod)
        centred |= not box.from_face
        jpegs["peak", i] = thumbnail_jpeg(images[peak], box, mirrored=mirrored)
        if rest in images:
            jpegs["quiet", i] = thumbnail_jpeg(images[rest], box, mirrored=mirrored)
    note = None
    if len(jpegs) < len(peaks):
        note = "Some frames could not be read back from the video; their pictures are missing."
    if centred:
        note = ((note + " ") if note else "") + (
            "The face position was not recorded for this folder (it is recorded by `twitchcam analyze --report`), "
            "so pictures show a centred square of the frame sized from the eye distance.")
    return jpegs, note


def _face_box(track: FaceTrack | None, frame: int) -> np.ndarray | None:
    """The recorded face box at `frame`, or the nearest recorded one within a second's worth of frames."""
    if track is None or not len(track.boxes):
        return None
    boxes = track.boxes
    for offset in range(0, 31):
        for i in (frame - offset, frame + offset):
            if 0 <= i < len(boxes) and np.isfinite(boxes[i]).all():
                return boxes[i]
    return None


def _recording_date(video) -> str | None:
    if video is None:
        return None
    from twitchcam.render.thumbnails import recording_date

    return recording_date(video)


def _recording_fields(summary: dict, frames: pd.DataFrame, date: str | None, folder: Path) -> list:
    fps, nominal = summary.get("fps", 0.0), summary.get("nominal_fps", 0.0)
    size = frames.loc[frames["usable"], "face_size_px"] if "usable" in frames else frames["face_size_px"]
    iod = float(np.nanmedian(size)) if size.notna().any() else float("nan")
    mirrored = bool(summary.get("mirrored", False))
    rate = f"{fps:.1f} frames/s" + (f" (file says {nominal:.1f})" if abs(fps - nominal) > 0.5 else "")
    return [
        ("Recorded", date or "not stated in the file"),
        ("Length", f"{h.length(float(summary.get('duration_s', 0.0)))} ({summary.get('frames', len(frames))} frames)"),
        ("Frame rate", rate),
        ("Image", f"{summary.get('width', '?')} × {summary.get('height', '?')} px"
                  + (f", rotated {summary['rotation_deg']}°" if summary.get("rotation_deg") else "")),
        ("Face found", f"{h.pct(float(summary.get('face_fraction', 0.0)), 1)} of frames"),
        ("Usable frames", f"{h.pct(float(summary.get('usable_fraction', 0.0)), 1)} (face found, head within "
                          f"{summary.get('parameters', {}).get('max_head_turn_deg', 20):g}° of frontal)"),
        ("Face size", f"{iod:.0f} px between the eyes" if np.isfinite(iod) else "–"),
        ("Sides", "mirrored recording: sides swapped back" if mirrored else
                  "as recorded: the patient's left is on the image's right"),
    ]


def _side_region_counts(events: EventTable) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for side, regions in zip(events.side, events.regions):
        for region in regions:
            counts[side, region] = counts.get((side, region), 0) + 1
    return counts


def _regions_text(events: EventTable, m: ClinicalMeasures) -> str:
    if m.n_events == 0:
        return "none"
    parts = [f"{region} in {count} of {m.n_events}" for region, count in
             sorted(m.events_by_region.items(), key=lambda kv: -kv[1]) if count]
    spread = f"spread beyond the eye in {m.spread_beyond_eye} ({h.pct(m.spread_beyond_eye / m.n_events)})"
    return ", ".join(parts) + "; " + spread


def _cards(m: ClinicalMeasures, summary: dict) -> list[h.Card]:
    n = m.n_events
    side = m.affected_side
    by_side = summary.get("events_by_side", {})
    minutes = m.duration_s / 60 if m.duration_s > 0 else float("nan")
    blinks = m.blinks
    if side in SIDES:
        narrowed_label, narrowed = f"patient's {side} eye narrowed", h.pct(m.eye_narrowed[side], 1)
        other = other_side(side)
        narrowed_detail = (f"of the usable time, closed beyond the patient's {other} eye by more than the detection "
                           f"threshold (patient's {other} eye: {h.pct(m.eye_narrowed[other], 1)})")
    else:
        narrowed_label = "eye narrowed (patient's left / patient's right)"
        narrowed = f"{h.pct(m.eye_narrowed['left'], 1)} / {h.pct(m.eye_narrowed['right'], 1)}"
        narrowed_detail = "of the usable time, each eye closed beyond the other by more than the detection threshold"
    strength_detail = (f"median {h.pct(m.median_eye_closure)} over spasms; normal blinks close ~80% here"
                       if n else "no spasm")
    return [
        h.Card("Spasms per minute", f"{n / minutes:.1f}" if n and minutes == minutes else "0",
               f"brief (< 1 s): {m.brief_per_min:.1f}/min ({m.n_brief}) · sustained (≥ 1 s): "
               f"{m.sustained_per_min:.1f}/min ({m.n_sustained})"),
        h.Card("Affected side", h.patient_side(side).capitalize() if side != "none" else "None",
               f"patient's left {by_side.get('left', 0)} · patient's right {by_side.get('right', 0)} spasms"),
        h.Card("Time in spasm", h.pct(m.spasm_fraction, 1),
               f"{summary.get('spasm_time_s', 0.0):.1f} s of {h.length(m.duration_s)}"),
        h.Card(narrowed_label, narrowed, narrowed_detail),
        h.Card("Spasm duration", f"{m.mean_event_s:.2f} s" if n else "–",
               f"mean; longest {m.longest_event_s:.2f} s · clonic {summary.get('events_by_kind', {}).get('clonic', 0)}"
               f", tonic {summary.get('events_by_kind', {}).get('tonic', 0)}" if n else "no spasm"),
        h.Card("Strongest eye closure", h.pct(m.peak_eye_closure) if n else "–", strength_detail),
        h.Card("Regions involved", ", ".join(f"{r} {c}" for r, c in m.events_by_region.items()) if n else "–",
               f"spread beyond the eye (cheek or mouth with the eye): {m.spread_beyond_eye} of {n}"
               + (f" ({h.pct(m.spread_beyond_eye / n)})" if n else "")),
        h.Card("Brow-lift sign", f"{m.brow_lift_events} of {n}" if n else "–",
               "spasms in which the same-side brow rose while the eye closed (typical of HFS)"),
        h.Card("Blinks", f"{blinks.both} both-eye",
               f"one eye only: patient's left {blinks.left_only}, patient's right {blinks.right_only} · both-eye "
               f"{blinks.both / minutes:.1f}/min" if minutes == minutes else ""),
    ]


def _method(summary: dict, p: DetectionParameters, folder: Path) -> h.Html:
    ratios = [100 * r for r in p.one_sided_ratio.values()]
    defs = [
        ("Sides", "Always the patient's own anatomical side, written \"patient's left\" and \"patient's right\". "
                  "In an ordinary (unmirrored) video the patient's left is on the image's right; thumbnails are "
                  "marked R and L for the patient's sides."),
        ("Spasm (event)", "A stretch in which one side of the face contracted and the other did not: the "
                          "difference between the two sides' eye, cheek or mouth movement exceeded "
                          f"{p.threshold_sigmas:g} robust standard deviations of this recording's own "
                          "noise (never less than a floor above landmark jitter), while the other side moved less "
                          f"than {min(ratios):.0f}–{max(ratios):.0f}% as much. Jerks less than "
                          f"{p.merge_gap_s:g} s apart form one event. Blinks, smiles and speech move both "
                          "sides and are not events."),
        ("Brief / sustained", f"Brief: shorter than {p.brief_spasm_max_s:g} s; sustained: {p.brief_spasm_max_s:g} s "
                              "or longer (the split clinicians use)."),
        ("Clonic / tonic", f"Tonic: a contraction held at least {p.tonic_min_s:g} s; clonic: brief "
                           "jerks or a train of them."),
        ("Spasms per minute", "Events divided by the length of the recording in minutes."),
        ("Affected side", f"The side with at least {100 * p.affected_side_share:.0f}% of the events; 'both' "
                          "otherwise."),
        ("Time in spasm", "Total time covered by events, as a share of the recording."),
        ("Eye narrowed", "Share of usable frames in which that eye was closed more than the other eye by at least the "
                         "eye detection threshold (bilateral blinks therefore do not count)."),
        ("Eye closure (%)", "How much of the eye's resting opening is gone: 0% open as at rest, 100% shut. MediaPipe "
                            "under-reports one-sided closure (a lid half down reads 20–30%), so compare sides and "
                            "events rather than reading it as an absolute."),
        ("Peak asymmetry", "At the strongest moment, how much more the affected side moved than the other, as a "
                           "percentage of the distance between the eye centres."),
        ("Confidence", "0–1: how far above threshold, how one-sided, and how much of the event the face was "
                       "measurable."),
        ("Regions and spread", "Eye, brow, cheek, mouth; another region joins an event when its own difference "
                               "between the sides passes its threshold during it. Spread beyond the eye: the cheek "
                               "or mouth moved with the eye."),
        ("Brow-lift sign", "The same-side brow rose while the eye closed (the 'other Babinski sign', typical of "
                           "HFS and absent in blepharospasm)."),
        ("Blinks", f"Closures of at least {100 * p.blink_closed_fraction:.0f}% of the resting opening lasting up "
                   f"to {p.blink_max_s:g} s. Both-eye when the less-closed eye closed at least "
                   f"{100 * p.blink_one_eye_ratio:.0f}% as much as the other; one-eye otherwise. One-eye blinks are "
                   "often the spasms themselves."),
        ("Timeline", "Lines: each side's movement from its own resting position (running median of the last "
                     f"{p.baseline_window_s:g} s). Eye: % of the opening closed; brow, cheek, mouth: % of "
                     "the eye-to-eye distance, up = contracting."),
        ("Thumbnails", "The face at each event's peak, and the same crop at a nearby moment with no event, no blink "
                       "and the least difference between the sides."),
        ("Severity estimates", "Computed by the rules shown beside them; not a clinical rating. Given only from at "
                               "least 3 minutes of usable video (shorter: too short to grade). They rate what "
                               "video shows (frequency, intensity, spread), never disability."),
    ]
    if (folder / "annotated.webm").is_file():
        defs.append(("annotated.webm (in this folder)", "The video with each side's outlines, per-side bars (E eye "
                     "closure, B brow, C cheek, M mouth; a side's bars sit at its edge of the picture) and a banner "
                     "during each spasm. Open it in a browser."))
    software = [
        ("twitchcam", summary.get("twitchcam_version", "?")),
        ("MediaPipe", summary.get("mediapipe_version", "?")),
        ("Face model sha256", h.tag("span", summary.get("model_sha256", "?"), class_="mono")),
        ("Results folder", h.tag("span", str(folder.resolve()), class_="mono")),
    ]
    return h.join([
        h.tag("h3", "How to read each number"), h.definitions(defs),
        h.tag("h3", "Software and model"), h.definitions([(k, v) for k, v in software]),
        h.tag("h3", "Detection parameters (from summary.json)"), h.parameter_table(p.as_dict()),
        h.tag("p", "Not a diagnosis: twitchcam cannot tell hemifacial spasm from other causes of one-sided movement "
                   "(a wink, a smirk, facial palsy, tics). Diagnosis needs a clinician, and usually MRI and EMG.",
              class_="small"),
    ])
