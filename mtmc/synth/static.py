"""The static scene seen by one camera: ray-cast colour and per-pixel depth.

Every pixel's ray (at ``supersample`` x the video resolution) is intersected with the room (floor,
walls, ceiling) and every shelf box (slab test, restricted to the box's projected bounding
rectangle). Surfaces are coloured from texture images drawn once per world (floor markings, wall
cladding and doors, rack uprights and beams with cartons, gondola shelves with products), then lit:
ambient + lamp pools + a gradient across the floor, darker vertical faces, and contact shadows
where the floor meets shelves and walls.

The depth map holds each pixel's camera-z distance (metres), the same quantity the people
renderer compares against for occlusion.

Example::

    textures = WorldTextures.build(world, lighting)
    view = render_static(world, textures, spec.camera, supersample=2)
    view.color_bgr.shape, view.depth_m.shape     # (540, 960, 3) uint8, (1080, 1920) float32
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from calib import PinholeCamera
from mtmc.synth.config import LightingConfig
from mtmc.synth.world import COUNTER, GONDOLA, PALLET, RACK, World, lamp_grid, light_level

__all__ = ["LightField", "StaticView", "WorldTextures", "render_static"]

FLOOR_PX_PER_M = 64  # floor texture resolution
FACE_PX_PER_M = 48  # wall and box texture resolution
# surfaces: 0 floor, 1 ceiling, 2..5 walls south/north/west/east, >= 10 boxes (10 + 5 * box + face)
FLOOR, CEILING = 0, 1
# box faces: 0 -x, 1 +x, 2 -y, 3 +y, 4 top
FACE_SHADE = np.array([0.8, 0.93, 0.86, 0.9, 1.05])
WALL_SHADE = np.array([0.88, 0.86, 0.84, 0.94])


@dataclass(frozen=True)
class LightField:
    """Light on the floor (see :func:`mtmc.synth.world.light_level`)."""

    size_m: tuple[float, float]
    lamps_m: np.ndarray
    ambient: float
    lamp_strength: float
    gradient: float
    lamp_sigma_m: float

    @staticmethod
    def from_config(size_m: tuple[float, float], cfg: LightingConfig) -> LightField:
        return LightField(
            size_m,
            lamp_grid(size_m, cfg.lamp_spacing_m),
            cfg.ambient,
            cfg.lamp_strength,
            cfg.gradient,
            0.45 * cfg.lamp_spacing_m,
        )

    def at(self, xy_m: np.ndarray) -> np.ndarray:
        """Light level at floor points (..., 2)."""
        return light_level(
            xy_m,
            self.size_m,
            self.lamps_m,
            self.ambient,
            self.lamp_strength,
            self.gradient,
            self.lamp_sigma_m,
        )


def _hash01(*ints: np.ndarray | int, seed: int = 0) -> np.ndarray:
    """Deterministic pseudo-random numbers in [0, 1) from integer arrays (vectorised)."""
    h = np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64) + np.zeros(
        np.broadcast(*ints).shape, dtype=np.uint64
    )
    for a in ints:
        h ^= (
            np.asarray(a).astype(np.int64).astype(np.uint64)
            + np.uint64(0x9E3779B97F4A7C15)
            + (h << np.uint64(6))
            + (h >> np.uint64(2))
        )
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(31)
    return (h >> np.uint64(40)).astype(np.float64) / float(2**24)


def _value_noise(x: np.ndarray, y: np.ndarray, cell: float, seed: int) -> np.ndarray:
    """Smooth noise in [0, 1) with features of about ``cell`` metres."""
    gx, gy = x / cell, y / cell
    ix, iy = np.floor(gx), np.floor(gy)
    fx, fy = gx - ix, gy - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    ix, iy = ix.astype(np.int64), iy.astype(np.int64)
    a = _hash01(ix, iy, seed=seed)
    b = _hash01(ix + 1, iy, seed=seed)
    c = _hash01(ix, iy + 1, seed=seed)
    d = _hash01(ix + 1, iy + 1, seed=seed)
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _noise_image(
    h: int, w: int, px_per_m: float, seed: int, cells=((2.5, 0.5), (0.6, 0.3), (0.12, 0.2))
) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) / px_per_m
    out = np.zeros((h, w))
    for k, (cell, weight) in enumerate(cells):
        out += weight * (_value_noise(xs, ys, cell, seed + 17 * k) - 0.5)
    return out


@dataclass
class WorldTextures:
    """Texture images of every surface of a world (drawn once, shared by all cameras).

    Attributes:
        floor: (Hf, Wf, 3) uint8 albedo of the floor, ``FLOOR_PX_PER_M`` px per metre, row 0 at
            y = 0.
        walls: four (Hw, Ww, 3) albedo images (south, north, west, east), row 0 at the top.
        boxes: per box, five face images (-x, +x, -y, +y, top).
        ceiling_bgr: ceiling colour; light: the light field.
        ao: (ny, nx) contact-shadow factor on the floor at the walking-grid resolution.
    """

    floor: np.ndarray
    walls: list[np.ndarray]
    boxes: list[list[np.ndarray]]
    ceiling_bgr: np.ndarray
    light: LightField
    ao: np.ndarray
    ao_cell_m: float

    @staticmethod
    def build(world: World, lighting: LightingConfig) -> WorldTextures:
        """Draw every texture of ``world`` (deterministic from its box seeds)."""
        light = LightField.from_config(world.size_m, lighting)
        floor = _floor_texture(world)
        walls = [_wall_texture(world, side) for side in range(4)]
        boxes = [_box_textures(world, b) for b in range(world.n_boxes)]
        ao = 1.0 - 0.42 * np.exp(-np.maximum(world.nav.clearance_m, 0.0) / 0.3)
        ceiling = np.array(
            [58, 60, 64] if world.style == "warehouse" else [205, 205, 200], dtype=np.float64
        )
        return WorldTextures(
            floor, walls, boxes, ceiling, light, ao.astype(np.float32), world.nav.cell_m
        )


# ------------------------------------------------------------------------------------------
# texture drawing


def _px(v_m: float, ppm: float) -> int:
    return int(round(v_m * ppm))


def _floor_texture(world: World) -> np.ndarray:
    w, d = world.size_m
    ppm = FLOOR_PX_PER_M
    W, H = _px(w, ppm), _px(d, ppm)
    seed = int(world.box_seed.sum() % 100000) if world.n_boxes else 7
    # smooth noise is computed at a quarter of the resolution and scaled up (fast, same look)
    lo_ppm = ppm / 4
    lh, lw = _px(d, lo_ppm) + 1, _px(w, lo_ppm) + 1
    noise = cv2.resize(_noise_image(lh, lw, lo_ppm, seed), (W, H), interpolation=cv2.INTER_CUBIC)
    if world.style == "retail":
        base = np.array([196, 200, 204], dtype=np.float64)
        tile = 0.6
        tint_tiles = (
            _hash01(*np.mgrid[0 : int(d / tile) + 2, 0 : int(w / tile) + 2][::-1], seed=seed) - 0.5
        )
        rows = (np.arange(H) / ppm / tile).astype(int)
        cols = (np.arange(W) / ppm / tile).astype(int)
        tint = tint_tiles[rows[:, None], cols[None, :]]
        img = base[None, None] * (1 + 0.05 * tint[..., None] + 0.12 * noise[..., None])
        t_px = tile * ppm
        grout_c = np.abs(((np.arange(W) + t_px / 2) % t_px) - t_px / 2) < 0.006 * ppm + 0.5
        grout_r = np.abs(((np.arange(H) + t_px / 2) % t_px) - t_px / 2) < 0.006 * ppm + 0.5
        img[grout_r] *= 0.72
        img[:, grout_c] *= 0.72
    else:
        base = np.array([126, 130, 133], dtype=np.float64)
        ys, xs = np.mgrid[0:lh, 0:lw] / lo_ppm
        stains = cv2.resize(
            _value_noise(xs, ys, 4.0, seed + 5), (W, H), interpolation=cv2.INTER_CUBIC
        )
        img = base[None, None] * (
            1 + 0.35 * noise[..., None] - 0.54 * np.clip(stains - 0.55, 0, 1)[..., None]
        )
    img = np.clip(img, 0, 255).astype(np.uint8)
    if world.style == "warehouse":
        for k in range(1, int(w // 6) + 1):  # slab joints every 6 m
            cv2.line(img, (_px(6 * k, ppm), 0), (_px(6 * k, ppm), H), (88, 90, 92), 2)
        for k in range(1, int(d // 6) + 1):
            cv2.line(img, (0, _px(6 * k, ppm)), (W, _px(6 * k, ppm)), (88, 90, 92), 2)
        yellow = (30, 190, 225)
        for lo, hi, kind in zip(world.box_min, world.box_max, world.box_kind, strict=True):
            if kind not in (RACK, PALLET):
                continue
            m = 0.3 if kind == RACK else 0.2
            cv2.rectangle(
                img,
                (_px(lo[0] - m, ppm), _px(lo[1] - m, ppm)),
                (_px(hi[0] + m, ppm), _px(hi[1] + m, ppm)),
                yellow,
                max(2, _px(0.08, ppm)),
            )
        for door in world.doors:  # hatched keep-clear zone in front of doors
            c = door.point(world.size_m, 0.9)
            half = door.width_m / 2
            along = (
                np.array([1.0, 0.0]) if door.side in ("south", "north") else np.array([0.0, 1.0])
            )
            inward = np.array([-along[1], along[0]])
            corners = np.array(
                [
                    c - along * half - inward * 0.8,
                    c + along * half - inward * 0.8,
                    c + along * half + inward * 0.8,
                    c - along * half + inward * 0.8,
                ]
            )
            zone = np.zeros((H, W), np.uint8)
            cv2.fillConvexPoly(zone, np.round(corners * ppm).astype(np.int32), 1)
            ys, xs = np.nonzero(zone)
            stripe = ((xs + ys) // _px(0.25, ppm)) % 2 == 0
            img[ys[stripe], xs[stripe]] = (30, 200, 235)
            img[ys[~stripe], xs[~stripe]] = (40, 40, 40)
    else:
        for door in world.doors:  # entrance mats
            c = door.point(world.size_m, 1.0)
            half = door.width_m / 2 + 0.3
            if door.side in ("south", "north"):
                p0, p1 = (c[0] - half, c[1] - 0.9), (c[0] + half, c[1] + 0.9)
            else:
                p0, p1 = (c[0] - 0.9, c[1] - half), (c[0] + 0.9, c[1] + half)
            cv2.rectangle(
                img,
                (_px(p0[0], ppm), _px(p0[1], ppm)),
                (_px(p1[0], ppm), _px(p1[1], ppm)),
                (60, 58, 56),
                -1,
            )
    return img


def _wall_texture(world: World, side: int) -> np.ndarray:
    w, d = world.size_m
    length = w if side < 2 else d
    height = world.wall_height_m
    ppm = FACE_PX_PER_M
    W, H = _px(length, ppm), _px(height, ppm)
    rng = np.random.default_rng(1000 + side)
    retail = world.style == "retail"
    if retail:
        img = np.empty((H, W, 3), np.uint8)
        img[:] = (215, 222, 228)
        band = _px(height - 2.6, ppm)
        img[band - _px(0.35, ppm) : band, :] = (60, 60, 170) if side % 2 else (150, 90, 40)
        img[_px(height - 0.12, ppm) :, :] = (120, 120, 125)
    else:
        x = np.arange(W) / ppm
        rib = 0.9 + 0.1 * np.cos(2 * math.pi * x / 0.25)
        img = np.empty((H, W, 3), np.uint8)
        img[:] = (np.array([170, 168, 160])[None, :] * rib[:, None]).astype(np.uint8)[None]
        img[_px(height - 1.0, ppm) :, :] = (120, 122, 124)  # concrete kerb
        if side == 3:  # windows along the bright wall
            for x0 in np.arange(1.0, length - 2.0, 3.0):
                cv2.rectangle(
                    img,
                    (_px(x0, ppm), _px(height - 5.6, ppm)),
                    (_px(x0 + 2.2, ppm), _px(height - 4.4, ppm)),
                    (245, 240, 225),
                    -1,
                )
    names = ("south", "north", "west", "east")
    for door in world.doors:
        if door.side != names[side]:
            continue
        x0, x1 = door.center_m - door.width_m / 2, door.center_m + door.width_m / 2
        top = height - door.height_m
        p0, p1 = (_px(x0, ppm), _px(top, ppm)), (_px(x1, ppm), H)
        if retail:
            cv2.rectangle(img, p0, p1, (150, 140, 120), -1)  # glass
            cv2.rectangle(img, p0, p1, (90, 90, 95), _px(0.08, ppm))
            cv2.line(
                img,
                (_px(door.center_m, ppm), p0[1]),
                (_px(door.center_m, ppm), H),
                (90, 90, 95),
                _px(0.06, ppm),
            )
        else:
            cv2.rectangle(img, p0, p1, (112, 116, 118), -1)  # roll-up door slats
            for y in range(p0[1], H, max(2, _px(0.12, ppm))):
                cv2.line(img, (p0[0], y), (p1[0], y), (92, 95, 97), 1)
            t = _px(0.15, ppm)
            for k, (a, b) in enumerate(((x0 - 0.15, x0), (x1, x1 + 0.15))):
                for y in range(p0[1] - t, H, t):
                    color = (30, 200, 235) if ((y // t) + k) % 2 else (30, 30, 30)
                    cv2.rectangle(img, (_px(a, ppm), y), (_px(b, ppm), y + t), color, -1)
        # green exit sign above the door
        sx = _px(door.center_m, ppm)
        sy = _px(top - 0.35, ppm)
        cv2.rectangle(
            img,
            (sx - _px(0.25, ppm), sy - _px(0.1, ppm)),
            (sx + _px(0.25, ppm), sy + _px(0.1, ppm)),
            (60, 170, 40),
            -1,
        )
    # fire extinguisher boxes and signs
    for x0 in rng.uniform(1.0, length - 1.0, size=max(1, int(length // 10))):
        y0 = height - 1.6
        cv2.rectangle(
            img,
            (_px(x0, ppm), _px(y0, ppm)),
            (_px(x0 + 0.3, ppm), _px(y0 + 0.55, ppm)),
            (40, 40, 190),
            -1,
        )
    return img


def _box_textures(world: World, b: int) -> list[np.ndarray]:
    lo, hi = world.box_min[b], world.box_max[b]
    kind = int(world.box_kind[b])
    rng = np.random.default_rng(int(world.box_seed[b]))
    sx, sy, sz = hi - lo
    ppm = FACE_PX_PER_M
    if kind == RACK:
        long_faces = _rack_face(sx, sz, rng, ppm), _rack_face(sx, sz, rng, ppm)
        end = _rack_end(sy, sz, rng, ppm)
        top = _cartons_top(sx, sy, rng, ppm)
        return [end, end[:, ::-1].copy(), long_faces[0], long_faces[1], top]
    if kind == GONDOLA:
        return [
            _gondola_end(sy, sz, rng, ppm),
            _gondola_end(sy, sz, rng, ppm),
            _gondola_face(sx, sz, rng, ppm),
            _gondola_face(sx, sz, rng, ppm),
            _plain(sx, sy, (215, 215, 212), ppm),
        ]
    if kind == PALLET:
        if world.style == "retail":
            faces = [_table_side(s, sz, rng, ppm) for s in (sy, sy, sx, sx)]
            return [*faces, _products_top(sx, sy, rng, ppm)]
        faces = [_pallet_side(s, sz, rng, ppm) for s in (sy, sy, sx, sx)]
        return [*faces, _cartons_top(sx, sy, rng, ppm)]
    if kind == COUNTER:
        side = _plain(max(sx, sy), sz, (62, 62, 68), ppm)
        side[: _px(0.08, ppm)] = (170, 170, 175)
        return [side, side, side, side, _plain(sx, sy, (180, 182, 185), ppm)]
    raise ValueError(f"unknown box kind {kind}")


def _plain(width_m: float, height_m: float, color, ppm: float) -> np.ndarray:
    img = np.empty((max(2, _px(height_m, ppm)), max(2, _px(width_m, ppm)), 3), np.uint8)
    img[:] = color
    return img


CARTONS = [
    (70, 118, 165),
    (80, 128, 175),
    (60, 105, 150),
    (95, 140, 185),
    (200, 200, 200),
    (150, 110, 60),
    (60, 60, 150),
]


def _carton_stack(
    img: np.ndarray,
    x0: int,
    x1: int,
    y_bottom: int,
    y_top: int,
    rng: np.random.Generator,
    ppm: float,
) -> None:
    """Cartons on a pallet between pixel columns x0..x1, from y_bottom up to y_top."""
    pallet_h = _px(0.14, ppm)
    cv2.rectangle(img, (x0, y_bottom - pallet_h), (x1, y_bottom), (105, 150, 180), -1)
    for gx in np.linspace(x0, x1, 4)[1:-1]:
        cv2.rectangle(
            img, (int(gx) - 2, y_bottom - pallet_h + 3), (int(gx) + 2, y_bottom), (45, 50, 55), -1
        )
    color = np.array(CARTONS[int(rng.integers(len(CARTONS)))], dtype=np.float64)
    top = y_bottom - pallet_h
    cw = max(6, _px(float(rng.uniform(0.3, 0.6)), ppm))
    ch = max(6, _px(float(rng.uniform(0.22, 0.36)), ppm))
    y = top
    while y - ch >= y_top:
        x = x0 + (int(rng.integers(0, cw // 2 + 1)) if rng.random() < 0.5 else 0)
        while x < x1 - 3:
            c = color * float(rng.uniform(0.85, 1.12))
            cv2.rectangle(
                img,
                (x, y - ch),
                (min(x + cw, x1), y),
                tuple(float(v) for v in np.clip(c, 0, 255)),
                -1,
            )
            cv2.rectangle(
                img, (x, y - ch), (min(x + cw, x1), y), tuple(float(v) * 0.6 for v in c), 1
            )
            if rng.random() < 0.4:  # shipping label
                lx = x + cw // 3
                cv2.rectangle(
                    img,
                    (lx, y - ch // 2 - 3),
                    (min(lx + cw // 4, x1), y - ch // 2 + 3),
                    (235, 235, 235),
                    -1,
                )
            x += cw
        y -= ch


def _rack_face(
    length_m: float, height_m: float, rng: np.random.Generator, ppm: float
) -> np.ndarray:
    img = _plain(length_m, height_m, (44, 50, 58), ppm)
    H, W = img.shape[:2]
    bay = float(rng.uniform(2.4, 2.8))
    n_bays = max(1, round(length_m / bay))
    bay_px = W / n_bays
    level_h = float(rng.uniform(1.2, 1.6))
    levels = [0.0]
    while levels[-1] + level_h < height_m - 0.3:
        levels.append(levels[-1] + level_h)
    beam = _px(0.1, ppm)
    for i in range(n_bays):
        bx0 = int(i * bay_px)
        for k, z in enumerate(levels):
            z_top = levels[k + 1] if k + 1 < len(levels) else height_m
            if rng.random() < 0.1:
                continue  # empty slot
            y_bottom = H - _px(z, ppm) - (beam if k else 0)
            fill = float(rng.uniform(0.7, 0.93))
            y_top = H - _px(z + fill * (z_top - z), ppm)
            for a, b in ((0.04, 0.49), (0.51, 0.96)) if rng.random() < 0.7 else ((0.05, 0.95),):
                _carton_stack(
                    img, bx0 + int(a * bay_px), bx0 + int(b * bay_px), y_bottom, y_top, rng, ppm
                )
    for z in levels[1:]:
        y = H - _px(z, ppm)
        cv2.rectangle(img, (0, y - beam), (W, y), (30, 105, 230), -1)
        cv2.line(img, (0, y), (W, y), (20, 60, 140), 1)
    post = max(2, _px(0.08, ppm))
    for i in range(n_bays + 1):
        x = int(min(W - post, i * bay_px - post / 2 if i else 0))
        cv2.rectangle(img, (max(0, x), 0), (max(0, x) + post, H), (150, 80, 25), -1)
        for y in range(0, H, max(4, _px(0.05, ppm))):  # perforations in the uprights
            cv2.line(
                img, (max(0, x) + post // 2, y), (max(0, x) + post // 2, y + 1), (90, 50, 15), 1
            )
    return img


def _rack_end(depth_m: float, height_m: float, rng: np.random.Generator, ppm: float) -> np.ndarray:
    img = _plain(depth_m, height_m, (50, 52, 56), ppm)
    H, W = img.shape[:2]
    post = max(2, _px(0.08, ppm))
    blue = (150, 80, 25)
    for x in (0, W // 2 - post // 2, W - post):
        cv2.rectangle(img, (x, 0), (x + post, H), blue, -1)
    step = _px(0.6, ppm)
    for k, y in enumerate(range(H, 0, -step)):
        cv2.line(img, (0, y), (W, y), blue, max(1, post // 3))
        a, b = (0, W) if k % 2 else (W, 0)
        cv2.line(img, (a, y), (b, max(0, y - step)), blue, max(1, post // 3))
    if rng.random() < 0.5:  # aisle number sign
        cv2.rectangle(
            img, (W // 4, _px(0.3, ppm)), (3 * W // 4, _px(0.7, ppm)), (230, 230, 230), -1
        )
        cv2.rectangle(
            img, (W // 4 + 4, _px(0.38, ppm)), (3 * W // 4 - 4, _px(0.62, ppm)), (150, 60, 20), -1
        )
    return img


def _cartons_top(sx: float, sy: float, rng: np.random.Generator, ppm: float) -> np.ndarray:
    img = _plain(sx, sy, (60, 90, 120), ppm)
    H, W = img.shape[:2]
    step = max(4, _px(0.5, ppm))
    for y in range(0, H, step):
        for x in range(0, W, step):
            c = np.array(CARTONS[int(rng.integers(4))]) * float(rng.uniform(0.8, 1.1))
            cv2.rectangle(
                img, (x + 1, y + 1), (x + step - 2, y + step - 2), tuple(float(v) for v in c), -1
            )
    return img


PRODUCTS = [
    (40, 40, 200),
    (30, 200, 240),
    (200, 120, 30),
    (60, 160, 60),
    (240, 240, 240),
    (30, 120, 240),
    (150, 60, 140),
    (20, 20, 20),
    (180, 200, 60),
    (90, 90, 220),
]


def _gondola_face(
    length_m: float, height_m: float, rng: np.random.Generator, ppm: float
) -> np.ndarray:
    img = _plain(length_m, height_m, (190, 192, 195), ppm)
    H, W = img.shape[:2]
    kick = _px(0.12, ppm)
    img[H - kick :] = (70, 70, 75)
    gap = float(rng.uniform(0.35, 0.45))
    z = 0.12
    while z + gap <= height_m + 0.05:
        y_shelf = H - _px(z, ppm)
        x = 0
        while x < W:
            pw = max(3, _px(float(rng.uniform(0.06, 0.2)), ppm))
            run = int(rng.integers(2, 7))
            color = np.array(PRODUCTS[int(rng.integers(len(PRODUCTS)))], dtype=np.float64)
            ph = _px(float(rng.uniform(0.55, 0.88)) * gap, ppm)
            for _ in range(run):
                if x >= W:
                    break
                cv2.rectangle(
                    img,
                    (x, y_shelf - ph),
                    (min(W, x + pw - 1), y_shelf),
                    tuple(float(v) for v in color),
                    -1,
                )
                cv2.rectangle(
                    img,
                    (x + 1, y_shelf - ph * 2 // 3),
                    (min(W, x + pw - 2), y_shelf - ph // 3),
                    tuple(float(v) for v in np.clip(color * 0.6 + 100, 0, 255)),
                    -1,
                )
                x += pw
            x += int(rng.integers(0, 3))
        cv2.rectangle(img, (0, y_shelf), (W, y_shelf + max(2, _px(0.04, ppm))), (225, 228, 230), -1)
        z += gap
    img[: max(2, _px(0.05, ppm))] = (205, 208, 210)
    return img


def _gondola_end(
    depth_m: float, height_m: float, rng: np.random.Generator, ppm: float
) -> np.ndarray:
    img = _gondola_face(depth_m, height_m, rng, ppm)
    color = [(40, 40, 200), (30, 190, 240), (180, 90, 30)][int(rng.integers(3))]
    img[: _px(0.3, ppm)] = color
    return img


def _pallet_side(
    width_m: float, height_m: float, rng: np.random.Generator, ppm: float
) -> np.ndarray:
    img = _plain(width_m, height_m, (45, 45, 48), ppm)
    H, W = img.shape[:2]
    _carton_stack(img, 0, W - 1, H - 1, 0, rng, ppm)
    if rng.random() < 0.4:  # shrink wrap
        img[: H - _px(0.14, ppm)] = (0.55 * img[: H - _px(0.14, ppm)] + 0.45 * 205).astype(np.uint8)
    return img


def _table_side(
    width_m: float, height_m: float, rng: np.random.Generator, ppm: float
) -> np.ndarray:
    img = _plain(width_m, height_m, (80, 115, 150), ppm)
    img[: _px(0.06, ppm)] = (60, 90, 120)
    return img


def _products_top(sx: float, sy: float, rng: np.random.Generator, ppm: float) -> np.ndarray:
    img = _plain(sx, sy, (90, 125, 160), ppm)
    H, W = img.shape[:2]
    step = max(3, _px(0.15, ppm))
    for y in range(2, H - step, step):
        for x in range(2, W - step, step):
            c = PRODUCTS[int(rng.integers(len(PRODUCTS)))]
            cv2.rectangle(img, (x, y), (x + step - 2, y + step - 2), c, -1)
    return img


# ------------------------------------------------------------------------------------------
# ray casting


@dataclass
class StaticView:
    """One camera's view of the static scene.

    Attributes:
        color_bgr: (H, W, 3) uint8 lit colour at video resolution (before camera effects).
        depth_m: (H * s, W * s) float32 camera-z depth at the supersampled resolution.
        floor: (H, W) bool, pixels showing the floor.
        floor_ss: (H * s, W * s) bool, the same at the supersampled resolution.
        supersample: s.
    """

    color_bgr: np.ndarray
    depth_m: np.ndarray
    floor: np.ndarray
    floor_ss: np.ndarray
    supersample: int


def _sample_nearest(tex: np.ndarray, u_m: np.ndarray, v_m: np.ndarray, ppm: float) -> np.ndarray:
    """Texture colours (N, 3) at texture coordinates in metres (u right, v down)."""
    h, w = tex.shape[:2]
    col = np.clip((u_m * ppm).astype(np.int64), 0, w - 1)
    row = np.clip((v_m * ppm).astype(np.int64), 0, h - 1)
    return tex[row, col]


def _bilinear(img: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Bilinear lookup of a 2-D array at fractional (row, col) positions, clamped at the edges."""
    h, w = img.shape
    i = np.clip(i, 0, h - 1)
    j = np.clip(j, 0, w - 1)
    i0 = np.minimum(np.floor(i).astype(np.int64), h - 2) if h > 1 else np.zeros(len(i), np.int64)
    j0 = np.minimum(np.floor(j).astype(np.int64), w - 2) if w > 1 else np.zeros(len(j), np.int64)
    fi, fj = i - i0, j - j0
    i1, j1 = np.minimum(i0 + 1, h - 1), np.minimum(j0 + 1, w - 1)
    top = img[i0, j0] * (1 - fj) + img[i0, j1] * fj
    bottom = img[i1, j0] * (1 - fj) + img[i1, j1] * fj
    return top * (1 - fi) + bottom * fi


