"""Readers for what the evaluation compares: ``gt/world.txt`` and the pipeline's ``rtls.jsonl``.

``gt/world.txt`` (simulator ground truth), one line per person and frame, 1-based frames::

    frame,id,x_m,y_m,heading_rad

``rtls.jsonl`` (pipeline output), one JSON object per time step, frames numbered as the input::

    {"frame": 12, "t": 0.44, "objects": [{"id": 3, "x": 1.2, "y": 4.0, "vx": 0.1, "vy": 0.0,
                                          "cams": {"cam1": 17}}]}

A time step with nobody in it is written with ``"objects": []``; the time steps present tell which
frames the run processed.

Example::

    gt = read_world_gt("scene/gt/world.txt")        # FloorTable
    log = read_rtls("runs/demo/rtls.jsonl")         # RtlsLog(tracks=FloorTable, frames, t_s)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtmc.eval.sequence import FloorTable

__all__ = ["RtlsLog", "read_rtls", "read_world_gt"]


@dataclass(frozen=True)
class RtlsLog:
    """The positions in an ``rtls.jsonl`` and the time steps it covers.

    Attributes:
        tracks: one row per (frame, global id) with the floor position in metres.
        frames: (T,) int64 1-based frames of the time steps, in file order.
        t_s: (T,) float64 time of each time step in seconds (NaN where not given).
    """

    tracks: FloorTable
    frames: np.ndarray
    t_s: np.ndarray


def read_world_gt(path: str | Path) -> FloorTable:
    """Read ``frame,id,x_m,y_m[,heading_rad]`` lines (comma or whitespace separated).

    Blank lines and lines starting with ``#`` are skipped; heading is read and discarded.

    Raises:
        ValueError: missing file, wrong column count, non-numeric value, or a non-integer frame
            or id; the message names the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: ground-truth world file not found") from None
    rows: list[list[float]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(",", " ").split()
        if len(parts) not in (4, 5):
            raise ValueError(
                f"{path}:{number}: expected frame,id,x_m,y_m,heading_rad, got {len(parts)} values"
            )
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"{path}:{number}: non-numeric value in {line!r}") from None
        if not (values[0].is_integer() and values[1].is_integer()):
            raise ValueError(f"{path}:{number}: frame and id must be integers, got {line!r}")
        rows.append(values[:4])
    if not rows:
        return FloorTable.empty()
    data = np.asarray(rows, dtype=np.float64)
    try:
        return FloorTable(data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2:4])
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def read_rtls(path: str | Path) -> RtlsLog:
    """Read a pipeline's ``rtls.jsonl`` (one JSON object per time step).

    Each line needs ``frame`` (int >= 1) and ``objects`` (list); each object needs ``id`` (int),
    ``x`` and ``y`` (finite numbers, metres). Other keys (``t``, ``vx``, ``vy``, ``cams``) are
    allowed; ``t`` is kept.

    Raises:
        ValueError: missing file, invalid JSON, a missing or ill-typed key, a frame listed twice,
            or an id twice in one frame; the message names the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: RTLS log not found (does the run folder have rtls.jsonl?)") from None
    frames: list[int] = []
    times: list[float] = []
    obj_frame: list[int] = []
    obj_id: list[int] = []
    obj_xy: list[tuple[float, float]] = []
    seen: set[int] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: invalid JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a JSON object per line")
        frame = _int(record, "frame", where)
        if frame < 1:
            raise ValueError(f"{where}: frame {frame} is not 1-based")
        if frame in seen:
            raise ValueError(f"{where}: frame {frame} appears on two lines")
        seen.add(frame)
        objects = record.get("objects")
        if not isinstance(objects, list):
            raise ValueError(f"{where}: 'objects' must be a list (use [] for an empty time step)")
        t = record.get("t")
        times.append(float(t) if isinstance(t, (int, float)) else math.nan)
        frames.append(frame)
        ids_here: set[int] = set()
        for k, obj in enumerate(objects):
            at = f"{where}: objects[{k}]"
            if not isinstance(obj, dict):
                raise ValueError(f"{at}: expected an object with id, x, y")
            oid = _int(obj, "id", at)
            if oid in ids_here:
                raise ValueError(f"{at}: id {oid} appears twice in frame {frame}")
            ids_here.add(oid)
            x, y = (_number(obj, key, at) for key in ("x", "y"))
            obj_frame.append(frame)
            obj_id.append(oid)
            obj_xy.append((x, y))
    tracks = FloorTable(
        np.asarray(obj_frame, dtype=np.int64),
        np.asarray(obj_id, dtype=np.int64),
        np.asarray(obj_xy, dtype=np.float64).reshape(-1, 2),
    )
    return RtlsLog(tracks, np.asarray(frames, dtype=np.int64), np.asarray(times, dtype=np.float64))


def _int(record: dict, key: str, where: str) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise ValueError(f"{where}: '{key}' must be an integer, got {value!r}")
    return int(value)


def _number(record: dict, key: str, where: str) -> float:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: '{key}' must be a finite number (metres), got {value!r}")
    return float(value)
