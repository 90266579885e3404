from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calib import HomographyCamera, PinholeCamera
from mtmc.associate import BOX_CUT, FLOOR_PRECISION, GLOBAL_ID, QUALITY, GlobalObject
from mtmc.floor import (
    BOX_BOTTOM_NOISE,
    BOX_SIDE_NOISE,
    CENTER_BEHIND_FOOT_M,
    TRUNCATED_WEIGHT,
    FloorMapper,
    box_cut,
    box_quality,
    push_along_view,
    upright_foot_px,
    vertical_vanishing_point,
)
from mtmc.sinks import RunWriter
from mtmc.types import CAMERA_ID, FLOOR_XY, Detections


def camera() -> PinholeCamera:
    return PinholeCamera.look_at(position_m=(0, -6, 4), target_m=(0, 4, 0), image_size_wh=(640, 360),
                                 hfov_deg=80.0, camera_id="cam1")


def box_at(cam: PinholeCamera, x: float, y: float, height_m: float = 1.7) -> list[float]:
    """The box of an upright person (a vertical segment 30 px wide) standing at (x, y): centred on
    the segment from foot to head, which leans towards the vertical vanishing point."""
    (uf, vf), (uh, vh) = cam.project([[x, y, 0.0], [x, y, height_m]])
    return [min(uf, uh) - 15, vh, max(uf, uh) + 15, vf]


def test_box_quality_and_cut_hand_computed() -> None:
    boxes = np.array([[100, 0, 140, 100], [100, 400, 140, 500], [0, 100, 40, 200],
                      [960, 100, 1000, 200]])
    q = box_quality(boxes, (1000, 500))
    assert q[0] == pytest.approx(100**2 / 500000)  # cut at the top only: feet still there
    assert q[1] == pytest.approx(100**2 / 500000 * TRUNCATED_WEIGHT)  # cut by the bottom edge
    assert q[2:] == pytest.approx([100**2 / 500000 * TRUNCATED_WEIGHT] * 2)  # left, right edge
    assert box_cut(boxes, (1000, 500)).tolist() == [False, True, True, True]


def test_upright_foot_hand_computed() -> None:
    # centre (20, 40); vanishing point (120, 240): the axis heads (100, 200); at y = 60 it is at
    # x = 20 + 100 * (60 - 40) / 200 = 30. A vanishing point at infinity straight down: x = 20.
    center, bottom = np.array([[20.0, 40.0]]), np.array([60.0])  # the box (10, 20, 30, 60)
    assert upright_foot_px(center, bottom, np.array([120.0, 240.0, 1.0])) == pytest.approx(np.array([[30.0, 60.0]]))
    assert upright_foot_px(center, bottom, np.array([0.0, 1.0, 0.0])) == pytest.approx(np.array([[20.0, 60.0]]))
    # a horizontal axis (camera rolled 90 degrees) has no crossing: the bottom centre
    assert upright_foot_px(center, bottom, np.array([1.0, 0.0, 0.0])) == pytest.approx(np.array([[20.0, 60.0]]))
    # homogeneous scale does not matter
    assert upright_foot_px(center, bottom, np.array([-240.0, -480.0, -2.0])) == pytest.approx(np.array([[30.0, 60.0]]))


def test_push_along_view_and_vanishing_point() -> None:
    out = push_along_view(np.array([[3.0, 4.0], [0.0, 0.0]]), np.array([0.0, 0.0]), 0.5)
    assert out == pytest.approx(np.array([[3.0 + 0.5 * 3 / 5, 4.0 + 0.5 * 4 / 5], [0.0, 0.0]]))
    down = PinholeCamera.look_at(position_m=(0, 0, 5), target_m=(0, 0.001, 0),
                                 image_size_wh=(640, 360), hfov_deg=80.0)
    v = vertical_vanishing_point(down)
    assert v[:2] / v[2] == pytest.approx([320.0, 180.0], abs=0.5)  # the principal point


