"""Benchmark a detector on real 960x540 frames: median milliseconds per frame through our interface.

Times ``Detector.detect`` (what the pipeline calls: letterbox, network, NMS, conversion to
Detections) on frames of a simulated scene's videos, after a warm-up, one frame per call and, in the
same run, one batch of all cameras' frames per call (as the pipeline sends them).

    .venv/bin/python scripts/bench_detector.py --model models/detector/person.pt --imgsz 640 \\
        --scene data/demo --runs 60 [--threads 2] [--precision bf16] [--out bench_detector.json]

``--model bgsub`` times the weights-free background subtractor on the same frames.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from mtmc.config import DETECTOR_PRECISIONS
from mtmc.synth.output import SHIPPED_DETECTOR_IMAGE_SIZE_PX
from mtmc.viz.streams import VideoFrames


def _frames(scene: Path, per_camera: int) -> dict[str, list[np.ndarray]]:
    """The first ``per_camera`` frames of every camera of a scene."""
    meta = json.loads((scene / "scene.json").read_text(encoding="utf-8"))
    out = {}
    for cam in [c["id"] for c in meta["cameras"]]:
        with VideoFrames(scene / "videos" / f"{cam}.mp4") as video:
            frames = [image for f in range(1, per_camera + 1) if (image := video.read(f)) is not None]
        if not frames:
            raise SystemExit(f"error: {scene}/videos/{cam}.mp4: no frames")
        out[cam] = frames
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="models/detector/person.pt", help="weights file, or bgsub")
    parser.add_argument("--imgsz", type=int, default=SHIPPED_DETECTOR_IMAGE_SIZE_PX, help="YOLO inference size, px")
    parser.add_argument("--scene", type=Path, default=Path("data/demo"), help="simulated scene folder")
    parser.add_argument("--runs", type=int, default=60, help="timed calls per mode")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--precision", choices=DETECTOR_PRECISIONS, default="auto",
                        help="YOLO .pt arithmetic (detector.precision: bf16 on CPUs that have it)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from mtmc.config import DetectorConfig, load_cams
    from mtmc.detect import build_detector
    from mtmc.run import load_calibrations

    config = load_cams(args.scene / "cams.yaml", check_files=False)
    if args.model == "bgsub":
        cfg = DetectorConfig(backend="bgsub")
    else:
        cfg = DetectorConfig(backend="yolo", weights=Path(args.model), image_size_px=args.imgsz, device="cpu",
                             precision=args.precision)
    detector = build_detector(cfg, config.cameras, load_calibrations(config))
    frames = _frames(args.scene, args.runs + args.warmup)
    cams = list(frames)
    n = min(len(v) for v in frames.values())

    def timed(batch: list[str], k: int) -> float:
        images = [frames[c][k % n] for c in batch]
        metas = [{"camera_id": c, "frame": k + 1, "t_s": k / 10.0} for c in batch]
        start = time.perf_counter()
        detector.detect(images, metas)
        return 1000.0 * (time.perf_counter() - start)

    result = {
        "model": args.model,
        "imgsz": args.imgsz,
        "precision": args.precision,
        "frame_wh": list(frames[cams[0]][0].shape[1::-1]),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }
    for mode, batch in (("single", cams[:1]), ("all_cameras", cams)):
        for k in range(args.warmup):
            timed(batch, k)
        ms = [timed(batch, args.warmup + k) for k in range(args.runs)]
        per_frame = [t / len(batch) for t in ms]
        result[mode] = {
            "batch": len(batch),
            "median_ms_per_frame": round(statistics.median(per_frame), 2),
            "p90_ms_per_frame": round(float(np.percentile(per_frame, 90)), 2),
        }
        print(
            f"{mode:<12} batch {len(batch)}: median {result[mode]['median_ms_per_frame']:.1f} ms/frame, "
            f"p90 {result[mode]['p90_ms_per_frame']:.1f} ms/frame"
        )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
