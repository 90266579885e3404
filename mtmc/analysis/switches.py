"""ID switches and fragmentations on the floor plane, with their likely causes.

Matching is the evaluation's own: :func:`mtmc.eval.floor_sequence` on the frames the run
processed (the time steps of ``rtls.jsonl``) and :func:`mtmc.eval.clear_matches` (TrackEval's
CLEAR matching, a floor match is d <= 1 m). So the switches listed here are exactly the
evaluation's ``IDSW`` (floor), and the fragmentations exactly its ``Frag``.

For one ground-truth person, take its matches in time order (frame f_k, predicted id p_k):

- **ID switch** at match k: ``p_k != p_{k-1}`` (CLEAR: the id differs from the last one the
  person was matched to, however long ago);
- **fragmentation** at match k: the person was not matched at the previous *processed* time step
  (TrackEval skips time steps with no ground truth or no prediction) but was matched before.

One event row per (frame, person) carries either or both.

Likely causes (all that apply are listed; thresholds in :class:`SwitchRules`):

- ``look-alike``: the other person involved (below) is in the same look-alike group
  (``scene.json``: ``people[].lookalike_group`` > 0, people wearing the same uniform);
- ``crossing``: another ground-truth person came within ``crossing_m`` (1 m) of this one in the
  ``context_steps`` time steps up to the previous match or up to this one;
- ``occlusion gap``: the person was present in the ground truth but unmatched (not reported
  within 1 m) for at least ``occlusion_min_steps`` evaluated time steps between the two matches;
  ``hidden_steps`` says in how many of those no camera's ground truth shows the person
  (visibility > 0), when ``gt/<cam>.txt`` files exist;
- ``hand-over``: the cameras behind the prediction changed: those of the old id at the previous
  match (``rtls.jsonl`` ``cams``) differ from those of the new id now (both known);
- ``new id``: (switches only) the new id first appears in ``rtls.jsonl`` at most
  ``new_id_window_steps`` time steps before the switch: an id created for this person rather
  than one taken from someone else;
- ``unexplained``: none of the above.

The *other person involved* is the ground-truth person the new id was last matched to before the
switch (an id taken from someone); else the one the old id is matched to within
``context_steps`` after it (an id given to someone); else the nearest other person.

Example::

    a = analyse_run("runs/demo", "data/demo/gt")
    a.num_switches, a.num_fragments              # == evaluation's IDSW, Frag (floor)
    for e in a.events:
        print(e.frame, e.gt_id, e.prev_pred_id, "->", e.new_pred_id, e.causes)
"""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mtmc.eval import (
    ClearMatches,
    EvalSequence,
    FloorTable,
    RtlsLog,
    clear_matches,
    floor_sequence,
    read_rtls,
    read_world_gt,
)
from mtmc.formats.mot import read_mot
from mtmc.viz.streams import iter_rtls

__all__ = [
    "CAUSES",
    "EMBEDDINGS_FILE",
    "IdEvent",
    "SwitchAnalysis",
    "SwitchRules",
    "analyse_run",
    "analyse_switches",
    "load_id_embeddings",
    "read_lookalike_groups",
    "RtlsCams",
    "read_rtls_cams",
    "visible_keys",
]

CAUSES = ("look-alike", "crossing", "occlusion gap", "hand-over", "new id", "unexplained")
# Optional per-id appearance file a run may write: global_id (K,), embedding (K, D); rows of the
# same id are averaged. The pipeline does not write it yet; without it similarity is "n/a".
EMBEDDINGS_FILE = "embeddings.npz"

CamsIndex = Mapping[tuple[int, int], tuple[str, ...]]  # (frame, global id) -> cameras