def test_floor_mapper_feet_and_roi() -> None:
    cam = camera()
    dets = Detections(xyxy=[box_at(cam, 1.0, 2.0), box_at(cam, -3.0, 5.0)], meta={CAMERA_ID: "cam1"})
    # Without the body-centre offset the foot is found exactly, although both people lean in the
    # image (their bottom centres map 4 and 9 cm to the side).
    exact = FloorMapper(cam, center_behind_foot_m=0.0).update(dets)
    assert exact.data[FLOOR_XY] == pytest.approx(np.array([[1.0, 2.0], [-3.0, 5.0]]), abs=1e-3)
    bottom = cam.to_floor(dets.foot_px)
    assert np.hypot(*(bottom - exact.data[FLOOR_XY]).T).min() > 0.03
    # With it, each point moves CENTER_BEHIND_FOOT_M away from the camera (at (0, -6)).
    out = FloorMapper(cam).update(dets)
    away = np.array([[1.0, 8.0], [-3.0, 11.0]])
    away /= np.linalg.norm(away, axis=1, keepdims=True)
    expected = np.array([[1.0, 2.0], [-3.0, 5.0]]) + CENTER_BEHIND_FOOT_M * away
    assert out.data[FLOOR_XY] == pytest.approx(expected, abs=1e-3)
    assert out.data[QUALITY].shape == (2,) and out.data[BOX_CUT].tolist() == [False, False]
    roi = [[0, 0], [5, 0], [5, 5], [0, 5]]
    out = FloorMapper(cam, roi, center_behind_foot_m=0.0).update(dets)
    assert out.data[FLOOR_XY][0] == pytest.approx([1.0, 2.0], abs=1e-3)
    assert np.isnan(out.data[FLOOR_XY][1]).all()  # outside the ROI
    assert len(FloorMapper(cam).update(Detections.empty())) == 0


def test_floor_mapper_undistorts_before_finding_the_axis() -> None:
    base = camera()
    cam = PinholeCamera(K=base.K, R_world_to_cam=base.R_world_to_cam,
                        t_world_to_cam_m=base.t_world_to_cam_m, image_size_wh=(640, 360),
                        dist=[-0.2, 0.05, 0.0, 0.0, 0.0], camera_id="cam1")
    dets = Detections(xyxy=[box_at(cam, 2.0, 3.0), box_at(cam, -2.5, 6.0)])
    out = FloorMapper(cam, center_behind_foot_m=0.0).update(dets)
    # The distorted box's centre and bottom are not exactly the segment's, so allow 2 cm.
    assert out.data[FLOOR_XY] == pytest.approx(np.array([[2.0, 3.0], [-2.5, 6.0]]), abs=0.02)


def test_floor_mapper_homography_camera_pushes_away_from_the_camera() -> None:
    pin = camera()
    cam = HomographyCamera(H_img_to_floor=pin.H_img_to_floor, image_size_wh=(640, 360))
    u, v = pin.project([[1.0, 2.0, 0.0]])[0]
    dets = Detections(xyxy=[[u - 15, v - 80, u + 15, v]])  # bottom centre on (1, 2)
    out = FloorMapper(cam).update(dets)
    away = np.array([1.0, 8.0]) / np.hypot(1.0, 8.0)  # from the camera's foot (0, -6)
    # the image's up direction is a little off the true radial direction: allow 2 cm
    assert out.data[FLOOR_XY][0] == pytest.approx([1.0, 2.0] + CENTER_BEHIND_FOOT_M * away, abs=0.02)


