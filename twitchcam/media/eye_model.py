"""MediaPipe's per-eye model (iris_landmark.tflite): each eye's lid contour measured from that eye's pixels alone.

The face mesh's eye landmarks share a two-eye shape prior, so one eye's closure leaks into the other
(docs/method.md, "Eye landmarks share a two-eye prior"). This model sees a 64×64 crop of ONE eye, cut the way
MediaPipe's Iris graphs cut it (`iris_landmark_landmarks_to_roi.pbtxt`, `iris_landmark_cpu.pbtxt`): a square
centred between the eye's corners, 2.3× their distance wide, rotated to the corner line, RGB in [0, 1]; the
362→263 eye is flipped horizontally, because the model only knows the 33→133 one. On the real winks of lp_d3
the winking eye kept 45–54% of its open lid gap here (the mesh's: 26–30%), but the open eye kept 87% (the
mesh's: 61–71%; tests/test_eye_model.py): it reads a closure less deeply and leaks far less into the other
eye, a second witness rather than a replacement (docs/method.md, "The per-eye model is a second witness").

One difference from MediaPipe, on purpose: MediaPipe sizes the square from the long side of the corners'
axis-aligned box, which shrinks by cos(roll) when the head tilts; here the corners' distance is used, so
the crop's scale does not depend on head roll (the two agree for level eyes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from twitchcam.core.errors import ModelIntegrityError
from twitchcam.media.landmarks import _quiet_native_stderr

CROP_SIZE = 64  # the model's input, pixels
ROI_SCALE = 2.3  # crop side / corner distance (MediaPipe's RectTransformationCalculator scale)
MIN_INSIDE = 0.5  # fraction of the crop that must lie inside the image, else the reading is NaN

EYE_CORNERS = {"right": (33, 133), "left": (362, 263)}
"""Corner landmarks (start → end of the crop's x axis) of each eye, keyed by MediaPipe's anatomical name for
an unmirrored image (33/133 is the subject's right eye, on the image's left)."""
FLIPPED = {"right": False, "left": True}
"""The 362→263 eye is mirrored before inference: the model was trained on the 33→133 eye only."""

CONTOUR_MESH_ORDER = (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173)
"""Mesh landmarks (of the 33→133 eye) that the model's first 16 contour points correspond to."""
OUTER_CORNER, INNER_CORNER = 0, 8  # 33, 133 in CONTOUR_MESH_ORDER
UPPER_LID = (9, 10, 11, 12, 13, 14, 15)  # 246, 161, 160, 159, 158, 157, 173
LOWER_LID = (1, 2, 3, 4, 5, 6, 7)  # 7, 163, 144, 145, 153, 154, 155: each below the upper point at the same place

CONTOUR_OUTPUT = "output_eyes_contours_and_brows"  # 71 points × (x, y, z) in crop pixels
IRIS_OUTPUT = "output_iris"  # 5 points × (x, y, z): centre, then 4 edge points
N_CONTOUR, N_IRIS = 71, 5
_INSIDE_GRID = (np.arange(8) + 0.5) / 8 - 0.5  # sample points across the crop, for its fraction inside the image


@dataclass(frozen=True)
class EyeReading:
    """One eye as the model saw it.

    `contour`: (16, 2) float32, the eye contour in image pixels (x to the image right, y down), in
    `CONTOUR_MESH_ORDER` for the 33/133 eye and in its mirror image (263, 249, …, 362, …) for the other.
    `iris`: (5, 2) float32, iris centre then 4 edge points, image pixels. `lid_opening`: mean gap between
    the 7 paired upper and lower lid points over the corner-to-corner width, both from the model (~0.25
    open, near 0.1 closed); NaN when the crop lies mostly outside the image.
    """

    contour: np.ndarray
    iris: np.ndarray
    lid_opening: float

    def __post_init__(self):
        if self.contour.shape != (16, 2) or self.iris.shape != (N_IRIS, 2):
            raise ValueError(f"contour must be (16, 2) and iris (5, 2), got {self.contour.shape}, {self.iris.shape}")

    @classmethod
    def missing(cls) -> EyeReading:
        """The explicit "not measured" value: NaN everywhere."""
        return cls(np.full((16, 2), np.nan, np.float32), np.full((N_IRIS, 2), np.nan, np.float32), float("nan"))


@dataclass(frozen=True)
class EyeCrop:
    """Where one eye's crop sits in the image: crop point (u, v) ↦ image point `origin + u·x_axis + v·y_axis`.

    Both in continuous pixel coordinates as MediaPipe's landmarks are (the image spans 0…width, the crop
    0…64). `origin`, `x_axis`, `y_axis`: (2,) image pixels (the axes per crop pixel, x already reversed
    for the flipped eye); `inside`: fraction of the crop that lies inside the image.
    """

    origin: np.ndarray
    x_axis: np.ndarray
    y_axis: np.ndarray
    inside: float

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """(n, 2) crop pixels → (n, 2) image pixels."""
        return (self.origin + points[:, :1] * self.x_axis + points[:, 1:2] * self.y_axis).astype(np.float32)


def eye_crop(landmarks_px: np.ndarray, side: str, image_shape: tuple[int, ...]) -> EyeCrop:
    """The crop of the eye `side` ("right" = 33/133, "left" = 362/263): see the module docstring."""
    start, end = (landmarks_px[i, :2].astype(np.float64) for i in EYE_CORNERS[side])
    across = end - start
    width = float(np.hypot(*across))
    if not width > 0:
        return EyeCrop(start, np.zeros(2), np.zeros(2), 0.0)
    side_px = ROI_SCALE * width
    x_unit = across / width
    y_unit = np.array([-x_unit[1], x_unit[0]])  # x turned 90° towards the image's down
    if FLIPPED[side]:
        x_unit = -x_unit
    x_axis, y_axis = x_unit * side_px / CROP_SIZE, y_unit * side_px / CROP_SIZE
    centre = (start + end) / 2
    origin = centre - (CROP_SIZE / 2) * (x_axis + y_axis)
    grid = side_px * _INSIDE_GRID
    xs = centre[0] + grid[:, None] * x_unit[0] + grid[None, :] * y_unit[0]
    ys = centre[1] + grid[:, None] * x_unit[1] + grid[None, :] * y_unit[1]
    height, width_px = image_shape[:2]
    inside = float(((xs >= 0) & (xs <= width_px) & (ys >= 0) & (ys <= height)).mean())
    return EyeCrop(origin, x_axis, y_axis, inside)


def lid_opening(contour: np.ndarray) -> float:
    """Mean distance of the paired upper and lower lid points over the corner distance.

    `contour`: (16, 2) in `CONTOUR_MESH_ORDER`, any pixel scale (the ratio does not depend on it).
    """
    gap = np.linalg.norm(contour[list(UPPER_LID)] - contour[list(LOWER_LID)], axis=1).mean()
    width = np.linalg.norm(contour[OUTER_CORNER] - contour[INNER_CORNER])
    return float(gap / width) if width > 0 else float("nan")


class EyeModel:
    """The per-eye model on one thread; `read(image, landmarks)` measures both eyes of one face.

    Buffers are allocated once and reused. Both eyes go through the interpreter as one batch of two: one
    call instead of two (measured equal in model time, ~0.8 ms per eye; see benchmarks/eye_model_speed.py).
    """

    def __init__(self, model_path: str | os.PathLike | None = None, *, threads: int = 1):
        """`model_path`: iris_landmark.tflite (default: `resolve_eye_model()`, which may download it)."""
        from ai_edge_litert.interpreter import Interpreter  # loaded only when an eye model is really used

        from twitchcam.media.model import resolve_eye_model

        self.model_file = resolve_eye_model(model_path)
        """The file in use and its sha256 (which summary.json records)."""
        self.path = self.model_file.path
        try:
            with _quiet_native_stderr(True):  # LiteRT announces its XNNPACK delegate on fd 2 (at allocation)
                self._interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
        except (ValueError, RuntimeError) as err:
            raise ModelIntegrityError(f"{self.path} is not a TensorFlow Lite model ({err})") from err
        inputs = self._interpreter.get_input_details()
        outputs = {d["name"]: d for d in self._interpreter.get_output_details()}
        sizes = {name: int(np.prod(d["shape"])) for name, d in outputs.items()}
        if ([tuple(d["shape"]) for d in inputs] != [(1, CROP_SIZE, CROP_SIZE, 3)]
                or sizes != {CONTOUR_OUTPUT: 3 * N_CONTOUR, IRIS_OUTPUT: 3 * N_IRIS}):
            raise ModelIntegrityError(f"{self.path} is not MediaPipe's iris landmark model (a 64x64x3 input, "
                                      f"{CONTOUR_OUTPUT} and {IRIS_OUTPUT} outputs)")
        self._input = inputs[0]["index"]
        self._interpreter.resize_tensor_input(self._input, [2, CROP_SIZE, CROP_SIZE, 3])
        with _quiet_native_stderr(True):
            self._interpreter.allocate_tensors()
        self._contour_out, self._iris_out = outputs[CONTOUR_OUTPUT]["index"], outputs[IRIS_OUTPUT]["index"]
        self._batch = np.zeros((2, CROP_SIZE, CROP_SIZE, 3), np.float32)
        self._crop = np.zeros((CROP_SIZE, CROP_SIZE, 3), np.uint8)

    def __enter__(self) -> EyeModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the interpreter (its memory goes with it)."""
        self._interpreter = None

    def read(self, image_bgr: np.ndarray, landmarks_px: np.ndarray) -> dict[str, EyeReading]:
        """Both eyes of the face whose mesh is `landmarks_px` ((478, 3) or (468+, 2), image pixels).

        Keys are MediaPipe's anatomical names for an unmirrored image: "right" is the 33/133 eye (the
        image's left), "left" the 362/263 eye. A mirrored recording swaps them; the caller maps the sides.
        """
        if self._interpreter is None:
            raise RuntimeError("EyeModel is closed")
        crops = {side: eye_crop(landmarks_px, side, image_bgr.shape) for side in EYE_CORNERS}
        for slot, crop in enumerate(crops.values()):
            # Crop pixel (i, j) is centred at crop point (i + ½, j + ½); OpenCV puts pixel centres at integers,
            # MediaPipe (and so the landmarks) at + ½.
            shift = crop.origin + 0.5 * (crop.x_axis + crop.y_axis) - 0.5
            matrix = np.column_stack([crop.x_axis, crop.y_axis, shift])
            cv2.warpAffine(image_bgr, matrix, (CROP_SIZE, CROP_SIZE), dst=self._crop,
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
            np.multiply(self._crop[:, :, ::-1], np.float32(1 / 255), out=self._batch[slot])  # BGR → RGB in [0, 1]
        self._interpreter.set_tensor(self._input, self._batch)
        self._interpreter.invoke()
        # With a batch of two the model emits each output flat, the first eye's values first.
        contours = self._interpreter.get_tensor(self._contour_out).reshape(2, N_CONTOUR, 3)
        irises = self._interpreter.get_tensor(self._iris_out).reshape(2, N_IRIS, 3)
        readings = {}
        for slot, (side, crop) in enumerate(crops.items()):
            if crop.inside < MIN_INSIDE:
                readings[side] = EyeReading.missing()
                continue
            contour = contours[slot, :16, :2]
            readings[side] = EyeReading(contour=crop.to_image(contour), iris=crop.to_image(irises[slot, :, :2]),
                                        lid_opening=lid_opening(contour))
        return readings
