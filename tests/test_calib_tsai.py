"""The Tsai model (PETS 2009): our PinholeCamera against the Tsai equations written out
literally, and the PETS S2L1 ground truth mapped to the floor moving at walking speed."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from calib.io import read_tsai_xml
from mtmc.eval.motion import walking_speeds_mps
from mtmc.formats.cvml import read_cvml

TSAI_FIXTURE = Path(__file__).parent / "fixtures" / "calib" / "tsai_view.xml"
PETS_FPS = 7.0  # S2L1 was recorded at about 7 fps (the AVI header's 10 fps is wrong)


class LiteralTsai:
    """Tsai's equations as published, world in millimetres, no shortcuts shared with calib."""

    def __init__(self, path: Path):
        root = ET.parse(path).getroot()
        g, i, e = (root.find(t).attrib for t in ("Geometry", "Intrinsic", "Extrinsic"))
        self.dpx, self.dpy = float(g["dpx"]), float(g["dpy"])
        self.f, self.kappa1 = float(i["focal"]), float(i["kappa1"])
        self.cx, self.cy, self.sx = float(i["cx"]), float(i["cy"]), float(i["sx"])
        self.T = np.array([float(e["tx"]), float(e["ty"]), float(e["tz"])])
        a, b, c = float(e["rx"]), float(e["ry"]), float(e["rz"])
        sa, ca, sb, cb, sg, cg = (math.sin(a), math.cos(a), math.sin(b), math.cos(b),
                                  math.sin(c), math.cos(c))
        self.R = np.array([
            [cb * cg, cg * sa * sb - ca * sg, sa * sg + ca * cg * sb],
            [cb * sg, sa * sb * sg + ca * cg, ca * sb * sg - cg * sa],
            [-sb, cb * sa, ca * cb],
        ])

    def world_mm_to_px(self, Xw: np.ndarray) -> np.ndarray:
        Xc = Xw @ self.R.T + self.T
        Xu = self.f * Xc[:, 0] / Xc[:, 2]
        Yu = self.f * Xc[:, 1] / Xc[:, 2]
        # distort by fixed-point iteration on Xu = Xd (1 + kappa1 rd^2) (Newton is used in calib)
        Xd, Yd = Xu.copy(), Yu.copy()
        for _ in range(200):
            r2 = Xd**2 + Yd**2
            Xd, Yd = Xu / (1 + self.kappa1 * r2), Yu / (1 + self.kappa1 * r2)
        return np.column_stack([self.sx * Xd / self.dpx + self.cx, Yd / self.dpy + self.cy])

    def px_to_floor_mm(self, uv: np.ndarray) -> np.ndarray:
        Xd = (uv[:, 0] - self.cx) * self.dpx / self.sx
        Yd = (uv[:, 1] - self.cy) * self.dpy
        r2 = Xd**2 + Yd**2
        Xu, Yu = Xd * (1 + self.kappa1 * r2), Yd * (1 + self.kappa1 * r2)
        ray_c = np.column_stack([Xu, Yu, np.full_like(Xu, self.f)])
        ray_w = ray_c @ self.R  # R^T applied to row vectors
        C = -self.R.T @ self.T
        s = -C[2] / ray_w[:, 2]
        return C[:2] + s[:, None] * ray_w[:, :2]


def test_tsai_camera_matches_the_literal_equations():
    cam = read_tsai_xml(TSAI_FIXTURE)
    ref = LiteralTsai(TSAI_FIXTURE)
    rng = np.random.default_rng(11)
    # world points in metres around the target (2, 3), some above the floor
    xyz_m = rng.uniform([-3.0, -2.0, 0.0], [7.0, 8.0, 1.8], (300, 3))
    px_ref = ref.world_mm_to_px(xyz_m * 1000.0)
    inside = ((px_ref >= 0) & (px_ref <= [640, 480])).all(axis=1)
    assert inside.sum() > 100
    np.testing.assert_allclose(cam.project(xyz_m)[inside], px_ref[inside], atol=1e-6)
    # pixels -> floor, and back through our model
    uv = rng.uniform([0, 150], [640, 480], (300, 2))
    floor_ref_m = ref.px_to_floor_mm(uv) / 1000.0
    np.testing.assert_allclose(cam.to_floor(uv), floor_ref_m, atol=1e-6)
    # tsai round trip at the 1e-6 m level
    xy_m = floor_ref_m
    np.testing.assert_allclose(cam.to_floor(cam.floor_to_image(xy_m)), xy_m, atol=1e-6)


def test_pets_ground_truth_walks_at_walking_speed(pets_dir: Path) -> None:
    cam = read_tsai_xml(pets_dir / "calibration" / "View_001.xml")
    assert cam.image_size_wh == (768, 576)  # vtest.avi's size: pixels match directly
    gt = read_cvml(pets_dir / "PETS2009-S2L1.xml")
    assert len(gt) > 4000 and len(np.unique(gt.track_id)) == 19
    foot_px = np.column_stack([(gt.xyxy[:, 0] + gt.xyxy[:, 2]) / 2, gt.xyxy[:, 3]])
    xy_m = cam.to_floor(foot_px)
    assert np.isfinite(xy_m).all()
    speeds = walking_speeds_mps(gt.frame, gt.track_id, xy_m, PETS_FPS)
    median = float(np.median(speeds))
    print(f"PETS S2L1 View_001: median walking speed {median:.3f} m/s over {len(speeds)} people")
    assert 0.6 <= median <= 2.0
    walking = [s for s in speeds if 0.6 <= s <= 2.0]
    assert len(walking) >= 0.8 * len(speeds)  # a few people mostly stand still
