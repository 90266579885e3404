"""calib.camera: projection round trips, homographies, horizon, field of view, validation."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
import shapely

from calib import HomographyCamera, PinholeCamera

# A camera 10 m above (2, 3) looking straight down, fx = fy = 1000 px, 1920x1080: pixel offsets
# from the centre are metres * 1000 / 10 on the floor, so the arithmetic stays readable.
DOWN = PinholeCamera(
    K=[[1000.0, 0, 960], [0, 1000.0, 540], [0, 0, 1]],
    R_world_to_cam=[[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]],
    t_world_to_cam_m=[-2.0, 3.0, 10.0],
    image_size_wh=(1920, 1080),
    camera_id="down",
)

TILTED = PinholeCamera.look_at((1.0, -6.0, 3.5), (2.0, 4.0, 0.0), (960, 540), 75.0, "tilted")


def _cameras() -> dict[str, PinholeCamera]:
    def tilted(**kw):
        return PinholeCamera.look_at((1.0, -6.0, 3.5), (2.0, 4.0, 0.0), (960, 540), 75.0, **kw)

    return {
        "no distortion": TILTED,
        "opencv k1 k2 p1 p2 k3": tilted(dist=[-0.25, 0.08, 0.001, -0.0015, -0.01]),
        "opencv rational": tilted(dist=[0.1, -0.02, 0.0005, 0.0002, 0.001, 0.05, -0.01, 0.002]),
        # 110 deg wide with strong barrel distortion: cv2.undistortPoints-style fixed-point
        # iteration diverges at the image corners here
        "opencv wide barrel": PinholeCamera.look_at(
            (1.0, -6.0, 3.5), (2.0, 4.0, 0.0), (960, 540), 110.0,
            dist=[-0.2, 0.02, 0.001, -0.001, 0.0]),
        "tsai barrel": tilted(dist=[0.15], distortion_model="tsai"),
        "tsai pincushion": tilted(dist=[-0.05], distortion_model="tsai"),
    }


CAMERAS = _cameras()


def _floor_points_in_view(cam: PinholeCamera, n: int, seed: int, max_range_m: float = 20.0):
    """n floor points drawn uniformly inside the camera's field of view."""
    rng = np.random.default_rng(seed)
    fov = cam.fov_polygon(max_range_m)
    minx, miny, maxx, maxy = fov.bounds
    pts = rng.uniform([minx, miny], [maxx, maxy], (20 * n, 2))
    pts = pts[shapely.contains_xy(fov, pts[:, 0], pts[:, 1])]
    assert len(pts) >= n
    return pts[:n]


@pytest.mark.parametrize("name", sorted(CAMERAS))
def test_floor_project_to_floor_round_trip(name):
    cam = CAMERAS[name]
    xy_m = _floor_points_in_view(cam, 200, seed=1)
    pts_px = cam.project(np.column_stack([xy_m, np.zeros(len(xy_m))]))
    assert np.isfinite(pts_px).all()
    assert np.abs(cam.to_floor(pts_px) - xy_m).max() < 1e-6
    # floor_to_image is project at z = 0
    np.testing.assert_array_equal(cam.floor_to_image(xy_m), pts_px)


@pytest.mark.parametrize("name", sorted(CAMERAS))
def test_undistorted_pixels_map_to_the_floor_by_the_homography(name):
    cam = CAMERAS[name]
    xy_m = _floor_points_in_view(cam, 100, seed=3)
    pts_px = cam.floor_to_image(xy_m)  # with the lens's distortion
    ideal_px = cam.undistort_px(pts_px)
    h = np.column_stack([ideal_px, np.ones(len(ideal_px))]) @ cam.H_img_to_floor.T
    assert np.abs(h[:, :2] / h[:, 2:] - xy_m).max() < 1e-6
    if name == "no distortion":
        np.testing.assert_array_equal(ideal_px, pts_px)


