"""Base vs fine-tuned ReID on the demo scene: writes ``docs/reid_finetune.md`` and its figures.

    python scripts/finetune_report.py [--base models/reid/base.onnx]
        [--finetuned models/reid/demo_finetuned.onnx] [--out docs]

The seed experiment, measured here end to end:

1. ReID scores (rank-1, mAP) of the HSV colour-histogram baseline, the base model and the
   fine-tuned model on the demo scene's held-out later time segment (``data/demo_market``, made by
   ``python -m mtmc.reid.prepare --time-split`` when missing);
2. cosine-distance distributions of true matches vs different people, before and after;
3. the pipeline's ID switches on the demo scene with no appearance, the base and the fine-tuned
   model (same detector and settings, only ``reid.model`` changed): once with ground-truth boxes
   (``configs/demo/cams_gt_boxes.yaml``: what ReID and association do alone) and once with the
   shipped detector (``configs/demo/cams.yaml``, as ``make demo``; its boxes are computed once and
   read back for the three runs, :mod:`mtmc.detect.cache`);
4. the base model on unseen identities (``data/reid_base/market`` when present) and training
   times from ``runs/reid/<run>/train_log.csv`` when present (the base stages ``base``,
   ``base_more``, ``base_pop3``, ``base_pop4``; the alternatives ``base_single``,
   ``base_pop5`` and ``base_bf16``; ``finetune`` and ``finetune_bf16``).

Nothing in the report is typed in by hand: every figure comes from this run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO_SCENE = REPO / "data" / "demo"
DEMO_MARKET = REPO / "data" / "demo_market"
# The demo with ground-truth boxes: the ID switches then come from ReID and association alone.
DEMO_CAMS = REPO / "configs" / "demo" / "cams_gt_boxes.yaml"
# The demo as `make demo` runs it: the shipped detector, whose misses and broken local tracks
# leave ReID something to fix.
DEMO_CAMS_DETECTOR = REPO / "configs" / "demo" / "cams.yaml"
# Held-out segment: the first 36 s (frames 1-360) train the fine-tune, the last 24 s evaluate.
TIME_SPLIT_FRAME = 360
PREPARE_ARGS = ("--per-id", "50", "--min-height", "40", "--query-per-cam", "5")


def ensure_demo_market() -> Path:
    """The demo scene's time-split Market folder (made once, deterministically)."""
    if (DEMO_MARKET / "prepare.json").exists():
        return DEMO_MARKET
    if not (DEMO_SCENE / "scene.json").exists():
        raise SystemExit("finetune_report: no demo scene in data/demo; run `make demo` first")
    from mtmc.reid.prepare import main as prepare_main

    code = prepare_main(["--kitti", str(DEMO_SCENE / "labels" / "kitti"),
                         "--videos", str(DEMO_SCENE / "videos"), "--out", str(DEMO_MARKET),
                         "--time-split", str(TIME_SPLIT_FRAME), *PREPARE_ARGS, "--quiet"])
    if code:
        raise SystemExit(f"finetune_report: preparing {DEMO_MARKET} failed")
    return DEMO_MARKET


def score_model(model: Path, market: Path) -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray]]:
    """Market scores (percent) and the protocol's (same-id, different-id) distance samples."""
    from mtmc.reid.evaluate import (
        embed_market,
        evaluate_features,
        percent_metrics,
        protocol_pair_distances,
    )

    split, qf, gf = embed_market(model, market, device="cpu", progress=False)
    scores, dist = evaluate_features(qf, gf, split.query, split.gallery)
    pairs = protocol_pair_distances(dist, split.query.pids, split.gallery.pids,
                                    split.query.camids, split.gallery.camids)
    return percent_metrics(scores), pairs


def pipeline_run(model: Path | None, tag: str, runs: Path, cams_yaml: Path = DEMO_CAMS) -> dict[str, Any]:
    """The demo run of ``cams_yaml`` with ``reid.model = model`` (None: no appearance); returns
    the metrics. A ``yolo`` detector's boxes are cached under ``runs/detections``."""
    from mtmc.config import load_cams
    from mtmc.detect.cache import cached_detector
    from mtmc.run import run

    config = load_cams(cams_yaml)
    if config.detector.backend == "yolo":
        config = replace(config, detector=cached_detector(
            DEMO_SCENE, config, config.detector, runs / "detections"))
    config = replace(config, reid=replace(config.reid, model=model))
    summary = run(config, runs / tag, progress=False, cams_yaml=cams_yaml)
    if "metrics" not in summary or "floor" not in summary["metrics"]:
        raise SystemExit(f"finetune_report: the {tag} run has no metrics: {summary.get('metrics')}")
    return summary["metrics"]


