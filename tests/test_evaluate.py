"""Event matching and scores on constructed cases, and `twitchcam eval` on files."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from twitchcam.core.scoring import match_events, read_truth, score


def table(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["start_s", "end_s", "side"])


def test_exact_match():
    truth = table((1.0, 1.5, "left"), (4.0, 6.0, "left"))
    s = score(truth, truth.copy(), 60)
    assert (s.precision, s.recall, s.f1, s.side_accuracy, s.median_onset_error_s) == (1, 1, 1, 1, 0)
    assert s.false_positives_per_min == 0


def test_shifted_detection_counts_with_its_onset_error():
    s = score(table((1.0, 1.5, "left")), table((1.05, 1.6, "left")), 60)
    assert s.true_positives == 1 and s.median_onset_error_s == pytest.approx(0.05)


def test_split_detection_is_one_hit_and_one_false_positive():
    s = score(table((1.0, 3.0, "left")), table((1.0, 1.8, "left"), (2.2, 3.0, "left")), 30)
    assert (s.true_positives, s.false_positives, s.false_negatives) == (1, 1, 0)
    assert s.false_positives_per_min == pytest.approx(2.0)


def test_merged_detection_claims_only_one_true_spasm():
    s = score(table((1.0, 1.5, "left"), (1.7, 2.0, "left")), table((0.9, 2.1, "left")), 60)
    assert (s.true_positives, s.false_positives, s.false_negatives) == (1, 0, 1)


def test_matching_prefers_the_larger_overlap():
    truth = table((1.0, 2.0, "left"), (2.1, 4.0, "left"))
    match = match_events(truth, table((1.8, 3.9, "left")))
    assert list(match.truth_to_pred) == [-1, 0]


def test_wrong_side_is_matched_but_lowers_side_accuracy():
    s = score(table((1.0, 1.5, "left"), (5.0, 5.5, "left")), table((1.0, 1.5, "right"), (5.0, 5.5, "left")), 60)
    assert s.true_positives == 2 and s.side_accuracy == 0.5


def test_empty_truth_and_empty_detections():
    s = score(table(), table((1.0, 1.2, "left")), 30)
    assert (s.false_positives, s.precision) == (1, 0) and math.isnan(s.recall)
    s = score(table((1.0, 1.2, "left")), table(), 30)
    assert s.false_negatives == 1 and s.recall == 0 and math.isnan(s.precision)


def test_non_overlapping_events_do_not_match():
    s = score(table((1.0, 1.2, "left")), table((1.3, 1.5, "left")), 60)
    assert (s.true_positives, s.false_positives, s.false_negatives) == (0, 1, 1)


def test_eval_command_on_files(tmp_path):
    (tmp_path / "truth.csv").write_text("start_s,end_s,side,regions\n1.0,1.5,left,eye\n8.0,9.0,left,eye;cheek\n")
    (tmp_path / "empty.csv").write_text("")
    out = tmp_path / "run"
    out.mkdir()
    (out / "events.csv").write_text(
        "event_id,start_s,end_s,duration_s,side,regions,kind,peak_s,peak_asymmetry,confidence\n"
        "1,1.02,1.4,0.38,left,eye,clonic,1.2,0.03,0.8\n2,20.0,20.3,0.3,right,eye,clonic,20.1,0.02,0.5\n")
    (out / "summary.json").write_text(json.dumps({"duration_s": 60.0}))
    result = subprocess.run([sys.executable, "-m", "twitchcam._cli.main", "eval", str(tmp_path / "truth.csv"),
                             str(out / "events.csv"), "--json", str(tmp_path / "s.json")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "precision 50.0%, recall 50.0%" in result.stdout and "1.00 false positives/min" in result.stdout
    scores = json.loads((tmp_path / "s.json").read_text())
    assert scores["true_positives"] == 1 and scores["median_onset_error_s"] == pytest.approx(0.02)
    assert read_truth(tmp_path / "empty.csv").empty
