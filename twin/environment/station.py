"""Everything a station's models read about the sky, built once per run from the scenario.

The site's sky (Sun and Earth) is shared by every instance; an instance may add sources of its
own (communications: ground stations' and relays' geometry). Hosts sample only the columns their
model reads, where the model runs: in the Ray runtime the grids travel once per run through
Ray's object store, never per window. Sampling is elementwise, so every runtime and every window
split gives bit-identical columns.
"""
from __future__ import annotations

import numpy as np

from twin.environment.sky import SAMPLE_KEYS, HorizonMask, SkyGrid


class StationEnvironment:
    def __init__(self, scenario, models):
        lat, lon = scenario.site.location
        clock = scenario.clock
        start, end = clock.start_unix_s, clock.end_unix_s
        mask = HorizonMask(scenario.site.horizon_mask) if scenario.site.horizon_mask else None
        self.sky = SkyGrid(lat, lon, start, end, horizon=mask)
        self.own = {
            id: model.environment_sources(scenario.site, start, end)
            for id, model in models.items()
            if hasattr(model, "environment_sources")
        }
        self._memo: tuple[tuple[int, int], dict[str, np.ndarray]] | None = None

    def __getstate__(self):
        return {**self.__dict__, "_memo": None}

    def _sky(self, start_step: int, times: np.ndarray, keys) -> dict[str, np.ndarray]:
        # Instances in one process share a window's sky (the local runtime samples it once), and
        # only the columns someone reads are computed (an actor computes its own).
        key = (start_step, len(times))
        if self._memo is None or self._memo[0] != key:
            self._memo = (key, {})
        columns = self._memo[1]
        missing = [k for k in keys if k in SAMPLE_KEYS and k not in columns]
        if missing:
            columns.update(self.sky.sample(times, missing))
        return columns

    def sample(self, id: str, start_step: int, times: np.ndarray, keys) -> dict[str, np.ndarray]:
        merged = dict(self._sky(start_step, times, keys))
        for source in self.own.get(id, ()):
            merged.update(source.sample(times))
        missing = [k for k in keys if k not in merged]
        if missing:
            raise KeyError(f"{id}: no environment column {', '.join(missing)} (known: {', '.join(sorted(merged))})")
        return {k: merged[k] for k in keys}

    def for_instance(self, id: str) -> "InstanceEnvironment":
        return InstanceEnvironment(self, id)


class InstanceEnvironment:
    """One instance's view: ``sample(start_step, times, keys)``."""

    def __init__(self, station: StationEnvironment, id: str):
        self.station, self.id = station, id

    def sample(self, start_step: int, times: np.ndarray, keys) -> dict[str, np.ndarray]:
        return self.station.sample(self.id, start_step, times, keys)
