"""The spasm warp used for samples and synthetic truth: one side only, and MediaPipe sees it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLES

from twitchcam.core.signals import SIGNAL_COLUMNS, measure
from twitchcam.media.video import VideoReader
from twitchcam.synth.warp import warp_face


@pytest.fixture(scope="module")
def still(landmarker):
    with VideoReader(SAMPLES / "normal_blinks.mp4") as reader:
        image = next(iter(reader)).image
    landmarker.reset()
    return image, landmarker.observe(0, 0.0, image)


def apertures(landmarker, image) -> tuple[float, float]:
    landmarker.reset()
    face = landmarker.observe(0, 0.0, image)
    row = dict(zip(SIGNAL_COLUMNS, measure(face.landmarks, face.rotation, face.blendshapes)))
    return row["eyelid_aperture_left"], row["eyelid_aperture_right"]


@pytest.mark.parametrize("side", ["left", "right"])
def test_warp_moves_only_the_chosen_side(still, side):
    image, face = still
    warped = warp_face(image, face.landmarks[:, :2], side, eye=1.0, brow=0.05, cheek=0.08, mouth=0.08)
    changed = np.any(warped != image, axis=2)
    columns = np.flatnonzero(changed.any(axis=0))
    midline_x = float(face.landmarks[[168, 6, 197, 195], 0].mean())
    assert changed.sum() > 1000
    if side == "left":  # the subject's left is the image's right
        assert columns.min() > midline_x
    else:
        assert columns.max() < midline_x


def test_mediapipe_reads_a_one_sided_closure(still, landmarker):
    image, face = still
    left0, right0 = apertures(landmarker, image)
    left1, right1 = apertures(landmarker, warp_face(image, face.landmarks[:, :2], "left", eye=1.0))
    left_drop, right_drop = 1 - left1 / left0, 1 - right1 / right0
    assert left_drop > 0.3
    assert right_drop < 0.5 * left_drop
