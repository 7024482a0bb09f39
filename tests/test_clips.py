"""End to end with real MediaPipe on real faces: ../shared/clips (never committed) and samples/."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLES, SHARED

NORMAL = sorted((SHARED / "clips" / "normal").glob("*.mp4"))
SAMPLE_CLIPS = sorted(SAMPLES.glob("*.mp4"))

# Times of the one-sided movements in ../shared/clips/onesided, from its MANIFEST.md, with their sides
# ("either" where the lips go to alternate sides).
ONE_SIDED_WINDOWS = {
    "lp_d3_winks_onesided_grimace.mp4": [(0.30, 0.67, "left"), (1.17, 1.57, "right"), (1.6, 1.8, "right"),
                                         (8.5, 8.7, "right")],
    "lp_d19_onesided_smirk.mp4": [(0.2, 0.8, "left"), (1.4, 1.9, "right"), (5.2, 5.9, "left"), (6.5, 7.2, "right")],
    "lp_d9_lip_pull_webcam.mp4": [(4.7, 8.1, "either")],
}
SLACK_S = 0.35  # the manifest's times are approximate


@pytest.mark.parametrize("clip", NORMAL, ids=[p.stem for p in NORMAL])
def test_normal_faces_have_no_events(clip: Path, analysed, shared_clips):
    """Blinks, smiles, speech, singing, crying, head turns and a hand over the face: no spasm."""
    result = analysed(clip)
    assert result.summary["face_fraction"] > 0.9
    assert result.events.empty, result.events.to_string()
    assert result.summary["affected_side"] == "none"


def test_a_hand_over_the_face_is_a_quality_flag_not_a_spasm(analysed, shared_clips):
    """pyfeat clip: a hand covers the mouth and the right side of the face at about 3.9–5.6 s."""
    result = analysed(shared_clips / "normal" / "pyfeat_crying_hand_occlusion.mp4")
    frames = result.frames
    covered = frames.loc[frames["occluded"], "t_s"]
    assert 0.03 < result.summary["occluded_fraction"] < 0.3
    assert covered.min() > 3.0 and covered.max() < 6.5
    assert frames.loc[(frames["t_s"] > 4.3) & (frames["t_s"] < 5.3), "occluded"].all()
    assert any("covered" in w for w in result.summary["quality_warnings"])


@pytest.mark.parametrize("clip", [c for c in NORMAL if "occlusion" not in c.name], ids=lambda c: c.stem)
def test_faces_nobody_covers_are_not_flagged_as_occluded(clip, analysed, shared_clips):
    assert analysed(clip).summary["occluded_fraction"] == 0


@pytest.mark.parametrize("name", sorted(ONE_SIDED_WINDOWS))
def test_voluntary_one_sided_movements_are_seen_only_where_they_happen(name, analysed, shared_clips):
    result = analysed(shared_clips / "onesided" / name)
    windows = ONE_SIDED_WINDOWS[name]
    for event in result.event_list:
        assert any(
            event.start_s < end + SLACK_S and event.end_s > start - SLACK_S and side in (event.side, "either")
            for start, end, side in windows
        ), f"{event} is outside the one-sided movements of {name}"
    if name != "lp_d9_lip_pull_webcam.mp4":  # pursed lips pushed sideways: not a contraction of one side
        assert result.event_list, f"the clear one-sided movements in {name} were missed"


def read_truth(clip: Path) -> pd.DataFrame:
    return pd.read_csv(clip.with_suffix(".truth.csv"))


@pytest.mark.parametrize("clip", SAMPLE_CLIPS, ids=[p.stem for p in SAMPLE_CLIPS])
def test_samples_give_their_truth(clip: Path, analysed):
    """Every true spasm is found, on its side, with its regions; nothing else is reported."""
    truth = read_truth(clip)
    events = analysed(clip).event_list
    matched = set()
    for row in truth.itertuples():
        overlapping = [e for e in events if e.start_s < row.end_s and e.end_s > row.start_s]
        assert overlapping, f"missed the spasm at {row.start_s}-{row.end_s} s"
        for event in overlapping:
            assert event.side == row.side
            assert "eye" in event.regions
            matched.add(event)
        if set(row.regions.split(";")) >= {"cheek", "mouth"}:
            assert any({"cheek", "mouth"} & set(e.regions) for e in overlapping), "spread beyond the eye missed"
    extra = [e for e in events if e not in matched]
    assert not extra, f"events where the truth has none: {extra}"
    assert len(events) <= len(truth)


def test_samples_exist():
    names = {p.name for p in SAMPLE_CLIPS}
    assert {"hfs_left.mp4", "normal_blinks.mp4"} <= names
    for clip in SAMPLE_CLIPS:
        assert clip.with_suffix(".truth.csv").exists()
        assert clip.stat().st_size < 4_000_000
