"""Camera models: a calibrated pinhole camera and a homography-only camera, as frozen value types.

World frame: metres, z up, the floor is the plane z = 0. Camera frame (OpenCV): x right, y down,
z forward. Pixel coordinates follow OpenCV: u to the right, v down, the centre of the top-left pixel
at (0, 0); the image rectangle is taken as ``0 <= u <= w, 0 <= v <= h``.

Both models share one sign convention for homographies: ``H_floor_to_img @ (x, y, 1)`` has a
positive third coordinate exactly when the floor point is in front of the camera (for a pinhole
camera it is the point's depth in metres), and ``H_img_to_floor = inv(H_floor_to_img)``. Pixels and
floor points that fall behind the camera or above the horizon come out as NaN, never as mirrored
coordinates.

Example::

    cam = PinholeCamera.look_at(position_m=(0, -5, 3), target_m=(0, 2, 0),
                                image_size_wh=(960, 540), hfov_deg=70.0, camera_id="cam1")
    pts_px = cam.project([[0.0, 0.0, 0.0], [1.0, 2.0, 1.7]])   # (2, 2) pixels
    xy_m = cam.to_floor(pts_px[:1])                            # (1, 2) metres, ~ (0, 0)
    fov = cam.fov_polygon(max_range_m=20.0)                   # shapely Polygon on the floor
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import shapely
from numpy.typing import ArrayLike
from shapely.geometry import Point, Polygon

__all__ = ["Camera", "HomographyCamera", "PinholeCamera", "apply_homography"]

DistortionModel = Literal["opencv", "tsai"]

_OPENCV_DIST_LENGTHS = (4, 5, 8)  # k1 k2 p1 p2 [k3 [k4 k5 k6]]
_ROTATION_TOL = 1e-6  # max |R R^T - I| and |det R - 1| accepted as a rotation
_UNDISTORT_ITERS = 100  # fixed-point / Newton iterations; converges in far fewer for real lenses
_UNDISTORT_TOL = 1e-14  # stop when every point moved less than this (normalised coordinates)
_RESIDUAL_TOL = 1e-9  # an inverse whose re-distortion misses by more than this is reported as NaN
_FOV_BORDER_SAMPLES = 64  # samples per image edge when tracing a distorted border for fov_polygon
_HORIZON_EPS = 1e-12  # relative size of a homogeneous w / ray slope treated as 0 (the horizon)
_FOLD_MARGIN = 0.99  # fov_polygon keeps the image inside this fraction of the lens fold radius
_DISK_QUAD_SEGS = 64  # segments per quarter circle of the range disk (relative area error ~1e-4)


# ---------------------------------------------------------------------------------------------
# validation helpers


def _as_matrix(value: ArrayLike, shape: tuple[int, ...], name: str, where: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {name} must be numeric with shape {shape}: {exc}") from None
    if arr.shape != shape:
        raise ValueError(f"{where}: {name} must have shape {shape}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values: {arr.tolist()}")
    arr.setflags(write=False)
    return arr


def _as_image_size(value: Sequence[int], where: str) -> tuple[int, int]:
    try:
        w, h = value
        if int(w) != w or int(h) != h:
            raise ValueError
        w, h = int(w), int(h)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}: image_size_wh must be two integers (width, height) in pixels, got {value!r}"
        ) from None
    if w <= 0 or h <= 0:
        raise ValueError(f"{where}: image_size_wh must be positive, got ({w}, {h})")
    return (w, h)


def _points(value: ArrayLike, dim: int, name: str) -> np.ndarray:
    """Coerce to a float64 array of shape (..., dim); a bare (dim,) point stays (dim,)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != dim:
        raise ValueError(f"{name} must have shape (N, {dim}), got shape {arr.shape}")
    return arr


