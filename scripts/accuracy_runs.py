"""Accuracy of the pipeline on simulator scenes (issue #4): per-seed and mean floor / image metrics.

    .venv/bin/python scripts/accuracy_runs.py --detector gt                 # GT boxes, scene ReID
    .venv/bin/python scripts/accuracy_runs.py --detector gt --appearance-weight 0 --tag gt_noapp
    .venv/bin/python scripts/accuracy_runs.py --detector yolo --reid-model models/reid/base.onnx
    .venv/bin/python scripts/accuracy_runs.py --detector scene --reid-model models/reid/x.onnx

Scenes (8 cameras, 20 people, 60 s by default; seeds 201 202 203, which no test uses) are generated
into ``data/accuracy/<seed>/`` when missing (about a minute or two each): a scene is rendered into
``data/accuracy/.partial/<seed>/`` and moved into place only when complete, so an interrupted
generation is redone, never used. Each run goes to ``runs/accuracy/<tag>/<seed>/`` (the usual run
folder: rtls.jsonl, mot/, summary.json) and the table of all seeds and their mean to
``runs/accuracy/<tag>.json``.

``--detector gt`` feeds the scene's ground-truth boxes (``gt/<camera>.txt``, fully hidden people
left out by the file detector) as detections, with ``association.unbind_residual_m`` set for exact
boxes (``EXACT_BOXES_UNBIND_RESIDUAL_M``); ``yolo`` runs the shipped person detector
(``--detector-weights``, default ``models/detector/person.pt``, at ``--imgsz``, default
``SHIPPED_DETECTOR_IMAGE_SIZE_PX``); ``scene`` keeps the detector of the scene's own cams.yaml.
``yolo-exact`` is a diagnostic: the cached yolo detections, each one that matches a ground-truth
box (IoU >= 0.5) replaced by that box (:func:`mtmc.detect.cache.snap_to_ground_truth`). Between
``yolo``, ``yolo-exact`` and ``gt`` the accuracy lost to the detector splits into what its box
placement costs and what its missed people cost.
``--appearance-weight`` overrides ``association.appearance_weight`` (0: geometry only),
``--reid-model`` sets ``reid.model`` (an ONNX embedder).

The yolo detections of a scene are computed once per weights file and image size and cached under
``OUT/detections/`` (the detector keeps no state between frames, so every run reads the same
boxes); configurations that differ only after detection (appearance weight, ReID model) reuse
them. ``--no-cache`` runs the detector inside each run instead.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from mtmc.config import (
    EXACT_BOXES_UNBIND_RESIDUAL_M,
    CamsConfig,
    DetectorConfig,
    load_cams,
    to_public,
)
from mtmc.detect.cache import cached_detector, snapped_detector
from mtmc.run import run
from mtmc.synth.output import SCENE_REID_MIN_HEIGHT_PX, SHIPPED_DETECTOR_IMAGE_SIZE_PX

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEEDS = (201, 202, 203)  # not used by any test
DEFAULT_DETECTOR = ROOT / "models" / "detector" / "person.pt"
# (section, key) columns of the table, in order.
COLUMNS = (
    ("floor", "HOTA"), ("floor", "DetA"), ("floor", "AssA"), ("floor", "LocA"), ("floor", "IDF1"),
    ("floor", "IDSW"), ("image", "HOTA"), ("image", "IDF1"), ("image", "IDSW"),
)


def ensure_scene(data_root: Path, seed: int, cameras: int, people: int, seconds: float) -> Path:
    """The scene folder of ``seed`` under ``data_root``; rendered first when it is not there.

    A folder counts as a scene once ``scene.json`` (written last by the simulator) exists. Its
    parameters must be those the warehouse preset gives with these overrides (preset changes
    included); a mismatch is an error (delete the folder or pick another ``--data``) rather than
    a silent reuse. A scene is rendered into ``.partial/`` and moved into place when complete.
    """
    from mtmc.synth.config import load_preset, with_overrides
    from mtmc.synth.generate import generate

    cfg = with_overrides(load_preset("warehouse"), seed=seed, cameras=cameras, people=people,
                         seconds=seconds)
    scene = data_root / str(seed)
    if (scene / "scene.json").exists():
        _check_scene(scene, to_public(cfg))
        return scene
    if scene.exists():
        raise ValueError(f"{scene}: exists but holds no complete scene (no scene.json); delete it")
    partial = data_root / ".partial" / str(seed)
    if partial.exists():
        shutil.rmtree(partial)  # left over from an interrupted generation
    partial.parent.mkdir(parents=True, exist_ok=True)
    print(f"generating scene {seed}: warehouse, {cameras} cameras, {people} people, "
          f"{seconds:g} s", flush=True)
    started = time.perf_counter()
    generate(cfg, partial, progress=False)
    partial.rename(scene)
    print(f"  {scene} in {time.perf_counter() - started:.0f} s", flush=True)
    return scene


def _check_scene(scene: Path, wanted: dict[str, Any]) -> None:
    have = json.loads((scene / "scene.json").read_text(encoding="utf-8"))["parameters"]
    wanted = json.loads(json.dumps(wanted))  # tuples -> lists, as scene.json holds them
    if have != wanted:
        changed = sorted(k for k in set(have) | set(wanted) if have.get(k) != wanted.get(k))
        raise ValueError(
            f"{scene}: was rendered with other simulator parameters ({', '.join(changed)} differ); "
            "delete it to render it again, or use another --data"
        )


def configure(
    scene: Path,
    detector: str,
    appearance_weight: float | None,
    reid_model: Path | None,
    detector_weights: Path = DEFAULT_DETECTOR,
    imgsz: int = SHIPPED_DETECTOR_IMAGE_SIZE_PX,
    cache: Path | None = None,
    tracker_appearance: bool = True,
) -> CamsConfig:
    """The scene's cams.yaml with the chosen detector, appearance weight and ReID model.

    ``tracker_appearance`` (``tracker.appearance``) keeps the trackers' appearance gate, which
    acts when there is a ReID model, except with ground-truth boxes, which always track by
    motion alone.

    With ``cache`` (a folder), ``yolo`` detections are computed once per scene, weights and image
    size (:func:`mtmc.detect.cache.cached_detections`) and read back by the ``file`` detector.
    """
    config = load_cams(scene / "cams.yaml")
    if detector == "gt":
        gt_pattern = str(scene.resolve() / "gt" / "{camera}.txt")
        # exact boxes: association settings for them, and motion-only local tracking (boxes of
        # people mostly hidden behind others or racks show what hides them)
        tracker_appearance = False
        config = replace(config, detector=DetectorConfig(backend="file", file_pattern=gt_pattern),
                         association=replace(config.association,
                                             unbind_residual_m=EXACT_BOXES_UNBIND_RESIDUAL_M))
    elif detector in ("yolo", "yolo-exact"):
        if not detector_weights.is_file():
            raise ValueError(f"--detector-weights {detector_weights}: file not found")
        yolo = DetectorConfig(backend="yolo", weights=detector_weights.resolve(), image_size_px=imgsz)
        if cache is None:
            if detector == "yolo-exact":
                raise ValueError("--detector yolo-exact snaps the cached detections: drop --no-cache")
            config = replace(config, detector=yolo)
        else:
            config = replace(config, detector=cached_detector(scene, config, yolo, cache))
            if detector == "yolo-exact":
                cams = [cam.id for cam in config.cameras]
                config = replace(config, detector=snapped_detector(scene, cams, config.detector))
    elif detector != "scene":
        raise ValueError(f"--detector must be gt, yolo, yolo-exact or scene, got {detector!r}")
    config = replace(config, tracker=replace(config.tracker, appearance=tracker_appearance))
    if appearance_weight is not None:
        config = replace(
            config, association=replace(config.association, appearance_weight=appearance_weight)
        )
    if reid_model is not None:
        if not reid_model.is_file():
            raise ValueError(f"--reid-model {reid_model}: file not found")
        # the setting a new scene's cams.yaml gets with a ReID model (mtmc.synth.output)
        config = replace(config, reid=replace(config.reid, model=reid_model.resolve(),
                                              min_height_px=SCENE_REID_MIN_HEIGHT_PX))
    return config


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    """``{"floor.HOTA": ..., ...}``: the table's columns of one run's metrics."""
    return {f"{sec}.{key}": float(metrics[sec][key]) for sec, key in COLUMNS}


def mean_row(rows: list[dict[str, float]]) -> dict[str, float]:
    """Column means over seeds (ID switches too, as a mean count)."""
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def format_rows(rows: dict[str, dict[str, float]]) -> str:
    """Text table: one line per seed plus the mean."""
    heads = [f"{'f.' if sec == 'floor' else 'i.'}{key}" for sec, key in COLUMNS]
    lines = [f"{'seed':<6}" + "".join(f"{h:>9}" for h in heads)]
    for name, row in rows.items():
        cells = []
        for sec, key in COLUMNS:
            v = row[f"{sec}.{key}"]
            cells.append(f"{v:9.1f}" if key == "IDSW" else f"{v:9.2f}")
        lines.append(f"{name:<6}" + "".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    ap.add_argument("--detector", choices=("gt", "yolo", "yolo-exact", "scene"), default="gt",
                    help="gt: ground-truth boxes as detections; yolo: the shipped detector; "
                    "yolo-exact: its detections snapped to the ground-truth boxes they match "
                    "(a diagnostic); scene: the scene's cams.yaml detector")
    ap.add_argument("--detector-weights", type=Path, default=DEFAULT_DETECTOR)
    ap.add_argument("--imgsz", type=int, default=SHIPPED_DETECTOR_IMAGE_SIZE_PX, help="yolo inference size, px")
    ap.add_argument("--no-cache", action="store_true",
                    help="run the yolo detector inside each run instead of reading the detections "
                    "cached under OUT/detections (computed on first use)")
    ap.add_argument("--appearance-weight", type=float, default=None,
                    help="override association.appearance_weight (0: no appearance)")
    ap.add_argument("--reid-model", type=Path, default=None, help="ONNX ReID model (reid.model)")
    ap.add_argument("--no-tracker-appearance", dest="tracker_appearance", action="store_false",
                    help="trackers match by motion alone (tracker.appearance: false); by default "
                    "they also gate by appearance when there is a --reid-model (not with gt boxes)")
    ap.add_argument("--tag", help="name of this configuration (default from the options)")
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--people", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--max-frames", type=int, default=None, help="stop each run after this many steps")
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "accuracy", help="scene folders")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "accuracy", help="run folders")
    args = ap.parse_args(argv)
    # the gate needs embeddings, and ground-truth boxes always track by motion alone
    gate_possible = args.reid_model is not None and args.detector != "gt"
    gated = gate_possible and args.tracker_appearance
    tag = args.tag or "_".join(
        [args.detector]
        + ([f"w{args.appearance_weight:g}"] if args.appearance_weight is not None else [])
        + (["reid"] if args.reid_model is not None else [])
        + (["nogate"] if gate_possible and not gated else [])
    )
    rows: dict[str, dict[str, float]] = {}
    runs: dict[str, Any] = {}
    try:
        for seed in args.seeds:
            scene = ensure_scene(args.data, seed, args.cameras, args.people, args.seconds)
            config = configure(scene, args.detector, args.appearance_weight, args.reid_model,
                               args.detector_weights, args.imgsz,
                               cache=None if args.no_cache else args.out / "detections",
                               tracker_appearance=args.tracker_appearance)
            out_dir = args.out / tag / str(seed)
            if out_dir.exists():
                shutil.rmtree(out_dir)
            started = time.perf_counter()
            summary = run(config, out_dir, max_frames=args.max_frames, progress=False,
                          cams_yaml=scene / "cams.yaml")
            metrics = summary.get("metrics", {})
            if "floor" not in metrics or "image" not in metrics:
                raise ValueError(f"run {out_dir}: no metrics ({metrics.get('error', summary['status'])})")
            rows[str(seed)] = headline(metrics)
            runs[str(seed)] = {"run": str(out_dir), "seconds": round(time.perf_counter() - started, 1),
                               "metrics": {sec: {k: v for k, v in metrics[sec].items() if k != "per_camera"}
                                           for sec in ("floor", "image")}}
            print(f"seed {seed}: {runs[str(seed)]['seconds']} s", flush=True)
    except ValueError as exc:
        print(f"accuracy_runs: error: {exc}", file=sys.stderr)
        return 2
    rows["mean"] = mean_row(list(rows.values()))
    print(f"\n{tag}: {args.cameras} cameras, {args.people} people, detector {args.detector}, "
          f"appearance weight {args.appearance_weight if args.appearance_weight is not None else 'config'}")
    print(format_rows(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        "tag": tag, "detector": args.detector, "appearance_weight": args.appearance_weight,
        **({"detector_weights": str(args.detector_weights), "imgsz": args.imgsz,
            "detections_cached": not args.no_cache} if args.detector.startswith("yolo") else {}),
        "reid_model": str(args.reid_model) if args.reid_model else None,
        "tracker_appearance": gated,
        "cameras": args.cameras, "people": args.people, "seconds": args.seconds,
        "max_frames": args.max_frames, "table": rows, "runs": runs,
    }
    path = args.out / f"{tag}.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
