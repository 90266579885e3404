"""CameraTracker: contract (rows, ids, SOURCE_INDEX), ID isolation between cameras, reset, bounded
state over a long stream, and the checked tracker YAMLs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtmc.config import TrackerConfig
from mtmc.configtools import ConfigError
from mtmc.detect._ultralytics import import_ultralytics
from mtmc.track import (
    GATE_AFTER_EMBEDDINGS,
    TRACKERS_DIR,
    CameraTracker,
    gate_by_appearance,
    load_tracker_args,
)
from mtmc.types import EMBEDDING, SOURCE_INDEX, Detections

TYPES = ["bytetrack", "botsort"]


def people(frame: int, starts: list[tuple[float, float]], step_px: float = 4.0, score: float = 0.9) -> Detections:
    """One 40x100 px box per start point, walking right by ``step_px`` per frame."""
    xy = np.array(starts, float).reshape(-1, 2) + [step_px * frame, 0.0]
    xyxy = np.concatenate([xy, xy + [40.0, 100.0]], axis=1)
    n = len(xyxy)
    return Detections(
        xyxy=xyxy,
        confidence=np.full(n, score),
        data={SOURCE_INDEX: np.arange(n), "tag": np.arange(n) * 10},
        meta={"camera_id": "cam1", "frame": frame},
    )


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def custom_config(tmp_path: Path, **changes: object) -> TrackerConfig:
    text = (TRACKERS_DIR / "bytetrack.yaml").read_text()
    lines = [ln for ln in text.splitlines() if not any(ln.startswith(f"{k}:") for k in changes)]
    lines += [f"{k}: {'null' if v is None else v}" for k, v in changes.items()]
    path = tmp_path / "tracker.yaml"
    path.write_text("\n".join(lines) + "\n")
    return TrackerConfig(type="bytetrack", config=path)


# --- configuration ----------------------------------------------------------------------------


def test_every_tracker_yaml_loads() -> None:
    files = sorted(TRACKERS_DIR.glob("*.yaml"))
    assert {p.stem for p in files} == set(TYPES)
    for path in files:
        args = load_tracker_args(TrackerConfig(type=path.stem, config=path))
        assert args.tracker_type == path.stem and args.with_reid is False
        assert args.gmc_method == "none" and args.buffer_fps == 10.0
    assert load_tracker_args(TrackerConfig(type="botsort")).tracker_type == "botsort"  # default path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"track_bufer": 30}, r"tracker.yaml: track_bufer: unknown key; did you mean 'track_buffer'"),
        ({"with_reid": "true"}, r"tracker.yaml: with_reid: must be false"),
        ({"tracker_type": "botsort"}, r"tracker.yaml: tracker_type: the file is for 'botsort' but tracker.type is 'bytetrack'"),
        ({"track_low_thresh": 0.7}, r"track_low_thresh: 0.7 is above track_high_thresh 0.5"),
        ({"track_buffer": "long"}, r"tracker.yaml: track_buffer: "),
        ({"appearance_gate": 2.5}, r"tracker.yaml: appearance_gate: must be a cosine distance in \(0, 2\]"),
    ],
)
def test_bad_tracker_yaml_is_a_config_error(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CameraTracker(custom_config(tmp_path, **changes), "cam1", 10.0)


def test_missing_tracker_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        CameraTracker(TrackerConfig(config=tmp_path / "nope.yaml"), "cam1", 10.0)


def test_track_buffer_is_a_duration_at_buffer_fps(tmp_path: Path) -> None:
    config = custom_config(tmp_path, track_buffer=30, buffer_fps=10.0)
    assert CameraTracker(config, "cam1", 10.0).track_buffer_frames == 30
    assert CameraTracker(config, "cam1", 30.0).track_buffer_frames == 90
    assert CameraTracker(config, "cam1", 5.0).track_buffer_frames == 15
    with pytest.raises(ValueError, match="fps must be a positive number"):
        CameraTracker(TrackerConfig(), "cam1", 0.0)


# --- contract ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TYPES)
def test_rows_are_the_detectors_rows_with_stable_ids(kind: str) -> None:
    tracker = CameraTracker(TrackerConfig(type=kind), "cam1", 10.0)
    for f in range(1, 21):
        dets = people(f, [(10, 50), (300, 60)])  # "tag" 0 and 10 follow the two people
        if f % 2:
            dets = dets[[1, 0]]  # the detector's row order changes from frame to frame
        dets.data[SOURCE_INDEX] = np.arange(2)
        out = tracker.update(dets, np.zeros((400, 640, 3), np.uint8))
        assert out.data[SOURCE_INDEX].tolist() == [0, 1]  # rows in the detector's order
        np.testing.assert_array_equal(out.xyxy, dets.xyxy)  # the detector's boxes, not the filter's
        np.testing.assert_array_equal(out.data["tag"], dets.data["tag"])
        assert out.meta == dets.meta
        # ids follow the people: the one in row 0 of frame 1 (tag 10) was numbered first
        assert dict(zip(out.data["tag"].tolist(), out.track_id.tolist(), strict=True)) == {10: 1, 0: 2}


def test_unconfirmed_tracks_are_not_reported() -> None:
    tracker = CameraTracker(TrackerConfig(), "cam1", 10.0)
    assert len(tracker.update(Detections.empty(frame=1))) == 0
    blip = people(2, [(100, 50)])
    assert len(tracker.update(blip)) == 0  # seen once: not confirmed yet
    out = tracker.update(people(3, [(100, 50)]))
    assert out.track_id.tolist() == [1]
    for f in range(4, 10):  # a one-frame false positive elsewhere never shows up
        dets = people(f, [(100, 50), (500, 200)] if f == 5 else [(100, 50)])
        out = tracker.update(dets)
        assert out.track_id.tolist() == [1]


def test_empty_frames_keep_columns_and_meta() -> None:
    tracker = CameraTracker(TrackerConfig(), "cam1", 10.0)
    dets = people(1, [])
    out = tracker.update(dets)
    assert len(out) == 0 and SOURCE_INDEX in out.data and out.meta == dets.meta


def test_lost_track_comes_back_within_the_buffer(tmp_path: Path) -> None:
    tracker = CameraTracker(custom_config(tmp_path, track_buffer=5), "cam1", 10.0)
    for f in range(1, 6):
        assert tracker.update(people(f, [(100, 50)])).track_id.tolist() == [1]
    for f in range(6, 9):  # hidden for 3 frames (< 5)
        assert len(tracker.update(people(f, []))) == 0
    assert tracker.update(people(9, [(100, 50)])).track_id.tolist() == [1]
    for f in range(10, 20):  # hidden for 10 frames (> 5): a new id
        tracker.update(people(f, []))
    tracker.update(people(20, [(100, 50)]))
    assert tracker.update(people(21, [(100, 50)])).track_id.tolist() == [2]


# --- isolation --------------------------------------------------------------------------------


@pytest.fixture(params=["per-tracker", "class-counter"])
def id_scheme(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Ultralytics 8.4 numbers tracks per tracker; earlier versions used one class-level counter
    (``BaseTrack._count``) for all trackers, zeroed by any tracker's reset. Emulate the latter."""
    import_ultralytics()  # offline, before anything else imports it
    from ultralytics.trackers import BYTETracker
    from ultralytics.trackers.basetrack import BaseTrack

    if request.param == "class-counter":
        def reset_id(self: BYTETracker) -> None:
            BaseTrack.reset_id()
            self._ids = iter(BaseTrack.next_id, None)  # every call bumps the shared counter

        monkeypatch.setattr(BYTETracker, "reset_id", reset_id)
    return request.param