def apply_homography(H: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (..., 2) points by the 3x3 ``H``; NaN where the homogeneous w is not positive (behind
    the camera, or on the horizon within rounding noise)."""
    q = pts @ H[:, :2].T + H[:, 2]
    w = q[..., 2:]
    # w within rounding noise of 0 is on the horizon: without this, it comes out as a point
    # 1e16 m away on either side
    w_noise = _HORIZON_EPS * (np.abs(pts) @ np.abs(H[2, :2]) + abs(H[2, 2]))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = q[..., :2] / w
    out[~(w[..., 0] > w_noise)] = np.nan
    return out


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


# ---------------------------------------------------------------------------------------------
# lens distortion in normalised camera coordinates (x = X/Z, y = Y/Z)


def _distort_opencv(xy_u: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """OpenCV's radial (k1 k2 k3, rational k4 k5 k6) and tangential (p1 p2) model."""
    k = np.zeros(8)
    k[: len(dist)] = dist
    p1, p2 = k[2], k[3]
    x, y = xy_u[..., 0], xy_u[..., 1]
    r2 = x * x + y * y
    radial = _opencv_radial(r2, k)
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def _opencv_radial_fold(dist: np.ndarray) -> tuple[float, float]:
    """(undistorted, distorted) radius where OpenCV's radial model stops increasing; (inf, inf)
    if it keeps increasing up to 89 degrees off axis. Beyond the fold, points far outside the
    field of view would fold back into the image, so they are reported as NaN instead."""
    k = np.zeros(8)
    k[: len(dist)] = dist
    r = np.tan(np.linspace(0.0, math.radians(89.0), 20_001))  # steps of 1.6e-4 at r = 1
    r_d = r * _opencv_radial(r * r, k)
    falling = np.flatnonzero(~(np.diff(r_d) > 0))
    if not len(falling):
        return math.inf, math.inf
    return float(r[falling[0]]), float(r_d[falling[0]])


def _opencv_radial(r2: np.ndarray, k: np.ndarray) -> np.ndarray:
    k1, k2, _, _, k3, k4, k5, k6 = k
    return (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))


def _undistort_opencv(xy_d: np.ndarray, dist: np.ndarray, r_fold: float) -> np.ndarray:
    """Invert :func:`_distort_opencv`; NaN where there is no inverse below the fold radius.

    1. the radial part alone is monotonic on [0, r_fold]: bisect for the undistorted radius
       (robust where cv2.undistortPoints' fixed-point iteration diverges, as for wide lenses
       with strong barrel distortion); 2. Newton's method on the full model (tangential terms)
       from there, with a finite-difference Jacobian; 3. check the residual.
    """
    k = np.zeros(8)
    k[: len(dist)] = dist
    r_d = np.hypot(xy_d[..., 0], xy_d[..., 1])
    with np.errstate(all="ignore"):
        # 1.
        lo = np.zeros_like(r_d)
        hi = np.full_like(r_d, min(r_fold, math.tan(math.radians(89.0))))
        for _ in range(64):
            mid = (lo + hi) / 2
            below = mid * _opencv_radial(mid * mid, k) < r_d
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        scale = np.where(r_d > 0, (lo + hi) / 2 / r_d, 1.0)
        xy = xy_d * scale[..., None]
        # 2.
        eps = 1e-7
        for _ in range(_UNDISTORT_ITERS):
            f = _distort_opencv(xy, dist) - xy_d
            jx = (_distort_opencv(xy + [eps, 0.0], dist) - xy_d - f) / eps  # d f / d x
            jy = (_distort_opencv(xy + [0.0, eps], dist) - xy_d - f) / eps  # d f / d y
            det = jx[..., 0] * jy[..., 1] - jy[..., 0] * jx[..., 1]
            step_x = (jy[..., 1] * f[..., 0] - jy[..., 0] * f[..., 1]) / det
            step_y = (jx[..., 0] * f[..., 1] - jx[..., 1] * f[..., 0]) / det
            xy = xy - np.stack([step_x, step_y], axis=-1)
            if not (np.nanmax(np.abs(np.concatenate([step_x.ravel(), step_y.ravel()])),
                              initial=0.0) >= _UNDISTORT_TOL):
                break
        # 3.
        miss = np.abs(_distort_opencv(xy, dist) - xy_d).max(axis=-1)
        bad = ~(miss < _RESIDUAL_TOL) | ~(np.hypot(xy[..., 0], xy[..., 1]) < r_fold)
    xy[bad] = np.nan
    return xy


def _distort_tsai(xy_u: np.ndarray, k: float) -> np.ndarray:
    """Tsai radial model: solve r_u = r_d * (1 + k r_d^2) for r_d by Newton's method.

    For k > 0 the cubic is increasing and Newton from r_d = r_u converges monotonically. For k < 0
    undistorted radii beyond the model's fold (2 / (3 sqrt(-3k))) have no image and give NaN.
    """
    r_u = np.hypot(xy_u[..., 0], xy_u[..., 1])
    r = r_u.copy()
    with np.errstate(all="ignore"):
        for _ in range(_UNDISTORT_ITERS):
            f = k * r**3 + r - r_u
            step = f / (3 * k * r * r + 1)
            r = r - step
            if not (np.nanmax(np.abs(step), initial=0.0) >= _UNDISTORT_TOL):
                break
        scale = np.where(r_u > 0, r / r_u, 1.0)
        ok = (np.abs(k * r**3 + r - r_u) < _RESIDUAL_TOL) & (1 + 3 * k * r * r > 0)
    xy_d = xy_u * scale[..., None]
    xy_d[~ok] = np.nan
    return xy_d


