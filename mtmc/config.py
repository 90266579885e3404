"""Typed, frozen configuration of a multi-camera run (``cams.yaml``).

One dataclass per stage. Relative paths resolve against the folder of the YAML file. Unknown keys,
wrong types, missing files and invalid geometry are errors that name the file and the key path, e.g.
``cams.yaml: cameras[2].calibration: file not found: calib/cam3.json``.

Example ``cams.yaml``::

    name: demo
    cameras:
      - id: cam1
        source: videos/cam1.mp4          # video file | image folder | rtsp://... | device index
        calibration: calibration/cam1.json
        roi_floor_m: [[0, 0], [30, 0], [30, 20], [0, 20]]
      - id: door
        source: rtsp://${CAM_USER}:${CAM_PASSWORD}@10.0.0.7/stream1
        calibration: calibration/door.json
    detector: {backend: yolo, weights: ../models/detector/person.pt, confidence_min: 0.3}
    reid: {model: ../models/reid/base.onnx}
    eval: {world: gt/world.txt, mot: gt/{camera}.txt}

Load it with :func:`load_cams`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

from mtmc.configtools import (
    ConfigError,
    FieldError,
    from_mapping,
    load_yaml,
    show,
    to_public,
)

__all__ = [
    "AssociationConfig",
    "CameraConfig",
    "CamsConfig",
    "ConfigError",
    "DetectorConfig",
    "EXACT_BOXES_UNBIND_RESIDUAL_M",
    "EvalConfig",
    "OutputConfig",
    "ReidConfig",
    "TrackerConfig",
    "load_cams",
    "to_public",
]

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://")


@dataclass(frozen=True)
class CameraConfig:
    """One camera: where its frames come from and how it sees the floor.

    Attributes:
        id: unique camera id, used in every output (``mot/<id>.txt``, ``rtls.jsonl``).
        source: video file, image folder, stream URL (``rtsp://...``), or a device index (int).
        calibration: calibration file (project JSON, Metropolis ``calibration.json``, OpenCV XML or
            PETS Tsai XML) read by the ``calib`` package.
        fps: overrides the frame rate the source reports (e.g. a file whose header is wrong).
        roi_floor_m: floor polygon ``[[x, y], ...]`` in metres; detections whose foot point falls
            outside it are ignored by global association. ``None`` keeps the whole view.
    """

    id: str
    source: str | int
    calibration: Path
    fps: float | None = None
    roi_floor_m: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self) -> None:
        if not self.id or any(c.isspace() for c in self.id) or "/" in self.id:
            raise FieldError("id", f"camera id {self.id!r} must be non-empty, without spaces or '/'")
        if isinstance(self.source, int) and self.source < 0:
            raise FieldError("source", f"device index must be >= 0, got {self.source}")
        if self.fps is not None and not self.fps > 0:
            raise FieldError("fps", f"must be > 0 frames per second, got {self.fps}")
        if self.roi_floor_m is not None:
            _check_polygon(self.roi_floor_m)

    @property
    def is_stream(self) -> bool:
        """True for network streams (which reconnect) and device indices (which never end)."""
        return isinstance(self.source, int) or str(self.source).startswith(STREAM_SCHEMES)


def _check_polygon(points: tuple[tuple[float, float], ...]) -> None:
    from shapely.geometry import Polygon
    from shapely.validation import explain_validity

    if len(points) < 3:
        raise FieldError("roi_floor_m", f"a polygon needs at least 3 points, got {len(points)}")
    polygon = Polygon(points)
    if not polygon.is_valid:
        raise FieldError(
            "roi_floor_m",
            f"not a valid polygon ({explain_validity(polygon)}); list the corners in order "
            "around the area without crossing edges",
        )
    if polygon.area <= 0:
        raise FieldError("roi_floor_m", "the polygon has zero area")


DetectorPrecision = Literal["auto", "bf16"]
DETECTOR_PRECISIONS: tuple[str, ...] = get_args(DetectorPrecision)  # for command-line choices


@dataclass(frozen=True)
class DetectorConfig:
    """Person detector run on every camera's frames.

    Attributes:
        backend: ``bgsub`` (default; background subtraction for static cameras, no weights),
            ``yolo`` (ultralytics, any .pt/.onnx/.engine weights), ``hog`` (OpenCV's people detector, no
            weights) or ``file`` (precomputed MOTChallenge boxes per camera).
        weights: weights file for ``yolo``.
        file_pattern: for ``file``: path of each camera's MOTChallenge file (or CVML ``.xml``),
            ``{camera}`` replaced by the camera id (required with several cameras), relative to
            the YAML file.
        confidence_min: detections below this score are dropped. Lower it to find more people at
            the cost of more false positives.
        image_size_px: inference size (longest side) for ``yolo``. Larger finds smaller people but
            costs quadratically more time.
        device: ``auto`` (GPU when there is one), ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``yolo`` with ``.pt`` weights: ``auto`` (FP16 on a GPU, FP32 on a CPU) or
            ``bf16`` (bfloat16 arithmetic: on a CPU with native bfloat16 instructions, AVX512-BF16
            or AMX, about 1.7 times as fast as FP32; elsewhere FP32 is used and a warning logged).
            Exported models (.onnx, .engine) carry their own precision.
    """

    backend: Literal["yolo", "bgsub", "hog", "file"] = "bgsub"
    weights: Path | None = None
    file_pattern: str | None = None
    confidence_min: float = 0.3
    image_size_px: int = 640
    device: str = "auto"
    precision: DetectorPrecision = "auto"

    def __post_init__(self) -> None:
        if self.backend == "yolo" and self.weights is None:
            raise FieldError("weights", "backend 'yolo' needs a weights file (.pt, .onnx or .engine)")
        if self.backend == "file" and not self.file_pattern:
            raise FieldError(
                "file_pattern", "backend 'file' needs a file per camera, e.g. gt/{camera}.txt"
            )
        if not 0.0 <= self.confidence_min <= 1.0:
            raise FieldError("confidence_min", f"must be within [0, 1], got {self.confidence_min}")
        if not 32 <= self.image_size_px <= 4096 or self.image_size_px % 32:
            raise FieldError(
                "image_size_px", f"must be a multiple of 32 in [32, 4096], got {self.image_size_px}"
            )
        _check_device("device", self.device)


def _check_device(name: str, device: str) -> None:
    if device not in ("auto", "cpu", "cuda") and not (
        device.startswith("cuda:") and device[5:].isdigit()
    ):
        raise FieldError(name, f"expected auto, cpu, cuda or cuda:N, got {device!r}")


@dataclass(frozen=True)
class TrackerConfig:
    """Single-camera tracker, one independent instance per camera.

    Attributes:
        type: ``bytetrack`` or ``botsort`` (ultralytics implementations).
        config: ultralytics tracker YAML; ``None`` uses ``configs/trackers/<type>.yaml``.
        appearance: ``true`` (default) uses the YAML's ``appearance_gate`` when ``reid.model`` is
            set (a track only takes a detection that looks like it); ``false`` matches by motion
            alone. With the shipped detector and base model it lifts floor HOTA 72.9 -> 83.8 on the
            8-camera simulator scenes (README, "Accuracy on simulated sites"). Set it ``false``
            for ground-truth boxes: they include people mostly hidden behind others or racks,
            whose crops show what hides them (``configs/demo/cams_gt_boxes.yaml``).
    """

    type: Literal["bytetrack", "botsort"] = "bytetrack"
    config: Path | None = None
    appearance: bool = True


@dataclass(frozen=True)
class ReidConfig:
    """Appearance embedder (an ONNX model) and the policy that bounds its cost.

    Attributes:
        model: ONNX file; ``None`` runs without appearance (floor position only).
        device: ``auto`` (CUDA provider when available), ``cpu``, ``cuda`` or ``cuda:N``.
        batch_size: most crops per inference call.
        every_n_frames: embed each track at most once per this many frames. Lower is more
            robust to appearance change and costs more. Rows the trackers' appearance gate has
            embedded already (confident boxes, every frame) reach the associator whenever they
            are eligible, since they cost nothing more.
        min_height_px: crops shorter than this are not embedded (too little detail).
        input_size_hw: network input ``[height, width]``; ``None`` reads it from the model's
            metadata (default 256x128).
        color_order: ``rgb`` or ``bgr`` input; ``None`` reads the model's metadata (default rgb).
        mean, std: per-channel normalisation on 0-1 pixels; ``None`` reads the metadata
            (default ImageNet statistics).
    """

    model: Path | None = None
    device: str = "auto"
    batch_size: int = 64
    every_n_frames: int = 5
    min_height_px: int = 48
    input_size_hw: tuple[int, int] | None = None
    color_order: Literal["rgb", "bgr"] | None = None
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        _check_device("device", self.device)
        for name in ("batch_size", "every_n_frames", "min_height_px"):
            if getattr(self, name) < 1:
                raise FieldError(name, f"must be >= 1, got {getattr(self, name)}")
        if self.input_size_hw is not None and min(self.input_size_hw) < 8:
            raise FieldError("input_size_hw", f"must be [height, width] >= 8, got {self.input_size_hw}")
        if self.std is not None and min(self.std) <= 0:
            raise FieldError("std", f"must be > 0, got {self.std}")


# association.unbind_residual_m for exact boxes (ground truth as detections): their floor points
# scatter by 0.1-0.2 m, so a smaller residual already tells two people apart.
EXACT_BOXES_UNBIND_RESIDUAL_M = 0.45


@dataclass(frozen=True)
class AssociationConfig:
    """Online global association of per-camera tracklets into global ids (RTLS).

    Attributes:
        appearance_weight: weight of the appearance term in the fused cost (the rest is floor
            distance / ``gate_floor_m``). 0 uses geometry only: no appearance in the cost and no
            appearance check of bound tracklets (the trackers' gate is ``tracker.appearance``).
        appearance_margin: cosine distances up to this cost nothing; above it the appearance term
            is ``(distance - margin) / (1 - margin)``. A person's own crops scatter this far, so
            smaller differences are noise that must not outweigh the floor. Depends on the model:
            with the shipped base model on the 8-camera scenes (seeds 201-203, shipped detector;
            measured with the first version of the appearance swap check) 0.3 / 0.4 / 0.5 / 0.7
            gave floor HOTA 78.3 / 79.2 / 79.4 / 75.3; on the demo, with its fine-tuned model,
            whose distances are about half as large, 0.3 / 0.5 / 0.7 gave 74.2 / 73.3 / 73.8.
            With the current association (seeds 201-205): 0.35 / 0.4 / 0.5 / 0.6 -> 81.2 / 81.7
            / 80.8 / 79.0 (swap margin 0.1); 0.4 with swap margin 0.05 -> 82.1.
            A bound tracklet's embedding within this distance of its own track never counts
            against it in the association's appearance check.
        gate_floor_m: tracklets further than this from a global track's predicted floor position
            can never join it. Raise it for poor calibration; lower it for dense crowds.
            It is also the fixed scale of the floor term in the cost (floor distance / gate_floor_m).
        max_age_s: a global track unseen for this long is retired.
        tentative_s: a new tracklet waits this long for a match before it starts a new global id.
            Longer lets another camera confirm a new person; shorter reports new people sooner.
            New tracklets of two cameras on one spot away from every global track do not wait
            (``mtmc.associate.online.NEW_PERSON_CLEARANCE_M``).
        max_appearance_distance: cosine distance above which a tracklet can never join a global
            track (and an embedding of a bound one counts against it, as in the swap check of
            :mod:`mtmc.associate.online`). Depends on the ReID model: set it above the model's
            same-person distances (the shipped models reach ~0.9).
            Two duplicate global tracks whose appearances differ by more are not merged either.
        reentry_speed_mps: the floor gate of a global track grows by this speed times the time it
            has been unseen, so a person can come back elsewhere.
        unbind_after_s: a bound tracklet whose floor point contradicts its global track's
            prediction this long is released and matched again.
        unbind_residual_m: a bound tracklet whose floor point stands this far from the other
            cameras' points of its track (smoothed over half a second) is released: this undoes
            mix-ups of people walking side by side. Keep it above the scatter of one person's
            floor points across cameras, which depends on the boxes: 0.9 suits the shipped
            detector (on the 8-camera simulator scenes, seeds 201-203, 0.45 / 0.7 / 0.9 / 1.2
            gave floor HOTA 51.9 / 54.7 / 56.9 / 57.5, and 0.9 still separates people a metre
            apart); exact boxes (ground truth) allow
            ``EXACT_BOXES_UNBIND_RESIDUAL_M``, which catches mix-ups sooner (93.2 there against
            91.8 with 0.9).
        shadow_radius_m: a global id seen by one camera only is not reported (rtls.jsonl) while
            an id seen by two or more other cameras stands within this distance: such a
            "shadow" is most often the same person, split off by one camera's misplaced floor
            point. It stays tracked and is reported again once another camera joins it or it
            moves away. 0 reports every id. (8-camera scenes, seeds 201-203, no appearance, the
            detector's earlier weights: floor HOTA 55.1 with 0, 56.9 with 2 m; MOTA rises most.)
        static_alarm_s: a global id that one camera only has ever seen is not reported while
            it has stood still (within ``mtmc.associate.online.STATIC_ALARM_RADIUS_M``) for this
            long: most often a fixed object that the detector takes for a person (shelf goods, a
            mannequin, a poster), seen in every frame at one place. It stays tracked (so it
            starts no new id) and is reported again when it moves or another camera sees it.
            The same holds for a camera's tracklet that has stood still this long with no other
            camera's tracklet of its id beside it for most of that time, even when other cameras
            have seen its id (a passer-by's tracklet that joined it): an id seen by such
            tracklets alone is not reported and takes no new tracklet, such a tracklet starts or
            joins no id, and a new track of that camera on the same spot (the tracker lost the
            object for a moment) is the same alarm. A person who stands this long where one
            camera alone sees them is hidden too: raise it, or set 0 to report every id, where
            people wait at one spot (a till, a workstation).
            (8-camera scenes, the stage-2b detector: two of eight seeds had such an alarm for most of
            their 60 s, shelf goods far from the camera; floor HOTA 83.8 -> 84.6 and 87.2 ->
            88.7 with 20 s; the others within 0.1.)
        encounter_s: two ids that come within 1 m of each other and part again (1.5 m) within
            this long are checked for a swap: their floor positions and velocities when they met,
            carried forward, are compared with where they are, and if the two fit the other way
            round (by 1 m) their camera tracks are exchanged, unless appearance says each holds
            its own person (``mtmc.associate.online.ENCOUNTER_*``). That undoes the swap all
            cameras' trackers make when two people who look alike walk through each other.
            Only with appearance (``appearance_weight`` > 0): motion alone cannot tell a crossing
            from two people who meet and turn back. Longer covers slower crossings but takes more
            people who met, stopped and turned for a crossing; 0 = off. (8-camera scenes, shipped
            detector and base ReID model: seeds 201-203 floor HOTA 86.0 -> 87.1, IDF1 89.0 ->
            90.6; seeds 206-208 86.3 -> 86.8; seeds 204-205 89.1 -> 89.8.)
    """

    appearance_weight: float = 0.5
    appearance_margin: float = 0.4
    gate_floor_m: float = 1.5
    max_age_s: float = 10.0
    tentative_s: float = 0.5
    max_appearance_distance: float = 1.0
    reentry_speed_mps: float = 1.0
    unbind_after_s: float = 1.0
    unbind_residual_m: float = 0.9
    shadow_radius_m: float = 2.0
    static_alarm_s: float = 20.0
    encounter_s: float = 3.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.appearance_weight <= 1.0:
            raise FieldError("appearance_weight", f"must be within [0, 1], got {self.appearance_weight}")
        if not 0.0 <= self.appearance_margin < 1.0:
            raise FieldError("appearance_margin", f"must be within [0, 1), got {self.appearance_margin}")
        for name in ("gate_floor_m", "max_age_s", "max_appearance_distance", "unbind_residual_m"):
            if not getattr(self, name) > 0:
                raise FieldError(name, f"must be > 0, got {getattr(self, name)}")
        for name in ("tentative_s", "reentry_speed_mps", "unbind_after_s", "shadow_radius_m",
                     "static_alarm_s", "encounter_s"):
            if getattr(self, name) < 0:
                raise FieldError(name, f"must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class OutputConfig:
    """Where and how often results are written.

    Attributes:
        dir: output folder; ``None`` means ``runs/<name>`` in the current directory.
        flush_interval_s: outputs are flushed to disk at least this often.
    """

    dir: Path | None = None
    flush_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if not self.flush_interval_s > 0:
            raise FieldError("flush_interval_s", f"must be > 0, got {self.flush_interval_s}")


@dataclass(frozen=True)
class EvalConfig:
    """Ground truth to score the run against.

    Attributes:
        world: ``frame,id,x_m,y_m[,heading_rad]`` floor positions (1-based frames).
        mot: per-camera MOTChallenge ground truth (or CVML ``.xml``), ``{camera}`` replaced by
            the camera id (required with several cameras).
    """

    world: Path | None = None
    mot: str | None = None


@dataclass(frozen=True)
class CamsConfig:
    """A whole run: cameras plus one config per stage."""

    cameras: tuple[CameraConfig, ...]
    name: str = "run"
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    reid: ReidConfig = field(default_factory=ReidConfig)
    association: AssociationConfig = field(default_factory=AssociationConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    eval: EvalConfig | None = None

    def __post_init__(self) -> None:
        if not self.cameras:
            raise FieldError("cameras", "at least one camera is required")
        seen: set[str] = set()
        for i, cam in enumerate(self.cameras):
            if cam.id in seen:
                raise FieldError(f"cameras[{i}].id", f"camera id {cam.id!r} is used twice")
            seen.add(cam.id)
        if len(self.cameras) > 1:
            for key, pattern in (("detector.file_pattern", self.detector.file_pattern),
                                 ("eval.mot", self.eval.mot if self.eval else None)):
                if pattern is not None and "{camera}" not in pattern:
                    raise FieldError(
                        key, "with several cameras the pattern must contain {camera}, e.g. gt/{camera}.txt"
                    )
        if not self.name or "/" in self.name:
            raise FieldError("name", f"must be a non-empty name without '/', got {self.name!r}")

    def camera(self, camera_id: str) -> CameraConfig:
        """The camera with this id (KeyError listing the known ids otherwise)."""
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        raise KeyError(f"unknown camera {camera_id!r}; cams.yaml has {[c.id for c in self.cameras]}")


def load_cams(path: str | Path, *, check_files: bool = True) -> CamsConfig:
    """Load and validate a ``cams.yaml``.

    Args:
        path: the YAML file. Relative paths inside it resolve against its folder.
        check_files: also check that every calibration file, local video / image folder, weights
            file and ground-truth file exists (disable to inspect a config on another machine).

    Raises:
        ConfigError: with ``<file>: <key.path>: <problem>``.
    """
    path = Path(path)
    source = str(path)
    raw = load_yaml(path)
    base_dir = path.resolve().parent
    raw.setdefault("name", path.parent.name if path.stem == "cams" else path.stem)
    config = from_mapping(CamsConfig, raw, source=source, base_dir=base_dir)
    cameras = tuple(_resolve_source(cam, i, base_dir, source, check_files) for i, cam in enumerate(config.cameras))
    config = replace(config, cameras=cameras, eval=_resolve_eval(config.eval, base_dir))
    config = replace(config, detector=_resolve_detector(config.detector, base_dir))
    if check_files:
        _check_files(config, source, base_dir)
    return config


def _resolve_source(cam: CameraConfig, index: int, base_dir: Path, source: str, check: bool) -> CameraConfig:
    if isinstance(cam.source, int) or cam.is_stream:
        return cam
    if cam.source.isdigit():  # "0" written as a string still means a device
        return replace(cam, source=int(cam.source))
    local = Path(os.path.expanduser(cam.source))
    local = local if local.is_absolute() else base_dir / local
    if check and not local.exists():
        raise ConfigError(f"{source}: cameras[{index}].source: file not found: {show(cam.source)}")
    return replace(cam, source=str(Path(os.path.normpath(local))))


def _resolve_pattern(pattern: str, base_dir: Path) -> str:
    return pattern if os.path.isabs(pattern) else str(base_dir / pattern)


def _resolve_eval(ev: EvalConfig | None, base_dir: Path) -> EvalConfig | None:
    if ev is None or ev.mot is None:
        return ev
    return replace(ev, mot=_resolve_pattern(ev.mot, base_dir))


def _resolve_detector(det: DetectorConfig, base_dir: Path) -> DetectorConfig:
    if det.file_pattern is None:
        return det
    return replace(det, file_pattern=_resolve_pattern(det.file_pattern, base_dir))


def _check_files(config: CamsConfig, source: str, base_dir: Path) -> None:
    def must_exist(key: str, p: Path | str | None) -> None:
        if p is None or Path(p).exists():
            return
        shown = os.path.relpath(p, base_dir)  # as the user wrote it, when it is under the file's folder
        raise ConfigError(f"{source}: {key}: file not found: {p if shown.startswith('..') else shown}")

    for i, cam in enumerate(config.cameras):
        must_exist(f"cameras[{i}].calibration", cam.calibration)
    if config.detector.backend == "yolo":
        must_exist("detector.weights", config.detector.weights)
    if config.detector.backend == "file":
        for cam in config.cameras:
            must_exist("detector.file_pattern", config.detector.file_pattern.format(camera=cam.id))
    if config.tracker.config is not None:
        must_exist("tracker.config", config.tracker.config)
    if config.reid.model is not None:
        must_exist("reid.model", config.reid.model)
    if config.eval is not None:
        must_exist("eval.world", config.eval.world)
        if config.eval.mot is not None:
            for cam in config.cameras:
                must_exist("eval.mot", config.eval.mot.format(camera=cam.id))
