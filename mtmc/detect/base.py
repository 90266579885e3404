"""What every detector backend shares: the :class:`Detector` protocol and the output builder.

A detector turns one batch of frames (typically one per camera, all of the same clock tick) into
one :class:`~mtmc.types.Detections` per frame: person boxes (class 0) with a score of at least
``confidence_min``, the frame's metadata copied, and a ``SOURCE_INDEX`` column numbering the rows
so later stages can always point back at the detector's output.

Example::

    dets = detections_from_arrays(xyxy, scores, {"camera_id": "cam1", "frame": 3, "t_s": 0.2},
                                  confidence_min=0.3)
    dets.data[SOURCE_INDEX]      # array([0, 1, ...])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mtmc.types import SOURCE_INDEX, Detections

__all__ = ["Detector", "detections_from_arrays", "check_batch"]

PERSON_CLASS_ID = 0  # the only class detectors emit (COCO's "person")


@runtime_checkable
class Detector(Protocol):
    """A person detector: one verb, ``detect``, and a ``reset`` for a new sequence."""

    def detect(self, frames_bgr: Sequence[np.ndarray], metas: Sequence[dict]) -> list[Detections]:
        """Detect people in each frame.

        Args:
            frames_bgr: H x W x 3 uint8 BGR images (sizes may differ between cameras).
            metas: one dict per frame, ``{"camera_id": str, "frame": int (1-based), "t_s": float}``.

        Returns:
            One Detections per frame, in the same order, with that frame's meta copied, class 0
            only, confidence >= ``confidence_min`` and a ``SOURCE_INDEX`` column ``0..N-1``.
        """
        ...

    def reset(self) -> None:
        """Forget any per-camera state (background models); the next frame starts a new sequence."""
        ...


def check_batch(frames_bgr: Sequence[np.ndarray], metas: Sequence[Mapping[str, Any]]) -> None:
    """Raise ValueError unless there is one meta per frame and every meta names its camera."""
    if len(frames_bgr) != len(metas):
        raise ValueError(f"detect: got {len(frames_bgr)} frames but {len(metas)} metas; pass one meta per frame")
    for i, meta in enumerate(metas):
        if "camera_id" not in meta:
            raise ValueError(f"detect: metas[{i}] has no 'camera_id' (keys: {sorted(meta)})")


def detections_from_arrays(
    xyxy: np.ndarray,
    confidence: np.ndarray,
    meta: Mapping[str, Any],
    *,
    confidence_min: float,
) -> Detections:
    """Build one frame's detector output, dropping rows scored below ``confidence_min``.

    Args:
        xyxy: (N, 4) boxes ``x1, y1, x2, y2`` in pixels.
        confidence: (N,) scores in [0, 1].
        meta: the frame's metadata, copied into the result.
        confidence_min: rows with ``confidence < confidence_min`` are dropped.

    Returns:
        Detections with class 0, ``track_id`` unset and ``SOURCE_INDEX = arange(n_kept)``.
    """
    xyxy = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
    confidence = np.asarray(confidence, dtype=np.float32).reshape(-1)
    keep = confidence >= confidence_min
    n = int(keep.sum())
    return Detections(
        xyxy=xyxy[keep],
        confidence=confidence[keep],
        class_id=np.full(n, PERSON_CLASS_ID, dtype=np.int32),
        data={SOURCE_INDEX: np.arange(n, dtype=np.int64)},
        meta=dict(meta),
    )
