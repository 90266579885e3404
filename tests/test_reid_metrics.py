from __future__ import annotations

import numpy as np
import pytest
from pytest import approx

from mtmc.reid.metrics import evaluate_rank


def _eval(dist, q_pids, g_pids, q_cams, g_cams, **kw):
    return evaluate_rank(np.array(dist, dtype=float), np.array(q_pids), np.array(g_pids),
                         np.array(q_cams), np.array(g_cams), **kw)


def test_single_query_two_matches() -> None:
    # ranked: T F T F
    m = _eval([[0.1, 0.2, 0.3, 0.4]], [1], [1, 2, 1, 3], [1], [2, 2, 2, 2])
    assert m["rank1"] == 1.0 and m["rank5"] == 1.0 and m["rank10"] == 1.0
    assert m["mAP"] == approx((1 / 1 + 2 / 3) / 2)
    assert m["mINP"] == approx(2 / 3)
    assert m["num_valid_queries"] == 1 and m["num_queries"] == 1
    assert m["cmc"].shape == (50,) and m["cmc"].tolist() == [1.0] * 50


def test_gallery_order_unsorted_input() -> None:
    # same as above with the gallery shuffled: distances decide, not positions
    m = _eval([[0.4, 0.3, 0.1, 0.2]], [1], [3, 1, 1, 2], [1], [2, 2, 2, 2])
    assert m["mAP"] == approx((1 / 1 + 2 / 3) / 2)


@pytest.mark.parametrize(
    ("g_pids", "rank1", "ap"),
    [
        ([2, 1], 0.0, 1 / 2),  # tie: gallery index 0 (wrong) ranks first
        ([1, 2], 1.0, 1 / 1),  # tie: gallery index 0 (right) ranks first
    ],
)
def test_ties_broken_by_gallery_index(g_pids, rank1, ap) -> None:
    m = _eval([[0.5, 0.5]], [1], g_pids, [1], [2, 2])
    assert m["rank1"] == rank1
    assert m["mAP"] == approx(ap)
    assert m["mINP"] == approx(ap)  # one true match: INP = 1 / its rank = AP


def test_ties_deterministic_across_many_equal_distances() -> None:
    g_pids = np.array([3, 4, 5, 1, 6, 1])
    m = _eval(np.zeros((1, 6)), [1], g_pids, [1], np.full(6, 2))
    # order is gallery order: F F F T F T
    assert m["rank1"] == 0.0 and m["rank5"] == 1.0
    assert m["mAP"] == approx((1 / 4 + 2 / 6) / 2)
    assert m["mINP"] == approx(2 / 6)
    assert m["cmc"][:6].tolist() == [0, 0, 0, 1, 1, 1]


def test_same_camera_same_id_removed() -> None:
    # gallery 0 is the query's person seen by the query's camera: removed -> ranked F T
    m = _eval([[0.1, 0.2, 0.3]], [1], [1, 2, 1], [1], [1, 2, 2])
    assert m["rank1"] == 0.0
    assert m["mAP"] == approx(1 / 2)
    # same camera but another identity stays (a plain false match)
    m = _eval([[0.1, 0.2, 0.3]], [1], [2, 1, 3], [1], [1, 2, 1])
    assert m["rank1"] == 0.0 and m["mAP"] == approx(1 / 2)


def test_skipped_queries() -> None:
    dist = [[0.1, 0.2, 0.3],  # pid 1 cam 1: matches g0 (cam 2) at rank 1
            [0.1, 0.2, 0.3],  # pid 9: not in the gallery -> skipped
            [0.3, 0.2, 0.1],  # pid 2 cam 2: only match g2 is cam 2 -> skipped
            [0.3, 0.2, 0.1]]  # pid 2 cam 3: g2 kept; ranked g2 first -> rank 1
    m = _eval(dist, [1, 9, 2, 2], [1, 3, 2], [1, 1, 2, 3], [2, 2, 2])
    assert m["num_valid_queries"] == 2 and m["num_queries"] == 4
    assert m["rank1"] == 1.0 and m["mAP"] == 1.0


