"""``hog``: OpenCV's built-in HOG + linear SVM people detector (Dalal & Triggs), no weights file.

Per frame:

1. the frame is resized so its longest side is ``image_size_px`` (as the ``yolo`` backend does):
   lower it for speed; raise it to find small people, since the detector's window is 64x128 px
   and people shorter than about 128 px at the working size are missed;
2. ``HOGDescriptor.detectMultiScale`` with OpenCV's default people SVM;
3. boxes are scaled back and shrunk from the detection window to the person inside it (the
   training windows have a margin around the body), so foot points land on the feet;
4. confidence = ``tanh(SVM margin)`` times the calibration size prior's fit (boxes of the wrong
   height for a person standing there score 0 and are dropped);
5. non-maximum suppression at ``NMS_IOU``.

It is slow on large frames (about 0.1-0.5 s per 640 px frame on one CPU core) and misses many
people; it exists as a dependency-free baseline and for machines without a usable detector model.

Example::

    det = HogDetector(DetectorConfig(backend="hog", image_size_px=768), cameras, calibrations)
    [dets] = det.detect([image_bgr], [{"camera_id": "cam1", "frame": 1, "t_s": 0.0}])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from mtmc.config import CameraConfig, DetectorConfig
from mtmc.detect.base import check_batch, detections_from_arrays
from mtmc.detect.bgsub import build_priors
from mtmc.types import Detections

__all__ = ["HogDetector", "window_to_person"]

WIN_STRIDE_PX = 8  # window step at each scale; 4 finds a few more people at ~4x the cost
PADDING_PX = 8  # border added around the image so people at the edge can be found
SCALE_STEP = 1.05  # pyramid factor between scales; larger is faster and misses more
NMS_IOU = 0.4  # boxes overlapping a better one by more than this IoU are dropped
# The body inside a detection window, as the margin on each side in fractions of the window size.
# Measured against the PETS 2009 S2L1 ground truth: median margins 0.22-0.30 of the width on each
# side, 0.12-0.18 of the height above and below.
WINDOW_PERSON_MARGIN_XY = (0.25, 0.15)


class HogDetector:
    """OpenCV HOG people detector with the calibration size prior and NMS.

    Args:
        cfg: detector config (``confidence_min``, ``image_size_px``).
        cameras: the cameras it will see (each needs a calibration for the size prior).
        calibrations: camera id -> ``calib`` camera.
    """

    def __init__(
        self, cfg: DetectorConfig, cameras: Sequence[CameraConfig], calibrations: Mapping[str, Any]
    ) -> None:
        self.cfg = cfg
        self.priors = build_priors(cameras, calibrations, "hog")
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def reset(self) -> None:
        """Nothing to forget: HOG has no state between frames."""

    def windows(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw detection windows in frame pixels: (N, 4) float64 xyxy and (N,) SVM margins."""
        h, w = frame_bgr.shape[:2]
        scale = self.cfg.image_size_px / max(h, w)
        image = frame_bgr
        if abs(scale - 1.0) > 1e-3:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            image = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        rects, margins = self.hog.detectMultiScale(
            image,
            winStride=(WIN_STRIDE_PX, WIN_STRIDE_PX),
            padding=(PADDING_PX, PADDING_PX),
            scale=SCALE_STEP,
        )
        rects = np.asarray(rects, np.float64).reshape(-1, 4) / scale
        xyxy = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        return xyxy, np.asarray(margins, np.float64).reshape(-1)

    def detect(self, frames_bgr: Sequence[np.ndarray], metas: Sequence[dict]) -> list[Detections]:
        """One Detections per frame (see :class:`~mtmc.detect.base.Detector`)."""
        check_batch(frames_bgr, metas)
        out = []
        for frame, meta in zip(frames_bgr, metas, strict=True):
            cam = meta["camera_id"]
            if cam not in self.priors:
                raise ValueError(f"hog: camera {cam!r} was not given at construction (known: {sorted(self.priors)})")
            windows, margins = self.windows(frame)
            h, w = frame.shape[:2]
            xyxy = window_to_person(windows, (w, h))
            score = np.tanh(np.clip(margins, 0.0, None)) * self.priors[cam].fit(xyxy, (w, h))
            keep = nms(xyxy, score, NMS_IOU, score_min=max(self.cfg.confidence_min, 1e-6))
            out.append(
                detections_from_arrays(xyxy[keep], score[keep], meta, confidence_min=self.cfg.confidence_min)
            )
        return out


def window_to_person(windows_xyxy: np.ndarray, image_wh: tuple[int, int]) -> np.ndarray:
    """Shrink HOG windows (N, 4) xyxy to the body inside them, clipped to the image.

    Example: the window ``[0, 0, 64, 128]`` becomes ``[16, 19.2, 48, 108.8]`` (margins of
    ``0.25 * 64`` and ``0.15 * 128``).
    """
    windows_xyxy = np.asarray(windows_xyxy, np.float64).reshape(-1, 4)
    size = windows_xyxy[:, 2:] - windows_xyxy[:, :2]
    margin = size * np.asarray(WINDOW_PERSON_MARGIN_XY)
    out = np.concatenate([windows_xyxy[:, :2] + margin, windows_xyxy[:, 2:] - margin], axis=1)
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, image_wh[0])
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, image_wh[1])
    return out


def nms(xyxy: np.ndarray, score: np.ndarray, iou_max: float, score_min: float) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best first.

    Boxes scoring below ``score_min`` are dropped first. Example: two identical boxes scored 0.9
    and 0.8 keep only index 0.
    """
    if len(xyxy) == 0:
        return np.zeros(0, np.int64)
    tlwh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    keep = cv2.dnn.NMSBoxes(tlwh.tolist(), score.astype(float).tolist(), score_min, iou_max)
    return np.asarray(keep, np.int64).reshape(-1)
