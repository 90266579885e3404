"""Rebuild a trainable ReID model from its ONNX export, so shipped ``.onnx`` models can be fine-tuned.

The project ships its ReID models as ONNX (``models/reid/*.onnx``), the format the pipeline runs.
Exporting folds every BatchNorm that follows a convolution into that convolution's weights and
bias, so the ONNX file holds the function of the network but not its BatchNorm parameters. This
module puts them back:

1. the architecture comes from the spec (``model.backbone``, ``model.width``,
   ``model.embedding_dim``), and the ONNX file must fit it shape for shape;
2. convolutions are matched to the ONNX ``Conv`` nodes in execution order (a module called
   several times, such as OSNet's shared channel gate, must map to one set of weights every time);
   a convolution followed by a BatchNorm gets the folded weight ``W_f`` and its BatchNorm the
   folded bias ``b_f``; the BNNeck and an optional linear reduction are copied as they are;
3. each unfolded BatchNorm is re-parameterised from the statistics of its convolution's output on
   real crops (``calibration``): ``running_mean = mu``, ``running_var = var``,
   ``weight = sqrt(var + eps)``, ``bias = b_f + mu``. In eval mode this is exactly
   ``W_f x + b_f``, the ONNX function; in train mode the batch statistics are close to ``mu``
   and ``var``, so fine-tuning starts where the export left off instead of from a network whose
   normalisation suddenly rescales every layer;
4. the rebuilt model is checked against ONNX Runtime on the calibration crops (max abs difference
   < 1e-4, as the exporter's own parity check).

Example::

    model = build_model(ModelSpec(), num_classes=12)
    report = load_onnx_weights(model, "models/reid/base.onnx", crops)   # crops: (N,3,128,64)
    report["max_abs_diff"]                                              # ~1e-6

The classifier is not part of an export (the ONNX output is the embedding), so it stays as
initialised: a fine-tune always trains a fresh one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mtmc.reid.export import FP32_PARITY_TOL, parse_metadata, run_onnx
from mtmc.reid.model import ReIDModel

__all__ = ["load_onnx_weights", "read_onnx_metadata"]


def read_onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The ``mtmc.*`` metadata of an ONNX export, decoded by :func:`parse_metadata`.

    Raises:
        ValueError: the file is missing or not an ONNX model.
    """
    onnx = _import_onnx()
    proto = _load_proto(onnx, Path(path))
    return parse_metadata({p.key: p.value for p in proto.metadata_props})


