"""Floor mapping stage: each box -> the person's floor position (metres), ROI filter, fusion weight.

Where a person stands is not the bottom centre of their box, for two reasons that both grow with
wide lenses and cameras that look down (measured on the simulator's 8-camera scenes, seeds
201-203, whole ground-truth boxes: the bottom centre lands 0.23 m from the person on median, the
tilt correction alone 0.17 m, both corrections 0.11 m):

1. **Leaning people.** Vertical lines converge to the vertical vanishing point, so a person away
   from the image centre appears tilted and their feet are not below the box centre. The person's
   axis is the image line through the box centre and the vanishing point; the foot is where it
   crosses the bottom edge (:func:`upright_foot_px`).
2. **The lowest point is the nearest foot.** The bottom edge of a box is the part of the feet
   nearest the camera; the body's centre, which is what a floor position means, lies about half a
   body depth further along the viewing direction (``CENTER_BEHIND_FOOT_M``).

Each point also gets its inverse covariance (``floor_precision``, :meth:`FloorMapper.floor_precision`):
a bottom-edge error moves the point along the camera's line of sight, stretched by the oblique view,
while a sideways error moves it little. With the shipped detector (seeds 201-203, 42,821 matched
boxes) one camera's point strays 0.07 m along the view and 0.03 m across it within 6 m of the camera
(median absolute deviations), 0.23 m and 0.04 m beyond 15 m. The associator fuses the cameras by
these precisions, so each direction comes from the cameras that see it best.

A :class:`~calib.HomographyCamera` knows neither the vanishing point nor the camera centre: its
boxes use the bottom centre (no tilt correction) and the viewing direction is estimated from
where the image's up direction goes on the floor.

Example::

    mapper = FloorMapper(camera, roi_floor_m=[[0, 0], [30, 0], [30, 20], [0, 20]])
    dets = mapper.update(dets)     # adds floor_xy_m (N, 2) (NaN: outside the ROI / above the
                                   # horizon), quality (N,), box_cut (N,) and floor_precision
                                   # (N, 3): how sure each point is in each direction
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon

from calib import Camera, PinholeCamera
from calib.camera import apply_homography
from mtmc.associate import BOX_CUT, FLOOR_PRECISION, QUALITY
from mtmc.types import FLOOR_XY, Detections

__all__ = [
    "CENTER_BEHIND_FOOT_M",
    "FloorMapper",
    "box_cut",
    "box_quality",
    "push_along_view",
    "upright_foot_px",
    "vertical_vanishing_point",
]

TRUNCATED_WEIGHT = 0.1  # boxes cut by the image border: their foot point is not the foot
BORDER_MARGIN_PX = 2.0  # a box edge this close to the image edge counts as cut
# The floor centre lies this far beyond the box's lowest point (half a body depth, plus the
# stride and limbs that reach nearest the camera). On the simulator's 8-camera scenes the lowest
# point falls 0.15 m short on median (0.17 m mean), 0.20-0.23 m for steep near views, which weigh
# most in the fusion; 0.15 / 0.20 / 0.25 / 0.30 gave floor HOTA 93.7 / 95.3 / 95.4 / 94.3.
CENTER_BEHIND_FOOT_M = 0.2
# How far a detected box's edges stray, as fractions of its height (the simulator's 8-camera scenes,
# seeds 201-203, shipped detector): its horizontal position by about 3 %, its bottom edge by 5 %.
BOX_SIDE_NOISE = 0.03
BOX_BOTTOM_NOISE = 0.05
_AXIS_MIN_SLOPE = 1e-6  # |dy| of the axis direction below this: axis horizontal, no correction


def box_cut(xyxy: np.ndarray, image_size_wh: tuple[int, int]) -> np.ndarray:
    """(N,) bool: the box touches the bottom, left or right image edge.

    Such a box does not end where the person ends, so its foot point is off (on the simulator's
    scenes by 0.4-0.5 m on median, against 0.1 m for whole boxes). A box cut at the top only
    (the head outside the image) still has its feet.

    Example: in a 1000x500 frame, (0, 100, 40, 300) and (10, 400, 50, 500) are cut, (10, 0, 50, 300)
    is not.
    """
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    w_img, h_img = image_size_wh
    return (
        (xyxy[:, 3] >= h_img - BORDER_MARGIN_PX)
        | (xyxy[:, 0] <= BORDER_MARGIN_PX)
        | (xyxy[:, 2] >= w_img - BORDER_MARGIN_PX)
    )


def box_quality(xyxy: np.ndarray, image_size_wh: tuple[int, int]) -> np.ndarray:
    """Fusion weight of each box's floor point: larger, upright, whole boxes weigh more.

    As in Metropolis RTLS: ``(box area / frame area) / (width / height)`` which is
    ``height^2 / frame area``; boxes cut by the bottom, left or right edge of the image
    (:func:`box_cut`) get ``TRUNCATED_WEIGHT`` of that, because their foot point is not where the
    person stands.

    Example: a 40x100 box in a 1000x500 frame -> 100^2 / 500000 = 0.02.
    """
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    w_img, h_img = image_size_wh
    height = np.maximum(xyxy[:, 3] - xyxy[:, 1], 0.0)
    quality = height**2 / float(w_img * h_img)
    return np.where(box_cut(xyxy, image_size_wh), quality * TRUNCATED_WEIGHT, quality)


def vertical_vanishing_point(camera: PinholeCamera) -> np.ndarray:
    """(3,) homogeneous pixel ``K R e_z`` where the images of vertical world lines meet
    (undistorted pixels); its third coordinate is 0 when the camera looks horizontally.

    Example: a camera looking straight down has it at the principal point ``(cx, cy, 1) * f``.
    """
    return camera.K @ camera.R_world_to_cam[:, 2]


def upright_foot_px(center_px: np.ndarray, bottom_y_px: np.ndarray, vanishing_px: np.ndarray) -> np.ndarray:
    """Foot points: where each person's axis crosses the bottom edge of the box.

    Args:
        center_px: (N, 2) box centres.
        bottom_y_px: (N,) y of the boxes' bottom edges.
        vanishing_px: the vertical vanishing point, homogeneous (3,), possibly at infinity.

    Returns:
        (N, 2) pixels. The axis is the image line through the centre and ``vanishing_px``; where it
        is (nearly) horizontal the bottom centre is returned.

    Example: box (10, 20, 30, 60), centre (20, 40), vanishing point (120, 240): the axis heads
    (100, 200) per unit, so at the bottom y = 60 the foot is x = 20 + 100 * (60 - 40) / 200 = 30.
    """
    center_px = np.asarray(center_px, dtype=np.float64).reshape(-1, 2)
    bottom_y = np.asarray(bottom_y_px, dtype=np.float64).reshape(-1)
    vx, vy, vw = np.asarray(vanishing_px, dtype=np.float64).reshape(3)
    cx, cy = center_px[:, 0], center_px[:, 1]
    dx, dy = vx - vw * cx, vy - vw * cy  # direction from the centre towards the vanishing point
    ok = np.abs(dy) > _AXIS_MIN_SLOPE * (np.abs(dx) + np.abs(dy) + 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        foot_x = np.where(ok, cx + dx * (bottom_y - cy) / dy, cx)
    return np.stack([foot_x, bottom_y], axis=1)


def push_along_view(
    xy_m: np.ndarray, toward_m: np.ndarray, distance_m: float | np.ndarray
) -> np.ndarray:
    """Move floor points ``distance_m`` further along the view: away from ``toward_m``.

    Args:
        xy_m: (N, 2) floor points.
        toward_m: (2,) or (N, 2) floor points the view comes from (the camera's floor position).
        distance_m: metres to move, scalar or (N,).

    Points that coincide with ``toward_m`` stay where they are.

    Example: ``push_along_view([[3, 4]], [0, 0], 0.5) == [[3.3, 4.4]]`` (3-4-5 triangle).
    """
    xy_m = np.asarray(xy_m, dtype=np.float64).reshape(-1, 2)
    away = xy_m - np.asarray(toward_m, dtype=np.float64)
    norm = np.hypot(away[:, 0], away[:, 1])[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(norm > 0, away / norm, 0.0) * np.reshape(distance_m, (-1, 1))
    return xy_m + step


class FloorMapper:
    """Maps one camera's detections to the floor with its calibration.

    Args:
        camera: the calibration.
        roi_floor_m: optional floor polygon; points outside it become NaN.
        center_behind_foot_m: see ``CENTER_BEHIND_FOOT_M``; 0 keeps the box's lowest point.
    """

    def __init__(
        self,
        camera: Camera,
        roi_floor_m: Sequence[Sequence[float]] | None = None,
        center_behind_foot_m: float = CENTER_BEHIND_FOOT_M,
    ) -> None:
        self.camera = camera
        self.center_behind_foot_m = float(center_behind_foot_m)
        self.roi = Polygon(roi_floor_m) if roi_floor_m is not None else None
        if self.roi is not None:
            shapely.prepare(self.roi)
        self._vanishing = (
            vertical_vanishing_point(camera) if isinstance(camera, PinholeCamera) else None
        )

    def to_floor(self, xyxy: np.ndarray) -> np.ndarray:
        """(N, 4) boxes -> (N, 2) floor positions in metres (NaN above the horizon), before ROI."""
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        if not len(xyxy):
            return np.zeros((0, 2))
        cam = self.camera
        if isinstance(cam, PinholeCamera):
            # The axis is straight only without lens distortion: work in undistorted pixels.
            cx = (xyxy[:, 0] + xyxy[:, 2]) / 2
            center, bottom = cam.undistort_px(np.stack(
                [np.column_stack([cx, (xyxy[:, 1] + xyxy[:, 3]) / 2]), np.column_stack([cx, xyxy[:, 3]])]
            ))
            foot_px = upright_foot_px(center, bottom[:, 1], self._vanishing)
            xy = apply_homography(cam.H_img_to_floor, foot_px)
            behind = cam.center_m[:2]
        else:
            bottom_px = np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]], axis=1)
            xy = cam.to_floor(bottom_px)
            # The view comes from where the image's "up" leads away from on the floor.
            behind = 2 * xy - cam.to_floor(bottom_px - np.array([0.0, 1.0]))
        if self.center_behind_foot_m:
            xy = push_along_view(xy, behind, self.center_behind_foot_m)
        return xy

    def floor_precision(self, xyxy: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """(N, 3) inverse covariance ``(pxx, pxy, pyy)`` (1/m^2) of the floor points
        ``xy = self.to_floor(xyxy)`` (before the ROI), NaN where the mapping is degenerate.

        The box noise (``BOX_SIDE_NOISE``, ``BOX_BOTTOM_NOISE``) is carried to the floor through
        the mapping's local derivatives: a floor point is far less certain along the camera's
        view (where a bottom-edge error moves it) than across it. Boxes cut by the image border
        (:func:`box_cut`) get ``TRUNCATED_WEIGHT`` of that, as in :func:`box_quality`."""
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        if not len(xyxy):
            return np.zeros((0, 3))
        h = np.maximum(xyxy[:, 3] - xyxy[:, 1], 1.0)
        du = self.to_floor(xyxy + np.array([1.0, 0.0, 1.0, 0.0])) - xy
        dv = self.to_floor(xyxy + np.array([0.0, 0.0, 0.0, 1.0])) - xy
        su2, sv2 = (BOX_SIDE_NOISE * h) ** 2, (BOX_BOTTOM_NOISE * h) ** 2
        cxx = su2 * du[:, 0] ** 2 + sv2 * dv[:, 0] ** 2
        cxy = su2 * du[:, 0] * du[:, 1] + sv2 * dv[:, 0] * dv[:, 1]
        cyy = su2 * du[:, 1] ** 2 + sv2 * dv[:, 1] ** 2
        det = cxx * cyy - cxy**2
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = np.stack([cyy, -cxy, cxx], axis=1) / det[:, None]
        prec[~(np.isfinite(prec).all(axis=1) & (det > 0))] = np.nan
        cut = box_cut(xyxy, self.camera.image_size_wh)
        return prec * np.where(cut, TRUNCATED_WEIGHT, 1.0)[:, None]

    def update(self, dets: Detections) -> Detections:
        out = dets[np.arange(len(dets))]
        xy = self.to_floor(dets.xyxy)
        precision = self.floor_precision(dets.xyxy, xy)
        if self.roi is not None and len(xy):
            inside = shapely.contains_xy(self.roi, xy[:, 0], xy[:, 1])
            xy[~inside] = np.nan
        out.data[FLOOR_XY] = xy
        out.data[QUALITY] = box_quality(dets.xyxy, self.camera.image_size_wh)
        out.data[BOX_CUT] = box_cut(dets.xyxy, self.camera.image_size_wh)
        out.data[FLOOR_PRECISION] = precision
        return out

    def reset(self) -> None:
        """Stateless; present so every stage has the same verbs."""

