"""``yolo``: an ultralytics YOLO model (``.pt``, ``.onnx`` or ``.engine`` weights), people only.

All frames of one clock tick go through the network in one batched ``predict`` call. Only class 0
is kept (``person`` in COCO-trained weights; a single-class person model also has it at 0).
Ultralytics is imported strictly offline (:mod:`mtmc.detect._ultralytics`): it never downloads
weights, fonts or assets, never pip-installs anything and sends no events; a missing weights file
is an error here instead of a download attempt.

``detector.precision: bf16`` runs ``.pt`` weights in bfloat16 (``torch.autocast``) where the CPU
has native bfloat16 instructions, about 1.7 times as fast as FP32 on this project's CPU; the box
decoding stays in FP32, since bfloat16 keeps only 8 bits of a coordinate (2-4 px at 640).

Example::

    det = YoloDetector(DetectorConfig(backend="yolo", weights=Path("models/person.pt")))
    dets_cam1, dets_cam2 = det.detect([img1, img2], [meta1, meta2])
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mtmc.config import CameraConfig, DetectorConfig
from mtmc.cpuinfo import bf16_usable
from mtmc.detect._ultralytics import import_ultralytics, resolve_torch_device
from mtmc.detect.base import PERSON_CLASS_ID, check_batch, detections_from_arrays
from mtmc.types import Detections

if TYPE_CHECKING:
    import torch

__all__ = ["YoloDetector"]

log = logging.getLogger("mtmc.detect")

WEIGHT_SUFFIXES = (".pt", ".onnx", ".engine")


def _decode_in_fp32(head: torch.nn.Module) -> bool:
    """Make a YOLO Detect head decode its boxes in FP32 under a bfloat16 autocast. False (nothing
    changed) for a head without ultralytics' ``_inference`` decoding step."""
    import torch

    decode = getattr(head, "_inference", None)
    if decode is None:
        return False

    def decode_fp32(x: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.autocast(device_type=x["boxes"].device.type, enabled=False):
            return decode({k: [t.float() for t in v] if isinstance(v, list) else v.float()
                           for k, v in x.items()})

    head._inference = decode_fp32
    return True


class YoloDetector:
    """Ultralytics YOLO person detector.

    Args:
        cfg: detector config: ``weights``, ``confidence_min``, ``image_size_px`` (inference size,
            longest side) and ``device`` (``auto`` = ``cuda`` when torch sees a GPU, else ``cpu``).
        cameras, calibrations: unused (accepted for the common constructor signature).

    Raises:
        ValueError: no weights, a missing weights file, an unsupported suffix, or a CUDA device
            asked for on a machine without one.
    """

    def __init__(
        self,
        cfg: DetectorConfig,
        cameras: Sequence[CameraConfig] = (),
        calibrations: Mapping[str, Any] | None = None,
    ) -> None:
        if cfg.weights is None:
            raise ValueError("detector.weights: backend 'yolo' needs a weights file (.pt, .onnx or .engine)")
        weights = Path(cfg.weights)
        if not weights.is_file():
            raise ValueError(f"detector.weights: file not found: {weights}")
        if weights.suffix.lower() not in WEIGHT_SUFFIXES:
            raise ValueError(
                f"detector.weights: {weights}: unsupported format {weights.suffix!r}; "
                f"use one of {', '.join(WEIGHT_SUFFIXES)}"
            )
        self.cfg = cfg
        self.device = resolve_torch_device(cfg.device)
        ultralytics = import_ultralytics()
        self.model = ultralytics.YOLO(str(weights), task="detect")
        # FP16 halves the cost on GPUs; exported models carry their own precision.
        is_pt = weights.suffix.lower() == ".pt"
        self.bf16 = cfg.precision == "bf16" and is_pt
        if self.bf16 and self.device == "cpu":
            self.bf16 = bf16_usable("detector.precision: bf16", "precision: auto", log)
        if self.bf16 and not _decode_in_fp32(self.model.model.model[-1]):
            log.warning("detector.precision: bf16: %s has no YOLO Detect head whose box decoding "
                        "can stay in FP32 (bfloat16 boxes would be off by pixels); using FP32 or "
                        "FP16 as with precision: auto", weights.name)
            self.bf16 = False
        self.half = self.device.startswith("cuda") and is_pt and not self.bf16
        names = getattr(self.model, "names", None) or {}
        person = str(names.get(PERSON_CLASS_ID, "person")).lower()
        if "person" not in person and "pedestrian" not in person:
            log.warning(
                "detector.weights: %s: class 0 is %r, not a person; only class 0 is kept",
                weights,
                names.get(PERSON_CLASS_ID),
            )
        log.info("yolo detector %s on %s (imgsz %d%s)", weights.name, self.device, cfg.image_size_px,
                 ", bfloat16" if self.bf16 else "")

    def reset(self) -> None:
        """Nothing to forget: the detector has no state between frames."""

    def detect(self, frames_bgr: Sequence[np.ndarray], metas: Sequence[dict]) -> list[Detections]:
        """One Detections per frame, from one batched forward pass (see
        :class:`~mtmc.detect.base.Detector`)."""
        check_batch(frames_bgr, metas)
        if len(frames_bgr) == 0:
            return []
        import torch

        precision = (
            torch.autocast(device_type=self.device.split(":")[0], dtype=torch.bfloat16)
            if self.bf16 else contextlib.nullcontext()
        )
        with precision:
            results = self.model.predict(
                list(frames_bgr),
                imgsz=self.cfg.image_size_px,
                conf=self.cfg.confidence_min,
                classes=[PERSON_CLASS_ID],
                device=self.device,
                half=self.half,
                verbose=False,
                save=False,
                stream=False,
            )
        out = []
        for result, meta in zip(results, metas, strict=True):
            boxes = result.boxes
            xyxy = boxes.xyxy.cpu().numpy()
            conf = boxes.conf.cpu().numpy()
            is_person = boxes.cls.cpu().numpy().astype(np.int64) == PERSON_CLASS_ID
            out.append(
                detections_from_arrays(
                    xyxy[is_person], conf[is_person], meta, confidence_min=self.cfg.confidence_min
                )
            )
        return out
