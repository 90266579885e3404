"""KITTI person labels + camera videos -> a Market-1501 ReID dataset.

Follows the data-sampling guide for fine-tuning a ReID model on one scene: keep crops that are
taller than wide (``width / height < max_aspect``), at least ``min_height_px`` tall and mostly
visible; take about ``per_id`` crops per identity spread evenly over the cameras and over time;
write them as ``bounding_box_train/``, ``query/`` and ``bounding_box_test/``.

Two ways to split:

- by identity (default): a deterministic, seeded choice of test identities; the others train.
  Train and test identities are disjoint, as in Market-1501.
- by time (``time_split_frame=T``): every identity trains on frames ``<= T`` and is tested on the
  later frames: "fine-tune on the scene's people, evaluate on a later time segment".

Test crops of an identity seen by two or more cameras give ``query_per_cam`` queries per camera;
every camera keeps at least one gallery crop, so each query has a true match in another camera.
Identities seen by one camera only go entirely to the gallery (as impostors for other queries).

Visibility comes from the MOT ground truth next to the labels (``<kitti>/../../gt/<cam>.txt``, the
exact visible share) when present, else from the KITTI ``occluded`` level, read as the lower bound
of its range: 0 -> 0.8, 1 -> 0.4, 2 -> 0.0 (3 = unknown: kept only when ``min_visibility <= 0``).

Example::

    summary = prepare_market("scene/labels/kitti", "scene/videos", "data/market", per_id=50)
    summary["splits"]["query"]["images"]

CLI::

    python -m mtmc.reid.prepare --kitti scene/labels/kitti --videos scene/videos --out data/market
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from mtmc.formats.kitti import OCCLUSION_LEVEL_MIN_VISIBILITY, read_kitti_folder
from mtmc.formats.market import IMAGE_SUFFIXES, SPLIT_DIRS, market_path
from mtmc.formats.mot import read_mot

__all__ = ["PrepareParams", "prepare_market", "main"]

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v")
PERSON_TYPES = ("person", "pedestrian")  # KITTI types kept (case-insensitive)
# Split codes of the candidate table.
_UNUSED, _TRAIN, _QUERY, _GALLERY = 0, 1, 2, 3
_SPLIT_OF_CODE = {_TRAIN: "train", _QUERY: "query", _GALLERY: "gallery"}


@dataclass(frozen=True)
class PrepareParams:
    """Sampling parameters (all recorded in ``prepare.json``).

    Attributes:
        per_id: crops to sample per identity and per part (train part, test part); fewer when the
            identity has fewer usable crops. Raising it adds near-duplicate crops.
        min_height_px: smallest box height kept; lower it for far cameras (blurry crops).
        max_aspect: boxes must have ``width / height`` strictly below this (people stand upright).
        min_visibility: smallest visible share kept, 0..1; raise it to drop occluded crops.
        test_ids: identity split: ``None`` = half of the identities (rounded down), an int = that
            many identities chosen with ``seed``, a sequence = exactly these identities.
        query_per_cam: queries per test identity and camera.
        seed: seeds the test-identity choice, the sampling offsets and the query choice.
        time_split_frame: if set, split by time instead of identity: frames ``<=`` it train.
        jpeg_quality: JPEG quality of the written crops, 0..100.
    """

    per_id: int = 50
    min_height_px: float = 64.0
    max_aspect: float = 1.0
    min_visibility: float = 0.6
    test_ids: int | tuple[int, ...] | None = None
    query_per_cam: int = 1
    seed: int = 0
    time_split_frame: int | None = None
    jpeg_quality: int = 95

    def __post_init__(self) -> None:
        if self.per_id < 1:
            raise ValueError(f"per_id must be >= 1, got {self.per_id}")
        if self.query_per_cam < 0:
            raise ValueError(f"query_per_cam must be >= 0, got {self.query_per_cam}")
        if not 0.0 <= self.min_visibility <= 1.0:
            raise ValueError(f"min_visibility must be in [0, 1], got {self.min_visibility}")
        if self.max_aspect <= 0:
            raise ValueError(f"max_aspect must be > 0, got {self.max_aspect}")
        if isinstance(self.test_ids, int) and self.test_ids < 0:
            raise ValueError(f"test_ids as a count must be >= 0, got {self.test_ids}")
        if self.time_split_frame is not None and self.test_ids is not None:
            raise ValueError("give either test_ids (split by identity) or time_split_frame "
                             "(split by time), not both")
        if not 0 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in [0, 100], got {self.jpeg_quality}")


@dataclass
class _Candidates:
    """Every labelled person box of every camera, as columns (one row per box)."""

    cam_index: np.ndarray  # (N,) int64 index into the camera list
    frame: np.ndarray  # (N,) int64, 1-based
    pid: np.ndarray  # (N,) int64 global person id from the labels
    xyxy: np.ndarray  # (N, 4) float64 pixels
    visibility: np.ndarray  # (N,) float64 in [0, 1]; NaN = unknown

    def __len__(self) -> int:
        return len(self.frame)


def prepare_market(
    kitti_dir: str | Path,
    videos_dir: str | Path,
    out_dir: str | Path,
    params: PrepareParams | None = None,
    *,
    mot_gt_dir: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Sample person crops from the videos and write a Market-1501 folder at ``out_dir``.

    Args:
        kitti_dir: ``labels/kitti`` with one folder per camera (``cam1``, ``cam2``, ...) of
            ``<frame:06d>.txt`` files whose 16th field is the global person id.
        videos_dir: holds ``<camera>.mp4`` (or .avi/.mkv/.mov/.m4v) per camera; frame f of the
            labels is video frame index f - 1.
        out_dir: Market folder to write (created).
        params: sampling parameters; defaults as in :class:`PrepareParams`.
        mot_gt_dir: MOT ground truth with exact visibility (``<cam>.txt``); default
            ``<kitti_dir>/../../gt`` if that folder exists, else KITTI occlusion levels are used.
        overwrite: replace the crops of an existing Market folder at ``out_dir``.
        progress: show a tqdm progress bar while reading videos.

    Returns:
        The summary also written to ``out_dir/prepare.json``: parameters, cameras, visibility
        source per camera, ``pid_offset`` (added to label ids to make Market ids >= 1), candidate
        counts and per split the number of images and the label identities.

    Raises:
        ValueError: missing folders or videos, no usable crops, an unknown test identity, a video
            shorter than its labels, or ``out_dir`` already holding crops without ``overwrite``.
    """
    params = params or PrepareParams()
    kitti_dir, videos_dir, out_dir = Path(kitti_dir), Path(videos_dir), Path(out_dir)
    cameras = _find_cameras(kitti_dir)
    videos = {cam: _find_video(videos_dir, cam) for cam in cameras}
    gt_dir, explicit_gt = _gt_dir(kitti_dir, mot_gt_dir)
    stale = _existing_crops(out_dir, overwrite)

    # 1. every labelled box with its visibility
    cands, vis_source = _load_candidates(kitti_dir, list(cameras), gt_dir, explicit_gt)
    if len(cands) == 0:
        raise ValueError(f"{kitti_dir}: the labels hold no person with an id")
    all_ids = np.unique(cands.pid)
    pid_offset = int(max(0, 1 - all_ids.min()))  # Market ids 0 and -1 are reserved

    # 2. which boxes make usable crops
    usable, rejected = _usable(cands, params)

    # 3. who goes where, then which crops
    rng = np.random.default_rng(params.seed)
    split = np.full(len(cands), _UNUSED, dtype=np.int64)
    if params.time_split_frame is None:
        test_ids = _choose_test_ids(all_ids, params.test_ids, rng)
        is_test = np.isin(cands.pid, test_ids)
        _assign(split, cands, usable & ~is_test, params, rng, test=False)
        _assign(split, cands, usable & is_test, params, rng, test=True)
    else:
        test_ids = all_ids
        early = cands.frame <= params.time_split_frame
        _assign(split, cands, usable & early, params, rng, test=False)
        _assign(split, cands, usable & ~early, params, rng, test=True)
    if not (split != _UNUSED).any():
        raise ValueError(
            f"{kitti_dir}: no crop passes the filters (height >= {params.min_height_px} px, "
            f"width/height < {params.max_aspect}, visibility >= {params.min_visibility}); "
            f"rejected: {rejected}"
        )

    # 4. read each video once, write the chosen crops
    for path in stale:
        path.unlink()
    for d in SPLIT_DIRS.values():
        (out_dir / d).mkdir(parents=True, exist_ok=True)
    cam_numbers = list(cameras.values())
    written = _write_crops(cands, split, list(videos.values()), cam_numbers, out_dir,
                           pid_offset, params.jpeg_quality, progress)

    summary = {
        "kitti": str(kitti_dir),
        "videos": str(videos_dir),
        "mot_gt": str(gt_dir) if gt_dir is not None else None,
        "params": asdict(params),
        "cameras": dict(cameras),
        "visibility_source": vis_source,
        "pid_offset": pid_offset,
        "split_by": "identity" if params.time_split_frame is None else "time",
        "test_ids": [int(p) for p in test_ids],
        "candidates": {"boxes": len(cands), "usable": int(usable.sum()), "rejected": rejected},
        "splits": {},
    }
    for code, name in _SPLIT_OF_CODE.items():
        sel = split == code
        summary["splits"][name] = {
            "images": int(sel.sum()),
            "ids": [int(p) for p in np.unique(cands.pid[sel])],
            "images_per_camera": {cam: int((sel & (cands.cam_index == i)).sum())
                                  for i, cam in enumerate(cameras)},
        }
    summary["written"] = written
    (out_dir / "prepare.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


# -- inputs ----------------------------------------------------------------------------------------


def camera_number(camera_id: str) -> int:
    """Market camera number of a camera id: the digits it ends with (``cam12`` -> 12)."""
    m = re.search(r"(\d+)$", camera_id)
    if m is None:
        raise ValueError(
            f"camera id {camera_id!r} has no number; name camera folders cam1, cam2, ..."
        )
    return int(m.group(1))


def _find_cameras(kitti_dir: Path) -> dict[str, int]:
    """Camera folder name -> Market camera number, sorted by number."""
    if not kitti_dir.is_dir():
        raise ValueError(
            f"{kitti_dir}: KITTI label folder not found (expected labels/kitti/<cam>/)"
        )
    folders = [p.name for p in kitti_dir.iterdir() if p.is_dir()]
    if not folders:
        raise ValueError(
            f"{kitti_dir}: no camera folders (expected {kitti_dir}/cam1/000001.txt ...)"
        )
    cameras = {name: camera_number(name) for name in folders}
    numbers = list(cameras.values())
    dup = sorted({n for n in numbers if numbers.count(n) > 1})
    if dup:
        names = sorted(c for c, n in cameras.items() if n in dup)
        raise ValueError(f"{kitti_dir}: camera folders {names} share Market camera number {dup[0]}")
    return dict(sorted(cameras.items(), key=lambda kv: kv[1]))


def _find_video(videos_dir: Path, camera: str) -> Path:
    for suffix in VIDEO_SUFFIXES:
        path = videos_dir / f"{camera}{suffix}"
        if path.is_file():
            return path
    raise ValueError(f"{videos_dir}: no video for camera {camera!r} "
                     f"(expected {camera}{'|'.join(VIDEO_SUFFIXES)})")


def _gt_dir(kitti_dir: Path, mot_gt_dir: str | Path | None) -> tuple[Path | None, bool]:
    if mot_gt_dir is not None:
        gt = Path(mot_gt_dir)
        if not gt.is_dir():
            raise ValueError(f"{gt}: MOT ground-truth folder not found (--mot-gt)")
        return gt, True
    default = kitti_dir.resolve().parent.parent / "gt"
    return (default, False) if default.is_dir() else (None, False)


def _existing_crops(out_dir: Path, overwrite: bool) -> list[Path]:
    """Crops already in ``out_dir``'s split folders (an error unless ``overwrite``)."""
    existing = [p for d in SPLIT_DIRS.values() if (out_dir / d).is_dir()
                for p in (out_dir / d).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
    if existing and not overwrite:
        raise ValueError(f"{out_dir}: already holds {len(existing)} Market crops; "
                         "choose another output folder or pass --overwrite")
    return existing


def _load_candidates(kitti_dir: Path, cameras: list[str], gt_dir: Path | None,
                     explicit_gt: bool) -> tuple[_Candidates, dict[str, str]]:
    parts: list[_Candidates] = []
    source: dict[str, str] = {}
    for ci, cam in enumerate(cameras):
        labels = read_kitti_folder(kitti_dir / cam)
        keep = np.isin(np.char.lower(labels.type), PERSON_TYPES) & (labels.track_id >= 0)
        labels = labels[keep]
        # lower bound of each occlusion level's visibility range; level 3 (unknown) -> NaN
        level_vis = np.array([*OCCLUSION_LEVEL_MIN_VISIBILITY, 0.0, np.nan])
        vis = level_vis[np.clip(labels.occluded, 0, 3)]
        source[cam] = "kitti_occluded"
        gt_path = gt_dir / f"{cam}.txt" if gt_dir is not None else None
        if gt_path is not None and gt_path.is_file():
            vis = _visibility_from_gt(gt_path, labels.frame, labels.track_id, vis)
            source[cam] = "mot_gt"
        elif explicit_gt:
            raise ValueError(f"{gt_path}: MOT ground truth for camera {cam!r} not found (--mot-gt)")
        parts.append(_Candidates(cam_index=np.full(len(labels), ci, dtype=np.int64),
                                 frame=labels.frame, pid=labels.track_id, xyxy=labels.xyxy,
                                 visibility=vis))
    return _Candidates(*(np.concatenate([getattr(p, f) for p in parts])
                         for f in ("cam_index", "frame", "pid", "xyxy", "visibility"))), source


def _visibility_from_gt(gt_path: Path, frame: np.ndarray, pid: np.ndarray,
                        fallback: np.ndarray) -> np.ndarray:
    """Exact visibility of each (frame, pid) from a MOT gt file; ``fallback`` where it has none."""
    gt = read_mot(gt_path)
    if len(gt) == 0:
        return fallback
    gt_key = gt.frame * (1 << 32) + gt.track_id
    order = np.argsort(gt_key, kind="stable")
    gt_key, gt_vis = gt_key[order], gt.visibility[order]
    key = frame * (1 << 32) + pid
    pos = np.minimum(np.searchsorted(gt_key, key), len(gt_key) - 1)
    # a gt file without a visibility column says -1: keep the fallback there too
    found = (gt_key[pos] == key) & (gt_vis[pos] >= 0)
    return np.where(found, gt_vis[pos], fallback)


# -- selection -------------------------------------------------------------------------------------


def _usable(c: _Candidates, p: PrepareParams) -> tuple[np.ndarray, dict[str, int]]:
    w = c.xyxy[:, 2] - c.xyxy[:, 0]
    h = c.xyxy[:, 3] - c.xyxy[:, 1]
    tall = h >= p.min_height_px
    upright = (h > 0) & (w > 0) & (w < p.max_aspect * h)
    vis = np.nan_to_num(c.visibility, nan=0.0 if p.min_visibility > 0 else 1.0)
    visible = vis >= p.min_visibility
    rejected = {"height": int((~tall).sum()), "aspect": int((~upright).sum()),
                "visibility": int((~visible).sum())}
    return tall & upright & visible, rejected


def _choose_test_ids(all_ids: np.ndarray, test_ids: int | Sequence[int] | None,
                     rng: np.random.Generator) -> np.ndarray:
    if test_ids is None or isinstance(test_ids, (int, np.integer)):
        n = len(all_ids) // 2 if test_ids is None else int(test_ids)
        if n > len(all_ids):
            raise ValueError(f"test_ids={n} but the labels hold only {len(all_ids)} identities")
        return np.sort(rng.permutation(all_ids)[:n])
    chosen = np.unique(np.asarray(list(test_ids), dtype=np.int64))
    unknown = np.setdiff1d(chosen, all_ids)
    if unknown.size:
        raise ValueError(f"test identities {unknown.tolist()} are not in the labels "
                         f"(ids there: {all_ids.min()}..{all_ids.max()})")
    return chosen


def spread_sample(cam_index: np.ndarray, frame: np.ndarray, k: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Pick up to ``k`` rows spread evenly over cameras, then evenly over time within a camera.

    Cameras get equal quotas (round-robin in a seeded order; a camera with fewer rows gives its
    unused share to the others). Within a camera the rows, sorted by frame, are cut into quota
    equal strata and one row is taken at the same seeded offset inside every stratum.

    Example: rows of 2 cameras with 10 frames each and ``k=4`` -> 2 rows per camera, about 5
    frames apart.

    Returns:
        (m,) int64 sorted row indices, ``m = min(k, len(cam_index))``.
    """
    cams, counts = np.unique(cam_index, return_counts=True)
    quota = np.zeros(len(cams), dtype=np.int64)
    order = rng.permutation(len(cams))
    left = min(k, int(counts.sum()))
    while left > 0:
        for j in order:
            if left and quota[j] < counts[j]:
                quota[j] += 1
                left -= 1
    chosen: list[np.ndarray] = []
    offset = rng.random()
    for cam, q in zip(cams, quota, strict=True):
        if q == 0:
            continue
        rows = np.flatnonzero(cam_index == cam)
        rows = rows[np.argsort(frame[rows], kind="stable")]
        pos = np.floor((np.arange(q) + offset) * len(rows) / q).astype(np.int64)
        chosen.append(rows[np.minimum(pos, len(rows) - 1)])
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def _assign(split: np.ndarray, c: _Candidates, mask: np.ndarray, p: PrepareParams,
            rng: np.random.Generator, *, test: bool) -> None:
    """Sample ``per_id`` crops of each identity among ``mask`` rows and label them in ``split``."""
    for pid in np.unique(c.pid[mask]):
        rows = np.flatnonzero(mask & (c.pid == pid))
        picked = rows[spread_sample(c.cam_index[rows], c.frame[rows], p.per_id, rng)]
        if not test:
            split[picked] = _TRAIN
            continue
        split[picked] = _GALLERY
        cams = np.unique(c.cam_index[picked])
        if len(cams) < 2:
            continue  # no other camera to find it in: gallery only
        for cam in cams:
            in_cam = picked[c.cam_index[picked] == cam]
            n_query = min(p.query_per_cam, len(in_cam) - 1)  # keep >= 1 gallery crop per camera
            if n_query > 0:
                split[rng.choice(in_cam, size=n_query, replace=False)] = _QUERY


# -- output ----------------------------------------------------------------------------------------


def _write_crops(c: _Candidates, split: np.ndarray, videos: list[Path], cam_numbers: list[int],
                 out_dir: Path, pid_offset: int, jpeg_quality: int, progress: bool) -> int:
    """Read every video once, front to back, and save the selected crops; returns the count."""
    chosen = np.flatnonzero(split != _UNUSED)
    total_frames = sum(int(c.frame[chosen[c.cam_index[chosen] == ci]].max(initial=0))
                       for ci in range(len(videos)))
    bar = tqdm(total=total_frames, unit="frame", desc="prepare", disable=not progress)
    written = 0
    box_no: dict[tuple[int, int, int], int] = {}
    for ci, video in enumerate(videos):
        rows = chosen[c.cam_index[chosen] == ci]
        if len(rows) == 0:
            continue
        rows = rows[np.argsort(c.frame[rows], kind="stable")]
        cap = cv2.VideoCapture(str(video))
        if not cap.isOpened():
            raise ValueError(f"{video}: cannot open the video")
        try:
            next_frame = 1  # 1-based number of the frame the next read returns
            for frame in np.unique(c.frame[rows]):
                while next_frame < frame:
                    if not cap.grab():
                        raise ValueError(_short_video(video, next_frame, int(frame)))
                    next_frame += 1
                    bar.update(1)
                ok, image = cap.read()
                if not ok:
                    raise ValueError(_short_video(video, next_frame, int(frame)))
                next_frame += 1
                bar.update(1)
                for r in rows[c.frame[rows] == frame]:
                    crop = _crop(image, c.xyxy[r])
                    pid, cam = int(c.pid[r]) + pid_offset, cam_numbers[ci]
                    key = (pid, cam, int(frame))
                    n = box_no.get(key, 0)
                    box_no[key] = n + 1
                    path = market_path(out_dir, _SPLIT_OF_CODE[int(split[r])], pid, cam,
                                       int(frame), n=n)
                    if not cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]):
                        raise ValueError(f"{path}: cannot write the crop")
                    written += 1
        finally:
            cap.release()
    bar.close()
    return written


def _crop(image: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """Pixels of the box, its edges rounded outwards and clipped to the image (at least 1 px)."""
    h, w = image.shape[:2]
    x1 = int(np.clip(np.floor(xyxy[0]), 0, w - 1))
    y1 = int(np.clip(np.floor(xyxy[1]), 0, h - 1))
    x2 = int(np.clip(np.ceil(xyxy[2]), x1 + 1, w))
    y2 = int(np.clip(np.ceil(xyxy[3]), y1 + 1, h))
    return image[y1:y2, x1:x2]


def _short_video(video: Path, last: int, wanted: int) -> str:
    return (f"{video}: the video ends before frame {wanted} (read {last - 1} frames) but the "
            "labels need it; are the labels from another recording?")


# -- CLI -------------------------------------------------------------------------------------------


def _parse_test_ids(text: str) -> int | tuple[int, ...]:
    """``"5"`` -> 5 identities; ``"3,8,12"`` (a comma makes a list; ``"7,"`` = just id 7)."""
    try:
        if "," in text:
            return tuple(int(t) for t in text.split(",") if t.strip())
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--test-ids {text!r}: give a count (5) or comma-separated ids (3,8,12)") from None


def build_parser() -> argparse.ArgumentParser:
    d = PrepareParams()
    ap = argparse.ArgumentParser(
        prog="python -m mtmc.reid.prepare",
        description="Turn KITTI person labels and camera videos into a Market-1501 ReID dataset.")
    add = ap.add_argument
    add("--kitti", required=True, type=Path, help="labels/kitti folder, one sub-folder per camera")
    add("--videos", required=True, type=Path, help="folder with <camera>.mp4 per camera")
    add("--out", required=True, type=Path, help="Market-1501 folder to write")
    add("--per-id", type=int, default=d.per_id, help="crops per identity (and per part)")
    add("--min-height", type=float, default=d.min_height_px, help="minimum box height, px")
    add("--max-aspect", type=float, default=d.max_aspect, help="keep width/height below this")
    add("--min-visibility", type=float, default=d.min_visibility, help="minimum visible share")
    add("--test-ids", type=_parse_test_ids, default=None,
        help="count of test identities, or comma-separated ids (default: half)")
    add("--query-per-cam", type=int, default=d.query_per_cam, help="queries per test id and camera")
    add("--time-split", type=int, default=None, metavar="T",
        help="split by time: frames <= T train (all ids), later frames query/gallery")
    add("--seed", type=int, default=d.seed, help="seeds the id choice and the sampling")
    add("--mot-gt", type=Path, default=None,
        help="MOT gt folder for exact visibility (default: <kitti>/../../gt if present)")
    add("--overwrite", action="store_true", help="replace crops already in --out")
    add("--quiet", action="store_true", help="no progress bar")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        params = PrepareParams(per_id=args.per_id, min_height_px=args.min_height,
                               max_aspect=args.max_aspect, min_visibility=args.min_visibility,
                               test_ids=args.test_ids, query_per_cam=args.query_per_cam,
                               seed=args.seed, time_split_frame=args.time_split)
        s = prepare_market(args.kitti, args.videos, args.out, params, mot_gt_dir=args.mot_gt,
                           overwrite=args.overwrite, progress=not args.quiet)
    except ValueError as exc:
        print(f"mtmc.reid.prepare: error: {exc}", file=sys.stderr)
        return 2
    sp = s["splits"]
    print(f"{args.out}: train {sp['train']['images']} crops / {len(sp['train']['ids'])} ids, "
          f"query {sp['query']['images']}, gallery {sp['gallery']['images']} "
          f"/ {len(sp['gallery']['ids'])} ids (split by {s['split_by']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
