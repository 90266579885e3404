"""Render a run's bird's-eye MP4: global ids on the floor plan, optionally beside the cameras.

    python scripts/render_bev.py --run runs/demo [--cams data/demo/cams.yaml] [--out bev.mp4]
                                 [--with-cameras] [--gt] [--start 10 --end 40]

One output frame per rtls.jsonl time step. The floor plan is the scene's floor.png when
floor.png/floor.json sit next to the cams.yaml, else a metre grid over the cameras' views.
--cams defaults to the cams.yaml recorded in the run's summary.json.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mtmc.viz.bev import BevStyle, render_bev


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, type=Path, help="run folder (rtls.jsonl, mot/)")
    ap.add_argument("--cams", type=Path, help="the run's cams.yaml (default: from summary.json)")
    ap.add_argument("--out", type=Path, help="output MP4 (default: RUN/bev.mp4)")
    ap.add_argument("--with-cameras", action="store_true",
                    help="tile the camera frames with boxes and global ids beside the map")
    ap.add_argument("--gt", action="store_true", help="draw ground truth (eval.world) as rings")
    ap.add_argument("--start", type=float, help="first time step to render, seconds")
    ap.add_argument("--end", type=float, help="last time step to render, seconds")
    ap.add_argument("--fps", type=float, help="output frame rate (default: the run's)")
    ap.add_argument("--height", type=int, default=720, help="output height in pixels (720)")
    ap.add_argument("--trail", type=int, default=30, help="trail length in time steps (30)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        result = render_bev(
            args.run,
            args.out,
            cams=args.cams,
            with_cameras=args.with_cameras,
            gt=args.gt,
            start_s=args.start,
            end_s=args.end,
            fps=args.fps,
            style=BevStyle(height_px=args.height, trail_steps=args.trail),
            progress=not args.no_progress,
        )
    except ValueError as exc:
        print(f"render_bev: error: {exc}", file=sys.stderr)
        return 2
    w, h = result.size_wh
    print(f"wrote {result.path} ({result.frames} frames, {w}x{h}, {result.fps:g} fps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
