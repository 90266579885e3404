"""``python -m mtmc.reid.population``: a generic synthetic ReID dataset for the base model.

The base model must know people in general, not one site's staff. This command simulates several
scenes (both presets, alternating; 4-6 cameras; different seeds, hence different people, layouts,
lighting and camera placements), turns each into Market-1501 crops with :mod:`mtmc.reid.prepare`,
and merges them into one Market folder:

- ``bounding_box_train``: every identity of the training scenes;
- ``query`` / ``bounding_box_test``: the identities of one further scene that no training scene
  shares, so evaluating on this folder measures rank-1 / mAP on *unseen* people.

Identities and cameras are renumbered so that scenes never collide: scene ``k`` maps person ``p``
to ``k * 100 + p`` and camera ``c`` to ``k * 10 + c`` (hence at most 99 people and 9 cameras per
scene). Each step is skipped when its output exists, so an interrupted build resumes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from mtmc.formats.market import SPLIT_DIRS, format_market_name, parse_market_name
from mtmc.reid.merge import link_or_copy

__all__ = ["PopulationParams", "build_population", "merged_name"]

PRESETS = ("warehouse", "retail")
IDS_PER_SCENE = 100
CAMS_PER_SCENE = 10
PLAN_FILE = "population_plan.json"
MAX_SCENES = 99  # scene k's people are k * 100 + p: ids stay below 10000


@dataclass(frozen=True)
class PopulationParams:
    """What to simulate and how to sample crops (recorded in ``population.json``)."""

    train_scenes: int = 8
    people: int = 30
    seconds: float = 30.0
    first_seed: int = 100
    per_id: int = 30
    min_height_px: float = 40.0
    min_visibility: float = 0.6

    def __post_init__(self) -> None:
        if self.train_scenes < 1:
            raise ValueError(f"train_scenes must be >= 1, got {self.train_scenes}")
        if not 1 <= self.people < IDS_PER_SCENE:
            raise ValueError(f"people must be in 1..{IDS_PER_SCENE - 1}, got {self.people}")
        if self.train_scenes + 1 > MAX_SCENES:  # person ids must fit Market's 4 digits
            raise ValueError(f"at most {MAX_SCENES - 1} training scenes, got {self.train_scenes}")

    def scene_args(self, k: int) -> list[str]:
        """Simulator flags of scene ``k`` (the last one, ``k == train_scenes``, is held out)."""
        return ["--config", PRESETS[k % 2], "--seed", str(self.first_seed + k),
                "--cameras", str(4 + k % 3), "--people", str(self.people),
                "--seconds", str(self.seconds)]


def merged_name(name: str, scene: int) -> str:
    """The crop name ``name`` of scene ``scene`` with identity and camera made unique."""
    parsed = parse_market_name(name)
    if parsed.pid >= IDS_PER_SCENE or parsed.camid >= CAMS_PER_SCENE:
        raise ValueError(f"{name}: scene {scene} has person {parsed.pid} or camera {parsed.camid}; "
                         f"at most {IDS_PER_SCENE - 1} people and {CAMS_PER_SCENE - 1} cameras")
    pid = parsed.pid if parsed.pid <= 0 else scene * IDS_PER_SCENE + parsed.pid
    return format_market_name(pid, scene * CAMS_PER_SCENE + parsed.camid, parsed.frame,
                              seq=parsed.seq, n=parsed.n)


def build_population(out: Path, params: PopulationParams, *, progress: bool = True) -> dict:
    """Simulate, crop and merge (see the module doc); returns what ``population.json`` holds."""
    from mtmc.reid.prepare import PrepareParams, prepare_market
    from mtmc.synth.__main__ import main as synth_main

    started = time.perf_counter()
    merged = out / "market"
    scenes = []
    for k in range(params.train_scenes + 1):
        held_out = k == params.train_scenes
        scene_dir = out / "scenes" / f"s{k:02d}"
        prep = PrepareParams(per_id=params.per_id, min_height_px=params.min_height_px,
                             min_visibility=params.min_visibility,
                             test_ids=params.people if held_out else 0, seed=k)
        plan = {"synth": params.scene_args(k), "prepare": asdict(prep)}
        _check_plan(scene_dir, plan)
        if not (scene_dir / "scene.json").exists():
            print(f"[{k + 1}/{params.train_scenes + 1}] simulating {scene_dir}", file=sys.stderr)
            argv = [*params.scene_args(k), "--out", str(scene_dir)]
            if synth_main(argv + ([] if progress else ["--quiet"])):
                raise RuntimeError(f"simulation of {scene_dir} failed")
        market = scene_dir / "market"
        if not (market / "prepare.json").exists():
            prepare_market(scene_dir / "labels" / "kitti", scene_dir / "videos", market, prep,
                           progress=progress)
        (scene_dir / PLAN_FILE).write_text(json.dumps(plan, indent=2) + "\n")
        scenes.append({"dir": str(scene_dir), "args": params.scene_args(k), "held_out": held_out})
    if merged.exists():
        shutil.rmtree(merged)
    counts = dict.fromkeys(SPLIT_DIRS, 0)
    for k, scene in enumerate(scenes):
        for split, folder in SPLIT_DIRS.items():
            target = merged / folder
            target.mkdir(parents=True, exist_ok=True)
            for crop in sorted((Path(scene["dir"]) / "market" / folder).glob("*.jpg")):
                link_or_copy(crop, target / merged_name(crop.name, k))
                counts[split] += 1
    summary = {"params": asdict(params), "scenes": scenes, "crops": counts,
               "seconds": round(time.perf_counter() - started, 1)}
    (out / "population.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _check_plan(scene_dir: Path, plan: dict) -> None:
    """Refuse to resume from a scene built with other parameters (its crops would be stale)."""
    recorded = scene_dir / PLAN_FILE
    if scene_dir.exists() and not recorded.exists() and any(scene_dir.iterdir()):
        raise ValueError(f"{scene_dir}: a folder without {PLAN_FILE} (not built by this command or "
                         "interrupted before its first save); remove it and run again")
    if recorded.exists() and json.loads(recorded.read_text()) != json.loads(json.dumps(plan)):
        raise ValueError(f"{scene_dir}: was built with other parameters ({recorded}); use another "
                         "--out folder or remove it")


def main(argv: Sequence[str] | None = None) -> int:
    defaults = PopulationParams()
    ap = argparse.ArgumentParser(prog="python -m mtmc.reid.population",
                                 description=__doc__.splitlines()[0].split(": ", 1)[1])
    ap.add_argument("--out", type=Path, required=True, help="folder to write (resumes if present)")
    ap.add_argument("--scenes", type=int, default=defaults.train_scenes,
                    help="training scenes (one more is simulated for query/gallery)")
    ap.add_argument("--people", type=int, default=defaults.people, help="people per scene")
    ap.add_argument("--seconds", type=float, default=defaults.seconds, help="scene duration")
    ap.add_argument("--first-seed", type=int, default=defaults.first_seed,
                    help="seed of the first scene; scene k uses first_seed + k")
    ap.add_argument("--per-id", type=int, default=defaults.per_id, help="crops per identity")
    ap.add_argument("--min-height", type=float, default=defaults.min_height_px,
                    help="smallest crop height, px")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    try:
        params = PopulationParams(train_scenes=args.scenes, people=args.people,
                                  seconds=args.seconds, first_seed=args.first_seed,
                                  per_id=args.per_id, min_height_px=args.min_height)
        summary = build_population(args.out, params, progress=not args.quiet)
    except (ValueError, RuntimeError) as exc:
        print(f"mtmc.reid.population: error: {exc}", file=sys.stderr)
        return 2
    c = summary["crops"]
    print(f"{args.out / 'market'}: train {c['train']} crops, query {c['query']}, "
          f"gallery {c['gallery']} ({summary['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
