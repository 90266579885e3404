"""A scene's files: cams.yaml, calibration, ground truth, labels, floor and coverage maps.

Layout of a scene folder::

    cams.yaml                 ready for ``python -m mtmc.run --cams DIR/cams.yaml``
    videos/<cam>.mp4          one video per camera, frames in sync
    calibration/<cam>.json    full camera model + floor homography (calib project JSON)
    calibration.json          Metropolis-style, all cameras
    gt/world.txt              frame,id,x_m,y_m,heading_rad (one line per frame and person present)
    gt/<cam>.txt              MOTChallenge gt: frame,id,left,top,width,height,1,1,visibility
    labels/kitti/<cam>/<frame:06d>.txt   KITTI person labels + global id (visible people only)
    floor.png, floor.json     top view of the floor and its metres -> pixels transform
    coverage.png              how many cameras see each floor point
    scene.json                seed, parameters, cameras, people, coverage shares, timing
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import yaml
from shapely.geometry import Polygon, box

from calib.io import save_camera, write_metropolis
from mtmc.config import EXACT_BOXES_UNBIND_RESIDUAL_M
from mtmc.formats.kitti import KittiLabels, format_kitti, occlusion_level
from mtmc.formats.mot import MotTable, write_mot
from mtmc.synth.cameras import CameraSpec
from mtmc.synth.render import CameraLabels
from mtmc.synth.static import WorldTextures
from mtmc.synth.world import BOX_KINDS, COUNTER, GONDOLA, PALLET, RACK, World

__all__ = [
    "REPO_ROOT",
    "coverage_image",
    "floor_image",
    "pipeline_models",
    "write_cams_yaml",
    "write_kitti_labels",
    "write_mot_gt",
    "write_world_gt",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
FLOOR_PNG_PX_PER_M = 20.0
FLOOR_PNG_PAD_PX = 48
COVERAGE_COLORS_BGR = [(60, 60, 220), (40, 150, 245), (40, 220, 235), (80, 210, 120), (60, 160, 40)]
CAMERA_COLORS_BGR = [
    (220, 120, 30),
    (40, 40, 220),
    (200, 60, 200),
    (30, 160, 30),
    (0, 140, 255),
    (160, 160, 30),
    (120, 60, 20),
    (90, 30, 160),
]


# Smallest crop embedded in simulator scenes (see pipeline_models).
SCENE_REID_MIN_HEIGHT_PX = 32
# Inference size of the shipped detector (models/detector/README.md), and the size of its last
# training stage (python -m mtmc.detect.train's default). The simulator's people are small (median
# 61 px tall at 960x540, one in five under 45 px): at 640 px instead of 512 the same weights found
# more of them (held-out people at least half visible: mAP50 0.840 -> 0.878, recall 0.833 ->
# 0.887), within the 60 ms per 960x540 frame a 2-core CPU allows.
SHIPPED_DETECTOR_IMAGE_SIZE_PX = 640


def pipeline_models(repo_root: Path = REPO_ROOT) -> dict[str, dict]:
    """The ``detector`` and ``reid`` sections of a scene's cams.yaml (and ``tracker`` and
    ``association`` when the detections are exact).

    The project's shipped models when they exist (``models/detector/person.pt`` with the yolo
    backend at ``SHIPPED_DETECTOR_IMAGE_SIZE_PX``, ``models/reid/base.onnx``), else the scene's own
    ground-truth boxes (backend ``file``, with the association's residual check set for exact
    boxes and the trackers by motion alone, as in ``configs/demo/cams_gt_boxes.yaml``) and no
    appearance model. With the ReID model, crops from 32 px tall are embedded (the
    simulator's people are 30-120 px tall at 960x540).
    """
    detector_weights = repo_root / "models" / "detector" / "person.pt"
    reid_model = repo_root / "models" / "reid" / "base.onnx"
    if detector_weights.exists():
        sections: dict[str, dict] = {"detector": {
            "backend": "yolo",
            "weights": str(detector_weights.resolve()),
            "image_size_px": SHIPPED_DETECTOR_IMAGE_SIZE_PX,
        }}
    else:
        sections = {
            "detector": {"backend": "file", "file_pattern": "gt/{camera}.txt"},
            # exact boxes include people mostly hidden behind others: motion-only local tracks
            "tracker": {"appearance": False},
            "association": {"unbind_residual_m": EXACT_BOXES_UNBIND_RESIDUAL_M},
        }
    sections["reid"] = (
        {"model": str(reid_model.resolve()), "min_height_px": SCENE_REID_MIN_HEIGHT_PX}
        if reid_model.exists()
        else {"model": None}
    )
    return sections


def write_cams_yaml(
    out_dir: Path, name: str, camera_ids: list[str], header: str = "", repo_root: Path = REPO_ROOT
) -> Path:
    """Write ``out_dir/cams.yaml`` with relative paths to the scene's videos, calibration and gt."""
    data = {
        "name": name,
        "cameras": [
            {"id": cid, "source": f"videos/{cid}.mp4", "calibration": f"calibration/{cid}.json"}
            for cid in camera_ids
        ],
        **pipeline_models(repo_root),
        "eval": {"world": "gt/world.txt", "mot": "gt/{camera}.txt"},
    }
    path = Path(out_dir) / "cams.yaml"
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
    path.write_text((f"# {header}\n" if header else "") + text, encoding="utf-8")
    return path


def write_calibration(
    out_dir: Path, cameras: list[CameraSpec], fps: float, max_range_m: float
) -> None:
    """``calibration/<cam>.json`` (full model) and the Metropolis-style ``calibration.json``."""
    for spec in cameras:
        save_camera(
            spec.camera,
            Path(out_dir) / "calibration" / f"{spec.id}.json",
            source="mtmc.synth",
            position_m=list(spec.position_m),
            hfov_deg=spec.hfov_deg,
        )
    write_metropolis(
        {s.id: s.camera for s in cameras},
        Path(out_dir) / "calibration.json",
        fps=fps,
        n_points=12,
        max_range_m=max_range_m,
    )


def write_world_gt(path: Path, tracks, person_ids: list[int]) -> Path:
    """``frame,id,x_m,y_m,heading_rad`` for every frame and person present, sorted by frame, id."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = np.asarray(person_ids)
    order = np.argsort(ids, kind="stable")
    lines = []
    for f in range(tracks.n_frames):
        for p in order:
            if tracks.present[p, f]:
                x, y = tracks.xy_m[p, f]
                hd = (tracks.heading_rad[p, f] + math.pi) % (2 * math.pi) - math.pi
                lines.append(f"{f + 1},{ids[p]},{x:.3f},{y:.3f},{hd:.4f}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def write_mot_gt(path: Path, labels: CameraLabels) -> Path:
    """MOTChallenge gt of one camera: the full-body box clipped to the image, visibility."""
    xyxy = labels.xyxy_full
    table = MotTable.from_xyxy(
        labels.frame,
        labels.person_id,
        xyxy,
        confidence=np.ones(len(xyxy)),
        class_id=np.ones(len(xyxy)),
        visibility=labels.visibility,
    )
    return write_mot(path, table.sorted(), kind="gt")


def write_kitti_labels(root: Path, labels: CameraLabels, n_frames: int) -> None:
    """``root/<cam>/<frame:06d>.txt`` for every frame (empty when nobody is visible).

    Only people with visibility > 0 are written; the box is the visible pixels' extent.
    """
    folder = Path(root) / labels.camera_id
    folder.mkdir(parents=True, exist_ok=True)
    keep = labels.visibility > 0
    rows = {f: np.flatnonzero(keep & (labels.frame == f)) for f in range(1, n_frames + 1)}
    for f in range(1, n_frames + 1):
        idx = rows[f]
        kl = KittiLabels(
            type=np.full(len(idx), "Person"),
            xyxy=labels.xyxy_visible[idx],
            truncated=labels.truncation[idx],
            occluded=occlusion_level(labels.visibility[idx]),
            alpha=labels.alpha[idx],
            dimensions_hwl_m=labels.dims_hwl_m[idx],
            location_xyz_m=labels.location_cam_m[idx],
            rotation_y=labels.rotation_y[idx],
            track_id=labels.person_id[idx],
            frame=np.full(len(idx), f),
        )
        (folder / f"{f:06d}.txt").write_text(format_kitti(kl), encoding="utf-8")


# ------------------------------------------------------------------------------------------
# top views


def floor_transform(
    world: World, px_per_m: float = FLOOR_PNG_PX_PER_M, pad_px: int = FLOOR_PNG_PAD_PX
) -> np.ndarray:
    """T_floor_m_to_px (3, 3): ``[u, v, 1] ~ T @ [x_m, y_m, 1]``; image right = +x, up = +y."""
    _, d = world.size_m
    return np.array(
        [[px_per_m, 0.0, pad_px], [0.0, -px_per_m, pad_px + d * px_per_m], [0.0, 0.0, 1.0]]
    )


def _to_px(T: np.ndarray, xy_m: np.ndarray) -> np.ndarray:
    xy = np.atleast_2d(np.asarray(xy_m, dtype=np.float64))
    return xy @ T[:2, :2].T + T[:2, 2]


def floor_image(
    world: World,
    textures: WorldTextures,
    px_per_m: float = FLOOR_PNG_PX_PER_M,
    pad_px: int = FLOOR_PNG_PAD_PX,
) -> tuple[np.ndarray, dict]:
    """Top view (BGR image) of floor, shelves, doors and a 1 m grid, and its ``floor.json`` dict."""
    w, d = world.size_m
    T = floor_transform(world, px_per_m, pad_px)
    W, H = int(round(w * px_per_m)) + 2 * pad_px, int(round(d * px_per_m)) + 2 * pad_px
    img = np.full((H, W, 3), 40, np.uint8)
    floor = cv2.resize(
        textures.floor,
        (int(round(w * px_per_m)), int(round(d * px_per_m))),
        interpolation=cv2.INTER_AREA,
    )
    img[pad_px : pad_px + floor.shape[0], pad_px : pad_px + floor.shape[1]] = floor[::-1]
    grid = img.copy()
    for k in range(int(w) + 1):
        u = int(round(_to_px(T, [k, 0])[0, 0]))
        cv2.line(
            grid, (u, pad_px), (u, H - pad_px), (255, 255, 255) if k % 5 else (230, 230, 230), 1
        )
    for k in range(int(d) + 1):
        v = int(round(_to_px(T, [0, k])[0, 1]))
        cv2.line(
            grid, (pad_px, v), (W - pad_px, v), (255, 255, 255) if k % 5 else (230, 230, 230), 1
        )
    img = cv2.addWeighted(img, 0.7, grid, 0.3, 0)
    fills = {
        RACK: (60, 110, 175),
        GONDOLA: (205, 205, 200),
        PALLET: (90, 140, 180),
        COUNTER: (70, 70, 75),
    }
    for lo, hi, kind in zip(world.box_min, world.box_max, world.box_kind, strict=True):
        p0 = _to_px(T, lo[:2])[0]
        p1 = _to_px(T, hi[:2])[0]
        a = (int(round(p0[0])), int(round(p1[1])))
        b = (int(round(p1[0])), int(round(p0[1])))
        cv2.rectangle(img, a, b, fills[int(kind)], -1)
        cv2.rectangle(img, a, b, (150, 80, 25) if kind == RACK else (40, 40, 40), 1)
    lo_px, hi_px = _to_px(T, [[0, 0], [w, d]]).round().astype(int)
    cv2.rectangle(
        img, (int(lo_px[0]), int(hi_px[1])), (int(hi_px[0]), int(lo_px[1])), (20, 20, 20), 3
    )
    for door in world.doors:
        c = door.point(world.size_m, 0.0)
        along = np.array([1.0, 0.0]) if door.side in ("south", "north") else np.array([0.0, 1.0])
        ends = (
            _to_px(T, [c - along * door.width_m / 2, c + along * door.width_m / 2])
            .round()
            .astype(int)
        )
        cv2.line(img, tuple(ends[0].tolist()), tuple(ends[1].tolist()), (60, 200, 60), 5)
        label_at = _to_px(T, door.point(world.size_m, -0.9))[0]
        _text(img, "door", label_at, 0.38, (60, 200, 60), center=True)
    for k in range(0, int(w) + 1, 5):
        _text(img, f"{k}", _to_px(T, [k, -0.9])[0], 0.4, (230, 230, 230), center=True)
    for k in range(0, int(d) + 1, 5):
        _text(img, f"{k}", _to_px(T, [-1.1, k])[0], 0.4, (230, 230, 230), center=True)
    _text(img, "x (m)", _to_px(T, [w / 2, -1.7])[0], 0.4, (230, 230, 230), center=True)
    _text(img, "y", _to_px(T, [-1.1, d + 0.9])[0], 0.4, (230, 230, 230), center=True)
    meta = {
        "px_per_m": px_per_m,
        "origin_m": [float(-pad_px / px_per_m), float(d + pad_px / px_per_m)],
        "origin_note": "floor point (x, y) in metres at pixel (0, 0), the top-left corner; "
        "image y points to -y",
        "T_floor_m_to_px": T.tolist(),
        "image_size_wh": [W, H],
        "floor_size_m": [w, d],
        "boxes": [
            {
                "kind": BOX_KINDS[int(k)],
                "min_m": lo.round(3).tolist(),
                "max_m": hi.round(3).tolist(),
            }
            for lo, hi, k in zip(world.box_min, world.box_max, world.box_kind, strict=True)
        ],
        "doors": [
            {"side": d_.side, "center_m": round(d_.center_m, 3), "width_m": round(d_.width_m, 3)}
            for d_ in world.doors
        ],
    }
    return img, meta


def _text(img: np.ndarray, text: str, at, scale: float, color, center: bool = False) -> None:
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = float(at[0]), float(at[1])
    if center:
        x -= tw / 2
        y += th / 2
    cv2.putText(
        img,
        text,
        (int(round(x)), int(round(y))),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        color,
        1,
        cv2.LINE_AA,
    )


def coverage_image(
    world: World,
    textures: WorldTextures,
    cameras: list[CameraSpec],
    counts: np.ndarray,
    walkable: np.ndarray,
    cell_m: float,
    shares: dict[str, float],
    max_range_m: float,
) -> np.ndarray:
    """Top view coloured by how many cameras see each walkable floor cell, with the cameras."""
    base, _ = floor_image(world, textures)
    T = floor_transform(world)
    ppm = FLOOR_PNG_PX_PER_M
    ny, nx = counts.shape
    cell_px = cell_m * ppm
    overlay = base.copy()
    for i in range(ny):
        for j in range(nx):
            if not walkable[i, j]:
                continue
            p = _to_px(T, [j * cell_m, i * cell_m])[0]
            color = COVERAGE_COLORS_BGR[min(int(counts[i, j]), len(COVERAGE_COLORS_BGR) - 1)]
            cv2.rectangle(
                overlay,
                (int(round(p[0])), int(round(p[1] - cell_px))),
                (int(round(p[0] + cell_px)) - 1, int(round(p[1])) - 1),
                color,
                -1,
            )
    img = cv2.addWeighted(base, 0.45, overlay, 0.55, 0)
    room = box(0, 0, *world.size_m)
    for k, spec in enumerate(cameras):
        color = CAMERA_COLORS_BGR[k % len(CAMERA_COLORS_BGR)]
        fov = spec.camera.fov_polygon(max_range_m).intersection(room)
        for poly in getattr(fov, "geoms", [fov]):
            if isinstance(poly, Polygon) and not poly.is_empty:
                ring = _to_px(T, np.asarray(poly.exterior.coords)).round().astype(np.int32)
                cv2.polylines(img, [ring], True, color, 1, cv2.LINE_AA)
        c = _to_px(T, spec.position_m[:2])[0]
        t = _to_px(T, spec.target_m[:2])[0]
        cv2.arrowedLine(
            img,
            tuple(c.round().astype(int).tolist()),
            tuple(t.round().astype(int).tolist()),
            color,
            2,
            cv2.LINE_AA,
            tipLength=0.15,
        )
        cv2.circle(img, tuple(c.round().astype(int).tolist()), 6, color, -1, cv2.LINE_AA)
        _text(img, spec.id, c + [8, -8], 0.5, (255, 255, 255))
    legend_h = 46
    out = np.full((img.shape[0] + legend_h, img.shape[1], 3), 30, np.uint8)
    out[: img.shape[0]] = img
    x = 10
    for n, color in enumerate(COVERAGE_COLORS_BGR):
        y0 = img.shape[0] + 8
        cv2.rectangle(out, (x, y0), (x + 14, y0 + 14), color, -1)
        label = (
            f"{n}+ cams"
            if n == len(COVERAGE_COLORS_BGR) - 1
            else f"{n} cam" + ("s" if n != 1 else "")
        )
        _text(out, label, (x + 18, y0 + 12), 0.42, (235, 235, 235))
        x += 92
    _text(
        out,
        f"seen by >=1: {shares['ge1']:.0%}   >=2: {shares['ge2']:.0%}   >=3: {shares['ge3']:.0%}",
        (10, img.shape[0] + 38),
        0.45,
        (235, 235, 235),
    )
    return out


def write_json(path: Path, data: dict) -> Path:
    path = Path(path)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
