"""Drawing primitives for bird's-eye maps and camera frames (OpenCV, BGR, in place).

People are drawn in their id's colour (:mod:`mtmc.viz.palette`) everywhere: discs on the map,
trails, boxes in the camera tiles. Cameras get a colour of their own from a short fixed list, used
for both their field of view on the map and their tile's border.

Example::

    img = fmap.image.copy()
    draw_cameras(img, fmap, {"cam1": cam}, max_range_m=20.0)
    draw_trails(img, fmap, {7: np.array([[0, 0], [0.5, 0.1], [1.0, 0.3]])})
    draw_discs(img, fmap, np.array([7]), np.array([[1.0, 0.3]]), radius_px=8)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from calib import Camera
from mtmc.viz.floormap import FloorMap, camera_floor_xy_m
from mtmc.viz.palette import id_colors_bgr

__all__ = [
    "CAMERA_COLORS_BGR",
    "TileLayout",
    "camera_color_bgr",
    "draw_boxes",
    "draw_cameras",
    "draw_discs",
    "draw_gt_markers",
    "draw_trails",
    "put_text",
    "tile_frames",
    "tile_layout",
]

CAMERA_COLORS_BGR = ((230, 216, 173), (180, 229, 255), (221, 160, 221), (152, 251, 152),
                     (203, 192, 255), (255, 255, 224), (170, 178, 32), (128, 128, 240))
GT_MARKER_BGR = (255, 255, 255)
FOV_FILL_ALPHA = 0.12
TRAIL_FADE_LEVELS = 4  # a trail is drawn in this many steps of transparency, oldest faintest
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def camera_color_bgr(index: int) -> tuple[int, int, int]:
    """Colour of the camera at position ``index`` in ``cams.yaml`` (cycles after 8)."""
    return CAMERA_COLORS_BGR[index % len(CAMERA_COLORS_BGR)]


def put_text(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    color: tuple[int, int, int] = (255, 255, 255),
    scale: float = 0.45,
    center: bool = False,
) -> None:
    """Text with a dark outline (readable on any background); ``center`` centres it on ``org``."""
    (tw, th), _ = cv2.getTextSize(text, _FONT, scale, 1)
    x, y = org
    if center:
        x, y = x - tw // 2, y + th // 2
    cv2.putText(img, text, (x, y), _FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), _FONT, scale, color, 1, cv2.LINE_AA)


def _int_px(pts_px: np.ndarray) -> np.ndarray:
    return np.round(np.clip(pts_px, -1e5, 1e5)).astype(np.int32)


def draw_cameras(
    img: np.ndarray,
    fmap: FloorMap,
    cameras: Mapping[str, Camera],
    max_range_m: float = 20.0,
) -> None:
    """Each camera's field of view (a translucent polygon, outlined) and its position (a dot with
    the camera id), in the camera's colour. ``cameras`` in ``cams.yaml`` order."""
    overlay = img.copy()
    outlines = []
    for k, cam in enumerate(cameras.values()):
        colour = camera_color_bgr(k)
        fov = cam.fov_polygon(max_range_m)
        if fov.is_empty:
            continue
        pts = _int_px(fmap.to_px(np.asarray(fov.exterior.coords)))
        cv2.fillPoly(overlay, [pts], colour)
        outlines.append((pts, colour))
    cv2.addWeighted(overlay, FOV_FILL_ALPHA, img, 1.0 - FOV_FILL_ALPHA, 0, dst=img)
    for pts, colour in outlines:
        cv2.polylines(img, [pts], True, colour, 1, cv2.LINE_AA)
    for k, (cid, cam) in enumerate(cameras.items()):
        colour = camera_color_bgr(k)
        u, v = _int_px(fmap.to_px(camera_floor_xy_m(cam)))[0]
        cv2.circle(img, (int(u), int(v)), 5, colour, -1, cv2.LINE_AA)
        cv2.circle(img, (int(u), int(v)), 5, (0, 0, 0), 1, cv2.LINE_AA)
        put_text(img, cid, (int(u) + 7, int(v) - 5), colour, 0.4)


