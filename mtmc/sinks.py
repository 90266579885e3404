"""Run outputs, written incrementally and flushed at least every ``flush_interval_s``.

Files under the run folder:

- ``rtls.jsonl``: one JSON object per time step,
  ``{"frame": n, "t": s, "objects": [{"id", "x", "y", "vx", "vy", "cams": {camera: local id}}]}``
  (metres, metres per second; frames numbered as the input, 1-based);
- ``mot/<camera>.txt``: MOTChallenge ``frame,id,left,top,width,height,conf,-1,-1,-1`` with global ids;
- ``aic.txt``: AI City ``camera_id obj_id frame_id xmin ymin width height xworld yworld`` (camera_id
  is the camera's 1-based position in ``cams.yaml``).

Example::

    with RunWriter(out_dir, ["cam1", "cam2"], flush_interval_s=1.0) as writer:
        writer.write_step(frame=1, t_s=0.0, objects=assoc.objects(), dets=dets)
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from mtmc.associate import GLOBAL_ID, GlobalObject
from mtmc.types import CAMERA_ID, FLOOR_XY, Detections

__all__ = ["RunWriter"]


class RunWriter:
    """Writes ``rtls.jsonl``, ``mot/<cam>.txt`` and ``aic.txt``; a context manager."""

    def __init__(self, out_dir: Path, camera_ids: Sequence[str], flush_interval_s: float = 1.0) -> None:
        self.out_dir = Path(out_dir)
        (self.out_dir / "mot").mkdir(parents=True, exist_ok=True)
        self.camera_ids = list(camera_ids)
        self._camera_number = {cid: i + 1 for i, cid in enumerate(self.camera_ids)}
        self.flush_interval_s = flush_interval_s
        self._rtls = open(self.out_dir / "rtls.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self._aic = open(self.out_dir / "aic.txt", "w", encoding="utf-8")  # noqa: SIM115
        self._mot: dict[str, TextIO] = {
            cid: open(self.out_dir / "mot" / f"{cid}.txt", "w", encoding="utf-8")  # noqa: SIM115
            for cid in self.camera_ids
        }
        self._last_flush = time.monotonic()
        self.steps_written = 0
        self.rows_written = 0

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_step(self, frame: int, t_s: float, objects: Sequence[GlobalObject], dets: Detections) -> None:
        """Write one time step. ``dets``: all cameras' rows with ``camera_id``, ``global_id``, and
        optionally ``floor_xy_m`` and a per-row ``frame`` (each camera's own frame number)."""
        record = {
            "frame": int(frame),
            "t": round(float(t_s), 4),
            "objects": [
                {"id": o.global_id, "x": round(o.x_m, 3), "y": round(o.y_m, 3),
                 "vx": round(o.vx_mps, 3), "vy": round(o.vy_mps, 3), "cams": o.cams}
                for o in objects
            ],
        }
        self._rtls.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._write_boxes(frame, dets)
        self.steps_written += 1
        now = time.monotonic()
        if now - self._last_flush >= self.flush_interval_s:
            self.flush()
            self._last_flush = now

    def _write_boxes(self, frame: int, dets: Detections) -> None:
        if not len(dets) or GLOBAL_ID not in dets.data:
            return
        keep = dets.data[GLOBAL_ID] > 0
        if not keep.any():
            return
        dets = dets[keep]
        cams = dets.data[CAMERA_ID] if CAMERA_ID in dets.data else np.full(len(dets), dets.meta[CAMERA_ID])
        frames = dets.data["frame"] if "frame" in dets.data else np.full(len(dets), dets.meta.get("frame", frame))
        floor = dets.data.get(FLOOR_XY, np.full((len(dets), 2), np.nan))
        tlwh = dets.tlwh
        for i in range(len(dets)):
            cam, f, gid = str(cams[i]), int(frames[i]), int(dets.data[GLOBAL_ID][i])
            left, top, w, h = (float(v) for v in tlwh[i])
            self._mot[cam].write(
                f"{f},{gid},{left:.2f},{top:.2f},{w:.2f},{h:.2f},{float(dets.confidence[i]):.3f},-1,-1,-1\n"
            )
            xw, yw = (float(v) if np.isfinite(v) else -1.0 for v in floor[i])
            self._aic.write(
                f"{self._camera_number[cam]} {gid} {f} {round(left)} {round(top)} {round(w)} {round(h)} "
                f"{xw:.3f} {yw:.3f}\n"
            )
            self.rows_written += 1

    def flush(self) -> None:
        for fh in (self._rtls, self._aic, *self._mot.values()):
            fh.flush()

    def close(self) -> None:
        for fh in (self._rtls, self._aic, *self._mot.values()):
            if not fh.closed:
                fh.close()
