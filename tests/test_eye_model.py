"""MediaPipe's per-eye model on real frames: it follows the eye the mesh found, and sees a wink on its side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twitchcam.core.errors import ModelIntegrityError
from twitchcam.media.eye_model import CONTOUR_MESH_ORDER, EyeModel
from twitchcam.media.frame_table import FrameTable
from twitchcam.media.video import VideoReader

WINKS = "onesided/lp_d3_winks_onesided_grimace.mp4"
"""The subject's LEFT eye winks at ~0.30–0.67 s, the RIGHT at ~1.17–1.57 s (MANIFEST.md); both open before."""
STILL = "normal/mimictalk_news_anchor.mp4"
"""A news anchor with a very steady head and only partial blinks: the cleanest baseline."""

# The 362/263 eye's contour in the same order (each mesh index mirrors the one at the same place above).
LEFT_EYE_MESH_ORDER = (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398)
MESH_IRIS_CENTRE = {"right": 468, "left": 473}


@pytest.fixture(scope="module")
def eye_model(eye_model_path):
    with EyeModel(eye_model_path) as model:
        yield model


def measured(path, landmarker, eye_model, *, mirrored=(False,)) -> dict[bool, pd.DataFrame]:
    """The clip's frame tables, one per `mirrored` setting, from a single decoding pass."""
    tables = {m: FrameTable(mirrored=m, eye_model=eye_model) for m in mirrored}
    landmarker.reset()
    with VideoReader(path) as reader:
        for frame in reader:
            observation = landmarker.observe(frame.index, frame.t_s, frame.image)
            for table in tables.values():
                table.add(observation, frame.image)
    return {m: table.to_frame() for m, table in tables.items()}


@pytest.fixture(scope="module")
def winks(shared_clips, landmarker, eye_model) -> dict[bool, pd.DataFrame]:
    return measured(shared_clips / WINKS, landmarker, eye_model, mirrored=(False, True))


def opening(frames: pd.DataFrame, side: str, start_s: float, end_s: float,
            measure: str = "eyelid_aperture_eye_model") -> float:
    window = frames[(frames["t_s"] >= start_s) & (frames["t_s"] <= end_s)]
    return float(np.nanmedian(window[f"{measure}_{side}"]))


@pytest.mark.slow
def test_a_wink_closes_the_winking_eye_only_on_its_anatomical_side(winks):
    frames = winks[False]
    assert frames["face"].all()
    for winking, other, (start, end) in (("left", "right", (0.33, 0.63)), ("right", "left", (1.20, 1.53))):
        open_winking, open_other = (opening(frames, side, 0.0, 0.15) for side in (winking, other))
        closed, other_during = opening(frames, winking, start, end), opening(frames, other, start, end)
        assert 0.15 < open_winking < 0.45 and 0.15 < open_other < 0.45  # an open eye: a gap of 15-45% of its width
        assert closed < 0.6 * open_winking, (winking, closed, open_winking)
        assert other_during > 0.75 * open_other, (other, other_during, open_other)
        assert closed < 0.75 * other_during
        # What it is for: the open eye keeps more of its opening than the mesh says (the mesh's two-eye prior).
        mesh_kept = opening(frames, other, start, end, "eyelid_aperture") / opening(frames, other, 0.0, 0.15,
                                                                                    "eyelid_aperture")
        assert other_during / open_other > mesh_kept + 0.05, (other, other_during / open_other, mesh_kept)


@pytest.mark.slow
def test_mirrored_swaps_the_sides(winks):
    plain, mirrored = winks[False], winks[True]
    for side, other in (("left", "right"), ("right", "left")):
        np.testing.assert_array_equal(mirrored[f"eyelid_aperture_eye_model_{side}"],
                                      plain[f"eyelid_aperture_eye_model_{other}"])
    assert opening(mirrored, "right", 0.33, 0.63) < 0.6 * opening(mirrored, "right", 0.0, 0.15)


@pytest.mark.slow
def test_the_contour_lies_on_the_eye_the_mesh_found(shared_clips, landmarker, eye_model):
    """Both eyes, the flipped one included: each of the 16 contour points near the mesh point of the same
    name, and the iris centre near the mesh's. A wrong flip or rotation would put corners an eye width off."""
    landmarker.reset()
    with VideoReader(shared_clips / WINKS) as reader:
        for frame in reader:
            if frame.index not in (0, 75, 170, 300):
                continue
            observation = landmarker.observe(frame.index, frame.t_s, frame.image)
            readings = eye_model.read(frame.image, observation.landmarks)
            for side, order in (("right", CONTOUR_MESH_ORDER), ("left", LEFT_EYE_MESH_ORDER)):
                mesh = observation.landmarks[list(order), :2]
                width = float(np.linalg.norm(mesh[0] - mesh[8]))
                error = np.linalg.norm(readings[side].contour - mesh, axis=1)
                assert np.median(error) < 0.1 * width and error.max() < 0.3 * width, (frame.index, side, error)
                iris_error = np.linalg.norm(readings[side].iris[0] - observation.landmarks[MESH_IRIS_CENTRE[side], :2])
                assert iris_error < 0.15 * width, (frame.index, side, iris_error)


@pytest.mark.slow
def test_an_eye_cut_off_by_the_image_edge_is_not_measured(shared_clips, landmarker, eye_model):
    with VideoReader(shared_clips / WINKS) as reader:
        image = next(iter(reader)).image
    landmarker.reset()
    landmarks = landmarker.observe(0, 0.0, image).landmarks
    # Cut the frame just inside the 362/263 eye's inner corner: that eye's crop now lies mostly outside it.
    cut = int(landmarks[362, 0]) + 2
    readings = eye_model.read(np.ascontiguousarray(image[:, :cut]), landmarks)
    assert np.isnan(readings["left"].lid_opening) and np.isnan(readings["left"].contour).all()
    assert readings["right"].lid_opening == pytest.approx(eye_model.read(image, landmarks)["right"].lid_opening,
                                                          rel=1e-6)


@pytest.mark.slow
def test_a_still_face_gives_a_steady_opening(shared_clips, landmarker, eye_model):
    frames = measured(shared_clips / STILL, landmarker, eye_model)[False]

    def noise(column: str) -> float:
        """Frame-to-frame jitter (robust SD of one frame's value) as a fraction of the median opening."""
        values = frames[column].to_numpy()
        steps = np.diff(values)
        return 1.4826 * float(np.nanmedian(np.abs(steps))) / np.sqrt(2) / float(np.nanmedian(values))

    for side in ("left", "right"):
        model_noise, mesh_noise = noise(f"eyelid_aperture_eye_model_{side}"), noise(f"eyelid_aperture_{side}")
        assert model_noise < 0.03, (side, model_noise)
        assert model_noise < 1.5 * mesh_noise, (side, model_noise, mesh_noise)
        values = frames[f"eyelid_aperture_eye_model_{side}"]
        assert values.notna().mean() > 0.99


def test_a_file_that_is_not_the_eye_model_is_refused(model_path):
    with pytest.raises(ModelIntegrityError, match="not"):
        EyeModel(model_path)  # the face model's bundle: a zip, not a TensorFlow Lite flatbuffer
