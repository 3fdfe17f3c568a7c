"""Everything a station's models read about the sky, built once per run from the scenario.

The site's sky (Sun and Earth) is shared by every instance; what each instance sees of it depends
on its own horizon: with an elevation model (``[site] dem``, or a built-in site's synthetic
terrain) the horizon is computed at the
instance's height above the ground (an array's mast, an antenna, an instrument), otherwise it is
the site's ``horizon_mask`` (flat when none is given) for everyone. An instance may add sources of
its own (communications: ground stations' and relays' geometry). Hosts sample only the columns
their model reads, where the model runs: in the Ray runtime the grids travel once per run through
Ray's object store, never per window. Sampling is elementwise, so every runtime and every window
split gives bit-identical columns.
"""
from __future__ import annotations

import numpy as np

from twin.environment import morphometry, terrain
from twin.environment.sky import SAMPLE_KEYS, VISIBILITY_KEYS, HorizonMask, SkyGrid, geometry_keys


def elevation_model(site) -> terrain.ElevationModel | None:
    """The site's elevation model: its ``dem``, its built-in synthetic terrain, or none."""
    if site.dem:
        return terrain.load(site.dem, site.dem_spacing_m, site.location)
    if site.builtin_terrain:
        return morphometry.site_model(site.name, site.terrain_seed)
    return None


def site_horizons(site, heights: dict[str, float]) -> dict[str, HorizonMask]:
    """Each instance's horizon: computed from the site's elevation model at its height, or the
    site's own mask. Instances at one height share one mask."""
    model = elevation_model(site)
    if model is None:
        shared = HorizonMask(site.horizon_mask)
        return {id: shared for id in heights}
    lat, lon = site.location
    by_height = {h: terrain.horizon(model, lat, lon, h).mask() for h in sorted(set(heights.values()))}
    return {id: by_height[h] for id, h in heights.items()}


class StationEnvironment:
    def __init__(self, scenario, models):
        lat, lon = scenario.site.location
        clock = scenario.clock
        start, end = clock.start_unix_s, clock.end_unix_s
        self.horizons = site_horizons(scenario.site, {id: model.horizon_height_m for id, model in models.items()})
        distinct = list(dict.fromkeys(map(id, self.horizons.values())))
        self._mask_index = {name: distinct.index(id(mask)) for name, mask in self.horizons.items()}
        self.sky = SkyGrid(lat, lon, start, end, horizon=HorizonMask(scenario.site.horizon_mask))
        self.own = {
            id: model.environment_sources(scenario.site, start, end, self.horizons[id])
            for id, model in models.items()
            if hasattr(model, "environment_sources")
        }
        self._memo: tuple[tuple[int, int], dict, dict] | None = None

    def __getstate__(self):
        return {**self.__dict__, "_memo": None}

    def _sky(self, name: str, start_step: int, times: np.ndarray, keys) -> dict[str, np.ndarray]:
        # Instances in one process share a window's sky geometry (the local runtime samples it
        # once) and, per horizon, what is visible; only the columns someone reads are computed.
        key = (start_step, len(times))
        if self._memo is None or self._memo[0] != key:
            self._memo = (key, {}, {})
        geometry, visible = self._memo[1], self._memo[2]
        wanted = [k for k in keys if k in SAMPLE_KEYS]
        missing = geometry_keys(wanted) - set(geometry)
        if missing:
            geometry.update(self.sky.geometry(times, missing))
        # An instance the environment was not built for sees the site's own mask.
        mask = self.horizons.get(name, self.sky.horizon)
        seen = visible.setdefault(self._mask_index.get(name, -1), {})
        missing = [k for k in wanted if k in VISIBILITY_KEYS and k not in seen]
        if missing:
            seen.update(self.sky.visibility(geometry, missing, mask))
        return {k: (seen[k] if k in VISIBILITY_KEYS else geometry[k]) for k in wanted}

    def sample(self, id: str, start_step: int, times: np.ndarray, keys) -> dict[str, np.ndarray]:
        merged = self._sky(id, start_step, times, keys)
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
