"""The parameters table: range checks, the summary.json round trip, `twitchcam params`, and `--param` reaching the
detector on real runs of `analyze`, `batch`, `live` and `report` (real processes, real MediaPipe, real clips)."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
from test_cli import assert_one_line_error, run_cli  # noqa: I001 - the tests folder is on sys.path

from twitchcam.core.parameters import DetectionParameters, ParameterError, QualityParameters, parameter_names

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE = SAMPLES / "hfs_left.mp4"  # 24 s, synthetic left-sided spasms on a real face (samples/README.md)
SHORT_CLIP = "normal/lp_d0_smile_eye_roll_greenscreen.mp4"  # 78 frames of a real face
NO_EVENTS = "threshold_sigmas=1000"  # nothing real reaches a thousand noise widths
LOW_FPS_WARNING = "low frame rate"


# --- the table -----------------------------------------------------------------------------------------------


def test_defaults_are_todays_values():
    """The thresholds that lived outside the table moved in unchanged (results must not change)."""
    p = DetectionParameters()
    assert (p.blink_closed_fraction, p.blink_release_fraction, p.blink_one_eye_ratio, p.blink_max_s,
            p.blink_min_frames, p.blink_rest_window_s) == (0.15, 0.08, 0.6, 1.0, 2, 10.0)
    assert (p.affected_side_share, p.brief_spasm_max_s) == (0.8, 1.0)
    assert p.quality == QualityParameters(min_face_fraction=0.9, max_turned_fraction=0.1, min_fps=20.0,
                                          min_face_size_px=40.0, min_decoded_fraction=0.9)


@pytest.mark.parametrize(("changes", "text"), [
    ({"threshold_sigmas": 0}, "threshold_sigmas must be > 0, not 0"),
    ({"threshold_sigmas": float("nan")}, "threshold_sigmas must be > 0"),
    ({"min_confidence": 1.5}, "min_confidence must be >= 0 and <= 1, not 1.5"),
    ({"min_frames": 2.5}, "min_frames must be a whole number"),
    ({"min_frames": True}, "min_frames must be a whole number"),
    ({"merge_gap_s": "0.5"}, "merge_gap_s must be a number"),
    ({"affected_side_share": 0.5}, "affected_side_share must be > 0.5"),
    ({"max_head_turn_deg": 91}, "max_head_turn_deg must be > 0 and <= 90"),
    ({"evidence_fusion": "median"}, "evidence_fusion must be one of mean, top2, max"),
    ({"threshold_floor": {"eyelid_aperture": 0.02}}, "threshold_floor has no value for"),
    ({"threshold_floor": {**DetectionParameters().threshold_floor, "nose": 0.1}}, "unknown channel nose"),
    ({"threshold_floor": {**DetectionParameters().threshold_floor, "iris_contrast": -1}},
     "threshold_floor.iris_contrast must be > 0"),
    ({"one_sided_ratio": {"eye": 0.3, "mouth": 0.4}}, "one_sided_ratio has no value for cheek"),
    ({"channels": ("brow_height",)}, "not a trigger channel: brow_height"),
    ({"channels": ()}, "at least one trigger channel"),
    ({"min_duration_s": 40.0}, "max_duration_s (30) must be longer than min_duration_s (40)"),
    ({"blink_release_fraction": 0.2}, "must not exceed blink_closed_fraction"),
    ({"quality": {"min_fps": 15}}, "quality must be a QualityParameters"),
])
def test_values_out_of_range_are_refused_on_construction(changes, text):
    with pytest.raises(ValueError) as raised:
        DetectionParameters(**changes)
    assert isinstance(raised.value, ParameterError)
    assert text in str(raised.value)


@pytest.mark.parametrize(("changes", "text"), [
    ({"min_face_fraction": -0.1}, "min_face_fraction must be >= 0 and <= 1, not -0.1"),
    ({"min_decoded_fraction": 1.1}, "min_decoded_fraction must be >= 0 and <= 1"),
    ({"min_fps": -1}, "min_fps must be >= 0"),
])
def test_quality_values_out_of_range_are_refused(changes, text):
    with pytest.raises(ParameterError, match=text.replace("(", r"\(").replace(")", r"\)")):
        QualityParameters(**changes)


def test_values_at_the_edges_of_their_ranges_are_accepted():
    p = DetectionParameters(min_confidence=1.0, onset_fraction=0.0, pose_window_s=0.0, affected_side_share=1.0,
                            max_head_turn_deg=90.0, channels=("iris_contrast",))
    assert (p.min_confidence, p.pose_window_s, p.channels) == (1.0, 0.0, ("iris_contrast",))


def test_from_dict_round_trips_through_summary_json():
    changed = DetectionParameters().with_values([
        "threshold_sigmas=4.25", "threshold_floor.iris_contrast=0.07", "one_sided_ratio.eye=0.35", "min_frames=3",
        "channels=eyelid_aperture,cheek_skin_lift", "evidence_fusion=mean", "quality.min_fps=12.5",
        "blink_max_s=0.8", "affected_side_share=0.9"])
    for p in (DetectionParameters(), changed):
        assert DetectionParameters.from_dict(json.loads(json.dumps(p.as_dict()))) == p
    assert changed.channels == ("eyelid_aperture", "cheek_skin_lift")  # a list in JSON, a tuple again here
    assert changed.as_dict()["quality"]["min_fps"] == 12.5  # summary.json records the quality thresholds too


def test_from_dict_fills_missing_keys_and_ignores_unknown_ones_with_a_warning(caplog):
    """A summary.json from an older version (fewer keys) or a newer one (more keys) still reads."""
    recorded = {"threshold_sigmas": 4.0, "threshold_floor": {"iris_contrast": 0.08, "future_channel": 0.1},
                "future_knob": 3, "quality": {"min_fps": 10.0, "future_warning": 1}}
    with caplog.at_level(logging.WARNING, logger="twitchcam.core.parameters"):
        p = DetectionParameters.from_dict(recorded)
    defaults = DetectionParameters()
    assert p == dataclasses.replace(
        defaults, threshold_sigmas=4.0, threshold_floor={**defaults.threshold_floor, "iris_contrast": 0.08},
        quality=dataclasses.replace(defaults.quality, min_fps=10.0))
    warned = " ".join(r.getMessage() for r in caplog.records)
    for name in ("future_knob", "threshold_floor.future_channel", "quality.future_warning"):
        assert name in warned
    assert DetectionParameters.from_dict({}) == defaults


def test_from_dict_refuses_a_recorded_value_out_of_range():
    with pytest.raises(ParameterError, match="threshold_sigmas must be > 0"):
        DetectionParameters.from_dict({"threshold_sigmas": -2})


def test_with_values_parses_each_type():
    p = DetectionParameters().with_values(["threshold_sigmas=5", "min_frames=4", "evidence_fusion= max",
                                           "channels=all", "threshold_floor.eyelid_aperture=0.02"])
    assert (p.threshold_sigmas, p.min_frames, p.evidence_fusion, p.channels) == (5.0, 4, "max", None)
    assert isinstance(p.threshold_sigmas, float) and isinstance(p.min_frames, int)
    assert p.threshold_floor["eyelid_aperture"] == 0.02
    assert p.threshold_floor["iris_contrast"] == DetectionParameters().threshold_floor["iris_contrast"]
    # fields checked against each other see all the assignments at once
    assert DetectionParameters().with_values(["min_duration_s=40", "max_duration_s=50"]).max_duration_s == 50


# --- twitchcam params ------------------------------------------------------------------------------------------


def test_params_lists_every_field_of_both_tables_with_default_and_meaning():
    result = run_cli("params")
    assert result.returncode == 0, result.stderr
    for f in dataclasses.fields(DetectionParameters):
        if f.name != "quality":
            assert f"\n{f.name}" in f"\n{result.stdout}", f.name
    for f in dataclasses.fields(QualityParameters):
        assert f"\nquality.{f.name} = " in result.stdout, f.name
    assert "\nthreshold_sigmas = 3.5  [> 0]\n" in result.stdout
    assert "\nthreshold_floor.eyelid_aperture = 0.012  [> 0]\n" in result.stdout
    assert "\nquality.min_face_size_px = 40  [>= 0]\n    Warn when the median distance" in result.stdout

    listed = json.loads(run_cli("params", "--json").stdout)
    assert [p["name"] for p in listed] == parameter_names()
    defaults = DetectionParameters().as_dict()
    for p in listed:
        head, _, key = p["name"].partition(".")
        assert p["default"] == (defaults[head][key] if key else defaults[head]), p["name"]
        assert len(p["help"]) > 20, f"{p['name']} has no meaning in its docstring"
    assert [p["name"].split(".")[0] for p in listed].count("quality") == len(dataclasses.fields(QualityParameters))


# --- --param on the commands ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["analyze", str(SAMPLE)], ["batch", str(SAMPLES), "--out", "{tmp}/out"],
                                     ["live", "--source", str(SAMPLE), "--headless", "--no-save"]])
@pytest.mark.parametrize(("param", "text"), [
    ("threshold_sigma=4", "unknown parameter 'threshold_sigma' (`twitchcam params` lists them)"),
    ("threshold_sigmas=four", "threshold_sigmas must be a number, not 'four'"),
    ("threshold_sigmas=-1", "threshold_sigmas must be > 0, not -1"),
    ("threshold_floor.nose=0.1", "threshold_floor has no entry 'nose'"),
    ("quality.min_fps", "expected NAME=VALUE"),
])
def test_a_bad_param_is_one_line_and_exit_2_before_anything_runs(tmp_path, model_path, command, param, text):
    args = [a.format(tmp=tmp_path) for a in command]
    result = run_cli(*args, "--param", param, model=model_path)
    assert_one_line_error(result, 2, f"Invalid value for '--param': {param}: {text}")
    assert list(tmp_path.iterdir()) == []
    assert not (SAMPLES / "hfs_left_twitchcam").exists()


def test_param_changes_detection_and_is_recorded_and_read_back_by_report(tmp_path, model_path, analysed):
    default = analysed(SAMPLE)
    assert default.summary["n_events"] > 0
    assert not any(LOW_FPS_WARNING in w for w in default.summary["quality_warnings"])

    out = tmp_path / "strict"
    result = run_cli("analyze", str(SAMPLE), "--out", str(out), "--quiet", "--param", NO_EVENTS,
                     "--param", "quality.min_fps=1000", "--param", "brief_spasm_max_s=0.25", model=model_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_events"] == 0 and summary["affected_side"] == "none"
    assert any(LOW_FPS_WARNING in w for w in summary["quality_warnings"])  # the quality table reached it too
    recorded = DetectionParameters.from_dict(summary["parameters"])
    assert recorded == DetectionParameters().with_values([NO_EVENTS, "quality.min_fps=1000",
                                                          "brief_spasm_max_s=0.25"])
    assert summary["parameters"]["quality"]["min_fps"] == 1000

    # `report` rebuilds the parameters from summary.json: its method text says what the analysis used
    reported = run_cli("report", str(out), "--quiet", model=model_path)
    assert reported.returncode == 0, reported.stderr
    page = (out / "report.html").read_text()
    assert "1000 robust standard deviations" in page and "shorter than 0.25 s" in page


def test_param_reaches_the_batch_workers_and_resume_redoes_videos_analysed_with_other_values(
        tmp_path, shared_clips, model_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.mp4").write_bytes((shared_clips / SHORT_CLIP).read_bytes())
    out = tmp_path / "out"

    def batch(*args: str) -> dict:
        result = run_cli("batch", str(videos), "--out", str(out), "--workers", "1", "--quiet", *args,
                         model=model_path)
        assert result.returncode == 0, result.stderr
        status = (out / "batch_summary.csv").read_text().splitlines()[1].split(",")[1]
        return {"status": status, **json.loads((out / "a" / "summary.json").read_text())}

    strict = batch("--param", "quality.min_fps=1000", "--param", "min_confidence=0.9")
    assert strict["parameters"]["quality"]["min_fps"] == 1000 and strict["parameters"]["min_confidence"] == 0.9
    assert any(LOW_FPS_WARNING in w for w in strict["quality_warnings"])
    assert batch("--resume", "--param", "min_confidence=0.9", "--param", "quality.min_fps=1000")["status"] == "skipped"
    again = batch("--resume")  # the defaults now: the finished video was analysed with others, so it is redone
    assert again["status"] == "ok" and again["parameters"] == DetectionParameters().as_dict()
    assert not any(LOW_FPS_WARNING in w for w in again["quality_warnings"])


def test_param_reaches_the_live_session(model_path, analysed):
    default = analysed(SAMPLE)
    early = [e for e in default.event_list if e.end_s < 8]
    assert early, "the sample has spasms in its first 8 s"
    result = run_cli("live", "--source", str(SAMPLE), "--headless", "--no-save", "--duration", "8",
                     "--param", NO_EVENTS, model=model_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, "no event is printed"
    summary = lines[0]["summary"]
    assert summary["n_events"] == 0 and summary["parameters"]["threshold_sigmas"] == 1000