@dataclass(frozen=True)
class SwitchRules:
    """Thresholds of the cause rules (see the module docstring).

    Attributes:
        crossing_m: another person this close (metres) around the switch makes it a crossing.
            Raise it to blame more switches on crowding.
        context_steps: time steps before the previous match and before the switch searched for
            crossings (and after the switch for the person the old id went to).
        occlusion_min_steps: unmatched time steps between two matches that make a gap.
        new_id_window_steps: a new id first seen at most this many steps before the switch
            counts as created for the switch (covers the association's tentative delay).
    """

    crossing_m: float = 1.0
    context_steps: int = 5
    occlusion_min_steps: int = 1
    new_id_window_steps: int = 10

    def __post_init__(self) -> None:
        if not self.crossing_m > 0:
            raise ValueError(f"SwitchRules.crossing_m must be > 0 m, got {self.crossing_m}")
        for name in ("context_steps", "new_id_window_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"SwitchRules.{name} must be >= 0, got {getattr(self, name)}")
        if self.occlusion_min_steps < 1:
            raise ValueError(
                f"SwitchRules.occlusion_min_steps must be >= 1, got {self.occlusion_min_steps}"
            )


@dataclass(frozen=True)
class IdEvent:
    """An ID switch and/or fragmentation of one ground-truth person at one frame.

    Attributes:
        frame: 1-based frame of the match after the event.
        t_s: time of that frame in the log (NaN when the log has no times).
        gt_id: the ground-truth person.
        prev_pred_id, new_pred_id: the predicted id at the previous match and now.
        is_switch: CLEAR counts an ID switch here.
        is_fragment: CLEAR counts a fragmentation here.
        prev_frame: frame of the previous match.
        gap_steps: evaluated time steps between the two matches with the person present but
            unmatched.
        hidden_steps: of those, steps where no camera's ground truth shows the person (None
            without per-camera ground truth).
        cams_before: cameras of the old id at the previous match; cams_after: of the new id now.
        nearest_other_m: smallest distance (m) to another ground-truth person in the context
            windows (NaN when nobody else was there); nearest_other_id: who.
        other_gt_id: the other person involved (see the module docstring), or None.
        appearance_similarity: cosine similarity of the two ids' embeddings (None: n/a).
        severity_steps: matches in a row the person keeps ``new_pred_id`` from here on.
        causes: the likely causes, in the order of :data:`CAUSES`.
    """

    frame: int
    t_s: float
    gt_id: int
    prev_pred_id: int
    new_pred_id: int
    is_switch: bool
    is_fragment: bool
    prev_frame: int
    gap_steps: int
    hidden_steps: int | None
    cams_before: tuple[str, ...]
    cams_after: tuple[str, ...]
    nearest_other_m: float
    nearest_other_id: int | None
    other_gt_id: int | None
    appearance_similarity: float | None
    severity_steps: int
    causes: tuple[str, ...]

    @property
    def kind(self) -> str:
        """``switch``, ``fragmentation`` or ``switch + fragmentation``."""
        if self.is_switch and self.is_fragment:
            return "switch + fragmentation"
        return "switch" if self.is_switch else "fragmentation"

    @property
    def cameras(self) -> tuple[str, ...]:
        """Cameras involved: before and after, sorted."""
        return tuple(sorted(set(self.cams_before) | set(self.cams_after)))

    @property
    def handover(self) -> str:
        """``"cam1 → cam2"`` (camera sets joined by ``+``), for counting hand-overs."""
        return f"{'+'.join(self.cams_before) or '-'} → {'+'.join(self.cams_after) or '-'}"


@dataclass(frozen=True)
class SwitchAnalysis:
    """Events of a run and what they were computed from.

    Attributes:
        events: every switch / fragmentation, by frame then gt id.
        matches: the CLEAR matches (one row per matched pair).
        sequence: the floor evaluation sequence (``evaluate_sequence(sequence)`` gives the
            evaluation's metrics on exactly these matches).
        gt: ground truth on the evaluated frames.
        frames: (T,) evaluated frames (the log's time steps, sorted); t_s: (T,) their times.
        rules: the cause thresholds used.
    """

    events: list[IdEvent]
    matches: ClearMatches
    sequence: EvalSequence
    gt: FloorTable
    frames: np.ndarray
    t_s: np.ndarray
    rules: SwitchRules = field(default_factory=SwitchRules)

    @property
    def num_switches(self) -> int:
        return sum(e.is_switch for e in self.events)

    @property
    def num_fragments(self) -> int:
        return sum(e.is_fragment for e in self.events)

    def cause_counts(self, switches_only: bool = True) -> dict[str, int]:
        """Cause -> number of events listing it (an event may list several)."""
        counts = Counter(
            c for e in self.events if e.is_switch or not switches_only for c in e.causes
        )
        return {c: counts.get(c, 0) for c in CAUSES}

    def camera_counts(self) -> dict[str, tuple[int, int]]:
        """Camera -> (switches, fragmentations) of events it was involved in ("-" for none)."""
        out: dict[str, list[int]] = {}
        for e in self.events:
            for cam in e.cameras or ("-",):
                row = out.setdefault(cam, [0, 0])
                row[0] += e.is_switch
                row[1] += e.is_fragment
        return {cam: (row[0], row[1]) for cam, row in sorted(out.items())}

    def handover_counts(self) -> dict[str, int]:
        """``"cam1 → cam2"`` -> number of switches with the ``hand-over`` cause."""
        counts = Counter(e.handover for e in self.events if e.is_switch and "hand-over" in e.causes)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def analyse_switches(
    gt: FloorTable,
    log: RtlsLog,
    cams: CamsIndex | None = None,
    *,
    rules: SwitchRules | None = None,
    lookalike_group: Mapping[int, int] | None = None,
    visible: np.ndarray | None = None,
    embeddings: Mapping[int, np.ndarray] | None = None,
) -> SwitchAnalysis:
    """Find and classify the ID switches and fragmentations of a run on the floor.

    Args:
        gt: ground-truth floor positions (``read_world_gt``).
        log: the run's RTLS log (``read_rtls``); its time steps are the evaluated frames.
        cams: (frame, global id) -> cameras that saw it (:func:`read_rtls_cams`); None: unknown.
        rules: cause thresholds (default :class:`SwitchRules`).
        lookalike_group: gt id -> look-alike group (0 = unique); None: no look-alike cause.
        visible: sorted int64 keys of (frame, gt id) visible in some camera (:func:`visible_keys`);
            None: ``hidden_steps`` unknown.
        embeddings: global id -> (D,) appearance embedding; None: similarity n/a.

    Returns:
        The analysis; ``num_switches`` equals the floor evaluation's IDSW, ``num_fragments`` its
        Frag.
    """
    rules = rules if rules is not None else SwitchRules()
    frames = np.asarray(log.frames, dtype=np.int64)
    order = np.argsort(frames, kind="stable")
    frames, t_s = frames[order], np.asarray(log.t_s, dtype=np.float64)[order]
    seq = floor_sequence(gt, log.tracks, frames=frames)
    matches = clear_matches(seq)
    gt_eval = gt[np.isin(gt.frame, frames)]
    gt_eval = gt_eval[np.lexsort((gt_eval.track_id, gt_eval.frame))]

    # 1. processed time steps (TrackEval skips steps with no gt or no prediction) for Frag
    data = seq.data
    processed = np.array([len(g) > 0 and len(p) > 0
                          for g, p in zip(data["gt_ids"], data["tracker_ids"], strict=True)], bool)
    processed_frames = seq.timestep_frame[processed]
    step_of = {int(f): k for k, f in enumerate(frames)}
    pred_first_step = _first_steps(log.tracks, frames)
    gt_frames_of = _rows_by_id(gt_eval)
    pred_matches = _matches_by_pred(matches)

    events: list[IdEvent] = []
    for gid, rows in _group_rows(matches.gt_id).items():  # rows in timestep order
        f, p = matches.frame[rows], matches.pred_id[rows]
        proc_idx = np.searchsorted(processed_frames, f)
        switch = np.r_[False, p[1:] != p[:-1]]
        fragment = np.r_[False, np.diff(proc_idx) > 1]
        # run lengths of equal consecutive predictions, for severity
        run_end = _run_ends(p)
        for k in np.flatnonzero(switch | fragment):
            events.append(_event(
                gid, int(f[k - 1]), int(f[k]), int(p[k - 1]), int(p[k]), bool(switch[k]),
                bool(fragment[k]), int(run_end[k] - k + 1), frames, t_s, step_of, gt_eval,
                gt_frames_of, pred_first_step, pred_matches, cams, rules, lookalike_group,
                visible, embeddings,
            ))
    events.sort(key=lambda e: (e.frame, e.gt_id))
    return SwitchAnalysis(events, matches, seq, gt_eval, frames, t_s, rules)


def _event(
    gid: int, prev_frame: int, frame: int, prev_pred: int, new_pred: int, is_switch: bool,
    is_fragment: bool, severity: int, frames: np.ndarray, t_s: np.ndarray, step_of: dict[int, int],
    gt: FloorTable, gt_frames_of: dict[int, np.ndarray], pred_first_step: dict[int, int],
    pred_matches: dict[int, tuple[np.ndarray, np.ndarray]], cams: CamsIndex | None,
    rules: SwitchRules, lookalike_group: Mapping[int, int] | None, visible: np.ndarray | None,
    embeddings: Mapping[int, np.ndarray] | None,
) -> IdEvent:
    s_prev, s_now = step_of[prev_frame], step_of[frame]
    # gap: evaluated steps strictly between the matches where the person is in the gt
    own_frames = gt_frames_of[gid]
    lo, hi = np.searchsorted(own_frames, [prev_frame + 1, frame])
    gap_frames = own_frames[lo:hi]
    hidden = None
    if visible is not None:
        hidden = int((~_contains(visible, _key(gap_frames, gid))).sum())
    # cameras behind the old id at the previous match and the new id now
    before = tuple(cams.get((prev_frame, prev_pred), ())) if cams is not None else ()
    after = tuple(cams.get((frame, new_pred), ())) if cams is not None else ()
    # nearest other person in the context windows
    c = rules.context_steps
    window = np.unique(
        np.r_[frames[max(0, s_prev - c) : s_prev + 1], frames[max(0, s_now - c) : s_now + 1]]
    )
    nearest_m, nearest_id = _nearest_other(gt, gid, window)
    # the other person involved
    other = _last_gt_of_pred(pred_matches, new_pred, frame, gid, before=True)
    if other is None:
        later = frames[s_now : s_now + c + 1]
        other = _last_gt_of_pred(pred_matches, prev_pred, int(later[-1]), gid, before=False,
                                 since=frame)
    if other is None:
        other = nearest_id
    similarity = None
    if embeddings is not None and prev_pred in embeddings and new_pred in embeddings:
        a, b = embeddings[prev_pred], embeddings[new_pred]
        similarity = float(a @ b / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))
    causes = []
    if lookalike_group is not None and other is not None:
        group = lookalike_group.get(gid, 0)
        if group > 0 and lookalike_group.get(other, 0) == group:
            causes.append("look-alike")
    if math.isfinite(nearest_m) and nearest_m <= rules.crossing_m:
        causes.append("crossing")
    if len(gap_frames) >= rules.occlusion_min_steps:
        causes.append("occlusion gap")
    if before and after and set(before) != set(after):
        causes.append("hand-over")
    if is_switch and pred_first_step.get(new_pred, -1) >= s_now - rules.new_id_window_steps:
        causes.append("new id")
    return IdEvent(
        frame=frame, t_s=float(t_s[s_now]), gt_id=gid, prev_pred_id=prev_pred,
        new_pred_id=new_pred, is_switch=is_switch, is_fragment=is_fragment,
        prev_frame=prev_frame, gap_steps=len(gap_frames), hidden_steps=hidden,
        cams_before=before, cams_after=after, nearest_other_m=nearest_m,
        nearest_other_id=nearest_id, other_gt_id=other, appearance_similarity=similarity,
        severity_steps=severity, causes=tuple(causes) or ("unexplained",),
    )


