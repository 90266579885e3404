"""CVML XML ground truth (PETS 2009 annotations) -> MOTChallenge table.

CVML frames are 0-based and boxes are given by centre and size; the table uses MOTChallenge's
conventions (1-based frames, ``left, top, width, height``) so every tool of the project can read it::

    <dataset><frame number="0"><objectlist>
      <object id="9"><box h="75.17" w="31.03" xc="514.71" yc="195.27"/></object> ...

Example::

    gt = read_cvml("PETS2009-S2L1-cropped.xml")      # MotTable, frame 1 = CVML frame 0
    write_mot("gt/View_001.txt", gt, kind="gt")
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from mtmc.formats.mot import MotTable

__all__ = ["read_cvml"]


def read_cvml(path: str | Path) -> MotTable:
    """Read a CVML ground-truth file; every box gets conf 1, class 1 (pedestrian), visibility -1.

    Raises:
        ValueError: not CVML (no ``<dataset>``/``<frame>``), or a box lacks a field; the message
            names the file and the frame.
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{path}: not valid XML: {exc}") from None
    frames = root.findall("frame")
    if root.tag != "dataset" or not frames:
        raise ValueError(f"{path}: not a CVML ground-truth file (expected <dataset><frame ...>)")
    rows: list[tuple[float, ...]] = []
    for frame in frames:
        number = int(frame.get("number", "-1"))
        for obj in frame.iter("object"):
            box = obj.find("box")
            try:
                xc, yc = float(box.get("xc")), float(box.get("yc"))
                w, h = float(box.get("w")), float(box.get("h"))
                oid = int(obj.get("id"))
            except (AttributeError, TypeError, ValueError):
                raise ValueError(
                    f"{path}: frame {number}: object without a complete <box xc yc w h> or id"
                ) from None
            rows.append((number + 1, oid, xc - w / 2, yc - h / 2, w, h))
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    n = len(table)
    return MotTable(
        frame=table[:, 0].astype(np.int64),
        track_id=table[:, 1].astype(np.int64),
        tlwh=table[:, 2:6],
        confidence=np.ones(n),
        class_id=np.ones(n, dtype=np.int64),
        visibility=np.full(n, -1.0),
    ).sorted()
