"""Where everyone is at every frame: behaviours on the floor, simulated in small time steps.

Each person (or small group) repeatedly picks a goal (a spot in front of a shelf, or open floor),
walks there along aisles (shortest path on the walking grid, never through shelves), and then
stops briefly, stands for a while, or walks on. People already on the floor at the first frame start
anywhere; the others enter through a door. Some leave through a door before the end, so ids appear
and disappear. Walkers keep right of oncoming people and slow behind slower ones. Group members
walk side by side (one behind the other where an aisle is too narrow).

Example::

    tracks = simulate_motion(world, appearances, PeopleConfig(), n_frames=600, fps=10.0, rng=rng)
    tracks.xy_m[:, 0]          # (P, 2) positions at frame 1 (NaN for people not yet present)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mtmc.synth.appearance import Appearance
from mtmc.synth.config import PeopleConfig
from mtmc.synth.world import COUNTER, PALLET, World

__all__ = ["Tracks", "simulate_motion", "pick_spots"]

SIM_DT_MAX_S = 0.05  # simulation step; frames are sampled from it
TURN_RATE_RAD_S = 4.0  # how fast a walker turns towards its direction of travel
ACCEL_MPS2 = 1.5  # speeding up / slowing down
PASS_OFFSET_M = 0.55  # sideways step when meeting someone
GROUP_SIDE_M = 0.6  # distance between group members walking side by side
GROUP_LAG_M = 0.9  # distance behind the leader where side by side does not fit
MIN_CLEARANCE_M = 0.28  # a sideways step never brings a body closer than this to a shelf
DOOR_INSET_M = 0.45


@dataclass
class Tracks:
    """Per-frame states of all people (P people, F frames; frame f is 1-based frame f + 1).

    Attributes:
        present: (P, F) bool, on the floor (in the scene) at that frame.
        xy_m: (P, F, 2) float64 floor position of the body centre between the feet; NaN when absent.
        heading_rad: (P, F) float64 facing direction, 0 = +x, counter-clockwise.
        speed_mps: (P, F) float64 smoothed walking speed (drives the gait amplitude).
        phase_rad: (P, F) float64 gait phase (one cycle = two steps).
        carrying: (P, F) bool, carrying a box.
        group: (P,) int64 walking group (0 = alone).
    """

    present: np.ndarray
    xy_m: np.ndarray
    heading_rad: np.ndarray
    speed_mps: np.ndarray
    phase_rad: np.ndarray
    carrying: np.ndarray
    group: np.ndarray

    @property
    def n_people(self) -> int:
        return self.present.shape[0]

    @property
    def n_frames(self) -> int:
        return self.present.shape[1]

    @staticmethod
    def standing(xy_m: np.ndarray, heading_rad: np.ndarray, n_frames: int) -> Tracks:
        """People standing still at ``xy_m`` (P, 2) for ``n_frames`` frames (tests, custom)."""
        xy = np.asarray(xy_m, dtype=np.float64).reshape(-1, 2)
        p = len(xy)
        return Tracks(
            present=np.ones((p, n_frames), dtype=bool),
            xy_m=np.repeat(xy[:, None], n_frames, axis=1),
            heading_rad=np.repeat(
                np.asarray(heading_rad, dtype=np.float64).reshape(p, 1), n_frames, axis=1
            ),
            speed_mps=np.zeros((p, n_frames)),
            phase_rad=np.zeros((p, n_frames)),
            carrying=np.zeros((p, n_frames), dtype=bool),
            group=np.zeros(p, dtype=np.int64),
        )


def pick_spots(world: World, spacing_m: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Spots in front of shelf faces (S, 2) and the heading (S,) of someone facing the shelf."""
    pts: list[tuple[float, float]] = []
    facing: list[float] = []
    for lo, hi, kind in zip(world.box_min, world.box_max, world.box_kind, strict=True):
        if kind in (PALLET, COUNTER):
            continue
        xs = np.arange(lo[0] + 0.5, hi[0] - 0.4, spacing_m)
        for x in xs:
            pts.append((x, lo[1] - 0.6))
            facing.append(math.pi / 2)
            pts.append((x, hi[1] + 0.6))
            facing.append(-math.pi / 2)
    if not pts:
        return np.zeros((0, 2)), np.zeros(0)
    p = np.asarray(pts)
    f = np.asarray(facing)
    ok = world.nav.is_free(p)
    return p[ok], f[ok]


