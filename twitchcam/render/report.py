"""report.html (one self-contained file) and timeline.png for an analysis: what a clinician reads.

`write_report` works from the three result tables (and, for thumbnails, the video); `report_folder` does the
same for an existing results folder. Both write under temporary names and rename, so a failure leaves no
half-written report.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from twitchcam import __version__
from twitchcam.core.blinks import CLOSED_FRACTION, MAX_BLINK_S, ONE_EYE_RATIO
from twitchcam.core.clinical import (
    SIDES,
    ClinicalMeasures,
    brow_lift_per_event,
    clinical_measures,
    event_strengths,
    parameters_from_summary,
    quiet_frames,
    redetect,
    region_movements,
)
from twitchcam.core.detect import other_side
from twitchcam.core.errors import UsageError, VideoOpenError
from twitchcam.core.severity import estimate_scales
from twitchcam.media.face_track import FaceTrack
from twitchcam.render import report_html as h
from twitchcam.render.plots import SIDE_COLOURS, png_bytes, stack_images, timeline_images, timeline_pages
from twitchcam.store.results import EVENTS_FILE, FRAMES_FILE, SUMMARY_FILE, replace_file

REPORT_FILE = "report.html"
TIMELINE_FILE = "timeline.png"

log = logging.getLogger(__name__)


@dataclass
class ReportResult:
    """The files written, and notes for the user (e.g. why there are no thumbnails)."""

    html: Path
    timeline: Path
    notes: list[str] = field(default_factory=list)


def load_results(out_dir: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """events.csv, frames.csv and summary.json of a results folder. Raises `UsageError` when one is missing."""
    folder = Path(out_dir)
    if not folder.is_dir():
        raise UsageError(f"not a results folder: {folder}")
    missing = [name for name in (EVENTS_FILE, FRAMES_FILE, SUMMARY_FILE) if not (folder / name).is_file()]
    if missing:
        raise UsageError(f"{folder} has no {', '.join(missing)}: run `twitchcam analyze` first")
    try:
        events = pd.read_csv(folder / EVENTS_FILE)
        frames = pd.read_csv(folder / FRAMES_FILE)
        summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise UsageError(f"cannot read the results in {folder}: {err}") from err
    for column in ("face", "usable", "head_turned"):
        if column in frames and frames[column].dtype != bool:
            frames[column] = frames[column].astype(str).str.lower().eq("true")
    return events, frames, summary


def report_folder(out_dir: str | os.PathLike, *, video: str | os.PathLike | None = None) -> ReportResult:
    """Write report.html and timeline.png into an existing results folder.

    The video (for thumbnails) is `video` when given, else summary.json's `video`, looked for as recorded
    and beside the folder. Without it the report is still written, without thumbnails, and says so.
    """
    folder = Path(out_dir)
    events, frames, summary = load_results(folder)
    if video is not None and not Path(video).is_file():
        raise UsageError(f"video not found: {video}")
    from twitchcam.render.thumbnails import find_video

    found = Path(video) if video is not None else find_video(summary.get("video"), folder)
    return write_report(folder, events, frames, summary, video=found)


def write_report(
    out_dir: str | os.PathLike,
    events: pd.DataFrame,
    frames: pd.DataFrame,
    summary: dict,
    *,
    video: str | os.PathLike | None = None,
    track: FaceTrack | None = None,
) -> ReportResult:
    """Write report.html and timeline.png into `out_dir` from the analysis tables (see `twitchcam.store.results`).

    `video`: the analysed file, for the thumbnails (None: no thumbnails, and the report says why).
    `track`: face boxes recorded during the analysis, to crop thumbnails around the face.
    """
    folder = Path(out_dir)
    notes: list[str] = []
    params = parameters_from_summary(summary)
    detection = redetect(frames, params)
    movements = region_movements(frames, detection)
    strengths = event_strengths(events, movements)
    measures = clinical_measures(events, frames, summary, strengths)
    t_s = frames["t_s"].to_numpy(dtype=np.float64)
    step = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 1 / 30
    brow_lifts = brow_lift_per_event(events, detection, step)

    duration = float(summary.get("duration_s") or (t_s[-1] + step if len(t_s) else 0.0))
    images = timeline_images(movements, events, duration)
    pngs = [png_bytes(im) for im in images]

    quiet = quiet_frames(frames, movements, events, measures.blinks)
    peak_frames = [int(frames["frame"].iloc[int(np.argmin(np.abs(t_s - p)))]) for p in events["peak_s"]]
    jpegs, thumbs_note = _thumbnails(video, summary, frames, track, peak_frames, quiet, notes)
    rows = [
        h.EventRow(
            event_id=int(r.event_id), start_s=float(r.start_s), end_s=float(r.end_s), duration_s=float(r.duration_s),
            side=str(r.side), regions=str(r.regions).split(";"), kind=str(r.kind), peak_s=float(r.peak_s),
            confidence=float(r.confidence), strength=strengths[i], brow_lift=brow_lifts[i],
            peak_jpeg=jpegs.get(("peak", i)), quiet_jpeg=jpegs.get(("quiet", i)),
            quiet_s=float(t_s[quiet[i]]) if 0 <= quiet[i] < len(t_s) else None,
        )
        for i, r in enumerate(events.itertuples())
    ]
    date = _recording_date(video)
    page = h.render_page(
        version=__version__,
        title=f"twitchcam report: {Path(str(summary.get('video', 'video'))).name}",
        clip_name=Path(str(summary.get("video", ""))).name or "(unknown video)",
        clip_path=str(summary.get("video", "")),
        recording=h.recording_fields(_recording_fields(summary, frames, date, folder)),
        warnings=h.warnings_box(list(summary.get("quality_warnings", []))),
        finding_colour=SIDE_COLOURS.get(measures.affected_side, "#1d1d1f"),
        finding=h.finding_text(measures, _regions_text(events, measures)),
        face_map=h.face_map(_side_region_counts(events), len(events)),
        cards=h.cards(_cards(measures, summary)),
        severity=h.severity_rows(estimate_scales(measures)),
        timeline=h.timeline_figures(pngs, len(timeline_pages(duration))),
        events=h.event_table(rows, thumbs_note),
        method=_method(summary, summary.get("parameters") or params.as_dict(), folder),
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
                  "as recorded: the subject's left is on the image's right"),
    ]


def _side_region_counts(events: pd.DataFrame) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for row in events.itertuples():
        for region in str(row.regions).split(";"):
            counts[row.side, region] = counts.get((row.side, region), 0) + 1
    return counts


def _regions_text(events: pd.DataFrame, m: ClinicalMeasures) -> str:
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
        narrowed_label, narrowed = f"{side} eye narrowed", h.pct(m.eye_narrowed[side], 1)
        other = other_side(side)
        narrowed_detail = (f"of the usable time, closed beyond the {other} eye by more than the detection "
                           f"threshold ({other} eye: {h.pct(m.eye_narrowed[other], 1)})")
    else:
        narrowed_label = "eye narrowed (left / right)"
        narrowed = f"{h.pct(m.eye_narrowed['left'], 1)} / {h.pct(m.eye_narrowed['right'], 1)}"
        narrowed_detail = "of the usable time, each eye closed beyond the other by more than the detection threshold"
    strength_detail = (f"median {h.pct(m.median_eye_closure)} over spasms; normal blinks close ~80% here"
                       if n else "no spasm")
    return [
        h.Card("Spasms per minute", f"{n / minutes:.1f}" if n and minutes == minutes else "0",
               f"brief (< 1 s): {m.brief_per_min:.1f}/min ({m.n_brief}) · sustained (≥ 1 s): "
               f"{m.sustained_per_min:.1f}/min ({m.n_sustained})"),
        h.Card("Affected side", side.capitalize() if side != "none" else "None",
               f"left {by_side.get('left', 0)} · right {by_side.get('right', 0)} spasms"),
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
               f"one eye only: left {blinks.left_only}, right {blinks.right_only} · both-eye "
               f"{blinks.both / minutes:.1f}/min" if minutes == minutes else ""),
    ]


def _method(summary: dict, parameters: dict, folder: Path) -> h.Html:
    p = parameters
    defs = [
        ("Sides", "Always the subject's anatomical side. In an ordinary (unmirrored) video the subject's left is on "
                  "the image's right; thumbnails are marked R and L."),
        ("Spasm (event)", "A stretch in which one side of the face contracted and the other did not: the "
                          "left-minus-right difference of eye, cheek or mouth movement exceeded "
                          f"{p.get('threshold_sigmas', 5):g} robust standard deviations of this recording's own "
                          "noise (never less than a floor above landmark jitter), while the other side moved less "
                          "than 40–60% as much. Jerks less than "
                          f"{p.get('merge_gap_s', 0.5):g} s apart form one event. Blinks, smiles and speech move both "
                          "sides and are not events."),
        ("Brief / sustained", "Brief: shorter than 1 s; sustained: 1 s or longer (the split clinicians use)."),
        ("Clonic / tonic", f"Tonic: a contraction held at least {p.get('tonic_min_s', 0.5):g} s; clonic: brief "
                           "jerks or a train of them."),
        ("Spasms per minute", "Events divided by the length of the recording in minutes."),
        ("Affected side", "The side with at least 80% of the events; 'both' otherwise."),
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
        ("Regions and spread", "Eye, brow, cheek, mouth; another region joins an event when its own left-right "
                               "difference passes its threshold during it. Spread beyond the eye: the cheek or mouth "
                               "moved with the eye."),
        ("Brow-lift sign", "The same-side brow rose while the eye closed (the 'other Babinski sign', typical of "
                           "HFS and absent in blepharospasm)."),
        ("Blinks", f"Closures of at least {100 * CLOSED_FRACTION:.0f}% of the resting opening lasting up to "
                   f"{MAX_BLINK_S:g} s. Both-eye when the less-closed eye closed at least "
                   f"{100 * ONE_EYE_RATIO:.0f}% as much as the other; one-eye otherwise. One-eye blinks are "
                   "often the spasms themselves."),
        ("Timeline", "Lines: each side's movement from its own resting position (running median of the last "
                     f"{p.get('baseline_window_s', 15):g} s). Eye: % of the opening closed; brow, cheek, mouth: % of "
                     "the eye-to-eye distance, up = contracting."),
        ("Thumbnails", "The face at each event's peak, and the same crop at a nearby moment with no event, no blink "
                       "and the least left-right difference."),
        ("Severity estimates", "Computed by the rules shown beside them; not a clinical rating."),
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
        h.tag("h3", "Detection parameters (from summary.json)"), h.parameter_table(parameters),
        h.tag("p", "Not a diagnosis: twitchcam cannot tell hemifacial spasm from other causes of one-sided movement "
                   "(a wink, a smirk, facial palsy, tics). Diagnosis needs a clinician, and usually MRI and EMG.",
              class_="small"),
    ])
