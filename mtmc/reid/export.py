"""Export a trained ReID checkpoint to ONNX for the pipeline's embedder.

The ONNX model:

- input ``input``: (batch, 3, H, W) float32, RGB, normalised ``(pixel / 255 - mean) / std``;
  the batch axis is dynamic;
- output ``embedding``: (batch, D) float32, the post-BNNeck feature, *not* L2-normalised
  (normalise it, then compare by cosine distance);
- metadata (``custom_metadata_map`` in ONNX Runtime), read by :class:`mtmc.embed.OnnxEmbedder`
  and by ``python -m mtmc.reid.evaluate``:

  ==================== ======================== =============================================
  key                  example                  meaning
  ==================== ======================== =============================================
  ``mtmc.input_hw``    ``256,128``              input height, width in pixels
  ``mtmc.color_order`` ``rgb``                  channel order of the input
  ``mtmc.mean``        ``0.485,0.456,0.406``    per-channel mean on 0..1 pixels
  ``mtmc.std``         ``0.229,0.224,0.225``    per-channel std on 0..1 pixels
  ``mtmc.embedding_dim`` ``256``                output length D
  ``mtmc.normalized``  ``false``                whether the output is already L2-normalised
  ``mtmc.backbone``    ``osnet_lite``           architecture (an ONNX ``--init`` checks it)
  ``mtmc.precision``   ``fp32`` or ``fp16``     weight precision (inputs/outputs stay float32)
  ==================== ======================== =============================================

``--fp16`` stores half-precision weights and computes in half precision inside the graph while
keeping float32 input and output, so callers do not change; it mainly pays on GPUs.

Example::

    report = export_onnx("runs/reid/model.pt", "models/reid/base.onnx")
    report["max_abs_diff"]    # parity with torch on random inputs, < 1e-4 in fp32

CLI::

    python -m mtmc.reid.export --model runs/reid/model.pt --out models/reid/base.onnx [--fp16]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mtmc.reid.model import load_model

__all__ = [
    "INPUT_NAME",
    "META_COLOR_ORDER",
    "META_INPUT_HW",
    "META_MEAN",
    "META_STD",
    "OUTPUT_NAME",
    "export_onnx",
    "main",
    "parse_metadata",
]

INPUT_NAME = "input"
OUTPUT_NAME = "embedding"
META_INPUT_HW = "mtmc.input_hw"
META_COLOR_ORDER = "mtmc.color_order"
META_MEAN = "mtmc.mean"
META_STD = "mtmc.std"
META_EMBEDDING_DIM = "mtmc.embedding_dim"
META_NORMALIZED = "mtmc.normalized"
META_BACKBONE = "mtmc.backbone"
META_PRECISION = "mtmc.precision"
FP32_PARITY_TOL = 1e-4  # max abs difference accepted between torch and ONNX Runtime in fp32
FP16_PARITY_TOL = 5e-2  # half precision keeps about 3 significant digits
OPSET = 17


class _Fp16Graph(nn.Module):
    """float32 in -> half-precision network -> float32 out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.half()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.half()).float()


