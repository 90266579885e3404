"""Pure cost functions for global association. Solvers only ever see the matrices built here.

All distances are between R rows ("tracklets") and C columns ("global tracks"); a gated pair has
cost ``+inf`` and can never be assigned.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cosine_distance", "floor_distance", "fused_cost", "l2_normalize"]


def l2_normalize(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Scale rows to unit length; zero rows stay zero (no NaN)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(R, D) and (C, D) unit vectors -> (R, C) cosine distances ``1 - a·b`` in [0, 2].

    Example: ``cosine_distance([[1, 0]], [[0, 1], [1, 0]]) == [[1, 0]]``.
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    return np.clip(1.0 - a @ b.T, 0.0, 2.0)


def floor_distance(a_xy_m: np.ndarray, b_xy_m: np.ndarray) -> np.ndarray:
    """(R, 2) and (C, 2) floor points in metres -> (R, C) Euclidean distances in metres."""
    a = np.asarray(a_xy_m, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b_xy_m, dtype=np.float64).reshape(-1, 2)
    # per coordinate: a sum over an axis of length 2 costs more than the distances themselves
    dx = a[:, 0, None] - b[None, :, 0]
    dy = a[:, 1, None] - b[None, :, 1]
    return np.sqrt(dx * dx + dy * dy)


def fused_cost(
    floor_m: np.ndarray,
    gate_m: np.ndarray | float,
    appearance: np.ndarray | None,
    appearance_weight: float,
    max_appearance_distance: float,
    *,
    scale_m: float,
    appearance_margin: float = 0.0,
) -> np.ndarray:
    """Fuse floor distance and appearance distance into one cost, ``inf`` when gated.

    ``cost = w * a + (1 - w) * floor_m / scale_m``, with ``w = appearance_weight`` and
    ``a = max(0, appearance - margin) / (1 - margin)``: distances up to ``appearance_margin`` cost
    nothing, and the rest is stretched so that a distance of 1 still costs 1. Where the appearance
    is unknown (NaN, e.g. no embedding yet) the floor term alone is used. A pair is gated (``inf``)
    when ``floor_m > gate_m`` or ``appearance > max_appearance_distance``.

    The margin is there because one ReID distance is noisy: a person's own crops scatter over
    0.15-0.9 with a fine-tuned model. Below the margin, differences between candidates are noise,
    and with the full distance in the cost a difference of 0.07 outweighs 2 cm on the floor, so it
    decides between two people walking side by side; with the margin the floor decides there, and
    appearance counts where it is informative (distances typical of different people).

    The floor term is scaled by one fixed ``scale_m`` (the base gate), not by each pair's gate: a
    track unseen for a while has a wide gate, and dividing by it would make a far, uncertain track
    look as cheap as a near one seen right now.

    Args:
        floor_m: (R, C) floor distances in metres.
        gate_m: scalar or (R, C) / (1, C) gate radius in metres (it may grow with time unseen).
        appearance: (R, C) cosine distances with NaN where unknown, or None.
        appearance_weight: w in [0, 1].
        max_appearance_distance: appearance gate.
        scale_m: floor distance that costs 1 (the association uses its base gate).
        appearance_margin: cosine distance in [0, 1) below which appearance adds no cost.

    Example: floor 1 m, scale 2 m, appearance 0.2, w = 0.5 -> 0.5 * 0.2 + 0.5 * 0.5 = 0.35;
    with ``appearance_margin=0.6`` and appearance 0.8: 0.5 * (0.8 - 0.6) / 0.4 + 0.5 * 0.5 = 0.5.
    """
    if not 0.0 <= appearance_margin < 1.0:
        raise ValueError(f"appearance_margin must be within [0, 1), got {appearance_margin}")
    floor_m = np.asarray(floor_m, dtype=np.float64)
    gate = np.broadcast_to(np.asarray(gate_m, dtype=np.float64), floor_m.shape)
    if scale_m <= 0:
        raise ValueError(f"scale_m must be positive, got {scale_m}")
    floor_term = floor_m / scale_m
    cost = floor_term.copy()
    gated = floor_m > gate
    if appearance is not None:
        appearance = np.asarray(appearance, dtype=np.float64)
        known = np.isfinite(appearance)
        excess = np.maximum(appearance[known] - appearance_margin, 0.0) / (1.0 - appearance_margin)
        cost[known] = appearance_weight * excess + (1.0 - appearance_weight) * floor_term[known]
        gated |= known & (appearance > max_appearance_distance)
    cost[gated] = np.inf
    return cost
