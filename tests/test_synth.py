"""Spasm injection: planned like HFS, deterministic, and leaving the rest of the video untouched."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twitchcam.media.video import VideoReader
from twitchcam.synth.clip import LEAD_IN_S, inject, plan_spasms

SHORT_CLIP = "normal/tpsmm_vox_talking.mp4"  # 6.8 s at 25 fps


@pytest.mark.parametrize("seed", range(20))
def test_plans_look_like_hemifacial_spasm(seed):
    spasms = plan_spasms(60.0, seed=seed, amplitude=(0.2, 0.8))
    assert spasms == plan_spasms(60.0, seed=seed, amplitude=(0.2, 0.8))
    assert len({s.side for s in spasms}) == 1  # one side per recording
    for s in spasms:
        assert LEAD_IN_S <= s.start_s < s.end_s <= 60.0 and 0.2 <= s.amplitude <= 0.8
        assert s.regions[0] == "eye"
        if s.kind == "clonic":
            assert 1 <= len(s.jerks) <= 6 and all(0.08 <= d <= 0.2 for _, d in s.jerks)
        else:
            assert len(s.jerks) == 1 and 0.5 <= s.jerks[0][1] <= 3.0
    assert all(a.end_s < b.start_s for a, b in zip(spasms, spasms[1:]))


def frames(path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [f.image for f in reader]


@pytest.fixture(scope="module")
def injected(tmp_path_factory, shared_clips, landmarker):
    folder = tmp_path_factory.mktemp("synth")
    runs = []
    for name in ("a", "b"):
        truth = inject(shared_clips / SHORT_CLIP, folder / f"{name}.mkv", folder / f"{name}.truth.csv", seed=7,
                       events=1, side="left", amplitude=(0.8, 0.9), landmarker=landmarker)
        runs.append((folder / f"{name}.mkv", truth))
    return runs


def test_same_seed_same_video_and_truth(injected):
    (video_a, truth_a), (video_b, truth_b) = injected
    pd.testing.assert_frame_equal(truth_a, truth_b)
    assert len(truth_a) == 1
    assert all(np.array_equal(a, b) for a, b in zip(frames(video_a), frames(video_b), strict=True))


def test_only_the_spasm_frames_and_only_the_chosen_side_change(injected, shared_clips, landmarker):
    video, truth = injected[0]
    (spasm,) = truth.itertuples()
    assert spasm.side == "left"
    original, warped = frames(shared_clips / SHORT_CLIP), frames(video)
    assert len(original) == len(warped) == 169
    landmarker.reset()
    changed_frames = 0
    for i, (before, after) in enumerate(zip(original, warped)):
        t = i / 25.0
        if not spasm.start_s <= t < spasm.end_s:
            assert np.array_equal(before, after), f"frame {i} outside the spasm changed"
        elif not np.array_equal(before, after):
            changed_frames += 1
            face = landmarker.observe(i, t, before)
            midline = face.landmarks[[10, 151, 168, 6, 197, 195, 4, 1, 0, 17, 152], :2]
            midline = midline[np.argsort(midline[:, 1])]
            rows, columns = np.nonzero(np.any(before != after, axis=2))
            local_midline_x = np.interp(rows, midline[:, 1], midline[:, 0])
            assert np.all(columns > local_midline_x - 2)  # the subject's left is the image's right
    assert changed_frames >= 2


def test_injected_spasms_in_a_real_face_are_found_on_their_side(tmp_path, shared_clips, landmarker, analysed):
    """A small end-to-end accuracy check: strong right-sided spasms warped into the news anchor clip."""
    from twitchcam.core.scoring import score

    clip = tmp_path / "anchor_right.mkv"
    truth = inject(shared_clips / "normal" / "mimictalk_news_anchor.mp4", clip, tmp_path / "anchor_right.truth.csv",
                   seed=11, events=4, side="right", regions=["eye;cheek;mouth"], amplitude=(0.85, 1.0),
                   landmarker=landmarker)
    result = analysed(clip)
    s = score(truth, result.events, result.summary["duration_s"])
    assert s.false_positives == 0
    assert s.true_positives >= 2, (truth, result.events)
    assert s.side_accuracy == 1.0 and result.summary["affected_side"] == "right"
