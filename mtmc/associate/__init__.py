"""Global association of per-camera tracklets into global ids on the floor (RTLS)."""

from __future__ import annotations

from mtmc.associate.assign import assign_gated, gated_components
from mtmc.associate.costs import cosine_distance, floor_distance, fused_cost
from mtmc.associate.online import (
    BOX_CUT,
    FLOOR_PRECISION,
    GLOBAL_ID,
    QUALITY,
    GlobalAssociator,
    GlobalObject,
)

__all__ = [
    "BOX_CUT",
    "FLOOR_PRECISION",
    "GLOBAL_ID",
    "QUALITY",
    "GlobalAssociator",
    "GlobalObject",
    "assign_gated",
    "cosine_distance",
    "floor_distance",
    "fused_cost",
    "gated_components",
]
