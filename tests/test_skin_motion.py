"""Skin displacement channels on real frames with the real face landmarker: a cheek pull warped into one side
of a real face raises that side's `cheek_skin_lift` and not the other's; a still stretch stays near 0."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from twitchcam.media.skin_motion import SkinMotion
from twitchcam.media.video import VideoReader
from twitchcam.synth.clip import inject

CLIP = "normal/mimictalk_news_anchor.mp4"  # 25 fps, 512x512
SECONDS = 7.0


def measured(path, landmarker, *, mirrored: bool = False) -> pd.DataFrame:
    """Per frame: time and the four skin columns keyed by anatomical side."""
    landmarker.reset()
    skin = SkinMotion()
    rows = []
    with VideoReader(path) as reader:
        for frame in reader:
            image = frame.image[:, ::-1].copy() if mirrored else frame.image
            face = landmarker.observe(frame.index, frame.t_s, image)
            if face.face:
                values = skin.update(frame.t_s, image, face.landmarks)
                rows.append({"t_s": frame.t_s, **values})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def anchor(tmp_path_factory, shared_clips, landmarker):
    """The clip's first seconds, and the same with a strong left cheek pull injected."""
    folder = tmp_path_factory.mktemp("skin")
    short = folder / "anchor.mkv"
    with VideoReader(shared_clips / CLIP) as reader:
        writer = cv2.VideoWriter(str(short), cv2.VideoWriter_fourcc(*"FFV1"), reader.info.fps,
                                 (reader.info.width, reader.info.height))
        for frame in reader:
            if frame.t_s >= SECONDS:
                break
            writer.write(frame.image)
        writer.release()
    truth = inject(short, folder / "cheek.mkv", folder / "cheek.truth.csv", seed=3, events=1, side="left",
                   regions=["cheek"], amplitude=(0.9, 0.95), landmarker=landmarker)
    return short, folder / "cheek.mkv", truth


def test_a_left_cheek_pull_lifts_the_left_cheek_skin_only(anchor, landmarker):
    _, injected, truth = anchor
    (spasm,) = truth.itertuples()
    table = measured(injected, landmarker)
    during = table[(table.t_s >= spasm.start_s) & (table.t_s < spasm.end_s)]
    before = table[(table.t_s > 0.5) & (table.t_s < spasm.start_s - 0.2)]
    lift_left = during.cheek_skin_lift_left.max() - before.cheek_skin_lift_left.median()
    lift_right = during.cheek_skin_lift_right.max() - before.cheek_skin_lift_right.median()
    assert lift_left > 0.03  # the warp raises the cheek by up to ~0.07 IOD
    assert lift_right < 0.5 * lift_left
    assert lift_left > 4 * before.cheek_skin_lift_left.std()


def test_mirrored_input_keeps_anatomical_sides(anchor, landmarker):
    """A selfie mirror image puts the subject's left cheek on the image left: the mesh's "right"."""
    _, injected, truth = anchor
    (spasm,) = truth.itertuples()
    table = measured(injected, landmarker, mirrored=True)
    during = table[(table.t_s >= spasm.start_s) & (table.t_s < spasm.end_s)]
    # Keyed by mesh side, so the pulled cheek now reads on "right".
    assert during.cheek_skin_lift_right.max() > 0.03
    assert during.cheek_skin_lift_left.max() < 0.5 * during.cheek_skin_lift_right.max()


def test_the_untouched_clip_stays_near_zero(anchor, landmarker):
    short, _, _ = anchor
    table = measured(short, landmarker)
    values = table.drop(columns="t_s").iloc[1:]
    assert values.notna().all().all()
    assert float(np.nanmedian(np.abs(values.to_numpy()))) < 0.01
    assert float(np.nanmax(np.abs(values.to_numpy()))) < 0.05


def test_a_patch_outside_the_picture_is_nan(anchor, landmarker):
    short, _, _ = anchor
    with VideoReader(short) as reader:
        frame = next(iter(reader))
    landmarker.reset()
    face = landmarker.observe(0, 0.0, frame.image)
    shifted = face.landmarks.copy()
    shifted[:, 0] -= shifted[:, 0].min() - 5.0  # the face's image-left edge at x = 5: the right cheek is cut off
    skin = SkinMotion()
    values = skin.update(0.0, frame.image, shifted)
    assert np.isnan(values["cheek_skin_lift_right"])
