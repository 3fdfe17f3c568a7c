"""Integer walks between bounds, vectorised: the data store's dynamics.

``level_t = clip(level_{t-1} + d_t, 0, cap_t)`` computed a phase at a time: while the walk only
touches the floor it is a Lindley recursion, while it only touches the ceiling its mirror; a phase
is computed over a horizon that doubles while the phase lasts, so a window costs a handful of numpy
passes when phases are long and stays linear when they are short. Integers keep every sum exact
and the result independent of where windows split.
"""
from __future__ import annotations

import numpy as np

_FIRST_HORIZON = 64


def _phase(start: int, delta: np.ndarray, cap: np.ndarray, floor_phase: bool):
    """Levels and refusals while the walk stays in one phase; also how many steps that is."""
    raw = start + np.cumsum(delta)
    if floor_phase:
        level = raw + np.maximum.accumulate(np.maximum(-raw, 0))
        ends = np.flatnonzero(level > cap)
        refused = np.zeros(len(delta), dtype=np.int64)
    else:
        # y_t = max(y_{t-1}, C_t - cap_t): what the ceiling has refused so far.
        cut = np.maximum.accumulate(np.maximum(raw - cap, 0))
        level = raw - cut
        ends = np.flatnonzero(level < 0)
        refused = np.diff(cut, prepend=0)
    k = int(ends[0]) if ends.size else len(delta)
    return level[:k], refused[:k], k


def bounded_walk(start: int, delta: np.ndarray, cap: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Levels after each step and the amount refused at the ceiling at each step (int64).

    ``cap`` may vary per step (a ceiling that falls below the level refuses the difference).
    """
    n = len(delta)
    cap = np.broadcast_to(np.asarray(cap, dtype=np.int64), (n,))
    level = np.empty(n, dtype=np.int64)
    refused = np.zeros(n, dtype=np.int64)
    s, i, floor_phase, horizon = int(start), 0, True, _FIRST_HORIZON
    while i < n:
        end = min(n, i + horizon)
        lv, rf, k = _phase(s, delta[i:end], cap[i:end], floor_phase)
        level[i:i + k] = lv
        refused[i:i + k] = rf
        if k:
            s = int(lv[-1])
        i += k
        if i < end or k == 0:  # the phase ended inside the horizon: switch
            floor_phase, horizon = not floor_phase, _FIRST_HORIZON
        else:  # the phase lasted the whole horizon: look further next time
            horizon *= 2
    return level, refused


def priority_store(backlogs: list[int], inflows: list[np.ndarray], capacity: np.ndarray, space: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Queues sharing a downlink ``capacity`` and a store of ``space`` per step, in priority order.

    Each queue is served from what the queues before it left of the downlink and kept in what
    they left of the store; what does not fit is lost, so a full store drops the lowest-priority
    data first, stored or arriving. Returns each queue's level, amount served and amount lost.
    """
    link = capacity.astype(np.int64, copy=True)
    room = np.broadcast_to(np.asarray(space, dtype=np.int64), capacity.shape).copy()
    levels, served, lost = [], [], []
    for start, inflow in zip(backlogs, inflows):
        level, refused = bounded_walk(start, inflow - link, room)
        previous = np.concatenate(([start], level[:-1]))
        out = previous + inflow - refused - level
        link -= out
        room -= level
        levels.append(level)
        served.append(out)
        lost.append(refused)
    return levels, served, lost
