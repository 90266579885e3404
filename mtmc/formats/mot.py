"""MOTChallenge text files: a columnar reader and writer.

One line per box, 1-based frames, comma separated (whitespace is accepted on reading)::

    frame,id,left,top,width,height,conf,x,y,z            detections / tracker results (10 columns)
    frame,id,left,top,width,height,conf,class,visibility ground truth (9 columns, MOT16/17/20)

In ground truth ``conf`` is the "consider" flag (1 = evaluate, 0 = ignore), ``class`` is 1 for a
pedestrian and ``visibility`` is the visible share of the box in [0, 1]. This project writes ground
truth as ``frame,id,left,top,width,height,1,1,visibility`` with global person ids.

Example::

    gt = read_mot("scene/gt/cam1.txt")            # MotTable, sorted by (frame, id)
    rows = gt[gt.frame == 7]                      # boolean mask -> MotTable
    rows.xyxy                                     # (N, 4) float64 pixels
    write_mot("out/cam1.txt", rows, kind="gt")
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

__all__ = ["MotTable", "read_mot", "write_mot", "format_mot"]

UNKNOWN = -1.0  # MOTChallenge's value for "not given" (class, visibility, world x/y/z)


@dataclass(frozen=True)
class MotTable:
    """Rows of a MOTChallenge file as numpy columns (one row per box).

    Attributes:
        frame: (N,) int64, 1-based frame numbers.
        track_id: (N,) int64 identities (ground truth) or track ids (results); -1 for detections.
        tlwh: (N, 4) float64 boxes ``left, top, width, height`` in pixels.
        confidence: (N,) float64 detection score, or the "consider" flag (0/1) in ground truth.
        class_id: (N,) int64 MOT class (1 = pedestrian); -1 when the file does not say.
        visibility: (N,) float64 visible share in [0, 1]; -1 when the file does not say.
    """

    frame: np.ndarray
    track_id: np.ndarray
    tlwh: np.ndarray
    confidence: np.ndarray | None = None
    class_id: np.ndarray | None = None
    visibility: np.ndarray | None = None

    def __post_init__(self) -> None:
        tlwh = np.asarray(self.tlwh, dtype=np.float64)
        if tlwh.size == 0:
            tlwh = tlwh.reshape(0, 4)
        if tlwh.ndim != 2 or tlwh.shape[1] != 4:
            raise ValueError(f"MotTable.tlwh must have shape (N, 4), got {tlwh.shape}")
        n = len(tlwh)
        object.__setattr__(self, "tlwh", tlwh)
        for name, dtype, default in (
            ("frame", np.int64, None),
            ("track_id", np.int64, None),
            ("confidence", np.float64, 1.0),
            ("class_id", np.int64, UNKNOWN),
            ("visibility", np.float64, UNKNOWN),
        ):
            value = getattr(self, name)
            if value is None:
                if default is None:
                    raise ValueError(f"MotTable.{name} is required")
                value = np.full(n, default, dtype=dtype)
            value = np.asarray(value, dtype=dtype).reshape(-1)
            if len(value) != n:
                raise ValueError(f"MotTable.{name} has {len(value)} rows, tlwh has {n}")
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.tlwh)

    def __getitem__(self, index: np.ndarray | slice) -> MotTable:
        """Rows selected by a boolean mask, an index array or a slice."""
        return MotTable(
            frame=self.frame[index],
            track_id=self.track_id[index],
            tlwh=self.tlwh[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            visibility=self.visibility[index],
        )

    @property
    def xyxy(self) -> np.ndarray:
        """(N, 4) float64 boxes ``x1, y1, x2, y2`` in pixels."""
        out = self.tlwh.copy()
        out[:, 2:] += out[:, :2]
        return out

    @property
    def foot_px(self) -> np.ndarray:
        """(N, 2) float64 bottom-centre points of the boxes in pixels (where a person stands)."""
        return np.stack(
            [self.tlwh[:, 0] + self.tlwh[:, 2] / 2, self.tlwh[:, 1] + self.tlwh[:, 3]], 1
        )

    @classmethod
    def from_xyxy(
        cls, frame: np.ndarray, track_id: np.ndarray, xyxy: np.ndarray, **columns: np.ndarray
    ) -> MotTable:
        """Build a table from ``x1, y1, x2, y2`` boxes (other columns as keyword arguments)."""
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        tlwh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        return cls(frame=frame, track_id=track_id, tlwh=tlwh, **columns)

    def sorted(self) -> MotTable:
        """The rows sorted by (frame, track_id), stable."""
        return self[np.lexsort((self.track_id, self.frame))]


def read_mot(path: str | Path) -> MotTable:
    """Read a MOTChallenge file (6 to 10 columns, comma or whitespace separated).

    A 9-column file is read as ground truth (``conf, class, visibility``); in 10-column files the
    last three columns are world coordinates and are ignored (class and visibility become -1).
    Empty files give an empty table. Rows are returned sorted by (frame, id).

    Raises:
        ValueError: the file is missing, has rows of different lengths, fewer than 6 columns, or
            non-numeric values; the message names the file and the line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: MOT file not found") from None
    rows: list[list[float]] = []
    width = None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace(",", " ").split()
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"{path}:{number}: non-numeric MOT value in {line!r}") from None
        if len(values) < 6 or len(values) > 10:
            raise ValueError(
                f"{path}:{number}: expected 6 to 10 MOT columns "
                f"(frame,id,left,top,width,height,...), got {len(values)}"
            )
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise ValueError(f"{path}:{number}: {len(values)} columns, earlier lines have {width}")
        rows.append(values)
    if not rows:
        return MotTable(
            frame=np.zeros(0, np.int64), track_id=np.zeros(0, np.int64), tlwh=np.zeros((0, 4))
        )
    data = np.asarray(rows, dtype=np.float64)
    n = len(data)
    confidence = data[:, 6] if width >= 7 else np.ones(n)
    is_gt = width in (8, 9)
    class_id = data[:, 7] if is_gt else np.full(n, UNKNOWN)
    visibility = data[:, 8] if width == 9 else np.full(n, UNKNOWN)
    table = MotTable(
        frame=np.rint(data[:, 0]).astype(np.int64),
        track_id=np.rint(data[:, 1]).astype(np.int64),
        tlwh=data[:, 2:6],
        confidence=confidence,
        class_id=np.rint(class_id).astype(np.int64),
        visibility=visibility,
    )
    return table.sorted()


