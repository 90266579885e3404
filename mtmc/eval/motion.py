"""Motion statistics of floor tracks: a plausibility check for calibrations and trackers.

A calibration or tracker that puts people on the wrong floor scale shows in their walking speed
(people walk at 1.0-1.5 m/s). Pure functions on arrays.

Example::

    speeds = walking_speeds_mps(frame, track_id, xy_m, fps=7.0)   # one median per track
"""

from __future__ import annotations

import numpy as np

__all__ = ["walking_speeds_mps"]


def walking_speeds_mps(
    frame: np.ndarray, track_id: np.ndarray, xy_m: np.ndarray, fps: float,
    window_s: float = 1.0,
) -> np.ndarray:
    """Per-track median walking speed, m/s, from floor positions.

    A window of about a second smooths the frame-to-frame jitter of foot points. Speeds are
    measured over ``n = round(window_s * fps)`` frames: for every row whose track also
    has a row exactly ``n`` frames later, ``distance / (n / fps)``. Tracks without such a pair
    are left out.

    Args:
        frame: (N,) int frames; track_id: (N,) int ids; xy_m: (N, 2) floor positions, metres.
        fps: frames per second of the sequence.

    Returns:
        (K,) float64 median speed of each of the K tracks that have a pair, sorted by track id.

    Example: one track at x = 0, 0.5, 1.0, 1.5 m in frames 1-4 at 2 fps (n = 2 frames = 1 s)
    moves 1.0 m per second in both pairs: ``[1.0]``.
    """
    frame = np.asarray(frame, np.int64).reshape(-1)
    track_id = np.asarray(track_id, np.int64).reshape(-1)
    xy_m = np.asarray(xy_m, np.float64).reshape(-1, 2)
    n = max(1, round(window_s * fps))
    order = np.lexsort((frame, track_id))
    frame, track_id, xy_m = frame[order], track_id[order], xy_m[order]
    # Row i pairs with the row of the same track n frames later, found by binary search on a
    # combined (track, frame) key.
    key = track_id * (int(frame.max(initial=0)) + n + 1) + frame
    j = np.searchsorted(key, key + n)
    has = j < len(key)
    has[has] = key[j[has]] == key[has] + n
    i, j = np.flatnonzero(has), j[has]
    speed = np.linalg.norm(xy_m[j] - xy_m[i], axis=1) * fps / n
    ids = track_id[i]
    return np.array([np.median(speed[ids == t]) for t in np.unique(ids)], np.float64)