def test_distractors_count_as_false_and_junk_is_removed() -> None:
    # ranked by distance: junk(-1), distractor(0), true(1), distractor(0)
    # junk removed -> F T F
    m = _eval([[0.1, 0.2, 0.3, 0.4]], [1], [-1, 0, 1, 0], [1], [2, 2, 2, 2])
    assert m["rank1"] == 0.0
    assert m["mAP"] == approx(1 / 2)
    assert m["mINP"] == approx(1 / 2)


def test_junk_and_distractor_queries_skipped() -> None:
    # the distractor query would otherwise match the distractor g0
    m = _eval([[0.1, 0.2], [0.1, 0.2], [0.2, 0.1]], [0, -1, 1], [0, 1], [1, 1, 1], [2, 2])
    assert m["num_valid_queries"] == 1 and m["rank1"] == 1.0


def test_mean_over_queries() -> None:
    g_pids = [2, 1, 3, 1]
    dist = [[0.1, 0.2, 0.3, 0.4],   # pid 1 ranks g0..g3 = 2 1 3 1: F T F T
            [0.4, 0.3, 0.2, 0.1]]   # pid 2 ranks g3..g0 = 1 3 1 2: F F F T
    m = _eval(dist, [1, 2], g_pids, [1, 1], [2, 2, 2, 2], max_rank=5)
    assert m["mAP"] == approx(((1 / 2 + 2 / 4) / 2 + 1 / 4) / 2)
    assert m["mINP"] == approx((2 / 4 + 1 / 4) / 2)
    assert m["rank1"] == 0.0 and m["rank5"] == 1.0
    assert m["cmc"].tolist() == [0.0, 0.5, 0.5, 1.0, 1.0]


def _reference(dist, q_pids, g_pids, q_cams, g_cams):
    """Plain per-query loop, written independently of the vectorised code."""
    aps, inps, firsts = [], [], []
    for i in range(len(q_pids)):
        idx = [j for j in np.argsort(dist[i], kind="stable")
               if g_pids[j] != -1 and not (g_pids[j] == q_pids[i] and g_cams[j] == q_cams[i])]
        hits = [g_pids[j] == q_pids[i] for j in idx]
        if q_pids[i] <= 0 or not any(hits):
            continue
        ranks = [r + 1 for r, h in enumerate(hits) if h]
        aps.append(np.mean([(k + 1) / r for k, r in enumerate(ranks)]))
        inps.append(len(ranks) / ranks[-1])
        firsts.append(ranks[0])
    return np.mean(aps), np.mean(inps), np.mean(np.array(firsts) <= 1), len(aps)


def test_matches_reference_loop_random() -> None:
    rng = np.random.default_rng(0)
    n_q, n_g = 37, 91
    q_pids, g_pids = rng.integers(-1, 12, n_q), rng.integers(-1, 12, n_g)
    q_cams, g_cams = rng.integers(1, 4, n_q), rng.integers(1, 4, n_g)
    dist = rng.integers(0, 6, (n_q, n_g)).astype(float)  # many ties on purpose
    ref_map, ref_inp, ref_r1, ref_n = _reference(dist, q_pids, g_pids, q_cams, g_cams)
    for chunk in (1, 5, 512):
        m = evaluate_rank(dist, q_pids, g_pids, q_cams, g_cams, chunk_size=chunk)
        assert m["mAP"] == approx(ref_map)
        assert m["mINP"] == approx(ref_inp)
        assert m["rank1"] == approx(ref_r1)
        assert m["num_valid_queries"] == ref_n


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"g_pids must have shape \(3,\)"):
        _eval([[0.1, 0.2, 0.3]], [1], [1, 2], [1], [2, 2, 2])
    with pytest.raises(ValueError, match="distmat must be"):
        _eval([0.1, 0.2], [1], [1, 2], [1], [2, 2])
    with pytest.raises(ValueError, match="NaN"):
        _eval([[np.nan, 0.2]], [1], [1, 2], [1], [2, 2])
    with pytest.raises(ValueError, match="none of the 1 queries"):
        _eval([[0.1, 0.2]], [1], [1, 2], [1], [1, 1])
