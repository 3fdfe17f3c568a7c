"""The robots' sortie machine: what a rover or a hopper does, step by step, computed by stretches.

A robot is in one phase at a time:

* ``not_landed`` until its landing; then ``home`` (at the station, undocked), ``charging`` (it
  holds the dock), or away on a sortie's legs: ``outbound``, ``working`` (digging, surveying),
  ``inbound``, ``recovering`` (after getting stuck or tipping over); ``dead`` if its battery ran
  flat (away, waiting for the dock, or docked while its class is shed: a failure, for good).
* **Planner.** A robot at home leaves on its next sortie only in daylight (``sun_visible_frac`` >
  0), with an empty bin, and with the energy for the whole sortie plus its reserve (the costliest
  sortie of that task, so it never leaves with a battery that cannot bring it home). From the
  dock it leaves once charged to ``depart_frac``. At sunset an outbound or working robot turns
  home at once. At home it asks for the dock when its battery falls below ``recharge_frac`` (or
  below what the next sortie needs) and gives the dock up when full: a dock is a charger, so one
  dock keeps several robots alive through the night, each topping up in turn.
* **Power.** Docked, the robot asks the station for its charger plus its hotel load (day) or its
  hibernation heater (night), in the ISRU-and-robots load class; the charger's output times its
  efficiency goes into the battery. Away from the dock, or while its class is shed, the battery
  carries the hotel or heater load.
* **The dock** is taken (``dock_refused``) while a robot ranked before this one at its dock
  asks for it or charges there, or before the dock lands: asking is then waiting; a robot
  charging yields at the end of such a step.
* **Feedback** (answers of the same step never change that step's outputs, as the model
  contract asks): ``regolith_refused``
  (what the ISRU hopper could not take: the load stays in the bin and is offered again every
  ``retry_h``; nothing is lost), ``powered``.

Ledgers are integers (mJ, grams, bytes, mm) and every stretch is a closed form of the steps
since its start, so a window cut anywhere gives the same telemetry and end state. Random draws
(which dig spot, whether a leg fails and where) are made when a sortie is planned, always the
same number per sortie.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, fields
from typing import Callable

import numpy as np

PHASES = ("not_landed", "home", "charging", "outbound", "working", "inbound", "recovering", "dead")
NOT_LANDED, HOME, CHARGING, OUTBOUND, WORKING, INBOUND, RECOVERING, DEAD = range(len(PHASES))
AWAY = (OUTBOUND, WORKING, INBOUND, RECOVERING)  # consecutive: a range test finds them
NEVER = 2**62


@dataclass(frozen=True)
class Leg:
    """One stretch of a sortie: ``steps`` micro steps from (x0, y0) to (x1, y1) (mm east and
    north of home), costing ``energy_mj`` of battery; what it digs, records and hops is spread
    evenly over it. ``fail_at``: the step of the leg at which the robot gets stuck or tips over,
    after the steps before it (0 to ``steps``: ``steps`` drives the whole leg, then fails at its
    end, as a full-physics leg cut where the robot stopped does; -1: it does not)."""

    phase: int
    x0: int
    y0: int
    x1: int
    y1: int
    steps: int
    energy_mj: int
    length_mm: int = 0
    dig_g: int = 0
    data_bytes: int = 0
    hops: int = 0
    fail_at: int = -1


@dataclass(frozen=True)
class RobotState:
    phase: int
    task: int  # index of the next sortie in the task cycle
    legs: tuple  # the sortie's remaining legs; legs[0] is under way while away
    leg_start: int  # absolute step the current leg began
    battery_mj: int
    bin_g: int
    x_mm: int
    y_mm: int
    heading_cdeg: int
    next_offer: int  # absolute step from which the bin may be offered again
    # Values at the current leg's start (legs are closed forms of the steps since then).
    leg_battery_mj: int
    leg_bin_g: int
    leg_distance_mm: int
    leg_data_bytes: int
    leg_hops: int
    # Ledgers and counts since landing.
    distance_mm: int = 0
    used_mj: int = 0  # taken from the battery
    charged_mj: int = 0  # put into the battery
    grid_mj: int = 0  # drawn from the station
    offered_g: int = 0
    delivered_g: int = 0
    refused_g: int = 0
    data_bytes: int = 0
    hops: int = 0
    sorties: int = 0
    failures: int = 0
    aborts: int = 0
    landed_steps: int = 0
    available_steps: int = 0
    held: bool = False  # commanded: it leaves on no sortie until released


@dataclass(frozen=True)
class Config:
    """A robot's operating figures, in the machine's integer units per micro step."""

    landing_step: int  # absolute step of landing (0: from the start)
    step_s: int
    capacity_mj: int
    charge_mj: int  # into the battery per docked, powered step
    charger_w: float
    hotel_w: float
    heater_w: float
    hotel_mj: int
    heater_mj: int
    reserve_mj: int
    recharge_mj: int  # ask for the dock below this
    depart_mj: int  # leave the dock from this
    retry_steps: int
    tasks: int  # length of the task cycle (0: idle)
    need_mj: tuple[int, ...]  # per task: the costliest sortie's energy


_FIELDS = tuple(f.name for f in fields(RobotState))


class _Working:
    """The state while a window runs, changed in place: a robot makes several stretches per
    sortie, and a frozen copy for each cost a third of the machine's time."""

    __slots__ = _FIELDS

    def __init__(self, state: RobotState):
        for name in _FIELDS:
            setattr(self, name, getattr(state, name))

    def frozen(self) -> RobotState:
        return RobotState(**{name: getattr(self, name) for name in _FIELDS})


