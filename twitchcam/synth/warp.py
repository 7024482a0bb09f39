"""Landmark-guided smooth image warps that imitate facial muscle pulls on one side of a face.

Used to make synthetic test clips from a single real photograph: given the MediaPipe face mesh of the
photo, the warp closes an eye, lifts a brow, raises the cheek or pulls a mouth corner on the subject's
left or right side, the way an orbicularis oculi / zygomaticus contraction (as in hemifacial spasm)
would, while leaving the other half of the face untouched.

All sizes are relative to the inter-ocular distance (IOD): the distance between the two eye centres,
each eye centre being the midpoint of its two corners. Sides are the subject's anatomical sides for an
unmirrored image (the subject's left eye is on the image's right), as in :mod:`twitchcam.core.face_mesh`.

The warp is applied with :func:`cv2.remap`, which needs the *backward* map (for every output pixel,
where to sample the input). The eye closure is built directly as a backward map in which the lids
slide over a still eyeball. The soft pulls (brow, cheek, mouth) are forward displacement fields with
smooth, compactly supported Gaussian-like weights around their landmarks; they are inverted by
fixed-point iteration on a coarse grid (they are smooth) and upsampled. Every displacement fades to
exactly zero before the face midline. Only numpy and OpenCV are used here.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from twitchcam.core import face_mesh as fm

# Share of an eye closure done by the upper lid; the lower lid does the rest (as in a real blink).
UPPER_LID_SHARE = 0.8
# Height of the skin band above the upper lid / below the lower lid that travels with the moving lid
# and is stretched back to rest, as a fraction of the eye width (corner to corner). The upper band
# stops short of the brow, which does not take part in a lid closure.
_UPPER_BAND = 0.38
_LOWER_BAND = 0.5
# Height of the dark lid-margin band (lashes and lid fold shadow) just above the upper lid margin, as a
# fraction of the eye width, and how much it is narrowed at full closure (source px per output px
# minus 1): the margin rolls over the eyeball, so a closed eye shows a thin lash line under smooth lid
# skin rather than a thick dark slit.
_MARGIN_BAND = 0.17
_LASH_SQUEEZE = 1.5
# Stretched upper-lid skin is sampled from a copy blurred along the lid (sigma as a fraction of the eye
# width), fully where the skin is stretched to 1 / (_SOFTEN_FROM - _SOFTEN_RANGE) of its length or more.
_SOFTEN_FROM = 0.8
_SOFTEN_RANGE = 0.45
_SOFTEN_SIGMA = 0.05
# Gaussian-equivalent radii (sigma) of the soft pulls, as fractions of the IOD.
_BROW_SIGMA = 0.22
_CHEEK_SIGMA = 0.26
_MOUTH_SIGMA = 0.24
# The pull weight is (1 - d^2 / R^2)^_KERNEL_POWER for d < R, else 0: Gaussian-like near the anchor,
# exactly zero beyond R = sigma * sqrt(2 * _KERNEL_POWER), smooth everywhere (no seam at the edge).
_KERNEL_POWER = 4
# Every displacement fades to zero towards the face midline over this width (fraction of the IOD).
_MIDLINE_RAMP = 0.22
# Fixed-point iterations used to invert the forward pull field, and its grid step in pixels.
_INVERSE_ITERATIONS = 3
_COARSE_STEP = 4

_SIDE_SETS = {"left": ("left",), "right": ("right",), "both": ("left", "right")}
_MIDLINE_POINTS = fm.MIDLINE_RIGID + (fm.FOREHEAD_TOP, fm.UPPER_LIP, fm.LOWER_LIP, fm.CHIN)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive ends), in pixels


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
        centre = {s: (lm[fm.EYE_OUTER[s]] + lm[fm.EYE_INNER[s]]) / 2.0 for s in fm.SIDES}
        across = centre["left"] - centre["right"]
        self.iod = float(np.linalg.norm(across))
        if self.iod < 1e-6:
            raise ValueError("degenerate landmarks: both eye centres coincide")
        # Face "up" is perpendicular to the line through the eyes, pointing to the forehead.
        axis = across / self.iod
        up = np.array([axis[1], -axis[0]])
        if np.dot(lm[fm.FOREHEAD_TOP] - lm[fm.CHIN], up) < 0:
            up = -up
        self.up = up
        # Outward direction of each side.
        self.lateral = {"left": axis, "right": -axis}
        # Midline: principal direction of the midline landmarks; its normal points to each side's eye.
        pts = lm[list(_MIDLINE_POINTS)]
        self.mid_origin = pts.mean(axis=0)
        _, _, vt = np.linalg.svd(pts - self.mid_origin, full_matrices=False)
        normal = np.array([-vt[0][1], vt[0][0]])
        self.normal = {s: normal if np.dot(centre[s] - self.mid_origin, normal) > 0 else -normal
                       for s in fm.SIDES}

    def side_mask(self, side: str, x: np.ndarray, y: np.ndarray, offset_px: float = 0.0) -> np.ndarray:
        """Weight that is 1 well inside ``side`` and falls smoothly to 0 at ``offset_px`` from the midline.

        Everything at or beyond the midline gets exactly 0, so the other half of the face never moves.
        """
        n = self.normal[side]
        dist = (x - float(self.mid_origin[0])) * float(n[0]) + (y - float(self.mid_origin[1])) * float(n[1])
        return _smoothstep((dist - offset_px) * (1.0 / (_MIDLINE_RAMP * self.iod)))


class _Eye:
    """One eye in its own frame: u along the corner line (-1 outer .. +1 inner), v towards the chin (px).

    The lid margins are smooth polynomial fits of the lid contour landmarks, pinned to the corners.
    """

    def __init__(self, face: _Face, side: str) -> None:
        lm = face.lm
        self.side = side
        outer, inner = lm[fm.EYE_OUTER[side]], lm[fm.EYE_INNER[side]]
        self.centre = (outer + inner) / 2.0
        self.half = max(float(np.linalg.norm(inner - outer)) / 2.0, 1e-6)
        self.width = 2.0 * self.half
        self.ex = (inner - outer) / self.width
        ey = np.array([-self.ex[1], self.ex[0]])
        self.ey = ey if np.dot(ey, face.up) < 0 else -ey
        self.upper = self._fit(lm[list(fm.UPPER_LID_CONTOUR[side])])
        self.lower = self._fit(lm[list(fm.LOWER_LID_CONTOUR[side])])
        vu, vl, ap = self.lids(np.linspace(-0.95, 0.95, 39))
        self.max_aperture = max(float(ap.max()), 1e-6)
        # Extent of the region the closure can touch, along v.
        self.v_min = float(vu.min()) - _UPPER_BAND * self.width - 1.0
        self.v_max = float(vl.max()) + _LOWER_BAND * self.width + 1.0

    def to_eye(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx = x - float(self.centre[0])
        dy = y - float(self.centre[1])
        u = (dx * float(self.ex[0]) + dy * float(self.ex[1])) * (1.0 / self.half)
        return u, dx * float(self.ey[0]) + dy * float(self.ey[1])

    def _fit(self, pts: np.ndarray) -> np.ndarray:
        u, v = self.to_eye(pts[:, 0], pts[:, 1])
        coef, *_ = np.linalg.lstsq(self._basis(u), v, rcond=None)
        return coef

    @staticmethod
    def _basis(u: np.ndarray) -> np.ndarray:
        w = 1.0 - u * u
        return np.stack([w, w * u, w * u * u], axis=-1)

    def lids(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Upper margin, lower margin and aperture (all in px along v) at eye coordinate ``u``."""
        inside = np.abs(u) < 1.0
        uc = np.clip(u, -1.0, 1.0)
        w = 1.0 - uc * uc
        a, b, c = (float(k) for k in self.upper)
        vu = np.where(inside, w * (a + uc * (b + uc * c)), 0.0)
        a, b, c = (float(k) for k in self.lower)
        vl = np.where(inside, w * (a + uc * (b + uc * c)), 0.0)
        return vu, vl, np.maximum(vl - vu, 0.0)

    def box(self, margin: float) -> np.ndarray:
        """Image-space bounding box [[x0, y0], [x1, y1]] of the region the closure can touch."""
        corners = [self.centre + u * self.half * self.ex + v * self.ey
                   for u in (-1.0, 1.0) for v in (self.v_min, self.v_max)]
        corners = np.array(corners)
        return np.array([corners.min(axis=0) - margin, corners.max(axis=0) + margin])


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


