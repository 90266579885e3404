"""Generate a whole scene folder: build the scene, render every camera (in parallel), write files.

Cameras are rendered in worker processes (one camera per task, ``workers`` at a time); each
writes its own video and returns its labels, so the result does not depend on the number of
workers. The same preset and seed give identical labels and frames.

Example::

    summary = generate(load_preset("warehouse"), Path("/tmp/demo"))
    summary["coverage"], summary["generation_time_s"]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import queue
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from mtmc.configtools import to_public
from mtmc.synth.body import build_body
from mtmc.synth.cameras import coverage_grid, coverage_shares
from mtmc.synth.config import SynthConfig
from mtmc.synth.output import (
    coverage_image,
    floor_image,
    write_calibration,
    write_cams_yaml,
    write_json,
    write_kitti_labels,
    write_mot_gt,
    write_world_gt,
)
from mtmc.synth.render import CameraLabels, render_camera
from mtmc.synth.scene import Scene, build_scene
from mtmc.synth.static import WorldTextures

__all__ = ["generate", "write_scene"]

COVERAGE_CELL_M = 0.25
SCENE_SUBFOLDERS = ("videos", "calibration", "gt", "labels")  # replaced when a scene is rewritten
PROGRESS_EVERY = 10  # frames between progress messages from a worker


def _render_video(
    scene: Scene,
    cam_index: int,
    textures: WorldTextures,
    video_path: str,
    progress: queue.Queue | None,
) -> CameraLabels:
    """Render one camera into ``video_path`` (mp4v); runs in a worker process."""
    bodies = [build_body(app, scene.tracks, p) for p, app in enumerate(scene.people)]
    w, h = scene.config.image_size_wh
    writer = cv2.VideoWriter(video_path, cv2.VideoWriter_fourcc(*"mp4v"), scene.config.fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"cannot open a video writer for {video_path} (mp4v codec missing?)")
    done = 0

    def on_frame(f: int, image: np.ndarray) -> None:
        nonlocal done
        writer.write(image)
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress.put(PROGRESS_EVERY)

    try:
        labels = render_camera(
            scene, cam_index, textures=textures, bodies=bodies, on_frame=on_frame
        )
    finally:
        writer.release()
    if progress is not None and done % PROGRESS_EVERY:
        progress.put(done % PROGRESS_EVERY)
    return labels


def _worker_init() -> None:
    cv2.setNumThreads(1)  # parallelism comes from the processes


def write_scene(
    scene: Scene,
    out_dir: Path,
    *,
    workers: int | None = None,
    progress: bool = True,
    started: float | None = None,
) -> dict:
    """Render and write every file of ``scene`` into ``out_dir``; returns ``scene.json``'s dict."""
    t0 = time.perf_counter() if started is None else started
    cfg = scene.config
    out = Path(out_dir)
    _prepare_folder(out)
    for sub in ("videos", "calibration", "gt", "labels/kitti"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    textures = WorldTextures.build(scene.world, cfg.lighting)
    n_cams = len(scene.cameras)
    workers = max(1, min(workers or os.cpu_count() or 1, n_cams))
    total = n_cams * scene.tracks.n_frames
    bar = tqdm(
        total=total,
        desc="rendering",
        unit="frame",
        file=sys.stderr,
        disable=not progress,
        mininterval=1.0,
    )
    videos = [str(out / "videos" / f"{spec.id}.mp4") for spec in scene.cameras]
    labels: list[CameraLabels] = []
    try:
        if workers == 1:
            q: queue.Queue = queue.Queue()
            for k in range(n_cams):
                labels.append(_render_video(scene, k, textures, videos[k], q))
                while not q.empty():
                    bar.update(q.get())
        else:
            ctx = mp.get_context("spawn")
            with ctx.Manager() as manager:
                q = manager.Queue()
                with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init) as pool:
                    futures = [
                        pool.submit(_render_video, scene, k, textures, videos[k], q)
                        for k in range(n_cams)
                    ]
                    while not all(fu.done() for fu in futures):
                        try:
                            bar.update(q.get(timeout=0.2))
                        except queue.Empty:
                            pass
                    labels = [fu.result() for fu in futures]
                    while not q.empty():
                        bar.update(q.get())
    finally:
        bar.close()

    # ground truth and labels
    ids = [app.person_id for app in scene.people]
    write_world_gt(out / "gt" / "world.txt", scene.tracks, ids)
    for lab in labels:
        write_mot_gt(out / "gt" / f"{lab.camera_id}.txt", lab)
        write_kitti_labels(out / "labels" / "kitti", lab, scene.tracks.n_frames)
    write_calibration(out, scene.cameras, cfg.fps, cfg.cameras.max_range_m)
    write_cams_yaml(
        out,
        _run_name(out, cfg),
        [s.id for s in scene.cameras],
        header=f"written by python -m mtmc.synth (preset {cfg.name}, seed {cfg.seed})",
    )

    # top views and coverage
    floor_png, floor_meta = floor_image(scene.world, textures)
    cv2.imwrite(str(out / "floor.png"), floor_png)
    write_json(out / "floor.json", floor_meta)
    counts, walkable = coverage_grid(
        scene.world,
        scene.cameras,
        cfg.cameras.max_range_m,
        COVERAGE_CELL_M,
        cfg.cameras.min_person_px,
    )
    shares = coverage_shares(counts, walkable)
    cv2.imwrite(
        str(out / "coverage.png"),
        coverage_image(
            scene.world,
            textures,
            scene.cameras,
            counts,
            walkable,
            COVERAGE_CELL_M,
            shares,
            cfg.cameras.max_range_m,
        ),
    )

    summary = scene_summary(scene, labels, shares)
    summary["generation_time_s"] = round(time.perf_counter() - t0, 2)
    summary["workers"] = workers
    write_json(out / "scene.json", summary)
    return summary


