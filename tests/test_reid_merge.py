"""mtmc.reid.merge: joining Market training sets without identity collisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtmc.formats.market import read_market
from mtmc.reid.merge import id_step, main, merge_markets, renumbered_name


def market(root: Path, train: list[str], query: list[str] = (), gallery: list[str] = ()) -> Path:
    for folder, names in (("bounding_box_train", train), ("query", query),
                          ("bounding_box_test", gallery)):
        (root / folder).mkdir(parents=True)
        for name in names:
            (root / folder / name).write_bytes(name.encode())  # content tells where a file came from
    return root


def test_id_step_is_the_next_power_of_ten() -> None:
    assert [id_step(n) for n in (0, 9, 10, 730, 999, 1000)] == [10, 10, 100, 1000, 1000, 10000]


def test_renumbering_moves_people_only() -> None:
    assert renumbered_name("0012_c3s1_000040_00.jpg", 1000) == "1012_c3s1_000040_00.jpg"
    assert renumbered_name("0000_c3s1_000040_00.jpg", 1000) == "0000_c3s1_000040_00.jpg"
    assert renumbered_name("-1_c3s1_000040_00.jpg", 1000) == "-1_c3s1_000040_00.jpg"
    assert renumbered_name("12_c3s1_40_0.png", 0) == "12_c3s1_40_0.png"  # as it is
    assert renumbered_name("12_c3s1_40_0.png", 10) == "0022_c3s1_000040_00.png"


def test_two_populations_share_no_identity(tmp_path: Path) -> None:
    a = market(tmp_path / "a", ["0001_c1s1_000001_00.jpg", "0730_c2s1_000005_00.jpg"],
               query=["0801_c1s1_000010_00.jpg"], gallery=["801_c2s1_11_0.jpg"])
    b = market(tmp_path / "b", ["0001_c1s1_000001_00.jpg", "0005_c12s1_000002_00.jpg"],
               query=["0801_c1s1_000099_00.jpg"], gallery=["0801_c1s1_000098_00.jpg"])
    out = tmp_path / "both"
    summary = merge_markets([a, b], a, out)
    split = read_market(out)
    assert sorted(set(split.train.pids.tolist())) == [1, 730, 1001, 1005]
    assert (out / "bounding_box_train" / "1005_c12s1_000002_00.jpg").read_bytes() == \
        b"0005_c12s1_000002_00.jpg"
    assert (out / "bounding_box_train" / "0001_c1s1_000001_00.jpg").read_bytes() == \
        b"0001_c1s1_000001_00.jpg"  # the first folder keeps its ids
    assert (out / "query" / "0801_c1s1_000010_00.jpg").read_bytes() == b"0801_c1s1_000010_00.jpg"
    assert (out / "bounding_box_test" / "801_c2s1_11_0.jpg").exists()  # evaluation names kept
    assert summary["train_ids"] == 4 and [t["id_offset"] for t in summary["train"]] == [0, 1000]
    assert json.loads((out / "merge.json").read_text()) == summary


def test_evaluation_people_must_be_unseen(tmp_path: Path) -> None:
    a = market(tmp_path / "a", ["0001_c1s1_000001_00.jpg"])
    b = market(tmp_path / "b", ["0002_c1s1_000001_00.jpg"],
               query=["0012_c1s1_000010_00.jpg"], gallery=["0003_c2s1_000011_00.jpg"])
    with pytest.raises(ValueError, match=r"evaluation identities \[12\]"):
        merge_markets([a, b], b, tmp_path / "out")


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a = market(tmp_path / "a", ["0001_c1s1_000001_00.jpg"], query=["0009_c1s1_000001_00.jpg"],
               gallery=["0009_c2s1_000001_00.jpg"])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("")
    assert main(["--train", str(a), "--eval", str(a), "--out", str(tmp_path / "out")]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert main(["--train", str(tmp_path / "nope"), "--eval", str(a),
                 "--out", str(tmp_path / "o2")]) == 2
    assert "bounding_box_train: Market split folder not found" in capsys.readouterr().err
    assert main(["--train", str(a), "--eval", str(a), "--out", str(tmp_path / "o3")]) == 0
    assert "train 1 crops of 1 identities, query 1, gallery 1" in capsys.readouterr().out
