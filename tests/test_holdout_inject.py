"""benchmarks/holdout_inject.py, the independent holdout injector, on a real clip with real MediaPipe.

The first ~4 s of the news-anchor clip (steady head, partial blinks only) get one eye spasm on each side in
turn. MediaPipe on the injected frames must see the lid gap drop on the truth's side and not on the other;
every frame outside the truth intervals must be the decoded source frame, bit for bit, at the same time.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from twitchcam.media.video import VideoReader

CLIP = "mimictalk_news_anchor.mp4"
SECONDS = 4.2


@pytest.fixture(scope="module")
def holdout():
    """The benchmarks/holdout_inject.py module (benchmarks/ is not a package)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module("holdout_inject")
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


@pytest.fixture(scope="module")
def track(holdout, shared_clips, landmarker):
    """MediaPipe landmarks of the clip's first SECONDS, once for the module."""
    return holdout.track_clip(shared_clips / "normal" / CLIP, landmarker, SECONDS)


@pytest.fixture(scope="module")
def injected(holdout, track, tmp_path_factory):
    """side -> (video, truth table): one strong (75 %) eye spasm on that side, written by render_clip."""
    out = {}
    for side in ("right", "left"):
        folder = tmp_path_factory.mktemp(f"holdout_{side}")
        events = holdout.make_events(track, "holdout_default", seed=3, side=side)
        assert events, "a 4 s clip has room for one event after the 2 s lead-in"
        events = [dataclasses.replace(e, amplitude=0.75) for e in events]
        video = holdout.render_clip(track, {"holdout_default": events}, folder)["holdout_default"]
        truth = video.with_name(f"{track.path.stem}__holdout_default.truth.csv")
        holdout.write_truth(truth, events)
        out[side] = (video, pd.read_csv(truth))
    return out


def _inside(t: float, truth: pd.DataFrame) -> bool:
    return bool(((truth["start_s"] <= t) & (t <= truth["end_s"])).any())


@pytest.mark.slow
@pytest.mark.parametrize("side", ["right", "left"])
def test_lid_gap_drops_on_the_truth_side_only(holdout, track, injected, landmarker, side):
    video, truth = injected[side]
    k = holdout.SIDES.index(side)
    frames = {i for i, t in enumerate(track.times) if _inside(t, truth)}
    assert frames
    gaps = holdout.measure_gaps(video, landmarker, frames)
    ratios = np.array([np.array(gaps[i]) / track.gaps[i] for i in sorted(frames) if i in gaps])
    deepest = ratios[np.argmin(ratios[:, k])]
    assert deepest[k] < 0.85, f"injected eye's mesh lid gap only fell to {deepest[k]:.2f} of the source's"
    assert deepest[1 - k] > 0.88, f"other eye's mesh lid gap fell to {deepest[1 - k]:.2f} of the source's"
    assert deepest[k] < deepest[1 - k] - 0.1


@pytest.mark.slow
@pytest.mark.parametrize("side", ["right", "left"])
def test_frames_outside_truth_are_the_source_frames(track, injected, side):
    video, truth = injected[side]
    changed = []
    with VideoReader(track.path) as source, VideoReader(video) as copy:
        assert copy.info.fps == pytest.approx(source.info.fps)
        n = 0
        for a, b in zip(source, copy):
            if a.index >= len(track.times):
                break
            assert b.t_s == pytest.approx(a.t_s, abs=0.0011)
            same = np.array_equal(a.image, b.image)
            assert same or _inside(a.t_s, truth), f"frame {a.index} at {a.t_s:.3f} s changed outside the truth"
            changed.append(not same)
            n += 1
    assert n == len(track.times)
    assert any(changed), "the spasm changed no frame"


@pytest.mark.slow
def test_truth_files_are_well_formed(holdout, track, tmp_path):
    for variant, (family, (lo, hi)) in holdout.VARIANTS.items():
        events = holdout.make_events(track, variant, seed=0)
        path = tmp_path / f"{variant}.truth.csv"
        holdout.write_truth(path, events)
        table = pd.read_csv(path)
        assert tuple(table.columns) == holdout.TRUTH_COLUMNS
        assert len(table) == len(events) >= 1
        assert (table["start_s"] >= 2.0).all() and (table["end_s"] <= track.times[-1]).all()
        assert (table["start_s"] < table["end_s"]).all()
        assert table["side"].nunique() == 1 and set(table["side"]) <= {"right", "left"}
        assert set(table["kind"]) <= {"clonic", "tonic"}
        assert table["amplitude"].between(lo, hi).all()
        regions = [set(r.split(";")) for r in table["regions"]]
        if family == "eye":
            assert all("eye" in r for r in regions) and set(table["amplitude_unit"]) == {"aperture"}
        else:
            assert all("eye" not in r and r and r <= {"cheek", "mouth"} for r in regions)
            assert set(table["amplitude_unit"]) == {"iod"}
