"""Per-camera tracking: ultralytics ByteTrack / BoT-SORT as a library, one isolated tracker per camera.

``CameraTracker.update(dets, frame)`` takes one camera's detections and returns the rows the
tracker reports this frame: the detector's own rows (boxes, scores and every column, including
``SOURCE_INDEX``) with ``track_id`` set. Tracks that are not confirmed yet (seen once, not on the
sequence's first frame) are not reported.

What this wrapper adds to ultralytics:

- **ID isolation.** Ultralytics versions before 8.4 count track ids in a class attribute
  (``BaseTrack._count``) shared by every tracker in the process and zeroed by any tracker's
  ``reset``: two cameras would share and reuse ids. Each ``CameraTracker`` saves and restores that
  counter around every call into ultralytics (single-threaded) and also numbers its reported
  tracks itself, 1, 2, ... in the order they are first reported. Ids are never reused by a
  tracker, not even after :meth:`CameraTracker.reset`.
- **Bounded state.** Ultralytics keeps removed tracks in ``removed_stracks`` (older versions let it
  grow forever; 8.4 keeps 1000). They only serve to drop removed tracks from the lost list, which
  this wrapper does directly after each update, so ``removed_stracks`` stays empty; the lost list
  is bounded by ``track_buffer``. :meth:`CameraTracker.state_sizes` reports the sizes.
- **Checked configuration.** The tracker YAML (``configs/trackers/<type>.yaml`` unless
  ``tracker.config`` names another file) is an ultralytics tracker file, read strictly: unknown keys
  and wrong types are errors naming the file and key. One extra key, ``buffer_fps``, makes
  ``track_buffer`` a duration: it is scaled by ``camera fps / buffer_fps``.
- **Appearance gate (on by default).** With ``tracker.appearance: true`` in cams.yaml (the
  default), an ``appearance_gate`` in the tracker YAML and a ``reid.model``, the pipeline embeds
  each camera's confident detections before tracking (``EMBEDDING`` column) and the tracker
  refuses a match whose detection looks unlike the track (cosine distance to the track's running
  mean embedding above the gate; :func:`gate_by_appearance`). Motion alone hands a track to a
  neighbour when people walk side by side and one hides the other; those swaps are what the
  global stage cannot undo. Measured in the README, "Accuracy on simulated sites"; off for
  ground-truth boxes.
- **No ReID or motion compensation by default.** BoT-SORT's own ReID must stay off (``with_reid:
  false``): appearance is embedded once per step for all cameras by :mod:`mtmc.embed`. Global
  motion compensation (``gmc_method``) is ``none`` for the fixed cameras this project targets; set
  ``sparseOptFlow`` for a moving camera (then pass the frame to ``update``).

Example::

    tracker = CameraTracker(TrackerConfig(type="bytetrack"), camera_id="cam1", fps=10.0)
    for image, dets in frames:
        tracked = tracker.update(dets, image)      # Detections with track_id, SOURCE_INDEX kept
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal, TypeVar

import numpy as np

from mtmc.config import TrackerConfig
from mtmc.configtools import ConfigError, FieldError, from_mapping, load_yaml
from mtmc.detect._ultralytics import import_ultralytics
from mtmc.types import EMBEDDING, Detections

__all__ = [
    "TRACKERS_DIR",
    "CameraTracker",
    "UltralyticsTrackerArgs",
    "gate_by_appearance",
    "load_tracker_args",
]

log = logging.getLogger("mtmc.track")

TRACKERS_DIR = Path(__file__).resolve().parents[1] / "configs" / "trackers"

_T = TypeVar("_T")

# Weight of a new embedding in a track's running mean (appearance gate). Small: one crop of a
# person half hidden by a neighbour should not make the track look like the neighbour.
TRACK_APPEARANCE_EMA = 0.1
# Embeddings a track's running mean needs before the gate applies to it: the mean of a young
# track is one or two crops, too noisy to refuse matches with. Measured with the earlier ReID
# models and gate 0.7: on the 4-camera demo gating from the first crop cost 5 floor HOTA
# (64.6 -> 59.6); waiting for 5, 10 or 20 crops: 64.4, 64.4, 64.9. On the 8-camera scenes (seeds
# 201-203, base model): from the first crop 68.6; 5, 10, 20: 67.4, 69.7, 67.1. With the shipped
# models and gate 0.4 (same scenes): 5, 10, 20: 69.7, 72.5, 68.3.
GATE_AFTER_EMBEDDINGS = 10


@dataclass(frozen=True)
class UltralyticsTrackerArgs:
    """The keys of an ultralytics ByteTrack / BoT-SORT YAML, checked (see ``configs/trackers``).

    Attributes:
        tracker_type: ``bytetrack`` or ``botsort``; must equal ``tracker.type`` in cams.yaml.
        track_high_thresh: detections scoring at least this are matched first and may start
            tracks.
        track_low_thresh: detections between this and ``track_high_thresh`` can only extend
            existing tracks (ByteTrack's second association); lower ones are ignored.
        new_track_thresh: an unmatched detection must score at least this to start a track.
        track_buffer: frames a lost track is kept for re-identification by motion.
        match_thresh: largest matching cost (1 - IoU, times the score when ``fuse_score``)
            accepted in the first association.
        fuse_score: multiply IoU similarity by the detection score before matching.
        buffer_fps: (mtmc) frame rate ``track_buffer`` is counted at: it is scaled by
            ``camera fps / buffer_fps``. ``None`` uses ``track_buffer`` frames as given.
        gmc_method: BoT-SORT camera-motion compensation: ``none`` (fixed cameras),
            ``sparseOptFlow``, ``orb``, ``sift`` or ``ecc``.
        proximity_thresh, appearance_thresh, model: BoT-SORT ReID settings, unused because
            ``with_reid`` must be false.
        with_reid: must be false (appearance comes from ``reid.model``).
        appearance_gate: (mtmc) largest cosine distance (0-2) between a track's running mean
            embedding and a detection's embedding for the two to be matched; ``None`` matches by
            motion alone. Used only with ``tracker.appearance: true`` and a ``reid.model``.
    """

    tracker_type: Literal["bytetrack", "botsort"]
    track_high_thresh: float
    track_low_thresh: float
    new_track_thresh: float
    track_buffer: int
    match_thresh: float
    fuse_score: bool = True
    buffer_fps: float | None = None
    gmc_method: Literal["none", "sparseOptFlow", "orb", "sift", "ecc"] = "none"
    proximity_thresh: float = 0.5
    appearance_thresh: float = 0.8
    with_reid: bool = False
    model: str | None = None
    appearance_gate: float | None = None

    def __post_init__(self) -> None:
        for name in ("track_high_thresh", "track_low_thresh", "new_track_thresh", "match_thresh"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise FieldError(name, f"must be within [0, 1], got {getattr(self, name)}")
        if self.track_low_thresh > self.track_high_thresh:
            raise FieldError(
                "track_low_thresh",
                f"{self.track_low_thresh} is above track_high_thresh {self.track_high_thresh}",
            )
        if self.track_buffer < 1:
            raise FieldError("track_buffer", f"must be >= 1 frame, got {self.track_buffer}")
        if self.buffer_fps is not None and not self.buffer_fps > 0:
            raise FieldError("buffer_fps", f"must be > 0 frames per second, got {self.buffer_fps}")
        if self.appearance_gate is not None and not 0.0 < self.appearance_gate <= 2.0:
            raise FieldError(
                "appearance_gate",
                f"must be a cosine distance in (0, 2], got {self.appearance_gate}; remove the key "
                "to match by motion alone",
            )
        if self.with_reid:
            raise FieldError(
                "with_reid",
                "must be false: mtmc embeds appearance once for all cameras (reid.model in "
                "cams.yaml), the tracker's own ReID would run a second model",
            )


def load_tracker_args(cfg: TrackerConfig) -> UltralyticsTrackerArgs:
    """Read and check the tracker YAML of ``cfg`` (``configs/trackers/<type>.yaml`` by default).

    Raises:
        ConfigError: missing file, unknown key, wrong type or value, or a ``tracker_type`` that
            differs from ``cfg.type``; the message names the file and the key.
    """
    path = Path(cfg.config) if cfg.config is not None else TRACKERS_DIR / f"{cfg.type}.yaml"
    args = from_mapping(UltralyticsTrackerArgs, load_yaml(path), source=str(path))
    if args.tracker_type != cfg.type:
        raise ConfigError(
            f"{path}: tracker_type: the file is for {args.tracker_type!r} but tracker.type is "
            f"{cfg.type!r}; make them agree"
        )
    return args


def gate_by_appearance(
    cost: np.ndarray, track_emb: np.ndarray, det_emb: np.ndarray, max_distance: float
) -> np.ndarray:
    """Forbid matches between tracks and detections that look unlike.

    Args:
        cost: (T, D) matching costs in [0, 1] (ultralytics: 1 - IoU, fused with the score).
        track_emb: (T, E) unit embeddings of the tracks (running means); NaN rows: not known.
        det_emb: (D, E) unit embeddings of the detections; NaN rows: not embedded.
        max_distance: largest cosine distance (1 - cos) a match may have.

    Returns:
        A copy of ``cost`` set to 1 (no match: above every matching threshold) where the cosine
        distance exceeds ``max_distance``. Pairs with an unknown embedding keep their cost.
    """
    distance = 1.0 - np.asarray(track_emb, np.float64) @ np.asarray(det_emb, np.float64).T
    with np.errstate(invalid="ignore"):
        unlike = distance > max_distance  # NaN (unknown) compares False
    return np.where(unlike, 1.0, cost)


def _appearance_gated(base: type) -> type:
    """A subclass of the ultralytics tracker ``base`` whose matching costs pass through
    :func:`gate_by_appearance` (first association and unconfirmed tracks; ByteTrack's second,
    low-score pass stays motion only, as its detections are not embedded). Tracks whose running
    mean has fewer than ``GATE_AFTER_EMBEDDINGS`` embeddings are not gated."""

    class AppearanceGated(base):  # type: ignore[misc, valid-type]
        def __init__(self, args: Any, max_distance: float) -> None:
            super().__init__(args)
            self.max_distance = max_distance
            # ultralytics track id -> (running mean embedding, embeddings in it)
            self.track_emb: dict[int, tuple[np.ndarray, int]] = {}
            self.det_emb: np.ndarray | None = None  # this frame's (N, E) detection embeddings

        def get_dists(self, tracks: list[Any], detections: list[Any]) -> np.ndarray:
            cost = super().get_dists(tracks, detections)
            if self.det_emb is None or not len(tracks) or not len(detections):
                return cost
            young = (np.full(self.det_emb.shape[1], np.nan, np.float32), 0)  # not gated
            means = [self.track_emb.get(t.track_id, young) for t in tracks]
            track_emb = np.array([mean if n >= GATE_AFTER_EMBEDDINGS else young[0] for mean, n in means])
            return gate_by_appearance(cost, track_emb, self.det_emb[[d.idx for d in detections]],
                                      self.max_distance)

    AppearanceGated.__name__ = f"AppearanceGated{base.__name__}"
    return AppearanceGated


class _Boxes:
    """The detections in the shape ultralytics trackers read (``conf``, ``cls``, ``xywh``,
    ``xyxy``, boolean indexing), as numpy arrays."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
        self.conf = np.asarray(conf, np.float32).reshape(-1)
        self.cls = np.asarray(cls, np.float32).reshape(-1)

    @property
    def xywh(self) -> np.ndarray:
        out = self.xyxy.copy()
        out[:, 2:] -= out[:, :2]
        out[:, :2] += out[:, 2:] / 2
        return out

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: Any) -> _Boxes:
        return _Boxes(self.xyxy[index], self.conf[index], self.cls[index])


