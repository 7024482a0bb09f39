"""`twitchcam eval`: analyse every labelled clip of a folder and score it against its truth."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from twitchcam.core.scoring import Score, found_table, labelled_clips, onset_errors, pooled, read_truth, score
from twitchcam.media.landmarks import FaceLandmarker
from twitchcam.media.model import resolve_model
from twitchcam.run.pipeline import analyze


def evaluate_dataset(
    folder: str | os.PathLike, *, model: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, Score, dict[str, pd.DataFrame]]:
    """Analyse every labelled clip of `folder` and score it.

    Returns the per-clip table, the pooled score, and each clip's truth joined with whether (and how) it was
    found (columns of the truth plus `found`, `found_side`, `onset_error_s`), for breakdowns by amplitude or
    kind. With `out`, each clip's analysis is written to `out/<clip stem>/`.
    """
    pairs = labelled_clips(folder)
    rows, scores, all_onsets, details = [], [], [], {}
    with FaceLandmarker(resolve_model(model).path) as landmarker:
        for video, truth_path in pairs:
            truth = read_truth(truth_path)
            result = analyze(video, landmarker=landmarker, out=Path(out) / video.stem if out else None,
                             progress=progress)
            clip_score = score(truth, result.events, result.summary["duration_s"])
            scores.append(clip_score)
            all_onsets += onset_errors(truth, result.events)
            rows.append({"clip": video.name, **clip_score.as_dict()})
            details[video.name] = found_table(truth, result.events)
    return pd.DataFrame(rows), pooled(scores, all_onsets), details