def draw_trails(
    img: np.ndarray,
    fmap: FloorMap,
    trails: Mapping[int, np.ndarray],
    thickness: int = 2,
) -> None:
    """Fading trails: ``trails[id]`` is an (L, 2) floor polyline in metres, oldest point first.

    The polyline is cut into ``TRAIL_FADE_LEVELS`` pieces by age; the oldest piece is blended
    at 1/levels opacity, the newest at full opacity.
    """
    if not trails:
        return
    levels = TRAIL_FADE_LEVELS
    ids = [tid for tid, xy in trails.items() if len(xy) >= 2]
    if not ids:
        return
    colours = [tuple(int(c) for c in row) for row in id_colors_bgr(ids)]
    lengths = [len(trails[tid]) for tid in ids]
    pts_all = _int_px(fmap.to_px(np.concatenate([trails[tid] for tid in ids])))
    pts = np.split(pts_all, np.cumsum(lengths)[:-1])
    for level in range(levels):
        overlay = img.copy()
        drawn = False
        for p, n, colour in zip(pts, lengths, colours, strict=True):
            # segment j joins points j and j + 1; its age level by position along the trail
            lo = (level * (n - 1)) // levels
            hi = ((level + 1) * (n - 1)) // levels
            if hi <= lo:
                continue
            cv2.polylines(overlay, [p[lo : hi + 1]], False, colour, thickness, cv2.LINE_AA)
            drawn = True
        if drawn:
            alpha = (level + 1) / levels
            cv2.addWeighted(overlay, alpha, img, 1.0 - alpha, 0, dst=img)