@pytest.mark.parametrize("kind", TYPES)
def test_ids_are_isolated_between_cameras_and_resets(kind: str, id_scheme: str) -> None:
    from ultralytics.trackers.basetrack import BaseTrack

    BaseTrack._count = 1000  # someone else's trackers in the process
    a = CameraTracker(TrackerConfig(type=kind), "cam1", 10.0)
    b = CameraTracker(TrackerConfig(type=kind), "cam2", 10.0)
    seen_a, seen_b = set(), set()
    for f in range(1, 11):
        BaseTrack.reset_id()  # another tracker resetting the class counter must not matter...
        starts = [(10, 50), (200, 50), (400, 50)] + ([(10, 250)] if f >= 5 else [])
        ids_a = a.update(people(f, starts)).track_id.tolist()  # ...even when cam1 starts a track
        ids_b = b.update(people(f, [(50, 200), (300, 200)])).track_id.tolist()
        BaseTrack._count += 7
        assert len(set(ids_a)) == len(ids_a) == (3 if f < 6 else 4)
        assert ids_b == [1, 2]
        seen_a.update(ids_a)
        seen_b.update(ids_b)
    assert seen_a == {1, 2, 3, 4} and seen_b == {1, 2}
    assert BaseTrack._count == 0 + 7  # as the last reset_id and += 7 left it: our trackers restore it

    a.reset()  # a new sequence on cam1: its ids go on counting; cam2 is untouched
    for f in range(11, 16):
        ids_a = a.update(people(f, [(10, 300)])).track_id.tolist()
        ids_b = b.update(people(f, [(50, 200), (300, 200)])).track_id.tolist()
        assert ids_a == [5] and ids_b == [1, 2]


# --- bounded state ----------------------------------------------------------------------------


