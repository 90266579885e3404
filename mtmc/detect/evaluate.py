"""Score person detectors on simulated scenes (or a YOLO dataset): mAP50, mAP50-95, recall.

``python -m mtmc.detect.evaluate --model X [X ...] --data DIR [DIR ...] [--every 5]
[--imgsz 640] [--conf 0.3] [--precision auto|bf16] [--out OUT]``

- ``--model``: YOLO weights (``.pt``, ``.onnx``, ``.engine``) or the name of a weights-free backend
  (``bgsub``, ``hog``). Several models are scored on the same frames, e.g.
  ``--model models/detector/person.pt bgsub``.
- ``--data``: simulator scene folders (``scene.json``; the ground truth there carries each
  person's visibility) or one YOLO dataset (``data.yaml``; its validation split, no visibility, so
  only the "all" figures, and only YOLO models: the other backends need the calibrated video).
- Ground truth: the full-body boxes of ``gt/<cam>.txt`` clipped to the image, as the YOLO export
  labels them. People less than 10 % visible are ignored (never labelled for training; a detector
  is neither rewarded nor punished for them). Splits: ``visible`` (visibility >= 0.5; the others
  ignored), ``occluded`` (0.1-0.5; the visible ones ignored) and ``all``.
- Every ``--every``-th frame of every camera is scored; background subtraction still sees every
  frame, since it learns the background from them.
- AP uses all predictions down to a confidence of 0.01; ``recall`` and ``precision`` count only
  those at or above ``--conf`` (default: the pipeline's ``detector.confidence_min``).

Prints one table and writes ``OUT/metrics.json``:
``{model: {"all"|"visible"|"occluded": {"mAP50", "mAP50-95", "recall", "precision", "n_gt",
"n_pred"}, "ms_per_frame": ...}}`` (AP, recall and precision as fractions; "all" only when the
data carries no visibility).

Example::

    python -m mtmc.detect.evaluate --model models/detector/person.pt bgsub \\
        --data data/accuracy/201 data/accuracy/202 --out runs/detector/eval
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from mtmc.config import DETECTOR_PRECISIONS, DetectorConfig, DetectorPrecision, load_cams
from mtmc.detect import build_detector
from mtmc.eval.detection import FrameBoxes, detection_metrics
from mtmc.formats.mot import read_mot
from mtmc.synth.export_yolo import yolo_images
from mtmc.synth.output import SHIPPED_DETECTOR_IMAGE_SIZE_PX
from mtmc.viz.streams import VideoFrames

__all__ = ["SPLITS", "evaluate_detectors", "main"]

WEIGHTS_FREE = ("bgsub", "hog")
STATEFUL = ("bgsub",)  # backends that must see every frame
AP_CONFIDENCE_MIN = 0.01
LABEL_VISIBILITY_MIN = 0.1  # as python -m mtmc.synth.export_yolo (people below it are not labelled)
VISIBLE_MIN = 0.5
SPLITS = ("all", "visible", "occluded")


@dataclass
class _Truth:
    """Ground truth of one scored image."""

    xyxy: np.ndarray  # (G, 4)
    visibility: np.ndarray  # (G,), NaN when unknown


def _ignore(split: str, visibility: np.ndarray) -> np.ndarray:
    """Boxes that count neither way in ``split``."""
    if np.isnan(visibility).all():
        return np.zeros(len(visibility), dtype=bool)
    faint = visibility < LABEL_VISIBILITY_MIN
    if split == "visible":
        return faint | (visibility < VISIBLE_MIN)
    if split == "occluded":
        return faint | (visibility >= VISIBLE_MIN)
    return faint


def _scene_truth(scene: Path, cam: str, image_wh: tuple[int, int]) -> dict[int, _Truth]:
    """Frame -> clipped full-body boxes and visibilities of one camera."""
    gt = read_mot(scene / "gt" / f"{cam}.txt")
    xyxy = gt.xyxy.copy()
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, image_wh[0])
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, image_wh[1])
    out = {}
    for f in np.unique(gt.frame):
        rows = gt.frame == f
        out[int(f)] = _Truth(xyxy[rows], gt.visibility[rows].astype(np.float64))
    return out


def _scene_frames(scene: Path, every: int) -> Iterator[tuple[str, int, np.ndarray, bool, dict]]:
    """(camera, 1-based frame, image, scored?, truth of the camera) for every frame of a scene."""
    meta = json.loads((scene / "scene.json").read_text(encoding="utf-8"))
    image_wh = tuple(meta["image_size_wh"])
    for cam in [c["id"] for c in meta["cameras"]]:
        truth = _scene_truth(scene, cam, image_wh)
        with VideoFrames(scene / "videos" / f"{cam}.mp4") as video:
            if not video.is_open:
                raise ValueError(f"{scene / 'videos' / f'{cam}.mp4'}: cannot open the video")
            frame = 1
            while (image := video.read(frame)) is not None:
                yield cam, frame, image, (frame - 1) % every == 0, truth
                frame += 1


def _yolo_dataset_frames(root: Path) -> Iterator[tuple[str, int, np.ndarray, bool, dict]]:
    """The validation images of a YOLO dataset with their labels (no visibility)."""
    images = yolo_images(root, "val")
    if not images:
        raise ValueError(f"{root}: no validation images")
    for k, path in enumerate(images):
        image = cv2.imread(str(path))
        h, w = image.shape[:2]
        label = path.parent.parent.parent / "labels" / path.parent.name / f"{path.stem}.txt"
        rows = np.loadtxt(label, ndmin=2).reshape(-1, 5) if label.exists() else np.zeros((0, 5))
        cx, cy, bw, bh = rows[:, 1] * w, rows[:, 2] * h, rows[:, 3] * w, rows[:, 4] * h
        xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        truth = {k + 1: _Truth(xyxy, np.full(len(rows), np.nan))}
        yield path.stem, k + 1, image, True, truth


def _count_frames(data: Path, kind: str) -> int:
    """Frames the progress bar will see: every frame of every camera, or the validation images."""
    if kind == "scene":
        meta = json.loads((data / "scene.json").read_text(encoding="utf-8"))
        return int(meta["n_frames"]) * len(meta["cameras"])
    return len(yolo_images(data, "val"))


def _detector(name: str, scene: Path | None, imgsz: int, device: str, precision: DetectorPrecision):
    """Build one detector; weights-free backends take the scene's cameras and calibrations."""
    if name in WEIGHTS_FREE:
        if scene is None:
            raise ValueError(f"--model {name}: needs simulator scene folders (calibrated video), not a YOLO dataset")
        from mtmc.run import load_calibrations

        config = load_cams(scene / "cams.yaml", check_files=False)
        cfg = DetectorConfig(backend=name, confidence_min=AP_CONFIDENCE_MIN)
        return build_detector(cfg, config.cameras, load_calibrations(config))
    weights = Path(name)
    if not weights.is_file():
        raise ValueError(f"--model {name}: no such weights file, and not one of {', '.join(WEIGHTS_FREE)}")
    cfg = DetectorConfig(
        backend="yolo", weights=weights, confidence_min=AP_CONFIDENCE_MIN, image_size_px=imgsz, device=device,
        precision=precision,
    )
    return build_detector(cfg, (), {})


