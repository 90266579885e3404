"""A tiny two-camera scene written by hand for pipeline tests (no simulator needed).

People walk straight lines on a 10 m x 6 m floor seen by two cameras; boxes are the projections of
a 1.75 m tall, 0.5 m wide person; frames are plain grey with a dark rectangle per person, enough
for the ``file`` detector and the trackers. Writes the layout of a simulator scene.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml

from calib import PinholeCamera
from calib.io import save_camera

SIZE_WH = (320, 180)
FPS = 10.0
HEIGHT_M = 1.75
HALF_WIDTH_M = 0.25


def cameras() -> dict[str, PinholeCamera]:
    return {
        "cam1": PinholeCamera.look_at((-2.0, -4.0, 4.0), (5.0, 3.0, 0.0), SIZE_WH, 75.0, "cam1"),
        "cam2": PinholeCamera.look_at((12.0, -4.0, 4.0), (5.0, 3.0, 0.0), SIZE_WH, 75.0, "cam2"),
    }


def walkers(seconds: float) -> dict[int, np.ndarray]:
    """id -> (T, 2) floor positions per frame (NaN when absent)."""
    t = np.arange(int(seconds * FPS)) / FPS
    paths = {
        1: np.column_stack([1 + 0.8 * t, np.full_like(t, 2.0)]),
        2: np.column_stack([9 - 0.7 * t, np.full_like(t, 4.0)]),
        3: np.column_stack([np.full_like(t, 5.0), 0.5 + 0.5 * t]),
    }
    return paths


def box_of(cam: PinholeCamera, xy: np.ndarray) -> np.ndarray | None:
    """tlwh of a standing person at floor point ``xy`` (None when not fully in front)."""
    x, y = xy
    corners = np.array([[x + dx, y + dy, z] for dx in (-HALF_WIDTH_M, HALF_WIDTH_M)
                        for dy in (-HALF_WIDTH_M, HALF_WIDTH_M) for z in (0.0, HEIGHT_M)])
    px = cam.project(corners)
    if not np.isfinite(px).all():
        return None
    left, top = px.min(axis=0)
    right, bottom = px.max(axis=0)
    # the foot point is the bottom centre; make the box symmetric around the projected foot
    foot = cam.project([[x, y, 0.0]])[0]
    half = (right - left) / 2
    left, right, bottom = foot[0] - half, foot[0] + half, foot[1]
    w, h = SIZE_WH
    if left < 0 or top < 0 or right > w or bottom > h:
        return None  # only whole people: keeps the test's arithmetic simple
    return np.array([left, top, right - left, bottom - top])


def write_scene(root: Path, seconds: float = 6.0, with_eval: bool = True) -> Path:
    """Write videos, calibration, gt and cams.yaml under ``root``; returns the cams.yaml path."""
    cams = cameras()
    paths = walkers(seconds)
    n = int(seconds * FPS)
    for sub in ("videos", "calibration", "gt"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    world_lines = []
    for f in range(n):
        for pid, xy in paths.items():
            world_lines.append(f"{f + 1},{pid},{xy[f, 0]:.4f},{xy[f, 1]:.4f},0.0")
    (root / "gt" / "world.txt").write_text("\n".join(world_lines) + "\n")
    for cid, cam in cams.items():
        save_camera(cam, root / "calibration" / f"{cid}.json")
        writer = cv2.VideoWriter(str(root / "videos" / f"{cid}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                                 FPS, SIZE_WH)
        lines = []
        for f in range(n):
            image = np.full((SIZE_WH[1], SIZE_WH[0], 3), 170, np.uint8)
            for pid, xy in paths.items():
                box = box_of(cam, xy[f])
                if box is None:
                    continue
                left, t, w, h = box
                cv2.rectangle(image, (int(left), int(t)), (int(left + w), int(t + h)), (40 * pid, 60, 200 - 40 * pid), -1)
                lines.append(f"{f + 1},{pid},{left:.2f},{t:.2f},{w:.2f},{h:.2f},1,1,1.0")
            writer.write(image)
        writer.release()
        (root / "gt" / f"{cid}.txt").write_text("\n".join(lines) + "\n")
    config = {
        "name": "tiny",
        "cameras": [{"id": c, "source": f"videos/{c}.mp4", "calibration": f"calibration/{c}.json"} for c in cams],
        "detector": {"backend": "file", "file_pattern": "gt/{camera}.txt"},
        "association": {"tentative_s": 0.3},
        "output": {"dir": "run"},
    }
    if with_eval:
        config["eval"] = {"world": "gt/world.txt", "mot": "gt/{camera}.txt"}
    path = root / "cams.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
