from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pytest import approx
from script_loader import load_script

from mtmc.formats.market import market_path
from mtmc.reid.baselines import (
    evaluate_hsv_baseline,
    histogram_distance,
    hsv_histogram,
    hsv_histograms,
)


def _solid(bgr: tuple[int, int, int], h: int = 16, w: int = 8) -> np.ndarray:
    return np.full((h, w, 3), bgr, dtype=np.uint8)


def test_hsv_histogram_bins() -> None:
    red = hsv_histogram(_solid((0, 0, 255)), (8, 4, 4))
    assert red.shape == (8 * 4 * 4,) and red.dtype == np.float32
    assert red[(0 * 4 + 3) * 4 + 3] == 1.0  # hue 0, saturation 255, value 255
    # OpenCV blue: hue 120 of 180 -> hue bin 120 * 8 // 180 = 5
    assert hsv_histogram(_solid((255, 0, 0)), (8, 4, 4))[(5 * 4 + 3) * 4 + 3] == 1.0
    half = np.concatenate([_solid((0, 0, 255)), _solid((0, 0, 0))])
    hist = hsv_histogram(half, (16, 4, 4))
    assert hist[0] == approx(1 / 2) and hist[(0 * 4 + 3) * 4 + 3] == approx(1 / 2)
    assert hist.sum() == approx(1.0)
    # the centre region skips a black border
    framed = np.zeros((20, 8, 3), np.uint8)
    framed[2:18, 2:6] = (0, 0, 255)
    assert hsv_histogram(framed, (8, 4, 4), "center")[(0 * 4 + 3) * 4 + 3] == 1.0
    assert hsv_histogram(framed, (8, 4, 4), "full")[0] == approx(1 - 16 * 4 / (20 * 8))
    with pytest.raises(KeyError, match="unknown histogram region 'middle'"):
        hsv_histogram(framed, (8, 4, 4), "middle")
    with pytest.raises(ValueError, match="uint8 BGR"):
        hsv_histogram(np.zeros((4, 4)), (8, 4, 4))
    with pytest.raises(ValueError, match="bins must be 3 counts"):
        hsv_histogram(_solid((0, 0, 0)), (8, 4))


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("bhattacharyya", np.sqrt(1 - np.sqrt(0.5))),
        ("chi2", 0.5 * ((0.5 - 1) ** 2 / 1.5 + 0.5**2 / 0.5)),
        ("cosine", 1 - 0.5 / np.sqrt(0.5)),
    ],
)
def test_histogram_distance(metric: str, expected: float) -> None:
    p = np.array([[0.5, 0.5, 0.0]])
    g = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    d = histogram_distance(p, g, metric)
    assert d.shape == (1, 3)
    assert d[0, 0] == approx(expected)
    assert d[0, 1] == approx(0.0, abs=1e-7)  # identical
    assert d[0, 2] == approx(1.0)  # disjoint


def test_histogram_distance_errors() -> None:
    with pytest.raises(KeyError, match="unknown histogram distance 'l7'"):
        histogram_distance(np.ones((1, 2)), np.ones((1, 2)), "l7")
    with pytest.raises(ValueError, match=r"\(Q, D\) and \(G, D\)"):
        histogram_distance(np.ones((1, 2)), np.ones((1, 3)), "chi2")


COLOURS = {1: (0, 0, 255), 2: (0, 255, 0), 3: (255, 0, 0), 4: (0, 255, 255),
           5: (255, 0, 255), 6: (255, 255, 0)}


def _write(root: Path, split: str, pid: int, cam: int, frame: int, bgr) -> None:
    path = market_path(root, split, pid, cam, frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(frame * 100 + pid * 10 + cam)
    img = np.clip(_solid(bgr, 32, 16).astype(int) + rng.integers(-20, 21, (32, 16, 3)), 0, 255)
    assert cv2.imwrite(str(path), img.astype(np.uint8))


def make_market(root: Path, colours: dict[int, tuple[int, int, int]]) -> Path:
    """Ids 1-2 train, 3-6 test; each person one colour in both cameras."""
    for pid, bgr in colours.items():
        for cam in (1, 2):
            for frame in (1, 2, 3):
                split = "train" if pid <= 2 else ("query" if frame == 1 else "gallery")
                _write(root, split, pid, cam, frame, bgr)
    return root


def test_evaluate_distinct_colours(tmp_path: Path) -> None:
    r = evaluate_hsv_baseline(make_market(tmp_path, COLOURS))
    assert r["rank1_pct"] == 100.0 and r["mAP_pct"] == 100.0
    assert r["num_query"] == 4 * 2 and r["num_gallery"] == 4 * 2 * 2
    assert r["selected_on"] == "train"
    assert len(r["variants"]) == 2 * 2 * 3
    assert r["selected"]["distance"] in {"bhattacharyya", "chi2", "cosine"}


def test_evaluate_same_colours_ties(tmp_path: Path) -> None:
    # ids 3 and 4 share a colour, 5 and 6 another: their histograms are identical, every distance
    # ties and the gallery keeps file-name order (3c1 3c1 3c2 3c2 4c1 4c1 4c2 4c2 per pair).
    # Queries of ids 3 and 5 find their 2 matches at ranks 1, 2 (AP 1); those of ids 4 and 6 at
    # ranks 5, 6 after the same-camera pair is removed (AP (1/5 + 2/6) / 2).
    colours = {1: (0, 0, 255), 2: (0, 255, 0), 3: (255, 0, 0), 4: (255, 0, 0),
               5: (0, 255, 255), 6: (0, 255, 255)}
    r = evaluate_hsv_baseline(make_market(tmp_path, colours))
    assert r["rank1_pct"] == approx(100 * 4 / 8)
    assert r["mAP_pct"] == approx(100 * (4 * 1 + 4 * (1 / 5 + 2 / 6) / 2) / 8)
    assert r["selected_on"] == "train"


def test_selection_falls_back_to_test_without_train(tmp_path: Path) -> None:
    root = make_market(tmp_path, {k: v for k, v in COLOURS.items() if k > 2})
    r = evaluate_hsv_baseline(root, bins_choices=((8, 4, 4),), distances=("cosine",),
                              regions=("center",))
    assert r["selected_on"] == "test" and r["num_train"] == 0
    assert r["selected"] == {"region": "center", "bins": [8, 4, 4], "distance": "cosine"}


def test_hsv_histograms_unreadable(tmp_path: Path) -> None:
    bad = tmp_path / "0001_c1s1_000001_00.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="cannot read the image"):
        hsv_histograms([bad])


def test_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = load_script("hsv_baseline")
    root = make_market(tmp_path / "market", COLOURS)
    assert module.main(["--data", str(root), "--out", str(tmp_path / "out")]) == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["rank1_pct"] == 100.0 and metrics["mAP_pct"] == 100.0
    assert "rank-1 100.0 %" in capsys.readouterr().out
    assert module.main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o2")]) == 2