def _eye_layers(face: _Face, eye: _Eye, amount: float, x: np.ndarray, y: np.ndarray):
    """Backward displacements closing ``eye`` by ``amount``, as layers with their pixel coverage.

    The eyeball stays put and the lids slide over it: the upper lid comes down by ``UPPER_LID_SHARE *
    amount`` of the local aperture and the lower lid comes up by the rest. The skin band above (below)
    the lid travels with it and is stretched smoothly back to rest, so the iris is covered by lid skin
    instead of being squashed or smeared; the brow stays put. The dark lid-margin band is narrowed as
    the lid closes, so a closed eye shows a thin lash line under smooth lid skin.

    Returns the displacement direction (unit vector), the upper-lid and lower-lid layer displacements
    along it (the eyeball layer has none), and the coverage (0..1) of each one-pixel footprint by the
    upper-lid and lower-lid layers. The lid margins are occlusion edges; blending the layers by their
    coverage anti-aliases them.
    """
    u, v = eye.to_eye(x, y)
    vu, vl, ap = eye.lids(u)
    d_up = UPPER_LID_SHARE * amount * ap
    d_lo = (1.0 - UPPER_LID_SHARE) * amount * ap
    new_up = vu + d_up
    new_lo = vl - d_lo
    top = vu - _UPPER_BAND * eye.width
    bottom = vl + _LOWER_BAND * eye.width
    # Upper band in two pieces: the skin below `top` is stretched down over the eyeball (piece A), the
    # lid-margin band is carried down with the margin and narrowed (piece B).
    squeeze = 1.0 + _LASH_SQUEEZE * amount * (ap / eye.max_aperture)
    knee_src = vu - _MARGIN_BAND * eye.width
    knee_out = new_up - (_MARGIN_BAND * eye.width) / squeeze
    stretch = (knee_src - top) / np.maximum(knee_out - top, 1e-6)
    knee_slope = 2.0 * stretch * squeeze / (stretch + squeeze)  # harmonic mean of the two pieces' slopes
    mask = face.side_mask(eye.side, x, y)
    src_up = np.where(v < knee_out, _band(v, top, knee_out, top, knee_src, 1.0, knee_slope),
                      _band(v, knee_out, new_up, knee_src, vu, knee_slope, squeeze))
    disp_up = (src_up - v) * mask
    disp_lo = (_band(v, new_lo, bottom, vl, bottom, 1.0, 1.0) - v) * mask
    inside = np.abs(u) < 1.0
    cov_up = np.where(inside, np.clip(new_up - v + 0.5, 0.0, 1.0), 0.0)
    cov_lo = np.where(inside, np.clip(v + 0.5 - np.maximum(new_lo, new_up), 0.0, 1.0), 0.0)
    return eye.ey, disp_up, disp_lo, cov_up, cov_lo


