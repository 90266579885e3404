"""Detections of a rendered scene computed once and read back by the ``file`` detector.

The detector keeps no state between frames, so its boxes depend only on the frames, the weights,
the image size and the confidence floor: scripts that run many pipeline configurations on the same
scene (``scripts/accuracy_runs.py``, ``scripts/finetune_report.py``) detect once and feed the
cached boxes to every run.

:func:`snap_to_ground_truth` is a diagnostic on top: the cached boxes, each moved onto the
ground-truth box it matches, to measure what the detector's box placement costs the pipeline.

Example::

    detector = cached_detector(Path("data/demo"), config, config.detector, Path("runs/detections"))
    config = replace(config, detector=detector)     # backend "file", same confidence_min
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import numpy as np

from mtmc.config import CamsConfig, DetectorConfig
from mtmc.formats.mot import MotTable, read_mot, write_mot

__all__ = [
    "CACHE_CONFIDENCE_MIN", "cached_detections", "cached_detector", "snap_to_ground_truth",
    "snapped_detector",
]

# Cached detections keep rows down to this score (the runs' detector.confidence_min drops the rest),
# so that lower pipeline thresholds can be tried on the same cache.
CACHE_CONFIDENCE_MIN = 0.1


def cached_detections(scene: Path, config: CamsConfig, yolo: DetectorConfig, cache: Path) -> str:
    """``file_pattern`` of the scene's detections by ``yolo``, running the detector only the
    first time.

    They are kept under ``cache/<scene>/<weights sha1>_<imgsz>_c<CACHE_CONFIDENCE_MIN>/<camera>.txt``
    (``..._bf16`` with ``precision: bf16``; MOTChallenge det rows scored at least
    ``CACHE_CONFIDENCE_MIN``). A folder is written under
    ``.partial`` and moved into place when complete, so an interrupted run is redone, never read.
    """
    from tqdm import tqdm

    from mtmc.detect import build_detector
    from mtmc.viz.streams import VideoFrames

    digest = hashlib.sha1(Path(yolo.weights).read_bytes()).hexdigest()[:12]
    precision = "" if yolo.precision == "auto" else f"_{yolo.precision}"
    folder = cache / scene.name / f"{digest}_{yolo.image_size_px}_c{CACHE_CONFIDENCE_MIN:g}{precision}"
    pattern = str(folder.resolve() / "{camera}.txt")
    if folder.is_dir():
        return pattern
    partial = cache / ".partial" / scene.name / folder.name
    shutil.rmtree(partial, ignore_errors=True)
    detector = build_detector(replace(yolo, confidence_min=CACHE_CONFIDENCE_MIN), config.cameras, {})
    cams = [cam.id for cam in config.cameras]
    rows: dict[str, list[tuple]] = {cam: [] for cam in cams}
    n_frames = int(json.loads((scene / "scene.json").read_text(encoding="utf-8"))["n_frames"])
    with ExitStack() as stack:
        videos = [stack.enter_context(VideoFrames(scene / cam.source)) for cam in config.cameras]
        for frame in tqdm(range(1, n_frames + 1), desc=f"detecting {scene.name}", unit="step",
                          file=sys.stderr, mininterval=2.0):
            images = [video.read(frame) for video in videos]
            if any(image is None for image in images):
                raise ValueError(f"{scene}: a video ends before frame {frame} of {n_frames}")
            metas = [{"camera_id": cam, "frame": frame, "t_s": 0.0} for cam in cams]
            for cam, dets in zip(cams, detector.detect(images, metas), strict=True):
                rows[cam].extend((frame, *box, score) for box, score in
                                 zip(dets.xyxy.tolist(), dets.confidence.tolist(), strict=True))
    for cam, cam_rows in rows.items():
        a = np.array(cam_rows, dtype=np.float64).reshape(-1, 6)
        tlwh = np.column_stack([a[:, 1:3], a[:, 3:5] - a[:, 1:3]])
        write_mot(partial / f"{cam}.txt", MotTable(frame=a[:, 0], track_id=np.full(len(a), -1),
                                                    tlwh=tlwh, confidence=a[:, 5]), kind="det")
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial.rename(folder)
    return pattern


def cached_detector(scene: Path, config: CamsConfig, yolo: DetectorConfig, cache: Path) -> DetectorConfig:
    """A ``file`` detector reading back ``yolo``'s boxes of ``scene`` (:func:`cached_detections`),
    with ``yolo``'s confidence floor."""
    pattern = cached_detections(scene, config, yolo, cache)
    return DetectorConfig(backend="file", file_pattern=pattern, confidence_min=yolo.confidence_min)


def snap_to_ground_truth(det: MotTable, gt: MotTable, iou_min: float = 0.5) -> MotTable:
    """Diagnostic: detections placed exactly. Each detection that matches a ground-truth box of its
    frame takes that box; the others (false positives, loose boxes) stay as they are.

    Matching is one-to-one per frame, maximising the summed IoU (Hungarian), and a pair counts at
    IoU >= ``iou_min``. Scores, frames and row order are kept; ground-truth rows with visibility
    0 (hidden people) are left out. The pipeline on snapped boxes shows what the detector's box
    geometry costs, and the pipeline on ground-truth boxes what its misses cost on top.

    Example: a detection (0, 0, 10, 20) over a ground-truth (1, 0, 10, 20) (left, top, width,
    height) has IoU 0.9 and becomes (1, 0, 10, 20); one at (50, 0, 10, 20) stays.
    """
    from scipy.optimize import linear_sum_assignment

    from mtmc.eval.detection import box_iou_xyxy

    gt = gt[gt.visibility != 0]
    tlwh = det.tlwh.copy()
    det_xyxy, gt_xyxy = det.xyxy, gt.xyxy
    for frame in np.intersect1d(det.frame, gt.frame).tolist():
        d = np.flatnonzero(det.frame == frame)
        g = np.flatnonzero(gt.frame == frame)
        iou = box_iou_xyxy(det_xyxy[d], gt_xyxy[g])
        rows, cols = linear_sum_assignment(iou, maximize=True)
        ok = iou[rows, cols] >= iou_min
        tlwh[d[rows[ok]]] = gt.tlwh[g[cols[ok]]]
    return MotTable(frame=det.frame, track_id=det.track_id, tlwh=tlwh, confidence=det.confidence,
                    class_id=det.class_id, visibility=det.visibility)


def snapped_detector(scene: Path, camera_ids: Sequence[str], detector: DetectorConfig) -> DetectorConfig:
    """``detector`` (a ``file`` detector of cached boxes, :func:`cached_detector`) with its boxes
    snapped to the scene's ground truth ``scene/gt/<camera>.txt`` (:func:`snap_to_ground_truth`),
    written next to the cache folder as ``<cache folder>_snapped/<camera>.txt``."""
    source = Path(detector.file_pattern).parent
    folder = source.with_name(source.name + "_snapped")
    folder.mkdir(parents=True, exist_ok=True)
    for cam in camera_ids:
        gt_path = scene / "gt" / f"{cam}.txt"
        if not gt_path.is_file():
            raise ValueError(f"{gt_path}: not found; snapping detections needs the scene's ground truth")
        snapped = snap_to_ground_truth(read_mot(source / f"{cam}.txt"), read_mot(gt_path))
        partial = folder / f"{cam}.txt.partial"  # a run reading the folder never sees half a file
        write_mot(partial, snapped, kind="det")
        partial.replace(folder / f"{cam}.txt")
    return replace(detector, file_pattern=str(folder.resolve() / "{camera}.txt"))
