"""Market-1501 ReID dataset layout: file names, folders and a columnar reader.

A Market-1501 folder holds three sub-folders of person crops::

    MARKET_DIR/bounding_box_train/   training identities
    MARKET_DIR/query/                one or a few crops per test identity and camera
    MARKET_DIR/bounding_box_test/    the gallery the queries are ranked against

Each crop is named ``{pid:04d}_c{cam}s{seq}_{frame:06d}_{n:02d}.jpg``, e.g.
``0001_c1s1_001051_00.jpg`` = identity 1, camera 1, sequence 1, frame 1051 (1-based), box 0 of that
frame. Identity ``-1`` marks junk crops (ignored by the evaluation protocol), identity ``0``
distractors (kept in the gallery as impostors). Camera numbers may have several digits (``c12s1``)
and the frame field any width.

Example::

    split = read_market("data/market")
    split.query.pids, split.query.camids          # (Q,) int64 each
    format_market_name(7, 3, 120)                 # '0007_c3s1_000120_00.jpg'
    parse_market_name("0007_c3s1_000120_00.jpg")  # MarketName(7, camid=3, seq=1, frame=120, n=0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "DISTRACTOR_PID",
    "IMAGE_SUFFIXES",
    "JUNK_PID",
    "SPLIT_DIRS",
    "MarketName",
    "MarketRecords",
    "MarketSplit",
    "format_market_name",
    "market_path",
    "parse_market_name",
    "read_market",
    "read_market_folder",
]

JUNK_PID = -1  # crops too poor to count either way; dropped from evaluation
DISTRACTOR_PID = 0  # crops of no test identity; they stay in the gallery as impostors

# split name -> folder name, in the order Market-1501 ships them
SPLIT_DIRS: dict[str, str] = {
    "train": "bounding_box_train",
    "query": "query",
    "gallery": "bounding_box_test",
}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")

_NAME_RE = re.compile(
    r"^(?P<pid>-?\d+)_c(?P<cam>\d+)s(?P<seq>\d+)_(?P<frame>\d+)_(?P<n>\d+)\.(?:jpe?g|png|bmp)$",
    re.IGNORECASE,
)


class MarketName(NamedTuple):
    """The fields of one Market-1501 file name (frame is 1-based)."""

    pid: int
    camid: int
    seq: int
    frame: int
    n: int


def parse_market_name(name: str | Path) -> MarketName:
    """Parse a Market-1501 crop name (a bare name or a path; only the last part is read).

    Example: ``parse_market_name("-1_c12s3_0051_02.jpg") == MarketName(-1, 12, 3, 51, 2)``.

    Raises:
        ValueError: the name does not follow ``{pid}_c{cam}s{seq}_{frame}_{n}.jpg``.
    """
    base = Path(name).name
    m = _NAME_RE.match(base)
    if m is None:
        raise ValueError(
            f"{name}: not a Market-1501 crop name; expected "
            "'{pid:04d}_c{cam}s{seq}_{frame:06d}_{n:02d}.jpg', e.g. '0001_c1s1_001051_00.jpg'"
        )
    pid = int(m["pid"])
    if pid < JUNK_PID:
        raise ValueError(
            f"{name}: identity {pid} is invalid; use >= 1, 0 (distractor) or -1 (junk)"
        )
    return MarketName(pid, int(m["cam"]), int(m["seq"]), int(m["frame"]), int(m["n"]))


def format_market_name(pid: int, camid: int, frame: int, *, seq: int = 1, n: int = 0) -> str:
    """Build a Market-1501 crop name; ``frame`` is 1-based.

    Junk crops are written ``-1_...`` as in the original dataset (not ``-001``).
    Example: ``format_market_name(12, 4, 37) == "0012_c4s1_000037_00.jpg"``.
    """
    for label, value, low in (("pid", pid, JUNK_PID), ("camid", camid, 0), ("seq", seq, 0),
                              ("frame", frame, 0), ("n", n, 0)):
        if int(value) != value or value < low:
            raise ValueError(f"format_market_name: {label}={value!r} must be an integer >= {low}")
    pid_text = "-1" if pid == JUNK_PID else f"{int(pid):04d}"
    return f"{pid_text}_c{int(camid)}s{int(seq)}_{int(frame):06d}_{int(n):02d}.jpg"


def market_path(root: str | Path, split: str, pid: int, camid: int, frame: int, *,
                seq: int = 1, n: int = 0) -> Path:
    """Where a crop of ``split`` ('train', 'query' or 'gallery') lives under ``root``."""
    if split not in SPLIT_DIRS:
        raise ValueError(f"unknown Market split {split!r}; choose from {sorted(SPLIT_DIRS)}")
    return Path(root) / SPLIT_DIRS[split] / format_market_name(pid, camid, frame, seq=seq, n=n)


@dataclass
class MarketRecords:
    """Crops of one split as numpy columns, one row per image.

    Attributes:
        paths: (N,) str array of image paths.
        pids: (N,) int64 identities (0 = distractor, -1 = junk).
        camids: (N,) int64 camera numbers (``c3`` -> 3).
        seqs: (N,) int64 sequence numbers.
        frames: (N,) int64 1-based frame numbers.

    Boolean masks and index arrays select rows: ``recs[recs.camids == 2]``.
    """

    paths: np.ndarray
    pids: np.ndarray
    camids: np.ndarray
    seqs: np.ndarray
    frames: np.ndarray

    def __post_init__(self) -> None:
        self.paths = np.asarray(self.paths, dtype=str).reshape(-1)
        n = len(self.paths)
        for name in ("pids", "camids", "seqs", "frames"):
            col = np.asarray(getattr(self, name), dtype=np.int64).reshape(-1)
            if col.shape != (n,):
                raise ValueError(f"MarketRecords.{name} has shape {col.shape}, expected ({n},)")
            setattr(self, name, col)

    @classmethod
    def from_paths(cls, paths: list[Path] | list[str]) -> MarketRecords:
        """Parse every path's name (raises ``ValueError`` naming the first bad one)."""
        parsed = [parse_market_name(p) for p in paths]
        cols = np.array([(p.pid, p.camid, p.seq, p.frame) for p in parsed], dtype=np.int64)
        cols = cols.reshape(-1, 4)
        return cls(paths=[str(p) for p in paths], pids=cols[:, 0], camids=cols[:, 1],
                   seqs=cols[:, 2], frames=cols[:, 3])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: Any) -> MarketRecords:
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return MarketRecords(paths=self.paths[index], pids=self.pids[index],
                             camids=self.camids[index], seqs=self.seqs[index],
                             frames=self.frames[index])

    @property
    def num_ids(self) -> int:
        """Number of distinct identities, junk and distractors excluded."""
        return int(np.unique(self.pids[self.pids > DISTRACTOR_PID]).size)

    def __repr__(self) -> str:
        return (f"MarketRecords(n={len(self)}, ids={self.num_ids}, "
                f"cams={np.unique(self.camids).tolist()})")


