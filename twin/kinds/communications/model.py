"""ILRS-1, communication half: direct-to-Earth and relay links, and the onboard data store.

A link carries data when it exists at that step (direct: the Earth above the site's horizon mask
and a ground station seeing the Moon; relay: the orbiter above the mask, the Earth not hidden by
the Moon from it, and a ground station seeing the Moon) and the communications class is powered.
The fastest available link is used. Data from the other modules arrives in the store; the downlink
drains it in priority order and, when it is full, the lowest-priority data (stored or arriving) is
lost first, and counted. All data is counted in integer bytes, so produced = downlinked + stored + lost
holds exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from pydantic import Field, field_validator, model_validator

from twin.clock import parse_utc
from twin.commands import NO_FAULTS, Faults, fault_variables
from twin.environment import links
from twin.kinds.communications.store import priority_store
from twin.loads import LoadClass
from twin.kinds.communications.columns import COLUMNS, lost_by_source
from twin.model import Advance, Column, Model, Window
from twin.params import MAX_DATA_RATE_BPS, MAX_ITEMS, MAX_POWER_W, Deployed, Params, within_ephemeris
from twin.ports import HEAT, OPERABLE, POWER, POWERED, Port

SPEED_OF_LIGHT_KM_S = 299_792.458
DEFAULT_KIND_ORDER = ("astronomy", "research", "general")
# Orbits inside the Moon's Hill sphere (about 61,500 km): farther, the Earth takes the relay away.
MAX_ALTITUDE_KM = 60_000.0


class GroundStation(Params):
    name: str = Field(description="station name")
    latitude_deg: float = Field(ge=-90, le=90, description="geodetic latitude")
    longitude_deg: float = Field(ge=-180, le=360, description="east longitude")
    min_elevation_deg: float = Field(default=10.0, ge=-5, le=90, description="lowest elevation of the Moon at which the station tracks it [U]")


# The Chinese deep-space stations and the Russian ones (twin.environment.links.GROUND_STATIONS).
DEFAULT_STATIONS = tuple(GroundStation(name=name, latitude_deg=lat, longitude_deg=lon) for name, (lat, lon) in links.GROUND_STATIONS.items())


class Relay(Params):
    # Queqiao-2 (2024): 24 h elliptical frozen orbit, 200 x 16,000 km, i = 62.4 deg; Ka to Earth
    # about 100 Mbps, S band up to 6 Mbps (docs/references.md, Communications). Apolune over the
    # south: periapsis argument 90 deg. Elements are relative to the Moon's mean equator frozen at
    # the epoch.
    name: str = Field(default="queqiao-2", description="relay name")
    periapsis_altitude_km: float = Field(default=links.QUEQIAO2_PERIAPSIS_ALTITUDE_KM, ge=1, le=MAX_ALTITUDE_KM, description="periapsis altitude above the mean radius (1737.4 km)",
                                         json_schema_extra={"source": "Queqiao-2: 200 x 16,000 km frozen orbit [S]"})
    apoapsis_altitude_km: float = Field(default=links.QUEQIAO2_APOAPSIS_ALTITUDE_KM, gt=0, le=MAX_ALTITUDE_KM, description="apoapsis altitude above the mean radius (1737.4 km)",
                                        json_schema_extra={"source": "Queqiao-2: 200 x 16,000 km frozen orbit [S]"})
    inclination_deg: float = Field(default=links.QUEQIAO2_INCLINATION_DEG, ge=0, le=180, description="inclination to the Moon's mean equator",
                                   json_schema_extra={"source": "Queqiao-2: i = 62.4 deg [S]"})
    raan_deg: float = Field(default=0.0, ge=0, lt=360, description="right ascension of the ascending node, in the mean-equator frame at the epoch")
    arg_periapsis_deg: float = Field(default=90.0, ge=0, lt=360, description="argument of periapsis; 90 puts apolune over the south")
    mean_anomaly_deg: float = Field(default=0.0, ge=0, lt=360, description="mean anomaly at the epoch")
    epoch: datetime = Field(default=parse_utc("2024-04-01T00:00:00Z"), description="epoch of the elements (UTC), within the ephemeris (1900-2050)")
    surface_rate_bps: float = Field(default=6e6, gt=0, le=MAX_DATA_RATE_BPS, description="data rate, site to relay",
                                    json_schema_extra={"source": "Queqiao-2: S band up to 6 Mbps [S]"})
    earth_rate_bps: float = Field(default=100e6, gt=0, le=MAX_DATA_RATE_BPS, description="data rate, relay to Earth",
                                  json_schema_extra={"source": "Queqiao-2: Ka to Earth about 100 Mbps [S]"})

    _utc = field_validator("epoch", mode="before")(lambda value: parse_utc(value))
    _covered = field_validator("epoch")(lambda value: within_ephemeris(value))

    @model_validator(mode="after")
    def _apsides(self) -> "Relay":
        if self.apoapsis_altitude_km < self.periapsis_altitude_km:
            raise ValueError("apoapsis_altitude_km must not be below periapsis_altitude_km")
        return self


class CommunicationsParams(Deployed):
    # Direct-to-Earth rate from the surface: an assumption [U] (LRO's Ka link reached 100 Mbps to
    # an 18 m dish; Queqiao-1's X band to a lander 1.4-555 kbps; docs/references.md, Communications).
    dte_rate_bps: float = Field(default=20e6, gt=0, le=MAX_DATA_RATE_BPS, description="direct-to-Earth data rate from the surface [U]")
    ground_stations: tuple[GroundStation, ...] = Field(default=DEFAULT_STATIONS, max_length=MAX_ITEMS, description="ground stations (name, latitude_deg, longitude_deg, min_elevation_deg); default: Kashi, Jiamusi, Neuquen, Bear Lakes, Ussuriysk",
                                                       json_schema_extra={"source": "Chinese and Russian deep-space stations [S], coordinates approximate [U]"})
    relays: tuple[Relay, ...] = Field(default=(Relay(),), max_length=MAX_ITEMS, description="relay orbiters (name, orbital elements, surface_rate_bps, earth_rate_bps); default: one Queqiao-2-like relay")
    store_capacity_bytes: int = Field(default=2_000_000_000_000, ge=0, le=2**62, description="onboard store [U]")
    # Downlink order of the data sources (instance ids). Sources not listed follow by kind
    # (DEFAULT_KIND_ORDER: observations first, as they cannot be repeated), then by id.
    priority: tuple[str, ...] = Field(default=(), max_length=1000, description="instance ids, highest downlink priority first; unlisted sources follow by kind (astronomy, research, general, others), then id")
    standby_w: float = Field(default=80.0, ge=0, le=MAX_POWER_W, description="receivers and avionics [U]")
    antenna_height_m: float = Field(default=3.0, ge=0, le=1000, description="height of the antennas above the ground: the Earth's and the relays' visibility use the horizon there when the site has an elevation model [U]",
                                    json_schema_extra={"unit": "m"})
    transmit_w: float = Field(default=250.0, ge=0, le=MAX_POWER_W, description="extra while a link is up [U]")

    @field_validator("ground_stations")
    @classmethod
    def _stations(cls, stations):
        if not stations:
            raise ValueError("give at least one ground station")
        return stations

    def peak_power_w(self) -> float:
        return self.standby_w + self.transmit_w

    def data_bytes_bound(self) -> float:
        return 0.0  # it stores and sends what the others produce

    def check_station(self, id: str, scenario) -> None:
        unknown = [name for name in self.priority if name not in scenario.modules or name == id]
        if unknown:
            raise ValueError(f"priority: {', '.join(unknown)} is not a data source of this station; instances: {', '.join(i for i in scenario.modules if i != id)}")


@dataclass(frozen=True)
class CommunicationsState:
    backlog_bytes: tuple[tuple[str, int], ...]  # per source, in priority order of first arrival
    received_bytes: int
    downlinked_bytes: int
    lost_bytes: int
    dte_steps: int
    relay_steps: int
    lost_bytes_by_source: tuple[tuple[str, int], ...] = ()  # per source, in priority order; sums to lost_bytes
    faults: Faults = NO_FAULTS  # commanded (twin/commands.py): dte, relay

    @property
    def stored_bytes(self) -> int:
        return sum(b for _, b in self.backlog_bytes)


class CommunicationsModel(Model):
    kind = "communications"
    summary = "ILRS-1 communication: direct-to-Earth and relay links, a priority data store"
    Params = CommunicationsParams
    ports = (
        Port("data", "data", "bytes per step", "in", "data from the station's instruments and facilities, per source"),
        POWER,
        POWERED,
        HEAT,
        OPERABLE,
    )
    state_types = (CommunicationsState, Faults)
    fault_components = {
        "dte": ("the direct-to-Earth link carries this fraction of its rate (fail: an outage)", ("fail", "degrade")),
        "relay": ("every relay link carries this fraction of its rate (fail: an outage)", ("fail", "degrade")),
    }
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.communications_pb2:CommunicationsState"

    def __init__(self, id: str, params: CommunicationsParams, clock, seed: int):
        super().__init__(id, params, clock, seed)
        relays = [f"relay{i}_{key}" for i in range(len(params.relays)) for key in ("visible", "range_km", "earth_visible", "earth_range_km")]
        self.environment = ("earth_visible", "earth_distance_km", "dte_station_visible", *relays)

    @property
    def horizon_height_m(self) -> float:
        return self.params.antenna_height_m

    def environment_sources(self, site, start_unix_s: int, end_unix_s: int, horizon) -> list:
        """The link geometry this instance reads: ground stations' view of the Moon and each relay's
        (above ``horizon``, the antennas' own)."""
        p = self.params
        stations = [(s.latitude_deg, s.longitude_deg, s.min_elevation_deg) for s in p.ground_stations]
        sources = [links.EarthStationsGrid(stations, start_unix_s, end_unix_s)]
        if p.relays:
            orbits = [
                links.RelayOrbit.from_altitudes(
                    r.periapsis_altitude_km, r.apoapsis_altitude_km, r.inclination_deg, raan_deg=r.raan_deg,
                    arg_periapsis_deg=r.arg_periapsis_deg, mean_anomaly_deg=r.mean_anomaly_deg,
                    epoch_unix_s=float(r.epoch.timestamp()),
                )
                for r in p.relays
            ]
            lat, lon = site.location
            sources.append(links.LinkGeometry(lat, lon, orbits, start_unix_s, end_unix_s, horizon=horizon))
        return sources

    @property
    def load_class(self) -> LoadClass:
        return LoadClass.COMMUNICATIONS

    def initial_state(self) -> CommunicationsState:
        return CommunicationsState((), 0, 0, 0, 0, 0)

    def _order(self, sources) -> list[str]:
        rank = {name: i for i, name in enumerate(self.params.priority)}
        kinds = {r.source: r.attribute("kind") for r in self.inputs_of("data")}
        by_kind = {kind: i for i, kind in enumerate(DEFAULT_KIND_ORDER)}
        return sorted(sources, key=lambda s: (rank.get(s, len(rank)), by_kind.get(kinds.get(s), len(by_kind)), s))

    def links(self, t: np.ndarray, env, faults: Faults = NO_FAULTS) -> dict[str, np.ndarray]:
        """Each step's link geometry (dte, relay: in view) and the best rate a working link gives."""
        p = self.params
        ground = env["dte_station_visible"] > 0
        dte = (env["earth_visible"] > 0) & ground
        dte_level, relay_level = faults.level("dte"), faults.level("relay")
        rate = np.where(dte, p.dte_rate_bps * dte_level, 0.0)
        light = env["earth_distance_km"] / SPEED_OF_LIGHT_KM_S
        any_relay = np.zeros(len(t), dtype=bool)
        for i, relay in enumerate(p.relays):
            up = (env[f"relay{i}_visible"] > 0) & (env[f"relay{i}_earth_visible"] > 0) & ground
            relay_rate = min(relay.surface_rate_bps, relay.earth_rate_bps) * relay_level
            better = up & (relay_rate > rate)
            rate = np.where(better, relay_rate, rate)
            light = np.where(better, (env[f"relay{i}_range_km"] + env[f"relay{i}_earth_range_km"]) / SPEED_OF_LIGHT_KM_S, light)
            any_relay |= up
        landed = t >= p.deployed_unix_s
        return {"dte": dte & landed, "relay": any_relay & landed, "rate_bps": np.where(landed, rate, 0.0), "light_time_s": light}

    def advance(self, state: CommunicationsState, window: Window, env, inputs, rng) -> Advance:
        p = self.params
        n = window.steps
        t = window.times()
        link = self.links(t, env, state.faults)
        landed = t >= p.deployed_unix_s
        up = link["rate_bps"] > 0
        request = np.where(landed & self.operable(inputs, n), p.standby_w + p.transmit_w * up, 0.0)
        powered = self.powered(inputs, n)
        capacity = np.where(powered, np.floor(link["rate_bps"] * (self.clock.step_s / 8.0)), 0).astype(np.int64)

        backlog = dict(state.backlog_bytes)
        arrivals = {}
        for route in self.inputs_of("data"):
            arrivals[route.source] = arrivals.get(route.source, 0) + np.asarray(inputs[route.in_key], dtype=np.int64)
        order = self._order(set(backlog) | set(arrivals))
        incoming = [arrivals.get(s, np.zeros(n, dtype=np.int64)) for s in order]
        total_in = np.sum(incoming, axis=0) if incoming else np.zeros(n, dtype=np.int64)
        # No store before landing: whatever arrives then is lost, and counted.
        space = np.where(landed, p.store_capacity_bytes, 0)
        levels, served, dropped = priority_store([backlog.get(s, 0) for s in order], incoming, capacity, space)
        zeros = np.zeros(n, dtype=np.int64)
        downlinked = np.sum(served, axis=0) if served else zeros
        lost = np.sum(dropped, axis=0) if dropped else zeros
        stored = np.sum(levels, axis=0) if levels else zeros

        end = CommunicationsState(
            backlog_bytes=tuple((s, int(level[-1]) if n else backlog.get(s, 0)) for s, level in zip(order, levels)),
            received_bytes=state.received_bytes + int(total_in.sum()),
            downlinked_bytes=state.downlinked_bytes + int(downlinked.sum()),
            lost_bytes=state.lost_bytes + int(lost.sum()),
            dte_steps=state.dte_steps + int(link["dte"].sum()),
            relay_steps=state.relay_steps + int(link["relay"].sum()),
            lost_bytes_by_source=self._lost_by_source(state, order, dropped),
            faults=state.faults,
        )
        telemetry = {
            "dte_visible_frac": link["dte"].astype(np.float64),
            "relay_visible_frac": link["relay"].astype(np.float64),
            "link_rate_bps": np.where(powered, link["rate_bps"], 0.0),
            "light_time_s": link["light_time_s"],
            "received_bytes": total_in,
            "downlinked_bytes": downlinked,
            "stored_bytes": stored,
            "lost_bytes": lost,
            "requested_w": request,
            "power_w": np.where(powered, request, 0.0),
        }
        dropped_by = dict(zip(order, dropped))
        for source in self._sources():
            telemetry[lost_by_source(source)[0]] = dropped_by.get(source, zeros)
        return Advance(self.power_and_heat(request, powered), telemetry, end)

    def _sources(self) -> list[str]:
        """The instances whose data arrives here, by id (one loss column and variable each)."""
        return sorted({r.source for r in self.inputs_of("data")})

    @staticmethod
    def _lost_by_source(state: CommunicationsState, order: list[str], dropped: list[np.ndarray]) -> tuple[tuple[str, int], ...]:
        before = dict(state.lost_bytes_by_source)
        now = tuple((s, before.get(s, 0) + int(d.sum())) for s, d in zip(order, dropped))
        return now + tuple((s, b) for s, b in state.lost_bytes_by_source if s not in order)

    def columns(self) -> dict[str, Column]:
        out = super().columns()
        for source in self._sources():
            name, column = lost_by_source(source)
            out[name] = column
        return out

    def variables(self, state: CommunicationsState) -> dict[str, float]:
        hours = self.clock.step_s / 3600.0
        out = {
            "received_bytes": float(state.received_bytes),
            "downlinked_bytes": float(state.downlinked_bytes),
            "lost_bytes": float(state.lost_bytes),
            "stored_bytes": float(state.stored_bytes),
            "dte_hours": state.dte_steps * hours,
            "relay_hours": state.relay_steps * hours,
        }
        lost = dict(state.lost_bytes_by_source)
        for source in [*self._sources(), *(s for s in lost if s not in self._sources())]:
            out[lost_by_source(source)[0]] = float(lost.get(source, 0))
        return out | fault_variables(self, state.faults)
