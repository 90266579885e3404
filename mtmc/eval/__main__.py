"""Command line: evaluate a run folder against ground truth.

    python -m mtmc.eval --run runs/demo --gt data/demo [--out metrics.json]
    python -m mtmc.eval --run runs/demo --gt-world gt/world.txt --gt-mot 'gt/{camera}.txt'

``--gt SCENE`` uses ``SCENE/gt/world.txt`` (floor metrics, when present) and
``SCENE/gt/{camera}.txt`` (image metrics, when the folder has per-camera files). Prints a table and
writes the metrics as JSON (default ``RUN/metrics.json``). User errors (missing files, an empty
run) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mtmc.eval.run import CAMERA_FIELD, evaluate_run, format_table
from mtmc.eval.sequence import FLOOR_ZERO_AT_M

USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m mtmc.eval``."""
    p = argparse.ArgumentParser(
        prog="python -m mtmc.eval",
        description="Floor-plane and image-space HOTA / IDF1 / MOTA of a pipeline run.",
    )
    p.add_argument("--run", required=True, type=Path, help="run folder (rtls.jsonl, mot/)")
    p.add_argument("--gt", type=Path, help="scene folder with gt/world.txt and gt/<camera>.txt")
    p.add_argument("--gt-world", type=Path, help="floor ground truth frame,id,x_m,y_m,heading_rad")
    p.add_argument(
        "--gt-mot", help=f"ground-truth MOT file per camera, with {CAMERA_FIELD}, e.g. gt/{{camera}}.txt"
    )
    p.add_argument("--cameras", nargs="+", help="cameras for image metrics (default: all in RUN/mot)")
    p.add_argument(
        "--min-visibility", type=float, default=0.0,
        help="ignore gt boxes less visible than this (default 0: evaluate all, as MOT17)",
    )
    p.add_argument(
        "--frames", choices=("run", "all"), default="run",
        help="evaluate the frames in rtls.jsonl (run, default) or every frame (all)",
    )
    p.add_argument(
        "--zero-at-m", type=float, default=FLOOR_ZERO_AT_M,
        help="floor distance where similarity reaches 0 (default 2: a match is <= 1 m)",
    )
    p.add_argument("--out", type=Path, help="metrics JSON (default RUN/metrics.json)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 user error)."""
    args = build_parser().parse_args(argv)
    try:
        gt_world, gt_mot = _ground_truth(args)
        metrics = evaluate_run(
            args.run,
            gt_world=gt_world,
            gt_mot_pattern=gt_mot,
            cameras=args.cameras,
            min_visibility=args.min_visibility,
            zero_at_m=args.zero_at_m,
            frames=args.frames,
        )
    except ValueError as err:
        print(f"mtmc.eval: error: {err}", file=sys.stderr)
        return USER_ERROR
    out = args.out if args.out is not None else args.run / "metrics.json"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        print(f"mtmc.eval: error: cannot write {out}: {err.strerror}", file=sys.stderr)
        return USER_ERROR
    print(format_table(metrics))
    print(f"metrics written to {out}")
    return 0


def _ground_truth(args: argparse.Namespace) -> tuple[Path | None, str | None]:
    """(world file, MOT pattern) from --gt and/or --gt-world / --gt-mot."""
    gt_world, gt_mot = args.gt_world, args.gt_mot
    if args.gt is not None:
        gt_dir = args.gt / "gt"
        if not gt_dir.is_dir():
            raise ValueError(f"{gt_dir}: not found; --gt takes a scene folder containing gt/")
        if gt_world is None and (gt_dir / "world.txt").is_file():
            gt_world = gt_dir / "world.txt"
        if gt_mot is None and any(p.name != "world.txt" for p in gt_dir.glob("*.txt")):
            gt_mot = str(gt_dir / f"{CAMERA_FIELD}.txt")
        if gt_world is None and gt_mot is None:
            raise ValueError(f"{gt_dir}: no world.txt and no <camera>.txt ground truth")
    if gt_world is None and gt_mot is None:
        raise ValueError("give --gt SCENE, or --gt-world FILE and/or --gt-mot PATTERN")
    return gt_world, gt_mot


if __name__ == "__main__":
    raise SystemExit(main())
