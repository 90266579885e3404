from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from mtmc.formats.kitti import KittiLabels, kitti_frame_path, write_kitti
from mtmc.formats.market import parse_market_name, read_market
from mtmc.formats.mot import MotTable, write_mot
from mtmc.reid.metrics import evaluate_rank
from mtmc.reid.prepare import PrepareParams, main, prepare_market, spread_sample

W, H = 320, 160
N_FRAMES = 30
BOX_W, BOX_H = 30, 90
COLOURS_BGR = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255), (255, 0, 255), (255, 255, 0)]
FRAME_PATCH = 6  # top-left FRAME_PATCH x FRAME_PATCH pixels of every person encode the frame
FRAME_STEP = 8  # gray level of that patch = frame * FRAME_STEP


def _box(k: int) -> tuple[int, int, int, int]:
    x1, y1 = 10 + 50 * k, 40
    return x1, y1, x1 + BOX_W, y1 + BOX_H


def make_scene(root: Path, ids=(1, 2, 3, 4, 5, 6), cams=("cam1", "cam2", "cam12")) -> Path:
    """A tiny labelled scene: every person a coloured box, its corner patch showing the frame.

    Person ids[0] is absent from the last camera. In cam1, frame 5: ids[1] labelled too wide,
    frame 6: ids[1] labelled too short. In cam2: ids[2] partly occluded (KITTI level 1, exact
    visibility 0.7), ids[3] mostly occluded (level 2, visibility 0.2).
    """
    (root / "videos").mkdir(parents=True)
    for cam in cams:
        writer = cv2.VideoWriter(str(root / "videos" / f"{cam}.avi"),
                                 cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
        gt_rows = []
        for f in range(1, N_FRAMES + 1):
            img = np.full((H, W, 3), 90, np.uint8)
            xyxy, occ, pids, vis = [], [], [], []
            for k, pid in enumerate(ids):
                if cam == cams[-1] and k == 0:
                    continue
                x1, y1, x2, y2 = _box(k)
                img[y1:y2, x1:x2] = COLOURS_BGR[k]
                img[y1:y1 + FRAME_PATCH, x1:x1 + FRAME_PATCH] = f * FRAME_STEP
                box = [x1, y1, x2, y2]
                level, v = 0, 1.0
                if cam == cams[0] and k == 1 and f == 5:
                    box = [x1, y1, x1 + 100, y2]
                if cam == cams[0] and k == 1 and f == 6:
                    box = [x1, y1, x2, y1 + 50]
                if cam == cams[1] and k == 2:
                    level, v = 1, 0.7
                if cam == cams[1] and k == 3:
                    level, v = 2, 0.2
                xyxy.append(box)
                occ.append(level)
                pids.append(pid)
                vis.append(v)
            writer.write(img)
            labels = KittiLabels(type=["Person"] * len(pids), xyxy=np.array(xyxy, float),
                                 occluded=occ, track_id=pids)
            write_kitti(kitti_frame_path(root / "labels" / "kitti", cam, f), labels)
            gt_rows += [(f, p, b, v) for p, b, v in zip(pids, xyxy, vis, strict=True)]
        writer.release()
        write_mot(root / "gt" / f"{cam}.txt", MotTable.from_xyxy(
            frame=[r[0] for r in gt_rows], track_id=[r[1] for r in gt_rows],
            xyxy=np.array([r[2] for r in gt_rows], float), visibility=[r[3] for r in gt_rows]))
    return root


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scene(tmp_path_factory.mktemp("scene"))


def _crops(out: Path, split: str) -> list[Path]:
    folder = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
    return sorted((out / folder[split]).glob("*.jpg"))


def _prepare(scene: Path, out: Path, **kw) -> dict:
    return prepare_market(scene / "labels" / "kitti", scene / "videos", out,
                          PrepareParams(**kw), progress=False)


def test_identity_split(scene: Path, tmp_path: Path) -> None:
    out = tmp_path / "market"
    s = _prepare(scene, out, per_id=12, test_ids=3, seed=1)
    split = read_market(out)
    train_ids, test_ids = set(split.train.pids), set(split.query.pids) | set(split.gallery.pids)
    assert train_ids and test_ids and not train_ids & test_ids
    assert len(train_ids | test_ids) == 6 and len(test_ids) == 3
    assert sorted(test_ids) == s["test_ids"]
    # counts in prepare.json match the files
    meta = json.loads((out / "prepare.json").read_text())
    assert meta == json.loads(json.dumps(s))
    for name in ("train", "query", "gallery"):
        assert meta["splits"][name]["images"] == len(_crops(out, name))
    assert s["written"] == len(split.train) + len(split.query) + len(split.gallery)
    # about per_id crops per identity and part, spread over the cameras
    for pid in train_ids:
        cams = split.train.camids[split.train.pids == pid]
        assert len(cams) == 12
        per_cam = np.unique(cams, return_counts=True)[1]
        assert per_cam.max() - per_cam.min() <= 1 and len(per_cam) >= 2
    assert set(split.train.camids) | set(split.gallery.camids) == {1, 2, 12}
    # queries: one per camera of each test id seen by >= 2 cameras, each with a true match
    q = split.query
    assert len(q) == len(set(zip(q.pids.tolist(), q.camids.tolist(), strict=True)))
    m = evaluate_rank(np.zeros((len(q), len(split.gallery))), q.pids, split.gallery.pids,
                      q.camids, split.gallery.camids)
    assert m["num_valid_queries"] == len(q) > 0


def test_crops_show_the_right_person_and_frame(scene: Path, tmp_path: Path) -> None:
    out = tmp_path / "market"
    _prepare(scene, out, per_id=20, test_ids=(2, 5))
    paths = _crops(out, "train") + _crops(out, "query") + _crops(out, "gallery")
    assert len(paths) > 40
    for p in paths:
        name = parse_market_name(p)
        crop = cv2.imread(str(p))
        assert crop.shape[:2] == (BOX_H, BOX_W)
        body = crop[BOX_H // 2 - 5:BOX_H // 2 + 5, 5:-5].reshape(-1, 3).mean(0)
        assert np.abs(body - COLOURS_BGR[name.pid - 1]).max() < 20, p.name
        # frame f of the labels is video frame index f - 1
        patch = crop[1:FRAME_PATCH - 1, 1:FRAME_PATCH - 1].mean()
        assert abs(patch - name.frame * FRAME_STEP) < FRAME_STEP / 2, p.name


def test_filters_with_exact_visibility(scene: Path, tmp_path: Path) -> None:
    s = _prepare(scene, tmp_path / "m", per_id=1000, test_ids=0)
    assert s["visibility_source"] == {"cam1": "mot_gt", "cam2": "mot_gt", "cam12": "mot_gt"}
    assert s["cameras"] == {"cam1": 1, "cam2": 2, "cam12": 12}
    train = read_market(tmp_path / "m").train
    # all usable boxes are taken with per_id this large
    # boxes: cam1 6 ids, cam2 6, cam12 5 per frame; minus wide + short in cam1,
    # minus 30 frames of id 4 in cam2 (visibility 0.2); id 3 in cam2 (0.7) is kept
    assert len(train) == (6 + 6 + 5) * N_FRAMES - 2 - N_FRAMES
    assert s["candidates"]["rejected"] == {"height": 1, "aspect": 1, "visibility": N_FRAMES}
    assert not ((train.pids == 4) & (train.camids == 2)).any()
    assert ((train.pids == 3) & (train.camids == 2)).sum() == N_FRAMES
    assert not ((train.pids == 2) & (train.camids == 1) & np.isin(train.frames, [5, 6])).any()


def test_filters_with_kitti_levels(tmp_path: Path) -> None:
    scene = make_scene(tmp_path / "scene", cams=("cam1", "cam2"))
    (scene / "gt" / "cam1.txt").unlink()  # cam1 falls back to KITTI levels, cam2 uses gt
    s = _prepare(scene, tmp_path / "m", per_id=1000, test_ids=0)
    assert s["visibility_source"] == {"cam1": "kitti_occluded", "cam2": "mot_gt"}
    for p in (scene / "gt").iterdir():
        p.unlink()
    s = _prepare(scene, tmp_path / "m2", per_id=1000, test_ids=0, min_visibility=0.6)
    assert s["visibility_source"] == {"cam1": "kitti_occluded", "cam2": "kitti_occluded"}
    train = read_market(tmp_path / "m2").train
    # level 1 (visibility >= 0.4 only) no longer passes 0.6
    assert not ((train.pids == 3) & (train.camids == 2)).any()
    # cam1 6 ids + cam2 5 ids (ids[0] is absent from the last camera), minus wide + short,
    # minus id 3 and id 4 in cam2
    assert len(train) == (6 + 5) * N_FRAMES - 2 - 2 * N_FRAMES
    s = _prepare(scene, tmp_path / "m3", per_id=1000, test_ids=0, min_visibility=0.4)
    assert (read_market(tmp_path / "m3").train.pids == 3).sum() == 2 * N_FRAMES


def test_time_split(scene: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    s = _prepare(scene, out, per_id=8, time_split_frame=20)
    split = read_market(out)
    assert s["split_by"] == "time"
    assert split.train.frames.max() <= 20
    assert min(split.query.frames.min(), split.gallery.frames.min()) > 20
    assert set(split.train.pids) == set(split.gallery.pids) == {1, 2, 3, 4, 5, 6}
    assert all((split.train.pids == p).sum() == 8 for p in range(1, 7))


def test_deterministic_and_seeded(scene: Path, tmp_path: Path) -> None:
    names = []
    for i, seed in enumerate((0, 0, 3)):
        _prepare(scene, tmp_path / str(i), per_id=6, seed=seed)
        out = tmp_path / str(i)
        names.append([p.name for s in ("train", "query", "gallery") for p in _crops(out, s)])
    assert names[0] == names[1]
    assert names[0] != names[2]


def test_zero_based_ids_are_shifted(tmp_path: Path) -> None:
    scene = make_scene(tmp_path / "scene", ids=(0, 1, 2, 3, 4, 5), cams=("cam1", "cam2"))
    s = _prepare(scene, tmp_path / "m", per_id=4, test_ids=(0, 1))
    assert s["pid_offset"] == 1
    split = read_market(tmp_path / "m")
    assert split.gallery.pids.min() >= 1 and set(split.gallery.pids) == {1, 2}


def test_spread_sample() -> None:
    rng = np.random.default_rng(0)
    cam = np.repeat([0, 1], 10)
    frame = np.tile(np.arange(1, 11), 2)
    idx = spread_sample(cam, frame, 4, rng)
    assert np.bincount(cam[idx]).tolist() == [2, 2]
    for c in (0, 1):
        f = frame[idx][cam[idx] == c]
        assert f[1] - f[0] == 5  # strata of 5 frames, same offset
    assert spread_sample(cam, frame, 50, rng).tolist() == list(range(20))
    # a camera with few rows gives its share to the others
    cam = np.array([0] + [1] * 10)
    idx = spread_sample(cam, np.arange(11), 6, rng)
    assert np.bincount(cam[idx]).tolist() == [1, 5]


def test_errors(scene: Path, tmp_path: Path) -> None:
    kitti, videos = scene / "labels" / "kitti", scene / "videos"
    with pytest.raises(ValueError, match="not in the labels"):
        _prepare(scene, tmp_path / "a", test_ids=(1, 99))
    with pytest.raises(ValueError, match="only 6 identities"):
        _prepare(scene, tmp_path / "a", test_ids=7)
    with pytest.raises(ValueError, match="not both"):
        PrepareParams(test_ids=2, time_split_frame=10)
    with pytest.raises(ValueError, match="no video for camera 'cam1'"):
        prepare_market(kitti, tmp_path, tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="KITTI label folder not found"):
        prepare_market(tmp_path / "nope", videos, tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="MOT ground-truth folder not found"):
        prepare_market(kitti, videos, tmp_path / "a", mot_gt_dir=tmp_path / "nogt", progress=False)
    with pytest.raises(ValueError, match="no crop passes the filters"):
        _prepare(scene, tmp_path / "a", min_height_px=500)
    _prepare(scene, tmp_path / "b", per_id=2)
    with pytest.raises(ValueError, match="already holds .* pass --overwrite"):
        _prepare(scene, tmp_path / "b", per_id=2)
    prepare_market(kitti, videos, tmp_path / "b", PrepareParams(per_id=3), overwrite=True,
                   progress=False)
    assert len(read_market(tmp_path / "b").train) == 3 * 3


def test_video_shorter_than_labels(tmp_path: Path) -> None:
    scene = make_scene(tmp_path / "scene", cams=("cam1", "cam2"))
    writer = cv2.VideoWriter(str(scene / "videos" / "cam2.avi"), cv2.VideoWriter_fourcc(*"MJPG"),
                             10, (W, H))
    for _ in range(5):
        writer.write(np.zeros((H, W, 3), np.uint8))
    writer.release()
    with pytest.raises(ValueError, match="cam2.avi: the video ends before frame"):
        _prepare(scene, tmp_path / "m", per_id=20, test_ids=0)


def test_cli(scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--kitti", str(scene / "labels" / "kitti"), "--videos", str(scene / "videos"),
            "--per-id", "5", "--test-ids", "2,4,", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "m")]) == 0
    assert "train 20 crops / 4 ids" in capsys.readouterr().out
    assert set(read_market(tmp_path / "m").gallery.pids) == {2, 4}
    assert main([*args, "--out", str(tmp_path / "m")]) == 2
    assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "--out", str(tmp_path / "x"), "--test-ids", "a,b"])
