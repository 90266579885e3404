"""Frames and labels of one camera: people drawn over the static view with correct occlusion.

Per frame:

1. People in front of the camera are projected (every body part's points at once) and sorted far
   to near by depth.
2. Each person is drawn in its own region of interest at the supersampled resolution: parts
   sorted far to near (painted-on parts right after their parent; front-only parts only when the
   front faces the camera), each filled as the convex hull of its projected outline into a colour
   buffer and a depth buffer (the part's camera-z depth). A pixel of the person shows where the
   static scene is farther (or is floor). The region is averaged down to video resolution (this is
   the anti-aliasing) and blended over the frame after a soft contact shadow.
3. An id buffer keeps, per pixel, the nearest person drawn there. Visibility = the person's pixels
   left in the id buffer / the pixels of the person rendered alone (within the image).
4. The camera's imaging (vignetting, white balance, exposure, gamma, saturation, blur, JPEG-like
   compression) was applied to the static background once; per frame only the rectangles around
   people are processed again (aligned to 16-pixel blocks, with margins, so there are no seams),
   then sensor noise is added to the whole frame.

Example::

    labels = render_camera(scene, 0, on_frame=lambda f, img: writer.write(img))
    labels.visibility[labels.frame == 1]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from mtmc.synth.body import BAND, CAPSULE, FRONT, Body, build_body
from mtmc.synth.cameras import CameraSpec, Imaging
from mtmc.synth.static import StaticView, WorldTextures, render_static

__all__ = ["CameraLabels", "CameraRenderer", "render_camera"]

CIRCLE_POINTS = 12  # outline points per capsule end
SHIFT = 4  # fixed-point bits for sub-pixel polygon filling
SHADE_DARK, SHADE_LIGHT = 0.8, 1.08  # rim and centre brightness of round parts
SHADOW_STRENGTH = 0.4
NEAR_PLANE_M = 0.1
BLOCK = 16  # JPEG MCU size: processed rectangles are aligned to it
_INNER_SCALE = np.array(
    [0.5, 0.85]
)  # lighter centre of a shaded hull part, relative to its outline
_UNIT_CIRCLE = np.stack(
    [
        np.cos(np.linspace(0, 2 * math.pi, CIRCLE_POINTS, endpoint=False)),
        np.sin(np.linspace(0, 2 * math.pi, CIRCLE_POINTS, endpoint=False)),
    ],
    axis=1,
)


@dataclass
class CameraLabels:
    """Ground truth of one camera, one row per (frame, person) with the person inside the image.

    Attributes:
        camera_id: e.g. ``cam1``.
        frame: (N,) int64 1-based frame numbers.
        person_id: (N,) int64 global ids.
        xyxy_full: (N, 4) float64 full-body (amodal) box clipped to the image, pixels.
        xyxy_visible: (N, 4) float64 box of the visible pixels (NaN when fully hidden).
        visibility: (N,) float64 visible pixels / pixels of the person alone within the image.
        truncation: (N,) float64 share of the full-body box outside the image.
        location_cam_m: (N, 3) foot point in camera coordinates (x right, y down, z forward).
        rotation_y: (N,) yaw about the camera y axis (KITTI); alpha: (N,) observation angle.
        dims_hwl_m: (N, 3) height, width, length of the person in metres.
    """

    camera_id: str
    frame: np.ndarray
    person_id: np.ndarray
    xyxy_full: np.ndarray
    xyxy_visible: np.ndarray
    visibility: np.ndarray
    truncation: np.ndarray
    location_cam_m: np.ndarray
    rotation_y: np.ndarray
    alpha: np.ndarray
    dims_hwl_m: np.ndarray

    @staticmethod
    def from_rows(camera_id: str, rows: list[dict]) -> CameraLabels:
        def col(key: str, width: int | None = None, dtype=np.float64) -> np.ndarray:
            arr = np.asarray([r[key] for r in rows], dtype=dtype)
            return arr.reshape((len(rows),) if width is None else (len(rows), width))

        return CameraLabels(
            camera_id=camera_id,
            frame=col("frame", dtype=np.int64),
            person_id=col("person_id", dtype=np.int64),
            xyxy_full=col("xyxy_full", 4),
            xyxy_visible=col("xyxy_visible", 4),
            visibility=col("visibility"),
            truncation=col("truncation"),
            location_cam_m=col("location_cam_m", 3),
            rotation_y=col("rotation_y"),
            alpha=col("alpha"),
            dims_hwl_m=col("dims_hwl_m", 3),
        )


def _align_down(v: int) -> int:
    return v - v % BLOCK


def _align_up(v: int) -> int:
    return v + (-v) % BLOCK


class _Imager:
    """A camera's imaging pipeline (see module doc, step 4)."""

    def __init__(self, imaging: Imaging, size_wh: tuple[int, int], seed: int) -> None:
        w, h = size_wh
        self.im = imaging
        self.w, self.h = w, h
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
        self.vignette = np.repeat(
            (1.0 - imaging.vignetting * r2).astype(np.float32)[..., None], 3, axis=2
        )
        x = np.arange(256, dtype=np.float64) / 255.0
        lut = [
            255.0 * np.clip(imaging.exposure * g * x, 0, 1) ** (1.0 / imaging.gamma)
            for g in imaging.wb_gains_bgr
        ]
        self.lut = np.clip(np.stack(lut, axis=-1) + 0.5, 0, 255).astype(np.uint8).reshape(1, 256, 3)
        self.margin = (
            int(math.ceil(3 * imaging.blur_sigma_px)) + 1 if imaging.blur_sigma_px > 0 else 0
        )
        self.rng = np.random.default_rng(seed)
        self.noise: list[tuple[np.ndarray, np.ndarray]] = []
        if imaging.noise_sigma > 0:
            for _ in range(4):
                n = self.rng.normal(0.0, imaging.noise_sigma, size=(h + 32, w + 32, 3))
                self.noise.append(
                    (np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8))
                )

    def process(self, raw: np.ndarray, y0: int, x0: int) -> np.ndarray:
        """Vignetting, LUT (white balance, exposure, gamma), saturation, blur, compression."""
        h, w = raw.shape[:2]
        img = cv2.multiply(raw, self.vignette[y0 : y0 + h, x0 : x0 + w], dtype=cv2.CV_8U)
        img = cv2.LUT(img, self.lut)
        if self.im.saturation != 1.0:
            grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            img = cv2.addWeighted(img, self.im.saturation, grey, 1.0 - self.im.saturation, 0.0)
        if self.im.blur_sigma_px > 0:
            img = cv2.GaussianBlur(img, (0, 0), self.im.blur_sigma_px)
        if self.im.jpeg_quality < 100:
            ok, buf = cv2.imencode(
                ".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(self.im.jpeg_quality)]
            )
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        return img

    def add_noise(self, frame: np.ndarray) -> None:
        if not self.noise:
            return
        pos, neg = self.noise[int(self.rng.integers(len(self.noise)))]
        oy, ox = (int(v) for v in self.rng.integers(0, 32, size=2))
        cv2.add(frame, pos[oy : oy + self.h, ox : ox + self.w], dst=frame)
        cv2.subtract(frame, neg[oy : oy + self.h, ox : ox + self.w], dst=frame)

    def rects(
        self, dirty: list[tuple[int, int, int, int]]
    ) -> list[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]]:
        """(write, process) rectangles (y0, y1, x0, x1) covering the dirty ones."""
        m = self.margin
        out = []
        for y0, y1, x0, x1 in _merge(dirty):
            wy0, wx0 = _align_down(max(0, y0 - m)), _align_down(max(0, x0 - m))
            wy1, wx1 = min(self.h, _align_up(y1 + m)), min(self.w, _align_up(x1 + m))
            e = BLOCK + m
            py0, px0 = _align_down(max(0, wy0 - e)), _align_down(max(0, wx0 - e))
            py1, px1 = min(self.h, _align_up(wy1 + e)), min(self.w, _align_up(wx1 + e))
            out.append(((wy0, wy1, wx0, wx1), (py0, py1, px0, px1)))
        return out


