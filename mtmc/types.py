"""The one columnar type that flows through every stage: :class:`Detections`.

Detector -> tracker -> embedder -> association all take and return ``Detections``. Fixed columns are
numpy arrays with one row per box; extra per-row columns (embeddings, floor points, where a row came
from) live in ``data``; per-frame values (camera id, frame index, timestamp) live in ``meta``.

Example::

    dets = Detections(xyxy=np.array([[10, 20, 50, 120]]), confidence=np.array([0.9]),
                      meta={"camera_id": "cam1", "frame": 7, "t_s": 0.7})
    tall = dets[dets.height_px > 50]              # boolean mask -> Detections
    dets.data[FLOOR_XY] = np.array([[3.2, 4.1]])  # add a column (N, 2) in metres
    both = Detections.concatenate([dets_cam1, dets_cam2])  # camera_id becomes a column
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "CAMERA_ID",
    "EMBEDDING",
    "FLOOR_XY",
    "SOURCE_INDEX",
    "UNSET_TRACK_ID",
    "Detections",
]

# Well-known column / metadata names, so stages agree on them.
EMBEDDING = "embedding"  # (N, D) float32, L2-normalised appearance vectors
FLOOR_XY = "floor_xy_m"  # (N, 2) float64, foot point on the floor in metres (NaN = unknown)
SOURCE_INDEX = "source_index"  # (N,) int64, row index in the detector's output for this frame
CAMERA_ID = "camera_id"  # meta key for one camera's frame; a (N,) str column after concatenation

UNSET_TRACK_ID = -1  # track_id of rows that no tracker has claimed yet


@dataclass
class Detections:
    """Boxes of one frame (or of several cameras' frames after :meth:`concatenate`).

    Attributes:
        xyxy: (N, 4) float32 boxes ``x1, y1, x2, y2`` in pixels, ``x2 >= x1``, ``y2 >= y1``.
        confidence: (N,) float32 detector scores in [0, 1]; default 1.
        class_id: (N,) int32 class ids; default 0 (person).
        track_id: (N,) int64 ids; ``UNSET_TRACK_ID`` (-1) before tracking.
        data: extra per-row columns, each an array whose first dimension is N.
        meta: per-frame values, e.g. ``camera_id`` (str), ``frame`` (int, 1-based), ``t_s`` (float).
    """

    xyxy: np.ndarray
    confidence: np.ndarray | None = None
    class_id: np.ndarray | None = None
    track_id: np.ndarray | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if xyxy.ndim == 1 and xyxy.size == 0:
            xyxy = xyxy.reshape(0, 4)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"Detections.xyxy must have shape (N, 4), got {xyxy.shape}")
        n = len(xyxy)
        if not np.isfinite(xyxy).all():
            raise ValueError("Detections.xyxy contains NaN or infinite coordinates")
        if n and ((xyxy[:, 2] < xyxy[:, 0]) | (xyxy[:, 3] < xyxy[:, 1])).any():
            row = int(np.flatnonzero((xyxy[:, 2] < xyxy[:, 0]) | (xyxy[:, 3] < xyxy[:, 1]))[0])
            raise ValueError(
                f"Detections.xyxy row {row} is {xyxy[row].tolist()}: x2 < x1 or y2 < y1 "
                "(is it tlwh? convert with Detections.from_tlwh)"
            )
        self.xyxy = xyxy
        self.confidence = _column("confidence", self.confidence, n, np.float32, 1.0)
        self.class_id = _column("class_id", self.class_id, n, np.int32, 0)
        self.track_id = _column("track_id", self.track_id, n, np.int64, UNSET_TRACK_ID)
        self.data = {name: _data_column(name, values, n) for name, values in self.data.items()}
        self.meta = dict(self.meta)

    # construction -------------------------------------------------------------------------------

    @classmethod
    def empty(cls, **meta: Any) -> Detections:
        """No boxes, with the given metadata."""
        return cls(xyxy=np.zeros((0, 4), np.float32), meta=meta)

    @classmethod
    def from_tlwh(cls, tlwh: np.ndarray, **kwargs: Any) -> Detections:
        """Build from (N, 4) ``left, top, width, height`` boxes (MOTChallenge layout)."""
        tlwh = np.asarray(tlwh, dtype=np.float32).reshape(-1, 4)
        xyxy = tlwh.copy()
        xyxy[:, 2:] += xyxy[:, :2]
        return cls(xyxy=xyxy, **kwargs)

    @classmethod
    def concatenate(cls, parts: Iterable[Detections]) -> Detections:
        """Stack several frames' detections (typically one per camera) into one.

        Metadata equal in every part stays metadata; metadata that differs (e.g. ``camera_id``)
        becomes a per-row column so that no row loses where it came from. Extra columns must be
        present in every part.
        """
        parts = list(parts)
        if not parts:
            return cls.empty()
        names = set(parts[0].data)
        for i, p in enumerate(parts[1:], start=1):
            if set(p.data) != names:
                raise ValueError(
                    f"cannot concatenate: part {i} has columns {sorted(p.data)}, "
                    f"part 0 has {sorted(names)}"
                )
        meta: dict[str, Any] = {}
        data = {name: np.concatenate([p.data[name] for p in parts]) for name in sorted(names)}
        for key in {k for p in parts for k in p.meta}:
            values = [p.meta.get(key) for p in parts]
            if all(_same(v, values[0]) for v in values[1:]):
                meta[key] = values[0]
            elif key in data:
                raise ValueError(f"cannot concatenate: meta {key!r} differs and is also a column")
            else:
                data[key] = np.concatenate([np.full(len(p), v) for p, v in zip(parts, values, strict=True)])
        return cls(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            confidence=np.concatenate([p.confidence for p in parts]),
            class_id=np.concatenate([p.class_id for p in parts]),
            track_id=np.concatenate([p.track_id for p in parts]),
            data=data,
            meta=meta,
        )

    # selection ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> Detections:
        """Select rows by boolean mask, integer array/list, slice, or a single int (kept 2-D)."""
        if isinstance(index, (int, np.integer)):
            if not -len(self) <= index < len(self):
                raise IndexError(f"row {index} out of range for {len(self)} detections")
            index = [int(index)]
        if not isinstance(index, slice):
            index = np.asarray(index)
            if index.dtype == bool and index.shape != (len(self),):
                raise IndexError(f"boolean mask has shape {index.shape}, expected ({len(self)},)")
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            track_id=self.track_id[index],
            data={k: v[index] for k, v in self.data.items()},
            meta=dict(self.meta),
        )

    def with_data(self, **columns: np.ndarray) -> Detections:
        """A new Detections sharing this one's arrays, with ``columns`` added or replaced.

        Cheap (no copy of the existing columns): use it in stages that only add columns.
        """
        return Detections(
            xyxy=self.xyxy,
            confidence=self.confidence,
            class_id=self.class_id,
            track_id=self.track_id,
            data={**self.data, **columns},
            meta=dict(self.meta),
        )

    # derived geometry ---------------------------------------------------------------------------

    @property
    def tlwh(self) -> np.ndarray:
        """(N, 4) float32 ``left, top, width, height``."""
        out = self.xyxy.copy()
        out[:, 2:] -= out[:, :2]
        return out

    @property
    def width_px(self) -> np.ndarray:
        return self.xyxy[:, 2] - self.xyxy[:, 0]

    @property
    def height_px(self) -> np.ndarray:
        return self.xyxy[:, 3] - self.xyxy[:, 1]

    @property
    def foot_px(self) -> np.ndarray:
        """(N, 2) float64 bottom-centre of each box: where the person touches the floor."""
        x = (self.xyxy[:, 0].astype(np.float64) + self.xyxy[:, 2]) / 2
        return np.stack([x, self.xyxy[:, 3].astype(np.float64)], axis=1)

    def __repr__(self) -> str:
        cols = ", ".join(f"{k}{tuple(v.shape[1:]) or ''}" for k, v in self.data.items())
        return f"Detections(n={len(self)}, meta={self.meta}, columns=[{cols}])"


def _column(name: str, values: Any, n: int, dtype: type, default: float) -> np.ndarray:
    if values is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(values, dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(f"Detections.{name} must have shape ({n},) to match xyxy, got {arr.shape}")
    return arr


def _data_column(name: str, values: Any, n: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 0 or arr.shape[0] != n:
        raise ValueError(
            f"Detections.data[{name!r}] must have {n} rows to match xyxy, got shape {arr.shape}"
        )
    return arr


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return a == b
    return a == b and type(a) is type(b)
