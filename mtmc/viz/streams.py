"""Streaming readers for rendering: one time step, one frame's rows, one video frame at a time.

Nothing here reads a whole file into memory, so a week-long run renders in constant memory:

- :func:`iter_rtls` yields ``rtls.jsonl`` time steps (:class:`RtlsStep`) line by line;
- :class:`FrameRows` hands out the rows of one frame of a frame-sorted text table
  (``mot/<cam>.txt``, ``gt/world.txt``), reading forward only;
- :class:`VideoFrames` returns video frame ``f`` (1-based) reading the video sequentially.

Example::

    boxes = FrameRows.mot("runs/demo/mot/cam1.txt")
    video = VideoFrames("scene/videos/cam1.mp4")
    for step in iter_rtls("runs/demo/rtls.jsonl"):
        ids, tlwh = boxes.at(step.frame)         # (K,) int64, (K, 4) float64
        image = video.read(step.frame)           # (h, w, 3) uint8 BGR or None
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

__all__ = ["FrameRows", "RtlsStep", "VideoFrames", "count_rtls_steps", "iter_rtls"]


@dataclass(frozen=True)
class RtlsStep:
    """One line of ``rtls.jsonl``.

    Attributes:
        frame: 1-based frame of the time step.
        t_s: time in seconds (NaN when the line has no ``t``).
        ids: (K,) int64 global ids.
        xy_m: (K, 2) float64 floor positions in metres.
        cams: K tuples of the camera ids that saw each object (empty when not given).
    """

    frame: int
    t_s: float
    ids: np.ndarray
    xy_m: np.ndarray
    cams: tuple[tuple[str, ...], ...] = field(default=())


def iter_rtls(path: str | Path) -> Iterator[RtlsStep]:
    """Yield the time steps of an ``rtls.jsonl`` in file order, one line at a time.

    Validation follows :func:`mtmc.eval.read_rtls` (``frame`` int >= 1, ``objects`` a list of
    ``{"id": int, "x": m, "y": m, ...}``), except that a repeated frame is not detected (that
    would need memory growing with the run).

    Raises:
        ValueError: missing file, invalid JSON or a missing / ill-typed key; names file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: RTLS log not found (does the run folder have rtls.jsonl?)")
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield _parse_rtls_line(line, f"{path}:{number}")


def count_rtls_steps(path: str | Path) -> int:
    """Number of non-empty lines (time steps) of an ``rtls.jsonl``, without parsing them."""
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def _parse_rtls_line(line: str, where: str) -> RtlsStep:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: invalid JSON ({err.msg})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object per line")
    frame = record.get("frame")
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 1:
        raise ValueError(f"{where}: 'frame' must be an integer >= 1, got {frame!r}")
    objects = record.get("objects")
    if not isinstance(objects, list):
        raise ValueError(f"{where}: 'objects' must be a list (use [] for an empty time step)")
    t = record.get("t")
    t_s = float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else math.nan
    ids = np.zeros(len(objects), dtype=np.int64)
    xy_m = np.zeros((len(objects), 2), dtype=np.float64)
    cams: list[tuple[str, ...]] = []
    for k, obj in enumerate(objects):
        at = f"{where}: objects[{k}]"
        if not isinstance(obj, dict):
            raise ValueError(f"{at}: expected an object with id, x, y")
        oid = obj.get("id")
        if isinstance(oid, bool) or not isinstance(oid, int):
            raise ValueError(f"{at}: 'id' must be an integer, got {oid!r}")
        for j, key in enumerate(("x", "y")):
            value = obj.get(key)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or not math.isfinite(value):
                raise ValueError(f"{at}: '{key}' must be a finite number (metres), got {value!r}")
            xy_m[k, j] = value
        ids[k] = oid
        seen_by = obj.get("cams") or {}
        cams.append(tuple(sorted(str(c) for c in seen_by)))
    return RtlsStep(frame=frame, t_s=t_s, ids=ids, xy_m=xy_m, cams=tuple(cams))


