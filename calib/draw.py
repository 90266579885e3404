"""Draw a camera's floor calibration over an image to check it by eye.

Example::

    img = cv2.imread("frame.jpg")
    draw_calibration(img, cam, step_m=1.0, max_range_m=30.0)   # draws in place, BGR
    cv2.imwrite("check.png", img)
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import shapely
from numpy.typing import ArrayLike
from shapely.geometry import LineString

from calib.camera import Camera

__all__ = ["blank_canvas", "draw_calibration", "draw_floor_polyline"]

GRID_BGR = (255, 255, 255)
FOV_BGR = (0, 215, 255)
X_AXIS_BGR = (0, 0, 255)
Y_AXIS_BGR = (0, 160, 0)
CLICKED_BGR = (255, 0, 255)
REPROJECTED_BGR = (255, 255, 0)
_SAMPLE_M = 0.05  # floor lines are sampled this finely so distortion bends them correctly
_LABEL_EVERY_M = 5  # grid crossings labelled with their coordinates every this many metres


def blank_canvas(cam: Camera, grey: int = 128) -> np.ndarray:
    """A grey (h, w, 3) uint8 BGR image of the camera's size."""
    w, h = cam.image_size_wh
    return np.full((h, w, 3), grey, dtype=np.uint8)


def draw_floor_polyline(
    img: np.ndarray, cam: Camera, xy_m: ArrayLike, color: tuple[int, int, int], thickness: int = 1
) -> None:
    """Draw a floor polyline (N, 2) metres into ``img`` (in place), densified every 5 cm; parts
    that do not map into the image plane (behind the camera) are left out."""
    line = LineString(np.asarray(xy_m, dtype=np.float64))
    if line.length == 0:
        return
    pts = np.asarray(shapely.segmentize(line, _SAMPLE_M).coords)
    px = cam.floor_to_image(pts)
    ok = np.isfinite(px).all(axis=1)
    # split at unmappable points and draw each run
    breaks = np.flatnonzero(np.diff(ok.astype(np.int8)) != 0) + 1
    for run in np.split(np.arange(len(px)), breaks):
        if len(run) >= 2 and ok[run[0]]:
            seg = np.clip(px[run], -1e5, 1e5)
            cv2.polylines(img, [np.round(seg).astype(np.int32)], False, color, thickness,
                          cv2.LINE_AA)


def _label(img: np.ndarray, text: str, px: np.ndarray, color: tuple[int, int, int]) -> None:
    if not np.isfinite(px).all():
        return
    org = (int(round(px[0])) + 3, int(round(px[1])) - 3)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, color, 1, cv2.LINE_AA)


def draw_calibration(
    img: np.ndarray,
    cam: Camera,
    step_m: float = 1.0,
    max_range_m: float = 30.0,
    pts_px: ArrayLike | None = None,
    xy_m: ArrayLike | None = None,
) -> np.ndarray:
    """Draw over ``img`` (BGR, in place, also returned): a floor grid every ``step_m`` metres
    inside the field of view, the x (red) and y (green) axes from the origin with labels,
    coordinates at every 5 m grid crossing, the field-of-view outline (yellow), and optionally
    clicked pixels ``pts_px`` (magenta dots) with their floor points ``xy_m`` mapped back into the
    image (cyan circles).
    """
    if not step_m > 0:
        raise ValueError(f"step_m must be positive, got {step_m}")
    fov = cam.fov_polygon(max_range_m)
    if not fov.is_empty:
        minx, miny, maxx, maxy = fov.bounds
        # 1. grid lines, clipped to the field of view
        for k in range(math.floor(minx / step_m), math.ceil(maxx / step_m) + 1):
            x = k * step_m
            _draw_clipped(img, cam, fov, [(x, miny - 1), (x, maxy + 1)], GRID_BGR)
        for k in range(math.floor(miny / step_m), math.ceil(maxy / step_m) + 1):
            y = k * step_m
            _draw_clipped(img, cam, fov, [(minx - 1, y), (maxx + 1, y)], GRID_BGR)
        # 2. coordinates at grid crossings every 5 m
        lo = np.floor(np.array([minx, miny]) / _LABEL_EVERY_M).astype(int)
        hi = np.ceil(np.array([maxx, maxy]) / _LABEL_EVERY_M).astype(int)
        for i in range(lo[0], hi[0] + 1):
            for j in range(lo[1], hi[1] + 1):
                p = (i * _LABEL_EVERY_M, j * _LABEL_EVERY_M)
                if (i or j) and fov.contains(shapely.Point(p)):
                    _label(img, f"{p[0]},{p[1]}", cam.floor_to_image([p])[0], GRID_BGR)
        # 3. field-of-view outline
        draw_floor_polyline(img, cam, np.asarray(fov.exterior.coords), FOV_BGR, 2)
    # 4. axes, 1 m long (or one grid step if larger)
    axis_m = max(1.0, step_m)
    draw_floor_polyline(img, cam, [(0, 0), (axis_m, 0)], X_AXIS_BGR, 3)
    draw_floor_polyline(img, cam, [(0, 0), (0, axis_m)], Y_AXIS_BGR, 3)
    ends = cam.floor_to_image([[0.0, 0.0], [axis_m, 0.0], [0.0, axis_m]])
    _label(img, "0", ends[0], (255, 255, 255))
    _label(img, "x", ends[1], X_AXIS_BGR)
    _label(img, "y", ends[2], Y_AXIS_BGR)
    # 5. check points
    if pts_px is not None:
        for p in np.asarray(pts_px, dtype=np.float64):
            if np.isfinite(p).all():
                cv2.circle(img, tuple(int(round(c)) for c in p), 3, CLICKED_BGR, -1, cv2.LINE_AA)
    if xy_m is not None:
        for p in cam.floor_to_image(np.asarray(xy_m, dtype=np.float64)):
            if np.isfinite(p).all() and np.abs(p).max() < 1e5:
                cv2.circle(img, tuple(int(round(c)) for c in p), 6, REPROJECTED_BGR, 1,
                           cv2.LINE_AA)
    return img


def _draw_clipped(img: np.ndarray, cam: Camera, fov: shapely.Geometry, xy: list,
                  color: tuple[int, int, int]) -> None:
    inside = LineString(xy).intersection(fov)
    for part in getattr(inside, "geoms", [inside]):
        if isinstance(part, LineString) and not part.is_empty:
            draw_floor_polyline(img, cam, np.asarray(part.coords), color, 1)
