"""Fit an image <-> floor homography from clicked point pairs, with its reprojection error.

Example::

    fit = fit_homography(pts_px, xy_m, image_size_wh=(1920, 1080))
    print(fit.reprojection_error_px, fit.error_m)   # medians over the RANSAC inliers
    save_camera(fit.camera, "cam1.json", reprojection_error_px=fit.reprojection_error_px)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike

from calib.camera import Camera, HomographyCamera

__all__ = ["HomographyFit", "fit_homography", "reprojection_errors"]

MIN_PAIRS = 4  # a homography has 8 degrees of freedom: 4 point pairs in general position
# Points whose spread across their main direction is below this fraction of the spread along it
# are called collinear (a thin sliver of clicks cannot pin down the perspective).
_COLLINEAR_RATIO = 1e-3


@dataclass(frozen=True, eq=False)
class HomographyFit:
    """Result of :func:`fit_homography`.

    Attributes:
        camera: the fitted :class:`HomographyCamera`.
        reprojection_error_px: median distance in pixels between the clicked pixels and the
            floor points mapped into the image, over the RANSAC inliers.
        error_m: median distance in metres between the floor points and the clicked pixels
            mapped to the floor, over the inliers.
        inlier_mask: (N,) bool, the pairs RANSAC kept.
    """

    camera: HomographyCamera
    reprojection_error_px: float
    error_m: float
    inlier_mask: np.ndarray

    @property
    def n_inliers(self) -> int:
        return int(self.inlier_mask.sum())


def _check_pairs(pts_px: ArrayLike, xy_m: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    uv = np.asarray(pts_px, dtype=np.float64)
    xy = np.asarray(xy_m, dtype=np.float64)
    for name, arr in (("pts_px", uv), ("xy_m", xy)):
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"fit_homography: {name} must have shape (N, 2), got {arr.shape}")
    if len(uv) != len(xy):
        raise ValueError(
            f"fit_homography: pts_px has {len(uv)} points but xy_m has {len(xy)}; give one floor "
            "point per pixel"
        )
    if len(uv) < MIN_PAIRS:
        raise ValueError(
            f"fit_homography: need at least {MIN_PAIRS} point pairs, got {len(uv)}; click more "
            "floor points spread over the image"
        )
    bad = ~(np.isfinite(uv).all(axis=1) & np.isfinite(xy).all(axis=1))
    if bad.any():
        raise ValueError(
            f"fit_homography: NaN or infinite coordinates in point pairs at rows "
            f"{np.flatnonzero(bad).tolist()}"
        )
    for name, arr, unit in (("xy_m", xy, "m"), ("pts_px", uv, "px")):
        sv = np.linalg.svd(arr - arr.mean(axis=0), compute_uv=False)
        if not sv[1] > _COLLINEAR_RATIO * sv[0]:
            raise ValueError(
                f"fit_homography: the {name} points are collinear (spread {sv[0]:.3g} {unit} "
                f"along a line, {sv[1]:.3g} across it); pick points that span an area, not a line"
            )
    return uv, xy


def _check_horizon(H_img_to_floor: np.ndarray, uv: np.ndarray, image_size_wh: tuple) -> None:
    """The clicked pixels are on the floor, so they tell which side of the horizon line
    (homogeneous w = 0) is the floor; the bottom image edge must be on that side too."""
    w_pts = uv @ H_img_to_floor[2, :2] + H_img_to_floor[2, 2]
    side = np.sign(np.median(w_pts))
    if not (side * w_pts > 0).all():
        raise ValueError(
            "fit_homography: the homography puts the horizon between the clicked points "
            f"(rows {np.flatnonzero(side * w_pts <= 0).tolist()} of the inliers are beyond it); "
            "check for pixels paired with the wrong floor points"
        )
    w, h = image_size_wh
    w_bottom = side * (np.array([[0.0, h], [w, h]]) @ H_img_to_floor[2, :2] + H_img_to_floor[2, 2])
    if not (w_bottom > 1e-9 * np.abs(w_pts).max()).all():
        raise ValueError(
            f"fit_homography: the homography maps the bottom image edge to infinity: the edge "
            f"(v = {h}) lies on or beyond the horizon line seen from the clicked floor points; "
            "check the image size and the point pairs"
        )


def reprojection_errors(
    camera: Camera, pts_px: ArrayLike, xy_m: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair errors of any camera model: (N,) pixels (floor -> image vs clicked pixel) and
    (N,) metres (pixel -> floor vs floor point); NaN where a point does not map.

    Works for every model with ``floor_to_image`` and ``to_floor`` (PinholeCamera too).
    """
    uv = np.asarray(pts_px, dtype=np.float64)
    xy = np.asarray(xy_m, dtype=np.float64)
    err_px = np.linalg.norm(camera.floor_to_image(xy) - uv, axis=1)
    err_m = np.linalg.norm(camera.to_floor(uv) - xy, axis=1)
    return err_px, err_m