def load_onnx_weights(model: ReIDModel, onnx_path: str | Path,
                      calibration: torch.Tensor) -> dict[str, Any]:
    """Copy an ONNX export's weights into ``model`` (in place) and undo BatchNorm folding.

    Args:
        model: a freshly built model of the same architecture (backbone, width, embedding size).
        onnx_path: the ``.onnx`` file (float32 weights, as ``python -m mtmc.reid.export`` writes
            without ``--fp16``).
        calibration: (N, 3, H, W) float32 normalised crops in the model's input format (a few
            hundred real training crops); they set the BatchNorm statistics and the parity check.

    Returns:
        ``{"max_abs_diff": float, "convs": int, "folded_bn": int}``.

    Raises:
        ValueError: the file does not fit the model (layer count or shapes), holds half-precision
            weights, or the rebuilt model differs from ONNX Runtime by more than 1e-4.
    """
    onnx = _import_onnx()
    from onnx import numpy_helper

    path = Path(onnx_path)
    proto = _load_proto(onnx, path)
    weights = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    if any(w.dtype == np.float16 for w in weights.values()):
        raise ValueError(f"{path}: half-precision (--fp16) export; fine-tune from the float32 "
                         "export instead")
    nodes = list(proto.graph.node)
    consumers: dict[str, list[Any]] = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    convs, bn_after = _trace(model, calibration[:1])
    onnx_convs = [n for n in nodes if n.op_type == "Conv"]
    if len(onnx_convs) != len(convs):
        raise ValueError(f"{path}: {len(onnx_convs)} convolutions in the ONNX graph, "
                         f"{len(convs)} in the model built from the spec; the spec's "
                         "model.backbone / model.width must be those of the exported model")

    # 1. convolutions (+ folded BatchNorms): W_f, b_f per module, checked for repeated calls
    folded: dict[nn.Conv2d, tuple[np.ndarray, np.ndarray | None]] = {}
    for conv, node in zip(convs, onnx_convs, strict=True):
        w = weights.get(node.input[1])
        if w is None:
            raise ValueError(f"{path}: Conv node {node.name!r} takes its weight from another "
                             "node, not an initializer; re-export with constant folding")
        b = weights.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        w, b = _fold_following_bn(node, w, b, consumers, weights)
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ValueError(f"{path}: Conv node {node.name!r} has weights {tuple(w.shape)}, the "
                             f"model's layer {tuple(conv.weight.shape)}; the spec's model.width "
                             "or model.backbone differs from the exported model's")
        if conv in folded:
            prev_w, prev_b = folded[conv]
            if not np.array_equal(prev_w, w) or (prev_b is None) != (b is None) or (
                    b is not None and not np.array_equal(prev_b, b)):
                raise ValueError(f"{path}: a layer the model calls several times has different "
                                 f"weights at ONNX node {node.name!r}; not this architecture")
        folded[conv] = (w, b)

    with torch.no_grad():
        for conv, (w, b) in folded.items():
            conv.weight.copy_(torch.tensor(w))
            bn = bn_after.get(conv)
            bias = torch.tensor(b) if b is not None else torch.zeros(w.shape[0])
            if bn is not None:
                # identity BatchNorm carrying the folded bias; re-parameterised below
                bn.weight.fill_(1.0)
                bn.bias.copy_(bias)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
            elif conv.bias is not None:
                conv.bias.copy_(bias)
            elif b is not None and np.any(b != 0):
                raise ValueError(f"{path}: a convolution without bias in the model has one in "
                                 "the ONNX graph; not this architecture")
        _copy_head(model, nodes, weights, path)

    # 2. BatchNorm statistics from the calibration crops (function unchanged: W_f x + b_f)
    _recalibrate(model, bn_after, calibration)

    # 3. parity with ONNX Runtime
    model.eval()
    with torch.no_grad():
        ref = model(calibration).numpy()
    got = run_onnx(path, calibration.numpy())
    if got.shape != ref.shape:
        raise ValueError(f"{path}: ONNX output {got.shape}, model output {ref.shape}")
    diff = float(np.abs(got - ref).max())
    if not diff < FP32_PARITY_TOL:
        raise ValueError(f"{path}: the rebuilt model differs from ONNX Runtime by {diff:.3g} "
                         f"(> {FP32_PARITY_TOL:g}); the ONNX file is not an export of this "
                         "architecture")
    return {"max_abs_diff": diff, "convs": len(folded), "folded_bn": len(bn_after)}


# ---------------------------------------------------------------------------------------------
# helpers


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise ImportError("reading ONNX weights needs the 'onnx' package: pip install onnx") \
            from exc
    return onnx


def _load_proto(onnx: Any, path: Path) -> Any:
    if not path.is_file():
        raise ValueError(f"{path}: ONNX model not found")
    try:
        return onnx.load(str(path))
    except Exception as exc:  # protobuf raises several types
        raise ValueError(f"{path}: cannot read as an ONNX model ({exc})") from None