def _prepare_folder(out: Path) -> None:
    """Create ``out``; clear the files of an earlier scene there; refuse other non-empty folders."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "scene.json").exists():
            raise ValueError(
                f"{out}: folder is not empty and holds no scene; choose an empty or new --out"
            )
        for sub in SCENE_SUBFOLDERS:
            if (out / sub).is_dir():
                shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)


def _run_name(out: Path, cfg: SynthConfig) -> str:
    name = out.resolve().name
    return name if name and "/" not in name else f"{cfg.name}-seed{cfg.seed}"


def scene_summary(scene: Scene, labels: list[CameraLabels], shares: dict[str, float]) -> dict:
    """The ``scene.json`` content (without timing)."""
    cfg = scene.config
    tr = scene.tracks
    people = []
    for p, app in enumerate(scene.people):
        frames = np.flatnonzero(tr.present[p])
        entry = app.to_json()
        entry["walking_group"] = int(tr.group[p])
        entry["first_frame"] = int(frames[0]) + 1 if len(frames) else None
        entry["last_frame"] = int(frames[-1]) + 1 if len(frames) else None
        entry["boxes_per_camera"] = {
            lab.camera_id: int((lab.person_id == app.person_id).sum()) for lab in labels
        }
        people.append(entry)
    return {
        "format": "mtmc-synth-scene/1",
        "preset": cfg.name,
        "seed": cfg.seed,
        "n_frames": tr.n_frames,
        "fps": cfg.fps,
        "image_size_wh": list(cfg.image_size_wh),
        "parameters": to_public(cfg),
        "world": {
            "size_m": list(scene.world.size_m),
            "style": scene.world.style,
            "n_boxes": scene.world.n_boxes,
            "doors": [
                {"side": d.side, "center_m": round(d.center_m, 3), "width_m": round(d.width_m, 3)}
                for d in scene.world.doors
            ],
        },
        "cameras": [spec.to_json() for spec in scene.cameras],
        "people": people,
        "lookalike_groups": sorted(
            {app.lookalike_group for app in scene.people if app.lookalike_group}
        ),
        "coverage": {
            **shares,
            "cell_m": COVERAGE_CELL_M,
            "definition": "share of walkable floor cells where a standing person is fully in "
            "the image of at least k cameras, at least cameras.min_person_px tall, with a free "
            "line of sight to the chest",
        },
        "labels": {
            lab.camera_id: {
                "mot_rows": len(lab.frame),
                "kitti_rows": int((lab.visibility > 0).sum()),
            }
            for lab in labels
        },
        "platform": {
            "python": platform.python_version(),
            "opencv": cv2.__version__,
            "numpy": np.__version__,
        },
    }


def generate(
    cfg: SynthConfig, out_dir: Path, *, workers: int | None = None, progress: bool = True
) -> dict:
    """Build the scene of ``cfg`` and write it into ``out_dir``; returns the ``scene.json`` dict."""
    started = time.perf_counter()
    scene = build_scene(cfg)
    return write_scene(scene, Path(out_dir), workers=workers, progress=progress, started=started)