def fit_homography(
    pts_px: ArrayLike,
    xy_m: ArrayLike,
    image_size_wh: Sequence[int] | None = None,
    ransac_px: float = 3.0,
    camera_id: str = "",
) -> HomographyFit:
    """Fit a floor homography to >= 4 pixel <-> floor pairs with RANSAC (``cv2.findHomography``).

    Args:
        pts_px: (N, 2) clicked pixels (u, v).
        xy_m: (N, 2) the same points on the floor, metres.
        image_size_wh: (width, height); default: the smallest image holding every pixel,
            ``(ceil(max u), ceil(max v))``.
        ransac_px: RANSAC inlier threshold in pixels (the fit runs floor -> image so the
            threshold is in the units the points were clicked in). Raising it keeps more
            mis-clicked points; lowering it rejects more.
        camera_id: stored on the camera.

    Raises:
        ValueError: fewer than 4 pairs, NaN, collinear points, no fit, or a fit that puts the
            bottom image edge on or beyond the horizon.

    Example::

        fit = fit_homography([[100, 900], [1800, 900], [1500, 400], [400, 400]],
                             [[0, 0], [8, 0], [8, 10], [0, 10]], image_size_wh=(1920, 1080))
    """
    uv, xy = _check_pairs(pts_px, xy_m)
    if image_size_wh is None:
        image_size_wh = (max(1, math.ceil(uv[:, 0].max())), max(1, math.ceil(uv[:, 1].max())))
    if not ransac_px > 0:
        raise ValueError(f"fit_homography: ransac_px must be positive, got {ransac_px}")
    H_floor_to_img, mask = cv2.findHomography(xy, uv, cv2.RANSAC, float(ransac_px))
    if H_floor_to_img is None or not np.isfinite(H_floor_to_img).all():
        raise ValueError(
            "fit_homography: OpenCV found no homography for these point pairs (are 3 of the 4 "
            "points collinear, or pixels paired with the wrong floor points?)"
        )
    inliers = mask.ravel().astype(bool)
    if inliers.sum() < MIN_PAIRS:
        raise ValueError(
            f"fit_homography: only {int(inliers.sum())} of {len(uv)} pairs agree within "
            f"{ransac_px} px; check the pairs or raise ransac_px"
        )
    try:
        H_img_to_floor = np.linalg.inv(H_floor_to_img)
    except np.linalg.LinAlgError:
        raise ValueError("fit_homography: the fitted homography is singular") from None
    _check_horizon(H_img_to_floor, uv[inliers], tuple(image_size_wh))
    try:
        camera = HomographyCamera(H_img_to_floor, tuple(image_size_wh), camera_id)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise ValueError(f"fit_homography: {exc}") from None
    err_px, err_m = reprojection_errors(camera, uv[inliers], xy[inliers])
    if not (np.isfinite(err_px).all() and np.isfinite(err_m).all()):
        raise ValueError(
            "fit_homography: some inlier pairs map to the other side of the horizon from the "
            "bottom image edge; is the image size right and are the points below the horizon?"
        )
    return HomographyFit(
        camera=camera,
        reprojection_error_px=float(np.median(err_px)),
        error_m=float(np.median(err_m)),
        inlier_mask=inliers,
    )
