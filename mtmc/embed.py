"""Appearance embeddings: an ONNX ReID model run on the crops of all cameras in one batch per step.

:class:`OnnxEmbedder` turns person crops into L2-normalised vectors; :class:`EmbeddingPolicy`
decides which rows are worth embedding this step, so the cost stays bounded as tracks last.

Preprocessing comes, in this order of precedence, from the ``reid`` config, from the model's
metadata (``custom_metadata_map`` in ONNX Runtime; ``mtmc.reid.export`` writes it), from the
model's static input shape (input size only), or from the defaults (256x128, RGB, ImageNet):

==================== ======================== ===============================================
metadata key         example                  meaning
==================== ======================== ===============================================
``mtmc.input_hw``    ``256,128``              network input height, width in pixels
``mtmc.color_order`` ``rgb``                  channel order the network expects (rgb | bgr)
``mtmc.mean``        ``0.485,0.456,0.406``    per-channel mean on 0..1 pixels, in that order
``mtmc.std``         ``0.229,0.224,0.225``    per-channel std on 0..1 pixels
==================== ======================== ===============================================

So models from NVIDIA TAO ReIdentificationNet (input ``input`` N x 3 x 256 x 128 RGB ImageNet,
output ``fc_pred``) and torchreid exports load with no settings. The first input is the image;
the output named ``embedding``, ``fc_pred`` or ``features`` is used if present, else the first.

Frames arrive in OpenCV's BGR order; the conversion to RGB (when the model wants RGB) happens here
and only here.

Example::

    embedder = OnnxEmbedder(ReidConfig(model=Path("models/reid/base.onnx")))
    policy = EmbeddingPolicy(ReidConfig())
    mask = policy.select(all_dets, frame=12, image_sizes={"cam1": (960, 540), "cam2": (960, 540)})
    vectors = embedder.embed({"cam1": img1, "cam2": img2}, all_dets[mask])   # (M, D) float32
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mtmc.config import ReidConfig
from mtmc.types import CAMERA_ID, UNSET_TRACK_ID, Detections

__all__ = [
    "META_COLOR_ORDER",
    "META_INPUT_HW",
    "META_MEAN",
    "META_STD",
    "EmbeddingPolicy",
    "OnnxEmbedder",
    "Preprocessing",
    "choose_providers",
]

log = logging.getLogger("mtmc.embed")

META_INPUT_HW = "mtmc.input_hw"
META_COLOR_ORDER = "mtmc.color_order"
META_MEAN = "mtmc.mean"
META_STD = "mtmc.std"

DEFAULT_INPUT_HW = (256, 128)
DEFAULT_COLOR_ORDER = "rgb"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
OUTPUT_NAMES = ("embedding", "fc_pred", "features")  # preferred outputs, in this order
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
_INPUT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


@dataclass(frozen=True)
class Preprocessing:
    """How crops become network input, and where each setting came from.

    Attributes:
        input_hw: network input (height, width) in pixels.
        color_order: ``rgb`` or ``bgr``: the channel order the network expects.
        mean, std: per-channel normalisation of 0..1 pixels, in the network's channel order.
        sources: setting name -> ``config``, ``metadata``, ``model input`` or ``default``.
    """

    input_hw: tuple[int, int]
    color_order: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    sources: Mapping[str, str]


def choose_providers(device: str, available: Sequence[str], cuda_usable: bool) -> list[Any]:
    """ONNX Runtime providers for ``device``: CUDA (then CPU) when asked for and usable, else CPU.

    ``onnxruntime-gpu`` lists the CUDA provider even on machines without a GPU, so ``cuda_usable``
    (a cheap check such as ``torch.cuda.is_available()``) must also hold.

    Example: ``choose_providers("cuda:1", ["CUDAExecutionProvider", "CPUExecutionProvider"], True)``
    is ``[("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]``.
    """
    if device == "cpu" or CUDA not in available or not cuda_usable:
        return [CPU]
    device_id = int(device.split(":", 1)[1]) if ":" in device else 0
    return [(CUDA, {"device_id": device_id}), CPU]


def _cuda_usable() -> bool:
    """True when a CUDA GPU can actually be used (not merely a CUDA build installed)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


class OnnxEmbedder:
    """ONNX Runtime ReID embedder: person crops -> (N, D) float32 L2-normalised vectors.

    Args:
        cfg: ``reid`` section of cams.yaml (``model``, ``device``, ``batch_size`` and the optional
            preprocessing overrides).

    Raises:
        ValueError: no model, an unreadable model, an input that is not an image batch, an input
            size that contradicts the settings (both shapes named), or bad metadata values.
    """

    def __init__(self, cfg: ReidConfig) -> None:
        import onnxruntime as ort

        if cfg.model is None:
            raise ValueError("reid.model: no model given; set reid.model to an ONNX file or leave reid out")
        self.path = Path(cfg.model)
        if not self.path.is_file():
            raise ValueError(f"reid.model: file not found: {self.path}")
        self.cfg = cfg
        wanted = cfg.device != "cpu"
        providers = choose_providers(cfg.device, ort.get_available_providers(), wanted and _cuda_usable())
        if wanted and cfg.device != "auto" and providers == [CPU]:
            log.warning("reid.device is %r but no usable CUDA GPU was found: running on the CPU", cfg.device)
        try:
            self.session = ort.InferenceSession(str(self.path), providers=providers)
        except Exception as exc:  # ONNX Runtime raises its own exception types
            raise ValueError(f"reid.model: {self.path}: ONNX Runtime cannot load it: {exc}") from None
        self.provider = self.session.get_providers()[0]
        if providers[0] != CPU and self.provider == CPU:
            log.warning("reid: the CUDA provider failed to start; running on the CPU")
        self._input = self.session.get_inputs()[0]
        outputs = [o.name for o in self.session.get_outputs()]
        self._output = next((name for name in OUTPUT_NAMES if name in outputs), outputs[0])
        self._dtype = _INPUT_DTYPES.get(self._input.type)
        if self._dtype is None:
            raise ValueError(f"reid.model: {self.path}: input {self._input.name!r} is {self._input.type}, expected float32 or float16")
        self.prep = self._preprocessing()
        static_batch = self._input.shape[0]
        self._fixed_batch = static_batch if isinstance(static_batch, int) and static_batch > 0 else None
        self.batch_size = self._fixed_batch or cfg.batch_size
        h, w = self.prep.input_hw
        mean, std = np.asarray(self.prep.mean, np.float32), np.asarray(self.prep.std, np.float32)
        self._scale = (1.0 / (255.0 * std)).reshape(1, 1, 1, 3)  # x / 255 - mean, / std in one step
        self._offset = (mean / std).reshape(1, 1, 1, 3)
        probe = np.zeros((self._fixed_batch or 1, 3, h, w), self._dtype)
        try:
            out = self.session.run([self._output], {self._input.name: probe})[0]
        except Exception as exc:
            raise ValueError(f"reid.model: {self.path}: a test run on a {list(probe.shape)} input failed: {exc}") from None
        self.dim = int(np.prod(out.shape[1:]))
        log.info(
            "reid %s on %s: input %s %dx%d %s, output %r D=%d (%s)",
            self.path.name, self.provider, self._input.name, h, w, self.prep.color_order.upper(),
            self._output, self.dim, ", ".join(f"{k} from {v}" for k, v in self.prep.sources.items()),
        )

    def _preprocessing(self) -> Preprocessing:
        meta = self.session.get_modelmeta().custom_metadata_map
        where = f"reid.model: {self.path}: metadata"
        sources: dict[str, str] = {}

        def pick(name: str, from_cfg: Any, key: str, parse: Any, default: Any) -> Any:
            if from_cfg is not None:
                sources[name] = "config"
                return from_cfg
            if key in meta:
                sources[name] = "metadata"
                return parse(meta[key], f"{where} {key}")
            sources[name] = "default"
            return default

        shape = list(self._input.shape)
        if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
            raise ValueError(
                f"reid.model: {self.path}: input {self._input.name!r} has shape {shape}; expected an "
                "image batch N x 3 x H x W"
            )
        static_hw = tuple(shape[2:]) if all(isinstance(v, int) and v > 0 for v in shape[2:]) else None
        input_hw = pick("input_hw", self.cfg.input_size_hw, META_INPUT_HW, _parse_hw, None)
        if input_hw is None:
            input_hw = static_hw or DEFAULT_INPUT_HW
            sources["input_hw"] = "model input" if static_hw else "default"
        elif static_hw is not None and tuple(input_hw) != static_hw:
            said = "reid.input_size_hw" if sources["input_hw"] == "config" else f"its metadata {META_INPUT_HW}"
            raise ValueError(
                f"reid.model: {self.path}: the model's input is N x 3 x {static_hw[0]} x {static_hw[1]} "
                f"but {said} asks for N x 3 x {input_hw[0]} x {input_hw[1]}; set reid.input_size_hw to "
                f"[{static_hw[0]}, {static_hw[1]}] or leave it out"
            )
        order = pick("color_order", self.cfg.color_order, META_COLOR_ORDER, _parse_order, DEFAULT_COLOR_ORDER)
        mean = pick("mean", self.cfg.mean, META_MEAN, _parse_triple, IMAGENET_MEAN)
        std = pick("std", self.cfg.std, META_STD, _parse_triple, IMAGENET_STD)
        if min(std) <= 0:
            raise ValueError(f"{where} {META_STD}: must be > 0, got {std}")
        return Preprocessing(
            input_hw=(int(input_hw[0]), int(input_hw[1])),
            color_order=order,
            mean=tuple(float(v) for v in mean),
            std=tuple(float(v) for v in std),
            sources=sources,
        )

    def preprocess(self, crops_bgr: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 BGR crops at the input size -> (N, 3, H, W) network input.

        The one place where BGR becomes RGB (for RGB models), then ``(x / 255 - mean) / std``.
        """
        x = crops_bgr[..., ::-1] if self.prep.color_order == "rgb" else crops_bgr
        x = x.astype(np.float32) * self._scale - self._offset
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=self._dtype)

    def crops(self, frames_bgr: Mapping[str, np.ndarray], dets: Detections) -> np.ndarray:
        """(N, H_in, W_in, 3) uint8 BGR crops of ``dets``, boxes clipped to their image.

        A box entirely outside its image becomes the nearest 1-pixel crop inside it.
        """
        h_in, w_in = self.prep.input_hw
        cameras = _row_cameras(dets, frames_bgr)
        out = np.empty((len(dets), h_in, w_in, 3), np.uint8)
        for i, (cam, box) in enumerate(zip(cameras, dets.xyxy, strict=True)):
            image = frames_bgr[cam]
            if image.ndim != 3 or image.shape[2] != 3:
                raise ValueError(f"embed: frame of camera {cam!r} has shape {image.shape}; expected H x W x 3 BGR")
            hi, wi = image.shape[:2]
            x1 = min(max(math.floor(box[0]), 0), wi - 1)
            y1 = min(max(math.floor(box[1]), 0), hi - 1)
            x2 = max(min(math.ceil(box[2]), wi), x1 + 1)
            y2 = max(min(math.ceil(box[3]), hi), y1 + 1)
            out[i] = cv2.resize(image[y1:y2, x1:x2], (w_in, h_in), interpolation=cv2.INTER_LINEAR)
        return out

    def embed(self, frames_bgr: Mapping[str, np.ndarray], dets: Detections) -> np.ndarray:
        """Embed the crops of ``dets`` from all cameras in batches of ``batch_size``.

        Args:
            frames_bgr: camera id -> H x W x 3 uint8 BGR image of this step.
            dets: rows to embed; their camera is the ``CAMERA_ID`` column (after
                ``Detections.concatenate``) or ``meta["camera_id"]``.

        Returns:
            (N, D) float32, each row of unit L2 norm.
        """
        n = len(dets)
        if n == 0:
            return np.zeros((0, self.dim), np.float32)
        crops = self.crops(frames_bgr, dets)
        parts = []
        for start in range(0, n, self.batch_size):
            x = self.preprocess(crops[start : start + self.batch_size])
            m = len(x)
            if self._fixed_batch and m < self._fixed_batch:  # a fixed-batch model: pad the last chunk
                x = np.concatenate([x, np.zeros((self._fixed_batch - m, *x.shape[1:]), x.dtype)])
            y = self.session.run([self._output], {self._input.name: x})[0]
            parts.append(np.asarray(y, np.float32).reshape(len(y), -1)[:m])
        vectors = np.concatenate(parts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def _row_cameras(dets: Detections, frames: Mapping[str, Any]) -> list[str]:
    """The camera of every row: the CAMERA_ID column, else the meta, else the only frame."""
    if CAMERA_ID in dets.data:
        cameras = [str(c) for c in dets.data[CAMERA_ID]]
    elif CAMERA_ID in dets.meta:
        cameras = [str(dets.meta[CAMERA_ID])] * len(dets)
    elif len(frames) == 1:
        cameras = [next(iter(frames))] * len(dets)
    else:
        raise ValueError(f"embed: rows name no camera (no {CAMERA_ID!r} column or meta) and there are {len(frames)} frames")
    missing = sorted(set(cameras) - set(frames))
    if missing:
        raise ValueError(f"embed: no frame for camera(s) {missing}; frames were given for {sorted(frames)}")
    return cameras


def _parse_hw(text: str, where: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{where}: expected 'height,width' such as '256,128', got {text!r}") from None
    if min(h, w) < 8:
        raise ValueError(f"{where}: input size must be >= 8 pixels, got {text!r}")
    return h, w


def _parse_order(text: str, where: str) -> str:
    order = text.strip().lower()
    if order not in ("rgb", "bgr"):
        raise ValueError(f"{where}: expected 'rgb' or 'bgr', got {text!r}")
    return order


def _parse_triple(text: str, where: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"{where}: expected 3 numbers such as '0.485,0.456,0.406', got {text!r}")
    return values  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------

EDGE_MARGIN_PX = 2.0  # a box within this distance of the image border is cut off by it
FORGET_AFTER_FRAMES = 300  # tracks unseen this long are forgotten (30 s at 10 fps)


class EmbeddingPolicy:
    """Which rows to embed this step: each track at most once per ``every_n_frames`` frames.

    A row is selected when its track (camera, track_id) has not been embedded yet or was last
    embedded ``every_n_frames`` or more frames ago, its box is at least ``min_height_px`` tall,
    and it is not cut off by the image border (a partial person gives a misleading appearance).
    Rows without a track id are never selected. The first eligible sighting of a track is always
    embedded. Tracks unseen for ``forget_after_frames`` are forgotten, so memory stays bounded; a
    frame number lower than the last one seen starts over (a new sequence).

    Args:
        cfg: ``reid`` section (``every_n_frames``, ``min_height_px``).
        forget_after_frames: frames after which an unseen track is forgotten.

    Example::

        policy = EmbeddingPolicy(ReidConfig(every_n_frames=5))
        mask = policy.select(dets, frame=7, image_sizes={"cam1": (960, 540)})
    """

    def __init__(self, cfg: ReidConfig, *, forget_after_frames: int = FORGET_AFTER_FRAMES) -> None:
        if forget_after_frames < 1:
            raise ValueError(f"forget_after_frames must be >= 1, got {forget_after_frames}")
        self.every_n_frames = cfg.every_n_frames
        self.min_height_px = cfg.min_height_px
        self.forget_after_frames = forget_after_frames
        # (camera, track id) -> [frame last seen, frame last embedded or None]
        self._tracks: dict[tuple[str, int], list[int | None]] = {}
        self._last_frame: int | None = None

    def __len__(self) -> int:
        """Tracks remembered now."""
        return len(self._tracks)

    def reset(self) -> None:
        """Forget every track."""
        self._tracks.clear()
        self._last_frame = None

    def select(
        self, dets: Detections, frame: int, image_sizes: Mapping[str, tuple[int, int]],
        embedded: np.ndarray | None = None,
    ) -> np.ndarray:
        """(N,) bool mask of the rows to embed now; marks them as embedded at ``frame``.

        Args:
            dets: tracked rows of this step (``track_id`` set; camera from the ``CAMERA_ID``
                column or meta).
            frame: the step's frame number.
            image_sizes: camera id -> (width, height) of its image.
            embedded: optional (N,) bool, rows whose embedding this step already has (the
                trackers' appearance gate embeds confident boxes every frame). They cost
                nothing, so they are selected whenever eligible, whatever ``every_n_frames``.
        """
        if self._last_frame is not None and frame < self._last_frame:
            self.reset()
        self._last_frame = frame
        stale = [k for k, (seen, _) in self._tracks.items() if frame - seen > self.forget_after_frames]
        for key in stale:
            del self._tracks[key]
        n = len(dets)
        mask = np.zeros(n, bool)
        if n:
            cameras = _row_cameras(dets, image_sizes)
            wh = np.array([image_sizes[c] for c in cameras], np.float64).reshape(n, 2)
            x1, y1, x2, y2 = dets.xyxy.astype(np.float64).T
            eligible = (
                (dets.track_id != UNSET_TRACK_ID)
                & (dets.height_px >= self.min_height_px)
                & (x1 > EDGE_MARGIN_PX)
                & (y1 > EDGE_MARGIN_PX)
                & (x2 < wh[:, 0] - EDGE_MARGIN_PX)
                & (y2 < wh[:, 1] - EDGE_MARGIN_PX)
            )
            for i, (cam, tid) in enumerate(zip(cameras, dets.track_id.tolist(), strict=True)):
                if tid == UNSET_TRACK_ID:
                    continue
                state = self._tracks.setdefault((cam, tid), [frame, None])
                state[0] = frame
                due = state[1] is None or frame - state[1] >= self.every_n_frames
                if eligible[i] and (due or (embedded is not None and embedded[i])):
                    state[1] = frame
                    mask[i] = True
        return mask