@pytest.mark.parametrize("name", sorted(CAMERAS))
def test_pixel_to_floor_to_pixel_round_trip(name):
    cam = CAMERAS[name]
    w, h = cam.image_size_wh
    rng = np.random.default_rng(2)
    pts_px = rng.uniform([0, 0.6 * h], [w, h], (200, 2))  # below the horizon for this camera
    xy_m = cam.to_floor(pts_px)
    assert np.isfinite(xy_m).all()
    assert np.abs(cam.floor_to_image(xy_m) - pts_px).max() < 1e-6


def test_homographies_are_inverse_and_match_projection():
    cam = TILTED
    np.testing.assert_allclose(cam.H_img_to_floor @ cam.H_floor_to_img, np.eye(3), atol=1e-12)
    xy_m = _floor_points_in_view(cam, 50, seed=3)
    q = np.column_stack([xy_m, np.ones(len(xy_m))]) @ cam.H_floor_to_img.T
    np.testing.assert_allclose(q[:, :2] / q[:, 2:], cam.floor_to_image(xy_m), atol=1e-9)
    # the third coordinate of H_floor_to_img is the depth in metres
    depth = (np.column_stack([xy_m, np.zeros(len(xy_m))]) @ cam.R_world_to_cam.T
             + cam.t_world_to_cam_m)[:, 2]
    np.testing.assert_allclose(q[:, 2], depth, rtol=1e-12)
    hcam = HomographyCamera(cam.H_img_to_floor, cam.image_size_wh)
    np.testing.assert_allclose(hcam.H_img_to_floor @ hcam.H_floor_to_img, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(hcam.floor_to_image(xy_m), cam.floor_to_image(xy_m), atol=1e-8)
    pts_px = cam.floor_to_image(xy_m)
    np.testing.assert_allclose(hcam.to_floor(pts_px), xy_m, atol=1e-9)


def test_hand_computed_down_camera():
    np.testing.assert_allclose(DOWN.center_m, [2.0, 3.0, 10.0])
    # the principal point sees the floor below the camera
    np.testing.assert_allclose(DOWN.to_floor([[960.0, 540.0]]), [[2.0, 3.0]])
    # 1000 px right = 1 normalised unit = 10 m at 10 m height; image down = world -y
    np.testing.assert_allclose(DOWN.to_floor([[960.0 + 1000, 540.0 + 500]]),
                               [[2.0 + 10.0, 3.0 - 5.0]])
    np.testing.assert_allclose(DOWN.project([[12.0, 3.0, 0.0], [2.0, 3.0, 5.0]]),
                               [[1960.0, 540.0], [960.0, 540.0]])
    # a point 1 m right of the axis at 5 m height is at depth 5: 1000 * 1 / 5 = 200 px
    np.testing.assert_allclose(DOWN.project([[3.0, 3.0, 5.0]]), [[960.0 + 200, 540.0]])
    # above the camera = behind it
    assert np.isnan(DOWN.project([[2.0, 3.0, 11.0]])).all()
    # a bare point works too
    np.testing.assert_allclose(DOWN.project([12.0, 3.0, 0.0]), [1960.0, 540.0])


def test_horizon_gives_nan():
    # a level camera 2 m high looking along +y: the horizon is the middle row v = h / 2
    cam = PinholeCamera.look_at((0.0, 0.0, 2.0), (0.0, 10.0, 2.0), (800, 600), 90.0)
    f = 800 / 2 / math.tan(math.radians(45))
    xy = cam.to_floor([[400.0, 100.0], [400.0, 300.0], [400.0, 300.0 + 0.2 * f], [0.0, 600.0]])
    assert np.isnan(xy[0]).all() and np.isnan(xy[1]).all()
    # 0.2 below the axis in normalised units hits the floor at 2 / 0.2 = 10 m
    np.testing.assert_allclose(xy[2], [0.0, 10.0])
    # bottom-left corner: y_n = 300 / 400 = 0.75 -> y = 2 / 0.75, x = -1 * y
    np.testing.assert_allclose(xy[3], [-2 / 0.75, 2 / 0.75])
    # floor behind the camera does not map into the image
    assert np.isnan(cam.floor_to_image([[0.0, -5.0]])).all()
    hcam = HomographyCamera(cam.H_img_to_floor, cam.image_size_wh)
    assert np.isnan(hcam.to_floor([[400.0, 100.0], [400.0, 300.0]])).all()
    assert np.isnan(hcam.floor_to_image([[0.0, -5.0]])).all()
    np.testing.assert_allclose(hcam.to_floor([[400.0, 300.0 + 0.2 * f]]), [[0.0, 10.0]], atol=1e-12)


def test_fov_of_camera_looking_straight_down_is_a_rectangle():
    # height 4 m, hfov 90 deg, 800x600: the floor seen is 2 * 4 * tan(45) = 8 m by 8 * 600 / 800
    cam = PinholeCamera.look_at((1.0, 2.0, 4.0), (1.0, 2.0, 0.0), (800, 600), 90.0)
    fov = cam.fov_polygon(max_range_m=100.0)
    assert fov.area == pytest.approx(8.0 * 6.0)
    np.testing.assert_allclose(fov.bounds, [1 - 4.0, 2 - 3.0, 1 + 4.0, 2 + 3.0], atol=1e-9)
    # the image top points to world +y for a camera looking straight down
    assert cam.floor_to_image([[1.0, 4.0]])[0, 1] < 300
    # a 2 m range fits inside the rectangle: the disk (a 256-gon) is all that is left
    assert cam.fov_polygon(max_range_m=2.0).area == pytest.approx(math.pi * 2.0**2, rel=2e-4)
    # tilted by 0.014 deg the horizon is ~4000 normalised units away from the image: the same
    nearly = PinholeCamera.look_at((1.0, 2.0, 4.0), (1.0, 2.0 + 1e-3, 0.0), (800, 600), 90.0)
    assert nearly.fov_polygon(max_range_m=100.0).area == pytest.approx(8.0 * 6.0, rel=1e-5)


def test_fov_of_level_camera_is_a_clipped_wedge():
    # level camera 2 m high, square 800x800 image, hfov 90: the floor seen is the wedge
    # |x| <= y beyond the bottom row's ray (y_n = 400 / 400 = 1 -> y_near = 2 / 1 = 2 m)
    cam = PinholeCamera.look_at((0.0, 0.0, 2.0), (0.0, 10.0, 2.0), (800, 800), 90.0)
    fov = cam.fov_polygon(max_range_m=10.0)
    expected = math.pi * 10.0**2 / 4 - 2.0**2  # quarter disk minus the near triangle
    assert fov.area == pytest.approx(expected, rel=2e-4)
    minx, miny, maxx, maxy = fov.bounds
    assert miny == pytest.approx(2.0)
    assert maxy == pytest.approx(10.0, abs=1e-3)
    assert maxx == pytest.approx(10.0 / math.sqrt(2), abs=1e-3)
    # the homography camera measures the range from the bottom-centre pixel's floor point (0, 2)
    hcam = HomographyCamera(cam.H_img_to_floor, cam.image_size_wh)
    np.testing.assert_allclose(hcam.range_origin_m, [0.0, 2.0], atol=1e-12)
    assert hcam.fov_polygon(8.0).bounds[3] == pytest.approx(2.0 + 8.0, abs=1e-3)
    # the nearest floor it sees is 2 m away: nothing within 1.5 m
    assert cam.fov_polygon(max_range_m=1.5).is_empty


@pytest.mark.parametrize("name", sorted(CAMERAS))
def test_fov_polygon_agrees_with_the_image(name):
    cam = CAMERAS[name]
    t0 = time.perf_counter()
    fov = cam.fov_polygon(max_range_m=15.0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.05
    assert fov.is_valid and fov.area > 0
    w, h = cam.image_size_wh
    # every vertex maps into the image (up to the border tracing) and lies within range
    ring = np.asarray(fov.exterior.coords)
    px = cam.floor_to_image(ring)
    assert np.isfinite(px).all()
    assert (px > -1.0).all() and (px[:, 0] < w + 1).all() and (px[:, 1] < h + 1).all()
    assert (np.linalg.norm(ring - cam.center_m[:2], axis=1) <= 15.0 + 1e-9).all()
    # pixels whose floor point is within range are inside the polygon, others are not
    rng = np.random.default_rng(4)
    xy = cam.to_floor(rng.uniform([0, 0], [w, h], (2000, 2)))
    ok = np.isfinite(xy).all(axis=1)
    dist = np.linalg.norm(xy[ok] - cam.center_m[:2], axis=1)
    inside = shapely.contains_xy(fov.buffer(1e-6), xy[ok][:, 0], xy[ok][:, 1])
    assert inside[dist < 14.9].all()
    assert not inside[dist > 15.1].any()


def test_fov_of_camera_looking_away_from_the_floor_is_empty():
    cam = PinholeCamera.look_at((0.0, 0.0, 2.0), (0.0, 10.0, 6.0), (640, 480), 60.0)
    assert cam.fov_polygon(30.0).is_empty
    with pytest.raises(ValueError, match="max_range_m must be a positive"):
        cam.fov_polygon(0.0)


def test_look_at_geometry():
    cam = PinholeCamera.look_at((0.0, 0.0, 3.0), (0.0, 4.0, 0.0), (1000, 500), 90.0)
    # the target is at the principal point, fx = 500 / tan(45)
    np.testing.assert_allclose(cam.project([[0.0, 4.0, 0.0]]), [[500.0, 250.0]])
    np.testing.assert_allclose(cam.K[0, 0], 500.0)
    assert cam.hfov_deg == pytest.approx(90.0)
    # world +x is to the right in the image, world up is up
    right, up = cam.project([[1.0, 4.0, 0.0], [0.0, 4.0, 1.0]])
    assert right[0] > 500 and up[1] < 250


BAD_INPUTS = [
    (dict(K=np.eye(4)), r"K must have shape \(3, 3\), got shape \(4, 4\)"),
    (dict(K=[[1000, 0, 960], [5, 1000, 540], [0, 0, 1]]), "K must be upper triangular"),
    (dict(K=[[-1000, 0, 960], [0, 1000, 540], [0, 0, 1]]), "focal lengths must be positive"),
    (dict(R_world_to_cam=np.diag([1.0, 1.0, -1.0])), r"must be a rotation.*det = -1"),
    (dict(R_world_to_cam=np.eye(3) * 1.01), "must be a rotation"),
    (dict(t_world_to_cam_m=[-2.0, np.nan, 10.0]), "t_world_to_cam_m contains NaN"),
    (dict(t_world_to_cam_m=[-2.0, 3.0, -1.0]), "camera below the floor"),
    (dict(image_size_wh=(1920, 0)), r"image_size_wh must be positive, got \(1920, 0\)"),
    (dict(image_size_wh=(1920.5, 1080)), "image_size_wh must be two integers"),
    (dict(dist=[0.1, 0.2, 0.3]), r"lengths \(4, 5, 8\), got 3"),
    (dict(dist=[0.1, 0.2], distortion_model="tsai"),
     r"tsai model must have one of the lengths \(1,\)"),
    (dict(distortion_model="fisheye"), "distortion_model must be 'opencv' or 'tsai'"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUTS)
def test_pinhole_validation_names_the_problem(change, message):
    fields = dict(K=DOWN.K, R_world_to_cam=DOWN.R_world_to_cam,
                  t_world_to_cam_m=DOWN.t_world_to_cam_m, image_size_wh=(1920, 1080),
                  camera_id="camX")
    fields.update(change)
    with pytest.raises(ValueError, match=message) as info:
        PinholeCamera(**fields)
    assert "camX" in str(info.value)


def test_homography_camera_validation():
    with pytest.raises(ValueError, match="singular"):
        HomographyCamera(np.diag([1.0, 1.0, 0.0]), (640, 480))
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        HomographyCamera(np.eye(2), (640, 480))
    # horizon through the bottom edge: w = v - 480 is 0 all along the bottom row
    H = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 1.0, -480.0]])
    with pytest.raises(ValueError, match="bottom image edge to infinity"):
        HomographyCamera(H, (640, 480))
    # a tilted horizon crossing the bottom edge: w = u - 320
    H = np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 0, -320.0]])
    with pytest.raises(ValueError, match="on or beyond the horizon"):
        HomographyCamera(H, (640, 480))


