"""evaluate_run on run folders, the rtls.jsonl / world.txt readers and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mtmc.eval import evaluate_run, format_table, read_rtls, read_world_gt
from mtmc.eval.__main__ import main
from mtmc.formats.mot import MotTable, write_mot

N_FRAMES = 5
PEOPLE = (3, 8)  # gt person ids


def position_m(frame: int, person: int) -> tuple[float, float]:
    return 0.5 * frame, 3.0 * person


def box_tlwh(frame: int, person: int, cam: int) -> list[float]:
    return [100.0 * person + 10 * frame + 50 * cam, 80.0, 40.0, 110.0]


def make_scene(root: Path, rtls_frames=range(1, N_FRAMES + 1), global_id=lambda p, cam: p + 100):
    """Scene gt (world.txt, cam1.txt, cam2.txt) and a run whose predictions equal the truth."""
    scene, run = root / "scene", root / "run"
    (scene / "gt").mkdir(parents=True)
    (run / "mot").mkdir(parents=True)
    world = [
        f"{f},{p},{position_m(f, p)[0]:.3f},{position_m(f, p)[1]:.3f},0.0"
        for f in range(1, N_FRAMES + 1) for p in PEOPLE
    ]
    (scene / "gt" / "world.txt").write_text("\n".join(world) + "\n")
    lines = []
    for f in rtls_frames:
        objects = [
            {"id": p + 100, "x": position_m(f, p)[0], "y": position_m(f, p)[1], "vx": 0.5,
             "vy": 0.0, "cams": {"cam1": p}}
            for p in PEOPLE
        ]
        lines.append(json.dumps({"frame": f, "t": (f - 1) / 10, "objects": objects}))
    (run / "rtls.jsonl").write_text("\n".join(lines) + ("\n" if lines else ""))
    for cam in (1, 2):
        rows = [(f, p, box_tlwh(f, p, cam)) for f in range(1, N_FRAMES + 1) for p in PEOPLE]
        frame = np.array([r[0] for r in rows])
        person = np.array([r[1] for r in rows])
        tlwh = np.array([r[2] for r in rows])
        gt = MotTable(frame=frame, track_id=person, tlwh=tlwh, class_id=np.ones(len(rows)),
                      visibility=np.ones(len(rows)))
        write_mot(scene / "gt" / f"cam{cam}.txt", gt, kind="gt")
        keep = np.isin(frame, list(rtls_frames))
        pred_ids = np.array([global_id(p, cam) for p in person])
        pred = MotTable(frame=frame[keep], track_id=pred_ids[keep], tlwh=tlwh[keep])
        write_mot(run / "mot" / f"cam{cam}.txt", pred, kind="det")
    return scene, run


def test_perfect_run_scores_100(tmp_path):
    scene, run = make_scene(tmp_path)
    m = evaluate_run(run, gt_world=scene / "gt" / "world.txt",
                     gt_mot_pattern=str(scene / "gt" / "{camera}.txt"))
    assert set(m) == {"floor", "image"}
    for section in ("floor", "image"):
        for key in ("HOTA", "DetA", "AssA", "IDF1", "MOTA"):
            assert m[section][key] == pytest.approx(100.0), (section, key)
        assert m[section]["IDSW"] == 0 and m[section]["frames"] == N_FRAMES
    assert m["floor"]["LocA"] == pytest.approx(100.0, abs=1e-3)  # world.txt keeps 3 decimals
    assert m["image"]["GT_Dets"] == 2 * N_FRAMES * len(PEOPLE)
    assert set(m["image"]["per_camera"]) == {"cam1", "cam2"}
    table = format_table(m)
    assert "floor" in table and "  cam2" in table and "HOTA" in table.splitlines()[0]


def test_global_id_change_between_cameras_lowers_image_idf1(tmp_path):
    scene, run = make_scene(tmp_path, global_id=lambda p, cam: p + 100 * cam)
    m = evaluate_run(run, gt_mot_pattern=str(scene / "gt" / "{camera}.txt"))
    assert "floor" not in m
    assert m["image"]["per_camera"]["cam1"]["IDF1"] == pytest.approx(100.0)
    # each person: 5 boxes matched in one camera, 5 missed (other camera's id is unmatched)
    idtp = idfn = idfp = len(PEOPLE) * N_FRAMES
    assert m["image"]["IDF1"] == pytest.approx(100 * 2 * idtp / (2 * idtp + idfn + idfp))
    assert m["image"]["IDSW"] == len(PEOPLE)


def test_frames_run_scores_only_processed_frames(tmp_path):
    scene, run = make_scene(tmp_path, rtls_frames=range(1, 4))
    kwargs = {"gt_world": scene / "gt" / "world.txt",
              "gt_mot_pattern": str(scene / "gt" / "{camera}.txt")}
    m = evaluate_run(run, **kwargs)
    assert m["floor"]["frames"] == 3 and m["floor"]["HOTA"] == pytest.approx(100.0)
    assert m["floor"]["gt_rows_dropped"] == 2 * len(PEOPLE)
    assert m["image"]["gt_rows_dropped"] == 2 * 2 * len(PEOPLE)
    every = evaluate_run(run, frames="all", **kwargs)
    assert every["floor"]["CLR_FN"] == 2 * len(PEOPLE)
    assert every["floor"]["MOTA"] == pytest.approx(100 * 3 / 5)


def test_run_errors_name_the_problem(tmp_path):
    scene, run = make_scene(tmp_path)
    pattern = str(scene / "gt" / "{camera}.txt")
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate_run(run)
    with pytest.raises(ValueError, match="run folder not found"):
        evaluate_run(tmp_path / "nope", gt_mot_pattern=pattern)
    with pytest.raises(ValueError, match="placeholder"):
        evaluate_run(run, gt_mot_pattern=str(scene / "gt" / "cam1.txt"))
    with pytest.raises(ValueError, match="cam7"):
        evaluate_run(run, gt_mot_pattern=pattern, cameras=["cam7"])
    (run / "rtls.jsonl").write_text("")
    with pytest.raises(ValueError, match="empty run"):
        evaluate_run(run, gt_mot_pattern=pattern)


def test_read_rtls(tmp_path):
    path = tmp_path / "rtls.jsonl"
    path.write_text(
        '{"frame": 2, "t": 0.1, "objects": [{"id": 4, "x": 1.5, "y": -2, "cams": {"cam1": 3}}]}\n'
        '\n'
        '{"frame": 3, "t": 0.2, "objects": []}\n'
    )
    log = read_rtls(path)
    assert log.frames.tolist() == [2, 3] and log.t_s.tolist() == [0.1, 0.2]
    assert log.tracks.frame.tolist() == [2] and log.tracks.track_id.tolist() == [4]
    assert log.tracks.xy_m.tolist() == [[1.5, -2.0]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"frame": 1, "objects": [}', ":1: invalid JSON"),
        ('{"frame": 1, "objects": [{"id": 1, "x": 0}]}', "'y' must be a finite number"),
        ('{"frame": 1, "objects": [{"id": 1, "x": NaN, "y": 0}]}', "'x' must be a finite"),
        ('{"frame": 1, "objects": [{"id": 1, "x": 0, "y": 0}, {"id": 1, "x": 1, "y": 0}]}',
         "id 1 appears twice in frame 1"),
        ('{"frame": 1, "objects": []}\n{"frame": 1, "objects": []}', ":2: frame 1 appears on two"),
        ('{"frame": 0, "objects": []}', "not 1-based"),
        ('{"frame": 1}', "'objects' must be a list"),
    ],
)
def test_read_rtls_errors(tmp_path, text, message):
    path = tmp_path / "rtls.jsonl"
    path.write_text(text + "\n")
    with pytest.raises(ValueError, match=message):
        read_rtls(path)


def test_read_world_gt(tmp_path):
    path = tmp_path / "world.txt"
    path.write_text("# frame,id,x,y,heading\n1,3,0.5,1.25,3.14\n2 3 0.75 1.5\n")
    gt = read_world_gt(path)
    assert gt.frame.tolist() == [1, 2] and gt.track_id.tolist() == [3, 3]
    assert gt.xy_m.tolist() == [[0.5, 1.25], [0.75, 1.5]]
    path.write_text("1,3,0.5\n")
    with pytest.raises(ValueError, match="world.txt:1: expected frame,id"):
        read_world_gt(path)
    path.write_text("1,3,a,1,0\n")
    with pytest.raises(ValueError, match="non-numeric"):
        read_world_gt(path)
    with pytest.raises(ValueError, match="not found"):
        read_world_gt(tmp_path / "missing.txt")


def test_cli_writes_json_and_prints_table(tmp_path, capsys):
    scene, run = make_scene(tmp_path)
    out = tmp_path / "metrics.json"
    assert main(["--run", str(run), "--gt", str(scene), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "floor" in printed.out and "image" in printed.out and printed.err == ""
    data = json.loads(out.read_text())
    assert data["floor"]["HOTA"] == pytest.approx(100.0)
    assert data["image"]["per_camera"]["cam1"]["IDF1"] == pytest.approx(100.0)
    # default output file is RUN/metrics.json; explicit world / pattern options work too
    assert main(["--run", str(run), "--gt-world", str(scene / "gt" / "world.txt")]) == 0
    assert set(json.loads((run / "metrics.json").read_text())) == {"floor"}


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing_run", "run folder not found"),
        ("empty_run", "empty run"),
        ("no_gt_folder", "--gt takes a scene folder"),
        ("no_gt", "give --gt SCENE"),
    ],
)
def test_cli_user_errors_exit_2_with_one_line(tmp_path, capsys, setup, message):
    scene, run = make_scene(tmp_path)
    args = ["--run", str(run), "--gt", str(scene)]
    if setup == "missing_run":
        args[1] = str(tmp_path / "missing")
    elif setup == "empty_run":
        (run / "rtls.jsonl").write_text("")
    elif setup == "no_gt_folder":
        args[3] = str(tmp_path)
    else:
        args = args[:2]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("mtmc.eval: error:") and err.count("\n") == 1


def test_module_entry_point(tmp_path):
    scene, run = make_scene(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "mtmc.eval", "--run", str(run), "--gt", str(scene)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split()[:3] == ["section", "HOTA", "DetA"]
    assert (run / "metrics.json").is_file()