def draw_discs(
    img: np.ndarray,
    fmap: FloorMap,
    ids: np.ndarray,
    xy_m: np.ndarray,
    radius_px: int = 9,
) -> None:
    """A filled disc in each id's colour with the id number on it (black or white, whichever
    contrasts more with the disc)."""
    if len(ids) == 0:
        return
    pts = _int_px(fmap.to_px(xy_m))
    colours = id_colors_bgr(ids)
    # Rec. 601 luma of the BGR colour decides the text colour
    luma = colours.astype(np.float64) @ np.array([0.114, 0.587, 0.299])
    scale = max(0.3, radius_px / 22.0)
    for (u, v), tid, colour, y in zip(pts, ids, colours, luma, strict=True):
        c = tuple(int(x) for x in colour)
        cv2.circle(img, (int(u), int(v)), radius_px, c, -1, cv2.LINE_AA)
        cv2.circle(img, (int(u), int(v)), radius_px, (0, 0, 0), 1, cv2.LINE_AA)
        text = str(int(tid))
        (tw, th), _ = cv2.getTextSize(text, _FONT, scale, 1)
        cv2.putText(img, text, (int(u) - tw // 2, int(v) + th // 2), _FONT, scale,
                    (0, 0, 0) if y > 140 else (255, 255, 255), 1, cv2.LINE_AA)


def draw_gt_markers(
    img: np.ndarray,
    fmap: FloorMap,
    ids: np.ndarray,
    xy_m: np.ndarray,
    radius_px: int = 11,
) -> None:
    """Ground truth as hollow white rings with a small ``g<id>`` label below-right."""
    if len(ids) == 0:
        return
    pts = _int_px(fmap.to_px(xy_m))
    for (u, v), gid in zip(pts, ids, strict=True):
        cv2.circle(img, (int(u), int(v)), radius_px, GT_MARKER_BGR, 1, cv2.LINE_AA)
        put_text(img, f"g{int(gid)}", (int(u) + radius_px - 2, int(v) + radius_px + 8),
                 GT_MARKER_BGR, 0.33)


def draw_boxes(
    img: np.ndarray,
    ids: np.ndarray,
    tlwh: np.ndarray,
    scale: float = 1.0,
    thickness: int = 2,
) -> None:
    """Boxes ``tlwh`` (K, 4) in source-image pixels, scaled by ``scale`` into ``img``, in their
    id's colour, with the id on a filled tag above the box."""
    if len(ids) == 0:
        return
    xyxy = np.asarray(tlwh, dtype=np.float64).reshape(-1, 4).copy() * scale
    xyxy[:, 2:] += xyxy[:, :2]
    xyxy = _int_px(xyxy)
    colours = id_colors_bgr(ids)
    for (x1, y1, x2, y2), tid, colour in zip(xyxy, ids, colours, strict=True):
        c = tuple(int(v) for v in colour)
        cv2.rectangle(img, (int(x1), int(y1)), (int(x2), int(y2)), c, thickness)
        text = str(int(tid))
        (tw, th), _ = cv2.getTextSize(text, _FONT, 0.4, 1)
        top = max(int(y1) - th - 4, 0)
        cv2.rectangle(img, (int(x1), top), (int(x1) + tw + 4, top + th + 4), c, -1)
        cv2.putText(img, text, (int(x1) + 2, top + th + 1), _FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)


class TileLayout:
    """Rows x cols grid of equally sized camera tiles (see :func:`tile_layout`)."""

    def __init__(self, rows: int, cols: int, tile_w: int, tile_h: int) -> None:
        self.rows, self.cols, self.tile_w, self.tile_h = rows, cols, tile_w, tile_h

    @property
    def size_wh(self) -> tuple[int, int]:
        return self.cols * self.tile_w, self.rows * self.tile_h

    def __repr__(self) -> str:
        return f"TileLayout(rows={self.rows}, cols={self.cols}, tile={self.tile_w}x{self.tile_h})"


def tile_layout(
    n_tiles: int,
    tile_aspect_wh: float,
    height_px: int,
    beside_width_px: int = 0,
    target_aspect_wh: float = 16 / 9,
    min_panel_frac: float = 0.75,
) -> TileLayout:
    """The grid of ``n_tiles`` camera tiles (1-16 or more) in a panel ``height_px`` tall beside
    something ``beside_width_px`` wide (the map), with the largest tiles that fit.

    The panel may be as wide as makes the whole frame ``target_aspect_wh`` wide, but at least
    ``min_panel_frac * height_px``. For each column count c (rows = ceil(n / c)) the tile width
    is the smaller of ``panel_width / c`` and ``(height / rows) * tile_aspect``; the widest tiles
    win, fewer columns on ties.

    Example (4 cameras beside a 720 x 720 map; the panel may be 1280 - 720 = 560 px wide)::

        tile_layout(4, 16 / 9, 720, beside_width_px=720)
        # 1 column: min(560, 180 * 16 / 9) = 320 px wide; 2 columns: min(560 / 2, 360 * 16 / 9)
        # = 280 px -> TileLayout(rows=4, cols=1, tile=320x180)
    """
    if n_tiles < 1:
        raise ValueError(f"tile_layout: need at least one tile, got {n_tiles}")
    if not tile_aspect_wh > 0 or height_px < 2:
        raise ValueError(f"tile_layout: bad tile aspect {tile_aspect_wh} or height {height_px}")
    panel_w = max(target_aspect_wh * height_px - beside_width_px, min_panel_frac * height_px)
    best: tuple[float, TileLayout] | None = None
    for cols in range(1, n_tiles + 1):
        rows = math.ceil(n_tiles / cols)
        tile_w = min(panel_w / cols, height_px / rows * tile_aspect_wh)
        if best is None or tile_w > best[0] + 1e-9:
            w = max(2, int(math.floor(tile_w)))
            h = min(height_px // rows, max(2, int(round(w / tile_aspect_wh))))
            best = (tile_w, TileLayout(rows, cols, w, h))
    assert best is not None
    return best[1]


def tile_frames(
    tiles: Sequence[np.ndarray],
    layout: TileLayout,
    height_px: int,
    border_bgr: Sequence[tuple[int, int, int]] | None = None,
) -> np.ndarray:
    """Place ``tiles`` (each already ``tile_h x tile_w``) in the layout's grid, row by row, on a
    black panel ``height_px`` tall; optional coloured 2 px borders per tile."""
    w, _ = layout.size_wh
    panel = np.zeros((height_px, w, 3), dtype=np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, layout.cols)
        y, x = r * layout.tile_h, c * layout.tile_w
        panel[y : y + layout.tile_h, x : x + layout.tile_w] = tile
        if border_bgr is not None:
            cv2.rectangle(panel, (x, y), (x + layout.tile_w - 1, y + layout.tile_h - 1),
                          border_bgr[k], 2)
    return panel