@dataclass
class MarketSplit:
    """The three splits of a Market-1501 folder."""

    train: MarketRecords
    query: MarketRecords
    gallery: MarketRecords


def read_market_folder(folder: str | Path, *, keep_junk: bool = False) -> MarketRecords:
    """Read the crops of one split folder, sorted by file name; other files are ignored.

    Junk crops (identity -1) are dropped unless ``keep_junk``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: Market split folder not found")
    paths = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    recs = MarketRecords.from_paths(paths)
    return recs if keep_junk else recs[recs.pids != JUNK_PID]


def read_market(root: str | Path, *, keep_junk: bool = False) -> MarketSplit:
    """Read a Market-1501 folder into train / query / gallery records.

    Junk crops (identity -1) are dropped from every split unless ``keep_junk``; distractors
    (identity 0) are kept. A missing ``bounding_box_train`` is allowed (evaluation-only data) and
    gives an empty train split; ``query`` and ``bounding_box_test`` are required.

    Example::

        split = read_market("data/market")
        len(split.query), split.gallery.num_ids

    Raises:
        ValueError: ``root`` is not a folder or lacks the Market layout (the message lists what it
            found), or a crop's file name is not a Market-1501 name.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: Market-1501 folder not found")
    missing = [d for s, d in SPLIT_DIRS.items() if s != "train" and not (root / d).is_dir()]
    if missing:
        found = sorted(p.name for p in root.iterdir() if p.is_dir())
        nested = [p for p in root.iterdir() if p.is_dir() and (p / "query").is_dir()]
        hint = (f"; did you mean {nested[0]}?" if nested else
                "; expected sub-folders bounding_box_train/, query/ and bounding_box_test/")
        raise ValueError(
            f"{root}: not a Market-1501 folder: missing {', '.join(d + '/' for d in missing)} "
            f"(found folders: {found or 'none'}){hint}"
        )
    train_dir = root / SPLIT_DIRS["train"]
    empty = MarketRecords(paths=[], pids=[], camids=[], seqs=[], frames=[])
    return MarketSplit(
        train=read_market_folder(train_dir, keep_junk=keep_junk) if train_dir.is_dir() else empty,
        query=read_market_folder(root / SPLIT_DIRS["query"], keep_junk=keep_junk),
        gallery=read_market_folder(root / SPLIT_DIRS["gallery"], keep_junk=keep_junk),
    )
