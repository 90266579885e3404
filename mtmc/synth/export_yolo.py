"""Export simulated scenes as a YOLO person-detection dataset.

``python -m mtmc.synth.export_yolo --scenes DIR [DIR ...] --out OUT [--every N] [--val-share 0.2]
[--min-visibility 0.1] [--box full|visible]`` writes::

    OUT/images/{train,val}/<scene>_<cam>_<frame:06d>.jpg
    OUT/labels/{train,val}/<scene>_<cam>_<frame:06d>.txt    "0 cx cy w h" (normalised), per person
    OUT/data.yaml                                           path, train, val, names {0: person}
    OUT/export.json                                         parameters and counts

Choices (and why):

- Boxes are the full-body (amodal) boxes of ``gt/<cam>.txt`` clipped to the image (``--box full``,
  default): the pipeline puts people on the floor at the bottom centre of their box, so a
  detector that predicts the whole body behind a shelf gives better floor positions (as
  CrowdHuman-style full-body labels do). ``--box visible`` uses the KITTI visible-pixel boxes.
- People less than ``--min-visibility`` (default 0.1) visible are not labelled: a box around a
  hand behind a rack teaches nothing useful. Fully hidden people are never labelled.
- Split by scene when there are at least two scenes: the last ``max(1, round(val_share * n))``
  scenes (in the order given) are validation, so validation shows unseen layouts, cameras and
  people. With a single scene the split is by time: in every camera the last ``val_share`` of the
  frames is validation and the 2 s before it are left out, so no validation frame is a near copy
  of a training frame.
- Every ``--every`` frame is exported (default 5): consecutive frames are nearly identical.
- ``<scene>`` is the scene's folder name; when two scenes share one (``pop1/scenes/s00``,
  ``pop2/scenes/s00``), every scene's name gets its parent folders too (:func:`scene_names`).

Example::

    python -m mtmc.synth.export_yolo --scenes data/s0 data/s1 data/s2 --out data/yolo --every 5
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import yaml
from tqdm import tqdm

from mtmc.formats.kitti import read_kitti_folder
from mtmc.formats.mot import read_mot

__all__ = ["export_yolo", "main", "scene_names", "yolo_images"]

GAP_S = 2.0  # frames this close before the validation part of a single scene are left out
JPEG_QUALITY = 95


def _scene_info(scene: Path) -> tuple[list[str], int, float]:
    """Camera ids, number of frames and fps of a scene folder (from scene.json)."""
    meta_path = scene / "scene.json"
    if not meta_path.exists():
        raise ValueError(
            f"{scene}: not a simulated scene folder (no scene.json); "
            "make one with python -m mtmc.synth"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return [c["id"] for c in meta["cameras"]], int(meta["n_frames"]), float(meta["fps"])


def _boxes(scene: Path, cam: str, box: str, min_visibility: float) -> dict[int, np.ndarray]:
    """Frame -> (N, 4) xyxy boxes to label."""
    gt = read_mot(scene / "gt" / f"{cam}.txt")
    keep = gt.visibility >= max(min_visibility, 1e-9)
    out: dict[int, list] = {}
    if box == "full":
        for f, b in zip(gt.frame[keep], gt.xyxy[keep], strict=True):
            out.setdefault(int(f), []).append(b)
    else:
        kitti = read_kitti_folder(scene / "labels" / "kitti" / cam)
        vis = {
            (int(f), int(i)): v
            for f, i, v in zip(gt.frame, gt.track_id, gt.visibility, strict=True)
        }
        for f, i, b in zip(kitti.frame, kitti.track_id, kitti.xyxy, strict=True):
            if vis.get((int(f), int(i)), 0.0) >= max(min_visibility, 1e-9):
                out.setdefault(int(f), []).append(b)
    return {f: np.asarray(v, dtype=np.float64).reshape(-1, 4) for f, v in out.items()}


def yolo_images(root: Path, split: str) -> list[Path]:
    """The ``.jpg`` images of one split (``train`` / ``val``) of a YOLO dataset folder, sorted.

    Raises:
        ValueError: ``root`` has no data.yaml, or data.yaml does not name the split.
    """
    data_yaml = Path(root) / "data.yaml"
    if not data_yaml.is_file():
        raise ValueError(f"{root}: no data.yaml; make a dataset with python -m mtmc.synth.export_yolo")
    spec = yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}
    if split not in spec:
        raise ValueError(f"{data_yaml}: no {split!r} entry")
    base = Path(spec.get("path") or root)
    base = base if base.is_absolute() else Path(root) / base
    return sorted((base / str(spec[split])).glob("*.jpg"))


def scene_names(scenes: Sequence[Path]) -> list[str]:
    """Names that prefix each scene's images: the folder names, or, when two scenes share one
    (``pop1/scenes/s00`` and ``pop2/scenes/s00``), every path's last parts joined with ``_``,
    as few as tell all scenes apart (``pop1_scenes_s00``, ``pop2_scenes_s00``; a third scene
    ``pop1/scenes/s01`` then becomes ``pop1_scenes_s01``).

    Raises ValueError when a folder is given twice.
    """
    parts = [Path(s).resolve().parts for s in scenes]
    for depth in range(1, max((len(p) for p in parts), default=1) + 1):
        names = ["_".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    raise ValueError(f"a scene folder is given twice: {[str(s) for s in scenes]}")


def export_yolo(
    scenes: list[Path],
    out: Path,
    *,
    every: int = 5,
    val_share: float = 0.2,
    min_visibility: float = 0.1,
    box: Literal["full", "visible"] = "full",
    progress: bool = True,
) -> dict:
    """Write the dataset (see module doc); returns the ``export.json`` dict.

    Raises:
        ValueError: a folder is not a scene, a name repeats, or a parameter is out of range.
    """
    if every < 1:
        raise ValueError(f"--every must be >= 1, got {every}")
    if not 0.0 < val_share < 1.0:
        raise ValueError(f"--val-share must be within (0, 1), got {val_share}")
    if not 0.0 <= min_visibility <= 1.0:
        raise ValueError(f"--min-visibility must be within [0, 1], got {min_visibility}")
    if box not in ("full", "visible"):
        raise ValueError(f"--box must be full or visible, got {box!r}")
    scenes = [Path(s) for s in scenes]
    names = scene_names(scenes)
    infos = [_scene_info(s) for s in scenes]
    out = Path(out)
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    by_scene = len(scenes) >= 2
    n_val_scenes = max(1, round(val_share * len(scenes))) if by_scene else 0
    counts = {"train": {"images": 0, "boxes": 0}, "val": {"images": 0, "boxes": 0}}
    total = sum(len(cams) * len(range(0, n, every)) for cams, n, _ in infos)
    bar = tqdm(
        total=total,
        desc="exporting",
        unit="image",
        file=sys.stderr,
        disable=not progress,
        mininterval=1.0,
    )
    for k, (scene, name, (cams, n_frames, fps)) in enumerate(
        zip(scenes, names, infos, strict=True)
    ):
        val_from = int(np.ceil((1.0 - val_share) * n_frames))  # 0-based first validation frame
        gap = int(round(GAP_S * fps))
        for cam in cams:
            boxes = _boxes(scene, cam, box, min_visibility)
            cap = cv2.VideoCapture(str(scene / "videos" / f"{cam}.mp4"))
            if not cap.isOpened():
                raise ValueError(f"{scene / 'videos' / f'{cam}.mp4'}: cannot open the video")
            try:
                for f in range(n_frames):
                    ok, image = cap.read()
                    if not ok:
                        raise ValueError(
                            f"{scene}/videos/{cam}.mp4: ends at frame {f}, "
                            f"scene.json says {n_frames}"
                        )
                    if f % every:
                        continue
                    if by_scene:
                        split = "val" if k >= len(scenes) - n_val_scenes else "train"
                    elif f >= val_from:
                        split = "val"
                    elif f >= val_from - gap:
                        bar.update(1)
                        continue
                    else:
                        split = "train"
                    stem = f"{name}_{cam}_{f + 1:06d}"
                    cv2.imwrite(
                        str(out / "images" / split / f"{stem}.jpg"),
                        image,
                        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
                    )
                    h, w = image.shape[:2]
                    lines = []
                    for x1, y1, x2, y2 in boxes.get(f + 1, np.zeros((0, 4))):
                        x1, x2 = np.clip([x1, x2], 0, w)
                        y1, y2 = np.clip([y1, y2], 0, h)
                        if x2 - x1 < 1 or y2 - y1 < 1:
                            continue
                        lines.append(
                            f"0 {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} "
                            f"{(x2 - x1) / w:.6f} "
                            f"{(y2 - y1) / h:.6f}\n"
                        )
                    (out / "labels" / split / f"{stem}.txt").write_text(
                        "".join(lines), encoding="utf-8"
                    )
                    counts[split]["images"] += 1
                    counts[split]["boxes"] += len(lines)
                    bar.update(1)
            finally:
                cap.release()
    bar.close()
    data = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": {0: "person"},
    }
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    summary = {
        "scenes": [str(s) for s in scenes],
        "split": "by scene" if by_scene else "by time",
        "val_scenes": names[len(names) - n_val_scenes :] if by_scene else [],
        "every": every,
        "val_share": val_share,
        "min_visibility": min_visibility,
        "box": box,
        "counts": counts,
    }
    (out / "export.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m mtmc.synth.export_yolo",
        description="Export simulated scenes as a YOLO person-detection dataset.",
    )
    p.add_argument(
        "--scenes", nargs="+", required=True, type=Path, help="scene folders written by mtmc.synth"
    )
    p.add_argument("--out", required=True, type=Path, help="dataset folder (created)")
    p.add_argument("--every", type=int, default=5, help="export every N-th frame (default 5)")
    p.add_argument("--val-share", type=float, default=0.2, help="validation share (default 0.2)")
    p.add_argument(
        "--min-visibility",
        type=float,
        default=0.1,
        help="label people at least this visible (default 0.1)",
    )
    p.add_argument(
        "--box",
        choices=("full", "visible"),
        default="full",
        help="full-body boxes clipped to the image (default) or visible-pixel boxes",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        summary = export_yolo(
            args.scenes,
            args.out,
            every=args.every,
            val_share=args.val_share,
            min_visibility=args.min_visibility,
            box=args.box,
            progress=not args.quiet,
        )
    except ValueError as exc:
        print(f"export_yolo: {exc}", file=sys.stderr)
        return 2
    c = summary["counts"]
    print(
        f"wrote {args.out}: train {c['train']['images']} images / {c['train']['boxes']} boxes, "
        f"val {c['val']['images']} images / {c['val']['boxes']} boxes ({summary['split']})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
