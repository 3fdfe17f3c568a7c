"""Integer walks between bounds, vectorised: the data store's and any bounded stock's dynamics.

``level_t = clip(level_{t-1} + d_t, 0, cap)`` computed a phase at a time: while the walk only
touches the floor it is a Lindley recursion, while it only touches the ceiling its mirror; phases
change only when the walk crosses from one bound to the other, so a window costs a handful of
numpy passes. Integers keep every sum exact and the result independent of where windows split.
"""
from __future__ import annotations

import numpy as np


def bounded_walk(start: int, delta: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """Levels after each step and the amount refused at the ceiling at each step (int64)."""
    n = len(delta)
    level = np.empty(n, dtype=np.int64)
    refused = np.zeros(n, dtype=np.int64)
    s, i = int(start), 0
    while i < n:
        raw = s + np.cumsum(delta[i:])
        # Floor phase: level = raw + (what the floor has added so far).
        lifted = raw + np.maximum.accumulate(np.maximum(-raw, 0))
        over = np.flatnonzero(lifted > cap)
        k = int(over[0]) if over.size else n - i
        level[i:i + k] = lifted[:k]
        i += k
        if i == n:
            break
        s = int(level[i - 1]) if k else s
        # Ceiling phase from step i: level = raw - (what the ceiling has refused so far).
        raw = s + np.cumsum(delta[i:])
        cut = np.maximum.accumulate(np.maximum(raw - cap, 0))
        lowered = raw - cut
        under = np.flatnonzero(lowered < 0)
        k = int(under[0]) if under.size else n - i
        level[i:i + k] = lowered[:k]
        refused[i:i + k] = np.diff(cut[:k], prepend=0)
        i += k
        s = int(level[i - 1])
    return level, refused


def drain_in_order(backlogs: list[int], inflows: list[np.ndarray], capacity: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Serve queues in priority order from a shared capacity per step (no ceiling: the caller has
    already refused what does not fit). Returns each queue's level and amount served per step."""
    left = capacity.astype(np.int64, copy=True)
    levels, served = [], []
    for start, inflow in zip(backlogs, inflows):
        raw = start + np.cumsum(inflow - left)
        level = raw + np.maximum.accumulate(np.maximum(-raw, 0))
        previous = np.concatenate(([start], level[:-1]))
        out = previous + inflow - level
        left = left - out
        levels.append(level)
        served.append(out)
    return levels, served
