"""The ReID training specification: a typed, frozen YAML file (``configs/reid/*.yaml``).

Every knob of the Bag-of-Tricks recipe (Luo et al., "Bag of Tricks and A Strong Baseline for Deep
Person Re-identification", 2019) lives here with its default; a YAML file only writes what it
changes. Unknown keys and wrong types are errors naming the file and the key.

Example::

    spec = load_spec("configs/reid/base.yaml")
    spec.optim.lr, spec.data.input_size_hw           # 0.00035, (256, 128)
    spec = dataclasses.replace(spec, seed=1)         # specs are frozen values

YAML::

    model: {backbone: osnet_lite, embedding_dim: 256}
    data: {ids_per_batch: 16, images_per_id: 4}
    optim: {epochs: 120, milestones: [40, 70]}
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtmc.configtools import FieldError, from_mapping, load_yaml, to_public

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "AugmentSpec",
    "DataSpec",
    "LossSpec",
    "ModelSpec",
    "OptimSpec",
    "TrainSpec",
    "default_threads",
    "load_spec",
    "spec_to_dict",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # RGB, on 0..1 pixels
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelSpec:
    """Network: backbone, global average pooling, BNNeck and a bias-free ID classifier.

    Attributes:
        backbone: ``osnet_lite`` (small, trains from scratch on a CPU) or ``resnet50`` (GPU;
            torchvision layout). See :data:`mtmc.reid.model.BACKBONES`.
        width: channel multiplier of ``osnet_lite`` (1.0 = about 0.37 M parameters, 0.14 GMACs;
            1.5 = about 0.9 M, 0.31 GMACs). Ignored by
            ``resnet50``.
        embedding_dim: length of the embedding. When the backbone's channel count differs, a
            bias-free linear layer maps the pooled feature to this size.
        last_stride: stride of the last stage of ``resnet50``; 1 doubles the final map
            (16x8 at 256x128) for finer features at about 1.3x the cost.
        pretrained: optional weights file for the backbone (for ``resnet50`` a torchvision
            ``state_dict``, e.g. ImageNet weights you downloaded yourself); ``None`` starts from
            random weights. Nothing is ever downloaded.
    """

    backbone: str = "osnet_lite"
    width: float = 1.0
    embedding_dim: int = 256
    last_stride: int = 1
    pretrained: Path | None = None

    def __post_init__(self) -> None:
        from mtmc.reid.model import BACKBONES  # late: model imports torch

        if self.backbone not in BACKBONES:
            raise FieldError("backbone", f"unknown backbone {self.backbone!r}; choose from "
                                         f"{sorted(BACKBONES)}")
        if not 0.1 <= self.width <= 4.0:
            raise FieldError("width", f"must be in [0.1, 4], got {self.width}")
        if self.embedding_dim < 8:
            raise FieldError("embedding_dim", f"must be >= 8, got {self.embedding_dim}")
        if self.last_stride not in (1, 2):
            raise FieldError("last_stride", f"must be 1 or 2, got {self.last_stride}")


@dataclass(frozen=True)
class DataSpec:
    """Input geometry, normalisation and the P x K batch composition.

    Attributes:
        input_size_hw: network input ``[height, width]`` in pixels; crops are resized to it.
        mean, std: per-channel RGB normalisation on 0..1 pixels (ImageNet by default). They are
            written into the checkpoint and the ONNX metadata so inference matches training.
        ids_per_batch: P, identities per batch (distinct). Clamped, with a warning, to the number
            of training identities when there are fewer.
        images_per_id: K, images per identity in a batch. Identities with fewer images are
            oversampled (drawn with replacement). Batch size = P x K.
        workers: DataLoader processes decoding JPEGs (0 = in the main process); with
            ``preload``, the threads that decode them once. Decoding is deterministic, so this
            never changes results.
        preload: decode every training crop once, before the first epoch, and keep the decoded
            pixels in memory (N x 3 x H x W bytes: 38,400 crops at 128 x 64 take 0.94 GB). Each
            epoch then gathers its batches from memory instead of decoding JPEGs again, which on
            a 2-core CPU leaves both cores to the network. Same batches, same results.
    """

    input_size_hw: tuple[int, int] = (256, 128)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    ids_per_batch: int = 16
    images_per_id: int = 4
    workers: int = 2
    preload: bool = False

    def __post_init__(self) -> None:
        if min(self.input_size_hw) < 16:
            raise FieldError("input_size_hw", f"must be [height, width] >= 16, got "
                                              f"{list(self.input_size_hw)}")
        if min(self.std) <= 0:
            raise FieldError("std", f"must be > 0, got {list(self.std)}")
        if self.ids_per_batch < 2:
            raise FieldError("ids_per_batch", f"must be >= 2 (the triplet loss needs negatives), "
                                              f"got {self.ids_per_batch}")
        if self.images_per_id < 2:
            raise FieldError("images_per_id", f"must be >= 2 (the triplet loss needs positives), "
                                              f"got {self.images_per_id}")
        if self.workers < 0:
            raise FieldError("workers", f"must be >= 0, got {self.workers}")


@dataclass(frozen=True)
class AugmentSpec:
    """Training augmentation, applied in this order after resizing.

    Attributes:
        flip_prob: probability of a horizontal flip.
        pad_px: zero (black) padding on every side before a random crop back to the input size;
            0 disables the crop. Larger values shift people further.
        erasing_prob: probability of random erasing (Zhong et al. 2020), which blanks a rectangle
            to the mean colour to mimic occlusion.
        erasing_area: erased area as a fraction of the image, ``[min, max]``.
        erasing_aspect_min: smallest height/width ratio of the erased rectangle (the largest is
            its inverse).
    """

    flip_prob: float = 0.5
    pad_px: int = 10
    erasing_prob: float = 0.5
    erasing_area: tuple[float, float] = (0.02, 0.4)
    erasing_aspect_min: float = 0.3

    def __post_init__(self) -> None:
        for name in ("flip_prob", "erasing_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise FieldError(name, f"must be a probability in [0, 1], got {getattr(self, name)}")
        if self.pad_px < 0:
            raise FieldError("pad_px", f"must be >= 0, got {self.pad_px}")
        lo, hi = self.erasing_area
        if not 0.0 < lo <= hi < 1.0:
            raise FieldError("erasing_area", f"must be [min, max] with 0 < min <= max < 1, got "
                                             f"{list(self.erasing_area)}")
        if not 0.0 < self.erasing_aspect_min <= 1.0:
            raise FieldError("erasing_aspect_min", f"must be in (0, 1], got "
                                                   f"{self.erasing_aspect_min}")


@dataclass(frozen=True)
class LossSpec:
    """ID + triplet + center loss on the BNNeck outputs.

    Attributes:
        id_weight: weight of the label-smoothed cross-entropy on the post-BN logits.
        label_smoothing: epsilon of label smoothing; 0 gives plain cross-entropy.
        triplet_weight: weight of the batch-hard triplet loss on pre-BN features.
        triplet_margin: margin of the triplet loss (Euclidean distance units). Larger pushes
            identities further apart and is harder to satisfy.
        center_weight: weight of the center loss on pre-BN features (0 disables it).
        center_lr: SGD learning rate of the class centers (their own optimiser; their gradient is
            divided by ``center_weight`` so this rate does not depend on the weight).
    """

    id_weight: float = 1.0
    label_smoothing: float = 0.1
    triplet_weight: float = 1.0
    triplet_margin: float = 0.3
    center_weight: float = 5e-4
    center_lr: float = 0.5

    def __post_init__(self) -> None:
        for name in ("id_weight", "triplet_weight", "triplet_margin", "center_weight",
                     "center_lr"):
            if getattr(self, name) < 0:
                raise FieldError(name, f"must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise FieldError("label_smoothing", f"must be in [0, 1), got {self.label_smoothing}")


@dataclass(frozen=True)
class OptimSpec:
    """Adam with linear warmup then step decay, stepped once per epoch.

    The learning rate at epoch ``e`` (0-based) is ``lr * warm(e) * gamma ** (milestones <= e)``
    with ``warm(e) = warmup_factor + (1 - warmup_factor) * e / warmup_epochs`` during warmup,
    else 1: with the defaults 3.5e-6 at epoch 0, 3.5e-4 from epoch 10, 3.5e-5 from 40, 3.5e-6
    from 70.

    Attributes:
        epochs: training epochs (one epoch = one pass of the P x K sampler over the identities).
        lr: base learning rate of Adam.
        weight_decay: L2 weight decay of Adam.
        warmup_epochs: epochs of linear warmup (0 disables it).
        warmup_factor: learning rate at epoch 0 as a fraction of ``lr``.
        milestones: epochs at which the rate is multiplied by ``gamma``.
        gamma: step-decay factor.
    """

    epochs: int = 120
    lr: float = 3.5e-4
    weight_decay: float = 5e-4
    warmup_epochs: int = 10
    warmup_factor: float = 0.01
    milestones: tuple[int, ...] = (40, 70)
    gamma: float = 0.1

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise FieldError("epochs", f"must be >= 1, got {self.epochs}")
        if self.lr <= 0:
            raise FieldError("lr", f"must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise FieldError("weight_decay", f"must be >= 0, got {self.weight_decay}")
        if self.warmup_epochs < 0:
            raise FieldError("warmup_epochs", f"must be >= 0, got {self.warmup_epochs}")
        if not 0.0 < self.warmup_factor <= 1.0:
            raise FieldError("warmup_factor", f"must be in (0, 1], got {self.warmup_factor}")
        if list(self.milestones) != sorted(self.milestones):
            raise FieldError("milestones", f"must be increasing, got {list(self.milestones)}")
        if not 0.0 < self.gamma <= 1.0:
            raise FieldError("gamma", f"must be in (0, 1], got {self.gamma}")


@dataclass(frozen=True)
class TrainSpec:
    """Everything a training run needs besides the data folder and the output folder.

    Attributes:
        model, data, augment, loss, optim: the sections above.
        seed: seeds weights, batch sampling and augmentation; same seed, same data and CPU ->
            the same model.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
        amp: mixed precision (float16 autocast) when running on CUDA; ignored on CPU.
        cpu_bf16: bfloat16 autocast when running on a CPU with native bfloat16 instructions
            (AVX512-BF16 or AMX; FP32 with a warning on other CPUs, where it is emulated and
            slower). On this project's 2-core CPU, osnet_lite trains at 1.3x the crops/s (one
            epoch each, back to back: 308 against 238). Off by default: the shipped models were
            trained in FP32. Ignored on CUDA (see ``amp``).
        threads: CPU threads for torch; ``None`` uses the cores this process may run on.
        eval_every: evaluate on query/gallery every this many epochs and log rank-1 / mAP
            (0 = never; the final evaluation is ``python -m mtmc.reid.evaluate``).
        init: optional checkpoint (``.pt``) or ONNX export (``.onnx``) to start from
            (fine-tuning); the ``--init`` option overrides it. Its classifier is dropped when the
            identities differ (an ONNX export has none).
        dataset: optional Market-1501 folder; the ``--data`` option overrides it.
    """

    model: ModelSpec = field(default_factory=ModelSpec)
    data: DataSpec = field(default_factory=DataSpec)
    augment: AugmentSpec = field(default_factory=AugmentSpec)
    loss: LossSpec = field(default_factory=LossSpec)
    optim: OptimSpec = field(default_factory=OptimSpec)
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    cpu_bf16: bool = False
    threads: int | None = None
    eval_every: int = 0
    init: Path | None = None
    dataset: Path | None = None

    def __post_init__(self) -> None:
        if not (self.device in ("auto", "cpu", "cuda") or
                (self.device.startswith("cuda:") and self.device[5:].isdigit())):
            raise FieldError("device", f"must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if self.threads is not None and self.threads < 1:
            raise FieldError("threads", f"must be >= 1 or null, got {self.threads}")
        if self.eval_every < 0:
            raise FieldError("eval_every", f"must be >= 0, got {self.eval_every}")


def load_spec(path: str | Path) -> TrainSpec:
    """Read a training spec YAML; relative paths in it resolve against the file's folder.

    Raises:
        ConfigError: missing file, invalid YAML, unknown key or bad value (file and key named).
    """
    path = Path(path)
    return from_mapping(TrainSpec, load_yaml(path), source=str(path), base_dir=path.parent)


def spec_to_dict(spec: TrainSpec) -> dict[str, Any]:
    """A JSON-ready dict of the spec (paths as strings, tuples as lists)."""
    return to_public(spec)


def default_threads() -> int:
    """CPU cores this process may run on (respects taskset / container CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
