"""Benchmark the global association stage on synthetic tracklets: 10 -> 200 cameras x ~20 people each.

Cameras tile a long hall (each 10 m x 10 m view overlaps its neighbours by half, so most floor points
are seen by two cameras); people walk through it; each camera reports the people in its view with
its own local track ids and noisy floor points, and a 256-d embedding every 5th frame. The script
times ``GlobalAssociator.update`` and ``objects`` (the step's report) per step, after a warm-up,
and in the same run a dense ungated Hungarian over all observations x all global tracks, as a
naive system would solve each step.

    .venv/bin/python scripts/bench_association.py --cameras 10 25 50 100 200 --out bench.json --plot bench.png

Run it pinned to one core for the "one core" figure: ``taskset -c 0 ... `` (numpy threads: set
``OMP_NUM_THREADS=1``).

``--against REV`` also times the association of another git revision (its
``mtmc/associate/online.py``, with this checkout's other modules) on the same steps, each step given
to both in turn, and reports the median of the per-step time ratios: on a shared machine whose
speed drifts from minute to minute, that compares two versions far better than two separate runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np
from scipy.optimize import linear_sum_assignment

from mtmc.associate import FLOOR_PRECISION, GlobalAssociator, cosine_distance, floor_distance
from mtmc.config import AssociationConfig
from mtmc.types import CAMERA_ID, EMBEDDING, FLOOR_XY, Detections

VIEW_M = 10.0  # each camera sees a VIEW_M x VIEW_M square
STRIDE_M = VIEW_M / 2  # neighbouring views overlap by half
PEOPLE_PER_CAMERA = 20
EMBED_EVERY = 5
DIM = 256
FPS = 10.0


class Hall:
    """People walking up and down a hall covered by ``n_cameras`` overlapping views."""

    def __init__(self, n_cameras: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.length_m = STRIDE_M * (n_cameras + 1)
        self.x0 = np.arange(n_cameras) * STRIDE_M  # view i covers [x0, x0 + VIEW_M] x [0, VIEW_M]
        # Each camera sees two half-views' worth of people: n_people * VIEW / length = per camera.
        n_people = int(round(PEOPLE_PER_CAMERA * self.length_m / VIEW_M))
        self.xy = np.column_stack([self.rng.uniform(0, self.length_m, n_people),
                                   self.rng.uniform(0, VIEW_M, n_people)])
        self.v = self.rng.normal(0, 1.0, (n_people, 2)) * [1.0, 0.2]
        self.look = self.rng.normal(size=(n_people, DIM)).astype(np.float32)
        self.look /= np.linalg.norm(self.look, axis=1, keepdims=True)
        self.local_ids: dict[tuple[int, int], int] = {}
        self.next_local = np.zeros(n_cameras, dtype=np.int64)

    def step(self, k: int) -> Detections:
        self.xy += self.v / FPS
        for axis, top in ((0, self.length_m), (1, VIEW_M)):  # bounce off the walls
            out = (self.xy[:, axis] < 0) | (self.xy[:, axis] > top)
            self.v[out, axis] *= -1
            self.xy[:, axis] = np.clip(self.xy[:, axis], 0, top)
        cams, pids = [], []
        for c, x0 in enumerate(self.x0):
            inside = np.flatnonzero((self.xy[:, 0] >= x0) & (self.xy[:, 0] < x0 + VIEW_M))
            cams.append(np.full(inside.size, c))
            pids.append(inside)
        cam = np.concatenate(cams)
        pid = np.concatenate(pids)
        seen = set(zip(cam.tolist(), pid.tolist(), strict=True))
        for key in [key for key in self.local_ids if key not in seen]:
            del self.local_ids[key]  # left the view: a new local id next time
        local = np.empty(cam.size, dtype=np.int64)
        for i, key in enumerate(zip(cam.tolist(), pid.tolist(), strict=True)):
            if key not in self.local_ids:
                self.next_local[key[0]] += 1
                self.local_ids[key] = int(self.next_local[key[0]])
            local[i] = self.local_ids[key]
        emb = np.full((cam.size, DIM), np.nan, dtype=np.float32)
        due = (local + k) % EMBED_EVERY == 0
        noisy = self.look[pid[due]] + self.rng.normal(0, 0.3, (due.sum(), DIM)).astype(np.float32) / np.sqrt(DIM)
        emb[due] = noisy
        return Detections(
            xyxy=np.tile([0, 0, 20, 60], (cam.size, 1)),
            track_id=local,
            data={CAMERA_ID: np.array([f"c{c}" for c in cam]), FLOOR_XY: self.xy[pid] + self.rng.normal(0, 0.1, (pid.size, 2)),
                  FLOOR_PRECISION: np.tile([100.0, 0.0, 100.0], (cam.size, 1)),  # 0.1 m each way
                  EMBEDDING: emb},
        )


def dense_ungated_ms(assoc: GlobalAssociator, dets: Detections) -> float:
    """Time one naive step: every observation against every global track, no gates."""
    tracks = list(assoc.globals.values())
    if not tracks or not len(dets):
        return 0.0
    start = time.perf_counter()
    emb = dets.data[EMBEDDING]
    appearance = np.array([g.appearance if g.appearance is not None else np.zeros(DIM, np.float32) for g in tracks])
    app = cosine_distance(np.nan_to_num(emb), appearance)
    cost = 0.5 * app + 0.5 * floor_distance(dets.data[FLOOR_XY], np.array([(g.x_m, g.y_m) for g in tracks])) / 2.0
    linear_sum_assignment(cost)
    return (time.perf_counter() - start) * 1000


def load_revision(rev: str) -> ModuleType:
    """``mtmc/associate/online.py`` of git revision ``rev``, imported as a module of its own."""
    root = Path(__file__).resolve().parents[1]
    try:
        source = subprocess.run(["git", "show", f"{rev}:mtmc/associate/online.py"], cwd=root,
                                capture_output=True, text=True, check=True).stdout
    except subprocess.CalledProcessError as err:
        raise SystemExit(f"--against {rev}: git cannot show mtmc/associate/online.py there "
                         f"({err.stderr.strip()}); name a commit of this repository") from None
    module = ModuleType("online_against")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, f"{rev}:mtmc/associate/online.py", "exec"), module.__dict__)
    return module


def timed_step(assoc, dets: Detections, t: float) -> float:
    """Milliseconds of one step: ``update`` and the step's report (``objects``, as the pipeline
    asks for it to write rtls.jsonl)."""
    start = time.perf_counter()
    assoc.update(dets, t)
    assoc.objects()
    return (time.perf_counter() - start) * 1000


def bench(n_cameras: int, steps: int, warmup: int, seed: int, against: ModuleType | None = None) -> dict:
    hall = Hall(n_cameras, seed)
    assoc = GlobalAssociator(AssociationConfig())
    other = against.GlobalAssociator(AssociationConfig()) if against is not None else None
    ours, theirs, dense, observations = [], [], [], []
    for k in range(warmup + steps):
        dets = hall.step(k)
        t = k / FPS
        if other is None:
            elapsed = timed_step(assoc, dets, t)
        elif k % 2:  # alternate which goes first
            elapsed, elapsed_other = timed_step(assoc, dets, t), timed_step(other, dets, t)
        else:
            elapsed_other, elapsed = timed_step(other, dets, t), timed_step(assoc, dets, t)
        if k >= warmup:
            ours.append(elapsed)
            if other is not None:
                theirs.append(elapsed_other)
            observations.append(len(dets))
            dense.append(dense_ungated_ms(assoc, dets))
    result = {
        "cameras": n_cameras,
        "observations_per_step": float(np.mean(observations)),
        "global_tracks": len(assoc.globals),
        "ms_per_step_median": float(np.median(ours)),
        "ms_per_step_p95": float(np.percentile(ours, 95)),
        "dense_ungated_ms_median": float(np.median(dense)),
    }
    if other is not None:
        result["against_ms_per_step_median"] = float(np.median(theirs))
        result["ratio_to_against_median"] = float(np.median(np.array(ours) / np.array(theirs)))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--against", metavar="REV",
                        help="also time the association of this git revision, step by step in turn")
    args = parser.parse_args()
    against = load_revision(args.against) if args.against else None
    rows = []
    extra = f" {'against ms':>10} {'ratio':>6}" if against else ""
    print(f"{'cameras':>8} {'obs/step':>9} {'globals':>8} {'ours ms':>8} {'p95 ms':>8} {'dense ms':>9}{extra}")
    for n in args.cameras:
        r = bench(n, args.steps, args.warmup, args.seed, against)
        rows.append(r)
        extra = (f" {r['against_ms_per_step_median']:>10.1f} {r['ratio_to_against_median']:>6.2f}"
                 if against else "")
        print(f"{n:>8} {r['observations_per_step']:>9.0f} {r['global_tracks']:>8} "
              f"{r['ms_per_step_median']:>8.1f} {r['ms_per_step_p95']:>8.1f} "
              f"{r['dense_ungated_ms_median']:>9.1f}{extra}")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        cams = [r["cameras"] for r in rows]
        ax.plot(cams, [r["ms_per_step_median"] for r in rows], "o-", label="mtmc (gated, per component)")
        ax.plot(cams, [r["dense_ungated_ms_median"] for r in rows], "s--", label="dense ungated Hungarian")
        ax.axhline(20, color="grey", lw=0.8, ls=":", label="target at 100 cameras")
        ax.set_xlabel(f"cameras (~{PEOPLE_PER_CAMERA} people each)")
        ax.set_ylabel("ms per step (median)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)


if __name__ == "__main__":
    main()
