from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mtmc.reid.export import export_onnx, run_onnx
from mtmc.reid.model import build_model, model_checkpoint, read_checkpoint
from mtmc.reid.onnx_import import _fold_following_bn, load_onnx_weights, read_onnx_metadata
from mtmc.reid.spec import AugmentSpec, DataSpec, ModelSpec, OptimSpec, TrainSpec
from mtmc.reid.toy import write_toy_market
from mtmc.reid.train import train

onnx = pytest.importorskip("onnx")
from onnx import helper, numpy_helper  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def _exported(tmp_path: Path, spec: ModelSpec, seed: int = 0) -> tuple[Path, torch.nn.Module]:
    """A model with non-trivial BatchNorm statistics, exported to ONNX (BatchNorms folded)."""
    torch.manual_seed(seed)
    model = build_model(spec, num_classes=5)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, 64, 32) * 2 + 0.5)
        for m in model.modules():  # trained-looking affine parameters, not the 1 / 0 defaults
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    ckpt = tmp_path / "model.pt"
    torch.save(model_checkpoint(model.eval(), spec, input_size_hw=(64, 32)), ckpt)
    out = tmp_path / "model.onnx"
    export_onnx(ckpt, out)
    return out, model


@pytest.mark.parametrize("spec", [ModelSpec(width=0.25, embedding_dim=32),    # linear reduction
                                  ModelSpec(width=0.125, embedding_dim=32)],  # none (C == D)
                         ids=["reduction", "identity"])
def test_rebuilt_model_matches_onnx_and_trains_from_there(tmp_path: Path, spec: ModelSpec
                                                          ) -> None:
    path, original = _exported(tmp_path, spec)
    crops = torch.randn(32, 3, 64, 32, generator=torch.Generator().manual_seed(1))
    rebuilt = build_model(spec, num_classes=7)
    report = load_onnx_weights(rebuilt, path, crops)
    assert report["max_abs_diff"] < 1e-4 and report["folded_bn"] > 0
    rebuilt.eval()
    with torch.no_grad():
        np.testing.assert_allclose(rebuilt(crops).numpy(), run_onnx(path, crops.numpy()),
                                   atol=1e-4)
        # also on inputs the calibration never saw, and against the torch original
        other = torch.randn(4, 3, 64, 32, generator=torch.Generator().manual_seed(2)) * 3
        torch.testing.assert_close(rebuilt(other), original(other), atol=1e-4, rtol=1e-4)
        # the rebuilt BatchNorms hold the calibration batch's statistics, so a train-mode pass
        # over that batch (batch statistics) computes the same features as eval mode
        eval_feat = rebuilt.reduction(torch.flatten(
            torch.nn.functional.adaptive_avg_pool2d(rebuilt.backbone(crops), 1), 1))
        rebuilt.train()
        _, train_feat = rebuilt(crops)
    torch.testing.assert_close(train_feat, eval_feat, atol=1e-3, rtol=1e-3)
    assert rebuilt.classifier.weight.shape == (7, 32)


def test_folding_a_following_batchnorm_hand_computed() -> None:
    # Conv (w = 2, no bias) -> BatchNormalization (gamma 3, beta 1, mean 0.5, var 4, eps 0):
    # scale = 3 / sqrt(4) = 1.5, w_f = 2 * 1.5 = 3, b_f = (0 - 0.5) * 1.5 + 1 = 0.25
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    bn = helper.make_node("BatchNormalization", ["y", "g", "b", "m", "v"], ["z"], epsilon=0.0)
    weights = {"g": np.array([3.0], np.float32), "b": np.array([1.0], np.float32),
               "m": np.array([0.5], np.float32), "v": np.array([4.0], np.float32)}
    w, b = _fold_following_bn(conv, np.full((1, 1, 1, 1), 2.0, np.float32), None,
                              {"y": [bn]}, weights)
    assert w.item() == pytest.approx(3.0) and b.item() == pytest.approx(0.25)
    # a Conv feeding anything else is left as it is
    relu = helper.make_node("Relu", ["y"], ["z"])
    w2, b2 = _fold_following_bn(conv, np.ones((1, 1, 1, 1), np.float32), None, {"y": [relu]}, {})
    assert w2.item() == 1.0 and b2 is None


def test_wrong_architecture_and_fp16_are_clear_errors(tmp_path: Path) -> None:
    path, _ = _exported(tmp_path, ModelSpec(width=0.25, embedding_dim=32))
    crops = torch.randn(4, 3, 64, 32)
    with pytest.raises(ValueError, match="model.width"):
        load_onnx_weights(build_model(ModelSpec(width=0.5, embedding_dim=32), 3), path, crops)
    with pytest.raises(ValueError, match="embedding_dim"):
        load_onnx_weights(build_model(ModelSpec(width=0.25, embedding_dim=16), 3), path, crops)
    proto = onnx.load(str(path))
    for t in proto.graph.initializer:
        t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    half = tmp_path / "half.onnx"
    onnx.save(proto, str(half))
    with pytest.raises(ValueError, match="half-precision"):
        load_onnx_weights(build_model(ModelSpec(width=0.25, embedding_dim=32), 3), half, crops)
    with pytest.raises(ValueError, match="not found"):
        read_onnx_metadata(tmp_path / "missing.onnx")


def test_fine_tune_from_an_onnx_export(tmp_path: Path) -> None:
    model_spec = ModelSpec(width=0.25, embedding_dim=32)
    path, _ = _exported(tmp_path, model_spec)
    assert read_onnx_metadata(path)["input_size_hw"] == (64, 32)
    market = write_toy_market(tmp_path / "toy", num_train_ids=4, num_test_ids=2, cameras=2,
                              per_camera=3, size_hw=(64, 32))
    spec = TrainSpec(model=model_spec,
                     data=DataSpec(input_size_hw=(64, 32), ids_per_batch=2, images_per_id=3,
                                   workers=0),
                     augment=AugmentSpec(pad_px=2),
                     optim=OptimSpec(epochs=1, lr=1e-3, warmup_epochs=0, milestones=()),
                     device="cpu", threads=1, eval_every=0)
    summary = train(spec, tmp_path / "ft", data_dir=market, init=path, progress=False)
    ckpt = read_checkpoint(summary["model"])
    assert ckpt["init"] == str(path) and ckpt["num_classes"] == 4
    with pytest.raises(ValueError, match="model.backbone.*resnet50"):
        wrong = TrainSpec(model=ModelSpec(backbone="resnet50"), data=spec.data,
                          optim=spec.optim, device="cpu", threads=1)
        train(wrong, tmp_path / "ft2", data_dir=market, init=path, progress=False)