def _undistort_tsai(xy_d: np.ndarray, k: float) -> np.ndarray:
    """Tsai radial model, closed form: x_u = x_d * (1 + k (x_d^2 + y_d^2)); NaN past the fold."""
    r2 = (xy_d**2).sum(axis=-1)
    xy_u = xy_d * (1 + k * r2)[..., None]
    xy_u[~(1 + 3 * k * r2 > 0)] = np.nan
    return xy_u


# ---------------------------------------------------------------------------------------------
# field of view (shared by both models)


def _fov_polygon(
    G: np.ndarray, border_q: np.ndarray, origin_xy_m: np.ndarray, max_range_m: float
) -> Polygon:
    """Floor region seen through ``border_q`` within ``max_range_m`` of ``origin_xy_m``.

    ``G`` maps floor (x, y, 1) to an undistorted image plane (pixels or normalised coordinates)
    with a positive third coordinate in front of the camera; ``border_q`` (M, 2) is the image
    border in that plane. Steps: 1. bound the depth over the range disk; 2. clip the border
    polygon in the image plane to the part whose floor points are no deeper than that (this also
    removes the horizon, where the map to the floor is singular); 3. map the clipped polygon to the
    floor (a projective map sends segments to segments there); 4. intersect with the disk.
    """
    if not (max_range_m > 0 and math.isfinite(max_range_m)):
        raise ValueError(f"max_range_m must be a positive finite number, got {max_range_m!r}")
    # 1. depth(X) = G[2] . (x, y, 1) is linear on the floor: its max over the disk is closed form.
    g3 = G[2]
    depth_max = g3[:2] @ origin_xy_m + g3[2] + max_range_m * float(np.hypot(g3[0], g3[1]))
    if not depth_max > 0:
        return Polygon()
    # 2. in the image plane, 1/depth = a . (q, 1) with a = the last row of inv(G).
    a = np.linalg.inv(G)[2]
    border = Polygon(border_q)
    if not border.is_valid:
        border = shapely.make_valid(border)
    a_norm = float(np.hypot(a[0], a[1]))
    if a_norm <= 1e-12 * float(np.abs(a).max()):
        # the image plane is parallel to the floor (camera looking straight down): depth is
        # the same everywhere, so nothing to clip.
        clipped = border if a[2] > 0 else Polygon()
    else:
        # half-plane normal . q >= offset, as a polygon reaching past the border's bounding box
        normal = a[:2] / a_norm
        offset = (1.0 / depth_max - a[2]) / a_norm
        lo, hi = border_q.min(axis=0), border_q.max(axis=0)
        centre = (lo + hi) / 2
        p0 = centre - (normal @ centre - offset) * normal  # the line's point nearest the centre
        big = 2.0 * (float(np.hypot(*(hi - lo))) + abs(float(normal @ centre - offset))) + 1.0
        along = np.array([-normal[1], normal[0]])
        half_plane = Polygon(
            [p0 - big * along, p0 + big * along, p0 + big * along + big * normal,
             p0 - big * along + big * normal]
        )
        clipped = border.intersection(half_plane)
    if clipped.is_empty:
        return Polygon()
    # 3. map every piece to the floor.
    H_q_to_floor = np.linalg.inv(G)
    pieces = []
    for geom in getattr(clipped, "geoms", [clipped]):
        if not isinstance(geom, Polygon) or geom.is_empty:
            continue
        ring = apply_homography(H_q_to_floor, np.asarray(geom.exterior.coords)[:-1])
        ring = ring[np.isfinite(ring).all(axis=1)]
        if len(ring) >= 3:
            pieces.append(shapely.make_valid(Polygon(ring)))
    if not pieces:
        return Polygon()
    floor = shapely.union_all(pieces)
    # 4. clip at the range.
    disk = Point(origin_xy_m).buffer(max_range_m, quad_segs=_DISK_QUAD_SEGS)
    fov = floor.intersection(disk)
    polygons = [g for g in getattr(fov, "geoms", [fov]) if isinstance(g, Polygon) and g.area > 0]
    if not polygons:
        return Polygon()
    return max(polygons, key=lambda g: g.area)