def export_onnx(model_path: str | Path, out_path: str | Path, *, fp16: bool = False,
                opset: int = OPSET, check_batch: int = 3) -> dict[str, Any]:
    """Export a checkpoint (``model.pt``) to ONNX, verify it with ONNX Runtime, return a report.

    Args:
        model_path: checkpoint written by ``python -m mtmc.reid.train``.
        out_path: ``.onnx`` file to write (folders are created).
        fp16: half-precision weights and compute (float32 input/output).
        opset: ONNX opset version.
        check_batch: batch size of the parity check (different from the traced batch of 1, so
            the dynamic batch axis is exercised).

    Returns:
        ``path``, ``max_abs_diff`` (torch vs ONNX Runtime on random inputs), ``tolerance``,
        ``size_mb``, ``metadata`` (the stored key/value pairs), ``input``/``output`` names and
        shapes.

    Raises:
        ValueError: unreadable checkpoint, or the parity check fails (the file is removed).
        ImportError: the ``onnx`` package is missing (torch's exporter needs it).
    """
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("ONNX export needs the 'onnx' package: pip install onnx") from exc
    model_path, out_path = Path(model_path), Path(out_path)
    model, info = load_model(model_path, "cpu")
    h, w = (int(v) for v in info["input_size_hw"])
    graph: nn.Module = _Fp16Graph(copy.deepcopy(model)).eval() if fp16 else model
    dummy = torch.randn(1, 3, h, w)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # the TorchScript exporter warns that it is the legacy path; it needs no onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph, (dummy,), str(out_path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=opset, do_constant_folding=True, dynamo=False,
        )
    metadata = {
        META_INPUT_HW: f"{h},{w}",
        META_COLOR_ORDER: str(info.get("color_order", "rgb")),
        META_MEAN: ",".join(repr(float(v)) for v in info["mean"]),
        META_STD: ",".join(repr(float(v)) for v in info["std"]),
        META_EMBEDDING_DIM: str(int(info["model"]["embedding_dim"])),
        META_NORMALIZED: "false",
        META_BACKBONE: str(info["model"]["backbone"]),
        META_PRECISION: "fp16" if fp16 else "fp32",
    }
    proto = onnx.load(str(out_path))
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "mtmc.reid.export"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out_path))

    # parity: ONNX Runtime against the float32 torch model on a batch of random inputs
    x = torch.randn(check_batch, 3, h, w, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(x).numpy()
    got = run_onnx(out_path, x.numpy())
    diff = float(np.abs(got - ref).max())
    tol = FP16_PARITY_TOL if fp16 else FP32_PARITY_TOL
    if not diff < tol:
        out_path.unlink(missing_ok=True)
        raise ValueError(f"{out_path}: ONNX Runtime output differs from torch by {diff:.3g} "
                         f"(> {tol:g}); the file was removed. Try another --opset.")
    return {
        "path": str(out_path),
        "max_abs_diff": diff,
        "tolerance": tol,
        "size_mb": out_path.stat().st_size / 1e6,
        "metadata": metadata,
        "input": {"name": INPUT_NAME, "shape": ["batch", 3, h, w], "dtype": "float32"},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", int(info["model"]["embedding_dim"])],
                   "dtype": "float32"},
    }


def run_onnx(path: str | Path, x: np.ndarray) -> np.ndarray:
    """Run an exported model on the CPU: (N, 3, H, W) float32 -> (N, D) float32."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(x, np.float32)})[0]


def parse_metadata(meta: Mapping[str, str]) -> dict[str, Any]:
    """Decode the ``mtmc.*`` metadata of an exported model; absent keys are left out.

    Example: ``parse_metadata({"mtmc.input_hw": "256,128"}) == {"input_size_hw": (256, 128)}``.
    """
    out: dict[str, Any] = {}

    def floats(text: str) -> tuple[float, ...]:
        return tuple(float(v) for v in text.split(","))

    if META_INPUT_HW in meta:
        h, w = (int(v) for v in meta[META_INPUT_HW].split(","))
        out["input_size_hw"] = (h, w)
    if META_COLOR_ORDER in meta:
        out["color_order"] = meta[META_COLOR_ORDER].strip().lower()
    if META_MEAN in meta:
        out["mean"] = floats(meta[META_MEAN])
    if META_STD in meta:
        out["std"] = floats(meta[META_STD])
    if META_EMBEDDING_DIM in meta:
        out["embedding_dim"] = int(meta[META_EMBEDDING_DIM])
    if META_NORMALIZED in meta:
        out["normalized"] = meta[META_NORMALIZED].strip().lower() == "true"
    if META_BACKBONE in meta:
        out["backbone"] = meta[META_BACKBONE].strip()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: export, print the report as JSON; exit status 2 on a user error."""
    ap = argparse.ArgumentParser(prog="python -m mtmc.reid.export", description=(
        "Export a ReID checkpoint to ONNX (input 'input' Nx3xHxW RGB normalised, output "
        "'embedding' NxD, not L2-normalised; input size, mean/std and colour order in metadata)"))
    ap.add_argument("--model", required=True, type=Path, help="checkpoint (model.pt)")
    ap.add_argument("--out", required=True, type=Path, help="ONNX file to write")
    ap.add_argument("--fp16", action="store_true", help="half-precision weights and compute")
    ap.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET})")
    args = ap.parse_args(argv)
    try:
        report = export_onnx(args.model, args.out, fp16=args.fp16, opset=args.opset)
    except (ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
