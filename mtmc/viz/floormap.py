"""The floor plan a bird's-eye view is drawn on: an image and its metres -> pixels transform.

Either the scene's own top view (``floor.png`` + ``floor.json`` with ``T_floor_m_to_px``, as the
simulator writes them) or a drawn grid with metre ticks over an extent (usually the union of the
cameras' fields of view, :func:`floor_bounds_m`). In both, image x points along +x and image up
along +y (a right-handed floor seen from above).

Example::

    fmap = FloorMap.grid(floor_bounds_m(cameras.values()), px_per_m=40)
    fmap = FloorMap.from_files("scene/floor.png", "scene/floor.json").fit_height(720)
    pts_px = fmap.to_px(xy_m)                # (N, 2) float64 pixels
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import shapely
from numpy.typing import ArrayLike

from calib import Camera

__all__ = ["FloorMap", "camera_floor_xy_m", "floor_bounds_m"]

GRID_BACKGROUND_BGR = (48, 48, 48)
GRID_LINE_BGR = (78, 78, 78)
GRID_MAJOR_BGR = (120, 120, 120)
GRID_TEXT_BGR = (200, 200, 200)
GRID_MIN_LABEL_SPACING_PX = 40  # metre labels are at least this far apart
_NICE_STEPS_M = (1, 2, 5, 10, 20, 50, 100, 200, 500)


@dataclass(frozen=True)
class FloorMap:
    """A top-view image of the floor and where floor points land in it.

    Attributes:
        image: (H, W, 3) uint8 BGR.
        T_floor_m_to_px: (3, 3) ``[u, v, 1] ~ T @ [x_m, y_m, 1]``.
    """

    image: np.ndarray
    T_floor_m_to_px: np.ndarray

    def __post_init__(self) -> None:
        image = np.asarray(self.image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"FloorMap.image must be (H, W, 3) uint8, got {image.shape} {image.dtype}"
            )
        T = np.asarray(self.T_floor_m_to_px, dtype=np.float64)
        if T.shape != (3, 3) or not np.isfinite(T).all():
            raise ValueError(
                f"FloorMap.T_floor_m_to_px must be a finite (3, 3) matrix, got {T.shape}"
            )
        object.__setattr__(self, "T_floor_m_to_px", T)

    @property
    def size_wh(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])

    @property
    def px_per_m(self) -> float:
        """Pixels per metre (geometric mean of the two axes' scales)."""
        T = self.T_floor_m_to_px
        return math.sqrt(abs(np.linalg.det(T[:2, :2] / T[2, 2])))

    def to_px(self, xy_m: ArrayLike) -> np.ndarray:
        """Floor points (N, 2) metres -> (N, 2) float64 pixels of the map image."""
        xy = np.asarray(xy_m, dtype=np.float64).reshape(-1, 2)
        h = np.concatenate([xy, np.ones((len(xy), 1))], axis=1) @ self.T_floor_m_to_px.T
        return h[:, :2] / h[:, 2:3]

    def scaled(self, factor: float) -> FloorMap:
        """The same map resized by ``factor`` (area interpolation when shrinking)."""
        if not factor > 0:
            raise ValueError(f"FloorMap.scaled: factor must be > 0, got {factor}")
        w, h = self.size_wh
        size = (max(1, int(round(w * factor))), max(1, int(round(h * factor))))
        interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
        image = cv2.resize(self.image, size, interpolation=interp)
        S = np.diag([size[0] / w, size[1] / h, 1.0])
        return FloorMap(image, S @ self.T_floor_m_to_px)

    def fit_height(self, height_px: int) -> FloorMap:
        """The map resized to ``height_px`` rows (aspect kept)."""
        return self.scaled(height_px / self.size_wh[1])

    @classmethod
    def from_files(cls, png: str | Path, meta_json: str | Path) -> FloorMap:
        """A scene's ``floor.png`` and ``floor.json`` (key ``T_floor_m_to_px``, or ``px_per_m`` and
        ``origin_m`` = the floor point at pixel (0, 0), image y pointing along -y).

        Raises:
            ValueError: unreadable image, invalid JSON, or neither transform given.
        """
        image = cv2.imread(str(png), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{png}: cannot read the floor image")
        try:
            meta = json.loads(Path(meta_json).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{meta_json}: cannot read floor metadata ({err})") from None
        if "T_floor_m_to_px" in meta:
            T = np.asarray(meta["T_floor_m_to_px"], dtype=np.float64)
        elif "px_per_m" in meta and "origin_m" in meta:
            s = float(meta["px_per_m"])
            x0, y0 = (float(v) for v in meta["origin_m"])
            T = np.array([[s, 0.0, -s * x0], [0.0, -s, s * y0], [0.0, 0.0, 1.0]])
        else:
            raise ValueError(
                f"{meta_json}: needs T_floor_m_to_px (3x3) or px_per_m and origin_m"
            )
        try:
            return cls(image, T)
        except ValueError as err:
            raise ValueError(f"{meta_json}: {err}") from None

    @classmethod
    def grid(
        cls,
        bounds_m: tuple[float, float, float, float],
        px_per_m: float,
        *,
        pad_px: int = 24,
    ) -> FloorMap:
        """A dark map of ``bounds_m = (x_min, y_min, x_max, y_max)`` with a 1 m grid, brighter
        lines and metre labels (x along the bottom, y along the left) every 1, 2, 5, 10, ... m
        (the first step at least 40 px apart).

        Example::

            fmap = FloorMap.grid((0, 0, 10, 6), px_per_m=20)   # (6 * 20 + 48) x (10 * 20 + 48) px
        """
        x0, y0, x1, y1 = (float(v) for v in bounds_m)
        if not (x1 > x0 and y1 > y0) or not px_per_m > 0:
            raise ValueError(f"FloorMap.grid: empty extent {bounds_m} or px_per_m {px_per_m} <= 0")
        s = float(px_per_m)
        w = int(math.ceil((x1 - x0) * s)) + 2 * pad_px
        h = int(math.ceil((y1 - y0) * s)) + 2 * pad_px
        T = np.array([[s, 0.0, pad_px - s * x0], [0.0, -s, pad_px + s * y1], [0.0, 0.0, 1.0]])
        image = np.full((h, w, 3), GRID_BACKGROUND_BGR, dtype=np.uint8)
        label_step = next((m for m in _NICE_STEPS_M if m * s >= GRID_MIN_LABEL_SPACING_PX),
                          _NICE_STEPS_M[-1])
        xs = np.arange(math.ceil(x0), math.floor(x1) + 1)
        ys = np.arange(math.ceil(y0), math.floor(y1) + 1)
        fmap = cls(image, T)
        # minor lines first, then the labelled ones over them
        for major in (False, True):
            colour = GRID_MAJOR_BGR if major else GRID_LINE_BGR
            for x in xs[(xs % label_step == 0) == major]:
                u = int(round(fmap.to_px([[x, 0.0]])[0, 0]))
                cv2.line(image, (u, 0), (u, h - 1), colour, 1)
            for y in ys[(ys % label_step == 0) == major]:
                v = int(round(fmap.to_px([[0.0, y]])[0, 1]))
                cv2.line(image, (0, v), (w - 1, v), colour, 1)
        for x in xs[xs % label_step == 0]:
            u = int(round(fmap.to_px([[x, 0.0]])[0, 0]))
            cv2.putText(image, f"{int(x)}", (u + 2, h - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                        GRID_TEXT_BGR, 1, cv2.LINE_AA)
        for y in ys[ys % label_step == 0]:
            v = int(round(fmap.to_px([[0.0, y]])[0, 1]))
            cv2.putText(image, f"{int(y)}", (2, v - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                        GRID_TEXT_BGR, 1, cv2.LINE_AA)
        return fmap


def camera_floor_xy_m(cam: Camera) -> np.ndarray:
    """(2,) floor point under the camera centre (pinhole) or of its bottom-centre pixel
    (homography-only cameras, which do not know their centre)."""
    center = getattr(cam, "center_m", None)
    if center is not None:
        return np.asarray(center, dtype=np.float64)[:2]
    return np.asarray(cam.range_origin_m, dtype=np.float64)


def floor_bounds_m(
    cameras: Iterable[Camera], max_range_m: float = 20.0, margin_m: float = 1.0
) -> tuple[float, float, float, float]:
    """``(x_min, y_min, x_max, y_max)`` in metres covering every camera's field of view (within
    ``max_range_m``) and position, plus ``margin_m`` on each side.

    Raises:
        ValueError: no camera sees any floor.

    Example::

        floor_bounds_m([cam1, cam2], max_range_m=15.0)   # e.g. (-3.0, -5.0, 13.0, 12.0)
    """
    cams = list(cameras)
    polygons = [c.fov_polygon(max_range_m) for c in cams]
    polygons = [p for p in polygons if not p.is_empty]
    points = [camera_floor_xy_m(c) for c in cams]
    if not polygons:
        raise ValueError("floor_bounds_m: no camera sees the floor (check the calibrations)")
    x0, y0, x1, y1 = shapely.union_all(polygons).bounds
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts):
        x0, y0 = min(x0, pts[:, 0].min()), min(y0, pts[:, 1].min())
        x1, y1 = max(x1, pts[:, 0].max()), max(y1, pts[:, 1].max())
    return (float(math.floor(x0 - margin_m)), float(math.floor(y0 - margin_m)),
            float(math.ceil(x1 + margin_m)), float(math.ceil(y1 + margin_m)))