class FrameRows:
    """Rows of one frame at a time from a text table sorted by frame (first column, 1-based).

    Reads forward only: asking for frame ``f`` skips every row before it; asking again for an
    earlier frame returns nothing. Memory: one frame's rows.

    Args:
        path: the table (comma or whitespace separated; ``#`` comments and blank lines skipped).
        id_column: column of the id (1 in MOTChallenge and ``world.txt``).
        value_columns: columns returned per row, e.g. ``(2, 3, 4, 5)`` for a MOT ``tlwh``.

    Example::

        gt = FrameRows.world("scene/gt/world.txt")
        ids, xy_m = gt.at(12)                # (K,) int64, (K, 2) float64
    """

    def __init__(self, path: str | Path, id_column: int, value_columns: tuple[int, ...]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ValueError(f"{self.path}: file not found")
        self._columns = (0, id_column, *value_columns)
        # closed at the end of the file or by close()
        self._fh: TextIO | None = open(self.path, encoding="utf-8")  # noqa: SIM115
        self._line_no = 0
        self._pending: tuple[int, int, tuple[float, ...]] | None = None
        self._last_frame = 0
        self._n_values = len(value_columns)

    @classmethod
    def mot(cls, path: str | Path) -> FrameRows:
        """A MOTChallenge file: ``at(f)`` gives ids and ``tlwh`` boxes (pixels)."""
        return cls(path, 1, (2, 3, 4, 5))

    @classmethod
    def world(cls, path: str | Path) -> FrameRows:
        """A ``frame,id,x_m,y_m[,heading]`` file: ``at(f)`` gives ids and floor ``xy_m``."""
        return cls(path, 1, (2, 3))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> FrameRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_row(self) -> tuple[int, int, tuple[float, ...]] | None:
        while self._fh is not None:
            line = self._fh.readline()
            if not line:
                self.close()
                return None
            self._line_no += 1
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.replace(",", " ").split()
            where = f"{self.path}:{self._line_no}"
            try:
                values = [float(parts[c]) for c in self._columns]
            except IndexError:
                raise ValueError(
                    f"{where}: expected at least {max(self._columns) + 1} columns, got {len(parts)}"
                ) from None
            except ValueError:
                raise ValueError(f"{where}: non-numeric value in {text!r}") from None
            frame = int(values[0])
            if frame < self._last_frame:
                raise ValueError(
                    f"{where}: frame {frame} after frame {self._last_frame}; the file must be "
                    f"sorted by frame (e.g. sort -t, -k1,1n -k2,2n {self.path.name})"
                )
            self._last_frame = frame
            return frame, int(values[1]), tuple(values[2:])
        return None

    def at(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids (K,) int64 and values (K, V) float64 of the rows of ``frame``."""
        ids: list[int] = []
        values: list[tuple[float, ...]] = []
        row = self._pending if self._pending is not None else self._next_row()
        while row is not None and row[0] <= frame:
            if row[0] == frame:
                ids.append(row[1])
                values.append(row[2])
            row = self._next_row()
        self._pending = row
        return (np.asarray(ids, dtype=np.int64),
                np.asarray(values, dtype=np.float64).reshape(-1, self._n_values))


class VideoFrames:
    """Frames of a video file by 1-based frame number, decoded sequentially.

    Asking for a later frame skips forward (``grab`` without decoding); an earlier frame reopens
    the video. No path (``None``), a missing or unreadable file, or a frame past the end, gives
    ``None``.

    Example::

        video = VideoFrames("scene/videos/cam1.mp4")
        image = video.read(1)                # first frame, (h, w, 3) uint8 BGR, or None
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._cap: cv2.VideoCapture | None = None
        self._next = 1  # frame number the next cap.read() returns
        self._ended = False
        self.fps: float | None = None
        self.size_wh: tuple[int, int] | None = None
        self._open()

    def _open(self) -> None:
        self.release()
        self._ended = True
        if self.path is None or not self.path.is_file():
            return
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            return
        self._cap, self._next, self._ended = cap, 1, False
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else None
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.size_wh = (w, h) if w > 0 and h > 0 else None

    @property
    def is_open(self) -> bool:
        return self._cap is not None

    def read(self, frame: int) -> np.ndarray | None:
        """Image (h, w, 3) uint8 BGR of 1-based ``frame``, or None when it cannot be read."""
        if frame < self._next:
            self._open()
        if self._cap is None or self._ended:
            return None
        while self._next < frame:
            if not self._cap.grab():
                self._ended = True
                return None
            self._next += 1
        ok, image = self._cap.read()
        if not ok:
            self._ended = True
            return None
        self._next += 1
        return image

    def release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> VideoFrames:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
