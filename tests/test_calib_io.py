"""calib.io: project JSON, Metropolis calibration.json, OpenCV XML and Tsai XML readers/writers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from calib import HomographyCamera, PinholeCamera, fit_homography
from calib.io import (
    CalibrationFileError,
    load_calibration,
    load_camera,
    load_camera_with_extra,
    read_metropolis,
    read_opencv_xml,
    read_tsai_xml,
    save_camera,
    write_metropolis,
)

FIXTURES = Path(__file__).parent / "fixtures" / "calib"
METROPOLIS = FIXTURES / "metropolis_two_sensors.json"
INTR, EXTR = FIXTURES / "intr_cam1.xml", FIXTURES / "extr_cam1.xml"
TSAI = FIXTURES / "tsai_view.xml"

TILTED = PinholeCamera.look_at((1.0, -6.0, 3.5), (2.0, 4.0, 0.0), (960, 540), 75.0, "cam1")


def _cameras() -> list:
    opencv = PinholeCamera.look_at((8.0, -4.0, 4.0), (3.0, 5.0, 0.0), (1280, 720), 60.0, "cam2",
                                   dist=[-0.2, 0.05, 0.001, -0.002, 0.003])
    tsai = PinholeCamera.look_at((-3.0, 10.0, 5.0), (0.0, 0.0, 0.0), (768, 576), 40.0, "cam3",
                                 dist=[0.16], distortion_model="tsai")
    homog = HomographyCamera(TILTED.H_img_to_floor, TILTED.image_size_wh, "cam4")
    return [TILTED, opencv, tsai, homog]


CAMERAS = _cameras()


def _same_geometry(a, b, atol_m=1e-9):
    w, h = a.image_size_wh
    assert b.image_size_wh == (w, h)
    rng = np.random.default_rng(0)
    pts_px = rng.uniform([0, 0.6 * h], [w, h], (50, 2))
    np.testing.assert_allclose(b.to_floor(pts_px), a.to_floor(pts_px), atol=atol_m)


# -- project JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize("cam", CAMERAS, ids=lambda c: c.camera_id)
def test_project_json_round_trip(tmp_path, cam):
    path = tmp_path / "sub" / "cam.json"
    save_camera(cam, path, reprojection_error_px=0.71, error_m=0.03, note="surveyed 2024")
    data = json.loads(path.read_text())
    assert data["format"] == "mtmc-calib/1"
    assert data["image_size_wh"] == list(cam.image_size_wh)
    loaded, extra = load_camera_with_extra(path)
    assert extra == {"reprojection_error_px": 0.71, "error_m": 0.03, "note": "surveyed 2024"}
    assert type(loaded) is type(cam)
    if isinstance(cam, PinholeCamera):
        assert loaded == cam  # JSON keeps floats exactly
        # the homography is written too, for readers that only want that
        np.testing.assert_allclose(data["H_img_to_floor"], cam.H_img_to_floor)
    else:
        np.testing.assert_allclose(loaded.H_img_to_floor, cam.H_img_to_floor, rtol=1e-14)
    _same_geometry(cam, loaded)
    assert load_camera(path).camera_id == cam.camera_id


def test_project_json_errors(tmp_path):
    with pytest.raises(CalibrationFileError, match="nope.json: file not found"):
        load_camera(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CalibrationFileError, match="bad.json: not valid JSON"):
        load_camera(bad)
    bad.write_text(json.dumps({"format": "other/2"}))
    with pytest.raises(CalibrationFileError, match="expected 'mtmc-calib/1', got 'other/2'"):
        load_camera(bad)
    save_camera(TILTED, bad)
    data = json.loads(bad.read_text())
    data["R_world_to_cam"][0][0] = 2.0
    bad.write_text(json.dumps(data))
    with pytest.raises(CalibrationFileError, match=r"bad.json: .*R_world_to_cam must be a rot"):
        load_camera(bad)
    del data["K"]
    bad.write_text(json.dumps(data))
    with pytest.raises(CalibrationFileError, match="missing key 'K'"):
        load_camera(bad)
    with pytest.raises(ValueError, match=r"extra keys \['K'\] are reserved"):
        save_camera(TILTED, tmp_path / "x.json", K=1)


# -- Metropolis --------------------------------------------------------------------------------


def test_read_metropolis_fixture():
    cams = read_metropolis(METROPOLIS)
    assert sorted(cams) == ["cam1", "cam2"]
    cam1, cam2 = cams["cam1"], cams["cam2"]
    # cam1: intrinsic + extrinsic, 10 m above (2, 3) looking down, f = 1000 px
    assert isinstance(cam1, PinholeCamera) and cam1.image_size_wh == (1920, 1080)
    np.testing.assert_allclose(cam1.center_m, [2.0, 3.0, 10.0])
    np.testing.assert_allclose(cam1.to_floor([[960.0, 540.0], [1960.0, 540.0]]),
                               [[2.0, 3.0], [2.0 + 10.0, 3.0]])
    # cam2: only point pairs (u = 100 x + 200, v = 1000 - 50 y): fitted
    assert isinstance(cam2, HomographyCamera) and cam2.image_size_wh == (1280, 1024)
    np.testing.assert_allclose(cam2.to_floor([[400.0, 900.0]]),
                               [[(400 - 200) / 100, (1000 - 900) / 50]], atol=1e-6)


@pytest.mark.parametrize("with_homography_only", [False, True])
def test_metropolis_write_read_round_trip(tmp_path, with_homography_only):
    cams = {c.camera_id: c for c in CAMERAS}
    path = tmp_path / "calibration.json"
    write_metropolis(cams, path, fps=30, n_points=10)
    data = json.loads(path.read_text())
    for sensor, cam in zip(data["sensors"], CAMERAS, strict=True):
        assert sensor["type"] == "camera" and sensor["id"] == cam.camera_id
        attrs = {a["name"]: a["value"] for a in sensor["attributes"]}
        assert attrs["fps"] == "30"
        assert (int(attrs["frameWidth"]), int(attrs["frameHeight"])) == cam.image_size_wh
        fov = shapely.from_wkt(attrs["fieldOfViewPolygon"])
        assert fov.area == pytest.approx(cam.fov_polygon(30.0).area)
        assert len(sensor["imageCoordinates"]) == len(sensor["globalCoordinates"]) == 10
        # "homography" is floor -> image (exact for cameras without lens distortion)
        H = np.array(sensor["homography"])
        assert H[2, 2] == 1.0
        xy = np.array([[p["x"], p["y"]] for p in sensor["globalCoordinates"]])
        uv = np.array([[p["x"], p["y"]] for p in sensor["imageCoordinates"]])
        q = np.column_stack([xy, np.ones(len(xy))]) @ H.T
        if isinstance(cam, HomographyCamera) or not cam.dist.any():
            np.testing.assert_allclose(q[:, :2] / q[:, 2:], uv, atol=1e-6)
        if with_homography_only:
            for key in ("intrinsicMatrix", "extrinsicMatrix", "cameraMatrix",
                        "distortionCoefficients", "distortionModel"):
                sensor.pop(key, None)
    if with_homography_only:
        path.write_text(json.dumps(data))
    back = read_metropolis(path)
    assert list(back) == [c.camera_id for c in CAMERAS]
    for cam in CAMERAS:
        got = back[cam.camera_id]
        if with_homography_only:
            assert isinstance(got, HomographyCamera)
            np.testing.assert_allclose(got.H_floor_to_img / got.H_floor_to_img[2, 2],
                                       cam.H_floor_to_img / cam.H_floor_to_img[2, 2], rtol=1e-9)
        else:
            assert type(got) is type(cam)
            _same_geometry(cam, got, atol_m=1e-9)
            if isinstance(cam, PinholeCamera):
                np.testing.assert_array_equal(got.dist, cam.dist)
                assert got.distortion_model == cam.distortion_model


def test_metropolis_pairs_are_real_correspondences(tmp_path):
    path = tmp_path / "calibration.json"
    write_metropolis({"a": CAMERAS[1]}, path, n_points=12)
    sensor = json.loads(path.read_text())["sensors"][0]
    uv = np.array([[p["x"], p["y"]] for p in sensor["imageCoordinates"]])
    xy = np.array([[p["x"], p["y"]] for p in sensor["globalCoordinates"]])
    # the pairs include the lens distortion; a fitted homography reports how much that costs
    np.testing.assert_allclose(CAMERAS[1].to_floor(uv), xy, atol=1e-9)
    assert fit_homography(uv, xy, CAMERAS[1].image_size_wh).reprojection_error_px > 0.5


def test_metropolis_errors(tmp_path):
    data = json.loads(METROPOLIS.read_text())
    del data["sensors"][1]["attributes"][2]  # frameHeight
    bad = tmp_path / "calibration.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(CalibrationFileError, match="'cam2': attributes: missing 'frameHeight'"):
        read_metropolis(bad)
    data = json.loads(METROPOLIS.read_text())
    data["sensors"][1]["imageCoordinates"] = data["sensors"][1]["imageCoordinates"][:3]
    data["sensors"][1]["globalCoordinates"] = data["sensors"][1]["globalCoordinates"][:3]
    bad.write_text(json.dumps(data))
    with pytest.raises(CalibrationFileError, match="sensor 'cam2'.*need at least 4 point pairs"):
        read_metropolis(bad)
    bad.write_text(json.dumps({"cameras": []}))
    with pytest.raises(CalibrationFileError, match="expected a JSON object with a 'sensors' list"):
        read_metropolis(bad)


# -- OpenCV XML --------------------------------------------------------------------------------


def test_read_opencv_xml_fixture():
    cam = read_opencv_xml(INTR, EXTR, world_unit_m=0.01, image_size_wh=(1920, 1080),
                          camera_id="cam1")
    assert cam.camera_id == "cam1" and cam.image_size_wh == (1920, 1080)
    # rvec = pi about x: looking straight down; tvec in cm (-200, 300, 1000) -> centre (2, 3, 10) m
    np.testing.assert_allclose(cam.R_world_to_cam, np.diag([1.0, -1.0, -1.0]), atol=1e-12)
    np.testing.assert_allclose(cam.center_m, [2.0, 3.0, 10.0], atol=1e-12)
    np.testing.assert_array_equal(cam.dist, [-0.1, 0, 0, 0, 0])
    # (12, 3) is 1 normalised unit right of the axis: k1 = -0.1 pulls it to 0.9 -> u = 960 + 900
    np.testing.assert_allclose(cam.project([[12.0, 3.0, 0.0]]), [[960.0 + 1000 * 0.9, 540.0]])
    np.testing.assert_allclose(cam.to_floor([[1860.0, 540.0]]), [[12.0, 3.0]], atol=1e-9)


def test_read_opencv_xml_errors(tmp_path):
    with pytest.raises(CalibrationFileError, match="no image_width/image_height"):
        read_opencv_xml(INTR, EXTR, world_unit_m=0.01)
    with pytest.raises(CalibrationFileError, match="missing rvec"):
        read_opencv_xml(INTR, image_size_wh=(1920, 1080))
    with pytest.raises(CalibrationFileError, match="missing.xml: file not found"):
        read_opencv_xml(tmp_path / "missing.xml", EXTR)
    # with the image size in the file and everything in one file (as cv2 writes it)
    import cv2

    one = tmp_path / "one.xml"
    fs = cv2.FileStorage(str(one), cv2.FILE_STORAGE_WRITE)
    fs.write("camera_matrix", np.array([[800.0, 0, 320], [0, 800.0, 240], [0, 0, 1]]))
    fs.write("image_width", 640)
    fs.write("image_height", 480)
    fs.write("rvec", np.array([[math.pi], [0.0], [0.0]]))
    fs.write("tvec", np.array([[0.0], [0.0], [3.0]]))
    fs.release()
    cam = load_calibration(one)
    assert cam.image_size_wh == (640, 480) and cam.camera_id == "one"
    np.testing.assert_allclose(cam.center_m, [0.0, 0.0, 3.0], atol=1e-12)


# -- Tsai XML ----------------------------------------------------------------------------------


def test_read_tsai_xml_fixture():
    cam = read_tsai_xml(TSAI)
    assert cam.camera_id == "TestView" and cam.image_size_wh == (640, 480)
    assert cam.distortion_model == "tsai"
    f, sx, dpx, dpy, kappa1 = 4.2, 1.02, 4.95e-3, 5.0e-3, 4.0e-3
    np.testing.assert_allclose(cam.K, [[sx * f / dpx, 0, 322.5], [0, f / dpy, 238.0], [0, 0, 1]])
    np.testing.assert_allclose(cam.dist, [kappa1 * f**2])
    # the fixture was made from a camera at (-12, -8, 6) m looking at (2, 3, 0) m
    np.testing.assert_allclose(cam.center_m, [-12.0, -8.0, 6.0], atol=1e-6)
    target_px = cam.project([[2.0, 3.0, 0.0]])[0]
    np.testing.assert_allclose(target_px, [322.5, 238.0], atol=1e-4)


def test_read_tsai_xml_errors(tmp_path):
    bad = tmp_path / "view.xml"
    bad.write_text(TSAI.read_text().replace(' kappa1="4.0e-03"', ""))
    with pytest.raises(CalibrationFileError, match="<Intrinsic>: missing attribute kappa1"):
        read_tsai_xml(bad)
    bad.write_text("<Camera><Geometry")
    with pytest.raises(CalibrationFileError, match="not valid XML"):
        read_tsai_xml(bad)


# -- dispatch ----------------------------------------------------------------------------------


def test_load_calibration_dispatches_by_content(tmp_path):
    assert load_calibration(TSAI).camera_id == "TestView"
    assert load_calibration(METROPOLIS, sensor="cam2").camera_id == "cam2"
    with pytest.raises(CalibrationFileError, match=r"2 cameras \(\['cam1', 'cam2'\]\); choose one"):
        load_calibration(METROPOLIS)
    with pytest.raises(CalibrationFileError, match=r"no sensor 'cam9'; choose from"):
        load_calibration(METROPOLIS, sensor="cam9")
    cam = load_calibration(INTR, extrinsics_path=EXTR, world_unit_m=0.01,
                           image_size_wh=(1920, 1080))
    np.testing.assert_allclose(cam.center_m, [2.0, 3.0, 10.0], atol=1e-12)
    save_camera(TILTED, tmp_path / "cam.json")
    assert load_calibration(tmp_path / "cam.json") == TILTED
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(CalibrationFileError, match="not a calibration file this reader knows"):
        load_calibration(tmp_path / "x.txt")
