"""Everything a station's models read about the sky, built once per run from the scenario."""
from __future__ import annotations

import numpy as np

from twin.environment.links import EarthStationsGrid, LinkGeometry, RelayOrbit
from twin.environment.sky import HorizonMask, SkyGrid


class StationEnvironment:
    """The site's sky plus, when the station has communications, its links: ground stations'
    view of the Moon and each relay's geometry. ``sample`` merges their columns."""

    def __init__(self, scenario):
        lat, lon = scenario.site.location
        clock = scenario.clock
        start, end = clock.start_unix_s, clock.end_unix_s
        mask = HorizonMask(scenario.site.horizon_mask) if scenario.site.horizon_mask else None
        self.parts = [SkyGrid(lat, lon, start, end, horizon=mask)]
        comms = scenario.modules.communications
        if comms is not None:
            stations = [(s.latitude_deg, s.longitude_deg, s.min_elevation_deg) for s in comms.ground_stations]
            self.parts.append(EarthStationsGrid(stations, start, end))
            if comms.relays:
                relays = [
                    RelayOrbit.from_altitudes(
                        r.periapsis_altitude_km, r.apoapsis_altitude_km, r.inclination_deg, raan_deg=r.raan_deg,
                        arg_periapsis_deg=r.arg_periapsis_deg, mean_anomaly_deg=r.mean_anomaly_deg,
                        epoch_unix_s=float(r.epoch.timestamp()),
                    )
                    for r in comms.relays
                ]
                self.parts.append(LinkGeometry(lat, lon, relays, start, end, horizon=mask))

    def sample(self, unix_s: np.ndarray) -> dict[str, np.ndarray]:
        merged: dict[str, np.ndarray] = {}
        for part in self.parts:
            merged.update(part.sample(unix_s))
        return merged
