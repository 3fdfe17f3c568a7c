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
from twin.models.base import Advance, LoadClass, Model, Window
from twin.models.params import Deployed, Params
from twin.models.store import priority_store

SPEED_OF_LIGHT_KM_S = 299_792.458


class GroundStation(Params):
    name: str
    latitude_deg: float = Field(ge=-90, le=90)
    longitude_deg: float = Field(ge=-180, le=360)
    min_elevation_deg: float = Field(default=10.0, ge=-5, le=90, description="assumption [U]")


# REFERENCE.md, Communications: Chinese deep-space stations and the Russian ones (coordinates approximate [U]).
DEFAULT_STATIONS = (
    GroundStation(name="kashi", latitude_deg=39.5, longitude_deg=76.0),
    GroundStation(name="jiamusi", latitude_deg=46.5, longitude_deg=130.8),
    GroundStation(name="neuquen", latitude_deg=-38.2, longitude_deg=-70.1),
    GroundStation(name="bear-lakes", latitude_deg=55.9, longitude_deg=37.9),
    GroundStation(name="ussuriysk", latitude_deg=44.0, longitude_deg=131.8),
)


class Relay(Params):
    # Queqiao-2 (2024): 24 h elliptical frozen orbit, 200 x 16,000 km, i = 62.4 deg; Ka to Earth
    # about 100 Mbps, S band up to 6 Mbps (REFERENCE.md). Apolune over the south: periapsis
    # argument 90 deg. Elements are relative to the Moon's mean equator frozen at the epoch.
    name: str = "queqiao-2"
    periapsis_altitude_km: float = Field(default=200.0, gt=0)
    apoapsis_altitude_km: float = Field(default=16_000.0, gt=0)
    inclination_deg: float = Field(default=62.4, ge=0, le=180)
    raan_deg: float = Field(default=0.0, ge=0, lt=360)
    arg_periapsis_deg: float = Field(default=90.0, ge=0, lt=360)
    mean_anomaly_deg: float = Field(default=0.0, ge=0, lt=360)
    epoch: datetime = parse_utc("2024-04-01T00:00:00Z")
    surface_rate_bps: float = Field(default=6e6, gt=0, le=1e12, description="site to relay")
    earth_rate_bps: float = Field(default=100e6, gt=0, le=1e12, description="relay to Earth")

    _utc = field_validator("epoch", mode="before")(lambda value: parse_utc(value))

    @model_validator(mode="after")
    def _apsides(self) -> "Relay":
        if self.apoapsis_altitude_km < self.periapsis_altitude_km:
            raise ValueError("apoapsis_altitude_km must not be below periapsis_altitude_km")
        return self


class CommunicationsParams(Deployed):
    # Direct-to-Earth rate from the surface: an assumption [U] (LRO's Ka link reached 100 Mbps to
    # an 18 m dish; Queqiao-1's X band to a lander 1.4-555 kbps; REFERENCE.md).
    dte_rate_bps: float = Field(default=20e6, gt=0, le=1e12)
    ground_stations: tuple[GroundStation, ...] = DEFAULT_STATIONS
    relays: tuple[Relay, ...] = (Relay(),)
    store_capacity_bytes: int = Field(default=2_000_000_000_000, ge=0, le=2**62, description="onboard store [U]")
    # Downlink order of the sources; sources not listed follow in name order.
    priority: tuple[str, ...] = ("astronomy", "research", "general", "robotics")
    standby_w: float = Field(default=80.0, ge=0, description="receivers and avionics [U]")
    transmit_w: float = Field(default=250.0, ge=0, description="extra while a link is up [U]")

    @field_validator("ground_stations")
    @classmethod
    def _stations(cls, stations):
        if not stations:
            raise ValueError("give at least one ground station")
        return stations


@dataclass(frozen=True)
class CommunicationsState:
    backlog_bytes: tuple[tuple[str, int], ...]  # per source, in priority order of first arrival
    received_bytes: int
    downlinked_bytes: int
    lost_bytes: int
    dte_steps: int
    relay_steps: int

    @property
    def stored_bytes(self) -> int:
        return sum(b for _, b in self.backlog_bytes)


class CommunicationsModel(Model):
    kind = "communications"
    stage = 1  # after the modules whose data it carries, before energy
    consumes = ("data_bytes",)

    def __init__(self, name: str, params: CommunicationsParams, clock, seed: int):
        super().__init__(name, params, clock, seed)
        relays = [f"relay{i}_{key}" for i in range(len(params.relays)) for key in ("visible", "range_km", "earth_visible", "earth_range_km")]
        self.environment = ("earth_visible", "earth_distance_km", "dte_station_visible", *relays)

    @property
    def load_class(self) -> LoadClass:
        return LoadClass.COMMUNICATIONS

    def initial_state(self) -> CommunicationsState:
        return CommunicationsState((), 0, 0, 0, 0, 0)

    def _order(self, sources) -> list[str]:
        rank = {name: i for i, name in enumerate(self.params.priority)}
        return sorted(sources, key=lambda s: (rank.get(s, len(rank)), s))

    def links(self, t: np.ndarray, env) -> dict[str, np.ndarray]:
        p = self.params
        ground = env["dte_station_visible"] > 0
        dte = (env["earth_visible"] > 0) & ground
        rate = np.where(dte, p.dte_rate_bps, 0.0)
        light = env["earth_distance_km"] / SPEED_OF_LIGHT_KM_S
        any_relay = np.zeros(len(t), dtype=bool)
        for i, relay in enumerate(p.relays):
            up = (env[f"relay{i}_visible"] > 0) & (env[f"relay{i}_earth_visible"] > 0) & ground
            relay_rate = min(relay.surface_rate_bps, relay.earth_rate_bps)
            better = up & (relay_rate > rate)
            rate = np.where(better, relay_rate, rate)
            light = np.where(better, (env[f"relay{i}_range_km"] + env[f"relay{i}_earth_range_km"]) / SPEED_OF_LIGHT_KM_S, light)
            any_relay |= up
        landed = t >= p.deployed_unix_s
        return {"dte": dte & landed, "relay": any_relay & landed, "rate_bps": np.where(landed, rate, 0.0), "light_time_s": light}

    def advance(self, state: CommunicationsState, window: Window, env, inputs, assumed) -> Advance:
        p = self.params
        n = window.steps
        t = window.times()
        link = self.links(t, env)
        landed = t >= p.deployed_unix_s
        up = link["rate_bps"] > 0
        request = np.where(landed, p.standby_w + p.transmit_w * up, 0.0)
        powered = assumed[LoadClass.COMMUNICATIONS - 1]
        capacity = np.where(powered, np.floor(link["rate_bps"] * (self.clock.step_s / 8.0)), 0).astype(np.int64)

        backlog = dict(state.backlog_bytes)
        arrivals = {}
        for key in sorted(inputs):
            source = key.split("/", 1)[0]
            arrivals[source] = arrivals.get(source, 0) + np.asarray(inputs[key], dtype=np.int64)
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
        return Advance({"power_request_w/communications": request}, telemetry, end)

    def variables(self, state: CommunicationsState) -> dict[str, float]:
        hours = self.clock.step_s / 3600.0
        return {
            "received_bytes": float(state.received_bytes),
            "downlinked_bytes": float(state.downlinked_bytes),
            "lost_bytes": float(state.lost_bytes),
            "stored_bytes": float(state.stored_bytes),
            "dte_hours": state.dte_steps * hours,
            "relay_hours": state.relay_steps * hours,
        }