def _run_ends(p: np.ndarray) -> np.ndarray:
    """For each index, the last index of its run of equal consecutive values."""
    n = len(p)
    change = np.r_[np.flatnonzero(p[1:] != p[:-1]), n - 1]  # last index of each run
    return change[np.searchsorted(change, np.arange(n))]


def _first_steps(tracks: FloorTable, frames: np.ndarray) -> dict[int, int]:
    """Global id -> index (in ``frames``) of the first time step it appears."""
    if not len(tracks):
        return {}
    step = np.searchsorted(frames, tracks.frame)
    order = np.argsort(step, kind="stable")
    ids, first = np.unique(tracks.track_id[order], return_index=True)
    return {int(i): int(s) for i, s in zip(ids, step[order][first], strict=True)}


def _rows_by_id(table: FloorTable) -> dict[int, np.ndarray]:
    """Id -> sorted frames where the id is present (``table`` sorted by frame)."""
    return {gid: table.frame[rows] for gid, rows in _group_rows(table.track_id).items()}


def _group_rows(values: np.ndarray) -> dict[int, np.ndarray]:
    """Value -> indices of the rows with that value, in their original order."""
    order = np.argsort(values, kind="stable")
    keys, start = np.unique(values[order], return_index=True)
    return {int(k): rows for k, rows in zip(keys, np.split(order, start[1:]), strict=True)}


