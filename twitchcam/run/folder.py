"""One video into one results folder: the analysis, then the report and the annotated video if asked for.

`twitchcam analyze`, each batch worker and each web-page job run this same function, so a folder is the same
whichever way it was made. The video is decoded by MediaPipe once; the report's pictures and the annotated
video reuse the face positions recorded during that pass, and both take the analysis as it is (nothing runs
the detector again).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from twitchcam.store.results import Analysis

if TYPE_CHECKING:  # the server's parent process imports the stage names without loading MediaPipe
    from twitchcam.core.parameters import DetectionParameters
    from twitchcam.media.eye_model import EyeModel
    from twitchcam.media.landmarks import FaceLandmarker
    from twitchcam.render.report_html import EarlierSession
    from twitchcam.run.pipeline import FrameHook

ANALYSING, WRITING_VIDEO, WRITING_REPORT = "analysing", "writing the annotated video", "writing the report"
"""The stages of a folder's making, in order, as `on_progress` names them."""

ProgressCallback = Callable[[str, int, int], None]
"""Told (stage, frames done, frames in the file — 0 when unknown) as the work goes on."""


@dataclass
class FolderResult:
    """What a folder run produced: the analysis (as written) and notes for the user (e.g. no thumbnails)."""

    analysis: Analysis
    folder: Path
    notes: list[str] = field(default_factory=list)


def analyse_into_folder(
    video: str | os.PathLike,
    out: str | os.PathLike,
    *,
    report: bool = False,
    annotate: bool = False,
    mirrored: bool = False,
    model: str | os.PathLike | None = None,
    params: DetectionParameters | None = None,
    landmarker: FaceLandmarker | None = None,
    eye_model: EyeModel | None = None,
    frame_hooks: Sequence[FrameHook] = (),
    recording_name: str | None = None,
    label: str | None = None,
    earlier: Sequence[EarlierSession] | None = None,
    progress: bool = False,
    on_progress: ProgressCallback | None = None,
) -> FolderResult:
    """Analyse `video` and write events.csv, frames.csv and summary.json into `out` (all or nothing), then
    report.html + timeline.png (`report`) and annotated.webm (`annotate`).

    `recording_name`: how summary.json and the report name the video (default: its path). `label`: the patient
    or visit, kept in summary.json (`label`) for the report's first-page summary. `earlier`: the patient's
    earlier sessions, for the report's trend. `progress`: progress bars on stderr. `on_progress(stage, done,
    total)`: the same progress for a caller that shows it elsewhere.
    Raises what `analyze` raises, and `OutputError` when a file cannot be written.
    """
    from twitchcam.media.face_track import FaceTrackRecorder
    from twitchcam.run.pipeline import analyze

    def told(stage: str):
        return None if on_progress is None else (lambda done, total: on_progress(stage, done, total))

    extras = report or annotate
    with FaceTrackRecorder(outlines=annotate) as recorder:  # face positions, so nothing runs MediaPipe twice
        analysis = analyze(video, mirrored=mirrored, model=model, params=params, landmarker=landmarker,
                           eye_model=eye_model, progress=progress, on_frame=told(ANALYSING),
                           frame_hooks=(*frame_hooks, recorder) if extras else tuple(frame_hooks))
        if recording_name is not None:
            analysis.summary["video"] = recording_name
        if label:
            analysis.summary["label"] = label
        folder = analysis.write(out)
        result = FolderResult(analysis=analysis, folder=folder)
        if not extras:
            return result
        with recorder.finish() as track:
            if annotate:  # first: the report mentions the annotated video when the folder has it
                from twitchcam.render.annotate import annotate_analysis

                annotate_analysis(video, folder, analysis, track, progress=progress, on_frame=told(WRITING_VIDEO))
            if report:
                from twitchcam.render.report import write_report

                if on_progress is not None:
                    on_progress(WRITING_REPORT, 0, 1)
                result.notes += write_report(folder, analysis, video=video, track=track,
                                             earlier=earlier).notes
                if on_progress is not None:
                    on_progress(WRITING_REPORT, 1, 1)
    return result