class CameraTracker:
    """One camera's tracker (ultralytics ByteTrack or BoT-SORT) with its own track ids.

    Args:
        cfg: ``tracker`` section of cams.yaml (``type``, optional ``config`` YAML).
        camera_id: the camera, for messages.
        fps: the camera's frame rate, used to scale ``track_buffer`` (see ``buffer_fps``).

    Raises:
        ConfigError: the tracker YAML is wrong.
        ValueError: ``fps`` is not a positive number.
    """

    def __init__(self, cfg: TrackerConfig, camera_id: str, fps: float) -> None:
        if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"CameraTracker({camera_id!r}): fps must be a positive number, got {fps!r}")
        self.camera_id = camera_id
        self.fps = float(fps)
        self.args = load_tracker_args(cfg)
        buffer = self.args.track_buffer
        if self.args.buffer_fps is not None:
            buffer = max(1, round(buffer * self.fps / self.args.buffer_fps))
        self.track_buffer_frames = buffer
        namespace = asdict(self.args)
        namespace.pop("buffer_fps")
        gate = namespace.pop("appearance_gate")
        if not cfg.appearance:
            gate = None
        namespace.update(track_buffer=buffer, device="cpu")
        import_ultralytics()
        trackers = importlib.import_module("ultralytics.trackers")
        basetrack = importlib.import_module("ultralytics.trackers.basetrack")
        self._base_track = basetrack.BaseTrack
        self._removed_state = basetrack.TrackState.Removed
        tracker_cls = trackers.BOTSORT if self.args.tracker_type == "botsort" else trackers.BYTETracker
        self._class_count = 0  # this tracker's value of ultralytics' class-level id counter
        if gate is None:
            self._tracker = self._isolated(lambda: tracker_cls(SimpleNamespace(**namespace)))
        else:
            gated = _appearance_gated(tracker_cls)
            self._tracker = self._isolated(lambda: gated(SimpleNamespace(**namespace), gate))
        self._uses_frame = self.args.tracker_type == "botsort" and self.args.gmc_method != "none"
        self.appearance_gate = gate  # None: motion only
        self._ids: dict[int, int] = {}  # ultralytics track id -> id reported by this tracker
        self._next_id = 1
        log.debug("camera %s: %s, track_buffer %d frames at %.3g fps", camera_id, self.args.tracker_type, buffer, fps)

    def _isolated(self, call: Callable[[], _T]) -> _T:
        """Run ``call`` with ultralytics' class-level id counter set to this tracker's value."""
        base = self._base_track
        saved = base._count
        base._count = self._class_count
        try:
            return call()
        finally:
            self._class_count = base._count
            base._count = saved

    def update(self, dets: Detections, frame_bgr: np.ndarray | None = None) -> Detections:
        """Advance one frame.

        Args:
            dets: this camera's detections of the frame (any columns; ``SOURCE_INDEX`` is kept).
            frame_bgr: the image; only used by BoT-SORT with motion compensation.

        With an appearance gate, the rows' ``EMBEDDING`` column (unit vectors; NaN rows: not
        embedded) gates the matching; without the column the tracker matches by motion alone.

        Returns:
            The rows of ``dets`` that belong to confirmed tracks this frame, in detector order,
            with ``track_id`` set (1, 2, ... per tracker) and ``dets.meta`` copied.
        """
        boxes = _Boxes(dets.xyxy, dets.confidence, dets.class_id)
        image = frame_bgr if self._uses_frame else None
        emb = dets.data.get(EMBEDDING) if self.appearance_gate is not None else None
        if emb is not None:
            self._tracker.det_emb = np.asarray(emb, np.float32)
        result = self._isolated(lambda: self._tracker.update(boxes, image))
        result = np.asarray(result, dtype=np.float64).reshape(len(result), -1) if len(result) else None
        if emb is not None:
            self._update_track_appearance()
            self._tracker.det_emb = None
        self._bound_state()
        if result is None:
            return dets[np.zeros(len(dets), bool)]
        source = result[:, -1].astype(np.int64)
        order = np.argsort(source, kind="stable")
        source = source[order]
        ids = np.array([self._our_id(int(u)) for u in result[order, 4]], dtype=np.int64)
        out = dets[source]
        out.track_id = ids
        return out

    def _update_track_appearance(self) -> None:
        """Move the running mean of each track matched this frame towards its detection's
        embedding (tracks matched to an unembedded detection keep theirs)."""
        t = self._tracker
        for track in t.tracked_stracks:
            if track.frame_id != t.frame_id:
                continue
            new = t.det_emb[track.idx]
            if not np.isfinite(new).all():
                continue
            old, n = t.track_emb.get(track.track_id, (new, 0))
            mean = (1 - TRACK_APPEARANCE_EMA) * old + TRACK_APPEARANCE_EMA * new if n else new
            t.track_emb[track.track_id] = (mean / max(float(np.linalg.norm(mean)), 1e-12), n + 1)

    def _our_id(self, ultralytics_id: int) -> int:
        our = self._ids.get(ultralytics_id)
        if our is None:
            our = self._ids[ultralytics_id] = self._next_id
            self._next_id += 1
        return our

    def _bound_state(self) -> None:
        """Drop removed tracks now (instead of keeping them in ``removed_stracks``) and forget
        the ids of tracks ultralytics no longer holds."""
        t = self._tracker
        t.lost_stracks = [s for s in t.lost_stracks if s.state != self._removed_state]
        t.removed_stracks = []
        held = len(t.tracked_stracks) + len(t.lost_stracks)
        appearance = getattr(t, "track_emb", None)
        if len(self._ids) > held or (appearance is not None and len(appearance) > held):
            live = {s.track_id for s in t.tracked_stracks} | {s.track_id for s in t.lost_stracks}
            self._ids = {k: v for k, v in self._ids.items() if k in live}
            if appearance is not None:
                t.track_emb = {k: v for k, v in appearance.items() if k in live}

    def reset(self) -> None:
        """Forget all tracks (e.g. after a stream reconnects). Ids keep counting up, so a track
        after the reset never gets the id of one before it; other cameras are not affected."""
        self._isolated(self._tracker.reset)
        self._ids.clear()
        if self.appearance_gate is not None:
            self._tracker.track_emb.clear()

    def state_sizes(self) -> dict[str, int]:
        """Sizes of everything the tracker keeps: ``tracked``, ``lost``, ``removed`` tracks, the
        ``id_map`` entries and the tracks' ``appearance`` means. All stay bounded on an endless
        stream."""
        t = self._tracker
        return {
            "tracked": len(t.tracked_stracks),
            "lost": len(t.lost_stracks),
            "removed": len(t.removed_stracks),
            "id_map": len(self._ids),
            "appearance": len(getattr(t, "track_emb", ())),
        }
