"""Error analysis of runs: ID switches and fragmentations with their likely causes.

- :mod:`mtmc.analysis.switches`: ``analyse_run`` / ``analyse_switches`` (the evaluation's own
  floor matching; counts equal its IDSW and Frag), cause rules (``SwitchRules``);
- :mod:`mtmc.analysis.report`: ``write_report`` and ``write_compare_report`` (``report.md``,
  ``switches.csv``, timeline, strips);
- :mod:`mtmc.analysis.plots`: ``plot_timeline`` (one row per ground-truth person);
- :mod:`mtmc.analysis.strips`: ``write_switch_strips`` (camera frames around the worst switches).

Command line: ``python scripts/id_switches.py --run RUN --gt SCENE/gt [--compare RUN2]``.

Example::

    from mtmc.analysis import analyse_run, write_report
    a = analyse_run("runs/demo", "data/demo/gt")
    write_report(a, "runs/demo/id_switches", run_dir="runs/demo", gt_dir="data/demo/gt")
"""

from __future__ import annotations

from mtmc.analysis.plots import plot_timeline
from mtmc.analysis.report import find_videos, write_compare_report, write_report
from mtmc.analysis.strips import worst_switches, write_switch_strips
from mtmc.analysis.switches import (
    CAUSES,
    IdEvent,
    SwitchAnalysis,
    SwitchRules,
    analyse_run,
    analyse_switches,
)

__all__ = [
    "CAUSES",
    "IdEvent",
    "SwitchAnalysis",
    "SwitchRules",
    "analyse_run",
    "analyse_switches",
    "find_videos",
    "plot_timeline",
    "worst_switches",
    "write_compare_report",
    "write_report",
    "write_switch_strips",
]
