"""Evaluation: floor-plane and image-space HOTA / CLEAR / Identity with TrackEval's metric code.

- :mod:`mtmc.eval.sequence`: our similarities (floor distance, box IoU) and TrackEval's data dict
  (``FloorTable``, ``floor_sequence``, ``image_sequence``).
- :mod:`mtmc.eval.metrics`: ``evaluate_floor``, ``evaluate_image`` (all cameras matched at once),
  ``evaluate_mot`` (single camera, equal to TrackEval's MOTChallenge evaluation), ``clear_matches``
  (CLEAR's per-frame matching and ID switch events).
- :mod:`mtmc.eval.io`: ``read_world_gt`` (``gt/world.txt``), ``read_rtls`` (``rtls.jsonl``).
- :mod:`mtmc.eval.run`: ``evaluate_run`` on a run folder; CLI ``python -m mtmc.eval``.

Example::

    from mtmc.eval import evaluate_run, format_table
    m = evaluate_run("runs/demo", gt_world="scene/gt/world.txt",
                     gt_mot_pattern="scene/gt/{camera}.txt")
    print(format_table(m))
"""

from __future__ import annotations

from mtmc.eval.io import RtlsLog, read_rtls, read_world_gt
from mtmc.eval.metrics import (
    HEADLINE_KEYS,
    ClearMatches,
    SwitchEvent,
    clear_matches,
    evaluate_floor,
    evaluate_image,
    evaluate_mot,
    evaluate_sequence,
    trackeval_results,
)
from mtmc.eval.run import evaluate_run, format_table
from mtmc.eval.sequence import (
    EvalSequence,
    FloorTable,
    box_iou_tlwh,
    floor_sequence,
    floor_similarity,
    image_sequence,
)

__all__ = [
    "HEADLINE_KEYS",
    "ClearMatches",
    "EvalSequence",
    "FloorTable",
    "RtlsLog",
    "SwitchEvent",
    "box_iou_tlwh",
    "clear_matches",
    "evaluate_floor",
    "evaluate_image",
    "evaluate_mot",
    "evaluate_run",
    "evaluate_sequence",
    "floor_sequence",
    "floor_similarity",
    "format_table",
    "image_sequence",
    "read_rtls",
    "read_world_gt",
    "trackeval_results",
]