@dataclass
class _Agent:
    index: int
    height_m: float
    v_pref: float
    carrier: bool
    enter_t: float
    leave_t: float
    leader: int = -1  # index of the leader for group followers
    slot: float = 0.0  # followers: +1 / -1 side of the leader
    state: str = "waiting"  # waiting | walk | stop | gone
    pos: np.ndarray = field(default_factory=lambda: np.zeros(2))
    heading: float = 0.0
    speed: float = 0.0  # measured speed (m/s)
    v_path: float = 0.0  # speed along the path (m/s), limited by acceleration
    speed_smooth: float = 0.0
    phase: float = 0.0
    path: np.ndarray | None = None
    cum: np.ndarray | None = None
    s: float = 0.0
    offset: float = 0.0
    timer: float = 0.0
    stop_after: float = 0.0
    stop_facing: float | None = None
    exiting: bool = False
    carrying: bool = False
    blocked_s: float = 0.0


def _polyline(path: np.ndarray) -> np.ndarray:
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def _at(path: np.ndarray, cum: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Point (2,) and unit tangent (2,) at arc length ``s`` along a polyline."""
    s = min(max(s, 0.0), float(cum[-1]))
    k = int(np.searchsorted(cum, s, side="right")) - 1
    k = min(max(k, 0), len(path) - 2)
    seg = path[k + 1] - path[k]
    length = float(np.linalg.norm(seg))
    tangent = seg / length if length > 1e-9 else np.array([1.0, 0.0])
    return path[k] + tangent * (s - cum[k]), tangent


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def _turn(current: float, target: float, max_step: float) -> float:
    d = _wrap(target - current)
    return _wrap(current + max(-max_step, min(max_step, d)))


def simulate_motion(
    world: World,
    people: list[Appearance],
    cfg: PeopleConfig,
    n_frames: int,
    fps: float,
    rng: np.random.Generator,
) -> Tracks:
    """Simulate everyone's walk for ``n_frames`` frames at ``fps``; deterministic given ``rng``."""
    n = len(people)
    duration = n_frames / fps
    spots, spot_facing = pick_spots(world)
    free_ij = np.argwhere(world.nav.free & (world.nav.clearance_m > 0.6))
    free_pts = world.nav.center_of(free_ij)
    doors = world.doors

    # 1. groups of 2-3 among ``group_share`` of the people
    order = rng.permutation(n)
    n_grouped = int(round(cfg.group_share * n))
    groups: list[list[int]] = []
    k = 0
    while n_grouped - k >= 2:
        size = 3 if (n_grouped - k >= 5 or n_grouped - k == 3) and rng.random() < 0.4 else 2
        groups.append([int(i) for i in order[k : k + size]])
        k += size
    group_of = np.zeros(n, dtype=np.int64)
    for g, members in enumerate(groups, start=1):
        group_of[members] = g

    # 2. when each person (or group) is on the floor
    agents: list[_Agent] = []
    for i, app in enumerate(people):
        present = rng.random() < cfg.present_at_start_share
        enter_t = 0.0 if present else float(rng.uniform(0.0, 0.6 * duration))
        leaves = rng.random() < cfg.leave_share
        earliest = max(enter_t + min(15.0, 0.3 * duration), 0.45 * duration)
        leave_t = (
            float(rng.uniform(earliest, duration)) if leaves and earliest < duration else math.inf
        )
        agents.append(
            _Agent(
                index=i,
                height_m=app.height_m,
                v_pref=float(rng.uniform(*cfg.speed_mps)),
                carrier=app.carrier,
                enter_t=enter_t,
                leave_t=leave_t,
                phase=float(rng.uniform(0, 2 * math.pi)),
            )
        )
    for members in groups:
        lead = agents[members[0]]
        lead.v_pref = min(agents[m].v_pref for m in members)  # groups walk at the slowest pace
        for j, m in enumerate(members[1:]):
            a = agents[m]
            a.leader = members[0]
            a.slot = 1.0 if j == 0 else -1.0
            a.enter_t, a.leave_t, a.v_pref = lead.enter_t, lead.leave_t, lead.v_pref

    occupied: list[np.ndarray] = []

    def random_free_point() -> np.ndarray:
        for _ in range(200):
            p = free_pts[int(rng.integers(len(free_pts)))] + rng.uniform(-0.08, 0.08, 2)
            if all(np.linalg.norm(p - q) > 1.6 for q in occupied):
                return p
        return free_pts[int(rng.integers(len(free_pts)))]

    def plan_leg(a: _Agent, t: float) -> None:
        """Choose the next goal of a leader (or a lone person) and walk there."""
        if t >= a.leave_t and not a.exiting:
            a.exiting = True
            dists = [np.linalg.norm(d.point(world.size_m, DOOR_INSET_M) - a.pos) for d in doors]
            door = (
                doors[int(np.argmin(dists))]
                if rng.random() < 0.6
                else doors[int(rng.integers(len(doors)))]
            )
            goal, facing, stop = door.point(world.size_m, DOOR_INSET_M), None, 0.0
        else:
            for _ in range(20):
                if len(spots) and rng.random() < 0.7:
                    j = int(rng.integers(len(spots)))
                    goal, facing = (
                        spots[j] + rng.uniform(-0.3, 0.3, 2) * [1, 0],
                        float(spot_facing[j]),
                    )
                else:
                    goal, facing = random_free_point(), None
                if np.linalg.norm(goal - a.pos) > 3.0:
                    break
            u = rng.random()
            if u < 0.25:
                stop = 0.0  # walk on
            elif rng.random() < cfg.stand_share:
                stop = float(rng.uniform(*cfg.stand_s))
            else:
                stop = float(rng.uniform(*cfg.stop_s))
        path = world.nav.plan(a.pos, goal)
        a.path, a.cum, a.s = path, _polyline(path), 0.0
        a.state, a.stop_after, a.stop_facing = "walk", stop, facing
        a.carrying = a.carrier and bool(rng.random() < 0.5) and not a.exiting
        for f in agents:
            if f.leader == a.index and f.state in ("walk", "stop"):
                f.state, f.carrying = "walk", a.carrying and f.carrier

    def activate(a: _Agent, t: float) -> None:
        if a.leader >= 0:
            lead = agents[a.leader]
            _, tangent = (lead.pos, np.array([math.cos(lead.heading), math.sin(lead.heading)]))
            normal = np.array([-tangent[1], tangent[0]])
            cand = lead.pos - tangent * GROUP_LAG_M * 0.5 + normal * a.slot * GROUP_SIDE_M
            a.pos = (
                cand
                if world.nav.is_free(cand, MIN_CLEARANCE_M)[0]
                else lead.pos - tangent * GROUP_LAG_M
            )
            a.heading = lead.heading
            a.state = lead.state
            return
        if t == 0.0:
            a.pos = random_free_point()
            a.heading = float(rng.uniform(-math.pi, math.pi))
        else:
            door = doors[int(rng.integers(len(doors)))]
            a.pos = door.point(world.size_m, DOOR_INSET_M)
            a.heading = door.inward_heading()
        occupied.append(a.pos.copy())
        plan_leg(a, t)

    # 3. time-stepped simulation; frame f records the state at t = f / fps
    sub = max(1, math.ceil((1.0 / fps) / SIM_DT_MAX_S))
    dt = 1.0 / fps / sub
    present = np.zeros((n, n_frames), dtype=bool)
    xy = np.full((n, n_frames, 2), np.nan)
    heading = np.zeros((n, n_frames))
    speed = np.zeros((n, n_frames))
    phase = np.zeros((n, n_frames))
    carrying = np.zeros((n, n_frames), dtype=bool)

    # leaders first so followers see their leader's updated state
    update_order = sorted(range(n), key=lambda i: (agents[i].leader >= 0, i))
    t = 0.0
    for f in range(n_frames):
        for i in update_order:
            a = agents[i]
            if (
                a.state == "waiting"
                and t >= a.enter_t - 1e-9
                and (a.leader < 0 or agents[a.leader].state != "waiting")
            ):
                activate(a, t)
            if a.state in ("walk", "stop"):
                present[i, f] = True
                xy[i, f] = a.pos
                heading[i, f] = a.heading
                speed[i, f] = a.speed_smooth
                phase[i, f] = a.phase
                carrying[i, f] = a.carrying
        for _ in range(sub):
            for i in update_order:
                a = agents[i]
                if a.state in ("walk", "stop"):
                    if a.leader >= 0:
                        _step_follower(a, agents, world, dt)
                    else:
                        _step_leader(a, agents, world, dt, t, plan_leg)
            t += dt
    return Tracks(
        present=present,
        xy_m=xy,
        heading_rad=heading,
        speed_mps=speed,
        phase_rad=phase,
        carrying=carrying,
        group=group_of,
    )


def _move(a: _Agent, new_pos: np.ndarray, dt: float, face: float | None = None) -> None:
    """Move to ``new_pos``; update heading, smoothed speed and gait phase."""
    step = new_pos - a.pos
    dist = float(np.linalg.norm(step))
    a.pos = new_pos
    a.speed = dist / dt
    a.speed_smooth += (a.speed - a.speed_smooth) * min(1.0, dt / 0.3)
    if dist > 1e-4 and face is None:
        a.heading = _turn(a.heading, math.atan2(step[1], step[0]), TURN_RATE_RAD_S * dt)
    elif face is not None:
        a.heading = _turn(a.heading, face, 0.6 * TURN_RATE_RAD_S * dt)
    v = min(max(a.speed_smooth, 0.3), 2.0)
    stride = a.height_m * (0.55 + 0.28 * v / 1.3)
    a.phase = (a.phase + 2 * math.pi * dist / stride) % (2 * math.pi)


def _step_leader(
    a: _Agent, agents: list[_Agent], world: World, dt: float, t: float, plan_leg
) -> None:
    if a.state == "stop":
        a.timer -= dt
        _move(a, a.pos.copy(), dt, a.stop_facing if a.stop_facing is not None else a.heading)
        if a.timer <= 0:
            plan_leg(a, t)
        return
    assert a.path is not None and a.cum is not None
    total = float(a.cum[-1])
    here, tangent = _at(a.path, a.cum, a.s)
    normal = np.array([-tangent[1], tangent[0]])  # left of the walking direction

    # 1. look for people ahead: slow behind them, step aside for oncoming or standing ones
    v_target = a.v_pref
    offset_target = 0.0
    for b in agents:
        if b is a or b.state not in ("walk", "stop") or b.leader == a.index:
            continue
        rel = b.pos - a.pos
        d = float(np.linalg.norm(rel))
        if d > 2.2:
            continue
        ahead = float(rel @ tangent)
        side = float(rel @ normal)
        if ahead <= 0.05 or abs(side) > 0.9:
            continue
        b_dir = np.array([math.cos(b.heading), math.sin(b.heading)])
        oncoming = b.state == "walk" and float(b_dir @ tangent) < -0.3
        if oncoming or b.state == "stop" or b.speed_smooth < 0.6 * a.v_pref:
            offset_target = (
                -PASS_OFFSET_M if side > 0.1 else PASS_OFFSET_M
            )  # keep right when unsure
        elif d < 1.6:
            v_target = min(v_target, max(0.0, b.speed_smooth * (d - 0.7) / 0.9))
    # 2. slow down at the end of the walk
    v_target = min(v_target, max(0.25, 1.2 * (total - a.s)))
    a.offset += (offset_target - a.offset) * min(1.0, dt / 0.6)
    dv = max(-ACCEL_MPS2 * dt, min(ACCEL_MPS2 * dt, v_target - a.v_path))
    a.v_path = max(0.0, a.v_path + dv)
    advance = a.v_path * dt
    s_new = min(total, a.s + advance)
    p, tan_new = _at(a.path, a.cum, s_new)
    off = a.offset * max(0.0, min(1.0, (total - s_new) / 1.0))  # back on the path at the goal
    cand = p + np.array([-tan_new[1], tan_new[0]]) * off
    while abs(off) > 0.02 and not world.nav.is_free(cand, MIN_CLEARANCE_M)[0]:
        off *= 0.5
        cand = p + np.array([-tan_new[1], tan_new[0]]) * off
    a.offset = off if abs(off) < abs(a.offset) else a.offset
    a.s = s_new
    _move(a, cand, dt)
    if a.s >= total - 1e-6:
        if a.exiting:
            a.state = "gone"
            for f in agents:
                if f.leader == a.index and f.state != "waiting":
                    f.state = "gone"
            return
        if a.stop_after > 0:
            a.state, a.timer, a.v_path = "stop", a.stop_after, 0.0
            for f in agents:
                if f.leader == a.index and f.state in ("walk", "stop"):
                    f.state = "stop"
        else:
            a.state = "stop"
            a.timer = 0.0


def _step_follower(a: _Agent, agents: list[_Agent], world: World, dt: float) -> None:
    """Walk beside the leader on its path; fall behind where the aisle is too narrow."""
    lead = agents[a.leader]
    if lead.state == "gone":
        a.state = "gone"
        return
    if lead.path is None or lead.cum is None:
        return
    a.state = lead.state
    p, tangent = _at(lead.path, lead.cum, lead.s)
    normal = np.array([-tangent[1], tangent[0]])
    side = p + normal * a.slot * GROUP_SIDE_M
    behind, _ = _at(lead.path, lead.cum, lead.s - GROUP_LAG_M * (1.0 if a.slot > 0 else 2.0))
    target = side if world.nav.is_free(side, MIN_CLEARANCE_M)[0] else behind
    step = target - a.pos
    dist = float(np.linalg.norm(step))
    max_step = (lead.v_pref * 1.4 + 0.2) * dt
    if dist > max_step:
        target = a.pos + step * (max_step / dist)
        if not world.nav.is_free(target, MIN_CLEARANCE_M)[0]:  # never cut through a shelf corner
            step = behind - a.pos
            dist = float(np.linalg.norm(step))
            target = a.pos + step * min(1.0, max_step / max(dist, 1e-9))
    face = None
    if lead.state == "stop" and dist < 0.2:
        face = lead.stop_facing if lead.stop_facing is not None else lead.heading
    _move(a, target, dt, face)
