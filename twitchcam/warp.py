"""Landmark-guided smooth image warps that imitate facial muscle pulls on one side of a face.

Used to make synthetic test clips from a single real photograph: given the MediaPipe face mesh of the
photo, the warp closes an eye, lifts a brow, raises the cheek or pulls a mouth corner on the subject's
left or right side, the way an orbicularis oculi / zygomaticus contraction (as in hemifacial spasm)
would, while leaving the other half of the face untouched.

All sizes are relative to the inter-ocular distance (IOD): the distance between the two eye centres,
each eye centre being the midpoint of its two corners. Sides are the subject's anatomical sides for an
unmirrored image (the subject's left eye is on the image's right), as in :mod:`twitchcam.face_mesh`.

The warp is applied with :func:`cv2.remap`, which needs the *backward* map (for every output pixel,
where to sample the input). The eye closure is built directly as a backward map; the soft pulls
(brow, cheek, mouth) are forward Gaussian displacement fields that are inverted by fixed-point
iteration. Only numpy and OpenCV are used here.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import face_mesh as fm

# Share of an eye closure done by the upper lid; the lower lid does the rest (as in a real blink).
UPPER_LID_SHARE = 0.8
# Height of the skin band above the upper lid / below the lower lid that is stretched along with the
# moving lid, as a fraction of the eye width (corner to corner).
_UPPER_BAND = 0.6
_LOWER_BAND = 0.5
# Gaussian radii (sigma) of the soft pulls, as fractions of the IOD.
_BROW_SIGMA = 0.22
_CHEEK_SIGMA = 0.26
_MOUTH_SIGMA = 0.24
# Every displacement is faded to zero towards the face midline over this width (fraction of the IOD),
# so nothing on the midline or on the other side of the face ever moves.
_MIDLINE_RAMP = 0.22
# Fixed-point iterations used to invert the forward Gaussian displacement field.
_INVERSE_ITERATIONS = 3
# How much the lash band above the upper lid margin is narrowed at full closure (0 = not at all).
_LASH_SQUEEZE = 1.0

_SIDE_SETS = {"left": ("left",), "right": ("right",), "both": ("left", "right")}
_MIDLINE_POINTS = fm.MIDLINE_RIGID + (fm.FOREHEAD_TOP, fm.UPPER_LIP, fm.LOWER_LIP, fm.CHIN)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    """C1 ramp from 0 (t <= 0) to 1 (t >= 1), so displacement fields have no visible kinks."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class _Face:
    """Geometry of one face derived from its landmarks: scale, face axes and midline."""

    def __init__(self, landmarks_px: np.ndarray) -> None:
        lm = np.asarray(landmarks_px, dtype=np.float64)
        if lm.ndim != 2 or lm.shape[1] != 2 or lm.shape[0] <= max(fm.IRIS_CENTRE.values()):
            raise ValueError(f"landmarks_px must be an (N>=478, 2) array of pixel coordinates, got {lm.shape}")
        self.lm = lm
        self.eye_centre = {s: (lm[fm.EYE_OUTER[s]] + lm[fm.EYE_INNER[s]]) / 2.0 for s in fm.SIDES}
        across = self.eye_centre["left"] - self.eye_centre["right"]
        self.iod = float(np.linalg.norm(across))
        if self.iod < 1e-6:
            raise ValueError("degenerate landmarks: both eye centres coincide")
        # Face "up" is perpendicular to the line through the eyes, pointing to the forehead.
        axis = across / self.iod
        up = np.array([axis[1], -axis[0]])
        if np.dot(lm[fm.FOREHEAD_TOP] - lm[fm.CHIN], up) < 0:
            up = -up
        self.up = up
        # Midline: principal direction of the midline landmarks; the normal points to each side's eye.
        pts = lm[list(_MIDLINE_POINTS)]
        self.mid_origin = pts.mean(axis=0)
        _, _, vt = np.linalg.svd(pts - self.mid_origin, full_matrices=False)
        normal = np.array([-vt[0][1], vt[0][0]])
        self.normal = {}
        for s in fm.SIDES:
            n = normal if np.dot(self.eye_centre[s] - self.mid_origin, normal) > 0 else -normal
            self.normal[s] = n
        # Lateral (outward) direction of each side.
        self.lateral = {"left": axis, "right": -axis}

    def side_mask(self, side: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """1 on ``side`` away from the midline, fading smoothly to 0 at the midline and beyond."""
        n = self.normal[side]
        dist = (x - self.mid_origin[0]) * n[0] + (y - self.mid_origin[1]) * n[1]
        return _smoothstep(dist / (_MIDLINE_RAMP * self.iod))


class _Eye:
    """One eye in its own frame: u along the corner line (-1 outer .. +1 inner), v towards the chin (px).

    The lid margins are smooth polynomial fits of the lid contour landmarks, pinned to the corners.
    """

    def __init__(self, face: _Face, side: str) -> None:
        lm = face.lm
        outer, inner = lm[fm.EYE_OUTER[side]], lm[fm.EYE_INNER[side]]
        self.centre = (outer + inner) / 2.0
        self.half = float(np.linalg.norm(inner - outer)) / 2.0
        self.ex = (inner - outer) / (2.0 * self.half)
        ey = np.array([-self.ex[1], self.ex[0]])
        self.ey = ey if np.dot(ey, face.up) < 0 else -ey
        self.upper = self._fit(lm[list(fm.UPPER_LID_CONTOUR[side])])
        self.lower = self._fit(lm[list(fm.LOWER_LID_CONTOUR[side])])
        self.width = 2.0 * self.half

    def to_eye(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = x - self.centre[0], y - self.centre[1]
        return (dx * self.ex[0] + dy * self.ex[1]) / self.half, dx * self.ey[0] + dy * self.ey[1]

    def _fit(self, pts: np.ndarray) -> np.ndarray:
        u, v = self.to_eye(pts[:, 0], pts[:, 1])
        basis = self._basis(u)
        coef, *_ = np.linalg.lstsq(basis, v, rcond=None)
        return coef

    @staticmethod
    def _basis(u: np.ndarray) -> np.ndarray:
        w = 1.0 - u * u
        return np.stack([w, w * u, w * u * u], axis=-1)

    def lids(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Upper margin, lower margin and aperture (all in px along v) at eye coordinate ``u``."""
        inside = np.abs(u) < 1.0
        uc = np.clip(u, -1.0, 1.0)
        basis = self._basis(uc)
        vu = np.where(inside, basis @ self.upper, 0.0)
        vl = np.where(inside, basis @ self.lower, 0.0)
        ap = np.maximum(vl - vu, 0.0)
        return vu, vl, ap


def _band(v: np.ndarray, out_a: np.ndarray, out_b: np.ndarray, src_a: np.ndarray, src_b: np.ndarray,
          slope_a: np.ndarray | float, slope_b: np.ndarray | float) -> np.ndarray:
    """Monotone cubic (Hermite) map of the output interval [out_a, out_b] onto the source [src_a, src_b].

    ``slope_a``/``slope_b`` are the source-per-output slopes at the two ends (1 = no local stretch), so
    the band joins the untouched skin without a kink. Tangents are limited (Fritsch-Carlson) to keep the
    map monotone, i.e. free of folds. Outside the interval the map continues with unit slope.
    """
    span_out = np.maximum(out_b - out_a, 1e-6)
    span_src = np.maximum(src_b - src_a, 1e-6)
    ratio = span_out / span_src
    m0 = slope_a * ratio
    m1 = slope_b * ratio
    norm = np.sqrt(m0 * m0 + m1 * m1)
    limit = np.where(norm > 3.0, 3.0 / np.maximum(norm, 1e-12), 1.0)
    m0, m1 = m0 * limit, m1 * limit
    t = np.clip((v - out_a) / span_out, 0.0, 1.0)
    t2 = t * t
    t3 = t2 * t
    s = (t3 - 2.0 * t2 + t) * m0 + (3.0 * t2 - 2.0 * t3) + (t3 - t2) * m1
    src = src_a + span_src * s
    return np.where(v < out_a, src_a + (v - out_a), np.where(v > out_b, src_b + (v - out_b), src))


def _eye_layers(face: _Face, side: str, amount: float, x: np.ndarray, y: np.ndarray):
    """Backward displacements closing ``side``'s eye, as three layers with their pixel coverage.

    The eyeball stays put and the lids slide over it: the upper lid comes down by ``UPPER_LID_SHARE *
    amount`` of the local aperture and the lower lid comes up by the rest. The skin band above (below)
    the lid travels with it and is stretched smoothly back to rest, so the iris is covered by lid skin
    instead of being squashed or smeared. The lid margin band itself (lashes) is narrowed as the lid
    closes, as it rolls over the eyeball, so a closed eye shows a thin lash line.

    Returns the unit displacement direction, the upper-lid and lower-lid layer displacements along it
    (the eyeball layer has none), and the coverage (0..1) of a one-pixel footprint by the upper-lid and
    lower-lid layers; the lid edges are occlusion edges and are anti-aliased by blending the layers.
    """
    eye = _Eye(face, side)
    u, v = eye.to_eye(x, y)
    vu, vl, ap = eye.lids(u)
    ap_ref = max(float(eye.lids(np.linspace(-0.9, 0.9, 19))[2].max()), 1e-6)
    d_up = UPPER_LID_SHARE * amount * ap
    d_lo = (1.0 - UPPER_LID_SHARE) * amount * ap
    new_up = vu + d_up
    new_lo = vl - d_lo
    top = vu - _UPPER_BAND * eye.width
    bottom = vl + _LOWER_BAND * eye.width
    squeeze = 1.0 + _LASH_SQUEEZE * amount * ap / ap_ref
    mask = face.side_mask(side, x, y)
    disp_up = (_band(v, top, new_up, top, vu, 1.0, squeeze) - v) * mask
    disp_lo = (_band(v, new_lo, bottom, vl, bottom, 1.0, 1.0) - v) * mask
    inside = np.abs(u) < 1.0
    cov_up = np.where(inside, np.clip(new_up - v + 0.5, 0.0, 1.0), 0.0)
    cov_lo = np.where(inside, np.clip(v + 0.5 - np.maximum(new_lo, new_up), 0.0, 1.0), 0.0)
    return eye.ey, disp_up, disp_lo, cov_up, cov_lo


def _segment_dist2(x: np.ndarray, y: np.ndarray, polyline: np.ndarray) -> np.ndarray:
    """Squared distance of points to a polyline (for elongated Gaussian pulls such as the brow)."""
    best = np.full(x.shape, np.inf)
    if len(polyline) == 1:
        return (x - polyline[0, 0]) ** 2 + (y - polyline[0, 1]) ** 2
    for a, b in zip(polyline[:-1], polyline[1:]):
        ab = b - a
        t = ((x - a[0]) * ab[0] + (y - a[1]) * ab[1]) / max(float(ab @ ab), 1e-12)
        t = np.clip(t, 0.0, 1.0)
        best = np.minimum(best, (x - a[0] - t * ab[0]) ** 2 + (y - a[1] - t * ab[1]) ** 2)
    return best


def _pulls(face: _Face, sides: tuple[str, ...], brow: float, cheek: float, mouth: float
           ) -> list[tuple[str, np.ndarray, float, np.ndarray]]:
    """Soft Gaussian pulls as (side, anchor polyline, sigma px, displacement vector px)."""
    out = []
    for s in sides:
        if brow:
            out.append((s, face.lm[list(fm.BROW[s])], _BROW_SIGMA * face.iod, face.up * brow * face.iod))
        if cheek:
            # The malar fat pad rises, slightly outwards.
            direction = face.up + 0.25 * face.lateral[s]
            direction /= np.linalg.norm(direction)
            out.append((s, face.lm[list(fm.CHEEK[s])].mean(axis=0, keepdims=True), _CHEEK_SIGMA * face.iod,
                        direction * cheek * face.iod))
        if mouth:
            direction = face.up + face.lateral[s]
            direction /= np.linalg.norm(direction)
            out.append((s, face.lm[[fm.MOUTH_CORNER[s]]], _MOUTH_SIGMA * face.iod, direction * mouth * face.iod))
    return out


def _forward_pull(face: _Face, pulls, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward displacement of the soft pulls at source points (x, y)."""
    fx = np.zeros_like(x)
    fy = np.zeros_like(y)
    masks: dict[str, np.ndarray] = {}
    for side, anchors, sigma, vec in pulls:
        if side not in masks:
            masks[side] = face.side_mask(side, x, y)
        w = np.exp(-_segment_dist2(x, y, anchors) / (2.0 * sigma * sigma)) * masks[side]
        fx += w * vec[0]
        fy += w * vec[1]
    return fx, fy


class _RoiMaps:
    """Backward maps of the affected bounding box ``(x0, y0, x1, y1)``.

    ``layers`` holds (map_x, map_y) for the upper-lid, eyeball and lower-lid layers (a single layer when
    no eye closes) and ``coverage`` their per-pixel weights, which sum to 1.
    """

    def __init__(self, box: tuple[int, int, int, int], layers: list[tuple[np.ndarray, np.ndarray]],
                 coverage: list[np.ndarray]) -> None:
        self.box = box
        self.layers = layers
        self.coverage = coverage

    def dominant(self) -> tuple[np.ndarray, np.ndarray]:
        """Single map taking each pixel from its most-covering layer (hard, aliased lid edges)."""
        if len(self.layers) == 1:
            return self.layers[0]
        pick = np.argmax(np.stack(self.coverage), axis=0)
        mx = np.choose(pick, [m[0] for m in self.layers])
        my = np.choose(pick, [m[1] for m in self.layers])
        return mx, my


def _roi_maps(shape_hw: tuple[int, int], landmarks_px: np.ndarray, side: str, eye: float, brow: float,
              cheek: float, mouth: float) -> _RoiMaps | None:
    """Backward maps restricted to the bounding box of the affected region, or None if nothing moves."""
    if side not in _SIDE_SETS:
        raise ValueError(f"side must be 'left', 'right' or 'both', got {side!r}")
    sides = _SIDE_SETS[side]
    eye = float(np.clip(eye, 0.0, 1.0))
    face = _Face(landmarks_px)
    pulls = _pulls(face, sides, brow, cheek, mouth)
    if eye <= 0.0 and not pulls:
        return None

    # Bounding box of everything that can move (plus the largest displacement), clipped to the frame.
    h, w = shape_hw
    boxes = []
    if eye > 0.0:
        for s in sides:
            e = _Eye(face, s)
            r = e.width * (0.5 + max(_UPPER_BAND, _LOWER_BAND)) + 2.0
            boxes.append(np.array([e.centre - r, e.centre + r]))
    for _, anchors, sigma, vec in pulls:
        r = 3.2 * sigma + np.abs(vec).max() + 2.0
        boxes.append(np.array([anchors.min(axis=0) - r, anchors.max(axis=0) + r]))
    lo = np.min([b[0] for b in boxes], axis=0)
    hi = np.max([b[1] for b in boxes], axis=0)
    x0, y0 = max(int(np.floor(lo[0])), 0), max(int(np.floor(lo[1])), 0)
    x1, y1 = min(int(np.ceil(hi[0])) + 1, w), min(int(np.ceil(hi[1])) + 1, h)
    if x1 <= x0 or y1 <= y0:
        return None

    ys, xs = np.mgrid[y0:y1, x0:x1]
    px = xs.astype(np.float64)
    py = ys.astype(np.float64)
    # Invert the forward soft pulls: find q with q + F(q) = p.
    qx, qy = px, py
    if pulls:
        for _ in range(_INVERSE_ITERATIONS):
            fx, fy = _forward_pull(face, pulls, qx, qy)
            qx, qy = px - fx, py - fy
    box = (x0, y0, x1, y1)
    if eye <= 0.0:
        return _RoiMaps(box, [(qx.astype(np.float32), qy.astype(np.float32))], [np.ones_like(qx)])
    # The eye closure happens first in the forward model, so its backward map is applied last.
    up_x, up_y, lo_x, lo_y = qx.copy(), qy.copy(), qx.copy(), qy.copy()
    cov_up = np.zeros_like(qx)
    cov_lo = np.zeros_like(qx)
    for s in sides:
        ey, d_up, d_lo, c_up, c_lo = _eye_layers(face, s, eye, qx, qy)
        up_x += d_up * ey[0]
        up_y += d_up * ey[1]
        lo_x += d_lo * ey[0]
        lo_y += d_lo * ey[1]
        cov_up += c_up
        cov_lo += c_lo
    cov_up = np.minimum(cov_up, 1.0)
    cov_lo = np.minimum(cov_lo, 1.0 - cov_up)
    cov_eye = 1.0 - cov_up - cov_lo
    f32 = np.float32
    layers = [(up_x.astype(f32), up_y.astype(f32)), (qx.astype(f32), qy.astype(f32)),
              (lo_x.astype(f32), lo_y.astype(f32))]
    return _RoiMaps(box, layers, [cov_up, cov_eye, cov_lo])


def spasm_maps(shape_hw: tuple[int, int], landmarks_px: np.ndarray, side: str, *, eye: float = 0.0,
               brow: float = 0.0, cheek: float = 0.0, mouth: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Full-frame backward maps ``(map_x, map_y)`` for :func:`cv2.remap` imitating a muscle pull.

    ``output[y, x] = input[map_y[y, x], map_x[y, x]]``. ``side`` is "left", "right" or "both" (the
    subject's sides; "both" is for normal bilateral blinks). ``eye`` is the fraction of the lid aperture
    closed (0..1); ``brow`` the brow lift, ``cheek`` the malar rise and ``mouth`` the up-and-out pull of
    the mouth corner, each as a fraction of the inter-ocular distance. Outside the affected region the
    maps are the identity. The lid margins are occlusion edges, so a single map renders them with hard
    (aliased) edges; :func:`warp_face` anti-aliases them.
    """
    h, w = int(shape_hw[0]), int(shape_hw[1])
    map_y, map_x = np.mgrid[0:h, 0:w].astype(np.float32)
    roi = _roi_maps((h, w), landmarks_px, side, eye, brow, cheek, mouth)
    if roi is not None:
        x0, y0, x1, y1 = roi.box
        map_x[y0:y1, x0:x1], map_y[y0:y1, x0:x1] = roi.dominant()
    return map_x, map_y


def warp_face(image: np.ndarray, landmarks_px: np.ndarray, side: str, *, eye: float = 0.0, brow: float = 0.0,
              cheek: float = 0.0, mouth: float = 0.0) -> np.ndarray:
    """Return a copy of ``image`` with the face warped as by :func:`spasm_maps` (same arguments).

    Pixels straddling a lid margin are blended from the layers on both sides of it by their coverage,
    so the moving lid edge is anti-aliased. Only the bounding box of the affected region is remapped,
    so a frame takes a few milliseconds.
    """
    out = image.copy()
    roi = _roi_maps(image.shape[:2], landmarks_px, side, eye, brow, cheek, mouth)
    if roi is None:
        return out
    x0, y0, x1, y1 = roi.box
    mx, my = roi.dominant()
    warped = cv2.remap(image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if len(roi.layers) > 1:
        mixed = np.nonzero(np.max(np.stack(roi.coverage), axis=0) < 0.999)
        if mixed[0].size:
            acc = np.zeros((mixed[0].size,) + image.shape[2:], np.float32)
            for (lx, ly), cov in zip(roi.layers, roi.coverage):
                px = cv2.remap(image, lx[mixed][None], ly[mixed][None], interpolation=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)[0]
                wgt = cov[mixed].astype(np.float32)
                acc += px * (wgt[:, None] if acc.ndim == 2 else wgt)
            warped[mixed] = np.clip(acc + 0.5, 0, 255).astype(image.dtype) if image.dtype == np.uint8 else acc
    out[y0:y1, x0:x1] = warped
    return out