def test_floor_precision_hand_computed() -> None:
    # A floor 0.01 m per pixel across and 0.02 m per pixel down the image: a 100 px tall box's
    # side noise (BOX_SIDE_NOISE * 100 px) and bottom noise (BOX_BOTTOM_NOISE * 100 px) become
    # standard deviations of 0.01 * 3 = 0.03 m in x and 0.02 * 5 = 0.1 m in y (at 3 % and 5 %).
    cam = HomographyCamera(H_img_to_floor=np.diag([0.01, 0.02, 1.0]), image_size_wh=(640, 360))
    boxes = [[100, 150, 110, 250], [0, 150, 10, 250]]  # the second is cut by the left edge
    out = FloorMapper(cam, center_behind_foot_m=0.0).update(Detections(xyxy=boxes))
    assert out.data[FLOOR_XY][0] == pytest.approx([1.05, 5.0])
    sx, sy = 0.01 * BOX_SIDE_NOISE * 100, 0.02 * BOX_BOTTOM_NOISE * 100
    expected = np.array([1 / sx**2, 0.0, 1 / sy**2])
    assert out.data[FLOOR_PRECISION][0] == pytest.approx(expected)
    assert out.data[FLOOR_PRECISION][1] == pytest.approx(expected * TRUNCATED_WEIGHT)


def test_floor_precision_is_weakest_along_the_view() -> None:
    cam = camera()  # stands at (0, -6)
    out = FloorMapper(cam).update(Detections(xyxy=[box_at(cam, 3.0, 4.0)]))
    pxx, pxy, pyy = out.data[FLOOR_PRECISION][0]
    values, vectors = np.linalg.eigh(np.array([[pxx, pxy], [pxy, pyy]]))
    view = np.array([3.0, 10.0]) / np.hypot(3.0, 10.0)
    assert abs(vectors[:, 0] @ view) > 0.99  # the least precise direction points at the camera
    assert values[1] > 4 * values[0] > 0


def test_floor_mapper_above_horizon_is_nan() -> None:
    cam = camera()
    out = FloorMapper(cam).update(Detections(xyxy=[[300, 0, 310, 2]]))
    assert np.isnan(out.data[FLOOR_XY]).all()


def test_run_writer_formats(tmp_path: Path) -> None:
    dets = Detections(
        xyxy=[[10, 20, 40, 100], [5, 5, 15, 30], [50, 50, 60, 80]],
        confidence=[0.9, 0.5, 0.8],
        data={CAMERA_ID: np.array(["cam1", "cam2", "cam2"]), GLOBAL_ID: np.array([3, 3, -1]),
              FLOOR_XY: np.array([[1.0, 2.0], [np.nan, np.nan], [0, 0]]), "frame": np.array([7, 7, 7])},
    )
    obj = GlobalObject(global_id=3, x_m=1.23456, y_m=2.0, vx_mps=0.5, vy_mps=0.0, cams={"cam1": 4, "cam2": 9})
    with RunWriter(tmp_path, ["cam1", "cam2"], flush_interval_s=0.0) as w:
        w.write_step(7, 0.6, [obj], dets)
        # flushed at once (interval 0): readable while the run goes on
        assert (tmp_path / "rtls.jsonl").read_text() != ""
        w.write_step(8, 0.7, [], Detections.empty())
    lines = (tmp_path / "rtls.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"frame": 7, "t": 0.6, "objects": [
        {"id": 3, "x": 1.235, "y": 2.0, "vx": 0.5, "vy": 0.0, "cams": {"cam1": 4, "cam2": 9}}]}
    assert json.loads(lines[1]) == {"frame": 8, "t": 0.7, "objects": []}
    assert (tmp_path / "mot/cam1.txt").read_text() == "7,3,10.00,20.00,30.00,80.00,0.900,-1,-1,-1\n"
    assert (tmp_path / "mot/cam2.txt").read_text() == "7,3,5.00,5.00,10.00,25.00,0.500,-1,-1,-1\n"
    assert (tmp_path / "aic.txt").read_text().splitlines() == [
        "1 3 7 10 20 30 80 1.000 2.000", "2 3 7 5 5 10 25 -1.000 -1.000"]