def _merge(rects: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Merge overlapping rectangles (y0, y1, x0, x1) until none overlap."""
    rects = list(rects)
    merged = True
    while merged:
        merged = False
        out: list[tuple[int, int, int, int]] = []
        for r in rects:
            for k, o in enumerate(out):
                if (
                    r[0] < o[1] + BLOCK
                    and o[0] < r[1] + BLOCK
                    and r[2] < o[3] + BLOCK
                    and o[2] < r[3] + BLOCK
                ):
                    out[k] = (min(r[0], o[0]), max(r[1], o[1]), min(r[2], o[2]), max(r[3], o[3]))
                    merged = True
                    break
            else:
                out.append(r)
        rects = out
    return rects


class CameraRenderer:
    """Renders one camera's frames of a scene (static view and imaging prepared once)."""

    def __init__(
        self,
        scene,
        cam_index: int,
        textures: WorldTextures,
        bodies: list[Body],
        *,
        effects: bool = True,
    ) -> None:
        self.scene = scene
        self.spec: CameraSpec = scene.cameras[cam_index]
        self.cam = self.spec.camera
        self.w, self.h = self.cam.image_size_wh
        self.s = scene.config.supersample
        self.textures = textures
        self.bodies = bodies
        self.view: StaticView = render_static(scene.world, textures, self.cam, self.s)
        imaging = self.spec.imaging if effects else Imaging.neutral()
        self.imager = _Imager(
            imaging, (self.w, self.h), seed=_camera_seed(scene.config.seed, cam_index)
        )
        self.background = self.imager.process(self.view.color_bgr, 0, 0)
        self.K = self.cam.K
        self.R = self.cam.R_world_to_cam
        self.t = self.cam.t_world_to_cam_m
        self.C = self.cam.center_m
        tr = scene.tracks
        self.light = textures.light.at(np.nan_to_num(tr.xy_m)).astype(np.float64)  # (P, F)

    # -- projection ------------------------------------------------------------------------

    def _project(self, pts_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Xc = pts_m.astype(np.float64) @ self.R.T + self.t
        z = Xc[:, 2]
        uv = np.empty((len(z), 2))
        uv[:, 0] = self.K[0, 0] * Xc[:, 0] / z + self.K[0, 1] * Xc[:, 1] / z + self.K[0, 2]
        uv[:, 1] = self.K[1, 1] * Xc[:, 1] / z + self.K[1, 2]
        return uv, z

    # -- one frame ---------------------------------------------------------------------------

    def render(self, f: int) -> tuple[np.ndarray, list[dict]]:
        """Frame ``f`` (0-based): the BGR image (H, W, 3) uint8 and its label rows."""
        scene = self.scene
        w, h = self.w, self.h
        raw = self.view.color_bgr.copy()
        idbuf = np.zeros((h, w), np.int32)
        fx = self.K[0, 0]
        people = []
        for p, body in enumerate(self.bodies):
            if not scene.tracks.present[p, f]:
                continue
            pts = body.points_m[f]
            uv, z = self._project(pts)
            if z.min() < NEAR_PLANE_M:
                continue
            r = body.point_radius_m * fx / z
            keep = ~body.point_optional if not body.active[f] else slice(None)
            lo = (uv - r[:, None])[keep].min(axis=0)
            hi = (uv + r[:, None])[keep].max(axis=0)
            ext_lo, ext_hi = lo, hi
            box = np.array([ext_lo[0], ext_lo[1], ext_hi[0], ext_hi[1]])
            if box[2] <= 0 or box[3] <= 0 or box[0] >= w or box[1] >= h:
                continue
            people.append((float(np.median(z)), p, uv, z, box))
        people.sort(key=lambda item: -item[0])  # far to near

        rows: list[dict] = []
        drawn: list[tuple[int, tuple[int, int, int, int], int, np.ndarray]] = []
        dirty: list[tuple[int, int, int, int]] = []
        for _, p, uv, z, box in people:
            body = self.bodies[p]
            x0, y0 = max(0, int(math.floor(box[0])) - 1), max(0, int(math.floor(box[1])) - 1)
            x1, y1 = min(w, int(math.ceil(box[2])) + 2), min(h, int(math.ceil(box[3])) + 2)
            if x1 <= x0 or y1 <= y0:
                continue
            shadow_rect = self._shadow(raw, idbuf, p, f)
            if shadow_rect is not None:
                dirty.append(shadow_rect)
            full_px, vis_mask_1x = self._draw_person(raw, body, p, f, uv, z, (x0, y0, x1, y1))
            if full_px == 0:
                continue
            idbuf[y0:y1, x0:x1][vis_mask_1x] = p + 1
            drawn.append((p, (x0, y0, x1, y1), full_px, box))
            dirty.append((y0, y1, x0, x1))

        for p, (x0, y0, x1, y1), full_px, box in drawn:
            mine = idbuf[y0:y1, x0:x1] == p + 1
            visible_px = int(mine.sum())
            if visible_px:
                ys = np.flatnonzero(mine.any(axis=1))
                xs = np.flatnonzero(mine.any(axis=0))
                vis_box = [x0 + xs[0] - 0.5, y0 + ys[0] - 0.5, x0 + xs[-1] + 0.5, y0 + ys[-1] + 0.5]
                vis_box = [
                    min(max(v, 0.0), lim) for v, lim in zip(vis_box, (w, h, w, h), strict=True)
                ]
            else:
                vis_box = [math.nan] * 4
            rows.append(self._label_row(f, p, box, vis_box, min(1.0, visible_px / full_px)))

        frame = self.background.copy()
        for (wy0, wy1, wx0, wx1), (py0, py1, px0, px1) in self.imager.rects(dirty):
            out = self.imager.process(raw[py0:py1, px0:px1], py0, px0)
            frame[wy0:wy1, wx0:wx1] = out[wy0 - py0 : wy1 - py0, wx0 - px0 : wx1 - px0]
        self.imager.add_noise(frame)
        rows.sort(key=lambda r: r["person_id"])
        return frame, rows

    def _shadow(
        self, raw: np.ndarray, idbuf: np.ndarray, p: int, f: int
    ) -> tuple[int, int, int, int] | None:
        """Darken the floor under person ``p``; the touched rectangle (y0, y1, x0, x1) or None."""
        xy = self.scene.tracks.xy_m[p, f]
        hd = self.scene.tracks.heading_rad[p, f]
        ang = np.linspace(0, 2 * math.pi, 16, endpoint=False)
        ca, sa = math.cos(hd), math.sin(hd)
        ex, ey = 0.36 * np.cos(ang), 0.26 * np.sin(ang)
        pts = np.column_stack([xy[0] + ex * ca - ey * sa, xy[1] + ex * sa + ey * ca, np.zeros(16)])
        uv, z = self._project(pts)
        if z.min() < NEAR_PLANE_M:
            return None
        size = float(min(np.ptp(uv[:, 0]), np.ptp(uv[:, 1])))
        k = max(3, (int(0.35 * size) // 2) * 2 + 1)  # blur kernel: soft edges
        pad = k // 2 + 2
        x0, y0 = max(0, int(uv[:, 0].min()) - pad), max(0, int(uv[:, 1].min()) - pad)
        x1, y1 = (
            min(self.w, int(uv[:, 0].max()) + pad + 1),
            min(self.h, int(uv[:, 1].max()) + pad + 1),
        )
        if x1 <= x0 or y1 <= y0:
            return None
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        poly = np.round((uv - [x0, y0]) * (1 << SHIFT)).astype(np.int32)
        cv2.fillConvexPoly(mask, poly, 1.0, cv2.LINE_AA, SHIFT)
        mask = cv2.GaussianBlur(mask, (k, k), 0, borderType=cv2.BORDER_CONSTANT)
        mask *= self.view.floor[y0:y1, x0:x1] & (idbuf[y0:y1, x0:x1] == 0)
        roi = raw[y0:y1, x0:x1].astype(np.float32)
        roi *= (1.0 - SHADOW_STRENGTH * mask)[..., None]
        raw[y0:y1, x0:x1] = np.clip(roi + 0.5, 0, 255).astype(np.uint8)
        return (y0, y1, x0, x1)

    def _draw_person(
        self,
        raw: np.ndarray,
        body: Body,
        p: int,
        f: int,
        uv: np.ndarray,
        z: np.ndarray,
        roi: tuple[int, int, int, int],
    ) -> tuple[int, np.ndarray]:
        """Draw one person into ``raw``; returns (pixels of the person alone, visible mask 1x)."""
        x0, y0, x1, y1 = roi
        s = self.s
        hs, ws = (y1 - y0) * s, (x1 - x0) * s
        col = np.zeros((hs, ws, 3), np.uint8)
        dep = np.full((hs, ws), np.inf, np.float32)
        fx = self.K[0, 0]
        # supersampled ROI coordinates, fixed point
        q = ((uv + 0.5) * s - 0.5 - np.array([x0 * s, y0 * s])) * (1 << SHIFT)
        xy = self.scene.tracks.xy_m[p, f]
        forward = body.forward[f]
        front_visible = float(forward @ (self.C[:2] - xy)) > 0

        # per-part depth (mean camera z), height and colour, vectorised
        parts = body.parts
        counts = body.part_count
        mean_z = np.add.reduceat(z, body.part_start) / counts
        mean_h = np.add.reduceat(body.points_m[f, :, 2], body.part_start) / counts
        # children are drawn right after their top ancestor, in order of nesting
        key = (
            mean_z[body.part_root]
            - 1e-4 * body.part_level
            - 1e-6 * np.arange(len(parts)) * (body.part_level > 0)
        )
        order = np.argsort(-key, kind="stable")
        factor = self.light[p, f] * (0.82 + 0.22 * np.clip(mean_h / body.height_m, 0, 1))
        base = body.part_color * factor[:, None]
        shaded = np.array([part.shaded for part in parts])
        dark = (
            np.clip(base * np.where(shaded, SHADE_DARK, 1.0)[:, None] + 0.5, 0, 255)
            .astype(int)
            .tolist()
        )
        light = np.clip(base * SHADE_LIGHT + 0.5, 0, 255).astype(int).tolist()
        radius_px = body.point_radius_m * fx / z * s * (1 << SHIFT)
        active = bool(body.active[f])
        for i in order:
            part = parts[i]
            if (part.optional and not active) or (part.facing == FRONT and not front_visible):
                continue
            a, b = part.start, part.stop
            depth = float(mean_z[i])
            if part.kind == BAND:
                strip = self._band_polygon(body.points_m[f, a:b], q[a:b])
                if strip is not None:
                    cv2.fillPoly(col, [strip], dark[i], cv2.LINE_8, SHIFT)
                    cv2.fillPoly(dep, [strip], depth, cv2.LINE_8, SHIFT)
                continue
            if part.kind == CAPSULE:
                r = radius_px[a:b]
                outline = (q[a:b, None, :] + r[:, None, None] * _UNIT_CIRCLE[None]).reshape(-1, 2)
                hull = cv2.convexHull(outline.astype(np.int32))
            else:
                hull = cv2.convexHull(q[a:b].astype(np.int32))
            cv2.fillConvexPoly(col, hull, dark[i], cv2.LINE_8, SHIFT)
            cv2.fillConvexPoly(dep, hull, depth, cv2.LINE_8, SHIFT)
            if part.shaded:
                if part.kind == CAPSULE:
                    inner = (
                        q[a:b, None, :] + 0.45 * r[:, None, None] * _UNIT_CIRCLE[None]
                    ).reshape(-1, 2)
                    inner_hull = cv2.convexHull(inner.astype(np.int32))
                else:
                    pts = hull.reshape(-1, 2)
                    c = pts.sum(axis=0) / len(pts)
                    inner_hull = (c + (pts - c) * _INNER_SCALE).astype(np.int32)
                cv2.fillConvexPoly(col, inner_hull, light[i], cv2.LINE_8, SHIFT)

        static_depth = self.view.depth_m[y0 * s : y1 * s, x0 * s : x1 * s]
        floor = self.view.floor_ss[y0 * s : y1 * s, x0 * s : x1 * s]
        full = np.isfinite(dep)
        vis = full & (floor | (dep < static_depth))
        if s > 1:  # area averaging over s x s blocks = anti-aliasing
            size = (x1 - x0, y1 - y0)
            visf = vis.astype(np.float32)
            alpha = cv2.resize(visf, size, interpolation=cv2.INTER_AREA)
            premult = cv2.resize(
                col.astype(np.float32) * visf[..., None], size, interpolation=cv2.INTER_AREA
            )
            full_1x = cv2.resize(full.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
        else:
            alpha = vis.astype(np.float32)
            premult = (col * vis[..., None]).astype(np.float32)
            full_1x = full
        roi_px = raw[y0:y1, x0:x1].astype(np.float32)
        roi_px = roi_px * (1.0 - alpha[..., None]) + premult
        raw[y0:y1, x0:x1] = np.clip(roi_px + 0.5, 0, 255).astype(np.uint8)
        return int(full_1x.sum()), alpha >= 0.5

    def _band_polygon(self, pts_m: np.ndarray, q: np.ndarray) -> np.ndarray | None:
        """Fixed-point polygon of the camera-facing part of a band between two rings."""
        n = len(pts_m) // 2
        ring = pts_m[:n, :2].astype(np.float64)
        normal = ring - ring.mean(axis=0)
        facing = (normal * (self.C[:2] - ring)).sum(axis=1) > 0
        if not facing.any():
            return None
        if facing.all():
            idx = np.arange(n)
        else:  # the facing arc, in ring order, starting where it begins
            start = int(np.flatnonzero(facing & ~np.roll(facing, 1))[0])
            idx = (start + np.arange(int(facing.sum()))) % n
        poly = np.concatenate([q[idx], q[n + idx][::-1]])
        return np.round(poly).astype(np.int32)

    def _label_row(
        self, f: int, p: int, box: np.ndarray, vis_box: list[float], visibility: float
    ) -> dict:
        w, h = self.w, self.h
        clipped = np.array(
            [
                min(max(box[0], 0.0), w),
                min(max(box[1], 0.0), h),
                min(max(box[2], 0.0), w),
                min(max(box[3], 0.0), h),
            ]
        )
        area = (box[2] - box[0]) * (box[3] - box[1])
        area_in = (clipped[2] - clipped[0]) * (clipped[3] - clipped[1])
        truncation = float(np.clip(1.0 - area_in / area, 0.0, 1.0)) if area > 0 else 0.0
        xy = self.scene.tracks.xy_m[p, f]
        hd = self.scene.tracks.heading_rad[p, f]
        foot_cam = self.R @ np.array([xy[0], xy[1], 0.0]) + self.t
        d_cam = self.R @ np.array([math.cos(hd), math.sin(hd), 0.0])
        rotation_y = math.atan2(-d_cam[2], d_cam[0])
        alpha = (rotation_y - math.atan2(foot_cam[0], foot_cam[2]) + math.pi) % (
            2 * math.pi
        ) - math.pi
        app = self.scene.people[p]
        return {
            "frame": f + 1,
            "person_id": app.person_id,
            "xyxy_full": clipped.tolist(),
            "xyxy_visible": vis_box,
            "visibility": round(visibility, 4),
            "truncation": truncation,
            "location_cam_m": foot_cam.tolist(),
            "rotation_y": rotation_y,
            "alpha": alpha,
            "dims_hwl_m": [
                app.height_m,
                0.24 * app.height_m * app.build,
                0.16 * app.height_m * app.build,
            ],
        }


def _camera_seed(seed: int, cam_index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, 1000 + cam_index])


def render_camera(
    scene,
    cam_index: int,
    *,
    textures: WorldTextures | None = None,
    bodies: list[Body] | None = None,
    frames: range | None = None,
    on_frame: Callable[[int, np.ndarray], None] | None = None,
    effects: bool = True,
) -> CameraLabels:
    """Render ``frames`` (0-based, default all) of camera ``cam_index``; labels of those frames.

    ``on_frame(f, image)`` receives every BGR frame in order (e.g. a video writer).
    """
    if textures is None:
        textures = WorldTextures.build(scene.world, scene.config.lighting)
    if bodies is None:
        bodies = [build_body(app, scene.tracks, p) for p, app in enumerate(scene.people)]
    renderer = CameraRenderer(scene, cam_index, textures, bodies, effects=effects)
    rows: list[dict] = []
    for f in frames if frames is not None else range(scene.tracks.n_frames):
        image, frame_rows = renderer.render(f)
        rows.extend(frame_rows)
        if on_frame is not None:
            on_frame(f, image)
    return CameraLabels.from_rows(renderer.spec.id, rows)
