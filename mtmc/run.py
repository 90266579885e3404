"""``python -m mtmc.run --cams cams.yaml``: the multi-camera tracking pipeline.

Per step of the common clock: decode every camera's frame -> detect (one batch over cameras) ->
track per camera -> map feet to the floor -> embed the selected crops (one batch over cameras) ->
associate globally -> write ``rtls.jsonl``, ``mot/<cam>.txt``, ``aic.txt``. At the end (also after
Ctrl-C or SIGTERM) ``summary.json`` gets the config echo without secrets, per-stage times, counts and
the metrics when ground truth is given.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from mtmc.associate import GlobalAssociator
from mtmc.config import CamsConfig, ConfigError, EvalConfig, load_cams, to_public
from mtmc.floor import FloorMapper
from mtmc.sinks import RunWriter
from mtmc.sources import MultiCameraSource, SourceError
from mtmc.types import CAMERA_ID, EMBEDDING, Detections

__all__ = ["Pipeline", "main", "run"]

log = logging.getLogger("mtmc.run")

STAGES = ("decode", "detect", "track", "embed", "associate", "write")


class UserError(RuntimeError):
    """A problem with the user's inputs: reported as one line, exit code 2."""


class StageTimer:
    """Accumulates wall time per stage."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start


def load_calibrations(config: CamsConfig) -> dict[str, Any]:
    """Read each camera's calibration and check it can map the image to the floor."""
    from calib.io import load_calibration

    cameras = {}
    for i, cam in enumerate(config.cameras):
        where = f"cameras[{i}].calibration"
        try:
            model = load_calibration(cam.calibration, sensor=cam.id)
        except (ValueError, KeyError, OSError) as exc:
            raise UserError(f"{where}: {exc}") from None
        if model.fov_polygon().is_empty:
            raise UserError(
                f"{where}: {cam.calibration}: camera {cam.id!r} sees no floor "
                "(is it looking above the horizon?); check the calibration with python -m calib check"
            )
        cameras[cam.id] = model
    return cameras


class Pipeline:
    """All stages of one run; ``step`` processes one tick of the clock."""

    def __init__(self, config: CamsConfig) -> None:
        from mtmc.detect import build_detector
        from mtmc.track import CameraTracker

        self.config = config
        self.calibrations = load_calibrations(config)
        self.detector = build_detector(config.detector, config.cameras, self.calibrations)
        self.trackers: dict[str, Any] = {}
        self._tracker_cls = CameraTracker
        self.floor = {
            cam.id: FloorMapper(self.calibrations[cam.id], cam.roi_floor_m) for cam in config.cameras
        }
        self.embedder = None
        self.policy = None
        if config.reid.model is not None:
            from mtmc.embed import EmbeddingPolicy, OnnxEmbedder

            self.embedder = OnnxEmbedder(config.reid)
            self.policy = EmbeddingPolicy(config.reid)
        if self.embedder is None:
            matching = "motion only (no reid.model)"
        elif not config.tracker.appearance:
            matching = "motion only (tracker.appearance: false)"
        else:
            matching = "motion and appearance (the tracker YAML's appearance_gate; tracker.appearance)"
        log.info("single-camera trackers: %s", matching)
        self.associator = GlobalAssociator(config.association)
        self.timer = StageTimer()
        self.counts = {"steps": 0, "frames": 0, "detections": 0, "embeddings": 0}

    def _tracker(self, camera_id: str, fps: float) -> Any:
        if camera_id not in self.trackers:
            self.trackers[camera_id] = self._tracker_cls(self.config.tracker, camera_id, fps)
        return self.trackers[camera_id]

    def step(self, frames: dict[str, Any], t_s: float, fps: float) -> Detections:
        """Process one tick: ``frames`` maps camera id -> :class:`mtmc.sources.Frame`."""
        ids = list(frames)
        images = [frames[c].image_bgr for c in ids]
        metas = [{CAMERA_ID: c, "frame": frames[c].frame, "t_s": frames[c].t_s} for c in ids]
        with self.timer("detect"):
            detected = self.detector.detect(images, metas) if ids else []
        with self.timer("embed"):
            self._embed_for_trackers(ids, detected, images, fps)
        parts = []
        with self.timer("track"):
            for cam_id, dets, image in zip(ids, detected, images, strict=True):
                tracked = self._tracker(cam_id, fps).update(dets, image)
                tracked = self.floor[cam_id].update(tracked)
                tracked.meta.update({CAMERA_ID: cam_id, "frame": frames[cam_id].frame})
                parts.append(tracked)
                self.counts["detections"] += len(dets)
        all_dets = _concatenate(parts)
        with self.timer("embed"):
            self._embed(all_dets, frames)
        with self.timer("associate"):
            out = self.associator.update(all_dets, t_s)
        self.counts["frames"] += len(ids)
        return out

    def _embed_for_trackers(
        self, ids: list[str], detected: list[Detections], images: list[np.ndarray], fps: float
    ) -> None:
        """Give each camera's detections an ``EMBEDDING`` column when its tracker gates matches
        by appearance: the confident rows (those the tracker matches first) are embedded, in one
        batch for all cameras; the other rows are NaN."""
        if self.embedder is None:
            return
        trackers = [self._tracker(cam, fps) for cam in ids]
        gated = [i for i, tracker in enumerate(trackers) if tracker.appearance_gate is not None]
        if not gated:
            return
        picks = [detected[i].confidence >= trackers[i].args.track_high_thresh for i in gated]
        chosen = [detected[i][pick] for i, pick in zip(gated, picks, strict=True)]
        if sum(len(part) for part in chosen):
            vectors = self.embedder.embed(dict(zip(ids, images, strict=True)), _concatenate(chosen))
        else:
            vectors = np.zeros((0, self.embedder.dim), np.float32)
        self.counts["embeddings"] += len(vectors)
        start = 0
        for i, pick in zip(gated, picks, strict=True):
            column = np.full((len(pick), vectors.shape[1]), np.nan, dtype=np.float32)
            column[pick] = vectors[start : start + int(pick.sum())]
            start += int(pick.sum())
            detected[i].data[EMBEDDING] = column

    def _embed(self, dets: Detections, frames: dict[str, Any]) -> None:
        """Embed the rows the policy picks for the associator (reusing this step's embeddings
        made for the trackers); the other rows' ``EMBEDDING`` is NaN, or the column is absent."""
        n = len(dets)
        if self.embedder is None or n == 0:
            return
        sizes = {c: (f.image_bgr.shape[1], f.image_bgr.shape[0]) for c, f in frames.items()}
        frame_no = max(f.frame for f in frames.values())
        known = dets.data.pop(EMBEDDING, None)
        have = None if known is None else np.isfinite(known).all(axis=1)
        mask = self.policy.select(dets, frame_no, sizes, embedded=have)
        if not mask.any():
            return
        column = np.full((n, self.embedder.dim), np.nan, dtype=np.float32)
        need = mask.copy()
        if have is not None:  # the trackers' embeddings, reused
            have &= mask
            column[have] = known[have]
            need &= ~have
        if need.any():
            column[need] = self.embedder.embed({c: f.image_bgr for c, f in frames.items()}, dets[need])
            self.counts["embeddings"] += int(need.sum())
        dets.data[EMBEDDING] = column


