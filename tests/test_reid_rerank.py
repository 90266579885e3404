from __future__ import annotations

import numpy as np
import pytest

from mtmc.reid.metrics import evaluate_rank
from mtmc.reid.rerank import re_ranking


def _euclid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def _loop_reference(dist_qg, dist_qq, dist_gg, k1, k2, lam):
    """Zhong et al.'s algorithm written step by step with Python loops and sets."""
    n_q = len(dist_qq)
    orig = np.block([[dist_qq, dist_qg], [dist_qg.T, dist_gg]]).astype(np.float64)
    n = len(orig)
    d = (orig / orig.max(axis=0)).T
    rank = np.argsort(d, axis=1, kind="stable")

    def recip_set(i: int, k: int) -> set[int]:
        return {int(j) for j in rank[i, :k + 1] if i in rank[j, :k + 1]}

    v = np.zeros((n, n))
    for i in range(n):
        r = recip_set(i, k1)
        expanded = set(r)
        for c in r:
            rc = recip_set(c, int(round(k1 / 2)))
            if len(rc & r) > 2 / 3 * len(rc):
                expanded |= rc
        idx = sorted(expanded)
        w = np.exp(-d[i, idx])
        v[i, idx] = w / w.sum()
    if k2 > 1:
        v = np.stack([v[rank[i, :k2]].mean(axis=0) for i in range(n)])
    jac = np.zeros((n_q, n))
    for i in range(n_q):
        for j in range(n):
            m = np.minimum(v[i], v[j]).sum()
            jac[i, j] = 1 - m / (2 - m)
    final = jac * (1 - lam) + d[:n_q] * lam
    return final[:, n_q:]


@pytest.mark.parametrize(("k1", "k2", "lam"), [(6, 3, 0.3), (4, 1, 0.5), (20, 6, 0.3)])
def test_matches_loop_reference(k1: int, k2: int, lam: float) -> None:
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(6, 4)) * 3
    gal = np.repeat(centers, 5, axis=0) + rng.normal(size=(30, 4))
    qry = centers[:4] + rng.normal(size=(4, 4))
    args = (_euclid(qry, gal), _euclid(qry, qry), _euclid(gal, gal))
    got = re_ranking(*args, k1=k1, k2=k2, lambda_value=lam)
    want = _loop_reference(*args, k1, k2, lam)
    assert got.shape == (4, 30) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=2e-6)


def test_lambda_one_is_normalised_original() -> None:
    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(3, 2)), rng.normal(size=(7, 2))
    dqg, dqq, dgg = _euclid(q, g), _euclid(q, q), _euclid(g, g)
    got = re_ranking(dqg, dqq, dgg, k1=3, k2=1, lambda_value=1.0)
    # each query row divided by that query's largest distance to anything (queries included)
    row_max = np.maximum(dqq.max(axis=1), dqg.max(axis=1))
    np.testing.assert_allclose(got, dqg / row_max[:, None], rtol=1e-6)


def test_fixes_an_impostor_constructed_case() -> None:
    """A query of person A is nearest to an impostor of B; A's many crops pull it back."""
    # person A: a tight gallery cluster around x = 0 (different camera from the query)
    a_gal = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [-0.1, 0.0], [0.0, -0.1]])
    # person B: a tight cluster around x = 2, plus one outlying crop close to the query
    b_gal = np.array([[2.0, 0.0], [2.1, 0.0], [2.0, 0.1], [1.9, 0.0], [2.0, -0.1], [0.75, 0.5]])
    query = np.array([[0.6, 0.6]])
    gal = np.vstack([a_gal, b_gal])
    g_pids = np.array([1] * 5 + [2] * 6)
    g_cams = np.full(11, 2)
    dqg, dqq, dgg = _euclid(query, gal), _euclid(query, query), _euclid(gal, gal)
    assert np.argmin(dqg[0]) == 10  # the impostor wins on raw distance
    before = evaluate_rank(dqg, np.array([1]), g_pids, np.array([1]), g_cams)
    final = re_ranking(dqg, dqq, dgg, k1=5, k2=1, lambda_value=0.3)
    after = evaluate_rank(final, np.array([1]), g_pids, np.array([1]), g_cams)
    assert before["rank1"] == 0.0 and after["rank1"] == 1.0
    assert after["mAP"] > before["mAP"]
    assert final.shape == dqg.shape and np.all((final >= 0) & (final <= 1))


def test_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(Q, G\)"):
        re_ranking(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((2, 2)))