def evaluate_detectors(
    models: list[str],
    data: list[Path],
    *,
    every: int = 5,
    imgsz: int = SHIPPED_DETECTOR_IMAGE_SIZE_PX,
    confidence_min: float | None = None,
    device: str = "auto",
    precision: DetectorPrecision = "auto",
    progress: bool = True,
) -> dict[str, dict]:
    """Score each model on the same frames; returns the ``metrics.json`` dict (see module doc).

    Raises:
        ValueError: a data folder is neither a scene nor a YOLO dataset, a weights file is missing,
            or a weights-free backend is asked to run on a YOLO dataset.
    """
    if every < 1:
        raise ValueError(f"--every must be >= 1, got {every}")
    conf = DetectorConfig().confidence_min if confidence_min is None else confidence_min
    kinds = []
    for d in data:
        if (d / "scene.json").is_file():
            kinds.append("scene")
        elif (d / "data.yaml").is_file():
            kinds.append("yolo")
        else:
            raise ValueError(f"--data {d}: neither a simulator scene (scene.json) nor a YOLO dataset (data.yaml)")
    results: dict[str, dict] = {}
    for name in models:
        frames: list[tuple[FrameBoxes, np.ndarray]] = []
        seconds, n_run = 0.0, 0
        detector = None
        for d, kind in zip(data, kinds, strict=True):
            scene = d if kind == "scene" else None
            if detector is None or name in WEIGHTS_FREE:  # weights load once; bgsub is per scene
                detector = _detector(name, scene, imgsz, device, precision)
            source = _scene_frames(d, every) if scene else _yolo_dataset_frames(d)
            stateful = name in STATEFUL
            for cam, frame, image, scored, truth in tqdm(
                source, desc=f"{Path(name).name} on {d.name}", unit="frame", disable=not progress,
                file=sys.stderr, mininterval=1.0, total=_count_frames(d, kind),
            ):
                if not (scored or stateful):
                    continue
                start = time.perf_counter()
                (dets,) = detector.detect([image], [{"camera_id": cam, "frame": frame, "t_s": 0.0}])
                seconds += time.perf_counter() - start
                n_run += 1
                if not scored:
                    continue
                t = truth.get(frame, _Truth(np.zeros((0, 4)), np.zeros(0)))
                frames.append((FrameBoxes(dets.xyxy, dets.confidence, t.xyxy, np.zeros(len(t.xyxy), bool)), t.visibility))
        known = any(not np.isnan(vis).all() for _, vis in frames if len(vis))
        results[name] = {
            split: detection_metrics(
                [FrameBoxes(f.pred_xyxy, f.pred_score, f.gt_xyxy, _ignore(split, vis)) for f, vis in frames],
                conf,
            )
            for split in (SPLITS if known else ("all",))  # no visibility: nothing to split by
        }
        results[name]["ms_per_frame"] = 1000.0 * seconds / max(n_run, 1)
        results[name]["confidence_min"] = conf
    return results


