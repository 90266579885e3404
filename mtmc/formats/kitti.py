"""KITTI object labels (one text file per frame): a columnar reader and writer.

Each line is one object with the 15 standard KITTI fields, and in this project a 16th field, the
global person id (as Omniverse Replicator Agent writes person labels)::

    type truncated occluded alpha left top right bottom h w l x y z rotation_y [id]
    Person 0.00 1 -1.57 412.30 120.80 470.10 301.55 1.74 0.52 0.30 -1.20 2.95 11.40 -1.60 7

- ``truncated``: share of the full-body box outside the image, 0..1.
- ``occluded``: 0 fully visible (visibility >= 0.8), 1 partly (>= 0.4), 2 largely (< 0.4),
  3 unknown; see :func:`occlusion_level`.
- ``alpha``: observation angle in radians, ``rotation_y - atan2(x, z)`` wrapped to [-pi, pi].
- ``left top right bottom``: 2-D box in pixels (xyxy).
- ``h w l``: 3-D size in metres; ``x y z``: bottom centre of the object in camera coordinates
  (x right, y down, z forward), metres; ``rotation_y``: yaw about the camera's y axis.

Files are named ``<frame:06d>.txt`` (1-based frame numbers in this project), one folder per camera:
``labels/kitti/<cam>/000001.txt``.

Example::

    labels = read_kitti_folder("scene/labels/kitti/cam1")   # all frames, one KittiLabels
    person7 = labels[labels.track_id == 7]
    write_kitti(kitti_frame_path("out/labels/kitti", "cam1", 12), person7[person7.frame == 12])
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "KittiLabels",
    "format_kitti",
    "kitti_frame_path",
    "occlusion_level",
    "read_kitti",
    "read_kitti_folder",
    "write_kitti",
]

# visibility thresholds of the occluded levels 0 and 1 (below the second: level 2)
OCCLUSION_LEVEL_MIN_VISIBILITY = (0.8, 0.4)
UNKNOWN_ID = -1


def occlusion_level(visibility: np.ndarray | float) -> np.ndarray:
    """KITTI ``occluded`` level from a visible share: 0 (>= 0.8), 1 (>= 0.4), 2 (< 0.4).

    Example: ``occlusion_level([1.0, 0.8, 0.5, 0.39]) -> array([0, 0, 1, 2])``.
    """
    vis = np.asarray(visibility, dtype=np.float64)
    fully, partly = OCCLUSION_LEVEL_MIN_VISIBILITY
    return np.where(vis >= fully, 0, np.where(vis >= partly, 1, 2)).astype(np.int64)


@dataclass(frozen=True)
class KittiLabels:
    """KITTI objects as numpy columns (one row per object), possibly from many frames.

    Attributes:
        type: (N,) str object class, e.g. ``"Person"``.
        xyxy: (N, 4) float64 2-D boxes ``left, top, right, bottom`` in pixels.
        truncated: (N,) float64 in [0, 1].
        occluded: (N,) int64 level 0..3.
        alpha: (N,) float64 observation angle, radians.
        dimensions_hwl_m: (N, 3) float64 height, width, length in metres.
        location_xyz_m: (N, 3) float64 bottom centre in camera coordinates, metres.
        rotation_y: (N,) float64 yaw about the camera y axis, radians.
        track_id: (N,) int64 the 16th field (global person id); -1 when absent.
        frame: (N,) int64 frame number from the file name; -1 when unknown.
    """

    type: np.ndarray
    xyxy: np.ndarray
    truncated: np.ndarray | None = None
    occluded: np.ndarray | None = None
    alpha: np.ndarray | None = None
    dimensions_hwl_m: np.ndarray | None = None
    location_xyz_m: np.ndarray | None = None
    rotation_y: np.ndarray | None = None
    track_id: np.ndarray | None = None
    frame: np.ndarray | None = None

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float64)
        if xyxy.size == 0:
            xyxy = xyxy.reshape(0, 4)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"KittiLabels.xyxy must have shape (N, 4), got {xyxy.shape}")
        n = len(xyxy)
        object.__setattr__(self, "xyxy", xyxy)
        types = np.asarray(self.type, dtype=str).reshape(-1)
        if len(types) != n:
            raise ValueError(f"KittiLabels.type has {len(types)} rows, xyxy has {n}")
        object.__setattr__(self, "type", types)
        for name, dtype, default, width in (
            ("truncated", np.float64, 0.0, None),
            ("occluded", np.int64, 3, None),
            ("alpha", np.float64, -10.0, None),  # KITTI's "unknown" alpha
            ("dimensions_hwl_m", np.float64, -1.0, 3),
            ("location_xyz_m", np.float64, -1000.0, 3),  # KITTI's "unknown" location
            ("rotation_y", np.float64, -10.0, None),
            ("track_id", np.int64, UNKNOWN_ID, None),
            ("frame", np.int64, -1, None),
        ):
            shape = (n,) if width is None else (n, width)
            value = getattr(self, name)
            value = (
                np.full(shape, default, dtype=dtype)
                if value is None
                else np.asarray(value, dtype=dtype)
            )
            if value.size == 0:
                value = value.reshape(shape)
            if value.shape != shape:
                raise ValueError(f"KittiLabels.{name} must have shape {shape}, got {value.shape}")
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice) -> KittiLabels:
        """Rows selected by a boolean mask, an index array or a slice."""
        return KittiLabels(
            type=self.type[index],
            xyxy=self.xyxy[index],
            truncated=self.truncated[index],
            occluded=self.occluded[index],
            alpha=self.alpha[index],
            dimensions_hwl_m=self.dimensions_hwl_m[index],
            location_xyz_m=self.location_xyz_m[index],
            rotation_y=self.rotation_y[index],
            track_id=self.track_id[index],
            frame=self.frame[index],
        )

    @staticmethod
    def concatenate(parts: list[KittiLabels]) -> KittiLabels:
        """All rows of ``parts`` in order (an empty list gives an empty table)."""
        if not parts:
            return KittiLabels(type=np.zeros(0, dtype=str), xyxy=np.zeros((0, 4)))
        names = (
            "type",
            "xyxy",
            "truncated",
            "occluded",
            "alpha",
            "dimensions_hwl_m",
            "location_xyz_m",
            "rotation_y",
            "track_id",
            "frame",
        )
        return KittiLabels(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names})


def format_kitti(labels: KittiLabels, *, with_id: bool = True) -> str:
    """The text of one KITTI label file: 15 fields per line, plus the id when ``with_id``.

    Example: one person, id 7 ->
    ``"Person 0.00 1 -1.57 412.30 120.80 470.10 301.55 1.74 0.52 0.30 -1.20 2.95 11.40 -1.60 7"``.
    """
    out = io.StringIO()
    for i in range(len(labels)):
        name = str(labels.type[i])
        if not name or any(c.isspace() for c in name):
            raise ValueError(f"KITTI type must be one word, got {name!r}")
        fields = [
            name,
            f"{labels.truncated[i]:.2f}",
            str(int(labels.occluded[i])),
            f"{labels.alpha[i]:.2f}",
            *(f"{v:.2f}" for v in labels.xyxy[i]),
            *(f"{v:.2f}" for v in labels.dimensions_hwl_m[i]),
            *(f"{v:.2f}" for v in labels.location_xyz_m[i]),
            f"{labels.rotation_y[i]:.2f}",
        ]
        if with_id:
            fields.append(str(int(labels.track_id[i])))
        out.write(" ".join(fields) + "\n")
    return out.getvalue()


def write_kitti(path: str | Path, labels: KittiLabels, *, with_id: bool = True) -> Path:
    """Write one KITTI label file (see :func:`format_kitti`); creates parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_kitti(labels, with_id=with_id), encoding="utf-8")
    return path