@dataclass
class _Pull:
    """A soft pull: points near ``anchors`` (polyline) move by ``vec`` px, with weight falling to 0 at ``radius``."""

    side: str
    anchors: np.ndarray
    radius: float
    vec: np.ndarray


def _pulls(face: _Face, sides: tuple[str, ...], brow: float, cheek: float, mouth: float) -> list[_Pull]:
    """The brow lift, malar rise and mouth-corner pull requested, for each side."""
    to_radius = np.sqrt(2.0 * _KERNEL_POWER) * face.iod
    out = []
    for s in sides:
        if brow:
            out.append(_Pull(s, face.lm[list(fm.BROW[s])], _BROW_SIGMA * to_radius, face.up * brow * face.iod))
        if cheek:
            # The malar fat pad rises, slightly outwards.
            direction = face.up + 0.25 * face.lateral[s]
            direction = direction / np.linalg.norm(direction)
            out.append(_Pull(s, face.lm[list(fm.CHEEK[s])].mean(axis=0, keepdims=True),
                             _CHEEK_SIGMA * to_radius, direction * cheek * face.iod))
        if mouth:
            # Zygomaticus major: the corner is drawn up and out.
            direction = face.up + face.lateral[s]
            direction = direction / np.linalg.norm(direction)
            out.append(_Pull(s, face.lm[[fm.MOUTH_CORNER[s]]], _MOUTH_SIGMA * to_radius, direction * mouth * face.iod))
    return out


