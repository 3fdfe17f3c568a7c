"""A kind from outside the ilrs-twin package, registered only through its entry point.

A regolith hauler digs while its load class is powered, and every ``trip_h`` offers its bin to
the ISRU hopper. The hopper answers what it refused (a feedback reply); the hauler keeps that in
its bin and offers it again on the next trip, so dug = delivered + bin exactly (integer grams).
Its offer at step t depends only on its bin at the end of step t-1, as the model contract asks.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from pydantic import Field, field_validator

from twin.clock import parse_utc, unix_s
from twin.loads import LoadClass
from twin.model import Advance, Column, Model
from twin.params import Params
from twin.ports import POWER, POWERED, Port


class HaulerParams(Params):
    deployed: datetime
    dig_kg_per_h: float = Field(default=10.0, ge=0, le=1e4, description="regolith dug per powered hour")
    trip_h: float = Field(default=6.0, gt=0, le=1e4, description="time between deliveries")
    power_w: float = Field(default=400.0, ge=0, le=1e5, description="draw while deployed")

    _utc = field_validator("deployed", mode="before")(lambda v: parse_utc(v))


@dataclass(frozen=True)
class HaulerState:
    bin_g: int
    dug_g: int
    delivered_g: int
    refused_g: int


class HaulerModel(Model):
    kind = "hauler"
    summary = "test plug-in: digs regolith and hauls it to the ISRU hopper, keeping what is refused"
    Params = HaulerParams
    ports = (
        Port("regolith", "mass:regolith", "kg per step", "out", "the bin, offered on arrival", reply="regolith_refused", required=True),
        Port("regolith_refused", "mass:regolith", "kg per step", "in", "what the hopper refused", feedback=True, assume=0.0),
        POWER,
        POWERED,
    )
    state_types = (HaulerState,)
    telemetry_columns = {
        "offered_kg": Column("kg", "amount", "regolith offered to the hopper this step"),
        "refused_kg": Column("kg", "amount", "regolith the hopper refused this step (kept in the bin)"),
        "bin_kg": Column("kg", "level", "regolith in the bin at the end of the step"),
        "power_w": Column("W", "rate", "power drawn"),
    }

    @property
    def load_class(self) -> LoadClass:
        return LoadClass.ISRU

    def initial_state(self) -> HaulerState:
        return HaulerState(0, 0, 0, 0)

    def advance(self, state, window, env, inputs, rng) -> Advance:
        n, step_s = window.steps, self.clock.step_s
        t = window.times()
        idx = np.arange(window.start_step, window.start_step + n)
        deployed = t >= unix_s(self.params.deployed)
        trip = max(1, int(round(self.params.trip_h * 3600 / step_s)))
        arrives = deployed & (idx % trip == trip - 1)
        dig_g = int(round(self.params.dig_kg_per_h * step_s / 3.6))
        powered = self.powered(inputs, n)
        refused_route = self.inputs_of("regolith_refused")
        refused = np.rint(np.asarray(inputs[refused_route[0].in_key]) * 1000).astype(np.int64) if refused_route else np.zeros(n, np.int64)
        offer = np.zeros(n, np.int64)
        bin_g = np.zeros(n, np.int64)
        level, dug, delivered = state.bin_g, state.dug_g, state.delivered_g
        for i in range(n):
            offer[i] = level if arrives[i] else 0
            got = dig_g if (deployed[i] and powered[i]) else 0
            level = level - offer[i] + refused[i] + got
            dug += got
            delivered += offer[i] - refused[i]
            bin_g[i] = level
        request = np.where(deployed, self.params.power_w, 0.0)
        end = HaulerState(level, dug, delivered, state.refused_g + int(refused.sum()))
        telemetry = {"offered_kg": offer / 1000.0, "refused_kg": refused / 1000.0, "bin_kg": bin_g / 1000.0, "power_w": np.where(powered, request, 0.0)}
        return Advance({"regolith": offer / 1000.0, "power": request}, telemetry, end)

    def variables(self, state) -> dict[str, float]:
        return {"bin_kg": state.bin_g / 1000, "dug_kg": state.dug_g / 1000, "delivered_kg": state.delivered_g / 1000, "refused_kg": state.refused_g / 1000}