def kitti_frame_path(root: str | Path, camera_id: str, frame: int) -> Path:
    """``root/<camera_id>/<frame:06d>.txt``, e.g. ``labels/kitti/cam1/000012.txt``."""
    return Path(root) / camera_id / f"{int(frame):06d}.txt"


def read_kitti(path: str | Path, *, frame: int | None = None) -> KittiLabels:
    """Read one KITTI label file (15 or 16 fields per line; the 16th is the integer person id).

    ``frame`` defaults to the number in the file name (``000012.txt`` -> 12), else -1.

    Raises:
        ValueError: missing file, a line with another field count, a non-numeric field, or a
            16th field that is not an integer id; the message names the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: KITTI label file not found") from None
    if frame is None:
        frame = int(path.stem) if path.stem.isdigit() else -1
    types: list[str] = []
    values: list[list[float]] = []
    ids: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (15, 16):
            raise ValueError(
                f"{path}:{number}: expected 15 KITTI fields (+ optional id), got {len(parts)}"
            )
        try:
            numbers = [float(p) for p in parts[1:15]]
            track_id = float(parts[15]) if len(parts) == 16 else float(UNKNOWN_ID)
        except ValueError:
            raise ValueError(
                f"{path}:{number}: non-numeric KITTI field in {line.strip()!r}"
            ) from None
        if not track_id.is_integer():
            raise ValueError(
                f"{path}:{number}: the 16th field must be the integer person id, got {parts[15]!r}"
            )
        types.append(parts[0])
        values.append(numbers)
        ids.append(int(track_id))
    data = np.asarray(values, dtype=np.float64).reshape(-1, 14)
    return KittiLabels(
        type=np.asarray(types, dtype=str),
        truncated=data[:, 0],
        occluded=np.rint(data[:, 1]).astype(np.int64),
        alpha=data[:, 2],
        xyxy=data[:, 3:7],
        dimensions_hwl_m=data[:, 7:10],
        location_xyz_m=data[:, 10:13],
        rotation_y=data[:, 13],
        track_id=np.asarray(ids, dtype=np.int64),
        frame=np.full(len(types), frame, dtype=np.int64),
    )


def read_kitti_folder(folder: str | Path) -> KittiLabels:
    """Read every ``<frame>.txt`` in one camera's folder into one table, sorted by frame.

    Raises:
        ValueError: the folder does not exist or holds no ``.txt`` label files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: KITTI label folder not found")
    files = [p for p in folder.glob("*.txt") if p.stem.isdigit()]
    if not files:
        raise ValueError(f"{folder}: no KITTI label files named <frame>.txt")
    files.sort(key=lambda p: int(p.stem))
    return KittiLabels.concatenate([read_kitti(p) for p in files])
