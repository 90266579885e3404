"""Benchmark the ReID embedder: crops per second through ``mtmc.embed.OnnxEmbedder.embed``.

One call embeds ``batch`` boxes of one 960x540 frame (seeded noise: the content does not change
the time) with ``reid.batch_size`` set to ``batch``, so it times what the pipeline does per batch:
cutting and resizing the crops, BGR -> RGB and normalisation, the network in ONNX Runtime and the
L2 normalisation. Each model and batch size gets a warm-up, then the median of ``--runs`` calls.
The model's precision (fp32 / fp16) is read from its export metadata; make an fp16 file with
``python -m mtmc.reid.export --model X.pt --out X_fp16.onnx --fp16``.

    .venv/bin/python scripts/bench_embedder.py --model models/reid/base.onnx [X_fp16.onnx ...] \\
        [--batch 64 256] [--device auto] [--runs 20] [--out bench_embedder.json]

On a GPU, ``--device auto`` (the default) picks ONNX Runtime's CUDA provider when it is usable.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

FRAME_HW = (540, 960)
BOX_HW_PX = (160, 64)  # a person-sized box; crops are resized to the model's input anyway


def boxes_xyxy(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` person-sized boxes (x1, y1, x2, y2 px) at random places inside the frame."""
    h, w = BOX_HW_PX
    x1 = rng.uniform(0, FRAME_HW[1] - w, n)
    y1 = rng.uniform(0, FRAME_HW[0] - h, n)
    return np.stack([x1, y1, x1 + w, y1 + h], axis=1).astype(np.float32)


def bench_model(model: Path, batches: Sequence[int], device: str, runs: int, warmup: int
                ) -> dict[str, Any]:
    """Milliseconds per call and crops/s of one ONNX model at each batch size."""
    from mtmc.config import ReidConfig
    from mtmc.embed import OnnxEmbedder
    from mtmc.types import Detections

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (*FRAME_HW, 3), dtype=np.uint8)
    result: dict[str, Any] = {"model": str(model), "batches": {}}
    for batch in batches:
        embedder = OnnxEmbedder(ReidConfig(model=model, device=device, batch_size=batch))
        meta = embedder.session.get_modelmeta().custom_metadata_map
        result["precision"] = meta.get("mtmc.precision", "unknown")
        result["provider"] = embedder.provider
        dets = Detections(xyxy=boxes_xyxy(batch, rng), meta={"camera_id": "cam"})
        frames = {"cam": frame}
        times_ms = []
        for k in range(warmup + runs):
            start = time.perf_counter()
            embedder.embed(frames, dets)
            if k >= warmup:
                times_ms.append(1000.0 * (time.perf_counter() - start))
        median = statistics.median(times_ms)
        result["batches"][str(batch)] = {"ms_per_call": round(median, 2),
                                         "crops_per_s": round(batch / median * 1000.0, 1)}
    return result


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, nargs="+", default=[Path("models/reid/base.onnx")],
                    help="one or more ONNX ReID models (mtmc.reid.export files)")
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 256], help="crops per call")
    ap.add_argument("--device", default="auto", help="reid.device: auto, cpu, cuda or cuda:N")
    ap.add_argument("--runs", type=int, default=20, help="timed calls per model and batch size")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = ap.parse_args(argv)
    for model in args.model:
        if not model.is_file():
            print(f"bench_embedder: error: model not found: {model}", file=sys.stderr)
            return 2
    if min(args.batch) < 1 or args.runs < 1 or args.warmup < 0:
        print("bench_embedder: error: --batch and --runs must be >= 1, --warmup >= 0",
              file=sys.stderr)
        return 2
    results = [bench_model(m, args.batch, args.device, args.runs, args.warmup)
               for m in args.model]
    print("| model | precision | provider | batch | ms per call | crops/s |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for r in results:
        for batch, t in r["batches"].items():
            print(f"| {Path(r['model']).name} | {r['precision']} | {r['provider']} | {batch} | "
                  f"{t['ms_per_call']:.1f} | {t['crops_per_s']:.0f} |")
    if args.out:
        args.out.write_text(json.dumps({"device": args.device, "runs": args.runs,
                                        "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
