"""ReID networks: a backbone, global average pooling and a BNNeck head.

Head (Luo et al. 2019, "BNNeck")::

    image (N,3,H,W) -> backbone -> (N,C,h,w) -> global average pool -> (N,C)
        -> [linear C->D, no bias, only when C != D] -> feature f_t (N,D)    (triplet, center loss)
        -> BatchNorm1d(D) with its bias frozen at 0 -> f_i (N,D)             (the embedding)
        -> linear D->num_classes, no bias -> logits                          (ID loss)

In ``train()`` mode the model returns ``(logits, f_t)``; in ``eval()`` mode it returns ``f_i``,
the post-BN embedding (not L2-normalised: the evaluator and the pipeline's embedder normalise it
and compare by cosine distance).

Backbones (:data:`BACKBONES`):

- ``osnet_lite``: an omni-scale network in the style of OSNet (Zhou et al. 2019): residual blocks
  whose 4 streams stack 1..4 depthwise-separable 3x3 convolutions (receptive fields 3..9 pixels)
  and are mixed by a shared channel gate. At width 1.0: about 0.37 M parameters and 0.14 GMACs
  at 256x128; it trains from scratch on a CPU (about 25 images/s on 2 cores).
- ``resnet50``: torchvision's ResNet-50 (random weights or a weights file you provide), last
  stride 1 by default. About 24 M parameters (23.5 M in the trunk) and 4.1 GMACs at 256x128
  with last stride 1; for GPUs.

Example::

    model = build_model(ModelSpec(), num_classes=751)
    logits, feat = model.train()(torch.randn(8, 3, 256, 128))   # (8, 751), (8, 256)
    emb = model.eval()(torch.randn(8, 3, 256, 128))              # (8, 256)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mtmc.reid.spec import IMAGENET_MEAN, IMAGENET_STD, ModelSpec

__all__ = [
    "BACKBONES",
    "OSNetLite",
    "ReIDModel",
    "build_backbone",
    "build_model",
    "count_macs",
    "load_model",
    "model_checkpoint",
    "resolve_device",
]

CHECKPOINT_FORMAT = "mtmc.reid/1"  # bump when the checkpoint layout changes


# ---------------------------------------------------------------------------------------------
# OSNet-like small backbone


class _ConvBNReLU(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1, relu: bool = True) -> None:
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False),
                                   nn.BatchNorm2d(c_out)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class _LiteConv3x3(nn.Sequential):
    """Pointwise 1x1 then depthwise 3x3 (the 'lite' 3x3 of OSNet): c*c + 9c weights, not 9c*c."""

    def __init__(self, c: int) -> None:
        super().__init__(nn.Conv2d(c, c, 1, bias=False),
                         nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False),
                         nn.BatchNorm2d(c), nn.ReLU(inplace=True))


class _ChannelGate(nn.Module):
    """Per-channel weights in (0, 1) from the stream's own global context (shared by streams)."""

    def __init__(self, c: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(4, c // reduction)
        self.fc1 = nn.Conv2d(c, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(g), inplace=True)))


