"""Evaluate a pipeline run folder against a scene's ground truth.

A run folder (``python -m mtmc.run``) holds ``rtls.jsonl`` (floor positions per time step) and
``mot/<camera>.txt`` (per-camera boxes with global ids). Ground truth is ``gt/world.txt`` (floor)
and ``gt/<camera>.txt`` (MOTChallenge boxes).

Frames evaluated (``frames="run"``, default): the time steps listed in ``rtls.jsonl``, i.e. the
frames the run processed. A run stopped early or run on part of a video is then scored on what it
saw; ground-truth rows outside those frames are counted in ``gt_rows_dropped``. With
``frames="all"`` every frame from 1 to the last one in the ground truth or the run is evaluated
(frames the run did not process count as misses).

Example::

    m = evaluate_run("runs/demo", gt_world="data/demo/gt/world.txt",
                     gt_mot_pattern="data/demo/gt/{camera}.txt")
    m["floor"]["HOTA"], m["image"]["IDF1"], m["image"]["per_camera"]["cam1"]["MOTA"]
    print(format_table(m))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from mtmc.eval.io import RtlsLog, read_rtls, read_world_gt
from mtmc.eval.metrics import HEADLINE_KEYS, evaluate_floor, evaluate_image
from mtmc.eval.sequence import FLOOR_ZERO_AT_M
from mtmc.formats.boxes import read_boxes
from mtmc.formats.mot import MotTable, read_mot

__all__ = ["CAMERA_FIELD", "evaluate_run", "format_table"]

CAMERA_FIELD = "{camera}"  # placeholder in ground-truth MOT file patterns


def evaluate_run(
    run_dir: str | Path,
    gt_world: str | Path | None = None,
    gt_mot_pattern: str | None = None,
    cameras: list[str] | None = None,
    *,
    min_visibility: float = 0.0,
    zero_at_m: float = FLOOR_ZERO_AT_M,
    frames: Literal["run", "all"] = "run",
    per_camera: bool = True,
) -> dict[str, Any]:
    """Floor-plane and image-space metrics of a run.

    Args:
        run_dir: the run folder (``rtls.jsonl``, ``mot/<camera>.txt``).
        gt_world: ``gt/world.txt`` for floor metrics; ``None`` skips them.
        gt_mot_pattern: ground-truth MOT file per camera with a ``{camera}`` placeholder, e.g.
            ``"scene/gt/{camera}.txt"``; ``None`` skips image metrics.
        cameras: cameras for image metrics; ``None``: every ``mot/<camera>.txt`` of the run.
        min_visibility: gt boxes less visible than this are ignored (default 0: all evaluated).
        zero_at_m: floor distance where the similarity reaches 0 (2 m: a match at 0.5 is <= 1 m).
        frames: ``"run"`` evaluates the frames listed in ``rtls.jsonl`` (all frames when the run
            has no rtls.jsonl); ``"all"`` every frame (see the module docstring).
        per_camera: add ``image["per_camera"]`` with each camera evaluated alone.

    Returns:
        ``{"floor": {...}, "image": {...}}`` (a section only when its ground truth is given),
        each with ``HOTA DetA AssA LocA IDF1 MOTA`` (percent), ``IDSW`` (count) and the other keys
        of :func:`mtmc.eval.metrics.evaluate_sequence` (``gt_rows_dropped`` /
        ``pred_rows_dropped`` count rows outside the evaluated frames).

    Raises:
        ValueError: no ground truth given, missing files, an empty run (no time steps in
            rtls.jsonl, or no result rows at all), a pattern without ``{camera}``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: run folder not found")
    if gt_world is None and gt_mot_pattern is None:
        raise ValueError("nothing to evaluate: give the world ground truth and/or a MOT pattern")
    if frames not in ("run", "all"):
        raise ValueError(f"frames must be 'run' or 'all', got {frames!r}")
    rtls_path = run_dir / "rtls.jsonl"
    log: RtlsLog | None = read_rtls(rtls_path) if rtls_path.exists() else None
    if log is not None and len(log.frames) == 0:
        raise ValueError(f"{rtls_path}: empty run (no time steps); did the pipeline process frames?")
    eval_frames = log.frames if (frames == "run" and log is not None) else None

    out: dict[str, Any] = {}
    if gt_world is not None:
        if log is None:
            raise ValueError(f"{rtls_path}: not found; floor metrics need the run's RTLS log")
        gt = read_world_gt(gt_world)
        out["floor"] = evaluate_floor(gt, log.tracks, frames=eval_frames, zero_at_m=zero_at_m)
    if gt_mot_pattern is not None:
        gts, preds = _load_mot(run_dir, str(gt_mot_pattern), cameras)
        if log is None and not any(len(p) for p in preds.values()):
            raise ValueError(f"{run_dir / 'mot'}: empty run (no result rows in any camera)")
        out["image"] = evaluate_image(
            gts, preds, frames=eval_frames, min_visibility=min_visibility, per_camera=per_camera
        )
    return out


def format_table(metrics: dict[str, Any]) -> str:
    """A small text table of the headline metrics of :func:`evaluate_run`'s result.

    Example output::

        section        HOTA   DetA   AssA   LocA   IDF1   MOTA  IDSW  frames
        floor          81.20  80.11  82.30  88.02  90.00  85.10     3     600
        image          ...
          cam1         ...
    """
    head = f"{'section':<12}" + "".join(f"{k:>7}" for k in HEADLINE_KEYS[:-1])
    lines = [head + f"{'IDSW':>6}{'frames':>8}"]

    def row(name: str, m: dict[str, Any]) -> str:
        rates = "".join(f"{m[k]:7.2f}" for k in HEADLINE_KEYS[:-1])
        return f"{name:<12}{rates}{m['IDSW']:6d}{m['frames']:8d}"

    for section in ("floor", "image"):
        if section in metrics:
            lines.append(row(section, metrics[section]))
            for cam, m in metrics[section].get("per_camera", {}).items():
                lines.append(row(f"  {cam}", m))
    return "\n".join(lines)


def _load_mot(
    run_dir: Path, pattern: str, cameras: list[str] | None
) -> tuple[dict[str, MotTable], dict[str, MotTable]]:
    mot_dir = run_dir / "mot"
    if cameras is None:
        cameras = sorted(p.stem for p in mot_dir.glob("*.txt"))
        if not cameras:
            raise ValueError(f"{mot_dir}: no <camera>.txt result files; is this a run folder?")
    gts: dict[str, MotTable] = {}
    preds: dict[str, MotTable] = {}
    if CAMERA_FIELD not in pattern and len(cameras) > 1:
        raise ValueError(
            f"ground-truth pattern {pattern!r} has no {CAMERA_FIELD} placeholder but the run has "
            f"{len(cameras)} cameras"
        )
    for cam in cameras:
        gt_path = Path(pattern.replace(CAMERA_FIELD, cam))
        if not gt_path.is_file():
            raise ValueError(f"{gt_path}: ground truth for camera {cam!r} not found")
        pred_path = mot_dir / f"{cam}.txt"
        if not pred_path.is_file():
            raise ValueError(f"{pred_path}: results for camera {cam!r} not found in the run")
        gts[cam] = read_boxes(gt_path)  # MOTChallenge text or CVML XML
        preds[cam] = read_mot(pred_path)
    return gts, preds
