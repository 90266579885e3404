"""The ID switch report (``report.md``) of one run, or of two runs side by side (before/after).

Files written into the report folder:

- ``report.md``: counts (next to the evaluation's IDSW and Frag on the same matching), likely
  causes and their rules, the event table, counts per camera and per hand-over, the timeline and
  image strips of the worst switches;
- ``switches.csv``: the event table for machines;
- ``timeline.png``: one row per ground-truth person, coloured by predicted id;
- ``strips/switch_*.png``: camera frames around the worst switches (when videos are found).

The comparison (``write_compare_report``, e.g. before / after fine-tuning the ReID model) puts
both runs' counts side by side and shows both timelines.

Example::

    a = analyse_run("runs/demo", "data/demo/gt")
    write_report(a, "runs/demo/id_switches", run_dir="runs/demo", gt_dir="data/demo/gt")
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtmc.analysis.plots import plot_timeline
from mtmc.analysis.strips import write_switch_strips
from mtmc.analysis.switches import CAUSES, IdEvent, SwitchAnalysis
from mtmc.eval import evaluate_sequence

__all__ = ["event_rows", "find_videos", "write_compare_report", "write_report"]

EVENT_COLUMNS = (
    "frame", "t (s)", "event", "gt", "pred before → after", "cams before → after",
    "nearest other gt (m)", "other gt", "gap steps", "hidden steps", "appearance sim.", "causes",
)


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def event_rows(events: Sequence[IdEvent]) -> list[list[str]]:
    """The event table (columns :data:`EVENT_COLUMNS`) as strings; "n/a" for unknown values."""
    return [
        [
            str(e.frame),
            _fmt(e.t_s),
            e.kind,
            str(e.gt_id),
            f"{e.prev_pred_id} → {e.new_pred_id}",
            e.handover,
            _fmt(e.nearest_other_m),
            _fmt(e.other_gt_id),
            str(e.gap_steps),
            _fmt(e.hidden_steps),
            _fmt(e.appearance_similarity, 3),
            ", ".join(e.causes),
        ]
        for e in events
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _rules_text(a: SwitchAnalysis) -> list[str]:
    r = a.rules
    return [
        "Rules (all that apply are listed; `mtmc.analysis.switches`):",
        "",
        "- **look-alike**: the other person involved (the one the new id was last matched to, "
        "else the one the old id goes to, else the nearest) wears the same uniform "
        "(same `lookalike_group` > 0 in scene.json).",
        f"- **crossing**: another ground-truth person within {r.crossing_m:g} m in the "
        f"{r.context_steps} time steps up to the previous match or up to the event.",
        f"- **occlusion gap**: the person was in the ground truth but unmatched for at least "
        f"{r.occlusion_min_steps} evaluated time step(s) before the event (`hidden steps`: of "
        "those, steps no camera's ground truth shows the person).",
        "- **hand-over**: the cameras behind the old id at the previous match differ from those "
        "behind the new id (rtls.jsonl `cams`).",
        f"- **new id** (switches): the new id first appears at most {r.new_id_window_steps} time "
        "steps before the switch.",
        "- **unexplained**: none of these.",
    ]


def _metrics(a: SwitchAnalysis) -> dict[str, Any]:
    return evaluate_sequence(a.sequence)


def _summary_rows(analyses: Sequence[SwitchAnalysis]) -> list[list[str]]:
    metrics = [_metrics(a) for a in analyses]
    rows = [
        ["IDSW (floor, mtmc.eval)", *[str(m["IDSW"]) for m in metrics]],
        ["ID switches listed", *[str(a.num_switches) for a in analyses]],
        ["Frag (floor, mtmc.eval)", *[str(m["Frag"]) for m in metrics]],
        ["fragmentations listed", *[str(a.num_fragments) for a in analyses]],
    ]
    rows += [[k, *[f"{m[k]:.2f}" for m in metrics]] for k in ("HOTA", "IDF1", "MOTA")]
    rows.append(["time steps evaluated", *[str(len(a.frames)) for a in analyses]])
    rows.append(["ground-truth people", *[str(m["GT_IDs"]) for m in metrics]])
    rows.append(["predicted ids", *[str(m["IDs"]) for m in metrics]])
    return rows


def _write_csv(events: Sequence[IdEvent], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(EVENT_COLUMNS)
        writer.writerows(event_rows(events))


def find_videos(
    cameras: Sequence[str], gt_dir: Path | None, run_dir: Path | None
) -> dict[str, Path | None]:
    """Camera -> video: ``SCENE/videos/<cam>.mp4`` next to the gt folder, else the run's cams.yaml
    (``mtmc.viz.resolve_scene``); None where none is found."""
    found: dict[str, Path | None] = {}
    scene_videos: Mapping[str, Path | None] = {}
    if run_dir is not None:
        from mtmc.viz.inputs import resolve_scene

        try:
            scene_videos = resolve_scene(run_dir).videos
        except ValueError:
            scene_videos = {}
    for cam in cameras:
        candidate = gt_dir.parent / "videos" / f"{cam}.mp4" if gt_dir is not None else None
        if candidate is not None and candidate.is_file():
            found[cam] = candidate
        else:
            found[cam] = scene_videos.get(cam)
    return found


def _cameras_of(a: SwitchAnalysis, gt_dir: Path | None) -> list[str]:
    cams = {c for e in a.events for c in e.cameras}
    if gt_dir is not None:
        cams |= {p.stem for p in gt_dir.glob("*.txt") if p.name != "world.txt"}
    return sorted(cams)


def _section(
    a: SwitchAnalysis,
    out_dir: Path,
    suffix: str,
    run_dir: Path | None,
    gt_dir: Path | None,
    strips: bool,
    top_k: int,
    heading: str = "##",
) -> list[str]:
    """Tables, timeline and strips of one run (files named with ``suffix``)."""
    timeline = plot_timeline(a, out_dir / f"timeline{suffix}.png", title=str(run_dir or ""))
    _write_csv(a.events, out_dir / f"switches{suffix}.csv")
    lines = [f"{heading} Likely causes", ""]
    sw = a.cause_counts(switches_only=True)
    all_events = a.cause_counts(switches_only=False)
    frag_only = {c: all_events[c] - sw[c] for c in CAUSES}
    lines += _table(["cause", "switches", "fragmentations only"],
                    [[c, str(sw[c]), str(frag_only[c])] for c in CAUSES])
    lines += ["", f"{heading} Events ({len(a.events)})", ""]
    lines += _table(EVENT_COLUMNS, event_rows(a.events)) if a.events else ["No events."]
    lines += ["", f"{heading} Per camera", ""]
    cams = a.camera_counts()
    lines += _table(["camera", "switches", "fragmentations"],
                    [[c, str(s), str(f)] for c, (s, f) in cams.items()]) if cams else ["No events."]
    lines += ["", f"{heading} Per hand-over", ""]
    hand = a.handover_counts()
    lines += _table(["cameras before → after", "switches"],
                    [[k, str(v)] for k, v in hand.items()]) if hand else ["No hand-over switches."]
    lines += ["", f"{heading} Timeline", "", f"![timeline]({timeline.name})", ""]
    if strips:
        videos = find_videos(_cameras_of(a, gt_dir), gt_dir, run_dir)
        written = write_switch_strips(a, out_dir / f"strips{suffix}", videos=videos, gt_dir=gt_dir,
                                      run_dir=run_dir, top_k=top_k)
        lines += [f"{heading} Worst switches (longest-lasting wrong id)", ""]
        if not written:
            lines += ["No strips: no scene video was found for the cameras involved.", ""]
        for e, path in written:
            lines += [f"Frame {e.frame}, gt {e.gt_id}: id {e.prev_pred_id} → {e.new_pred_id} "
                      f"({', '.join(e.causes)}; kept {e.severity_steps} steps)", "",
                      f"![switch]({path.relative_to(out_dir).as_posix()})", ""]
    return lines


def write_report(
    analysis: SwitchAnalysis,
    out_dir: str | Path,
    *,
    run_dir: str | Path | None = None,
    gt_dir: str | Path | None = None,
    strips: bool = True,
    top_k: int = 4,
) -> Path:
    """Write ``report.md``, ``switches.csv``, ``timeline.png`` and strips into ``out_dir``.

    Returns:
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(run_dir) if run_dir is not None else None
    gt_dir = Path(gt_dir) if gt_dir is not None else None
    a = analysis
    lines = [f"# ID switches: {run_dir or 'run'}", ""]
    lines += _header(a, gt_dir)
    lines += ["## Summary", ""]
    lines += _table(["", "count"], _summary_rows([a]))
    lines += [""] + _rules_text(a) + [""]
    lines += _section(a, out_dir, "", run_dir, gt_dir, strips, top_k)
    (out_dir / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_dir


def write_compare_report(
    before: SwitchAnalysis,
    after: SwitchAnalysis,
    out_dir: str | Path,
    *,
    labels: tuple[str, str] = ("before", "after"),
    run_dirs: tuple[str | Path | None, str | Path | None] = (None, None),
    gt_dir: str | Path | None = None,
    strips: bool = True,
    top_k: int = 4,
) -> Path:
    """Before/after report: both runs' counts side by side, causes and cameras side by side,
    then each run's events, timeline and strips (files suffixed ``_<label>``, the label reduced
    to letters, digits, ``-``, ``_`` and ``.``).

    Returns:
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gt_dir = Path(gt_dir) if gt_dir is not None else None
    runs = [Path(r) if r is not None else None for r in run_dirs]
    pair = (before, after)
    lines = [f"# ID switches: {labels[0]} vs {labels[1]}", ""]
    lines += [f"- {label}: `{run or 'run'}`" for label, run in zip(labels, runs, strict=True)]
    lines += [""] + _header(before, gt_dir)
    lines += ["## Summary", ""]
    lines += _table(["", *labels], _summary_rows(pair))
    lines += ["", "## Likely causes (switches)", ""]
    counts = [a.cause_counts() for a in pair]
    lines += _table(["cause", *labels], [[c, *[str(k[c]) for k in counts]] for c in CAUSES])
    lines += ["", "## Per camera (switches / fragmentations)", ""]
    per_cam = [a.camera_counts() for a in pair]
    cams = sorted(set(per_cam[0]) | set(per_cam[1]))
    lines += _table(["camera", *labels], [
        [c, *[f"{k.get(c, (0, 0))[0]} / {k.get(c, (0, 0))[1]}" for k in per_cam]] for c in cams
    ]) if cams else ["No events."]
    lines += ["", "## Per hand-over (switches)", ""]
    hand = [a.handover_counts() for a in pair]
    keys = sorted(set(hand[0]) | set(hand[1]))
    lines += _table(["cameras before → after", *labels],
                    [[k, *[str(h.get(k, 0)) for h in hand]] for k in keys]) if keys else [
        "No hand-over switches."]
    suffixes = [f"_{_safe(label)}" for label in labels]
    lines += ["", "## Timelines", ""]
    lines += [f"![{label}](timeline{sfx}.png)" for label, sfx in zip(labels, suffixes, strict=True)]
    lines += ["", *_rules_text(before), ""]
    for label, sfx, a, run in zip(labels, suffixes, pair, runs, strict=True):
        lines += [f"## {label}: `{run or 'run'}`", ""]
        lines += _section(a, out_dir, sfx, run, gt_dir, strips, top_k, heading="###")
    (out_dir / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_dir


def _safe(label: str) -> str:
    """A label usable in file names (letters, digits, ``-``, ``_``, ``.``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "run"


def _header(a: SwitchAnalysis, gt_dir: Path | None) -> list[str]:
    first, last = (int(a.frames[0]), int(a.frames[-1])) if len(a.frames) else (0, 0)
    where = f"`{gt_dir / 'world.txt'}`" if gt_dir is not None else "world.txt"
    return [
        f"Ground truth {where}; {len(a.frames)} time steps of rtls.jsonl evaluated (frames "
        f"{first}..{last}). Matching: the floor evaluation's own (`mtmc.eval.floor_sequence` + "
        "`clear_matches`: CLEAR, a match is within 1 m), so the counts equal its IDSW and Frag.",
        "",
    ]
