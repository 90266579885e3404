"""The ReID population builder's renaming and scene plan (the simulation itself is tested in
test_synth*.py, the cropping in test_reid_prepare*.py)."""

from __future__ import annotations

import json

import pytest

from mtmc.formats.market import parse_market_name
from mtmc.reid.population import PopulationParams, merged_name


def test_scene_k_moves_ids_by_100k_and_cameras_by_10k() -> None:
    # scene 3, person 12, camera 4, frame 37 -> person 3*100+12, camera 3*10+4
    assert merged_name("0012_c4s1_000037_00.jpg", 3) == "0312_c34s1_000037_00.jpg"
    assert parse_market_name(merged_name("0007_c2s1_000120_01.jpg", 0)) == (7, 2, 1, 120, 1)


def test_junk_and_distractors_keep_their_meaning() -> None:
    assert merged_name("-1_c1s1_000005_00.jpg", 2).startswith("-1_c21s1")
    assert merged_name("0000_c1s1_000005_00.jpg", 2).startswith("0000_c21s1")


def test_collisions_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 99 people"):
        merged_name("0100_c1s1_000001_00.jpg", 1)
    with pytest.raises(ValueError, match="9 cameras"):
        merged_name("0001_c10s1_000001_00.jpg", 1)


def test_scene_plan_alternates_presets_and_camera_counts() -> None:
    p = PopulationParams(train_scenes=3, people=20, seconds=10, first_seed=50)
    plans = [p.scene_args(k) for k in range(4)]
    assert [a[1] for a in plans] == ["warehouse", "retail", "warehouse", "retail"]
    assert [a[3] for a in plans] == ["50", "51", "52", "53"]  # distinct seeds, so new people
    assert [a[5] for a in plans] == ["4", "5", "6", "4"]
    with pytest.raises(ValueError, match="people"):
        PopulationParams(people=100)


def test_resuming_with_other_parameters_is_refused(tmp_path) -> None:
    from mtmc.reid.population import PLAN_FILE, _check_plan

    scene = tmp_path / "s00"
    plan = {"synth": PopulationParams().scene_args(0), "prepare": {"per_id": 30}}
    _check_plan(scene, plan)  # nothing there yet: fine
    scene.mkdir()
    (scene / "scene.json").write_text("{}")
    with pytest.raises(ValueError, match="without population_plan.json"):
        _check_plan(scene, plan)
    (scene / PLAN_FILE).write_text(json.dumps(plan))
    _check_plan(scene, plan)  # same plan: resumes
    with pytest.raises(ValueError, match="other parameters"):
        _check_plan(scene, {**plan, "prepare": {"per_id": 50}})
