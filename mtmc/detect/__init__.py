"""Person detectors: one batch of frames (one per camera) -> one Detections per frame.

Backends (``detector.backend`` in cams.yaml):

- ``yolo`` (:mod:`mtmc.detect.yolo`): ultralytics YOLO weights (.pt, .onnx, .engine), offline;
- ``bgsub`` (:mod:`mtmc.detect.bgsub`): background subtraction + calibration size prior, no weights;
- ``hog`` (:mod:`mtmc.detect.hog`): OpenCV's HOG people detector + the same size prior, no weights;
- ``file`` (:mod:`mtmc.detect.file`): precomputed MOTChallenge / CVML boxes per camera.

Every backend is built as ``Backend(cfg, cameras, calibrations)`` and follows :class:`Detector`.
``python -m mtmc.detect.train`` trains a YOLO person detector on simulated scenes and
``python -m mtmc.detect.evaluate`` scores detectors on them (``models/detector/person.pt`` is
the shipped one); :mod:`mtmc.detect.cache` detects a rendered scene once for many pipeline runs.

Example::

    detector = build_detector(config.detector, config.cameras, calibrations)
    per_camera = detector.detect(images_bgr, [{"camera_id": "cam1", "frame": 1, "t_s": 0.0}, ...])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtmc.config import CameraConfig, DetectorConfig
from mtmc.detect.base import Detector
from mtmc.detect.bgsub import BgSubDetector
from mtmc.detect.file import FileDetector
from mtmc.detect.hog import HogDetector
from mtmc.detect.yolo import YoloDetector

__all__ = ["DETECTORS", "Detector", "build_detector"]

DETECTORS: dict[str, type] = {
    "yolo": YoloDetector,
    "bgsub": BgSubDetector,
    "hog": HogDetector,
    "file": FileDetector,
}


def build_detector(
    cfg: DetectorConfig, cameras: Sequence[CameraConfig], calibrations: Mapping[str, Any]
) -> Detector:
    """The detector ``cfg.backend`` names, set up for ``cameras``.

    Args:
        cfg: the ``detector`` section of cams.yaml.
        cameras: every camera the detector will see (per-camera state and files are set up now).
        calibrations: camera id -> ``calib`` camera (``bgsub`` and ``hog`` use it for their
            person size prior).

    Raises:
        KeyError: unknown backend (lists the choices).
        ValueError: the backend cannot be set up (missing weights, files or calibrations).
    """
    try:
        backend = DETECTORS[cfg.backend]
    except KeyError:
        raise KeyError(f"unknown detector {cfg.backend!r}; choose from {sorted(DETECTORS)}") from None
    return backend(cfg, cameras, calibrations)
