"""The simulator's pieces: presets, world geometry, walking paths, cameras, looks, file writers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from calib import PinholeCamera
from mtmc.configtools import ConfigError
from mtmc.synth.appearance import sample_appearances
from mtmc.synth.body import build_body
from mtmc.synth.cameras import CameraSpec, coverage_shares, seen_mask
from mtmc.synth.config import (
    PRESETS_DIR,
    CameraRigConfig,
    PeopleConfig,
    SynthConfig,
    load_preset,
    with_overrides,
)
from mtmc.synth.export_yolo import export_yolo, scene_names
from mtmc.synth.motion import Tracks
from mtmc.synth.output import floor_transform, pipeline_models, write_cams_yaml, write_world_gt
from mtmc.synth.world import Door, light_level, make_world

# -- presets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(PRESETS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_preset_loads(path):
    cfg = load_preset(path)
    assert cfg.name == path.stem
    assert load_preset(path.stem) == cfg


def test_warehouse_is_the_documented_default_demo():
    cfg = load_preset("warehouse")
    assert (cfg.cameras.count, cfg.people.count, cfg.duration_s, cfg.fps, cfg.image_size_wh) == (
        4,
        12,
        60,
        10,
        (960, 540),
    )
    assert cfg.n_frames == 600


def test_unknown_preset_key_is_rejected_with_its_path(tmp_path):
    raw = yaml.safe_load((PRESETS_DIR / "warehouse.yaml").read_text())
    raw["people"]["lookalikes"] = 0.3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(
        ConfigError,
        match=r"bad.yaml: people.lookalikes: unknown key; did you mean 'lookalike_share'",
    ):
        load_preset(bad)


def test_out_of_range_preset_value_names_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cameras: {hfov_deg: [90, 60]}\n")
    with pytest.raises(ConfigError, match=r"cameras.hfov_deg: must be \[min, max\]"):
        load_preset(bad)


def test_unknown_preset_name():
    with pytest.raises(ConfigError, match="unknown preset; choose from"):
        load_preset("castle")


def test_overrides_replace_only_what_is_given():
    cfg = with_overrides(
        load_preset("retail"),
        seed=9,
        cameras=6,
        people=20,
        seconds=5,
        fps=15,
        size_wh=(640, 360),
        lookalike_share=0.0,
    )
    assert (cfg.seed, cfg.cameras.count, cfg.people.count, cfg.duration_s, cfg.fps) == (
        9,
        6,
        20,
        5.0,
        15.0,
    )
    assert cfg.image_size_wh == (640, 360) and cfg.people.lookalike_share == 0.0
    assert cfg.floor == load_preset("retail").floor
    assert cfg.n_frames == 75


# -- world -------------------------------------------------------------------------------------


def _world():
    return make_world((10.0, 8.0), [(3.0, 3.0, 7.0, 4.0, 2.0)], [Door("south", 5.0, 2.0, 3.0)])


@pytest.mark.parametrize(
    ("target", "blocked"),
    [
        ((5.0, 6.0, 1.0), True),  # straight through the box
        ((5.0, 6.0, 4.0), False),  # over it
        ((1.0, 3.5, 1.0), False),  # past its end
        ((5.0, 2.5, 1.0), False),  # stops before it
    ],
)
def test_segments_blocked_by_a_box(target, blocked):
    assert _world().segments_blocked((5.0, 1.0, 1.0), [target]).tolist() == [blocked]


def test_walking_paths_go_around_shelves():
    world = _world()
    path = world.nav.plan((5.0, 2.0), (5.0, 6.0))
    assert len(path) >= 3  # it has to turn at the shelf's end
    np.testing.assert_allclose(path[0], (5.0, 2.0))
    np.testing.assert_allclose(path[-1], (5.0, 6.0))
    for a, b in zip(path[:-1], path[1:], strict=True):
        assert world.nav.line_free(a, b)
    length = np.linalg.norm(np.diff(path, axis=0), axis=1).sum()
    straight = 4.0
    assert (
        straight < length < straight + 2 * 2.5 + 1.0
    )  # around one end of a 4 m shelf, not further


def test_door_points_are_inside_the_walls():
    assert Door("south", 5.0, 2.0, 3.0).point((10.0, 8.0), 0.5).tolist() == [5.0, 0.5]
    assert Door("east", 3.0, 2.0, 3.0).point((10.0, 8.0), 0.5).tolist() == [9.5, 3.0]
    assert Door("north", 5.0, 2.0, 3.0).inward_heading() == pytest.approx(-math.pi / 2)


def test_light_level_is_ambient_plus_lamp_times_gradient():
    lamps = np.array([[2.0, 2.0]])
    level = light_level(np.array([[2.0, 2.0], [10.0, 2.0]]), (10.0, 8.0), lamps, 0.6, 0.4, 0.5, 1.0)
    assert level[0] == pytest.approx((0.6 + 0.4) * (1 + 0.5 * (2 / 10 - 0.5)))
    assert level[1] == pytest.approx((0.6 + 0.4 * math.exp(-64 / 2)) * (1 + 0.5 * (10 / 10 - 0.5)))


# -- cameras -----------------------------------------------------------------------------------


def test_coverage_shares_count_walkable_cells():
    counts = np.array([[0, 1], [2, 3]])
    walkable = np.ones((2, 2), bool)
    assert coverage_shares(counts, walkable) == {"ge1": 0.75, "ge2": 0.5, "ge3": 0.25}
    walkable[0, 0] = False
    assert coverage_shares(counts, walkable) == {
        "ge1": 1.0,
        "ge2": pytest.approx(2 / 3, abs=1e-4),
        "ge3": pytest.approx(1 / 3, abs=1e-4),
    }


def test_seen_needs_the_whole_person_in_view_and_a_free_line_of_sight():
    world = _world()
    cam = PinholeCamera.look_at((5.0, 0.3, 4.0), (5.0, 5.0, 0.0), (320, 180), 90.0, "cam1")
    pts = np.array([[5.0, 2.5], [5.0, 4.6], [5.0, 0.4], [2.0, 6.0]])
    seen = seen_mask(world, cam, pts, max_range_m=20.0)
    # in front of the shelf: seen; right behind it: hidden; under the camera: feet out of view
    assert seen[:3].tolist() == [True, False, False]
    assert not seen_mask(world, cam, pts[:1], max_range_m=1.0)[0]  # beyond the range


def test_camera_spec_json_reports_the_mount():
    spec = CameraSpec.make("cam3", (1.0, 2.0, 5.0), (6.0, 2.0, 0.0), (960, 540), 90.0)
    js = spec.to_json()
    assert js["id"] == "cam3" and js["position_m"] == [1.0, 2.0, 5.0]
    assert js["pitch_deg"] == pytest.approx(45.0)


def test_placement_spreads_cameras_and_is_seeded():
    from mtmc.synth.cameras import place_cameras
    from mtmc.synth.scene import CAMERAS, LAYOUT, stream
    from mtmc.synth.world import generate_world

    cfg = load_preset("warehouse")
    world = generate_world(cfg.floor, stream(0, LAYOUT))
    rig = CameraRigConfig(count=3, candidates=60)
    a = place_cameras(world, rig, (320, 180), stream(0, CAMERAS))
    b = place_cameras(world, rig, (320, 180), stream(0, CAMERAS))
    assert [s.to_json() for s in a] == [s.to_json() for s in b]
    assert [s.id for s in a] == ["cam1", "cam2", "cam3"]
    pos = np.array([s.position_m for s in a])
    assert all(np.hypot(*(pos[i, :2] - pos[j, :2])) >= 3.0 for i in range(3) for j in range(i))
    assert all(rig.height_m[0] <= z for z in pos[:, 2])


# -- people --------------------------------------------------------------------------------------


def test_lookalikes_share_a_uniform_and_differ_in_details():
    people = sample_appearances(
        PeopleConfig(count=20, lookalike_share=0.6), "warehouse", np.random.default_rng(5)
    )
    groups: dict[int, list] = {}
    for p in people:
        if p.lookalike_group:
            groups.setdefault(p.lookalike_group, []).append(p)
    assert sum(len(g) for g in groups.values()) == 12
    assert all(len(g) >= 2 for g in groups.values())
    uniform = (
        "top_bgr",
        "top_pattern",
        "trousers_bgr",
        "vest_bgr",
        "headwear",
        "headwear_bgr",
        "gloves_bgr",
    )
    for members in groups.values():
        for a in members:
            for b in members:
                if a is b:
                    continue
                assert all(getattr(a, k) == getattr(b, k) for k in uniform)
                differs = [
                    a.labels["hair"] != b.labels["hair"],
                    a.shoes_bgr != b.shoes_bgr,
                    a.labels["chest_print"] != b.labels["chest_print"],
                ]
                assert sum(differs) >= 2
    unique = [(p.labels["top"], p.labels["trousers"]) for p in people if not p.lookalike_group]
    assert len(set(unique)) == len(unique)


def test_body_stands_on_the_floor_and_swings_its_legs_when_walking():
    app = sample_appearances(PeopleConfig(count=1), "warehouse", np.random.default_rng(0))[0]
    tracks = Tracks.standing(np.array([[3.0, 2.0]]), np.array([0.0]), n_frames=8)
    tracks.speed_mps[0, 4:] = 1.3
    tracks.phase_rad[0] = np.linspace(0, 2 * math.pi, 8)
    body = build_body(app, tracks, 0)
    z = body.points_m[..., 2]
    names = [p.name for p in body.parts]
    shoes = [body.parts[names.index(n)] for n in ("shoe_l", "shoe_r")]
    sole = np.min([z[:, s.start : s.stop] - s.radii_m[0] for s in shoes], axis=(0, 2))
    np.testing.assert_allclose(
        sole, 0.0, atol=0.02 * app.height_m
    )  # the lowest sole touches the floor
    assert z.max() == pytest.approx(app.height_m, abs=0.12 * app.height_m)
    knees = {s: body.points_m[:, body.parts[names.index(f"thigh_{s}")].stop - 1, 0] for s in "lr"}
    assert np.ptp(knees["l"][:4]) < 1e-6  # standing: legs still
    assert np.ptp(knees["l"][4:]) > 0.05 * app.height_m  # walking: legs swing


# -- writers -------------------------------------------------------------------------------------


def test_pipeline_models_prefer_shipped_models(tmp_path):
    assert pipeline_models(tmp_path) == {  # exact boxes: the residual check set for them
        "detector": {"backend": "file", "file_pattern": "gt/{camera}.txt"},
        "tracker": {"appearance": False},
        "association": {"unbind_residual_m": 0.45},
        "reid": {"model": None},
    }
    (tmp_path / "models" / "detector").mkdir(parents=True)
    (tmp_path / "models" / "reid").mkdir(parents=True)
    (tmp_path / "models" / "detector" / "person.pt").write_bytes(b"")
    (tmp_path / "models" / "reid" / "base.onnx").write_bytes(b"")
    got = pipeline_models(tmp_path)
    assert got["detector"] == {
        "backend": "yolo",
        "weights": str((tmp_path / "models/detector/person.pt").resolve()),
        "image_size_px": 640,
    }
    assert got["reid"] == {"model": str((tmp_path / "models/reid/base.onnx").resolve()),
                           "min_height_px": 32}
    assert "association" not in got and "tracker" not in got  # the defaults suit the shipped models


def test_cams_yaml_has_relative_paths(tmp_path):
    path = write_cams_yaml(tmp_path, "demo", ["cam1", "cam2"], repo_root=tmp_path)
    data = yaml.safe_load(path.read_text())
    assert data["cameras"][1] == {
        "id": "cam2",
        "source": "videos/cam2.mp4",
        "calibration": "calibration/cam2.json",
    }
    assert data["eval"] == {"world": "gt/world.txt", "mot": "gt/{camera}.txt"}


def test_world_gt_lines_are_frame_id_x_y_heading(tmp_path):
    tracks = Tracks.standing(np.array([[1.0, 2.0], [3.5, 4.25]]), np.array([0.5, 4.0]), n_frames=2)
    tracks.present[0, 1] = False
    write_world_gt(tmp_path / "w.txt", tracks, [7, 3])
    assert (tmp_path / "w.txt").read_text().splitlines() == [
        "1,3,3.500,4.250,-2.2832",  # 4.0 rad wrapped to 4.0 - 2 pi
        "1,7,1.000,2.000,0.5000",
        "2,3,3.500,4.250,-2.2832",
    ]


def test_floor_transform_maps_corners_with_y_up():
    world = _world()
    T = floor_transform(world, px_per_m=20.0, pad_px=10)
    corners = np.array([[0, 0, 1], [10, 8, 1]]) @ T.T
    assert corners[:, :2].tolist() == [[10.0, 10.0 + 8 * 20.0], [10.0 + 10 * 20.0, 10.0]]


def _fake_scene(root: Path, name: str, n_frames: int = 10) -> Path:
    import cv2

    scene = root / name
    (scene / "videos").mkdir(parents=True)
    (scene / "gt").mkdir()
    (scene / "scene.json").write_text(
        json.dumps({"cameras": [{"id": "cam1"}], "n_frames": n_frames, "fps": 2.0})
    )
    writer = cv2.VideoWriter(
        str(scene / "videos" / "cam1.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 2.0, (64, 48)
    )
    for f in range(n_frames):
        writer.write(np.full((48, 64, 3), 10 * f, np.uint8))
    writer.release()
    lines = [
        f"{f},1,8,4,16,40,1,1,1.000\n{f},2,40,10,10,20,1,1,0.050\n" for f in range(1, n_frames + 1)
    ]
    (scene / "gt" / "cam1.txt").write_text("".join(lines))
    return scene


def test_yolo_export_splits_by_time_for_one_scene(tmp_path):
    scene = _fake_scene(tmp_path, "s0")
    summary = export_yolo([scene], tmp_path / "yolo", every=1, val_share=0.2, progress=False)
    assert summary["split"] == "by time"
    # frames 9, 10 are validation; the 2 s (4 frames) before them are left out
    val = sorted(p.name for p in (tmp_path / "yolo/images/val").iterdir())
    train = sorted(p.name for p in (tmp_path / "yolo/images/train").iterdir())
    assert val == ["s0_cam1_000009.jpg", "s0_cam1_000010.jpg"]
    assert train == [
        "s0_cam1_000001.jpg",
        "s0_cam1_000002.jpg",
        "s0_cam1_000003.jpg",
        "s0_cam1_000004.jpg",
    ]
    label = (tmp_path / "yolo/labels/train/s0_cam1_000001.txt").read_text().split()
    # person 1 only (person 2 is 5 % visible): centre (8 + 8, 4 + 20) / (64, 48),
    # size 16 / 64, 40 / 48
    assert label == ["0", f"{16 / 64:.6f}", f"{24 / 48:.6f}", f"{16 / 64:.6f}", f"{40 / 48:.6f}"]
    data = yaml.safe_load((tmp_path / "yolo/data.yaml").read_text())
    assert data["names"] == {0: "person"} and data["train"] == "images/train"


def test_yolo_export_splits_by_scene(tmp_path):
    scenes = [_fake_scene(tmp_path, f"s{k}", n_frames=4) for k in range(3)]
    summary = export_yolo(
        scenes, tmp_path / "yolo", every=2, val_share=0.3, min_visibility=0.0, progress=False
    )
    assert summary["val_scenes"] == ["s2"]
    assert summary["counts"] == {
        "train": {"images": 4, "boxes": 8},
        "val": {"images": 2, "boxes": 4},
    }


def test_scene_names_add_parent_folders_only_when_names_collide(tmp_path):
    a, b, c = tmp_path / "pop1" / "scenes" / "s00", tmp_path / "pop2" / "scenes" / "s00", tmp_path / "pop1" / "scenes" / "s01"
    assert scene_names([a, c]) == ["s00", "s01"]
    assert scene_names([a, b, c]) == ["pop1_scenes_s00", "pop2_scenes_s00", "pop1_scenes_s01"]
    with pytest.raises(ValueError, match="given twice"):
        scene_names([a, c, a])


def test_yolo_export_of_two_populations_keeps_both(tmp_path):
    scenes = [_fake_scene(tmp_path / pop, "s0", n_frames=2) for pop in ("pop1", "pop2")]
    summary = export_yolo(scenes, tmp_path / "yolo", every=1, val_share=0.5, min_visibility=0.0,
                          progress=False)
    assert summary["val_scenes"] == ["pop2_s0"]
    assert summary["counts"]["train"]["images"] == summary["counts"]["val"]["images"] == 2


def test_yolo_export_rejects_a_folder_that_is_not_a_scene(tmp_path):
    with pytest.raises(ValueError, match="not a simulated scene folder"):
        export_yolo([tmp_path], tmp_path / "out", progress=False)


def test_synth_config_validates_top_level_fields():
    from mtmc.configtools import FieldError

    with pytest.raises(FieldError, match="even") as info:
        SynthConfig(image_size_wh=(321, 180))
    assert info.value.field == "image_size_wh"
    with pytest.raises(FieldError, match="must be 1, 2 or 3") as info:
        SynthConfig(supersample=4)
    assert info.value.field == "supersample"


def test_generate_refuses_a_non_empty_folder_that_is_not_a_scene(tmp_path):
    from mtmc.synth.generate import generate

    (tmp_path / "notes.txt").write_text("mine")
    cfg = with_overrides(load_preset("warehouse"), cameras=1, people=1, seconds=0.2, size_wh=(160, 90))
    with pytest.raises(ValueError, match="not empty and holds no scene"):
        generate(cfg, tmp_path, workers=1, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"
