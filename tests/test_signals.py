"""Per-side signals on real MediaPipe landmarks: anatomical sides, mirrored input, pose removal."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from twitchcam.core import signals
from twitchcam.core.signals import SIGNAL_COLUMNS, measure
from twitchcam.media.video import VideoReader


def frame_at(path, t_s: float) -> np.ndarray:
    with VideoReader(path) as reader:
        for frame in reader:
            if frame.t_s >= t_s:
                return frame.image
    raise AssertionError("clip too short")


def row(values: np.ndarray) -> dict[str, float]:
    return dict(zip(SIGNAL_COLUMNS, values))


@pytest.fixture(scope="module")
def wink(shared_clips, landmarker):
    """d3 at 0.5 s: the subject's LEFT eye is shut in a wink (on the image's right)."""
    image = frame_at(shared_clips / "onesided" / "lp_d3_winks_onesided_grimace.mp4", 0.5)
    landmarker.reset()
    return image, landmarker.observe(0, 0.0, image)


def test_left_means_the_subjects_left(wink):
    _, face = wink
    values = row(measure(face.landmarks, face.rotation, face.blendshapes))
    assert values["eyelid_aperture_left"] < 0.5 * values["eyelid_aperture_right"]
    assert values["blend_eye_blink_left"] > values["blend_eye_blink_right"]


def test_mirrored_flag_restores_anatomical_sides_of_a_mirrored_recording(wink, landmarker):
    image, face = wink
    landmarker.reset()
    flipped = landmarker.observe(0, 0.0, cv2.flip(image, 1))
    plain = row(measure(face.landmarks, face.rotation, face.blendshapes))
    mirrored = row(measure(flipped.landmarks, flipped.rotation, flipped.blendshapes, mirrored=True))
    naive = row(measure(flipped.landmarks, flipped.rotation, flipped.blendshapes))
    assert mirrored["eyelid_aperture_left"] < 0.5 * mirrored["eyelid_aperture_right"]
    assert naive["eyelid_aperture_right"] < 0.5 * naive["eyelid_aperture_left"]  # unflagged: sides swapped
    for name in signals.GEOMETRY_SIGNALS:
        for side in ("left", "right"):
            assert mirrored[f"{name}_{side}"] == pytest.approx(plain[f"{name}_{side}"], abs=0.02)


def test_signals_do_not_depend_on_head_rotation_or_image_scale(wink):
    _, face = wink
    base = measure(face.landmarks, face.rotation, face.blendshapes)
    yaw = np.radians(15)
    turn = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    to_camera = np.array([1.0, -1.0, -1.0])
    camera = face.landmarks.astype(np.float64) * to_camera
    centre = camera.mean(axis=0)
    turned = ((camera - centre) @ turn.T + centre) * to_camera * 1.7  # turned 15 degrees and 1.7x larger
    moved = measure(turned.astype(np.float32), turn @ face.rotation, face.blendshapes)
    geometry = [SIGNAL_COLUMNS.index(f"{name}_{side}") for name in signals.GEOMETRY_SIGNALS
                for side in ("left", "right")]
    np.testing.assert_allclose(moved[geometry], base[geometry], atol=1e-4)
    assert row(moved)["head_yaw_deg"] == pytest.approx(row(base)["head_yaw_deg"] + 15, abs=0.5)
    assert row(moved)["face_size_px"] == pytest.approx(1.7 * row(base)["face_size_px"], rel=1e-3)


def test_a_face_that_turns_keeps_steady_eye_signals(analysed, shared_clips):
    """The child turns her head about ±10°; her eye signals must not follow the turn."""
    frames = analysed(shared_clips / "normal" / "lp_d11_child_talking.mp4").frames
    open_eyes = frames[frames["eyelid_aperture_left"] > 0.6 * frames["eyelid_aperture_left"].median()]
    ratio = open_eyes["eyelid_aperture_left"] / open_eyes["eyelid_aperture_right"]
    assert abs(np.corrcoef(ratio, open_eyes["head_yaw_deg"])[0, 1]) < 0.6
    assert frames["head_yaw_deg"].abs().max() > 5


def test_with_two_faces_the_subject_is_the_larger_one_and_stays_chosen(shared_clips, landmarker):
    """A large face beside a small one: the large one is followed, whichever side it is on."""
    big = frame_at(shared_clips / "normal" / "mimictalk_news_anchor.mp4", 1.0)
    small = cv2.resize(frame_at(shared_clips / "normal" / "lp_d0_smile_eye_roll_greenscreen.mp4", 1.0), (256, 256))
    pad = np.zeros((big.shape[0] - small.shape[0], small.shape[1], 3), np.uint8)
    scene = np.hstack([np.vstack([small, pad]), big])  # the small face on the image's left
    landmarker.reset()
    first = landmarker.observe(0, 0.0, scene)
    second = landmarker.observe(1, 0.04, scene)
    assert first.faces_found == 2
    for face in (first, second):
        assert face.landmarks[:, 0].min() > small.shape[1]  # the subject is the big face on the right