class _OmniScaleBlock(nn.Module):
    """Bottleneck residual block with ``streams`` parallel streams of 1..T lite 3x3 convs."""

    def __init__(self, c_in: int, c_out: int, streams: int = 4, bottleneck: int = 4) -> None:
        super().__init__()
        mid = max(8, c_out // bottleneck)
        self.reduce = _ConvBNReLU(c_in, mid, 1)
        self.streams = nn.ModuleList(
            nn.Sequential(*[_LiteConv3x3(mid) for _ in range(depth)])
            for depth in range(1, streams + 1)
        )
        self.gate = _ChannelGate(mid)
        self.expand = _ConvBNReLU(mid, c_out, 1, relu=False)
        self.shortcut = None if c_in == c_out else _ConvBNReLU(c_in, c_out, 1, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.reduce(x)
        mixed = self.gate(self.streams[0](h))
        for stream in self.streams[1:]:
            mixed = mixed + self.gate(stream(h))
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.expand(mixed) + identity, inplace=True)


class OSNetLite(nn.Module):
    """Small omni-scale backbone: (N, 3, H, W) -> (N, C, H/16, W/16), C = ``out_channels``.

    Layout at width 1.0 (input 256x128): 3x3 stem convs to 32 channels at 1/4 resolution; stage 2
    (64 ch, 64x32), stage 3 (128 ch, 32x16), stage 4 (256 ch, 16x8), two omni-scale blocks each;
    1x1 conv + 2x2 average pool between stages. About 0.37 M parameters and 0.14 GMACs.

    Stage 2 is kept narrow on purpose: on a CPU the cost is dominated by memory traffic of the
    64x32 maps, not by multiply-adds (OSNet x0.5's 128 channels there train 2x slower for
    +0.13 GMACs).

    Args:
        width: channel multiplier (channels rounded to multiples of 8).
        streams: parallel streams per block (receptive fields 3, 5, ..., 2*streams+1 pixels).
        channels: stem, stage 2, stage 3 and stage 4 channels at width 1.
    """

    def __init__(self, width: float = 1.0, streams: int = 4,
                 channels: tuple[int, int, int, int] = (32, 64, 128, 256)) -> None:
        super().__init__()

        def ch(c: int) -> int:
            return max(8, int(round(c * width / 8)) * 8)

        c0, c1, c2, c3 = (ch(c) for c in channels)
        self.stem = nn.Sequential(_ConvBNReLU(3, c0 // 2, 3, stride=2),
                                  _ConvBNReLU(c0 // 2, c0, 3),
                                  nn.MaxPool2d(3, 2, 1))
        self.stage2 = nn.Sequential(_OmniScaleBlock(c0, c1, streams),
                                    _OmniScaleBlock(c1, c1, streams))
        self.trans2 = nn.Sequential(_ConvBNReLU(c1, c1, 1), nn.AvgPool2d(2, 2))
        self.stage3 = nn.Sequential(_OmniScaleBlock(c1, c2, streams),
                                    _OmniScaleBlock(c2, c2, streams))
        self.trans3 = nn.Sequential(_ConvBNReLU(c2, c2, 1), nn.AvgPool2d(2, 2))
        self.stage4 = nn.Sequential(_OmniScaleBlock(c2, c3, streams),
                                    _OmniScaleBlock(c3, c3, streams))
        self.conv5 = _ConvBNReLU(c3, c3, 1)
        self.out_channels = c3
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.trans2(self.stage2(x))
        x = self.trans3(self.stage3(x))
        return self.conv5(self.stage4(x))


# ---------------------------------------------------------------------------------------------
# ResNet-50


class _ResNet50Trunk(nn.Module):
    """torchvision ResNet-50 without its pooling and classifier: (N,3,H,W) -> (N,2048,h,w)."""

    def __init__(self, last_stride: int = 1, weights_path: Path | None = None) -> None:
        super().__init__()
        from torchvision.models import resnet50

        net = resnet50(weights=None)
        if weights_path is not None:
            state = _read_state_dict(weights_path)
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
            missing, unexpected = net.load_state_dict(state, strict=False)
            missing = [k for k in missing if not k.startswith("fc.")]
            if missing or unexpected:
                raise ValueError(
                    f"{weights_path}: not a torchvision ResNet-50 state_dict "
                    f"(missing {missing[:3]}, unexpected {unexpected[:3]}); pass the file saved by "
                    "torch.save(torchvision.models.resnet50(...).state_dict(), path)"
                )
        if last_stride == 1:
            # Bag of Tricks: keep 16x8 maps at 256x128 for finer spatial detail.
            net.layer4[0].conv2.stride = (1, 1)
            net.layer4[0].downsample[0].stride = (1, 1)
        self.body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool,
                                  net.layer1, net.layer2, net.layer3, net.layer4)
        self.out_channels = 2048

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _build_osnet_lite(spec: ModelSpec) -> nn.Module:
    return OSNetLite(width=spec.width)


def _build_resnet50(spec: ModelSpec) -> nn.Module:
    return _ResNet50Trunk(last_stride=spec.last_stride, weights_path=spec.pretrained)


# name -> builder(spec) returning a module with an ``out_channels`` attribute
BACKBONES: dict[str, Callable[[ModelSpec], nn.Module]] = {
    "osnet_lite": _build_osnet_lite,
    "resnet50": _build_resnet50,
}


def build_backbone(spec: ModelSpec) -> nn.Module:
    """The feature trunk named by ``spec.backbone`` (``out_channels`` gives its channel count)."""
    if spec.backbone not in BACKBONES:
        raise KeyError(f"unknown backbone {spec.backbone!r}; choose from {sorted(BACKBONES)}")
    trunk = BACKBONES[spec.backbone](spec)
    if spec.pretrained is not None and spec.backbone != "resnet50":
        state = _read_state_dict(spec.pretrained)
        trunk.load_state_dict(state)
    return trunk


# ---------------------------------------------------------------------------------------------
# Full model


class ReIDModel(nn.Module):
    """Backbone + pooling + BNNeck + classifier (see the module docstring).

    Forward:
        x: (N, 3, H, W) float, RGB normalised with the training mean/std.
        train mode -> ``(logits (N, num_classes), feat_pre_bn (N, D))``;
        eval mode -> ``embedding (N, D)`` (post-BN, not L2-normalised).
    """

    def __init__(self, backbone: nn.Module, embedding_dim: int, num_classes: int) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"ReIDModel: num_classes must be >= 1, got {num_classes}")
        self.backbone = backbone
        c = int(backbone.out_channels)
        self.reduction = (nn.Identity() if c == embedding_dim
                          else nn.Linear(c, embedding_dim, bias=False))
        if isinstance(self.reduction, nn.Linear):
            nn.init.kaiming_normal_(self.reduction.weight, mode="fan_out")
        self.bnneck = nn.BatchNorm1d(embedding_dim)
        self.bnneck.bias.requires_grad_(False)  # BNNeck: no shift, so f_i stays centred
        nn.init.ones_(self.bnneck.weight)
        nn.init.zeros_(self.bnneck.bias)
        self.classifier = nn.Linear(embedding_dim, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)
        self.embedding_dim = embedding_dim
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        feat = self.reduction(torch.flatten(F.adaptive_avg_pool2d(self.backbone(x), 1), 1))
        emb = self.bnneck(feat)
        if not self.training:
            return emb
        return self.classifier(emb), feat

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier by a freshly initialised one for ``num_classes`` identities."""
        self.classifier = nn.Linear(self.embedding_dim, num_classes, bias=False).to(
            self.bnneck.weight.device)
        nn.init.normal_(self.classifier.weight, std=0.001)
        self.num_classes = num_classes


def build_model(spec: ModelSpec, num_classes: int) -> ReIDModel:
    """A :class:`ReIDModel` for ``num_classes`` training identities, as ``spec`` describes."""
    return ReIDModel(build_backbone(spec), spec.embedding_dim, num_classes)


def count_macs(model: nn.Module, input_hw: tuple[int, int] = (256, 128)) -> int:
    """Multiply-accumulates of one forward pass on one (3, H, W) image (conv and linear layers).

    ReID papers call this number "FLOPs"; the strict floating-point operation count is about
    twice it. Example: a 1x1 conv from 4 to 8 channels on a 2x2 map costs 4 * 8 * 4 = 128 MACs.
    """
    total = 0

    def hook(mod: nn.Module, _inp: Any, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            total += k * out.numel()
        elif isinstance(mod, nn.Linear):
            total += mod.in_features * out.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            p = next(model.parameters())
            model(torch.zeros(1, 3, *input_hw, device=p.device, dtype=p.dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return int(total)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when a GPU is usable, else ``cpu``; other names as torch reads them.

    Raises:
        ValueError: CUDA was asked for but is not available.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: CUDA is not available here; use device auto or cpu")
    return torch.device(name)


# ---------------------------------------------------------------------------------------------
# Checkpoints


def model_checkpoint(model: ReIDModel, model_spec: ModelSpec, *, input_size_hw: tuple[int, int],
                     mean: tuple[float, float, float] = IMAGENET_MEAN,
                     std: tuple[float, float, float] = IMAGENET_STD,
                     pids: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    """Everything needed to rebuild ``model`` and feed it: weights, architecture, input format.

    ``pids`` maps classifier rows to dataset identities. Save with ``torch.save(ckpt, path)``.
    """
    model_dict = dataclasses.asdict(dataclasses.replace(model_spec, pretrained=None))
    return {
        "format": CHECKPOINT_FORMAT,
        "model": model_dict,
        "num_classes": model.num_classes,
        "input_size_hw": [int(v) for v in input_size_hw],
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "color_order": "rgb",
        "pids": list(pids) if pids is not None else None,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **extra,
    }


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by the trainer (``model.pt`` or ``last.pt``) onto the CPU.

    Raises:
        ValueError: missing file or not an mtmc ReID checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: ReID checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # pickle / zip errors come in many types
        raise ValueError(f"{path}: cannot read as a torch checkpoint ({exc})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not an mtmc ReID checkpoint (expected format "
                         f"{CHECKPOINT_FORMAT!r}); train one with python -m mtmc.reid.train")
    return ckpt


def load_model(path: str | Path, device: str | torch.device = "cpu"
               ) -> tuple[ReIDModel, dict[str, Any]]:
    """Rebuild a trained model from a checkpoint, in eval mode on ``device``.

    Returns:
        ``(model, info)``; ``info`` holds ``model`` (the :class:`ModelSpec` fields),
        ``input_size_hw``, ``mean``, ``std``, ``color_order``, ``pids``, ``num_classes``.

    Example::

        model, info = load_model("runs/reid/model.pt")
        emb = model(batch)      # (N, info["model"]["embedding_dim"])
    """
    ckpt = read_checkpoint(path)
    spec = ModelSpec(**{**ckpt["model"], "pretrained": None})
    model = build_model(spec, int(ckpt["num_classes"]))
    model.load_state_dict(ckpt["state_dict"])
    model.to(device).eval()
    info = {k: v for k, v in ckpt.items() if k != "state_dict" and not k.startswith("optim")}
    return model, info


def _read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: backbone weights file not found (model.pretrained)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state_dict (a mapping of tensors)")
    return state