def _concatenate(parts: list[Detections]) -> Detections:
    """Stack cameras; cameras without rows still contribute their (empty) columns."""
    if not parts:
        out = Detections.empty()
        out.data[CAMERA_ID] = np.zeros(0, dtype=str)
        return out
    merged = Detections.concatenate(parts)
    if CAMERA_ID in merged.meta:  # a single camera: make the column explicit anyway
        merged.data[CAMERA_ID] = np.full(len(merged), merged.meta.pop(CAMERA_ID))
    return merged


def run(
    config: CamsConfig,
    out_dir: Path,
    *,
    max_frames: int | None = None,
    progress: bool = True,
    cams_yaml: Path | None = None,
) -> dict[str, Any]:
    """Run the pipeline; returns the summary (also written to ``out_dir/summary.json``).

    ``cams_yaml`` (the file the config came from) is recorded so that the rendering and analysis
    scripts can find the cameras, calibrations and ground truth from the run folder alone.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"config": to_public(config), "status": "running"}
    if cams_yaml is not None:
        summary["cams_yaml"] = str(cams_yaml.resolve())
    started = time.perf_counter()
    pipeline = Pipeline(config)
    # SIGTERM and Ctrl-C end the run once the step in progress is written, so outputs and counts
    # agree (an exception raised in the handler could land between writing a step and counting
    # it). A second Ctrl-C raises KeyboardInterrupt at once (a source may block on a dead stream).
    stop = {"requested": False}

    def request_stop(signum: int, _frame: Any) -> None:
        if signum == signal.SIGINT and stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"] = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    people = 0
    try:
        with MultiCameraSource.from_config(config) as source, RunWriter(
            out_dir, [c.id for c in config.cameras], config.output.flush_interval_s
        ) as writer:
            bar = tqdm(desc="tracking", unit="step", disable=not progress, dynamic_ncols=True)
            iterator = iter(source)
            while (max_frames is None or pipeline.counts["steps"] < max_frames) and not stop["requested"]:
                with pipeline.timer("decode"):
                    step = next(iterator, None)
                if step is None:
                    break
                out = pipeline.step(step.frames, step.t_s, source.fps)
                with pipeline.timer("write"):
                    objects = pipeline.associator.objects()
                    writer.write_step(step.frame, step.t_s, objects, out)
                pipeline.counts["steps"] += 1  # counted once written
                people = len(objects)
                bar.update(1)
                if progress and pipeline.counts["steps"] % 10 == 0:
                    elapsed = max(time.perf_counter() - started, 1e-9)
                    bar.set_postfix(cam_fps=f"{pipeline.counts['frames'] / elapsed:.1f}", people=people)
            bar.close()
        summary["status"] = "interrupted" if stop["requested"] else "complete"
    except KeyboardInterrupt:
        summary["status"] = "interrupted"
    finally:
        if summary["status"] == "interrupted":
            log.warning("interrupted: outputs are complete up to the last step")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        summary.update(_profile(pipeline, time.perf_counter() - started))
        _write_json(out_dir / "summary.json", summary)
    if config.eval is not None and summary["status"] == "complete":
        summary["metrics"] = evaluate(out_dir, config)
        _write_json(out_dir / "summary.json", summary)
    return summary


def _profile(pipeline: Pipeline, total_s: float) -> dict[str, Any]:
    stage_s = {k: round(v, 3) for k, v in pipeline.timer.seconds.items()}
    compute_s = pipeline.timer.seconds["detect"] + pipeline.timer.seconds["embed"]
    frames = pipeline.counts["frames"]
    return {
        "counts": dict(pipeline.counts),
        "time_s": {"total": round(total_s, 3), **stage_s},
        "throughput": {
            "camera_frames_per_s": round(frames / total_s, 2) if total_s > 0 else None,
            "steps_per_s": round(pipeline.counts["steps"] / total_s, 2) if total_s > 0 else None,
        },
        # End-to-end time over detector + embedder compute: how much the orchestration costs.
        "overhead_ratio": round(total_s / compute_s, 3) if compute_s > 0 else None,
    }


def evaluate(out_dir: Path, config: CamsConfig) -> dict[str, Any]:
    """Metrics of a finished run against the ground truth named in ``config.eval``."""
    from mtmc.eval import evaluate_run

    assert config.eval is not None
    try:
        return evaluate_run(
            out_dir,
            gt_world=config.eval.world,
            gt_mot_pattern=config.eval.mot,
            cameras=[c.id for c in config.cameras],
        )
    except ValueError as exc:
        log.error("evaluation skipped: %s", exc)
        return {"error": str(exc)}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_json_default) + "\n", encoding="utf-8")
    tmp.replace(path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _setup_logging(out_dir: Path, level: str) -> None:
    root = logging.getLogger("mtmc")
    root.setLevel(logging.DEBUG)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    file_handler = logging.FileHandler(out_dir / "run.log", mode="w", encoding="utf-8")
    file_handler.setFormatter(fmt)
    file_handler.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    console.setLevel(level.upper())
    root.addHandler(file_handler)
    root.addHandler(console)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtmc.run", description=__doc__.splitlines()[0])
    parser.add_argument("--cams", required=True, type=Path, help="cams.yaml describing the run")
    parser.add_argument("--out", type=Path, help="output folder (default: output.dir or runs/<name>)")
    parser.add_argument("--gt", type=Path, help="scene folder with gt/world.txt and gt/<cam>.txt")
    parser.add_argument("--max-frames", type=int, help="stop after this many time steps")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--log-level", default="warning", help="console log level (file gets all)")
    args = parser.parse_args(argv)
    try:
        config = load_cams(args.cams)
        if args.gt is not None:
            config = replace(config, eval=_eval_from_scene(args.gt))
        out_dir = args.out or config.output.dir or Path("runs") / config.name
        out_dir.mkdir(parents=True, exist_ok=True)
        _setup_logging(out_dir, args.log_level)
        summary = run(
            config,
            out_dir,
            max_frames=args.max_frames,
            progress=not args.no_progress,
            cams_yaml=args.cams,
        )
    except (ConfigError, SourceError, UserError) as exc:
        print(f"mtmc.run: error: {exc}", file=sys.stderr)
        return 2
    print(f"outputs: {out_dir}/ (rtls.jsonl, mot/, aic.txt, summary.json, run.log)")
    if any(space in summary.get("metrics", {}) for space in ("floor", "image")):
        from mtmc.eval import format_table

        print(format_table(summary["metrics"]))
    return 0 if summary["status"] == "complete" else 130


def _eval_from_scene(scene: Path) -> EvalConfig:
    world = scene / "gt" / "world.txt"
    if not world.exists():
        raise UserError(f"--gt {scene}: no gt/world.txt there (expected a simulator scene folder)")
    return EvalConfig(world=world, mot=str(scene / "gt" / "{camera}.txt"))


if __name__ == "__main__":
    sys.exit(main())
