"""End-to-end tests of ``python -m mtmc.run`` on a tiny hand-made scene (tests/tiny_scene.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from tiny_scene import write_scene

from mtmc.associate import GlobalAssociator
from mtmc.run import main
from mtmc.track import CameraTracker
from mtmc.types import EMBEDDING

BASE_REID = Path(__file__).resolve().parents[1] / "models" / "reid" / "base.onnx"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scene(tmp_path_factory.mktemp("tiny"), seconds=6.0)


def edit(cams_yaml: Path, out: Path, change) -> Path:
    """A copy of ``cams_yaml`` (same folder, so relative paths hold) changed by ``change(dict)``."""
    config = yaml.safe_load(cams_yaml.read_text())
    change(config)
    path = cams_yaml.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_end_to_end_with_ground_truth_boxes(scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    assert main(["--cams", str(scene), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"outputs: {out}/" in printed and "HOTA" in printed
    steps = [json.loads(line) for line in (out / "rtls.jsonl").read_text().splitlines()]
    assert [s["frame"] for s in steps] == list(range(1, 61))
    assert steps[-1]["t"] == pytest.approx(5.9)
    late = steps[-1]["objects"]
    assert len(late) == 3 and all(set(o["cams"]) == {"cam1", "cam2"} for o in late)
    ids = {o["id"] for s in steps[10:] for o in s["objects"]}
    assert len(ids) == 3  # three people, three global ids, no switch once confirmed
    for cam in ("cam1", "cam2"):
        rows = (out / "mot" / f"{cam}.txt").read_text().splitlines()
        assert rows and {int(r.split(",")[1]) for r in rows} <= ids
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete"
    assert summary["cams_yaml"] == str(scene.resolve())
    assert set(summary["time_s"]) >= {"total", "decode", "detect", "track", "embed", "associate", "write"}
    assert summary["counts"]["steps"] == 60 and summary["counts"]["frames"] == 120
    floor, image = summary["metrics"]["floor"], summary["metrics"]["image"]
    assert floor["HOTA"] > 85 and floor["IDSW"] == 0
    assert image["IDF1"] > 90 and image["IDSW"] == 0
    assert (out / "run.log").exists() and (out / "aic.txt").read_text()


@pytest.mark.parametrize("gate", [True, False], ids=["tracker-appearance", "motion-only"])
def test_embeddings_reach_the_trackers_only_with_tracker_appearance(
    scene: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: bool
) -> None:
    """With reid.model and tracker.appearance, every detection is embedded once, before
    tracking, and the associator gets all of those embeddings (whole boxes: the policy's
    eligibility); without it the trackers see no embeddings and the associator sees one
    embedding per track every_n_frames."""
    out = tmp_path / "reid"
    cams = edit(scene, out, lambda c: c.update(
        reid={"model": str(BASE_REID), "device": "cpu", "min_height_px": 1, "every_n_frames": 5},
        tracker={"appearance": gate}))
    to_trackers, to_associator = [], []
    tracker_update, associator_update = CameraTracker.update, GlobalAssociator.update

    def spy_tracker(self, dets, frame_bgr=None):
        emb = dets.data.get(EMBEDDING)
        to_trackers.append((len(dets), 0 if emb is None else int(np.isfinite(emb).all(axis=1).sum())))
        return tracker_update(self, dets, frame_bgr)

    def spy_associator(self, dets, t_s):
        emb = dets.data.get(EMBEDDING)
        to_associator.append((len(dets), 0 if emb is None else int(np.isfinite(emb).all(axis=1).sum())))
        return associator_update(self, dets, t_s)

    monkeypatch.setattr(CameraTracker, "update", spy_tracker)
    monkeypatch.setattr(GlobalAssociator, "update", spy_associator)
    assert main(["--cams", str(cams), "--out", str(out), "--no-progress"]) == 0
    rows, embedded = np.array(to_trackers).sum(axis=0)
    # the ground-truth boxes all score 1 >= track_high_thresh
    assert rows > 0 and embedded == (rows if gate else 0)
    seen, with_embedding = np.array(to_associator).sum(axis=0)
    if gate:  # free: all of them but the boxes cut by the image border
        assert 0.8 * seen < with_embedding <= seen
    else:
        assert 0.1 * seen < with_embedding < 0.4 * seen  # about one step in five per track
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"]["embeddings"] == (rows if gate else with_embedding)  # none twice
    assert summary["metrics"]["floor"]["IDSW"] == 0


@pytest.mark.parametrize(("change", "expected"), [
    (lambda c: None, "motion only (no reid.model)"),
    (lambda c: c.update(reid={"model": str(BASE_REID), "device": "cpu"}, tracker={"appearance": False}),
     "motion only (tracker.appearance: false)"),
    (lambda c: c.update(reid={"model": str(BASE_REID), "device": "cpu"}), "motion and appearance"),
], ids=["no-reid", "appearance-off", "default-with-reid"])
def test_the_log_says_how_the_trackers_match(
    scene: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, change, expected: str
) -> None:
    out = tmp_path / "mode"
    cams = edit(scene, out, change)
    with caplog.at_level("INFO", logger="mtmc.run"):
        assert main(["--cams", str(cams), "--out", str(out), "--no-progress", "--max-frames", "3"]) == 0
    lines = [r.getMessage() for r in caplog.records if "single-camera trackers" in r.getMessage()]
    assert len(lines) == 1 and expected in lines[0]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_outputs_complete_after_a_stop_signal(scene: Path, tmp_path: Path, signum: int) -> None:
    long_scene = write_scene(tmp_path / "long", seconds=40.0, with_eval=False)
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtmc.run", "--cams", str(long_scene), "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    rtls = out / "rtls.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not rtls.exists() or rtls.stat().st_size == 0):
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    lines = rtls.read_text().splitlines()
    assert 0 < len(lines) < 400  # stopped part-way
    assert all(json.loads(line)["frame"] == i + 1 for i, line in enumerate(lines))
    assert summary["counts"]["steps"] == len(lines)


def bad_input_cases(scene: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    root = scene.parent
    garbage = root / "videos" / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 100)
    below = json.loads((root / "calibration" / "cam1.json").read_text())
    below_path = root / "calibration" / "below.json"
    # Move the camera 8 m down (t = -R c): its centre ends below the floor.
    r = below.get("R_world_to_cam")
    t = below.get("t_world_to_cam_m")
    below["t_world_to_cam_m"] = [t[i] + 8.0 * r[i][2] for i in range(3)]
    below_path.write_text(json.dumps(below))

    def camera(index: int, **fields):
        def change(cfg: dict) -> None:
            cfg["cameras"][index].update(fields)
        return change

    def duplicate(cfg: dict) -> None:
        cfg["cameras"][1]["id"] = cfg["cameras"][0]["id"]

    def yolo_missing(cfg: dict) -> None:
        cfg["detector"] = {"backend": "yolo", "weights": "models/none.pt"}

    return {
        "missing video": (edit(scene, tmp_path / "a", camera(0, source="videos/nope.mp4")),
                          "cameras[0].source: file not found"),
        "unreadable video": (edit(scene, tmp_path / "b", camera(0, source="videos/garbage.mp4")),
                             "camera 'cam1'"),
        "camera below the floor": (edit(scene, tmp_path / "c", camera(0, calibration="calibration/below.json")),
                                   "cameras[0].calibration"),
        "detector weights missing": (edit(scene, tmp_path / "d", yolo_missing), "detector.weights: file not found"),
        "camera id used twice": (edit(scene, tmp_path / "e", duplicate), "camera id 'cam1' is used twice"),
    }


@pytest.mark.parametrize("case", ["missing video", "unreadable video", "camera below the floor",
                                  "detector weights missing", "camera id used twice"])
def test_bad_inputs_give_one_line_and_exit_2(scene: Path, tmp_path: Path, case: str,
                                             capsys: pytest.CaptureFixture) -> None:
    path, expected = bad_input_cases(scene, tmp_path)[case]
    code = main(["--cams", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("mtmc.run: error: ") and expected in err[0], err
