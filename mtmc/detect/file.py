"""``file``: precomputed boxes per camera from MOTChallenge (or CVML ``.xml``) files.

``cfg.file_pattern`` names each camera's file with ``{camera}`` replaced by the camera id, e.g.
``gt/{camera}.txt``. Both ground truth (``frame,id,l,t,w,h,conf,class,visibility``) and detection
files (``frame,id,l,t,w,h,conf,x,y,z``) work:

- rows with visibility 0 (a 9th column) are skipped: the person is hidden;
- rows whose MOT class is given and is not 1 (pedestrian) are skipped;
- the 7th column is the confidence (in ground truth it is the 0/1 "consider" flag, so ignored
  rows fall below ``confidence_min``); scores outside [0, 1] are clipped.

Each file is read once at construction and indexed by frame (sorted frames + binary search), so a
frame's boxes cost O(log rows). Frames are 1-based, as in the files.

Example::

    det = FileDetector(DetectorConfig(backend="file", file_pattern="gt/{camera}.txt"), cameras, {})
    [dets] = det.detect([image], [{"camera_id": "cam1", "frame": 7, "t_s": 0.6}])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtmc.config import CameraConfig, DetectorConfig
from mtmc.detect.base import check_batch, detections_from_arrays
from mtmc.formats.boxes import read_boxes
from mtmc.formats.mot import MotTable
from mtmc.types import Detections

__all__ = ["FileDetector"]

PEDESTRIAN_MOT_CLASS = 1


@dataclass(frozen=True)
class _FrameIndex:
    """Boxes of one camera sorted by frame, with the frame column for binary search."""

    frame: np.ndarray  # (N,) int64, sorted
    xyxy: np.ndarray  # (N, 4) float32
    confidence: np.ndarray  # (N,) float32 in [0, 1]

    @classmethod
    def from_table(cls, table: MotTable) -> _FrameIndex:
        keep = (table.visibility != 0) & (
            (table.class_id < 0) | (table.class_id == PEDESTRIAN_MOT_CLASS)
        )
        table = table[keep]
        order = np.argsort(table.frame, kind="stable")
        return cls(
            frame=table.frame[order],
            xyxy=table.xyxy[order].astype(np.float32),
            confidence=np.clip(table.confidence[order], 0.0, 1.0).astype(np.float32),
        )

    def rows(self, frame: int) -> slice:
        lo, hi = np.searchsorted(self.frame, [frame, frame + 1])
        return slice(int(lo), int(hi))


class FileDetector:
    """Boxes read from per-camera MOTChallenge / CVML files instead of a model.

    Args:
        cfg: detector config (``file_pattern``, ``confidence_min``).
        cameras: the cameras whose files are read now.
        calibrations: unused (accepted for the common constructor signature).

    Raises:
        ValueError: no ``file_pattern``, or a camera's file is missing or malformed (the message
            names the key, the camera and the file).
    """

    def __init__(
        self,
        cfg: DetectorConfig,
        cameras: Sequence[CameraConfig],
        calibrations: Mapping[str, Any] | None = None,
    ) -> None:
        if not cfg.file_pattern:
            raise ValueError("detector.file_pattern: backend 'file' needs a file per camera, e.g. gt/{camera}.txt")
        self.cfg = cfg
        self._index: dict[str, _FrameIndex] = {}
        for cam in cameras:
            path = cfg.file_pattern.format(camera=cam.id)
            if not Path(path).is_file():
                raise ValueError(f"detector.file_pattern: camera {cam.id!r}: file not found: {path}")
            try:
                table = read_boxes(path)
            except ValueError as exc:
                raise ValueError(f"detector.file_pattern: camera {cam.id!r}: {exc}") from None
            self._index[cam.id] = _FrameIndex.from_table(table)

    def reset(self) -> None:
        """Nothing to forget: the files are indexed by frame number."""

    def detect(self, frames_bgr: Sequence[np.ndarray], metas: Sequence[dict]) -> list[Detections]:
        """The file's boxes of each meta's camera and frame (see :class:`~mtmc.detect.base.Detector`).

        The images are not looked at (pass ``None`` placeholders if there are none).
        """
        check_batch(frames_bgr, metas)
        out = []
        for meta in metas:
            cam = meta["camera_id"]
            if cam not in self._index:
                raise ValueError(f"file detector: camera {cam!r} was not given at construction (known: {sorted(self._index)})")
            if "frame" not in meta:
                raise ValueError(f"file detector: meta of camera {cam!r} has no 'frame' number")
            index = self._index[cam]
            rows = index.rows(int(meta["frame"]))
            out.append(
                detections_from_arrays(
                    index.xyxy[rows], index.confidence[rows], meta, confidence_min=self.cfg.confidence_min
                )
            )
        return out
