"""Person re-identification: Market-1501 data preparation, ranking metrics and baselines.

- :func:`mtmc.reid.metrics.evaluate_rank`: CMC / mAP / mINP under the Market-1501 protocol.
- :func:`mtmc.reid.prepare.prepare_market`: KITTI labels + videos -> Market-1501 crops
  (``python -m mtmc.reid.prepare``).
- :mod:`mtmc.reid.baselines`: an HSV colour-histogram matcher, the floor a learned model must beat.
"""

from __future__ import annotations

from mtmc.reid.metrics import evaluate_rank

__all__ = ["evaluate_rank"]