def _trace(model: ReIDModel, x: torch.Tensor
           ) -> tuple[list[nn.Conv2d], dict[nn.Conv2d, nn.BatchNorm2d]]:
    """Convolutions in call order (repeats included) and the BatchNorm fed by each, if any."""
    calls: list[nn.Conv2d] = []
    produced: dict[int, nn.Conv2d] = {}
    keep: list[torch.Tensor] = []  # outputs stay alive so their ids are not reused
    bn_after: dict[nn.Conv2d, nn.BatchNorm2d] = {}

    def on_conv(mod: nn.Module, _inp: Any, out: torch.Tensor) -> None:
        calls.append(mod)  # type: ignore[arg-type]
        produced[id(out)] = mod  # type: ignore[assignment]
        keep.append(out)

    def on_bn(mod: nn.Module, inp: tuple[torch.Tensor, ...], _out: Any) -> None:
        conv = produced.get(id(inp[0]))
        if conv is not None:
            bn_after[conv] = mod  # type: ignore[assignment]

    hooks = [(m, on_conv) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [(m, on_bn) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    _run_hooked(model, x, hooks)
    return calls, bn_after


def _run_hooked(model: nn.Module, x: torch.Tensor, hooks: list[tuple[nn.Module, Any]]) -> None:
    """One eval-mode forward pass of ``x`` with forward hooks ``(module, fn)`` attached."""
    handles = [m.register_forward_hook(fn) for m, fn in hooks]
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()


def _fold_following_bn(node: Any, w: np.ndarray, b: np.ndarray | None,
                       consumers: dict[str, list[Any]], weights: dict[str, np.ndarray]
                       ) -> tuple[np.ndarray, np.ndarray | None]:
    """Fold a BatchNormalization that directly follows the Conv in the graph (our exporter folds
    them itself; other exporters may keep them)."""
    after = consumers.get(node.output[0], [])
    if len(after) != 1 or after[0].op_type != "BatchNormalization":
        return w, b
    bn = after[0]
    gamma, beta, mean, var = (weights[name] for name in bn.input[1:5])
    eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
    scale = gamma / np.sqrt(var + eps)
    b0 = b if b is not None else np.zeros_like(mean)
    return ((w * scale.reshape(-1, 1, 1, 1)).astype(np.float32),
            ((b0 - mean) * scale + beta).astype(np.float32))


def _copy_head(model: ReIDModel, nodes: list[Any], weights: dict[str, np.ndarray],
               path: Path) -> None:
    """BNNeck (the BatchNormalization on the pooled feature) and the optional linear reduction."""
    conv_outputs = {n.output[0] for n in nodes if n.op_type == "Conv"}
    neck = [n for n in nodes if n.op_type == "BatchNormalization"
            and n.input[0] not in conv_outputs]
    if len(neck) != 1:
        raise ValueError(f"{path}: expected one BatchNormalization on the pooled feature (the "
                         f"BNNeck), found {len(neck)}")
    bn = model.bnneck
    for name, target in zip(neck[0].input[1:5],
                            (bn.weight, bn.bias, bn.running_mean, bn.running_var), strict=True):
        value = weights[name]
        if value.shape != tuple(target.shape):
            raise ValueError(f"{path}: BNNeck of size {value.shape[0]}, the spec's "
                             f"model.embedding_dim is {target.shape[0]}")
        target.copy_(torch.tensor(value))
    if isinstance(model.reduction, nn.Linear):
        d, c = model.reduction.weight.shape
        found = []  # (node, weight name) of 2-D weights that fit a c -> d layer
        for n in nodes:
            if n.op_type in ("Gemm", "MatMul"):
                found += [(n, i) for i in n.input
                          if i in weights and weights[i].shape in ((d, c), (c, d))]
        if len(found) != 1:
            raise ValueError(f"{path}: expected one {c}->{d} linear reduction before the BNNeck, "
                             f"found {len(found)}")
        node, name = found[0]
        # torch writes Linear as Gemm(transB=1) with the (out, in) weight, or MatMul with (in, out)
        trans_b = any(a.name == "transB" and a.i == 1 for a in node.attribute)
        m = weights[name] if node.op_type == "Gemm" and trans_b else weights[name].T
        model.reduction.weight.copy_(torch.tensor(np.ascontiguousarray(m)))


def _recalibrate(model: ReIDModel, bn_after: dict[nn.Conv2d, nn.BatchNorm2d],
                 calibration: torch.Tensor) -> None:
    """Give each unfolded BatchNorm its convolution's output statistics (function unchanged)."""
    stats: dict[nn.Conv2d, tuple[torch.Tensor, torch.Tensor]] = {}

    def on_conv(mod: nn.Module, _inp: Any, out: torch.Tensor) -> None:
        if mod in stats:  # called again (not the case for convolutions feeding a BatchNorm)
            return
        y = out.detach().transpose(0, 1).reshape(out.shape[1], -1).double()
        stats[mod] = (y.mean(1), y.var(1, unbiased=False))  # type: ignore[index]

    _run_hooked(model, calibration, [(conv, on_conv) for conv in bn_after])
    with torch.no_grad():
        for conv, bn in bn_after.items():
            mu, var = stats[conv]
            bias_f = bn.bias.double()  # the folded bias, set above
            bn.running_mean.copy_(mu)
            bn.running_var.copy_(var)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.bias.copy_(bias_f + mu)
