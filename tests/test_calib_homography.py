"""calib.fit_homography: recovery from noisy clicks, outliers, reported errors, refused input."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from calib import PinholeCamera, fit_homography, reprojection_errors

TRUE = PinholeCamera.look_at((0.0, -6.0, 3.5), (0.5, 4.0, 0.0), (1280, 720), 70.0, "cam1")
RANGE_M = 15.0  # clicks and checks stay within this distance of the camera


def _clicks(n: int, noise_px: float, seed: int):
    rng = np.random.default_rng(seed)
    fov = TRUE.fov_polygon(RANGE_M)
    minx, miny, maxx, maxy = fov.bounds
    xy = rng.uniform([minx, miny], [maxx, maxy], (50 * n, 2))
    xy = xy[shapely.contains_xy(fov, xy[:, 0], xy[:, 1])][:n]
    pts_px = TRUE.floor_to_image(xy) + rng.normal(0.0, noise_px, (n, 2))
    return pts_px, xy


def test_noisy_fit_recovers_the_true_homography():
    # 30 clicks with 0.5 px Gaussian noise per axis (seeded)
    pts_px, xy_m = _clicks(30, 0.5, seed=7)
    fit = fit_homography(pts_px, xy_m, image_size_wh=(1280, 720), camera_id="cam1")
    assert fit.camera.camera_id == "cam1" and fit.camera.image_size_wh == (1280, 720)
    assert fit.inlier_mask.all() and fit.n_inliers == 30
    # Tolerance: over the whole field of view within 15 m, the fitted camera puts the true
    # pixel of each floor point within 5 cm of it.
    fov = TRUE.fov_polygon(RANGE_M)
    minx, miny, maxx, maxy = fov.bounds
    gx, gy = np.meshgrid(np.linspace(minx, maxx, 60), np.linspace(miny, maxy, 60))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    grid = grid[shapely.contains_xy(fov, grid[:, 0], grid[:, 1])]
    err_m = np.linalg.norm(fit.camera.to_floor(TRUE.floor_to_image(grid)) - grid, axis=1)
    assert err_m.max() < 0.05
    # the median distance of a 2-D Gaussian with sigma 0.5 is 0.5 * sqrt(2 ln 2) = 0.59 px;
    # the fit absorbs a little of the noise
    assert 0.3 < fit.reprojection_error_px < 0.8
    assert 0.0 < fit.error_m < 0.05


def test_reported_errors_are_the_medians_over_inliers():
    pts_px, xy_m = _clicks(30, 0.5, seed=8)
    fit = fit_homography(pts_px, xy_m, image_size_wh=(1280, 720))
    err_px, err_m = reprojection_errors(fit.camera, pts_px, xy_m)
    assert fit.reprojection_error_px == pytest.approx(np.median(err_px[fit.inlier_mask]))
    assert fit.error_m == pytest.approx(np.median(err_m[fit.inlier_mask]))


def test_ransac_rejects_misclicks():
    pts_px, xy_m = _clicks(30, 0.5, seed=9)
    pts_px[[3, 11, 20]] += [[80.0, -40.0], [-60.0, 90.0], [120.0, 5.0]]
    fit = fit_homography(pts_px, xy_m, image_size_wh=(1280, 720), ransac_px=3.0)
    expected = np.ones(30, dtype=bool)
    expected[[3, 11, 20]] = False
    np.testing.assert_array_equal(fit.inlier_mask, expected)
    assert fit.reprojection_error_px < 0.8


def test_exact_four_point_fit_hand_computed():
    # u = 100 x + 200, v = 1000 - 50 y (a top view: an affine homography)
    xy_m = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 8.0], [0.0, 8.0]])
    pts_px = np.column_stack([100 * xy_m[:, 0] + 200, 1000 - 50 * xy_m[:, 1]])
    fit = fit_homography(pts_px, xy_m, image_size_wh=(1280, 1024))
    np.testing.assert_allclose(fit.camera.to_floor([[400.0, 900.0]]), [[(400 - 200) / 100,
                                                                          (1000 - 900) / 50]])
    assert fit.reprojection_error_px == pytest.approx(0.0, abs=1e-6)
    # without an image size, the smallest image holding the clicks: (ceil(max u), ceil(max v))
    assert fit_homography(pts_px, xy_m).camera.image_size_wh == (600, 1000)


def test_fewer_than_four_pairs_refused():
    pts_px, xy_m = _clicks(3, 0.0, seed=1)
    with pytest.raises(ValueError, match="need at least 4 point pairs, got 3"):
        fit_homography(pts_px, xy_m, (1280, 720))


def test_collinear_points_refused():
    xy_m = np.column_stack([np.linspace(0, 5, 6), np.linspace(2, 7, 6)])  # on y = x + 2
    pts_px = TRUE.floor_to_image(xy_m)
    with pytest.raises(ValueError, match="xy_m points are collinear"):
        fit_homography(pts_px, xy_m, (1280, 720))
    pts_px2, xy_m2 = _clicks(6, 0.0, seed=2)
    line_px = np.column_stack([np.linspace(100, 600, 6), np.full(6, 500.0)])
    with pytest.raises(ValueError, match="pts_px points are collinear"):
        fit_homography(line_px, xy_m2, (1280, 720))


def test_nan_refused_with_rows():
    pts_px, xy_m = _clicks(6, 0.0, seed=3)
    xy_m[2, 1] = np.nan
    pts_px[4, 0] = np.inf
    with pytest.raises(ValueError, match=r"NaN or infinite coordinates .* rows \[2, 4\]"):
        fit_homography(pts_px, xy_m, (1280, 720))


def test_mismatched_lengths_and_shapes_refused():
    pts_px, xy_m = _clicks(6, 0.0, seed=4)
    with pytest.raises(ValueError, match="pts_px has 6 points but xy_m has 5"):
        fit_homography(pts_px, xy_m[:5])
    with pytest.raises(ValueError, match=r"xy_m must have shape \(N, 2\)"):
        fit_homography(pts_px, np.zeros((6, 3)))


def test_bottom_edge_at_infinity_refused():
    # a level camera: the horizon is the middle row v = 360. Clicks below it are fine, but with
    # a wrong image size of 1280x300 the bottom edge (v = 300) is beyond the horizon.
    level = PinholeCamera.look_at((0.0, 0.0, 2.0), (0.0, 10.0, 2.0), (1280, 720), 70.0)
    rng = np.random.default_rng(5)
    pts_px = rng.uniform([100, 420], [1180, 700], (12, 2))
    xy_m = level.to_floor(pts_px)
    assert fit_homography(pts_px, xy_m, (1280, 720)).reprojection_error_px < 1e-3
    with pytest.raises(ValueError, match="maps the bottom image edge to infinity"):
        fit_homography(pts_px, xy_m, (1280, 300))
