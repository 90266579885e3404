from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from mtmc.configtools import ConfigError
from mtmc.reid.model import (
    OSNetLite,
    build_model,
    count_macs,
    load_model,
    model_checkpoint,
    read_checkpoint,
)
from mtmc.reid.spec import ModelSpec, load_spec

pytestmark = pytest.mark.usefixtures("one_thread")


def test_osnet_lite_shapes_train_and_eval() -> None:
    torch.manual_seed(0)
    model = build_model(ModelSpec(width=0.25, embedding_dim=32), num_classes=5)
    x = torch.randn(3, 3, 64, 32)
    assert model.backbone(x).shape[2:] == (4, 2)  # stride 16
    logits, feat = model.train()(x)
    assert logits.shape == (3, 5) and feat.shape == (3, 32)
    emb = model.eval()(x)
    assert emb.shape == (3, 32)
    # eval embedding = BNNeck(feature) with running statistics
    with torch.no_grad():
        pooled = model.backbone(x).mean(dim=(2, 3))
        torch.testing.assert_close(emb, model.bnneck(model.reduction(pooled)))


def test_bnneck_bias_frozen_and_classifier_bias_free() -> None:
    model = build_model(ModelSpec(width=0.25, embedding_dim=16), num_classes=4)
    assert not model.bnneck.bias.requires_grad and model.classifier.bias is None
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    logits, feat = model.train()(torch.randn(4, 3, 32, 16))
    (logits.sum() + feat.sum()).backward()
    opt.step()
    assert torch.count_nonzero(model.bnneck.bias) == 0


def test_reduction_only_when_dims_differ() -> None:
    same = build_model(ModelSpec(width=1.0, embedding_dim=256), 3)
    assert isinstance(same.reduction, nn.Identity)  # osnet_lite ends with 256 channels
    other = build_model(ModelSpec(width=0.25, embedding_dim=48), 3)
    assert isinstance(other.reduction, nn.Linear) and other.reduction.bias is None


@pytest.mark.parametrize(("last_stride", "hw"), [(1, (4, 2)), (2, (2, 1))])
def test_resnet50_last_stride(last_stride: int, hw: tuple[int, int]) -> None:
    model = build_model(ModelSpec(backbone="resnet50", last_stride=last_stride,
                                  embedding_dim=256), num_classes=7).eval()
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        assert model.backbone(x).shape == (1, 2048, *hw)
        assert model(x).shape == (1, 256)
    assert isinstance(model.reduction, nn.Linear)  # 2048 -> 256


def test_resnet50_rejects_foreign_weights(tmp_path: Path) -> None:
    path = tmp_path / "w.pth"
    torch.save({"foo.weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not a torchvision ResNet-50 state_dict"):
        build_model(ModelSpec(backbone="resnet50", pretrained=path), 3)


def test_count_macs_hand_computed() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 3, padding=1, groups=4),
                        nn.Flatten(), nn.Linear(16, 5))
    # 1x1: 3 in x 4 out x 4 px; depthwise 3x3: 9 x 4 ch x 4 px; linear 16 x 5
    assert count_macs(net, (2, 2)) == 3 * 4 * 4 + 9 * 4 * 4 + 16 * 5


def test_small_model_budget() -> None:
    model = build_model(ModelSpec(), num_classes=100)
    n_params = sum(p.numel() for p in model.parameters())
    assert 200_000 < n_params < 2_000_000
    assert 0.05e9 < count_macs(model, (256, 128)) < 0.3e9


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(1)
    spec = ModelSpec(width=0.25, embedding_dim=24)
    model = build_model(spec, num_classes=3).eval()
    path = tmp_path / "model.pt"
    torch.save(model_checkpoint(model, spec, input_size_hw=(64, 32), pids=[4, 9, 11]), path)
    loaded, info = load_model(path)
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    assert info["input_size_hw"] == [64, 32] and info["pids"] == [4, 9, 11]
    assert info["model"]["embedding_dim"] == 24 and not loaded.training
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an mtmc ReID checkpoint"):
        read_checkpoint(tmp_path / "other.pt")


def test_spec_rejects_unknown_backbone_and_keys(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {backbone: vgg}\n")
    with pytest.raises(ConfigError, match=r"model\.backbone: unknown backbone 'vgg'"):
        load_spec(bad)
    bad.write_text("optim: {epoch: 3}\n")
    with pytest.raises(ConfigError, match=r"optim\.epoch: unknown key; did you mean 'epochs'"):
        load_spec(bad)


def test_osnet_streams_receptive_fields() -> None:
    net = OSNetLite(width=0.25, streams=3)
    block = net.stage2[0]
    assert [len(s) for s in block.streams] == [1, 2, 3]