def test_state_stays_bounded_over_a_long_stream(tmp_path: Path) -> None:
    """A new person enters every 4 frames and stays 20 frames; 3000 frames, about 750 people,
    each with its own appearance (the tracker keeps a running mean per track)."""
    path = custom_config(tmp_path, appearance_gate=0.7).config
    tracker = CameraTracker(TrackerConfig(config=path, appearance=True), "cam1", 10.0)
    buffer = tracker.track_buffer_frames
    rng = np.random.default_rng(0)
    lanes = rng.uniform(0, 4000, size=(800, 2))  # far apart: no overlaps between people
    looks = unit(rng.normal(size=(800, 8)))
    max_sizes = dict.fromkeys(tracker.state_sizes(), 0)
    ids: set[int] = set()
    for f in range(1, 3001):
        alive = [k for k in range(f // 4 - 4, f // 4 + 1) if k >= 0]
        dets = people(f, [tuple(lanes[k]) for k in alive], step_px=1.0)
        out = tracker.update(dets.with_data(**{EMBEDDING: looks[alive]}))
        ids.update(out.track_id.tolist())
        sizes = tracker.state_sizes()
        max_sizes = {k: max(v, sizes[k]) for k, v in max_sizes.items()}
    assert len(ids) >= 700  # every person got its own id
    assert max_sizes["tracked"] <= 6
    assert max_sizes["lost"] <= buffer // 4 + 2  # one person leaves every 4 frames
    assert max_sizes["removed"] == 0
    assert max_sizes["id_map"] <= max_sizes["tracked"] + max_sizes["lost"] + 1
    assert 0 < max_sizes["appearance"] <= max_sizes["tracked"] + max_sizes["lost"] + 1


# --- appearance gate --------------------------------------------------------------------------


def test_gate_by_appearance_against_hand_computed_distances() -> None:
    cost = np.array([[0.1, 0.5], [0.3, 0.2], [0.4, 0.6]])
    tracks = np.array([[1.0, 0.0], [0.0, 1.0], [np.nan, np.nan]])  # the third is not known yet
    dets = np.array([[1.0, 0.0], [0.6, 0.8]])
    # cosine distances: track 0 -> 0.0, 0.4; track 1 -> 1.0, 0.2; track 2 -> unknown
    gated = gate_by_appearance(cost, tracks, dets, max_distance=0.5)
    assert gated.tolist() == [[0.1, 0.5], [1.0, 0.2], [0.4, 0.6]]
    assert gate_by_appearance(cost, tracks, dets, max_distance=0.3).tolist() == [
        [0.1, 1.0], [1.0, 0.2], [0.4, 0.6]
    ]
    assert cost[1, 0] == 0.3  # the input is not changed


@pytest.mark.parametrize("kind", TYPES)
def test_appearance_gate_stops_a_neighbour_taking_the_track(tmp_path: Path, kind: str) -> None:
    """A and B stand side by side; then A is hidden and B steps into A's place: by motion A's
    track takes B's box, with the gate it does not (B's box looks like B)."""
    look_a, look_b = np.eye(2)

    def track_b_box(gate: float | None, frames: int = GATE_AFTER_EMBEDDINGS) -> tuple[int, int]:
        path = custom_config(tmp_path, tracker_type=kind, appearance_gate=gate).config
        tracker = CameraTracker(TrackerConfig(type=kind, config=path, appearance=True), "cam1", 10.0)
        for _ in range(frames):
            both = people(0, [(100.0, 50.0), (150.0, 50.0)])
            out = tracker.update(both.with_data(**{EMBEDDING: np.stack([look_a, look_b])}))
        id_a, id_b = out.track_id.tolist()
        alone = people(0, [(112.0, 50.0)])  # B's box, where A stood
        out = tracker.update(alone.with_data(**{EMBEDDING: look_b[None]}))
        return id_a, (out.track_id.tolist() or [-1])[0]

    id_a, taken_by = track_b_box(gate=None)
    assert taken_by == id_a  # motion only: B's box continues A's track (a swap)
    id_a, taken_by = track_b_box(gate=0.7)
    assert taken_by != id_a
    # a young track (fewer embeddings than GATE_AFTER_EMBEDDINGS) is not gated yet
    id_a, taken_by = track_b_box(gate=0.7, frames=GATE_AFTER_EMBEDDINGS - 1)
    assert taken_by == id_a


def test_the_gate_is_used_only_with_tracker_appearance(tmp_path: Path) -> None:
    path = custom_config(tmp_path, appearance_gate=0.7).config
    assert CameraTracker(TrackerConfig(config=path, appearance=True), "cam1", 10.0).appearance_gate == 0.7
    assert CameraTracker(TrackerConfig(config=path), "cam1", 10.0).appearance_gate == 0.7  # default
    tracker = CameraTracker(TrackerConfig(config=path, appearance=False), "cam1", 10.0)
    assert tracker.appearance_gate is None and "appearance" not in type(tracker._tracker).__name__.lower()
