"""Dense backward displacement fields built from one frame's landmarks, applied with one cv2.remap pass.

Every warp maps destination points to the source points they sample (`backward`), so a frame is rendered
by chaining the warps' backward maps (last applied first) and remapping once. Two kinds:

- `EyelidSlide`: the upper-lid margin moves down by `closure` of the local lid gap at each point along the
  eye; the skin above it (lashes, lid crease) follows with a raised-cosine fall-off towards the brow, so
  lid texture slides over the eyeball while the iris below the new margin stays where it was (the lid
  covers it, the eye does not squash). The new margin is anti-aliased by blending a lid layer and an
  eyeball layer over one pixel. Optionally the lower lid rises by `lower_rise` of the gap the same way.
- `RadialPull`: a Gaussian bump of displacement (cheek raise, mouth-corner pull), inverted
  exactly by fixed-point iteration; an optional protected circle (the eye) where it fades to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .anatomy import INDICES


def _falloff(x: np.ndarray) -> np.ndarray:
    """1 for x <= 0, a raised cosine down to 0 at x = 1, 0 beyond."""
    y = np.clip(x, 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * y))


@dataclass
class EyelidSlide:
    """The upper lid of one eye sliding down (and the lower lid rising a little), in eye-aligned coordinates.

    `closure`: fraction (0-0.97) of the local lid gap the upper margin moves down. `lower_rise`: fraction of
    the local gap the lower margin moves up (0 for none). `landmarks`: (478, 2+) pixels of the ORIGINAL frame.
    """

    landmarks: np.ndarray
    side: str
    closure: float
    lower_rise: float = 0.0

    def __post_init__(self) -> None:
        ix = INDICES[self.side]
        lm = self.landmarks[:, :2].astype(np.float64)
        a, b = lm[ix.corner_a], lm[ix.corner_b]
        self.origin = (a + b) / 2
        width = float(np.linalg.norm(b - a))
        self.e_u = (b - a) / width
        self.e_v = np.array([-self.e_u[1], self.e_u[0]])  # image "down" for an upright face
        self.u_a, self.u_b = -width / 2, width / 2
        self.up_u, self.up_v = self._curve(lm, (ix.corner_a, *ix.upper, ix.corner_b))
        self.lo_u, self.lo_v = self._curve(lm, (ix.corner_a, *ix.lower, ix.corner_b))
        mid_gap = float(np.interp(0.0, self.lo_u, self.lo_v) - np.interp(0.0, self.up_u, self.up_v))
        total = self.closure + self.lower_rise
        if total > 0.97:  # the two margins must not cross
            self.closure, self.lower_rise = self.closure * 0.97 / total, self.lower_rise * 0.97 / total
        brow_v = float(np.mean([self._local(lm[i])[1] for i in ix.brow]))
        brow_gap = max(float(np.interp(0.0, self.up_u, self.up_v)) - brow_v, 1.0)
        d_max, b_max = self.closure * max(mid_gap, 1.0), self.lower_rise * max(mid_gap, 1.0)
        # The skin up to past the brow follows (an orbicularis squeeze lowers the brow a little): stretching it
        # over a short reach would smear the thin pale band above the lashes over the iris. Fold-free needs
        # (d_max + skip) * pi / (2 h) < 1.
        self.h_upper = max(2.0 * brow_gap, 3.5 * d_max, 2.0)
        self.h_lower = max(0.5 * width, 2.5 * b_max, 2.0)

    def _local(self, p: np.ndarray) -> np.ndarray:
        d = p - self.origin
        return np.array([d @ self.e_u, d @ self.e_v])

    def _curve(self, lm: np.ndarray, ids: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        local = np.array([self._local(lm[i]) for i in ids])
        order = np.argsort(local[:, 0])
        u, v = local[order, 0], local[order, 1]
        keep = np.concatenate([[True], np.diff(u) > 1e-6])  # np.interp needs increasing knots
        return u[keep], v[keep]

    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) pixels outside which the warp is the identity."""
        corners = []
        for u in (self.u_a - 2, self.u_b + 2):
            for v in (float(self.up_v.min()) - self.h_upper - 2, float(self.lo_v.max()) + self.h_lower + 2):
                corners.append(self.origin + u * self.e_u + v * self.e_v)
        c = np.array(corners)
        return float(c[:, 0].min()), float(c[:, 1].min()), float(c[:, 0].max()), float(c[:, 1].max())

    def backward(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Source points of the lid layer and of the eyeball layer, and the lid layer's weight, for (N, 2) pts."""
        d = pts - self.origin
        u, v = d @ self.e_u, d @ self.e_v
        inside = (u > self.u_a) & (u < self.u_b)
        m = np.interp(u, self.up_u, self.up_v)
        low = np.interp(u, self.lo_u, self.lo_v)
        gap = np.where(inside, np.clip(low - m, 0.0, None), 0.0)
        shift = self.closure * gap
        rise = self.lower_rise * gap
        new_m, new_low = m + shift, low - rise
        above = new_m - v  # > 0 above the new upper margin
        # The mesh's upper-lid points often sit a little inside the eye, below the lash line: the moving lid's
        # edge is sampled from up to 12 % of the gap above them, so no strip of sclera rides down with it.
        skip = np.minimum(0.12 * gap, shift)
        v_lid = v - (shift + skip) * _falloff(above / self.h_upper)
        below = v - new_low  # > 0 below the new lower margin
        v_eye = np.where(below > 0, v + rise * _falloff(below / self.h_lower), v)
        alpha = np.clip(above + 0.5, 0.0, 1.0)
        lid = self.origin + u[:, None] * self.e_u + v_lid[:, None] * self.e_v
        eye = self.origin + u[:, None] * self.e_u + v_eye[:, None] * self.e_v
        return lid, eye, alpha


@dataclass
class RadialPull:
    """Forward displacement `vector * exp(-|x - centre|^2 / (2 sigma^2))`, faded to 0 inside `protect`.

    `centre`, `vector`: (2,) pixels. `protect`: optional (centre (2,), radius) circle kept still (smoothly).
    Keep |vector| / sigma below ~1.2 so the map does not fold.
    """

    centre: np.ndarray
    vector: np.ndarray
    sigma: float
    protect: tuple[np.ndarray, float] | None = None

    def bbox(self) -> tuple[float, float, float, float]:
        r = 3.2 * self.sigma + float(np.linalg.norm(self.vector))
        return self.centre[0] - r, self.centre[1] - r, self.centre[0] + r, self.centre[1] + r

    def forward_displacement(self, x: np.ndarray) -> np.ndarray:
        """(N, 2) displacement at (N, 2) source points."""
        r2 = np.sum((x - self.centre) ** 2, axis=1) / (2 * self.sigma**2)
        w = np.exp(-r2)
        if self.protect is not None:
            pc, pr = self.protect
            q = np.sum((x - pc) ** 2, axis=1) / pr**2
            w = w * (1.0 - np.exp(-q * q))
        return w[:, None] * self.vector[None, :]

    def backward(self, pts: np.ndarray) -> np.ndarray:
        """Source points x with x + d(x) = pts, by fixed-point iteration (converges: the field is gentle)."""
        x = pts.copy()
        for _ in range(6):
            x = pts - self.forward_displacement(x)
        return x


def render(image: np.ndarray, eyelid: EyelidSlide | None, pulls: list[RadialPull]) -> np.ndarray:
    """The warped frame: `eyelid` first, then `pulls` in order (forward order). Pixels not moved stay exact.

    `image`: (H, W, 3) uint8 BGR. Returns a new array; outside the warps' reach it is `image` bit for bit.
    """
    boxes = [w.bbox() for w in ([eyelid] if eyelid is not None else []) + list(pulls)]
    if not boxes:
        return image.copy()
    h, w = image.shape[:2]
    x0 = max(int(np.floor(min(b[0] for b in boxes))), 0)
    y0 = max(int(np.floor(min(b[1] for b in boxes))), 0)
    x1 = min(int(np.ceil(max(b[2] for b in boxes))) + 1, w)
    y1 = min(int(np.ceil(max(b[3] for b in boxes))) + 1, h)
    out = image.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    q = pts
    for pull in reversed(pulls):
        q = pull.backward(q)
    if eyelid is not None:
        src_lid, src_eye, alpha = eyelid.backward(q)
    else:
        src_lid, src_eye, alpha = q, q, np.ones(len(q))
    shape = gx.shape
    moved = (np.abs(src_lid - pts).max(axis=1) > 1e-4) | (np.abs(src_eye - pts).max(axis=1) > 1e-4)
    if not moved.any():
        return out

    def sample(src: np.ndarray) -> np.ndarray:
        mx = src[:, 0].reshape(shape).astype(np.float32)
        my = src[:, 1].reshape(shape).astype(np.float32)
        return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)

    lid = sample(src_lid)
    a = alpha.reshape(shape)[..., None]
    warped = lid if eyelid is None else a * lid + (1.0 - a) * sample(src_eye)
    patch = out[y0:y1, x0:x1]
    mask = moved.reshape(shape)
    patch[mask] = np.clip(np.rint(warped[mask]), 0, 255).astype(np.uint8)
    return out
