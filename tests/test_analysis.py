"""ID switch analysis on hand-made tracks: a swap, a fragmentation, a hand-over; report files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from script_loader import load_script

from mtmc.analysis import (
    SwitchRules,
    analyse_run,
    analyse_switches,
    write_compare_report,
    write_report,
)
from mtmc.eval import evaluate_floor, evaluate_run, read_rtls, read_world_gt
from mtmc.viz.palette import id_color_bgr

N_FRAMES = 40
FPS = 10.0


def _scene(root: Path, *, lookalikes: bool = False, embeddings: bool = False) -> tuple[Path, Path]:
    """A scene gt folder and a run folder with three known events (1-based frames 1..40).

    - gt 1 walks +x along y = 0, gt 2 walks -x along y = 0.5; they pass at frame ~21. The run's
      ids 1 and 2 swap people at frame 21 but CLEAR keeps the old pairs while they are within
      1 m, so the switch happens when they are 1 m apart in x: |0.4 (f - 1) - 7.8| >= 1 ->
      f = 23 (distance sqrt(1.0**2 + 0.5**2) > 1 m): two switches (gt 1 and gt 2), a crossing.
    - gt 3 (y = 5) is tracked by id 3 but not reported in frames 15..19 and hidden there in
      the camera's ground truth: one fragmentation at frame 20, an occlusion gap of 5 steps.
    - gt 4 (y = 10) is id 4 seen by cam1 up to frame 25, then id 5 (first seen at frame 26)
      seen by cam2: a switch at frame 26, a hand-over with a new id.
    """
    gt_dir, run = root / "scene" / "gt", root / "run"
    gt_dir.mkdir(parents=True)
    (run / "mot").mkdir(parents=True)
    world, steps, mot = [], [], []
    for f in range(1, N_FRAMES + 1):
        x1, x2 = 0.2 * (f - 1), 7.8 - 0.2 * (f - 1)
        people = {1: (x1, 0.0), 2: (x2, 0.5), 3: (0.1 * f, 5.0), 4: (0.1 * f, 10.0)}
        world += [f"{f},{g},{x:.3f},{y:.3f},0.0" for g, (x, y) in people.items()]
        swap = f >= 21
        objects = [
            {"id": 1, "xy": people[2 if swap else 1], "cams": {"cam1": 11}},
            {"id": 2, "xy": people[1 if swap else 2], "cams": {"cam1": 12}},
        ]
        if not 15 <= f <= 19:
            objects.append({"id": 3, "xy": people[3], "cams": {"cam1": 13}})
        if f <= 25:
            objects.append({"id": 4, "xy": people[4], "cams": {"cam1": 14}})
        else:
            objects.append({"id": 5, "xy": people[4], "cams": {"cam2": 21}})
        steps.append(json.dumps({"frame": f, "t": round((f - 1) / FPS, 3), "objects": [
            {"id": o["id"], "x": round(o["xy"][0], 3), "y": round(o["xy"][1], 3), "cams": o["cams"]}
            for o in objects]}))
        for g in people:
            vis = 0.0 if (g == 3 and 15 <= f <= 19) else 1.0
            mot.append(f"{f},{g},{10 * g},20,10,30,1,1,{vis}")
    (gt_dir / "world.txt").write_text("\n".join(world) + "\n")
    (gt_dir / "cam1.txt").write_text("\n".join(mot) + "\n")
    (run / "rtls.jsonl").write_text("\n".join(steps) + "\n")
    (run / "mot" / "cam1.txt").write_text("")
    if lookalikes:
        people = [{"person_id": g, "lookalike_group": 1 if g in (1, 2) else 0}
                  for g in (1, 2, 3, 4)]
        (gt_dir.parent / "scene.json").write_text(json.dumps({"people": people}))
    if embeddings:
        np.savez(run / "embeddings.npz", global_id=np.array([1, 2, 4, 5, 5]),
                 embedding=np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0], [1.0, 0.0], [0.0, 1.0]]))
    return gt_dir, run


def _by_gt(analysis) -> dict[int, object]:
    return {e.gt_id: e for e in analysis.events}


def test_swap_fragmentation_and_handover_are_found_and_classified(tmp_path: Path) -> None:
    gt_dir, run = _scene(tmp_path)
    a = analyse_run(run, gt_dir)
    assert [(e.frame, e.gt_id, e.kind) for e in a.events] == [
        (20, 3, "fragmentation"),
        (23, 1, "switch"),
        (23, 2, "switch"),
        (26, 4, "switch"),
    ]
    e = _by_gt(a)
    # the swap: ids exchanged, the other person within 1 m around it, no gap, same camera
    assert (e[1].prev_pred_id, e[1].new_pred_id) == (1, 2)
    assert (e[2].prev_pred_id, e[2].new_pred_id) == (2, 1)
    assert e[1].causes == ("crossing",) and e[2].causes == ("crossing",)
    assert e[1].other_gt_id == 2 and e[2].other_gt_id == 1
    # closest approach in the window (frames 17..23): 0.5 m apart in y at x1 = x2 (f = 20.5);
    # at frames 20 and 21 the x gap is |0.4 * 19 - 7.8| = 0.2 m
    assert e[1].nearest_other_m == pytest.approx(np.hypot(0.2, 0.5), abs=1e-3)
    assert e[1].gap_steps == 0 and e[1].cams_before == e[1].cams_after == ("cam1",)
    # the fragmentation: same id, 5 unmatched steps, all hidden in the camera's ground truth
    assert (e[3].prev_pred_id, e[3].new_pred_id, e[3].prev_frame) == (3, 3, 14)
    assert (e[3].gap_steps, e[3].hidden_steps) == (5, 5)
    assert e[3].causes == ("occlusion gap",)
    # the hand-over: cam1 -> cam2 with a brand-new id; nobody else near (gt 3 is 5 m away)
    assert (e[4].prev_pred_id, e[4].new_pred_id) == (4, 5)
    assert e[4].causes == ("hand-over", "new id")
    assert e[4].handover == "cam1 → cam2" and e[4].nearest_other_m == pytest.approx(5.0)
    assert e[4].appearance_similarity is None
    assert a.handover_counts() == {"cam1 → cam2": 1}
    assert a.camera_counts() == {"cam1": (3, 1), "cam2": (1, 0)}
    assert a.cause_counts()["crossing"] == 2 and a.cause_counts()["unexplained"] == 0


def test_counts_equal_the_evaluation(tmp_path: Path) -> None:
    gt_dir, run = _scene(tmp_path)
    a = analyse_run(run, gt_dir)
    metrics = evaluate_run(run, gt_world=gt_dir / "world.txt")["floor"]
    assert a.num_switches == metrics["IDSW"] == 3
    assert a.num_fragments == metrics["Frag"] == 1


def test_counts_equal_the_evaluation_on_random_tracks() -> None:
    rng = np.random.default_rng(7)
    n_frames, n_people = 60, 6
    gt_rows, pred_rows = [], []
    for f in range(1, n_frames + 1):
        for g in range(n_people):
            xy = np.array([g * 1.2 + 0.02 * f, 0.03 * f * (g % 3)])
            gt_rows.append((f, g, *xy))
            if rng.random() < 0.85:  # noisy, flickering, with random id changes
                pid = g if rng.random() < 0.9 else int(rng.integers(0, 12))
                pred_rows.append((f, pid, *(xy + rng.normal(0, 0.4, 2))))
    gt_arr, pred_arr = np.array(gt_rows), np.array(pred_rows)
    # unique ids per frame in the predictions (keep the first row of a duplicate)
    _, first = np.unique(pred_arr[:, :2], axis=0, return_index=True)
    pred_arr = pred_arr[np.sort(first)]
    from mtmc.eval import FloorTable, RtlsLog

    gt = FloorTable(gt_arr[:, 0], gt_arr[:, 1], gt_arr[:, 2:])
    pred = FloorTable(pred_arr[:, 0], pred_arr[:, 1], pred_arr[:, 2:])
    frames = np.arange(1, n_frames + 1)
    log = RtlsLog(pred, frames, (frames - 1) / FPS)
    a = analyse_switches(gt, log)
    m = evaluate_floor(gt, pred, frames=frames)
    assert m["IDSW"] > 5 and m["Frag"] > 5  # the case is not trivial
    assert (a.num_switches, a.num_fragments) == (m["IDSW"], m["Frag"])


def test_lookalike_and_appearance_similarity(tmp_path: Path) -> None:
    gt_dir, run = _scene(tmp_path, lookalikes=True, embeddings=True)
    e = _by_gt(analyse_run(run, gt_dir))
    assert e[1].causes == ("look-alike", "crossing") and e[2].causes == ("look-alike", "crossing")
    assert "look-alike" not in e[4].causes
    # ids 1 and 2: orthogonal embeddings; id 4 = (3, 4), id 5 = mean((1, 0), (0, 1)) = (.5, .5)
    assert e[1].appearance_similarity == pytest.approx(0.0)
    assert e[4].appearance_similarity == pytest.approx((3 * 0.5 + 4 * 0.5) / (5 * np.sqrt(0.5)))


def test_rules_thresholds_change_the_classification(tmp_path: Path) -> None:
    gt_dir, run = _scene(tmp_path)
    # a crossing radius below the 0.5 m closest approach: the swap is no longer a crossing
    e = _by_gt(analyse_run(run, gt_dir, rules=SwitchRules(crossing_m=0.4)))
    assert e[1].causes == ("unexplained",)
    # a gap of 5 steps is not an occlusion gap when 6 are required
    e = _by_gt(analyse_run(run, gt_dir, rules=SwitchRules(occlusion_min_steps=6)))
    assert e[3].causes == ("unexplained",)
    with pytest.raises(ValueError, match="crossing_m"):
        SwitchRules(crossing_m=0.0)


def test_report_and_compare(tmp_path: Path) -> None:
    gt_dir, run = _scene(tmp_path / "a")
    a = analyse_run(run, gt_dir)
    out = write_report(a, tmp_path / "report", run_dir=run, gt_dir=gt_dir, strips=False)
    text = (out / "report.md").read_text()
    assert "| IDSW (floor, mtmc.eval) | 3 |" in text and "| ID switches listed | 3 |" in text
    assert (out / "timeline.png").stat().st_size > 1000 and (out / "switches.csv").is_file()
    assert text.count("\n| 2") >= 3  # event rows start with frame numbers 20, 23, 23, 26
    # an "after" run where the swap and the hand-over are fixed
    log = read_rtls(run / "rtls.jsonl")
    assert len(log.frames) == N_FRAMES
    fixed = tmp_path / "b" / "run"
    fixed.mkdir(parents=True)
    gt = read_world_gt(gt_dir / "world.txt")
    with open(fixed / "rtls.jsonl", "w") as fh:
        for f in range(1, N_FRAMES + 1):
            rows = gt[gt.frame == f]
            objects = [{"id": int(g), "x": float(x), "y": float(y), "cams": {"cam1": 1}}
                       for g, (x, y) in zip(rows.track_id, rows.xy_m, strict=True)]
            fh.write(json.dumps({"frame": f, "t": (f - 1) / FPS, "objects": objects}) + "\n")
    b = analyse_run(fixed, gt_dir)
    assert b.num_switches == 0
    out = write_compare_report(a, b, tmp_path / "cmp", labels=("before", "after"),
                               run_dirs=(run, fixed), gt_dir=gt_dir)
    text = (out / "report.md").read_text()
    assert "| ID switches listed | 3 | 0 |" in text
    assert (out / "timeline_before.png").is_file() and (out / "timeline_after.png").is_file()


def test_strips_from_scene_video_and_run_boxes(tmp_path: Path) -> None:
    gt_dir, run = _scene(tmp_path)
    (gt_dir.parent / "videos").mkdir()
    writer = cv2.VideoWriter(str(gt_dir.parent / "videos" / "cam1.mp4"),
                             cv2.VideoWriter_fourcc(*"mp4v"), FPS, (96, 64))
    for _ in range(N_FRAMES):
        writer.write(np.full((64, 96, 3), 90, np.uint8))
    writer.release()
    # the run's box of id 2 around gt 1's box (gt/cam1.txt: gt 1 at left 10, top 20, 10 x 30)
    (run / "mot" / "cam1.txt").write_text(
        "\n".join(f"{f},2,8,18,14,34,1,-1,-1,-1" for f in range(1, N_FRAMES + 1)) + "\n")
    out = write_report(analyse_run(run, gt_dir), tmp_path / "report", run_dir=run, gt_dir=gt_dir)
    strips = sorted((out / "strips").glob("*.png"))
    # three switches; each strip: a 24 px header over one camera row of 5 tiles 213 x 160
    assert [p.name for p in strips] == ["switch_01_f23_gt1.png", "switch_02_f23_gt2.png",
                                        "switch_03_f26_gt4.png"]
    image = cv2.imread(str(strips[0]))
    assert image.shape == (24 + 160, 5 * 213, 3)
    colour = np.array(id_color_bgr(2))
    assert (np.abs(image.astype(int) - colour).sum(axis=2) < 40).sum() > 50  # id 2's box drawn


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = load_script("id_switches")
    gt_dir, run = _scene(tmp_path)
    assert cli.main(["--run", str(run), "--gt", str(gt_dir), "--no-strips"]) == 0
    assert "3 ID switches, 1 fragmentations" in capsys.readouterr().out
    assert (run / "id_switches" / "report.md").is_file()
    assert cli.main(["--run", str(run), "--compare", str(run), "--gt", str(gt_dir), "--no-strips",
                     "--labels", "base", "fine tuned", "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "timeline_fine_tuned.png").is_file()
    assert cli.main(["--run", str(tmp_path), "--gt", str(gt_dir)]) == 2
    assert "rtls.jsonl" in capsys.readouterr().err