def _image_border_px(image_size_wh: tuple[int, int], samples_per_edge: int) -> np.ndarray:
    """(4 * samples_per_edge, 2) points along the image rectangle, clockwise from (0, 0)."""
    w, h = image_size_wh
    t = np.linspace(0.0, 1.0, samples_per_edge, endpoint=False)
    top = np.stack([t * w, np.zeros_like(t)], axis=1)
    right = np.stack([np.full_like(t, w), t * h], axis=1)
    bottom = np.stack([(1 - t) * w, np.full_like(t, h)], axis=1)
    left = np.stack([np.zeros_like(t), (1 - t) * h], axis=1)
    return np.concatenate([top, right, bottom, left])


# ---------------------------------------------------------------------------------------------
# pinhole camera


@dataclass(frozen=True, eq=False)
class PinholeCamera:
    """A calibrated pinhole camera with lens distortion: world metres <-> pixels.

    Attributes:
        K: (3, 3) intrinsic matrix ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]`` in pixels.
        R_world_to_cam: (3, 3) rotation, ``X_cam = R_world_to_cam @ X_world + t_world_to_cam_m``.
        t_world_to_cam_m: (3,) translation in metres.
        image_size_wh: (width, height) in pixels.
        dist: distortion coefficients. ``distortion_model="opencv"``: (4,), (5,) or (8,)
            ``k1 k2 p1 p2 [k3 [k4 k5 k6]]`` as OpenCV; ``"tsai"``: (1,) ``k`` with
            ``x_u = x_d * (1 + k * (x_d^2 + y_d^2))`` in normalised coordinates (Tsai's kappa1
            times f^2). Default: no distortion.
        distortion_model: ``"opencv"`` or ``"tsai"``.
        camera_id: free text, e.g. ``"cam1"``.

    The arrays are read-only copies. Validation: shapes, finite values, K upper triangular with
    positive focal lengths and K[2, 2] == 1, R orthonormal with det +1, positive image size, and
    the camera centre above the floor (z > 0).

    Example::

        cam = PinholeCamera(K=[[800, 0, 480], [0, 800, 270], [0, 0, 1]],
                            R_world_to_cam=[[1, 0, 0], [0, 0, -1], [0, 1, 0]],
                            t_world_to_cam_m=[0, 2, 5], image_size_wh=(960, 540))
        cam.center_m            # array([ 0., -5.,  2.]): 2 m above the floor, looking along +y
    """

    K: np.ndarray
    R_world_to_cam: np.ndarray
    t_world_to_cam_m: np.ndarray
    image_size_wh: tuple[int, int]
    dist: np.ndarray | None = None
    distortion_model: DistortionModel = "opencv"
    camera_id: str = ""
    _no_distortion: bool = field(init=False, repr=False, default=True)

    def __post_init__(self) -> None:
        where = f"PinholeCamera(camera_id={self.camera_id!r})"
        K = _as_matrix(self.K, (3, 3), "K", where)
        if K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] != 1:
            raise ValueError(
                f"{where}: K must be upper triangular with K[2, 2] = 1, got {K.tolist()}"
            )
        if not (K[0, 0] > 0 and K[1, 1] > 0):
            raise ValueError(
                f"{where}: K focal lengths must be positive, got fx={K[0, 0]}, fy={K[1, 1]}"
            )
        R = _as_matrix(self.R_world_to_cam, (3, 3), "R_world_to_cam", where)
        ortho_err = float(np.abs(R @ R.T - np.eye(3)).max())
        det = float(np.linalg.det(R))
        if ortho_err > _ROTATION_TOL or abs(det - 1) > _ROTATION_TOL:
            raise ValueError(
                f"{where}: R_world_to_cam must be a rotation (orthonormal, det +1), got "
                f"max|R R^T - I| = {ortho_err:.2g}, det = {det:.6g}"
            )
        t = _as_matrix(self.t_world_to_cam_m, (3,), "t_world_to_cam_m", where)
        size = _as_image_size(self.image_size_wh, where)
        if self.distortion_model not in ("opencv", "tsai"):
            raise ValueError(
                f"{where}: distortion_model must be 'opencv' or 'tsai', "
                f"got {self.distortion_model!r}"
            )
        if self.dist is None:
            dist = np.zeros(5 if self.distortion_model == "opencv" else 1)
        else:
            dist = np.array(self.dist, dtype=np.float64).ravel()
        lengths = _OPENCV_DIST_LENGTHS if self.distortion_model == "opencv" else (1,)
        if len(dist) not in lengths:
            raise ValueError(
                f"{where}: dist for the {self.distortion_model} model must have one of the "
                f"lengths {lengths}, got {len(dist)} values {dist.tolist()}"
            )
        if not np.isfinite(dist).all():
            raise ValueError(f"{where}: dist contains NaN or infinite values: {dist.tolist()}")
        dist.setflags(write=False)
        center = -R.T @ t
        if not center[2] > 0:
            raise ValueError(
                f"{where}: camera below the floor: centre z = {center[2]:.6g} m must be > 0 "
                "(world z points up; check the sign of R/t or the world units)"
            )
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "R_world_to_cam", R)
        object.__setattr__(self, "t_world_to_cam_m", t)
        object.__setattr__(self, "image_size_wh", size)
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "camera_id", str(self.camera_id))
        object.__setattr__(self, "_no_distortion", not dist.any())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PinholeCamera):
            return NotImplemented
        return (
            np.array_equal(self.K, other.K)
            and np.array_equal(self.R_world_to_cam, other.R_world_to_cam)
            and np.array_equal(self.t_world_to_cam_m, other.t_world_to_cam_m)
            and self.image_size_wh == other.image_size_wh
            and np.array_equal(self.dist, other.dist)
            and self.distortion_model == other.distortion_model
            and self.camera_id == other.camera_id
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking arrays: not hashable

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def look_at(
        cls,
        position_m: ArrayLike,
        target_m: ArrayLike,
        image_size_wh: Sequence[int] = (960, 540),
        hfov_deg: float = 70.0,
        camera_id: str = "",
        *,
        dist: ArrayLike | None = None,
        distortion_model: DistortionModel = "opencv",
    ) -> PinholeCamera:
        """A level (no roll) camera at ``position_m`` looking at ``target_m`` (world metres).

        Square pixels, principal point at the image centre, ``fx = (w / 2) / tan(hfov / 2)``.
        The image x axis is horizontal; a camera looking straight down has the image top
        towards world +y.

        Example::

            cam = PinholeCamera.look_at((0, 0, 4), (0, 6, 0), (1280, 720), 90.0, "cam1")
        """
        where = f"PinholeCamera.look_at(camera_id={camera_id!r})"
        pos = _as_matrix(position_m, (3,), "position_m", where)
        tgt = _as_matrix(target_m, (3,), "target_m", where)
        size = _as_image_size(image_size_wh, where)
        if not 0 < hfov_deg < 180:
            raise ValueError(f"{where}: hfov_deg must be in (0, 180), got {hfov_deg}")
        forward = tgt - pos
        norm = float(np.linalg.norm(forward))
        if norm == 0:
            raise ValueError(f"{where}: position_m and target_m are the same point {pos.tolist()}")
        forward = forward / norm
        right = np.cross(forward, [0.0, 0.0, 1.0])
        if np.linalg.norm(right) < 1e-9:  # looking straight up or down: image top towards +y
            right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        R = np.stack([right, down, forward])
        f = size[0] / 2 / math.tan(math.radians(hfov_deg) / 2)
        K = np.array([[f, 0, size[0] / 2], [0, f, size[1] / 2], [0, 0, 1]])
        return cls(K=K, R_world_to_cam=R, t_world_to_cam_m=-R @ pos, image_size_wh=size,
                   dist=dist, distortion_model=distortion_model, camera_id=camera_id)

    @classmethod
    def from_rvec_tvec(
        cls,
        K: ArrayLike,
        rvec: ArrayLike,
        tvec_m: ArrayLike,
        image_size_wh: Sequence[int],
        dist: ArrayLike | None = None,
        camera_id: str = "",
    ) -> PinholeCamera:
        """From OpenCV's Rodrigues rotation vector ``rvec`` (3,) and ``tvec_m`` (3,) in metres
        (world -> camera, as ``cv2.solvePnP`` returns them) and OpenCV distortion ``dist``."""
        import cv2

        where = f"PinholeCamera(camera_id={camera_id!r})"
        r = _as_matrix(np.ravel(np.asarray(rvec, dtype=np.float64)), (3,), "rvec", where)
        R, _ = cv2.Rodrigues(r.reshape(3, 1))
        return cls(K=K, R_world_to_cam=R, t_world_to_cam_m=np.ravel(np.asarray(tvec_m, float)),
                   image_size_wh=tuple(image_size_wh), dist=dist, camera_id=camera_id)

    # -- derived properties -------------------------------------------------------------------

    @cached_property
    def center_m(self) -> np.ndarray:
        """(3,) camera centre in world metres, ``-R^T t``."""
        return _readonly(-self.R_world_to_cam.T @ self.t_world_to_cam_m)

    @cached_property
    def H_floor_to_img(self) -> np.ndarray:
        """(3, 3) floor (x, y, 1) -> pixels ``K [r1 r2 t]``, ignoring distortion; the third
        coordinate of the result is the floor point's depth in metres."""
        R, t = self.R_world_to_cam, self.t_world_to_cam_m
        return _readonly(self.K @ np.column_stack([R[:, 0], R[:, 1], t]))

    @cached_property
    def H_img_to_floor(self) -> np.ndarray:
        """(3, 3) pixels (u, v, 1) -> floor, the inverse of ``H_floor_to_img`` (no distortion)."""
        return _readonly(np.linalg.inv(self.H_floor_to_img))

    @cached_property
    def _radial_fold(self) -> tuple[float, float]:
        """(undistorted, distorted) normalised radius where the lens model folds back; points
        beyond it are NaN. (inf, inf) when it does not fold."""
        if self._no_distortion:
            return math.inf, math.inf
        if self.distortion_model == "tsai":
            k = float(self.dist[0])
            if k >= 0:
                return math.inf, math.inf
            r_d = 1 / math.sqrt(-3 * k)  # d r_u / d r_d = 1 + 3 k r_d^2 = 0
            return r_d * (1 + k * r_d * r_d), r_d
        return _opencv_radial_fold(self.dist)

    @cached_property
    def _valid_radius_d(self) -> float:
        """Distorted normalised radius inside which every point has an inverse comfortably
        short of the fold (tangential terms make the fold curve a little off-circular)."""
        r_fold = self._radial_fold[0]
        if not math.isfinite(r_fold):
            return math.inf
        theta = np.linspace(0.0, 2 * math.pi, 360, endpoint=False)
        ring = _FOLD_MARGIN * r_fold * np.column_stack([np.cos(theta), np.sin(theta)])
        return float(np.nanmin(np.hypot(*self.distort(ring).T), initial=math.inf))

    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view in degrees (undistorted, principal point centred)."""
        return math.degrees(2 * math.atan(self.image_size_wh[0] / 2 / self.fx))

    # -- geometry ------------------------------------------------------------------------------

    def _normalised_to_px(self, xy: np.ndarray) -> np.ndarray:
        K = self.K
        u = K[0, 0] * xy[..., 0] + K[0, 1] * xy[..., 1] + K[0, 2]
        v = K[1, 1] * xy[..., 1] + K[1, 2]
        return np.stack([u, v], axis=-1)

    def _px_to_normalised(self, pts_px: np.ndarray) -> np.ndarray:
        K = self.K
        y = (pts_px[..., 1] - K[1, 2]) / K[1, 1]
        x = (pts_px[..., 0] - K[0, 2] - K[0, 1] * y) / K[0, 0]
        return np.stack([x, y], axis=-1)

    def distort(self, xy_norm: ArrayLike) -> np.ndarray:
        """Undistorted -> distorted normalised coordinates (..., 2); NaN where undefined."""
        xy = _points(xy_norm, 2, "xy_norm")
        if self._no_distortion:
            return xy.copy()
        if self.distortion_model == "tsai":
            return _distort_tsai(xy, float(self.dist[0]))
        out = _distort_opencv(xy, self.dist)
        out[~(np.hypot(xy[..., 0], xy[..., 1]) < self._radial_fold[0])] = np.nan
        return out

    def undistort(self, xy_norm: ArrayLike) -> np.ndarray:
        """Distorted -> undistorted normalised coordinates (..., 2); NaN where undefined."""
        xy = _points(xy_norm, 2, "xy_norm")
        if self._no_distortion:
            return xy.copy()
        if self.distortion_model == "tsai":
            return _undistort_tsai(xy, float(self.dist[0]))
        return _undistort_opencv(xy, self.dist, self._radial_fold[0])

    def undistort_px(self, pts_px: ArrayLike) -> np.ndarray:
        """Pixels (..., 2) -> the pixels an ideal lens would give (same K, no distortion).

        ``H_img_to_floor`` maps these undistorted pixels to the floor exactly. A copy of the input
        when the camera has no distortion; NaN where a pixel cannot be undistorted.
        """
        pts = _points(pts_px, 2, "pts_px")
        if self._no_distortion:
            return pts.copy()
        return self._normalised_to_px(self.undistort(self._px_to_normalised(pts)))

    def project(self, xyz_m: ArrayLike) -> np.ndarray:
        """World points (N, 3) in metres -> pixels (N, 2) float64, with distortion.

        Points at or behind the camera plane (depth <= 0) give NaN. Any leading shape works:
        (..., 3) -> (..., 2).

        Example::

            cam.project([[0.0, 0.0, 0.0]])   # pixel of the world origin
        """
        X = _points(xyz_m, 3, "xyz_m")
        Xc = X @ self.R_world_to_cam.T + self.t_world_to_cam_m
        z = Xc[..., 2:]
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = Xc[..., :2] / z
        xy[~(z[..., 0] > 0)] = np.nan
        return self._normalised_to_px(self.distort(xy))

    def rays_world(self, pts_px: ArrayLike) -> np.ndarray:
        """Pixels (N, 2) -> ray directions (N, 3) in world axes (not normalised, camera z = 1)."""
        xy = self.undistort(self._px_to_normalised(_points(pts_px, 2, "pts_px")))
        d_cam = np.concatenate([xy, np.ones_like(xy[..., :1])], axis=-1)
        return d_cam @ self.R_world_to_cam  # R^T d for row vectors

    def to_floor(self, pts_px: ArrayLike) -> np.ndarray:
        """Pixels (N, 2) -> floor points (N, 2) in metres where the pixel's ray meets z = 0.

        NaN where the ray does not hit the floor in front of the camera (pixels on or above the
        horizon) or the pixel cannot be undistorted.

        Example::

            cam.to_floor([[480.0, 500.0]])   # (1, 2) metres
        """
        d = self.rays_world(pts_px)
        c = self.center_m
        with np.errstate(divide="ignore", invalid="ignore"):
            s = -c[2] / d[..., 2]
            xy = c[:2] + s[..., None] * d[..., :2]
        # the centre is above the floor: the ray must go down (by more than rounding noise)
        xy[~(d[..., 2] < -_HORIZON_EPS * np.abs(d).sum(axis=-1))] = np.nan
        return xy

    def floor_to_image(self, xy_m: ArrayLike) -> np.ndarray:
        """Floor points (N, 2) in metres -> pixels (N, 2) with distortion; NaN behind the camera."""
        xy = _points(xy_m, 2, "xy_m")
        return self.project(np.concatenate([xy, np.zeros_like(xy[..., :1])], axis=-1))

    def fov_polygon(self, max_range_m: float = 30.0) -> Polygon:
        """The floor area the camera sees, within ``max_range_m`` of the floor point below the
        camera centre, as a shapely Polygon in metres (empty if none).

        Computed exactly for the undistorted model: the image border (traced at 64 points per
        edge through the lens model when there is distortion, and cut to the radius where the
        lens model folds back if the image reaches past it) is clipped below the horizon,
        mapped to the floor by the inverse of ``[r1 r2 t]`` and intersected with the range disk
        (a 256-gon). A result split in pieces by strong distortion keeps the largest piece.

        Example::

            cam.fov_polygon(20.0).area   # m^2
        """
        R, t = self.R_world_to_cam, self.t_world_to_cam_m
        G = np.column_stack([R[:, 0], R[:, 1], t])  # floor -> normalised, w = depth
        samples = 1 if self._no_distortion else _FOV_BORDER_SAMPLES
        border_d = self._px_to_normalised(_image_border_px(self.image_size_wh, samples))
        r_valid = self._valid_radius_d
        if (np.hypot(border_d[:, 0], border_d[:, 1]) >= r_valid).any():
            # the image reaches past the lens model's fold: keep the part inside it
            inside = Polygon(border_d).intersection(
                Point(0.0, 0.0).buffer(r_valid, quad_segs=_DISK_QUAD_SEGS))
            parts = [g for g in getattr(inside, "geoms", [inside]) if isinstance(g, Polygon)]
            if not parts:
                return Polygon()
            border_d = np.asarray(max(parts, key=lambda g: g.area).exterior.coords)[:-1]
        border = self.undistort(border_d)
        border = border[np.isfinite(border).all(axis=1)]
        if len(border) < 3:
            return Polygon()
        return _fov_polygon(G, border, self.center_m[:2], float(max_range_m))


# ---------------------------------------------------------------------------------------------
# homography-only camera


@dataclass(frozen=True, eq=False)
class HomographyCamera:
    """A camera known only by its image <-> floor homography (as Metropolis calibrations are).

    Attributes:
        H_img_to_floor: (3, 3) pixels (u, v, 1) -> floor (x, y, w) in metres. Stored rescaled so
            that the bottom-centre pixel (w/2, h) has w = 1; pixels with w <= 0 are on or above
            the horizon.
        image_size_wh: (width, height) in pixels.
        camera_id: free text.

    Validation: shape, finite, invertible, and the bottom image edge must lie below the horizon
    (otherwise the floor in front of the camera cannot be told from the floor behind it).

    Example::

        cam = HomographyCamera(H_img_to_floor=np.linalg.inv(H_floor_to_img),
                               image_size_wh=(1920, 1080), camera_id="cam1")
        cam.to_floor([[960.0, 1000.0]])
    """

    H_img_to_floor: np.ndarray
    image_size_wh: tuple[int, int]
    camera_id: str = ""

    def __post_init__(self) -> None:
        where = f"HomographyCamera(camera_id={self.camera_id!r})"
        H = np.array(_as_matrix(self.H_img_to_floor, (3, 3), "H_img_to_floor", where))
        size = _as_image_size(self.image_size_wh, where)
        H = H / np.abs(H).max() if np.abs(H).max() > 0 else H
        sv = np.linalg.svd(H, compute_uv=False)
        if not sv[-1] > 1e-12 * sv[0]:
            raise ValueError(
                f"{where}: H_img_to_floor is singular (singular values {sv.tolist()}); "
                "refit it from point pairs in general position"
            )
        w, h = size
        w_bottom = H[2] @ np.array([[0.0, w], [h, h], [1.0, 1.0]])  # w at (0, h) and (w, h)
        scale = float(np.abs(H[2]).max()) * (w + h + 1)
        if not (w_bottom[0] * w_bottom[1] > 0 and min(abs(w_bottom)) > 1e-9 * scale):
            raise ValueError(
                f"{where}: the homography maps the bottom image edge to infinity: the edge lies "
                "on or beyond the horizon line (w = "
                f"{w_bottom[0]:.3g} at (0, {h}) and {w_bottom[1]:.3g} at ({w}, {h})); check that "
                "the point pairs are not swapped and that image_size_wh is right"
            )
        H = H / (H[2] @ np.array([w / 2, h, 1.0]))
        H.setflags(write=False)
        object.__setattr__(self, "H_img_to_floor", H)
        object.__setattr__(self, "image_size_wh", size)
        object.__setattr__(self, "camera_id", str(self.camera_id))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HomographyCamera):
            return NotImplemented
        return (
            np.array_equal(self.H_img_to_floor, other.H_img_to_floor)
            and self.image_size_wh == other.image_size_wh
            and self.camera_id == other.camera_id
        )

    __hash__ = None  # type: ignore[assignment]

    @cached_property
    def H_floor_to_img(self) -> np.ndarray:
        """(3, 3) floor (x, y, 1) -> pixels; positive third coordinate in front of the camera."""
        return _readonly(np.linalg.inv(self.H_img_to_floor))

    @cached_property
    def range_origin_m(self) -> np.ndarray:
        """(2,) floor point of the bottom-centre pixel (w/2, h): where fov_polygon's range is
        measured from (a homography does not know the camera centre)."""
        w, h = self.image_size_wh
        return _readonly(self.to_floor(np.array([[w / 2, h]]))[0])

    def to_floor(self, pts_px: ArrayLike) -> np.ndarray:
        """Pixels (N, 2) -> floor points (N, 2) in metres; NaN on or above the horizon."""
        return apply_homography(self.H_img_to_floor, _points(pts_px, 2, "pts_px"))

    def floor_to_image(self, xy_m: ArrayLike) -> np.ndarray:
        """Floor points (N, 2) in metres -> pixels (N, 2); NaN for floor points behind the camera
        (those that would map above the horizon)."""
        return apply_homography(self.H_floor_to_img, _points(xy_m, 2, "xy_m"))

    def fov_polygon(self, max_range_m: float = 30.0) -> Polygon:
        """The floor area seen by the image rectangle within ``max_range_m`` of
        :attr:`range_origin_m` (the bottom-centre pixel's floor point), as a shapely Polygon.

        Exact: the image rectangle is clipped below the horizon, mapped by the homography and
        intersected with the range disk (a 256-gon).
        """
        w, h = self.image_size_wh
        border = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
        return _fov_polygon(self.H_floor_to_img, border, self.range_origin_m, float(max_range_m))


Camera = PinholeCamera | HomographyCamera
