"""Scoring detected events against labelled truth: one-to-one matching by temporal overlap.

Matching maximises the total overlap (Hungarian assignment), so one long detection cannot claim two true
spasms and a split detection counts once. A pair counts whatever its sides; side accuracy is reported
separately for matched pairs.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from twitchcam.core.errors import UsageError

TRUTH_REQUIRED = ("start_s", "end_s", "side")


@dataclass(frozen=True)
class Match:
    """Which predicted event (row index) matched which true event, or -1 for none."""

    truth_to_pred: np.ndarray
    """(n_truth,) index into the predictions, -1 where the true event was missed."""
    pred_to_truth: np.ndarray
    """(n_pred,) index into the truth, -1 for a false positive."""


@dataclass(frozen=True)
class Score:
    """Counts and rates of one clip or a pooled set. Rates are NaN where undefined (e.g. no truth)."""

    n_truth: int
    n_pred: int
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float
    side_accuracy: float
    median_onset_error_s: float
    duration_s: float
    false_positives_per_min: float

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in asdict(self).items()}


def match_events(truth: pd.DataFrame, predicted: pd.DataFrame) -> Match:
    """One-to-one matching of predicted to true events that overlap in time, maximising total overlap."""
    n_t, n_p = len(truth), len(predicted)
    if n_t == 0 or n_p == 0:
        return Match(np.full(n_t, -1), np.full(n_p, -1))
    t_start, t_end = truth["start_s"].to_numpy(float), truth["end_s"].to_numpy(float)
    p_start, p_end = predicted["start_s"].to_numpy(float), predicted["end_s"].to_numpy(float)
    overlap = np.minimum(t_end[:, None], p_end[None, :]) - np.maximum(t_start[:, None], p_start[None, :])
    overlap = np.clip(overlap, 0, None)
    rows, cols = linear_sum_assignment(-overlap)
    truth_to_pred, pred_to_truth = np.full(n_t, -1), np.full(n_p, -1)
    for r, c in zip(rows, cols):
        if overlap[r, c] > 0:
            truth_to_pred[r], pred_to_truth[c] = c, r
    return Match(truth_to_pred, pred_to_truth)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def score(truth: pd.DataFrame, predicted: pd.DataFrame, duration_s: float) -> Score:
    """Precision, recall, F1, side accuracy, median onset error and false positives per minute."""
    match = match_events(truth, predicted)
    matched = np.flatnonzero(match.truth_to_pred >= 0)
    tp = len(matched)
    fp = int((match.pred_to_truth < 0).sum())
    fn = len(truth) - tp
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    pred_rows = match.truth_to_pred[matched]
    sides_agree = truth["side"].to_numpy()[matched] == predicted["side"].to_numpy()[pred_rows]
    onset = np.abs(truth["start_s"].to_numpy(float)[matched] - predicted["start_s"].to_numpy(float)[pred_rows])
    return Score(
        n_truth=len(truth), n_pred=len(predicted), true_positives=tp, false_positives=fp, false_negatives=fn,
        precision=precision, recall=recall, f1=f1,
        side_accuracy=float(sides_agree.mean()) if tp else float("nan"),
        median_onset_error_s=float(np.median(onset)) if tp else float("nan"),
        duration_s=float(duration_s),
        false_positives_per_min=_ratio(fp, duration_s / 60),
    )


def pooled(scores: list[Score], onsets: list[float]) -> Score:
    """Totals over several clips: counts summed, rates recomputed from the sums; `onsets` are the
    matched pairs' onset errors of all clips (a median of medians would be wrong)."""
    tp = sum(s.true_positives for s in scores)
    fp = sum(s.false_positives for s in scores)
    fn = sum(s.false_negatives for s in scores)
    duration = sum(s.duration_s for s in scores)
    sides = [s.side_accuracy * s.true_positives for s in scores if s.true_positives]
    return Score(
        n_truth=sum(s.n_truth for s in scores), n_pred=sum(s.n_pred for s in scores),
        true_positives=tp, false_positives=fp, false_negatives=fn,
        precision=_ratio(tp, tp + fp), recall=_ratio(tp, tp + fn), f1=_ratio(2 * tp, 2 * tp + fp + fn),
        side_accuracy=_ratio(sum(sides), tp),
        median_onset_error_s=float(np.median(onsets)) if onsets else float("nan"),
        duration_s=duration, false_positives_per_min=_ratio(fp, duration / 60),
    )


def onset_errors(truth: pd.DataFrame, predicted: pd.DataFrame) -> list[float]:
    """|onset error| in seconds of every matched pair (for pooling medians over clips)."""
    match = match_events(truth, predicted)
    matched = np.flatnonzero(match.truth_to_pred >= 0)
    return list(np.abs(truth["start_s"].to_numpy(float)[matched]
                       - predicted["start_s"].to_numpy(float)[match.truth_to_pred[matched]]))


def read_truth(path: str | os.PathLike) -> pd.DataFrame:
    """A truth CSV (`start_s,end_s,side[,regions,kind,amplitude]`); an empty file means no spasm."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"file not found: {path}")
    if path.stat().st_size == 0:
        return pd.DataFrame(columns=list(TRUTH_REQUIRED))
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise UsageError(f"not a CSV file: {path} ({err})") from err
    missing = [c for c in TRUTH_REQUIRED if c not in table.columns]
    if missing:
        raise UsageError(f"{path} lacks the column(s) {', '.join(missing)}")
    return table


VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")


def labelled_clips(folder: str | os.PathLike) -> list[tuple[Path, Path]]:
    """(video, truth) pairs: every video `X.<ext>` in `folder` with an `X.truth.csv` beside it, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"not a folder: {folder}")
    pairs = []
    for video in sorted(folder.iterdir()):
        truth = video.with_name(f"{video.stem}.truth.csv")
        if video.suffix.lower() in VIDEO_SUFFIXES and not video.name.startswith(".") and truth.is_file():
            pairs.append((video, truth))
    if not pairs:
        raise UsageError(f"no video with a .truth.csv beside it in {folder}")
    return pairs


def found_table(truth: pd.DataFrame, predicted: pd.DataFrame) -> pd.DataFrame:
    """The truth with, per row, whether it was matched, the matched event's side and the onset error."""
    match = match_events(truth, predicted)
    table = truth.copy()
    hit = match.truth_to_pred >= 0
    table["found"] = hit
    sides = predicted["side"].to_numpy() if len(predicted) else np.array([], dtype=object)
    starts = predicted["start_s"].to_numpy(float) if len(predicted) else np.array([])
    table["found_side"] = [sides[i] if i >= 0 else None for i in match.truth_to_pred]
    table["onset_error_s"] = [abs(starts[i] - s) if i >= 0 else np.nan
                              for i, s in zip(match.truth_to_pred, truth["start_s"].to_numpy(float))]
    return table
