"""The coarse time grids that ephemeris-derived tables are computed on and interpolated from."""
from __future__ import annotations

import math

import numpy as np

def check_span(start_unix_s: float, end_unix_s: float, grid_step_s: float) -> tuple[float, float, float]:
    start, end, step = float(start_unix_s), float(end_unix_s), float(grid_step_s)
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError("start and end must be finite")
    if end < start:
        raise ValueError(f"end ({end}) before start ({start})")
    if not (math.isfinite(step) and step > 0.0):
        raise ValueError(f"grid_step_s must be positive, got {grid_step_s}")
    return start, end, step


class TimeGrid:
    """Uniform time grid over ``[start - step, end + 2 step]``: every step of the run has both neighbours."""

    def __init__(self, start: float, end: float, step: float):
        self.step = step
        self.t0 = start - step
        self.n = int(math.ceil((end + 2.0 * step - self.t0) / step)) + 1
        self.times = self.t0 + step * np.arange(self.n, dtype=np.float64)
        self.t_last = float(self.times[-1])

    def locate(self, unix_s, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Times -> (contiguous times u, left node index i, fraction f in [0, 1])."""
        u = np.ascontiguousarray(np.atleast_1d(np.asarray(unix_s, dtype=np.float64)))
        if u.ndim != 1:
            raise ValueError("unix_s must be a scalar or a 1-D array")
        if u.size:
            if not np.all(np.isfinite(u)):
                raise ValueError("unix_s must be finite")
            lo, hi = float(u.min()), float(u.max())
            if lo < self.t0 or hi > self.t_last:
                raise ValueError(f"times [{lo}, {hi}] outside the {what} grid [{self.t0}, {self.t_last}]")
        x = (u - self.t0) / self.step
        i = np.minimum(np.floor(x), self.n - 2).astype(np.intp)
        f = x - i
        return u, i, f


class GridSampled:
    """For tables sampled from a ``TimeGrid`` held in ``self._grid``."""

    _grid: TimeGrid

    @property
    def n_points(self) -> int:
        return self._grid.n

    @property
    def valid_range_unix_s(self) -> tuple[float, float]:
        """Closed interval of times that ``sample`` accepts."""
        return self._grid.t0, self._grid.t_last
