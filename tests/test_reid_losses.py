from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from mtmc.reid.losses import (
    CenterLoss,
    ReIDLoss,
    batch_hard_triplet_loss,
    label_smoothing_cross_entropy,
    pairwise_euclidean,
)
from mtmc.reid.spec import LossSpec

pytestmark = pytest.mark.usefixtures("one_thread")


def test_label_smoothing_hand_computed() -> None:
    # softmax([0, ln 3]) = [1/4, 3/4]; target q = [0.9 + 0.1/2, 0.1/2]
    logits = torch.tensor([[0.0, math.log(3.0)]])
    got = label_smoothing_cross_entropy(logits, torch.tensor([0]), epsilon=0.1)
    want = -(0.95 * math.log(1 / 4) + 0.05 * math.log(3 / 4))
    assert float(got) == pytest.approx(want, rel=1e-6)


def test_label_smoothing_batch_mean_and_plain_ce() -> None:
    logits = torch.tensor([[0.0, 0.0], [2.0, -1.0]])
    labels = torch.tensor([1, 0])
    # uniform logits give log 2 whatever the smoothing
    assert float(label_smoothing_cross_entropy(logits[:1], labels[:1], 0.3)) == pytest.approx(
        math.log(2))
    assert float(label_smoothing_cross_entropy(logits, labels, 0.0)) == pytest.approx(
        float(F.cross_entropy(logits, labels)), rel=1e-6)
    # second row: p = softmax([2, -1]); eps 0.2 -> 0.9 * -log p0 + 0.1 * -log p1
    lp = torch.log_softmax(logits[1], 0)
    row2 = -(0.9 * lp[0] + 0.1 * lp[1])
    want = (math.log(2) + float(row2)) / 2
    assert float(label_smoothing_cross_entropy(logits, labels, 0.2)) == pytest.approx(want,
                                                                                       rel=1e-6)


def test_pairwise_euclidean() -> None:
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    d = pairwise_euclidean(x, x)
    assert d[0, 1] == pytest.approx(5.0) and d[1, 0] == pytest.approx(5.0)
    assert float(d[0, 0]) == pytest.approx(1e-6)  # sqrt of the 1e-12 clamp


def test_batch_hard_triplet_two_per_id() -> None:
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    y = torch.tensor([0, 0, 1, 1])
    loss, d_ap, d_an = batch_hard_triplet_loss(x, y, margin=0.3)
    # anchors 0, 1, 3, 7: hardest positives 1, 1, 4, 4; nearest negatives 3, 2, 2, 6
    torch.testing.assert_close(d_ap, torch.tensor([1.0, 1.0, 4.0, 4.0]))
    torch.testing.assert_close(d_an, torch.tensor([3.0, 2.0, 2.0, 6.0]))
    want = (max(0, 1 - 3 + 0.3) + max(0, 1 - 2 + 0.3) + max(0, 4 - 2 + 0.3)
            + max(0, 4 - 6 + 0.3)) / 4
    assert float(loss) == pytest.approx(want, rel=1e-6)


def test_batch_hard_triplet_picks_hardest_of_several() -> None:
    x = torch.tensor([[0.0], [1.0], [5.0], [2.0], [9.0]])
    y = torch.tensor([0, 0, 0, 1, 1])
    loss, d_ap, d_an = batch_hard_triplet_loss(x, y, margin=0.3)
    # anchor 0: positives at 1, 5 -> 5; negatives at 2, 9 -> 2
    # anchor 1: positives 1, 4 -> 4; negatives 1, 8 -> 1
    # anchor 5: positives 5, 4 -> 5; negatives 3, 4 -> 3
    # anchor 2: positive 7; negatives 2, 1, 3 -> 1
    # anchor 9: positive 7; negatives 9, 8, 4 -> 4
    torch.testing.assert_close(d_ap, torch.tensor([5.0, 4.0, 5.0, 7.0, 7.0]))
    torch.testing.assert_close(d_an, torch.tensor([2.0, 1.0, 3.0, 1.0, 4.0]))
    want = ((5 - 2 + 0.3) + (4 - 1 + 0.3) + (5 - 3 + 0.3) + (7 - 1 + 0.3) + (7 - 4 + 0.3)) / 5
    assert float(loss) == pytest.approx(want, rel=1e-6)


def test_batch_hard_triplet_gradient_finite_and_errors() -> None:
    x = torch.zeros(4, 3, requires_grad=True)  # identical points: sqrt(0) must not give NaN
    loss, _, _ = batch_hard_triplet_loss(x, torch.tensor([0, 0, 1, 1]))
    loss.backward()
    assert torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match="positive and a negative"):
        batch_hard_triplet_loss(torch.zeros(3, 2), torch.tensor([0, 1, 1]))


def test_center_loss_hand_computed() -> None:
    center = CenterLoss(2, 2)
    with torch.no_grad():
        center.centers.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    feats = torch.tensor([[1.0, 2.0], [1.0, 1.0], [3.0, 1.0]])
    got = center(feats, torch.tensor([0, 1, 1])).detach()
    # |(1,2)-(0,0)|^2 + |(1,1)-(1,1)|^2 + |(3,1)-(1,1)|^2, averaged
    assert float(got) == pytest.approx(((1 + 4) + (0 + 0) + (4 + 0)) / 3)


def test_reid_loss_is_weighted_sum() -> None:
    torch.manual_seed(0)
    spec = LossSpec(label_smoothing=0.1, triplet_margin=0.3, center_weight=5e-4)
    crit = ReIDLoss(spec, num_classes=3, feat_dim=4)
    logits, feats = torch.randn(6, 3), torch.randn(6, 4)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    out = crit(logits, feats, y)
    want = (label_smoothing_cross_entropy(logits, y, 0.1)
            + batch_hard_triplet_loss(feats, y, 0.3)[0] + 5e-4 * crit.center(feats, y))
    assert float(out["total"].detach()) == pytest.approx(float(want.detach()), rel=1e-6)
    assert float(out["acc"]) == pytest.approx(float((logits.argmax(1) == y).float().mean()))
