"""Detections of a rendered scene computed once and read back by the ``file`` detector.

The detector keeps no state between frames, so its boxes depend only on the frames, the weights,
the image size and the confidence floor: scripts that run many pipeline configurations on the same
scene (``scripts/accuracy_runs.py``, ``scripts/finetune_report.py``) detect once and feed the
cached boxes to every run.

Example::

    detector = cached_detector(Path("data/demo"), config, config.detector, Path("runs/detections"))
    config = replace(config, detector=detector)     # backend "file", same confidence_min
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import numpy as np

from mtmc.config import CamsConfig, DetectorConfig
from mtmc.formats.mot import MotTable, write_mot

__all__ = ["CACHE_CONFIDENCE_MIN", "cached_detections", "cached_detector"]

# Cached detections keep rows down to this score (the runs' detector.confidence_min drops the rest),
# so that lower pipeline thresholds can be tried on the same cache.
CACHE_CONFIDENCE_MIN = 0.1


def cached_detections(scene: Path, config: CamsConfig, yolo: DetectorConfig, cache: Path) -> str:
    """``file_pattern`` of the scene's detections by ``yolo``, running the detector only the
    first time.

    They are kept under ``cache/<scene>/<weights sha1>_<imgsz>_c<CACHE_CONFIDENCE_MIN>/<camera>.txt``
    (MOTChallenge det rows scored at least ``CACHE_CONFIDENCE_MIN``). A folder is written under
    ``.partial`` and moved into place when complete, so an interrupted run is redone, never read.
    """
    from tqdm import tqdm

    from mtmc.detect import build_detector
    from mtmc.viz.streams import VideoFrames

    digest = hashlib.sha1(Path(yolo.weights).read_bytes()).hexdigest()[:12]
    folder = cache / scene.name / f"{digest}_{yolo.image_size_px}_c{CACHE_CONFIDENCE_MIN:g}"
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