def initial(config: Config) -> RobotState:
    full = config.capacity_mj
    return RobotState(NOT_LANDED, 0, (), 0, full, 0, 0, 0, 0, 0, full, 0, 0, 0, 0)


class _Series:
    """The window's outputs and telemetry, filled stretch by stretch."""

    def __init__(self, n: int):
        z = lambda dtype=np.float64: np.zeros(n, dtype=dtype)
        self.power_w, self.dock, self.regolith_g, self.data_bytes = z(), z(), z(np.int64), z(np.int64)
        self.refused_g = z(np.int64)
        self.x_mm, self.y_mm, self.heading_cdeg = z(np.int64), z(np.int64), z(np.int64)
        self.speed_m_s, self.battery_mj, self.bin_g = z(), z(np.int64), z(np.int64)
        self.distance_mm, self.used_mj, self.hops = z(np.int64), z(np.int64), z(np.int64)
        self.phase, self.task, self.drawn_w = z(np.int64), z(np.int64), z()
        # Stretches away, filled together at the end of the window (a sortie's legs are many
        # and short: one vectorised fill for all of them instead of a dozen array writes each).
        self.away: list[tuple] = []

    def fill_away(self, start_step: int, step_s: int) -> None:
        """Every recorded stretch of a leg, each step a closed form of the steps since the leg began."""
        if not self.away:
            return
        cols = np.array(self.away, dtype=np.int64).T
        i, j, leg_start, d, energy, batt0, used0, x0, dx, y0, dy, heading, length, dist0, dig, bin0, data, hops, hops0, phase, task = cols
        lengths = j - i
        seg = np.repeat(np.arange(i.size), lengths)
        at = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths) + i[seg]
        k = start_step + at - leg_start[seg] + 1
        dd = d[seg]
        battery = np.maximum(batt0[seg] - (energy[seg] * k) // dd, 0)
        self.battery_mj[at] = battery
        self.used_mj[at] = used0[seg] - battery
        self.x_mm[at] = x0[seg] + (dx[seg] * k) // dd
        self.y_mm[at] = y0[seg] + (dy[seg] * k) // dd
        self.heading_cdeg[at] = heading[seg]
        self.speed_m_s[at] = (length / 1000.0 / (d * step_s))[seg]
        self.distance_mm[at] = dist0[seg] + (length[seg] * k) // dd
        self.bin_g[at] = bin0[seg] + (dig[seg] * k) // dd
        self.data_bytes[at] = (data[seg] * k) // dd - (data[seg] * (k - 1)) // dd
        self.hops[at] = hops0[seg] + (hops[seg] * k) // dd
        self.phase[at], self.task[at] = phase[seg], task[seg]
        self.away = []


def _changes(values: np.ndarray) -> np.ndarray:
    """Indices where a series differs from its previous step."""
    return np.flatnonzero(values[1:] != values[:-1]) + 1


def _next_change(changes: list[int], i: int, n: int) -> int:
    """The first of the sorted ``changes`` after step i (n if none)."""
    k = bisect.bisect_right(changes, i)
    return changes[k] if k < len(changes) else n


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def run(config: Config, state: RobotState, start_step: int, n: int, night: np.ndarray, powered: np.ndarray, dock_refused: np.ndarray,
        regolith_refused_g: np.ndarray, plan: Callable, return_leg: Callable, recovery: Callable, hauls: bool) -> tuple[_Series, RobotState]:
    """Advance ``state`` over steps [start_step, start_step + n).

    ``plan(task, step) -> legs`` plans a sortie leaving at ``step`` (it draws from the instance's
    random stream); ``return_leg(x_mm, y_mm, bin_g)`` is the way home from anywhere;
    ``recovery(x_mm, y_mm)`` the leg of getting unstuck there. ``hauls``: it offers its bin to
    a hopper on coming home."""
    c = config
    out = _Series(n)
    s = _Working(state)
    # Python lists and bisect: a sortie's few stretches each look up the next change.
    cuts = np.unique(np.concatenate([_changes(night), _changes(powered), _changes(dock_refused)])).tolist()
    dusks = np.flatnonzero(night[1:] & ~night[:-1]).tolist()
    i = 0
    while i < n:
        t = start_step + i
        phase = s.phase
        if phase == NOT_LANDED:
            j = min(n, max(i, c.landing_step - start_step))
            _still(out, s, i, j)
            i = j
            if i < n:
                s.phase = HOME
            continue
        if phase == DEAD:
            _still(out, s, i, n)
            s.landed_steps += n - i
            i = n
            continue
        bound = _next_change(cuts, i, n)
        if phase == HOME or phase == CHARGING:
            if hauls and s.bin_g > 0 and t >= s.next_offer:
                _offer(out, s, i, t, int(regolith_refused_g[i]), c)
            need = c.need_mj[s.task % c.tasks] + c.reserve_mj if c.tasks else NEVER
            ready = not s.held and not night[i] and s.bin_g == 0 and c.tasks and s.battery_mj >= need
            if ready and (phase == HOME or s.battery_mj >= c.depart_mj):
                s.legs = tuple(plan(s.task, t))
                s.task = (s.task + 1) % c.tasks
                s.sorties += 1
                _start_leg(s, t)
                continue
            offer_at = s.next_offer - start_step if hauls and s.bin_g > 0 else n
            bound = min(bound, max(offer_at, i + 1))
            if phase == CHARGING:
                if s.battery_mj >= c.capacity_mj:
                    s.phase = HOME
                    continue
                i = _charging(out, s, i, bound, night, powered, dock_refused, c, need)
            else:
                i = _home(out, s, i, bound, night, dock_refused, c, need)
            continue
        # Away: the current leg, to its end, the step it fails or the step the battery is flat.
        leg = s.legs[0]
        if (phase == OUTBOUND or phase == WORKING) and night[i]:
            _recall(s, t, return_leg)
            continue
        fail = s.leg_start + leg.fail_at if leg.fail_at >= 0 else NEVER
        flat = s.leg_start + _ceil_div(s.leg_battery_mj * leg.steps, leg.energy_mj) if leg.energy_mj > s.leg_battery_mj else NEVER
        end = min(s.leg_start + leg.steps, fail, flat)
        j = min(n, end - start_step)
        if phase == OUTBOUND or phase == WORKING:
            j = min(j, _next_change(dusks, i - 1, n) + 1)  # it turns home at sunset (night[i] is day here)
        _away(out, s, leg, i, j, start_step)
        i = j
        if start_step + i == end:
            if end == flat:
                s.phase, s.legs = DEAD, ()
                s.failures += 1
            elif end == fail:
                s.legs = (recovery(s.x_mm, s.y_mm), return_leg(s.x_mm, s.y_mm, s.bin_g))
                s.failures += 1
                _start_leg(s, end)
            elif len(s.legs) > 1:
                s.legs = s.legs[1:]
                _start_leg(s, end)
            else:  # home: a load is offered at once
                s.phase, s.legs, s.next_offer = HOME, (), end
    out.fill_away(start_step, c.step_s)
    return out, s.frozen()


def recall(state: RobotState, t: int, return_leg: Callable) -> RobotState:
    """Turn an outbound or working robot home at step t, from where it is (as at sunset)."""
    s = _Working(state)
    _recall(s, t, return_leg)
    return s.frozen()


def _recall(s: _Working, t: int, return_leg: Callable) -> None:
    s.legs = (return_leg(s.x_mm, s.y_mm, s.bin_g),)
    s.aborts += 1
    _start_leg(s, t)


def _still(out: _Series, s: _Working, i: int, j: int) -> None:
    """Telemetry of steps where nothing moves or draws (before landing, dead)."""
    out.x_mm[i:j], out.y_mm[i:j], out.heading_cdeg[i:j] = s.x_mm, s.y_mm, s.heading_cdeg
    out.battery_mj[i:j], out.bin_g[i:j], out.distance_mm[i:j], out.used_mj[i:j], out.hops[i:j] = s.battery_mj, s.bin_g, s.distance_mm, s.used_mj, s.hops
    out.phase[i:j], out.task[i:j] = s.phase, s.task


def _offer(out: _Series, s: _Working, i: int, t: int, refused: int, c: Config) -> None:
    """The bin offered to the hopper at step t; what it refuses stays in the bin."""
    refused = max(0, min(refused, s.bin_g))
    out.regolith_g[i] = s.bin_g
    out.refused_g[i] = refused
    s.offered_g += s.bin_g
    s.delivered_g += s.bin_g - refused
    s.refused_g += refused
    s.bin_g = refused
    s.next_offer = t + c.retry_steps if refused else t


def _home(out, s: _Working, i: int, bound: int, night, dock_refused, c: Config, need: int) -> int:
    """At home, undocked, on the battery; asks for the dock when low. Ends at the step the dock
    is granted (charging from the next), when the battery runs flat, or at ``bound``."""
    sb = int(c.heater_mj if night[i] else c.hotel_mj)
    refused = bool(dock_refused[i])
    b = s.battery_mj
    want = max(c.recharge_mj, need if need < NEVER else 0)
    # request at step i + m: the battery at the end of the step before is below `want`.
    m_req = 0 if b < want else ((b - want) // sb + 1 if sb > 0 else NEVER)
    m_dead = _ceil_div(b, sb) - 1 if sb > 0 else NEVER
    j = min(bound, i + m_dead + 1)
    granted = not refused and i + m_req < j
    if granted:
        j = i + m_req + 1
    k = np.arange(1, j - i + 1, dtype=np.int64)
    battery = np.maximum(b - sb * k, 0)
    out.battery_mj[i:j] = battery
    out.dock[i:j] = (np.arange(j - i) >= m_req).astype(np.float64)
    _at_home(out, s, i, j, HOME)
    end = int(battery[-1])
    s.battery_mj = end
    s.used_mj += b - end
    s.landed_steps += j - i
    s.available_steps += j - i
    if end <= 0:
        s.battery_mj, s.phase = 0, DEAD
        s.failures += 1
    elif granted:
        s.phase = CHARGING
    return j


def _charging(out, s: _Working, i: int, bound: int, night, powered, dock_refused, c: Config, need: int) -> int:
    """Docked: the charger (and the hotel or heater) on the station's power while its class is
    on, the battery otherwise. Ends when full, when it may leave, or at ``bound``."""
    sb = int(c.heater_mj if night[i] else c.hotel_mj)
    on = bool(powered[i])
    b = s.battery_mj
    if on:
        k_full = _ceil_div(c.capacity_mj - b, c.charge_mj)
        j = min(bound, i + k_full)
        if not night[i] and need < NEVER:
            thr = max(need, c.depart_mj)
            j = min(j, i + max(1, _ceil_div(thr - b, c.charge_mj)))
    else:
        j = min(bound, i + max(1, _ceil_div(b, sb)) if sb > 0 else bound)
    lost = bool(dock_refused[i])
    if lost:
        j = i + 1  # it lost the dock: home after this step
    k = np.arange(1, j - i + 1, dtype=np.int64)
    battery = np.minimum(c.capacity_mj, b + c.charge_mj * k) if on else np.maximum(b - sb * k, 0)
    request_w = c.charger_w + (c.heater_w if night[i] else c.hotel_w)
    out.battery_mj[i:j] = battery
    out.dock[i:j] = 1.0
    out.power_w[i:j] = request_w
    out.drawn_w[i:j] = request_w if on else 0.0
    _at_home(out, s, i, j, CHARGING)
    end = int(battery[-1])
    delta = end - b
    s.battery_mj = max(end, 0)
    if on:
        s.grid_mj += int(round(request_w * c.step_s * 1000)) * (j - i)
    s.charged_mj += max(delta, 0)
    s.used_mj += max(-delta, 0)
    s.landed_steps += j - i
    s.available_steps += j - i
    if end <= 0:
        s.battery_mj, s.phase = 0, DEAD
        s.failures += 1
    elif lost:
        s.phase = HOME
    return j


def _at_home(out, s: _Working, i: int, j: int, phase: int) -> None:
    out.x_mm[i:j], out.y_mm[i:j], out.heading_cdeg[i:j] = s.x_mm, s.y_mm, s.heading_cdeg
    out.bin_g[i:j], out.distance_mm[i:j], out.hops[i:j] = s.bin_g, s.distance_mm, s.hops
    out.used_mj[i:j] = s.used_mj + np.maximum(0, s.battery_mj - out.battery_mj[i:j])
    out.phase[i:j], out.task[i:j] = phase, s.task


def _start_leg(s: _Working, t: int) -> None:
    leg = s.legs[0]
    if leg.x1 != leg.x0 or leg.y1 != leg.y0:
        s.heading_cdeg = int(round(math.degrees(math.atan2(leg.x1 - leg.x0, leg.y1 - leg.y0)) * 100)) % 36000
    s.phase, s.leg_start = leg.phase, t
    s.leg_battery_mj, s.leg_bin_g, s.leg_distance_mm, s.leg_data_bytes, s.leg_hops = s.battery_mj, s.bin_g, s.distance_mm, s.data_bytes, s.hops


def _away(out, s: _Working, leg: Leg, i: int, j: int, start_step: int) -> None:
    """Steps [i, j) of the current leg, each a closed form of the steps since the leg began: the
    state at j here, the steps' telemetry recorded for ``_Series.fill_away``."""
    if j == i:
        return
    d = leg.steps
    dx, dy = leg.x1 - leg.x0, leg.y1 - leg.y0
    out.away.append((i, j, s.leg_start, d, leg.energy_mj, s.leg_battery_mj, s.used_mj + s.battery_mj, leg.x0, dx, leg.y0, dy, s.heading_cdeg,
                     leg.length_mm, s.leg_distance_mm, leg.dig_g, s.leg_bin_g, leg.data_bytes, leg.hops, s.leg_hops, leg.phase, s.task))
    k = start_step + j - s.leg_start
    battery = max(s.leg_battery_mj - (leg.energy_mj * k) // d, 0)
    s.used_mj += s.battery_mj - battery
    s.battery_mj = battery
    s.x_mm, s.y_mm = leg.x0 + (dx * k) // d, leg.y0 + (dy * k) // d
    s.distance_mm = s.leg_distance_mm + (leg.length_mm * k) // d
    s.bin_g = s.leg_bin_g + (leg.dig_g * k) // d
    s.data_bytes = s.leg_data_bytes + (leg.data_bytes * k) // d
    s.hops = s.leg_hops + (leg.hops * k) // d
    s.landed_steps += j - i
    if leg.phase != RECOVERING:
        s.available_steps += j - i
