"""Readers and writers of the label formats the project exchanges.

- :mod:`mtmc.formats.mot`: MOTChallenge ground truth, detections and results (``MotTable``).
- :mod:`mtmc.formats.kitti`: KITTI per-frame object labels with the global person id (``KittiLabels``).
- :mod:`mtmc.formats.market`: Market-1501 ReID crop names and folders.
"""

from __future__ import annotations