def format_mot(table: MotTable, *, kind: Literal["gt", "det"] = "gt", decimals: int = 2) -> str:
    """The text of a MOTChallenge file for ``table`` (rows written in the table's order).

    ``kind="gt"`` writes 9 columns ``frame,id,l,t,w,h,conf,class,visibility`` (class -1 is
    written as 1, pedestrian; visibility -1 as 1); ``kind="det"`` writes 10 columns
    ``frame,id,l,t,w,h,conf,-1,-1,-1`` as detection and result files use.

    Example: a gt row (frame 3, id 7, box 10,20,30,60, visibility 0.5) ->
    ``"3,7,10.00,20.00,30.00,60.00,1,1,0.500"``.
    """
    if kind not in ("gt", "det"):
        raise ValueError(f"kind must be 'gt' or 'det', got {kind!r}")
    out = io.StringIO()
    box_fmt = f"{{:.{decimals}f}}"
    for i in range(len(table)):
        box = ",".join(box_fmt.format(v) for v in table.tlwh[i])
        head = f"{table.frame[i]},{table.track_id[i]},{box}"
        if kind == "gt":
            conf = _short(table.confidence[i])
            cls = table.class_id[i] if table.class_id[i] >= 0 else 1
            vis = table.visibility[i] if table.visibility[i] >= 0 else 1.0
            out.write(f"{head},{conf},{cls},{vis:.3f}\n")
        else:
            out.write(f"{head},{_short(table.confidence[i])},-1,-1,-1\n")
    return out.getvalue()


def write_mot(
    path: str | Path, table: MotTable, *, kind: Literal["gt", "det"] = "gt", decimals: int = 2
) -> Path:
    """Write ``table`` as a MOTChallenge file (see :func:`format_mot`); creates parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_mot(table, kind=kind, decimals=decimals), encoding="utf-8")
    return path


def _short(value: float) -> str:
    """``1`` for 1.0, ``0.873`` for 0.8731: integers stay integers, scores keep 4 decimals."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.4f}".rstrip("0")