def _matches_by_pred(m: ClearMatches) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Predicted id -> (frames, gt ids) of its matches in time order."""
    return {pid: (m.frame[rows], m.gt_id[rows]) for pid, rows in _group_rows(m.pred_id).items()}


def _last_gt_of_pred(
    pred_matches: dict[int, tuple[np.ndarray, np.ndarray]], pid: int, frame: int, not_gid: int,
    *, before: bool, since: int = 0,
) -> int | None:
    """The gt a prediction was matched to: the last before ``frame`` (``before``), or the first
    in ``since .. frame``; other than ``not_gid``."""
    if pid not in pred_matches:
        return None
    f, g = pred_matches[pid]
    keep = (f < frame) if before else ((f >= since) & (f <= frame))
    keep &= g != not_gid
    rows = np.flatnonzero(keep)
    if not len(rows):
        return None
    return int(g[rows[-1] if before else rows[0]])


def _nearest_other(gt: FloorTable, gid: int, window: np.ndarray) -> tuple[float, int | None]:
    """Smallest distance from ``gid`` to another gt person over the frames ``window`` (``gt``
    sorted by frame, then id)."""
    lo = np.searchsorted(gt.frame, window, side="left")  # gt is sorted by frame
    hi = np.searchsorted(gt.frame, window, side="right")
    ranges = [np.arange(a, b) for a, b in zip(lo, hi, strict=True)]
    rows = gt[np.concatenate([np.zeros(0, np.int64), *ranges])]
    own = rows[rows.track_id == gid]
    others = rows[rows.track_id != gid]
    if not len(own) or not len(others):
        return math.nan, None
    k = np.searchsorted(own.frame, others.frame)
    k = np.minimum(k, len(own) - 1)
    same = own.frame[k] == others.frame
    if not same.any():
        return math.nan, None
    d = np.linalg.norm(others.xy_m[same] - own.xy_m[k[same]], axis=1)
    j = int(np.argmin(d))
    return float(d[j]), int(others.track_id[same][j])


_KEY_STRIDE = np.int64(1) << np.int64(32)


def _key(frame: np.ndarray | int, gid: np.ndarray | int) -> np.ndarray:
    return np.asarray(frame, dtype=np.int64) * _KEY_STRIDE + np.asarray(gid, dtype=np.int64)


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    k = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[k] == keys


def visible_keys(gt_dir: str | Path, cameras: list[str] | None = None) -> np.ndarray | None:
    """Sorted (frame, gt id) keys of people visible (visibility > 0, or not given) in at least
    one camera's ``gt/<cam>.txt``; None when there is no such file.

    Args:
        gt_dir: the scene's ``gt`` folder.
        cameras: cameras to read; None: every ``*.txt`` there except ``world.txt``.
    """
    gt_dir = Path(gt_dir)
    paths = ([gt_dir / f"{c}.txt" for c in cameras] if cameras is not None
             else sorted(p for p in gt_dir.glob("*.txt") if p.name != "world.txt"))
    paths = [p for p in paths if p.is_file()]
    if not paths:
        return None
    keys = []
    for path in paths:
        table = read_mot(path)
        seen = table.visibility != 0  # -1 = not given: the box is there
        keys.append(_key(table.frame[seen], table.track_id[seen]))
    return np.unique(np.concatenate(keys))


class RtlsCams(Mapping[tuple[int, int], tuple[str, ...]]):
    """(frame, global id) -> sorted camera ids that saw it, stored compactly (12 bytes a row plus
    one tuple per distinct camera set), for long runs.

    Example::

        cams = read_rtls_cams("runs/demo/rtls.jsonl")
        cams.get((12, 3), ())        # ("cam1", "cam2")
    """

    def __init__(
        self, keys: np.ndarray, set_index: np.ndarray, sets: list[tuple[str, ...]]
    ) -> None:
        order = np.argsort(keys, kind="stable")
        self._keys = np.asarray(keys, dtype=np.int64)[order]
        self._index = np.asarray(set_index, dtype=np.int32)[order]
        self._sets = sets

    def __getitem__(self, key: tuple[int, int]) -> tuple[str, ...]:
        k = _key(*key)
        i = int(np.searchsorted(self._keys, k))
        if i >= len(self._keys) or self._keys[i] != k:
            raise KeyError(key)
        return self._sets[int(self._index[i])]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for k in self._keys.tolist():
            yield (k // int(_KEY_STRIDE), k % int(_KEY_STRIDE))

    def __len__(self) -> int:
        return len(self._keys)


def read_rtls_cams(path: str | Path) -> RtlsCams:
    """(frame, global id) -> sorted camera ids that saw it, from ``rtls.jsonl`` ``cams`` (rows
    without cameras are left out). Streams the file."""
    keys = array("q")
    index = array("i")
    set_ids: dict[tuple[str, ...], int] = {}
    for step in iter_rtls(path):
        for gid, cams in zip(step.ids.tolist(), step.cams, strict=True):
            if cams:
                keys.append(step.frame * int(_KEY_STRIDE) + gid)
                index.append(set_ids.setdefault(cams, len(set_ids)))
    return RtlsCams(np.frombuffer(keys, dtype=np.int64), np.frombuffer(index, dtype=np.int32),
                    list(set_ids))


def read_lookalike_groups(scene_json: str | Path) -> dict[int, int]:
    """Person id -> look-alike group (0 = unique) from a simulator ``scene.json``.

    Raises:
        ValueError: unreadable file or ``people`` entries without ``person_id``.
    """
    path = Path(scene_json)
    try:
        scene = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot read scene description ({err})") from None
    out: dict[int, int] = {}
    for k, person in enumerate(scene.get("people", [])):
        if not isinstance(person, dict) or "person_id" not in person:
            raise ValueError(f"{path}: people[{k}] has no person_id")
        out[int(person["person_id"])] = int(person.get("lookalike_group") or 0)
    return out


def load_id_embeddings(path: str | Path) -> dict[int, np.ndarray] | None:
    """Global id -> mean (D,) embedding from an ``embeddings.npz`` (arrays ``global_id`` (K,),
    ``embedding`` (K, D)); None when the file does not exist.

    Raises:
        ValueError: the file lacks the arrays or their shapes disagree.
    """
    path = Path(path)
    if not path.is_file():
        return None
    with np.load(path) as data:
        if "global_id" not in data or "embedding" not in data:
            raise ValueError(f"{path}: needs arrays global_id (K,) and embedding (K, D)")
        ids = np.asarray(data["global_id"], dtype=np.int64).reshape(-1)
        emb = np.asarray(data["embedding"], dtype=np.float64)
    if emb.ndim != 2 or len(emb) != len(ids):
        raise ValueError(f"{path}: embedding must be (K, D) with K = {len(ids)}, got {emb.shape}")
    return {int(i): emb[ids == i].mean(axis=0) for i in np.unique(ids)}


def analyse_run(
    run_dir: str | Path,
    gt_dir: str | Path,
    *,
    rules: SwitchRules | None = None,
    scene_json: str | Path | None = None,
) -> SwitchAnalysis:
    """:func:`analyse_switches` on a run folder and a scene's ``gt`` folder.

    Reads ``RUN/rtls.jsonl`` (positions and cameras), ``GT/world.txt``, ``GT/<cam>.txt`` (for
    ``hidden_steps``, when present), ``scene.json`` (look-alike groups; default: next to the gt
    folder, when present) and ``RUN/embeddings.npz`` (when present).

    Raises:
        ValueError: missing rtls.jsonl or world.txt, an empty run, unreadable files.
    """
    run_dir, gt_dir = Path(run_dir), Path(gt_dir)
    rtls = run_dir / "rtls.jsonl"
    log = read_rtls(rtls)
    if not len(log.frames):
        raise ValueError(f"{rtls}: empty run (no time steps)")
    gt = read_world_gt(gt_dir / "world.txt")
    scene_json = Path(scene_json) if scene_json is not None else gt_dir.parent / "scene.json"
    return analyse_switches(
        gt,
        log,
        read_rtls_cams(rtls),
        rules=rules,
        lookalike_group=read_lookalike_groups(scene_json) if scene_json.is_file() else None,
        visible=visible_keys(gt_dir),
        embeddings=load_id_embeddings(run_dir / EMBEDDINGS_FILE),
    )
