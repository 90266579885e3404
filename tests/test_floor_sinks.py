from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calib import PinholeCamera
from mtmc.associate import GLOBAL_ID, QUALITY, GlobalObject
from mtmc.floor import TRUNCATED_WEIGHT, FloorMapper, box_quality
from mtmc.sinks import RunWriter
from mtmc.types import CAMERA_ID, FLOOR_XY, Detections


def camera() -> PinholeCamera:
    return PinholeCamera.look_at(position_m=(0, -6, 4), target_m=(0, 4, 0), image_size_wh=(640, 360),
                                 hfov_deg=80.0, camera_id="cam1")


def box_at(cam: PinholeCamera, x: float, y: float, height_px: float = 80) -> list[float]:
    u, v = cam.project([[x, y, 0.0]])[0]
    return [u - 15, v - height_px, u + 15, v]


def test_box_quality_hand_computed() -> None:
    q = box_quality(np.array([[0, 0, 40, 100], [0, 400, 40, 500]]), (1000, 500))
    assert q[0] == pytest.approx(100**2 / 500000)
    assert q[1] == pytest.approx(100**2 / 500000 * TRUNCATED_WEIGHT)  # cut by the bottom edge


def test_floor_mapper_feet_and_roi() -> None:
    cam = camera()
    dets = Detections(xyxy=[box_at(cam, 1.0, 2.0), box_at(cam, -3.0, 5.0)], meta={CAMERA_ID: "cam1"})
    out = FloorMapper(cam).update(dets)
    assert out.data[FLOOR_XY] == pytest.approx(np.array([[1.0, 2.0], [-3.0, 5.0]]), abs=1e-3)
    assert out.data[QUALITY].shape == (2,)
    roi = [[0, 0], [5, 0], [5, 5], [0, 5]]
    out = FloorMapper(cam, roi).update(dets)
    assert out.data[FLOOR_XY][0] == pytest.approx([1.0, 2.0], abs=1e-3)
    assert np.isnan(out.data[FLOOR_XY][1]).all()  # outside the ROI
    assert len(FloorMapper(cam).update(Detections.empty())) == 0


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