def training_time(run_dir: Path) -> dict[str, Any] | None:
    """Epochs and summed epoch seconds from a training folder's ``train_log.csv``."""
    log = run_dir / "train_log.csv"
    if not log.exists():
        return None
    rows = list(csv.DictReader(log.open()))
    return {"epochs": len(rows), "minutes": round(sum(float(r["seconds"]) for r in rows) / 60, 1),
            "images_per_s": round(float(np.median([float(r["images_per_s"]) for r in rows])), 1)}


def plot_distances(panels: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    from mtmc.reid.evaluate import plot_distance_histograms

    plot_distance_histograms(panels, path)


def plot_id_switches(rows: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    x = np.arange(len(names))
    floor = [rows[n]["floor"]["IDSW"] for n in names]
    image = [rows[n]["image"]["IDSW"] for n in names]
    ax.bar(x - 0.2, floor, 0.4, label="floor (global ids)", color="tab:blue")
    ax.bar(x + 0.2, image, 0.4, label="image (per camera boxes)", color="tab:orange")
    for xi, (f, i) in enumerate(zip(floor, image, strict=True)):
        ax.text(xi - 0.2, f, str(f), ha="center", va="bottom", fontsize=9)
        ax.text(xi + 0.2, i, str(i), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, names)
    ax.set_ylabel("ID switches")
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_markdown(path: Path, r: dict[str, Any]) -> None:
    readme = Path(os.path.relpath(REPO / "README.md", path.resolve().parent)).as_posix()
    lines = [
        "# ReID fine-tuning on synthetic data: before and after",
        "",
        f"Generated by `{r['command']}` (every number below is measured by that",
        f"run; see [the README]({readme}#reid-fine-tuning) for the commands that train the models).",
        "",
        "## ReID scores on the demo scene's held-out segment",
        "",
        f"Query and gallery: the demo scene's {r['market']['ids']} people after frame "
        f"{TIME_SPLIT_FRAME} ({r['market']['query']} queries, {r['market']['gallery']} gallery "
        "crops, cross-camera matches only, Market-1501 protocol). The fine-tune saw only frames "
        f"1-{TIME_SPLIT_FRAME}.",
        "",
        "| model | rank-1 % | rank-5 % | mAP % | mINP % |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    hsv = r["hsv"]
    lines.append(f"| HSV colour histogram ({hsv['variant']}) | {hsv['rank1']:.1f} | "
                 f"{hsv['rank5']:.1f} | {hsv['mAP']:.1f} | {hsv['mINP']:.1f} |")
    for name in ("base", "fine-tuned"):
        s = r["scores"][name]
        lines.append(f"| {name} (`{r['models'][name]}`) | {s['rank1']:.1f} | {s['rank5']:.1f} | "
                     f"{s['mAP']:.1f} | {s['mINP']:.1f} |")
    gain = r["scores"]["fine-tuned"]["mAP"] - r["scores"]["base"]["mAP"]
    lines += ["", f"Fine-tuning changes mAP by {gain:+.1f} points.", ""]
    if r.get("unseen"):
        u = r["unseen"]
        lines += [f"The base model on {u['ids']} identities of a simulated scene no training scene "
                  f"shares (`data/reid_base/market`): rank-1 {u['rank1']:.1f} %, mAP "
                  f"{u['mAP']:.1f} %.", ""]
    lines += [
        "## Distance distributions (the seed's Figure 8)",
        "",
        "Cosine distance between each query and the gallery crops of the same person (green) and",
        "of other people (red). Fine-tuning should pull green left and push red right.",
        "",
        "![distance distributions](reid_finetune_distances.png)",
        "",
        "## ID switches in the pipeline (the seed's Figure 9)",
        "",
        "The demo scene with only `reid.model` changed between the rows of a table. The model",
        "serves the global association and, where the config's `tracker.appearance` is true, the",
        "single-camera trackers' appearance gate too.",
        "",
    ]
    runs = (("pipeline", DEMO_CAMS, "ground-truth boxes", "reid_finetune_idsw.png"),
            ("pipeline_detector", DEMO_CAMS_DETECTOR, "the shipped detector",
             "reid_finetune_idsw_detector.png"))
    for key, cams, what, figure in runs:
        lines += [
            f"With {what}: `{cams.relative_to(REPO)}` (detector `{r['detectors'][key]}`, "
            f"`tracker.appearance: {str(r['tracker_appearance'][key]).lower()}`).",
            "",
            "| ReID model | floor IDSW | floor IDF1 | floor HOTA | image IDSW | image IDF1 |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, m in r[key].items():
            f, i = m["floor"], m["image"]
            lines.append(f"| {name} | {f['IDSW']} | {f['IDF1']:.1f} | {f['HOTA']:.1f} | "
                         f"{i['IDSW']} | {i['IDF1']:.1f} |")
        lines += ["", f"![ID switches, {what}]({figure})", ""]
    times = {k: v for k, v in r["training"].items() if v}
    if times:
        lines += ["## Training time (this machine's CPU)", "",
                  "| model | epochs | minutes | images/s |", "| --- | ---: | ---: | ---: |"]
        for name, t in times.items():
            lines.append(f"| {name} | {t['epochs']} | {t['minutes']} | {t['images_per_s']} |")
        lines.append("")
        missing = [k for k, v in r["training"].items() if not v]
        if missing:
            lines += [f"Not trained on this machine (no `train_log.csv` under `runs/reid/`; the "
                      f"README gives their times): {'; '.join(missing)}.", ""]
    path.write_text("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, default=REPO / "models" / "reid" / "base.onnx")
    ap.add_argument("--finetuned", type=Path,
                    default=REPO / "models" / "reid" / "demo_finetuned.onnx")
    ap.add_argument("--out", type=Path, default=REPO / "docs", help="folder for the report")
    ap.add_argument("--runs", type=Path, default=REPO / "runs" / "finetune_report",
                    help="folder for the pipeline runs")
    args = ap.parse_args(argv)
    for model in (args.base, args.finetuned):
        if not model.exists():
            print(f"finetune_report: error: model not found: {model}", file=sys.stderr)
            return 2
    from mtmc.formats.market import read_market
    from mtmc.reid.baselines import evaluate_hsv_baseline

    market = ensure_demo_market()
    split = read_market(market)
    models = {"base": args.base, "fine-tuned": args.finetuned}
    scores, panels = {}, {}
    for name, model in models.items():
        print(f"scoring {name} ({model.name}) ...", file=sys.stderr)
        scores[name], panels[f"{name} model"] = score_model(model, market)
    hsv = evaluate_hsv_baseline(market)
    sel = hsv["selected"]
    report: dict[str, Any] = {
        "command": shlex.join(["python", "scripts/finetune_report.py",
                               *(argv if argv is not None else sys.argv[1:])]),
        "models": {k: str(v.relative_to(REPO) if v.is_relative_to(REPO) else v)
                   for k, v in models.items()},
        "market": {"ids": int(len(np.unique(split.query.pids))), "query": len(split.query),
                   "gallery": len(split.gallery)},
        "scores": scores,
        "hsv": {"variant": f"{sel['region']} {'x'.join(map(str, sel['bins']))} {sel['distance']}",
                **{k: round(hsv[f"{k}_pct"], 1) for k in ("rank1", "rank5", "mAP", "mINP")}},
    }
    unseen = REPO / "data" / "reid_base" / "market"
    if (unseen / "query").is_dir():
        u, _ = score_model(args.base, unseen)
        report["unseen"] = {**u, "ids": int(len(np.unique(read_market(unseen).query.pids)))}
    from mtmc.config import load_cams

    report["detectors"], report["tracker_appearance"] = {}, {}
    for key, cams, folder in (("pipeline", DEMO_CAMS, args.runs),
                              ("pipeline_detector", DEMO_CAMS_DETECTOR, args.runs / "detector")):
        config = load_cams(cams)
        report["detectors"][key] = config.detector.backend
        report["tracker_appearance"][key] = config.tracker.appearance
        report[key] = {}
        for name, model in (("none (floor only)", None), ("base", args.base),
                            ("fine-tuned", args.finetuned)):
            print(f"pipeline run with {cams.name}, ReID {name} ...", file=sys.stderr)
            report[key][name] = pipeline_run(model, name.split()[0], folder, cams)
    report["training"] = {name: training_time(REPO / "runs" / "reid" / d)
                          for name, d in (("base, first stage (240 people, from scratch)", "base"),
                                          ("base, second stage (480 people)", "base_more"),
                                          ("base, third stage (880 people)", "base_pop3"),
                                          ("base, fourth stage (1,280 people)", "base_pop4"),
                                          ("not shipped: base in one stage (1,280 people, from "
                                           "scratch)", "base_single"),
                                          ("not shipped: base, fifth stage (1,680 people)",
                                           "base_pop5"),
                                          ("not shipped: base in one stage in bfloat16 (1,280 "
                                           "people, from scratch)", "base_bf16"),
                                          ("fine-tuned", "finetune"),
                                          ("not shipped: fine-tuned from the bfloat16 one-stage "
                                           "base", "finetune_bf16"))}
    args.out.mkdir(parents=True, exist_ok=True)
    plot_distances(panels, args.out / "reid_finetune_distances.png")
    plot_id_switches(report["pipeline"], args.out / "reid_finetune_idsw.png",
                     "Demo scene, ground-truth boxes: ID switches by ReID model")
    plot_id_switches(report["pipeline_detector"], args.out / "reid_finetune_idsw_detector.png",
                     "Demo scene, shipped detector: ID switches by ReID model")
    write_markdown(args.out / "reid_finetune.md", report)
    args.runs.mkdir(parents=True, exist_ok=True)
    (args.runs / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out / 'reid_finetune.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
