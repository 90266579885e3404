"""python -m calib fit / check: end to end in a temporary folder, and user errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from calib import PinholeCamera
from calib.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "calib"
TRUE = PinholeCamera.look_at((0.0, -5.0, 3.0), (0.0, 3.0, 0.0), (960, 540), 70.0, "cam1")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "calib", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def _write_pairs(path: Path, n: int = 20, noise_px: float = 0.5, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform([-3.0, 0.0], [3.0, 10.0], (n, 2))
    uv = TRUE.floor_to_image(xy) + rng.normal(0.0, noise_px, (n, 2))
    rows = [f"{u},{v},{x},{y}" for (u, v), (x, y) in zip(uv, xy, strict=True)]
    lines = ["u_px,v_px,x_m,y_m", *rows]
    path.write_text("\n".join(lines) + "\n")


def test_fit_then_check_writes_the_drawing(tmp_path):
    _write_pairs(tmp_path / "pairs.csv")
    fit = _run("fit", "--points", "pairs.csv", "--out", "cam.json", "--image-size", "960x540",
               "--camera-id", "cam1", cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr
    assert "reprojection error" in fit.stdout and " px" in fit.stdout and " m" in fit.stdout
    data = json.loads((tmp_path / "cam.json").read_text())
    assert data["camera_id"] == "cam1" and data["image_size_wh"] == [960, 540]
    assert 0.2 < data["reprojection_error_px"] < 1.0 and data["n_pairs"] == 20
    assert f"{data['reprojection_error_px']:.3f} px" in fit.stdout

    frame = np.full((540, 960, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / "frame.jpg"), frame)
    check = _run("check", "cam.json", "--image", "frame.jpg", "--out", "check.png",
                 "--points", "pairs.csv", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "reprojection error over 20 pairs" in check.stdout
    img = cv2.imread(str(tmp_path / "check.png"))
    assert img.shape == (540, 960, 3)
    assert (img != 90).any(axis=2).mean() > 0.02  # the grid and outline were drawn


def test_check_without_image_draws_on_grey_and_prints_stored_error(tmp_path, capsys):
    _write_pairs(tmp_path / "pairs.csv")
    assert main(["fit", "--points", str(tmp_path / "pairs.csv"), "--out",
                 str(tmp_path / "cam.json")]) == 0
    capsys.readouterr()
    out_png = tmp_path / "out" / "check.png"
    assert main(["check", str(tmp_path / "cam.json"), "--out", str(out_png)]) == 0
    printed = capsys.readouterr().out
    assert "stored reprojection error:" in printed
    img = cv2.imread(str(out_png))
    stored = json.loads((tmp_path / "cam.json").read_text())["image_size_wh"]
    assert (img.shape[1], img.shape[0]) == tuple(stored)
    assert (img == 128).all(axis=2).mean() > 0.3  # grey canvas


def test_check_reads_other_formats(tmp_path, capsys):
    assert main(["check", str(FIXTURES / "metropolis_two_sensors.json"), "--sensor", "cam1",
                 "--out", str(tmp_path / "m.png")]) == 0
    assert "camera 'cam1': pinhole model, image 1920x1080" in capsys.readouterr().out
    assert main(["check", str(FIXTURES / "tsai_view.xml")]) == 0
    assert "distortion tsai" in capsys.readouterr().out
    assert main(["check", str(FIXTURES / "intr_cam1.xml"), "--extrinsics",
                 str(FIXTURES / "extr_cam1.xml"), "--world-unit-m", "0.01",
                 "--image-size", "1920x1080"]) == 0
    assert "centre (2.000, 3.000, 10.000) m" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "{tmp}/missing.json"], "missing.json: file not found"),
        (["fit", "--points", "{tmp}/missing.csv", "--out", "{tmp}/x.json"],
         "missing.csv: file not found"),
        (["fit", "--points", "{tmp}/bad.csv", "--out", "{tmp}/x.json"],
         "missing column(s) ['x_m', 'y_m']"),
        (["fit", "--points", "{tmp}/few.csv", "--out", "{tmp}/x.json"],
         "need at least 4 point pairs, got 2"),
        (["check", "{fixtures}/metropolis_two_sensors.json"], "choose one with sensor=ID"),
        (["check", "{fixtures}/tsai_view.xml", "--image", "{tmp}/frame.jpg"],
         "--image needs --out"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "bad.csv").write_text("u_px,v_px\n1,2\n")
    (tmp_path / "few.csv").write_text("u_px,v_px,x_m,y_m\n1,2,0,0\n3,4,1,1\n")
    argv = [a.format(tmp=tmp_path, fixtures=FIXTURES) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_file_via_subprocess_has_no_traceback(tmp_path):
    result = _run("check", "missing.json", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "calib check: error: missing.json: file not found"