def test_camera_is_a_frozen_value_with_read_only_arrays():
    K = np.array([[1000.0, 0, 960], [0, 1000.0, 540], [0, 0, 1]])
    cam = PinholeCamera(K=K, R_world_to_cam=DOWN.R_world_to_cam,
                        t_world_to_cam_m=DOWN.t_world_to_cam_m, image_size_wh=(1920, 1080),
                        camera_id="down")
    K[0, 0] = 5.0  # the camera holds its own copy
    assert cam.K[0, 0] == 1000.0
    assert cam == DOWN
    with pytest.raises(ValueError, match="read-only"):
        cam.K[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        cam.H_img_to_floor[0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        cam.camera_id = "other"  # type: ignore[misc]
    moved = dataclasses.replace(cam, camera_id="other")
    assert moved.camera_id == "other" and moved != cam
    with pytest.raises(ValueError, match="camera below the floor"):
        dataclasses.replace(cam, t_world_to_cam_m=[0.0, 0.0, -1.0])


def test_input_shapes_are_checked():
    with pytest.raises(ValueError, match=r"xyz_m must have shape \(N, 3\)"):
        DOWN.project([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"pts_px must have shape \(N, 2\)"):
        DOWN.to_floor([[1.0, 2.0, 3.0]])
    assert DOWN.to_floor(np.zeros((0, 2))).shape == (0, 2)
    assert np.isnan(DOWN.to_floor([[np.nan, 3.0]])).all()


def test_strong_barrel_distortion_does_not_fold_far_points_into_the_image():
    # x_d = x (1 - 0.3 r^2) rises until 1 - 0.9 r^2 = 0, r = 1 / sqrt(0.9) = 1.054, then falls:
    # a point at x = 1.5 (56 deg off axis) would land at 1.5 * (1 - 0.3 * 2.25) = 0.49, inside
    # the image; it is reported as NaN instead.
    cam = PinholeCamera(K=DOWN.K, R_world_to_cam=DOWN.R_world_to_cam,
                        t_world_to_cam_m=DOWN.t_world_to_cam_m, image_size_wh=(1920, 1080),
                        dist=[-0.3, 0.0, 0.0, 0.0, 0.0])
    # 10 m below the camera: x = 1.5 is 15 m off axis, x = 0.5 is 5 m
    px = cam.project([[2.0 + 15.0, 3.0, 0.0], [2.0 + 5.0, 3.0, 0.0]])
    assert np.isnan(px[0]).all()
    # the fold at 1.054 (to the model's 1.6e-4 scan step): 10.50 m off axis maps, 10.56 does not
    near, past = cam.project([[2.0 + 10.50, 3.0, 0.0], [2.0 + 10.56, 3.0, 0.0]])
    assert np.isfinite(near).all() and np.isnan(past).all()
    np.testing.assert_allclose(px[1], [960 + 1000 * 0.5 * (1 - 0.3 * 0.25), 540.0])
    np.testing.assert_allclose(cam.to_floor(px[1:]), [[7.0, 3.0]], atol=1e-9)


def test_fov_when_the_image_reaches_past_the_lens_fold():
    # 100 deg wide with k1 = -0.3: the image corners (x = tan(50 deg) = 1.19 and more) lie past
    # the fold at r = 1.054, where the model has no inverse. The polygon keeps the part of the
    # image inside the fold (99 % of its radius) and claims nothing the camera cannot see.
    cam = PinholeCamera.look_at((0.0, 0.0, 4.0), (0.0, 6.0, 0.0), (800, 600), 100.0,
                                dist=[-0.3, 0.0, 0.0, 0.0, 0.0])
    fov = cam.fov_polygon(20.0)
    assert fov.area > 20.0
    px = cam.floor_to_image(np.asarray(fov.exterior.coords))
    assert np.isfinite(px).all()
    assert (px > -1e-6).all() and (px[:, 0] < 800 + 1e-6).all() and (px[:, 1] < 600 + 1e-6).all()