def format_metrics(results: dict[str, dict]) -> str:
    """A plain-text table: one row per model and split."""
    lines = [f"{'model':<28} {'split':<9} {'mAP50':>6} {'mAP50-95':>8} {'recall':>6} {'prec.':>6} {'n_gt':>7}"]
    for name, res in results.items():
        for split in [k for k in SPLITS if k in res]:
            m = res[split]
            lines.append(
                f"{Path(name).name:<28} {split:<9} {m['mAP50']:6.3f} {m['mAP50-95']:8.3f} "
                f"{m['recall']:6.3f} {m['precision']:6.3f} {m['n_gt']:7d}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mtmc.detect.evaluate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--model", nargs="+", required=True, help="weights files and/or bgsub, hog")
    parser.add_argument("--data", nargs="+", type=Path, required=True, help="scene folders or a YOLO dataset")
    parser.add_argument("--every", type=int, default=5, help="score every N-th frame")
    parser.add_argument("--imgsz", type=int, default=SHIPPED_DETECTOR_IMAGE_SIZE_PX, help="YOLO inference size, px")
    parser.add_argument("--conf", type=float, default=None, help="threshold for recall/precision")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", choices=DETECTOR_PRECISIONS, default="auto",
                        help="YOLO .pt arithmetic (detector.precision)")
    parser.add_argument("--out", type=Path, default=None, help="write OUT/metrics.json")
    args = parser.parse_args(argv)
    try:
        results = evaluate_detectors(
            args.model, args.data, every=args.every, imgsz=args.imgsz,
            confidence_min=args.conf, device=args.device, precision=args.precision,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_metrics(results))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        record = {"data": [str(d) for d in args.data], "every": args.every, "imgsz": args.imgsz,
                  "precision": args.precision, "models": results}
        (args.out / "metrics.json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
