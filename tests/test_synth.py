"""The simulator end to end on tiny scenes: determinism, calibration, label formats, occlusion."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from calib.io import load_camera, read_metropolis
from mtmc.formats.kitti import occlusion_level, read_kitti, read_kitti_folder
from mtmc.formats.mot import read_mot
from mtmc.synth import build_scene
from mtmc.synth.__main__ import main as synth_main
from mtmc.synth.appearance import sample_appearances
from mtmc.synth.cameras import CameraSpec
from mtmc.synth.config import PeopleConfig, SynthConfig, load_preset, with_overrides
from mtmc.synth.generate import generate
from mtmc.synth.motion import Tracks
from mtmc.synth.output import write_kitti_labels
from mtmc.synth.render import render_camera
from mtmc.synth.scene import Scene
from mtmc.synth.world import Door, make_world

SEED = 3


def tiny_config(seed: int = SEED) -> SynthConfig:
    """2 cameras, 4 people, 4 s at 5 fps, 320x180 (a third of the demo's size, so people count
    as seen from 11 px), lenses of 55-65 degrees."""
    cfg = with_overrides(
        load_preset("warehouse"),
        seed=seed,
        cameras=2,
        people=4,
        seconds=4,
        fps=5,
        size_wh=(320, 180),
    )
    rig = replace(cfg.cameras, hfov_deg=(55.0, 65.0), candidates=150, min_person_px=11.0)
    return replace(cfg, cameras=rig)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synth")
    out = {"a": root / "a", "a_again": root / "a_again", "b": root / "b"}
    generate(tiny_config(), out["a"], workers=1, progress=False)
    generate(tiny_config(), out["a_again"], workers=2, progress=False)  # other process layout
    generate(tiny_config(SEED + 1), out["b"], workers=1, progress=False)
    return out


def _label_files(scene: Path) -> list[Path]:
    return sorted(
        p.relative_to(scene) for p in [*scene.glob("gt/*.txt"), *scene.glob("labels/kitti/*/*.txt")]
    )


def _frames(video: Path) -> np.ndarray:
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return np.stack(frames)


def test_same_seed_gives_identical_labels_and_frames(scenes):
    a, again = scenes["a"], scenes["a_again"]
    files = _label_files(a)
    assert files == _label_files(again) and len(files) > 10
    for rel in files:
        assert (a / rel).read_bytes() == (again / rel).read_bytes(), rel
    for video in sorted((a / "videos").glob("*.mp4")):
        assert np.array_equal(_frames(video), _frames(again / "videos" / video.name)), video.name
    for rel in (
        "calibration/cam1.json",
        "calibration.json",
        "floor.json",
    ):  # cams.yaml names the folder
        assert (a / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_different_seed_gives_a_different_scene(scenes):
    a, b = scenes["a"], scenes["b"]
    assert (a / "gt" / "world.txt").read_bytes() != (b / "gt" / "world.txt").read_bytes()
    assert not np.array_equal(
        _frames(a / "videos" / "cam1.mp4")[0], _frames(b / "videos" / "cam1.mp4")[0]
    )


def test_scene_folder_layout(scenes):
    a = scenes["a"]
    for rel in (
        "cams.yaml",
        "calibration.json",
        "floor.png",
        "floor.json",
        "coverage.png",
        "scene.json",
        "gt/world.txt",
        "videos/cam1.mp4",
        "videos/cam2.mp4",
        "calibration/cam2.json",
    ):
        assert (a / rel).exists(), rel
    assert len(list((a / "labels" / "kitti" / "cam1").glob("*.txt"))) == 20  # one file per frame
    frames = _frames(a / "videos" / "cam1.mp4")
    assert frames.shape == (20, 180, 320, 3)


def test_calibration_projects_world_feet_onto_box_bottoms(scenes):
    """World foot points, projected with the written calibration, meet the boxes' bottom centres.

    Only boxes in the middle half of the image width count for the 2 px median: a camera tilted
    down makes standing people lean towards the image sides (vertical lines converge below the
    image), which moves the bottom centre of their box a few pixels sideways from the foot point
    without any calibration error. Everywhere, the foot point must lie under the box.
    """
    a = scenes["a"]
    world = np.loadtxt(a / "gt" / "world.txt", delimiter=",", ndmin=2)
    feet = {(int(f), int(i)): (x, y) for f, i, x, y, _ in world}
    errors = []
    for cam_id in ("cam1", "cam2"):
        cam = load_camera(a / "calibration" / f"{cam_id}.json")
        w, h = cam.image_size_wh
        gt = read_mot(a / "gt" / f"{cam_id}.txt")
        x1, y1, x2, y2 = gt.xyxy.T
        whole = (gt.visibility >= 1.0) & (x1 > 0.5) & (y1 > 0.5) & (x2 < w - 0.5) & (y2 < h - 0.5)
        for k in np.flatnonzero(whole):
            x, y = feet[(int(gt.frame[k]), int(gt.track_id[k]))]
            uv = cam.project([[x, y, 0.0]])[0]
            assert x1[k] <= uv[0] <= x2[k] and y1[k] <= uv[1] <= y2[k] + 1.0
            if abs(gt.foot_px[k, 0] - w / 2) < w / 4:
                errors.append(float(np.hypot(*(uv - gt.foot_px[k]))))
    assert len(errors) >= 5
    assert np.median(errors) <= 2.0


def test_metropolis_calibration_matches_the_camera_files(scenes):
    a = scenes["a"]
    sensors = read_metropolis(a / "calibration.json")
    assert sorted(sensors) == ["cam1", "cam2"]
    cam = load_camera(a / "calibration" / "cam1.json")
    xy = np.array([[5.0, 5.0], [12.0, 8.0]])
    np.testing.assert_allclose(
        sensors["cam1"].floor_to_image(xy), cam.floor_to_image(xy), atol=1e-3
    )


def test_kitti_and_mot_labels_parse_and_agree(scenes):
    a = scenes["a"]
    for cam_id in ("cam1", "cam2"):
        gt = read_mot(a / "gt" / f"{cam_id}.txt")
        assert gt.class_id.tolist() == [1] * len(gt)
        assert ((gt.visibility >= 0) & (gt.visibility <= 1)).all()
        kitti = read_kitti_folder(a / "labels" / "kitti" / cam_id)
        assert set(kitti.type.tolist()) <= {"Person"}
        visible = {
            (int(f), int(i)): v
            for f, i, v in zip(gt.frame, gt.track_id, gt.visibility, strict=True)
            if v > 0
        }
        got = list(zip(kitti.frame.tolist(), kitti.track_id.tolist(), strict=True))
        assert sorted(got) == sorted(visible)  # exactly the visible people
        vis = np.array([visible[k] for k in got])
        assert kitti.occluded.tolist() == occlusion_level(vis).tolist()
        full = {(int(f), int(i)): b for f, i, b in zip(gt.frame, gt.track_id, gt.xyxy, strict=True)}
        for k, box in zip(got, kitti.xyxy, strict=True):  # the visible box lies inside the full box
            fb = full[k]
            assert (
                box[0] >= fb[0] - 1
                and box[1] >= fb[1] - 1
                and box[2] <= fb[2] + 1
                and box[3] <= fb[3] + 1
            )


def test_a_person_seen_by_two_cameras_has_one_global_id(scenes):
    a = scenes["a"]
    world = np.loadtxt(a / "gt" / "world.txt", delimiter=",", ndmin=2)
    feet = {(int(f), int(i)): (x, y) for f, i, x, y, _ in world}
    cams = {c: load_camera(a / "calibration" / f"{c}.json") for c in ("cam1", "cam2")}
    rows = {c: read_mot(a / "gt" / f"{c}.txt") for c in cams}
    both = 0
    for c, gt in rows.items():
        for f, i, box in zip(gt.frame, gt.track_id, gt.xyxy, strict=True):
            # the id's world position projects into this camera's box of the same id
            uv = cams[c].project([[*feet[(int(f), int(i))], 0.0]])[0]
            assert box[0] - 2 <= uv[0] <= box[2] + 2 and box[1] - 2 <= uv[1] <= box[3] + 8
        other = rows["cam2" if c == "cam1" else "cam1"]
        both += len(
            set(zip(gt.frame.tolist(), gt.track_id.tolist(), strict=True))
            & set(zip(other.frame.tolist(), other.track_id.tolist(), strict=True))
        )
    assert both > 0  # some person is in both views at the same frame


def test_cams_yaml_loads_and_points_at_existing_files(scenes):
    config = pytest.importorskip("mtmc.config")
    cams = config.load_cams(scenes["a"] / "cams.yaml")
    assert [c.id for c in cams.cameras] == ["cam1", "cam2"]
    for cam in cams.cameras:
        assert Path(cam.source).exists() and cam.calibration.exists()
    assert cams.eval is not None and cams.eval.world.exists()
    if cams.detector.backend == "file":
        assert Path(cams.detector.file_pattern.format(camera="cam1")).exists()


def test_scene_json_reports_coverage_and_people(scenes):
    import json

    meta = json.loads((scenes["a"] / "scene.json").read_text())
    assert meta["seed"] == SEED and len(meta["people"]) == 4 and len(meta["cameras"]) == 2
    cov = meta["coverage"]
    assert 0 <= cov["ge3"] <= cov["ge2"] <= cov["ge1"] <= 1
    assert meta["generation_time_s"] > 0


# -- hand-built worlds ---------------------------------------------------------------------


def _hand_scene(xy: list[tuple[float, float]], boxes, cam_pos, cam_target) -> Scene:
    cfg = SynthConfig(duration_s=0.4, fps=5, image_size_wh=(320, 180))
    world = make_world((10.0, 8.0), boxes, [Door("south", 8.0, 1.5, 2.5)])
    people = sample_appearances(
        PeopleConfig(count=len(xy), lookalike_share=0.0), "warehouse", np.random.default_rng(0)
    )
    tracks = Tracks.standing(np.asarray(xy), np.full(len(xy), math.pi / 2), n_frames=2)
    cam = CameraSpec.make("cam1", cam_pos, cam_target, (320, 180), 70.0)
    return Scene(cfg, world, [cam], people, tracks)


def test_person_behind_a_shelf_is_hidden_and_has_no_kitti_label(tmp_path):
    # camera at 2 m looks over the floor; a 2.5 m shelf stands between it and person 1
    scene = _hand_scene(
        [(5.0, 6.0), (4.2, 3.0)], [(3.0, 3.5, 7.0, 4.5, 2.5)], (5.0, 0.3, 2.0), (5.0, 6.0, 1.0)
    )
    labels = render_camera(scene, 0, effects=False)
    hidden = labels.person_id == 1
    assert hidden.sum() == 2 and (labels.visibility[hidden] == 0).all()  # in MOT gt, visibility 0
    assert np.isnan(labels.xyxy_visible[hidden]).all()
    assert (labels.visibility[labels.person_id == 2] == 1.0).all()
    write_kitti_labels(tmp_path, labels, n_frames=2)
    for f in (1, 2):
        assert read_kitti(tmp_path / "cam1" / f"{f:06d}.txt").track_id.tolist() == [2]


def test_a_person_in_front_hides_part_of_the_one_behind():
    scene = _hand_scene([(5.0, 4.0), (5.15, 5.0)], [], (5.0, 0.5, 2.2), (5.0, 5.0, 0.9))
    labels = render_camera(scene, 0, effects=False, frames=range(1))
    vis = dict(zip(labels.person_id.tolist(), labels.visibility.tolist(), strict=True))
    assert vis[1] == 1.0
    assert 0.0 < vis[2] < 0.9


def test_rendering_without_people_shows_the_static_view():
    scene = _hand_scene([(5.0, 4.0)], [(3.0, 6.0, 7.0, 7.0, 2.0)], (5.0, 0.5, 3.0), (5.0, 5.0, 0.0))
    scene.tracks.present[:] = False
    frames = {}
    labels = render_camera(scene, 0, effects=False, on_frame=lambda f, im: frames.setdefault(f, im))
    assert len(labels.frame) == 0
    assert np.array_equal(frames[0], frames[1])


# -- the built scene -------------------------------------------------------------------------


def test_people_walk_on_the_floor_never_through_shelves():
    cfg = with_overrides(load_preset("warehouse"), seed=1, people=8, seconds=40, fps=5)
    scene = build_scene(cfg)
    tr = scene.tracks
    xy = tr.xy_m[tr.present]
    assert scene.world.nav.is_free(xy, min_clearance_m=0.2).all()
    step = np.linalg.norm(np.diff(tr.xy_m, axis=1), axis=-1)[tr.present[:, 1:] & tr.present[:, :-1]]
    assert step.max() * cfg.fps < 2.5  # nobody runs or jumps
    assert step.mean() * cfg.fps > 0.2  # people do walk
    # someone enters or leaves during the scene: ids appear and disappear
    assert (~tr.present[:, 0]).any() or (~tr.present[:, -1]).any()


def test_cli_rejects_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit):
        synth_main(["--out", str(tmp_path / "x"), "--size", "big"])
    assert synth_main(["--out", str(tmp_path / "x"), "--config", "nope"]) == 2
    assert "unknown preset" in capsys.readouterr().err
    assert synth_main(["--out", str(tmp_path / "x"), "--lookalike-share", "1.5"]) == 2
    assert "--lookalike-share: must be a share" in capsys.readouterr().err


def test_snapshots_write_small_pngs(scenes, tmp_path):
    from mtmc.synth.snapshots import write_snapshots

    paths = write_snapshots(scenes["a"], tmp_path, frame=5, width=160)
    assert sorted(p.name for p in paths) == ["cam1.png", "cam2.png", "coverage.png", "floor.png"]
    assert cv2.imread(str(tmp_path / "cam1.png")).shape == (90, 160, 3)
    with pytest.raises(ValueError, match="no frame 99"):
        write_snapshots(scenes["a"], tmp_path, frame=99)
