"""HSV colour-histogram ReID baseline on a Market-1501 folder: rank-1 / mAP in percent.

    python scripts/hsv_baseline.py --data data/market [--out runs/hsv_baseline]

Prints every (bins, distance) variant and the one selected on the training split, and writes the
selected variant's scores plus all variants to ``<out>/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from mtmc.reid.baselines import evaluate_hsv_baseline


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="Market-1501 folder")
    ap.add_argument("--out", type=Path, default=Path("runs/hsv_baseline"),
                    help="folder for metrics.json (default: runs/hsv_baseline)")
    args = ap.parse_args(argv)
    try:
        result = evaluate_hsv_baseline(args.data)
    except ValueError as exc:
        print(f"hsv_baseline: error: {exc}", file=sys.stderr)
        return 2
    on = result["selected_on"]
    print(f"{'region':>7} {'bins':>7} {'distance':>14} {'rank-1':>7} {'mAP':>6}"
          f"   (test split; {on} split for selection: rank-1, mAP)")
    for v in result["variants"]:
        bins = "x".join(str(b) for b in v["bins"])
        t, s = v["test"], v["selection"]
        print(f"{v['region']:>7} {bins:>7} {v['distance']:>14} {t['rank1_pct']:7.1f} "
              f"{t['mAP_pct']:6.1f}   ({s['rank1_pct']:.1f}, {s['mAP_pct']:.1f})")
    sel = result["selected"]
    print(f"HSV {sel['region']} {'x'.join(map(str, sel['bins']))} {sel['distance']} (chosen on the "
          f"{result['selected_on']} split): rank-1 {result['rank1_pct']:.1f} %, "
          f"mAP {result['mAP_pct']:.1f} % on {result['num_query']} queries / "
          f"{result['num_gallery']} gallery crops")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
