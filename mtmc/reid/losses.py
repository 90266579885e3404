"""Bag-of-Tricks ReID losses: label-smoothed ID loss, batch-hard triplet loss, center loss.

With BNNeck the ID loss reads the post-BN logits and the metric losses read the pre-BN feature
``f_t`` (Luo et al. 2019)::

    total = id_weight * CE_ls(logits, y) + triplet_weight * triplet(f_t, y)
            + center_weight * center(f_t, y)

Example::

    criterion = ReIDLoss(LossSpec(), num_classes=751, feat_dim=256)
    losses = criterion(logits, feat, labels)      # dict: total, id, triplet, center
    losses["total"].backward()
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mtmc.reid.spec import LossSpec

__all__ = [
    "CenterLoss",
    "ReIDLoss",
    "batch_hard_triplet_loss",
    "label_smoothing_cross_entropy",
    "pairwise_euclidean",
]


def label_smoothing_cross_entropy(logits: torch.Tensor, labels: torch.Tensor,
                                  epsilon: float = 0.1) -> torch.Tensor:
    """Cross-entropy against ``q = (1 - eps) * onehot(y) + eps / C`` (Szegedy et al. 2016).

    Args:
        logits: (N, C) unnormalised scores.
        labels: (N,) int64 class indices.
        epsilon: smoothing; 0 gives plain cross-entropy.

    Returns:
        Scalar: mean over the batch of ``-sum_j q_j log softmax(logits)_j``.
        Example: two classes, logits ``[0, 0]``, eps 0.1 -> ``log 2`` whatever the label.
    """
    log_p = F.log_softmax(logits.float(), dim=1)
    nll = -log_p.gather(1, labels.view(-1, 1)).squeeze(1)
    uniform = -log_p.mean(dim=1)
    return ((1.0 - epsilon) * nll + epsilon * uniform).mean()


def pairwise_euclidean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N, D), (M, D) -> (N, M) Euclidean distances; squared distances are clamped at 1e-12
    before the square root so the gradient stays finite for identical points."""
    x, y = x.float(), y.float()
    d2 = (x * x).sum(1, keepdim=True) + (y * y).sum(1)[None, :] - 2.0 * x @ y.t()
    return d2.clamp_min(1e-12).sqrt()


def batch_hard_triplet_loss(feats: torch.Tensor, labels: torch.Tensor, margin: float = 0.3
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch-hard triplet loss (Hermans et al. 2017) on Euclidean distances.

    For each anchor, the hardest positive is the farthest same-label sample and the hardest
    negative the nearest other-label sample; loss = mean over anchors of
    ``max(0, d(a, p) - d(a, n) + margin)``.

    Args:
        feats: (N, D) features (not normalised).
        labels: (N,) labels; every anchor needs at least one positive (another sample with its
            label) and one negative, as P x K batches with K >= 2 and P >= 2 guarantee.
        margin: required gap between negative and positive distance.

    Returns:
        ``(loss scalar, dist_ap (N,), dist_an (N,))``.

    Raises:
        ValueError: some anchor has no positive or no negative in the batch.
    """
    dist = pairwise_euclidean(feats, feats)
    same = labels.view(-1, 1) == labels.view(1, -1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same & ~eye
    neg = ~same
    if not bool(pos.any(1).all()) or not bool(neg.any(1).all()):
        raise ValueError("batch_hard_triplet_loss: every sample needs a positive and a negative "
                         "in the batch; use P x K batches with P >= 2 and K >= 2")
    dist_ap = dist.masked_fill(~pos, float("-inf")).max(dim=1).values
    dist_an = dist.masked_fill(~neg, float("inf")).min(dim=1).values
    loss = F.relu(dist_ap - dist_an + margin).mean()
    return loss, dist_ap, dist_an


class CenterLoss(nn.Module):
    """Center loss (Wen et al. 2016): mean over the batch of ``||f_i - c_{y_i}||^2``.

    The class centers (``centers``, (C, D)) are parameters with their own optimiser.

    Example: one 2-d feature (1, 2) of class 0 with center (0, 0) -> loss 1 + 4 = 5.
    """

    def __init__(self, num_classes: int, feat_dim: int) -> None:
        super().__init__()
        self.centers = nn.Parameter(torch.randn(num_classes, feat_dim))

    def forward(self, feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        diff = feats.float() - self.centers[labels]
        return (diff * diff).sum(dim=1).mean()


class ReIDLoss(nn.Module):
    """The weighted sum of ID, triplet and center loss, with each term reported.

    Call: ``criterion(logits (N, C), feat_pre_bn (N, D), labels (N,))`` -> dict with scalar
    tensors ``total``, ``id``, ``triplet``, ``center`` (the unweighted terms) and ``acc`` (top-1
    ID accuracy of the logits, no gradient).
    """

    def __init__(self, spec: LossSpec, num_classes: int, feat_dim: int) -> None:
        super().__init__()
        self.spec = spec
        self.center = CenterLoss(num_classes, feat_dim)

    def forward(self, logits: torch.Tensor, feats: torch.Tensor, labels: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        sp = self.spec
        id_loss = label_smoothing_cross_entropy(logits, labels, sp.label_smoothing)
        tri_loss, _, _ = batch_hard_triplet_loss(feats, labels, sp.triplet_margin)
        zero = id_loss.new_zeros(())
        cen_loss = self.center(feats, labels) if sp.center_weight > 0 else zero
        total = (sp.id_weight * id_loss + sp.triplet_weight * tri_loss
                 + sp.center_weight * cen_loss)
        with torch.no_grad():
            acc = (logits.argmax(dim=1) == labels).float().mean()
        return {"total": total, "id": id_loss, "triplet": tri_loss, "center": cen_loss,
                "acc": acc}
