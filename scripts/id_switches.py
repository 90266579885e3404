"""List and explain a run's ID switches and fragmentations on the floor plane.

    python scripts/id_switches.py --run runs/demo --gt data/demo/gt [--out runs/demo/id_switches]
    python scripts/id_switches.py --run runs/base --compare runs/finetuned --gt data/demo/gt

Uses the floor evaluation's own matching, so the switch count equals its IDSW. Writes
REPORT/report.md (tables, likely causes and their rules, counts per camera and hand-over),
switches.csv, a timeline PNG and image strips of the worst switches (from the scene's videos).
With --compare: a before (--run) / after (--compare) report with both counts and timelines.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mtmc.analysis import SwitchRules, analyse_run, write_compare_report, write_report


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, type=Path, help="run folder (rtls.jsonl)")
    ap.add_argument("--gt", required=True, type=Path, help="the scene's gt folder (world.txt)")
    ap.add_argument("--compare", type=Path, help="a second run: before (--run) / after report")
    ap.add_argument("--out", type=Path, help="report folder (default: RUN/id_switches, or "
                    "RUN/id_switches_vs_<RUN2 name> with --compare)")
    ap.add_argument("--scene-json", type=Path, help="scene.json with look-alike groups "
                    "(default: next to the gt folder)")
    ap.add_argument("--labels", nargs=2, default=("before", "after"), metavar=("A", "B"),
                    help="names of --run and --compare in the comparison (before after)")
    ap.add_argument("--top", type=int, default=4, help="image strips of this many switches (4)")
    ap.add_argument("--no-strips", action="store_true", help="do not read videos for strips")
    ap.add_argument("--crossing-m", type=float, default=SwitchRules.crossing_m,
                    help="another person this close makes a crossing (1.0 m)")
    args = ap.parse_args(argv)
    try:
        rules = SwitchRules(crossing_m=args.crossing_m)
        first = analyse_run(args.run, args.gt, rules=rules, scene_json=args.scene_json)
        if args.compare is None:
            out = args.out or args.run / "id_switches"
            write_report(first, out, run_dir=args.run, gt_dir=args.gt,
                         strips=not args.no_strips, top_k=args.top)
            print(f"{first.num_switches} ID switches, {first.num_fragments} fragmentations "
                  f"-> {out / 'report.md'}")
            return 0
        second = analyse_run(args.compare, args.gt, rules=rules, scene_json=args.scene_json)
        out = args.out or args.run / f"id_switches_vs_{args.compare.name}"
        write_compare_report(first, second, out, labels=tuple(args.labels),
                             run_dirs=(args.run, args.compare), gt_dir=args.gt,
                             strips=not args.no_strips, top_k=args.top)
    except ValueError as exc:
        print(f"id_switches: error: {exc}", file=sys.stderr)
        return 2
    a, b = args.labels
    print(f"ID switches {a} {first.num_switches} -> {b} {second.num_switches}; fragmentations "
          f"{first.num_fragments} -> {second.num_fragments} -> {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
