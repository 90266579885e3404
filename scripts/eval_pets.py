"""Run and score the PETS 2009 S2L1 configurations: real video, real calibration, hand-made truth.

    python scripts/eval_pets.py [--detector gt_boxes|bgsub|hog|all] [--out runs/pets]
                                [--max-frames N] [--progress] [--figures DIR]

For each configuration in ``configs/pets2009/`` (``gt_boxes``: the ground-truth boxes as
detections, which isolates tracking; ``bgsub``: the weights-free background-subtraction detector;
``hog``: OpenCV's HOG people detector, about 4 minutes on 2 CPU cores) it runs
``python -m mtmc.run``'s pipeline into ``OUT/<config>/`` and reports:

- image-space HOTA, MOTA, IDF1, ID switches, detection precision and recall against the cropped
  ground truth (the standard S2L1 protocol: people inside the tracking area; IoU 0.5 for CLEAR);
- floor-plane plausibility: the median walking speed of the tracked people (RTLS positions; the
  ground truth's foot points give the reference, about 1 m/s at the true 7 fps), and a bird's-eye
  picture of the trails (``OUT/<config>_trails.png``).

Writes ``OUT/<config>.json`` per configuration and ``OUT/results.json`` with all of them (configs
run earlier into the same folder are kept), and prints a table. ``--figures DIR`` also writes the
pictures of docs/real_data.md. The data is read from ``../shared/data/pets2009-s2l1/`` next to the repository (see
``docs/real_data.md``); the script stops with a clear message when it is missing.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtmc.eval.motion import walking_speeds_mps

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data" / "pets2009-s2l1"
CONFIGS = {
    "gt_boxes": REPO / "configs" / "pets2009" / "gt_boxes.yaml",
    "bgsub": REPO / "configs" / "pets2009" / "bgsub.yaml",
    "hog": REPO / "configs" / "pets2009" / "hog.yaml",  # slow: about 0.3 s per frame on 2 cores
}
DATA_FILES = (
    "vtest.avi", "PETS2009-S2L1.xml", "PETS2009-S2L1-cropped.xml", "calibration/View_001.xml"
)
SPEED_WINDOW_S = 1.0  # walking speed = distance covered over this long (smooths foot jitter)
TABLE_KEYS = ("HOTA", "MOTA", "IDF1", "IDSW", "precision", "recall", "IDs", "GT_IDs")
# --figures: a busy frame, and (frame, ground-truth id, caption) of typical bgsub failures, picked
# from the full bgsub run when docs/real_data.md was written.
FIGURE_FRAME = 700
FAILURE_CROPS = (
    (100, 15, "standing behind the sign"),
    (296, 9, "pair merged: ids swap"),
    (744, 5, "crossing: id handed over"),
    (487, 1, "side by side: one box"),
)
FIGURE_COLOURS = 128  # PNG palette size: keeps the pictures small enough for the repository


class PetsDataMissing(ValueError):
    """The PETS 2009 S2L1 folder or one of its files is not there."""


def check_data(data_dir: Path | None = None) -> None:
    """Raise :class:`PetsDataMissing` naming the first missing file of ``data_dir`` (default
    ``DATA_DIR``) and what to do."""
    data_dir = DATA_DIR if data_dir is None else data_dir
    for name in DATA_FILES:
        if not (data_dir / name).is_file():
            raise PetsDataMissing(
                f"PETS 2009 S2L1 data not found: {data_dir / name} is missing; put vtest.avi, "
                f"PETS2009-S2L1.xml, PETS2009-S2L1-cropped.xml and calibration/View_00*.xml in "
                f"{data_dir} (see docs/real_data.md)"
            )


def gt_floor_points(gt_mot_path: Path, camera: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames, ids and floor positions (metres) of the ground-truth boxes, mapped to the floor
    exactly as the pipeline maps its boxes (:class:`mtmc.floor.FloorMapper`, no ROI); rows that
    miss the floor are dropped."""
    from mtmc.floor import FloorMapper
    from mtmc.formats.boxes import read_boxes

    gt = read_boxes(gt_mot_path)
    xy_m = FloorMapper(camera).to_floor(gt.xyxy)
    ok = np.isfinite(xy_m).all(axis=1)
    return gt.frame[ok], gt.track_id[ok], xy_m[ok]


