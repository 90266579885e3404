"""Appearance baselines without learning: an HSV colour-histogram matcher.

Every crop becomes one joint HSV histogram (hue x saturation x value bins, L1-normalised) of the
whole box or of its centre, and crops are compared with a histogram distance. It sees clothing
colour and nothing else, so it is the floor a learned ReID model must clear on a scene: people in
similar colours, lighting that differs between cameras and background pixels inside the box all
defeat it. (On whole boxes the background dominates: crops of one camera match each other more
than they match the same person in another camera; the centre region helps.)

Example::

    feats = hsv_histograms(["a.jpg", "b.jpg"], bins=(8, 4, 4), region="center")  # (2, 128)
    dist = histogram_distance(feats[:1], feats, "bhattacharyya")  # (1, 2)
    result = evaluate_hsv_baseline("data/market")                 # rank-1 / mAP in percent
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mtmc.formats.market import MarketRecords, read_market
from mtmc.reid.metrics import evaluate_rank

__all__ = [
    "DISTANCES",
    "REGIONS",
    "evaluate_hsv_baseline",
    "histogram_distance",
    "hsv_histogram",
    "hsv_histograms",
]

# OpenCV 8-bit HSV ranges: H in [0, 180), S and V in [0, 256)
_HSV_RANGE = (180, 256, 256)
_CHUNK_BYTES = 64 << 20  # memory bound for the (chunk, G, D) chi-square temporary

# Part of the box histogrammed, as fractions x1, y1, x2, y2 of its width and height. "center" keeps
# the middle half of the width and 80 % of the height: the torso and legs, little background.
REGIONS: dict[str, tuple[float, float, float, float]] = {
    "full": (0.0, 0.0, 1.0, 1.0),
    "center": (0.25, 0.1, 0.75, 0.9),
}


def hsv_histogram(
    image_bgr: np.ndarray, bins: tuple[int, int, int] = (8, 4, 4), region: str = "full"
) -> np.ndarray:
    """Joint HSV histogram of a BGR uint8 image (or of its ``region``), L1-normalised.

    Bin of a pixel: ``(h * bh // 180, s * bs // 256, v * bv // 256)`` flattened as
    ``(hb * bs + sb) * bv + vb``.

    Args:
        image_bgr: (H, W, 3) uint8, OpenCV colour order (BGR).
        bins: number of hue, saturation and value bins.
        region: a key of :data:`REGIONS` (``"full"`` or ``"center"``).

    Returns:
        (bh * bs * bv,) float32 summing to 1. Example: a pure red image with bins (8, 4, 4) has all
        its mass in bin ``(0 * 4 + 3) * 4 + 3 = 15`` (hue 0, saturation 255, value 255).
    """
    image_bgr = np.asarray(image_bgr)
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ValueError(f"hsv_histogram: expected an (H, W, 3) uint8 BGR image, got "
                         f"{image_bgr.shape} {image_bgr.dtype}")
    if image_bgr.shape[0] == 0 or image_bgr.shape[1] == 0:
        raise ValueError(f"hsv_histogram: empty image of shape {image_bgr.shape}")
    bh, bs, bv = _check_bins(bins)
    image_bgr = _region(image_bgr, region)
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.int64)
    hb = np.minimum(hsv[:, 0] * bh // _HSV_RANGE[0], bh - 1)
    sb = hsv[:, 1] * bs // _HSV_RANGE[1]
    vb = hsv[:, 2] * bv // _HSV_RANGE[2]
    counts = np.bincount((hb * bs + sb) * bv + vb, minlength=bh * bs * bv)
    return (counts / counts.sum()).astype(np.float32)


def hsv_histograms(
    paths: Sequence[str | Path], bins: tuple[int, int, int] = (8, 4, 4), region: str = "full"
) -> np.ndarray:
    """Histograms of image files: (N, bh * bs * bv) float32, one L1-normalised row per path."""
    dim = int(np.prod(_check_bins(bins)))
    out = np.zeros((len(paths), dim), dtype=np.float32)
    for i, path in enumerate(paths):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{path}: cannot read the image (missing or not an image)")
        out[i] = hsv_histogram(image, bins, region)
    return out


def _region(image: np.ndarray, region: str) -> np.ndarray:
    if region not in REGIONS:
        raise KeyError(f"unknown histogram region {region!r}; choose from {sorted(REGIONS)}")
    h, w = image.shape[:2]
    fx1, fy1, fx2, fy2 = REGIONS[region]
    x1, y1 = int(fx1 * w), int(fy1 * h)
    x2, y2 = max(int(round(fx2 * w)), x1 + 1), max(int(round(fy2 * h)), y1 + 1)
    return image[y1:y2, x1:x2]


def _check_bins(bins: Sequence[int]) -> tuple[int, int, int]:
    values = tuple(int(b) for b in bins)
    if len(values) != 3 or any(b < 1 or b > r for b, r in zip(values, _HSV_RANGE, strict=True)):
        raise ValueError(f"bins must be 3 counts (hue, saturation, value) in 1..(180, 256, 256), "
                         f"got {tuple(bins)}")
    return values  # type: ignore[return-value]


def _bhattacharyya(q: np.ndarray, g: np.ndarray) -> np.ndarray:
    # Hellinger form, as OpenCV's HISTCMP_BHATTACHARYYA: sqrt(1 - sum sqrt(p * q))
    coeff = np.sqrt(q) @ np.sqrt(g).T
    return np.sqrt(np.clip(1.0 - coeff, 0.0, None))


def _chi2(q: np.ndarray, g: np.ndarray) -> np.ndarray:
    # symmetric chi-square 0.5 * sum (p - q)^2 / (p + q), in [0, 1] for L1-normalised histograms
    out = np.empty((len(q), len(g)))
    step = max(1, _CHUNK_BYTES // max(1, 8 * g.size))
    for s in range(0, len(q), step):
        a, b = q[s:s + step, None, :], g[None, :, :]
        den = a + b
        terms = np.where(den > 0, (a - b) ** 2 / np.where(den > 0, den, 1.0), 0.0)
        out[s:s + step] = 0.5 * terms.sum(-1)
    return out


def _cosine(q: np.ndarray, g: np.ndarray) -> np.ndarray:
    qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    gn = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    return 1.0 - qn @ gn.T


DISTANCES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "bhattacharyya": _bhattacharyya,
    "chi2": _chi2,
    "cosine": _cosine,
}


def histogram_distance(q_hist: np.ndarray, g_hist: np.ndarray, metric: str) -> np.ndarray:
    """(Q, G) float64 distances between L1-normalised histograms (Q, D) and (G, D).

    ``metric``: ``"bhattacharyya"`` (``sqrt(1 - sum sqrt(p q))``), ``"chi2"``
    (``0.5 sum (p - q)^2 / (p + q)``) or ``"cosine"`` (``1 - cos``); all are 0 for equal
    histograms and 1 for histograms with no bin in common.
    """
    if metric not in DISTANCES:
        raise KeyError(f"unknown histogram distance {metric!r}; choose from {sorted(DISTANCES)}")
    q = np.asarray(q_hist, dtype=np.float64)
    g = np.asarray(g_hist, dtype=np.float64)
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise ValueError(
            f"histogram_distance: expected (Q, D) and (G, D), got {q.shape} and {g.shape}"
        )
    return DISTANCES[metric](q, g)


def evaluate_hsv_baseline(
    data_root: str | Path,
    *,
    bins_choices: Sequence[tuple[int, int, int]] = ((8, 4, 4), (16, 4, 4)),
    distances: Sequence[str] = ("bhattacharyya", "chi2", "cosine"),
    regions: Sequence[str] = ("full", "center"),
) -> dict[str, Any]:
    """Score the HSV matcher on a Market-1501 folder's query vs gallery.

    Each (region, bins, distance) variant is scored; the one reported is chosen on the *training*
    split (its first crop of each identity and camera as queries, the rest as gallery), so the
    test numbers are not tuned on the test set. Without a usable train split (no identity in two
    cameras) the choice falls back to the test split, and ``selected_on`` says so.

    Returns:
        ``rank1_pct``, ``rank5_pct``, ``rank10_pct``, ``mAP_pct``, ``mINP_pct`` of the selected
        variant (percent), ``selected`` (region, bins, distance), ``selected_on`` ("train" or
        "test"), ``variants`` (every variant's test and selection scores), and split sizes.
    """
    split = read_market(data_root)
    if len(split.query) == 0 or len(split.gallery) == 0:
        raise ValueError(f"{data_root}: query/ and bounding_box_test/ must both hold crops")
    sel_q, sel_g = _selection_protocol(split.train)
    variants = []
    for region, bins in ((r, b) for r in regions for b in bins_choices):
        hists = {name: hsv_histograms(recs.paths, bins, region) for name, recs in
                 (("query", split.query), ("gallery", split.gallery), ("train", split.train))}
        for metric in distances:
            test = _score(hists["query"], hists["gallery"], split.query, split.gallery, metric)
            sel = None
            if sel_q is not None:
                h = hists["train"]
                sel = _score(h[sel_q], h[sel_g], split.train[sel_q], split.train[sel_g], metric)
            variants.append({"region": region, "bins": list(bins), "distance": metric,
                             "test": test, "selection": sel})
    selected_on = "train" if sel_q is not None else "test"
    for v in variants:
        v["selection"] = v["selection"] or v["test"]
    best = max(variants, key=lambda v: (v["selection"]["mAP_pct"], v["selection"]["rank1_pct"]))
    return {
        "method": "hsv-histogram",
        **best["test"],
        "selected": {k: best[k] for k in ("region", "bins", "distance")},
        "selected_on": selected_on,
        "variants": variants,
        "num_query": len(split.query),
        "num_gallery": len(split.gallery),
        "num_train": len(split.train),
    }


def _selection_protocol(train: MarketRecords) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Query/gallery rows inside the train split: the first crop of each (id, camera) queries.

    ``(None, None)`` when no such query would have a true match in another camera.
    """
    if len(train) == 0:
        return None, None
    keys = np.stack([train.pids, train.camids], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    is_query = np.zeros(len(train), dtype=bool)
    is_query[first] = True
    q, g = train[is_query], train[~is_query]
    same_id = q.pids[:, None] == g.pids[None, :]
    other_cam = q.camids[:, None] != g.camids[None, :]
    if not (same_id & other_cam).any():
        return None, None
    return np.flatnonzero(is_query), np.flatnonzero(~is_query)


def _score(q_hist: np.ndarray, g_hist: np.ndarray, q: MarketRecords, g: MarketRecords,
           metric: str) -> dict[str, float]:
    m = evaluate_rank(histogram_distance(q_hist, g_hist, metric), q.pids, g.pids, q.camids,
                      g.camids)
    out = {f"{k}_pct": 100.0 * m[k] for k in ("rank1", "rank5", "rank10", "mAP", "mINP")}
    out["num_valid_queries"] = m["num_valid_queries"]
    return out
