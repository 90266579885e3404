"""One colour per global id, the same in every picture, video and plot.

The colour is a pure function of the id: the hue steps by the golden ratio (neighbouring ids get
far-apart hues), saturation and value alternate in a short cycle so that ids whose hues happen to
be close still differ in brightness. No state, no randomness: id 7 is the same colour in the BEV
video, the camera tiles and the timeline plot, in every process.

Example::

    id_color_bgr(7)                    # (B, G, R) ints for OpenCV
    id_colors_bgr(np.array([1, 2]))    # (2, 3) uint8
    id_color_rgb01(7)                  # (r, g, b) floats in [0, 1] for matplotlib
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["GOLDEN_RATIO_CONJUGATE", "id_color_bgr", "id_color_rgb01", "id_colors_bgr"]

GOLDEN_RATIO_CONJUGATE = 0.618033988749895  # hue step between consecutive ids (fraction of a turn)
_SATURATION = np.array([0.85, 0.65, 0.95])  # cycled with id % 3
_VALUE = np.array([0.95, 0.80, 0.70, 1.0])  # cycled with id % 4


def id_colors_bgr(track_id: ArrayLike) -> np.ndarray:
    """Colours of ids: (N,) int ids -> (N, 3) uint8 BGR.

    Hue ``(id * 0.618...) mod 1``, saturation ``[0.85, 0.65, 0.95][id % 3]``, value
    ``[0.95, 0.80, 0.70, 1.0][id % 4]``, converted HSV -> RGB -> BGR. Negative ids work too.

    Example::

        id_colors_bgr([0])   # hue 0 (red), s 0.85, v 0.95 -> [[36, 36, 242]]
    """
    ids = np.asarray(track_id, dtype=np.int64).reshape(-1)
    # Python ints keep the hue exact for large ids; float64 of id * phi is fine below 2**52.
    hue = np.mod(ids.astype(np.float64) * GOLDEN_RATIO_CONJUGATE, 1.0)
    sat = _SATURATION[np.mod(ids, 3)]
    val = _VALUE[np.mod(ids, 4)]
    # HSV -> RGB, vectorised: channel n in (R, G, B) = (5, 3, 1) is
    # v - v s clip(min(k, 4 - k), 0, 1) with k = (n + 6 hue) mod 6 (six sectors in closed form)
    k = np.mod(np.array([5.0, 3.0, 1.0])[None, :] + 6.0 * hue[:, None], 6.0)
    rgb = val[:, None] * (1.0 - sat[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0))
    return np.round(rgb[:, ::-1] * 255.0).astype(np.uint8)


def id_color_bgr(track_id: int) -> tuple[int, int, int]:
    """Colour of one id as an OpenCV ``(B, G, R)`` tuple of ints in 0..255."""
    b, g, r = id_colors_bgr([track_id])[0]
    return int(b), int(g), int(r)


def id_color_rgb01(track_id: int) -> tuple[float, float, float]:
    """Colour of one id as a matplotlib ``(r, g, b)`` tuple of floats in [0, 1]."""
    b, g, r = id_color_bgr(track_id)
    return r / 255.0, g / 255.0, b / 255.0