def _dist2_to_polyline(x: np.ndarray, y: np.ndarray, polyline: np.ndarray) -> np.ndarray:
    """Squared distance of points to a polyline (a single point is a degenerate polyline)."""
    if len(polyline) == 1:
        return (x - float(polyline[0, 0])) ** 2 + (y - float(polyline[0, 1])) ** 2
    best = None
    for a, b in zip(polyline[:-1], polyline[1:]):
        ax, ay = float(a[0]), float(a[1])
        bx, by = float(b[0]) - ax, float(b[1]) - ay
        t = np.clip(((x - ax) * bx + (y - ay) * by) * (1.0 / max(bx * bx + by * by, 1e-12)), 0.0, 1.0)
        d2 = (x - ax - t * bx) ** 2 + (y - ay - t * by) ** 2
        best = d2 if best is None else np.minimum(best, d2)
    return best


def _forward_pull(face: _Face, pulls: list[_Pull], x: np.ndarray, y: np.ndarray, offset_px: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Forward displacement of the soft pulls at source points (x, y)."""
    fx = np.zeros_like(x)
    fy = np.zeros_like(y)
    masks: dict[str, np.ndarray] = {}
    for p in pulls:
        if p.side not in masks:
            masks[p.side] = face.side_mask(p.side, x, y, offset_px)
        w = np.maximum(1.0 - _dist2_to_polyline(x, y, p.anchors) * (1.0 / p.radius ** 2), 0.0) ** _KERNEL_POWER
        w *= masks[p.side]
        fx += w * float(p.vec[0])
        fy += w * float(p.vec[1])
    return fx, fy


def _clip_box(lo: np.ndarray, hi: np.ndarray, shape_hw: tuple[int, int]) -> Box | None:
    h, w = shape_hw
    x0, y0 = max(int(np.floor(lo[0])), 0), max(int(np.floor(lo[1])), 0)
    x1, y1 = min(int(np.ceil(hi[0])) + 1, w), min(int(np.ceil(hi[1])) + 1, h)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _pull_field(face: _Face, pulls: list[_Pull], shape_hw: tuple[int, int]
                ) -> tuple[Box, np.ndarray, np.ndarray] | None:
    """Backward displacement (dx, dy) of the soft pulls over their bounding box.

    The forward field is smooth, so it is inverted (q + F(q) = p) on a grid of block centres every
    ``_COARSE_STEP`` px and upsampled bilinearly; the midline fade starts one grid step inside the side,
    so the interpolation cannot leak any motion across the midline.
    """
    step = _COARSE_STEP
    lo = np.min([p.anchors.min(axis=0) - p.radius - np.abs(p.vec).max() - 2 * step for p in pulls], axis=0)
    hi = np.max([p.anchors.max(axis=0) + p.radius + np.abs(p.vec).max() + 2 * step for p in pulls], axis=0)
    box = _clip_box(lo, hi, shape_hw)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    nx, ny = -(-(x1 - x0) // step), -(-(y1 - y0) // step)
    cx = (x0 + step * np.arange(nx) + (step - 1) / 2.0).astype(np.float32)
    cy = (y0 + step * np.arange(ny) + (step - 1) / 2.0).astype(np.float32)
    px, py = np.meshgrid(cx, cy)
    qx, qy = px, py
    for _ in range(_INVERSE_ITERATIONS):
        fx, fy = _forward_pull(face, pulls, qx, qy, offset_px=step + 1.0)
        qx, qy = px - fx, py - fy
    size = (nx * step, ny * step)
    dx = cv2.resize(qx - px, size, interpolation=cv2.INTER_LINEAR)[: y1 - y0, : x1 - x0]
    dy = cv2.resize(qy - py, size, interpolation=cv2.INTER_LINEAR)[: y1 - y0, : x1 - x0]
    return box, dx, dy


@dataclass
class _Patch:
    """Backward maps of one rectangle of the output.

    ``layers`` holds (map_x, map_y) pairs; with several layers (upper lid, eyeball, lower lid),
    ``coverage`` holds their per-pixel weights (summing to 1), and ``soften`` how much of the upper-lid
    layer to sample from a copy of the image blurred along the lid by ``soften_sigma`` px: strongly
    stretched lid skin would otherwise show the photo's fine texture as streaks across the lid.
    """

    box: Box
    layers: list[tuple[np.ndarray, np.ndarray]]
    coverage: list[np.ndarray] | None = None
    soften: np.ndarray | None = None
    soften_sigma: float = 0.0

    def dominant(self) -> tuple[np.ndarray, np.ndarray]:
        """Single map taking each pixel from its most-covering layer (hard, aliased lid edges)."""
        if self.coverage is None:
            return self.layers[0]
        (ux, uy), (ex, ey), (lx, ly) = self.layers
        c_up, _, c_lo = self.coverage
        take_up, take_lo = c_up >= 0.5, c_lo >= 0.5
        mx = np.where(take_up, ux, np.where(take_lo, lx, ex))
        my = np.where(take_up, uy, np.where(take_lo, ly, ey))
        return mx, my


def _patches(shape_hw: tuple[int, int], landmarks_px: np.ndarray, side: str, eye: float, brow: float,
             cheek: float, mouth: float) -> list[_Patch]:
    """Backward maps of the rectangles that move, to be applied in order (later ones overwrite)."""
    if side not in _SIDE_SETS:
        raise ValueError(f"side must be 'left', 'right' or 'both', got {side!r}")
    sides = _SIDE_SETS[side]
    eye = float(np.clip(eye, 0.0, 1.0))
    shape_hw = (int(shape_hw[0]), int(shape_hw[1]))
    face = _Face(landmarks_px)
    pulls = _pulls(face, sides, float(brow), float(cheek), float(mouth))
    patches: list[_Patch] = []
    field = _pull_field(face, pulls, shape_hw) if pulls else None
    if field is not None:
        (x0, y0, x1, y1), dx, dy = field
        gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        patches.append(_Patch((x0, y0, x1, y1), [(gx + dx, gy + dy)]))
    if eye <= 0.0:
        return patches

    # The pulls displace the eye region too: grow its box by the largest pull displacement.
    reach = max((float(np.abs(p.vec).max()) for p in pulls), default=0.0) + 2.0
    eyes = [_Eye(face, s) for s in sides]
    boxes = [_clip_box(*e.box(reach), shape_hw) for e in eyes]
    groups: list[tuple[Box, list[_Eye]]] = []
    for e, b in zip(eyes, boxes):
        if b is None:
            continue
        for i, (gb, members) in enumerate(groups):
            if b[0] < gb[2] and gb[0] < b[2] and b[1] < gb[3] and gb[1] < b[3]:  # overlap: merge
                groups[i] = ((min(b[0], gb[0]), min(b[1], gb[1]), max(b[2], gb[2]), max(b[3], gb[3])),
                             members + [e])
                break
        else:
            groups.append((b, [e]))
    for (x0, y0, x1, y1), members in groups:
        qy, qx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        if field is not None:
            # Add the pull displacement where the two boxes overlap.
            (fx0, fy0, fx1, fy1), dx, dy = field
            ix0, iy0, ix1, iy1 = max(x0, fx0), max(y0, fy0), min(x1, fx1), min(y1, fy1)
            if ix1 > ix0 and iy1 > iy0:
                qx[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] += dx[iy0 - fy0:iy1 - fy0, ix0 - fx0:ix1 - fx0]
                qy[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] += dy[iy0 - fy0:iy1 - fy0, ix0 - fx0:ix1 - fx0]
        # The eye closure comes first in the forward model, so its backward map is applied last.
        up_x, up_y, lo_x, lo_y = qx.copy(), qy.copy(), qx.copy(), qy.copy()
        cov_up = np.zeros_like(qx)
        cov_lo = np.zeros_like(qx)
        for e in members:
            ey, d_up, d_lo, c_up, c_lo = _eye_layers(face, e, eye, qx, qy)
            up_x += d_up * float(ey[0])
            up_y += d_up * float(ey[1])
            lo_x += d_lo * float(ey[0])
            lo_y += d_lo * float(ey[1])
            cov_up += c_up
            cov_lo += c_lo
        cov_up = np.minimum(cov_up, 1.0)
        cov_lo = np.minimum(cov_lo, 1.0 - cov_up)
        cov_eye = 1.0 - cov_up - cov_lo
        # Local source-per-output length along the face's vertical in the upper-lid layer (1 = unstretched).
        down = -face.up
        dmx_dy, dmx_dx = np.gradient(up_x)
        dmy_dy, dmy_dx = np.gradient(up_y)
        along = ((dmx_dx * down[0] + dmx_dy * down[1]) * down[0] + (dmy_dx * down[0] + dmy_dy * down[1]) * down[1])
        soften = np.clip((_SOFTEN_FROM - along) / _SOFTEN_RANGE, 0.0, 1.0) * (cov_up > 0.0)
        sigma = _SOFTEN_SIGMA * float(np.mean([e.width for e in members]))
        patches.append(_Patch((x0, y0, x1, y1), [(up_x, up_y), (qx, qy), (lo_x, lo_y)], [cov_up, cov_eye, cov_lo],
                              soften if soften.any() else None, sigma))
    return patches


def spasm_maps(shape_hw: tuple[int, int], landmarks_px: np.ndarray, side: str, *, eye: float = 0.0,
               brow: float = 0.0, cheek: float = 0.0, mouth: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Full-frame backward maps ``(map_x, map_y)`` for :func:`cv2.remap` imitating a muscle pull.

    ``output[y, x] = input[map_y[y, x], map_x[y, x]]``. ``side`` is "left", "right" or "both" (the
    subject's sides; "both" is for normal bilateral blinks). ``eye`` is the fraction of the lid aperture
    closed (0..1); ``brow`` the brow lift, ``cheek`` the malar rise and ``mouth`` the up-and-out pull of
    the mouth corner, each as a fraction of the inter-ocular distance (negative values pull the other
    way). Outside the affected region the maps are the identity. The lid margins are occlusion edges,
    which a single map can only render hard (aliased); :func:`warp_face` anti-aliases them.
    """
    h, w = int(shape_hw[0]), int(shape_hw[1])
    map_y, map_x = np.mgrid[0:h, 0:w].astype(np.float32)
    for patch in _patches((h, w), landmarks_px, side, eye, brow, cheek, mouth):
        x0, y0, x1, y1 = patch.box
        map_x[y0:y1, x0:x1], map_y[y0:y1, x0:x1] = patch.dominant()
    return map_x, map_y


def warp_face(image: np.ndarray, landmarks_px: np.ndarray, side: str, *, eye: float = 0.0, brow: float = 0.0,
              cheek: float = 0.0, mouth: float = 0.0) -> np.ndarray:
    """Return a copy of ``image`` with the face warped as by :func:`spasm_maps` (same arguments).

    Pixels straddling a lid margin are blended from the layers on both sides of it by their coverage,
    so the moving lid edge is anti-aliased, and strongly stretched lid skin is sampled from a copy of the
    image blurred along the lid, so it looks smooth instead of streaked. Only the rectangles that move
    are remapped, so a 512x512 frame takes a few milliseconds.
    """
    out = image.copy()
    for patch in _patches(image.shape[:2], landmarks_px, side, eye, brow, cheek, mouth):
        x0, y0, x1, y1 = patch.box
        if patch.coverage is None:
            mx, my = patch.layers[0]
            out[y0:y1, x0:x1] = cv2.remap(image, mx, my, interpolation=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_REFLECT)
            continue
        acc = None
        for i, ((lx, ly), cov) in enumerate(zip(patch.layers, patch.coverage)):
            colour = cv2.remap(image, lx, ly, interpolation=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT).astype(np.float32)
            if i == 0 and patch.soften is not None:
                colour = _soften(image, lx, ly, colour, patch.soften, patch.soften_sigma)
            term = colour * (cov[..., None] if colour.ndim == 3 else cov)
            acc = term if acc is None else acc + term
        if np.issubdtype(image.dtype, np.integer):
            info = np.iinfo(image.dtype)
            acc = np.clip(np.rint(acc), info.min, info.max)
        out[y0:y1, x0:x1] = acc.astype(image.dtype)
    return out


def _soften(image: np.ndarray, mx: np.ndarray, my: np.ndarray, colour: np.ndarray, weight: np.ndarray,
            sigma: float) -> np.ndarray:
    """Blend ``colour`` (``image`` remapped by mx, my) with the same remap of ``image`` blurred along x."""
    h, w = image.shape[:2]
    pad = int(np.ceil(3.0 * sigma)) + 2
    sel = weight > 0.0
    bx0 = max(int(np.floor(mx[sel].min())) - pad, 0)
    by0 = max(int(np.floor(my[sel].min())) - pad, 0)
    bx1 = min(int(np.ceil(mx[sel].max())) + pad + 1, w)
    by1 = min(int(np.ceil(my[sel].max())) + pad + 1, h)
    if bx1 <= bx0 or by1 <= by0:
        return colour
    blurred = cv2.GaussianBlur(image[by0:by1, bx0:bx1], (0, 0), sigmaX=sigma, sigmaY=0.3)
    soft = cv2.remap(blurred, mx - bx0, my - by0, interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    wgt = weight[..., None] if colour.ndim == 3 else weight
    return colour + (soft - colour) * wgt
