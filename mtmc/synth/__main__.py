"""``python -m mtmc.synth``: generate a synthetic multi-camera scene folder.

Example::

    python -m mtmc.synth --out data/demo --seed 0
    python -m mtmc.synth --config configs/synth/retail.yaml --out /tmp/shop --cameras 6 --people 20
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mtmc.configtools import ConfigError

DEFAULT_PRESET = "warehouse"


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT such as 960x540, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mtmc.synth",
        description="Simulate a multi-camera scene (warehouse or shop): videos, calibration, "
        "ground truth, "
        "KITTI labels, floor map and a cams.yaml ready for python -m mtmc.run.",
    )
    p.add_argument(
        "--config",
        default=DEFAULT_PRESET,
        help="preset name (warehouse, retail) or YAML file; default: warehouse",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--seed", type=int, help="scene seed (default: the preset's)")
    p.add_argument("--cameras", type=int, help="number of cameras")
    p.add_argument("--people", type=int, help="number of distinct people")
    p.add_argument("--seconds", type=float, help="duration in seconds")
    p.add_argument("--fps", type=float, help="frames per second")
    p.add_argument("--size", type=_size, help="video size WIDTHxHEIGHT, e.g. 960x540")
    p.add_argument(
        "--lookalike-share", type=float, help="share of people in look-alike groups (0-1)"
    )
    p.add_argument(
        "--workers",
        type=int,
        help="render processes (default: one per CPU core, at most one per camera)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from mtmc.synth.config import load_preset, with_overrides
    from mtmc.synth.generate import generate

    try:
        cfg = load_preset(args.config)
        cfg = with_overrides(
            cfg,
            seed=args.seed,
            cameras=args.cameras,
            people=args.people,
            seconds=args.seconds,
            fps=args.fps,
            size_wh=args.size,
            lookalike_share=args.lookalike_share,
        )
    except ConfigError as exc:
        print(f"mtmc.synth: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # an override out of range (FieldError)
        field = getattr(exc, "field", None)
        print(
            f"mtmc.synth: {'--' + field.replace('_', '-') + ': ' if field else ''}{exc}",
            file=sys.stderr,
        )
        return 2
    if args.workers is not None and args.workers < 1:
        print("mtmc.synth: --workers must be >= 1", file=sys.stderr)
        return 2
    try:
        summary = generate(cfg, args.out, workers=args.workers, progress=not args.quiet)
    except ValueError as exc:
        print(f"mtmc.synth: {exc}", file=sys.stderr)
        return 2
    cov = summary["coverage"]
    print(
        f"wrote {args.out} ({len(summary['cameras'])} cameras, {len(summary['people'])} people, "
        f"{summary['n_frames']} frames) in {summary['generation_time_s']:.1f} s; "
        "floor seen by >=1/2/3 cameras: "
        f"{cov['ge1']:.0%} / {cov['ge2']:.0%} / {cov['ge3']:.0%}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