def render_static(
    world: World,
    textures: WorldTextures,
    cam: PinholeCamera,
    supersample: int = 2,
    rows_per_chunk: int = 192,
) -> StaticView:
    """Ray-cast the static scene for ``cam`` (no distortion: simulated lenses have none)."""
    w, h = cam.image_size_wh
    s = supersample
    W, H = w * s, h * s
    K_inv = np.linalg.inv(cam.K)
    R = cam.R_world_to_cam
    C = cam.center_m
    depth = np.empty((H, W), np.float32)
    color = np.empty((H, W, 3), np.float32)
    floor = np.zeros((H, W), bool)
    rects = _box_rects(world, cam, s)
    u = (np.arange(W) + 0.5) / s - 0.5
    for r0 in range(0, H, rows_per_chunk):
        r1 = min(H, r0 + rows_per_chunk)
        v = (np.arange(r0, r1) + 0.5) / s - 0.5
        uu, vv = np.meshgrid(u, v)
        d_cam = np.stack([uu, vv, np.ones_like(uu)], axis=-1) @ K_inv.T  # z_cam = 1
        d = d_cam @ R  # world directions with unit camera depth
        t, surf = _room_hit(world, C, d)
        for b, (br0, br1, bc0, bc1) in enumerate(rects):
            a0, a1 = max(r0, br0), min(r1, br1)
            if a0 >= a1 or bc0 >= bc1:
                continue
            sub = (slice(a0 - r0, a1 - r0), slice(bc0, bc1))
            tb, face = _box_hit(C, d[sub], world.box_min[b], world.box_max[b])
            closer = tb < t[sub]
            t[sub] = np.where(closer, tb, t[sub])
            surf[sub] = np.where(closer, 10 + 5 * b + face, surf[sub])
        P = C + d * t[..., None]
        color[r0:r1] = _shade(world, textures, P, surf)
        depth[r0:r1] = t
        floor[r0:r1] = surf == FLOOR
    color_1x = cv2.resize(color, (w, h), interpolation=cv2.INTER_AREA) if s > 1 else color
    floor_1x = (
        cv2.resize(floor.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0.5
        if s > 1
        else floor
    )
    return StaticView(np.clip(color_1x + 0.5, 0, 255).astype(np.uint8), depth, floor_1x, floor, s)


def _box_rects(world: World, cam: PinholeCamera, s: int) -> list[tuple[int, int, int, int]]:
    """Supersampled pixel rectangles (r0, r1, c0, c1) that may show each box."""
    w, h = cam.image_size_wh
    rects = []
    for lo, hi in zip(world.box_min, world.box_max, strict=True):
        corners = np.array(
            [[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
        )
        z_cam = corners @ cam.R_world_to_cam[2] + cam.t_world_to_cam_m[2]
        if (z_cam <= 1e-3).any():
            rects.append((0, h * s, 0, w * s))
            continue
        uv = cam.project(corners)
        c0 = int(np.floor((uv[:, 0].min() + 0.5) * s)) - 1
        c1 = int(np.ceil((uv[:, 0].max() + 0.5) * s)) + 1
        r0 = int(np.floor((uv[:, 1].min() + 0.5) * s)) - 1
        r1 = int(np.ceil((uv[:, 1].max() + 0.5) * s)) + 1
        rects.append((max(0, r0), min(h * s, r1), max(0, c0), min(w * s, c1)))
    return rects


def _room_hit(world: World, C: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exit distance through the room box and which surface: floor, ceiling or a wall."""
    w, dd = world.size_m
    bounds_lo = np.array([0.0, 0.0, 0.0])
    bounds_hi = np.array([w, dd, world.wall_height_m])
    with np.errstate(divide="ignore", invalid="ignore"):
        t_axes = np.where(d > 0, (bounds_hi - C) / d, np.where(d < 0, (bounds_lo - C) / d, np.inf))
    axis = np.argmin(t_axes, axis=-1)
    t = np.take_along_axis(t_axes, axis[..., None], axis=-1)[..., 0]
    positive = np.take_along_axis(d, axis[..., None], axis=-1)[..., 0] > 0
    surf = np.select(
        [axis == 2, axis == 1, axis == 0],
        [np.where(positive, CEILING, FLOOR), np.where(positive, 3, 2), np.where(positive, 5, 4)],
    )
    return t.astype(np.float32), surf.astype(np.int64)


def _box_hit(
    C: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Entry distance into an axis-aligned box (inf on a miss) and the face hit (0..4)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1 = (lo - C) * inv
        t2 = (hi - C) * inv
    tmin = np.minimum(t1, t2)
    tmax = np.maximum(t1, t2)
    tmin = np.where(np.isnan(tmin), -np.inf, tmin)
    tmax = np.where(np.isnan(tmax), np.inf, tmax)
    axis = np.argmax(tmin, axis=-1)
    t_near = np.take_along_axis(tmin, axis[..., None], axis=-1)[..., 0]
    t_far = tmax.min(axis=-1)
    hit = (t_near <= t_far) & (t_near > 0)
    d_axis = np.take_along_axis(d, axis[..., None], axis=-1)[..., 0]
    # entering through the face facing the ray: -x face when moving +x, etc.; z: only the top
    face = np.where(axis == 2, 4, 2 * axis + (d_axis < 0))
    return np.where(hit, t_near, np.inf).astype(np.float32), face.astype(np.int64)


def _shade(world: World, tex: WorldTextures, P: np.ndarray, surf: np.ndarray) -> np.ndarray:
    """Lit colour (..., 3) float32 of the surface points ``P`` (..., 3)."""
    shape = surf.shape
    P = P.reshape(-1, 3)
    surf = surf.reshape(-1)
    out = np.zeros((len(surf), 3), np.float64)
    light = tex.light.at(P[:, :2])
    w, d = world.size_m
    wh = world.wall_height_m
    # floor
    m = surf == FLOOR
    if m.any():
        x, y = P[m, 0], P[m, 1]
        c = _sample_nearest(tex.floor, x, y, FLOOR_PX_PER_M).astype(np.float64)
        c *= (0.93 + 0.14 * _value_noise(x, y, 0.05, 3))[:, None]
        ao = _bilinear(tex.ao, y / tex.ao_cell_m - 0.5, x / tex.ao_cell_m - 0.5)
        out[m] = c * (light[m] * ao)[:, None]
    m = surf == CEILING
    if m.any():
        lamp = np.zeros(int(m.sum()), bool)
        for lx, ly in tex.light.lamps_m:
            lamp |= (np.abs(P[m, 0] - lx) < 0.8) & (np.abs(P[m, 1] - ly) < 0.2)
        out[m] = np.where(lamp[:, None], np.array([250.0, 252, 255]), tex.ceiling_bgr * 0.8)
    for side in range(4):
        m = surf == 2 + side
        if not m.any():
            continue
        along = P[m, 0] if side < 2 else P[m, 1]
        c = _sample_nearest(tex.walls[side], along, wh - P[m, 2], FACE_PX_PER_M).astype(np.float64)
        lift = 0.8 + 0.2 * np.clip(P[m, 2] / 3.0, 0, 1)
        out[m] = c * (light[m] * WALL_SHADE[side] * lift)[:, None]
    boxes = surf >= 10
    if boxes.any():
        idx = np.flatnonzero(boxes)
        keys = surf[idx] - 10
        order = np.argsort(keys, kind="stable")
        idx, keys = idx[order], keys[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        ends = np.r_[starts[1:], len(keys)]
        for a, b in zip(starts, ends, strict=True):
            key = int(keys[a])
            box, face = divmod(key, 5)
            sel = idx[a:b]
            lo, hi = world.box_min[box], world.box_max[box]
            p = P[sel]
            if face == 4:
                u, v = p[:, 0] - lo[0], p[:, 1] - lo[1]
            elif face < 2:
                u, v = p[:, 1] - lo[1], hi[2] - p[:, 2]
            else:
                u, v = p[:, 0] - lo[0], hi[2] - p[:, 2]
            c = _sample_nearest(tex.boxes[box][face], u, v, FACE_PX_PER_M).astype(np.float64)
            base = 1.0 if face == 4 else 0.72 + 0.28 * np.clip(p[:, 2] / 0.6, 0, 1)
            out[sel] = c * (light[sel] * FACE_SHADE[face] * base)[:, None]
    return out.reshape(*shape, 3).astype(np.float32)