def detection_rates(image: dict[str, Any]) -> tuple[float, float]:
    """CLEAR precision and recall, percent, from an image-metrics dict (``CLR_TP/FP/FN``)."""
    tp, fp, fn = image["CLR_TP"], image["CLR_FP"], image["CLR_FN"]
    precision = 100.0 * tp / (tp + fp) if tp + fp else 0.0
    recall = 100.0 * tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def evaluate_config(
    name: str,
    cams_yaml: Path,
    out_dir: Path,
    *,
    max_frames: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run one configuration into ``out_dir/name`` and return its result record (see module doc).

    Raises:
        ValueError: the config is invalid or the run produced no image metrics.
    """
    from mtmc.config import load_cams
    from mtmc.run import run

    config = load_cams(cams_yaml)
    if config.eval is None or config.eval.mot is None:
        raise ValueError(f"{cams_yaml}: eval.mot: the PETS configs must name the ground truth")
    if config.cameras[0].fps is None:
        raise ValueError(f"{cams_yaml}: cameras[0].fps: set the true frame rate (7 for S2L1)")
    run_dir = out_dir / name
    summary = run(config, run_dir, max_frames=max_frames, progress=progress, cams_yaml=cams_yaml)
    return score_run(name, cams_yaml, run_dir, summary, out_dir)


def score_run(
    name: str, cams_yaml: Path, run_dir: Path, summary: dict[str, Any], out_dir: Path
) -> dict[str, Any]:
    """The result record of a finished run of ``cams_yaml`` in ``run_dir`` (``summary``: its
    summary.json); also draws ``out_dir/<name>_trails.png``."""
    from mtmc.config import load_cams
    from mtmc.eval import read_rtls
    from mtmc.run import load_calibrations

    config = load_cams(cams_yaml)
    image = summary.get("metrics", {}).get("image")
    if image is None:
        raise ValueError(
            f"{run_dir}/summary.json: status {summary.get('status')!r}, no image metrics "
            f"({summary.get('metrics')}); run the config again to the end (an interrupted run "
            "is not scored) and check that eval.mot names the ground truth")
    cam_cfg = config.cameras[0]
    fps = float(cam_cfg.fps)
    log = read_rtls(run_dir / "rtls.jsonl")
    tracks = log.tracks
    speeds = walking_speeds_mps(tracks.frame, tracks.track_id, tracks.xy_m, fps, SPEED_WINDOW_S)
    camera = load_calibrations(config)[cam_cfg.id]
    gt_mot = Path(config.eval.mot.format(camera=cam_cfg.id))
    g_frame, g_id, g_xy = gt_floor_points(gt_mot, camera)
    in_run = np.isin(g_frame, log.frames)
    gt_speeds = walking_speeds_mps(g_frame[in_run], g_id[in_run], g_xy[in_run], fps, SPEED_WINDOW_S)
    precision, recall = detection_rates(image)
    record = {
        "config": str(cams_yaml.relative_to(REPO) if cams_yaml.is_relative_to(REPO) else cams_yaml),
        "frames": int(image["frames"]),
        **{k: image[k] for k in ("HOTA", "DetA", "AssA", "MOTA", "MOTP", "IDF1", "IDP", "IDR")},
        **{k: int(image[k]) for k in ("IDSW", "Frag", "MT", "PT", "ML", "IDs", "GT_IDs")},
        "precision": precision,
        "recall": recall,
        "walking_speed_median_mps": float(np.median(speeds)) if len(speeds) else None,
        "gt_walking_speed_median_mps": float(np.median(gt_speeds)) if len(gt_speeds) else None,
        "tracks_with_speed": int(len(speeds)),
        "time_s": summary["time_s"]["total"],
        "camera_frames_per_s": summary["throughput"]["camera_frames_per_s"],
    }
    draw_trails(tracks, config, out_dir / f"{name}_trails.png", title=f"PETS S2L1 {name}")
    return record


def draw_trails(tracks: Any, config: Any, path: Path, *, title: str) -> None:
    """Bird's-eye PNG: each global id's floor trail in its palette colour, over the tracking area
    (ROI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mtmc.viz.palette import id_color_rgb01

    fig, ax = plt.subplots(figsize=(6, 5.5), dpi=80)
    roi = config.cameras[0].roi_floor_m
    if roi is not None:
        ring = np.array([*roi, roi[0]])
        ax.plot(ring[:, 0], ring[:, 1], color="0.5", lw=1, ls="--", label="tracking area")
    for tid in np.unique(tracks.track_id):
        rows = tracks.track_id == tid
        order = np.argsort(tracks.frame[rows])
        xy = tracks.xy_m[rows][order]
        colour = id_color_rgb01(int(tid))
        ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=1.2)
        ax.text(xy[-1, 0], xy[-1, 1], str(int(tid)), color=colour, fontsize=7)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(f"{title}: {len(np.unique(tracks.track_id))} global ids")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[:, :, :3]
    plt.close(fig)
    _save_small_png(rgb[:, :, ::-1], path)


def write_figures(
    run_dir: Path, cams_yaml: Path, out_dir: Path, scale: float = 0.75
) -> list[Path]:
    """Documentation pictures of a run: ``frame.png`` (``FIGURE_FRAME`` with the tracked boxes,
    global ids and the tracking area) and ``failures.png`` (``FAILURE_CROPS``: crops around a
    ground-truth person, tracked boxes in id colours, ground truth in white). Returns the paths."""
    import cv2

    from calib.draw import draw_floor_polyline
    from mtmc.config import load_cams
    from mtmc.formats.boxes import read_boxes
    from mtmc.formats.mot import read_mot
    from mtmc.run import load_calibrations
    from mtmc.viz.draw import draw_boxes

    config = load_cams(cams_yaml)
    cam_cfg = config.cameras[0]
    camera = load_calibrations(config)[cam_cfg.id]
    pred = read_mot(run_dir / "mot" / f"{cam_cfg.id}.txt")
    gt = read_boxes(config.eval.mot.format(camera=cam_cfg.id))
    video = cv2.VideoCapture(str(cam_cfg.source))

    def read_frame(frame: int) -> np.ndarray:
        video.set(cv2.CAP_PROP_POS_FRAMES, frame - 1)
        ok, image = video.read()
        if not ok:
            raise ValueError(f"{cam_cfg.source}: cannot read frame {frame}")
        return image

    out_dir.mkdir(parents=True, exist_ok=True)
    # 1. one frame, scaled, with the tracking area (edges densified: the lens bends them)
    image = read_frame(FIGURE_FRAME)
    if cam_cfg.roi_floor_m is not None:  # the lens bends the area's edges: drawn densified
        ring = [*cam_cfg.roi_floor_m, cam_cfg.roi_floor_m[0]]
        draw_floor_polyline(image, camera, ring, (255, 255, 255), thickness=2)
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    rows = pred[pred.frame == FIGURE_FRAME]
    draw_boxes(image, rows.track_id, rows.tlwh, scale=scale, thickness=2)
    cv2.putText(image, f"frame {FIGURE_FRAME}", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                (255, 255, 255), 2, cv2.LINE_AA)
    paths = [out_dir / "frame.png"]
    _save_small_png(image, paths[0])
    # 2. failure crops, 160 px around the person, shown at 240 px
    tiles = []
    for frame, gt_id, caption in FAILURE_CROPS:
        image = read_frame(frame)
        truth = gt[gt.frame == frame]
        for x1, y1, x2, y2 in np.round(truth.xyxy).astype(int):
            cv2.rectangle(image, (x1, y1), (x2, y2), (255, 255, 255), 1)
        rows = pred[pred.frame == frame]
        draw_boxes(image, rows.track_id, rows.tlwh, thickness=1)
        person = truth.xyxy[truth.track_id == gt_id]
        if len(person) == 0:
            raise ValueError(f"FAILURE_CROPS: no ground-truth id {gt_id} in frame {frame}")
        cx, cy = (person[0, :2] + person[0, 2:]) / 2
        x0 = int(np.clip(cx - 80, 0, image.shape[1] - 160))
        y0 = int(np.clip(cy - 80, 0, image.shape[0] - 160))
        crop = image[y0 : y0 + 160, x0 : x0 + 160]
        tile = cv2.resize(crop, (240, 240), interpolation=cv2.INTER_CUBIC)
        cv2.rectangle(tile, (0, 0), (239, 20), (0, 0, 0), -1)
        cv2.putText(tile, f"f{frame}: {caption}", (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                    (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    paths.append(out_dir / "failures.png")
    _save_small_png(np.hstack(tiles), paths[1])
    video.release()
    return paths


def _save_small_png(image_bgr: np.ndarray, path: Path) -> None:
    """PNG with a ``FIGURE_COLOURS`` palette (a third of the size of a full-colour PNG)."""
    from PIL import Image

    rgb = Image.fromarray(np.ascontiguousarray(image_bgr[:, :, ::-1]))
    rgb.quantize(colors=FIGURE_COLOURS, dither=Image.Dither.NONE).save(path, optimize=True)


def format_results(results: dict[str, dict[str, Any]]) -> str:
    """A text table: one row per configuration with the headline metrics and walking speeds."""
    head = f"{'config':<10}" + "".join(f"{k:>10}" for k in TABLE_KEYS)
    head += f"{'speed m/s':>11}{'gt m/s':>8}"
    lines = [head]
    for name, r in results.items():
        cells = "".join(
            f"{r[k]:10d}" if isinstance(r[k], int) else f"{r[k]:10.1f}" for k in TABLE_KEYS
        )
        speed = r["walking_speed_median_mps"]
        gt_speed = r["gt_walking_speed_median_mps"]
        lines.append(
            f"{name:<10}{cells}"
            + (f"{speed:11.2f}" if speed is not None else f"{'-':>11}")
            + (f"{gt_speed:8.2f}" if gt_speed is not None else f"{'-':>8}")
        )
    return "\n".join(lines)


def _read_results(path: Path) -> dict[str, Any]:
    """An earlier results.json, or {} when there is none or it cannot be read."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return old if isinstance(old, dict) else {}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detector", choices=[*CONFIGS, "all"], default="all",
                    help="configuration to run (default: all)")
    ap.add_argument("--out", type=Path, default=Path("runs/pets"), help="output folder (runs/pets)")
    ap.add_argument("--max-frames", type=int, help="stop after this many frames (default: all 795)")
    ap.add_argument("--progress", action="store_true", help="show a progress bar per run")
    ap.add_argument("--figures", type=Path, help="also write the documentation pictures of the "
                    "bgsub run here (frame.png, failures.png, trails_<config>.png)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    names = list(CONFIGS) if args.detector == "all" else [args.detector]
    try:
        check_data()
        args.out.mkdir(parents=True, exist_ok=True)
        results = {}
        for name in names:
            record = evaluate_config(
                name, CONFIGS[name], args.out, max_frames=args.max_frames, progress=args.progress
            )
            (args.out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
            results[name] = record
            if args.figures is not None:
                args.figures.mkdir(parents=True, exist_ok=True)
                trails = args.figures / f"trails_{name}.png"
                shutil.copyfile(args.out / f"{name}_trails.png", trails)
                if name == "bgsub":
                    write_figures(args.out / name, CONFIGS[name], args.figures)
    except (ValueError, RuntimeError) as exc:  # PetsDataMissing, ConfigError, run's UserError
        print(f"eval_pets: error: {exc}", file=sys.stderr)
        return 2
    # results.json keeps the configs of earlier invocations into the same folder
    merged = _read_results(args.out / "results.json") | results
    (args.out / "results.json").write_text(json.dumps(merged, indent=2) + "\n")
    print(format_results(results))
    print(f"wrote {args.out}/results.json, <config>.json, <config>_trails.png and the run folders")
    return 0


if __name__ == "__main__":
    sys.exit(main())
