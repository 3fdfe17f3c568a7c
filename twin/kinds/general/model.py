"""A module whose power demand and data are given by the scenario (ILRS-4, general technologies).

It draws the scenario's power (day and night levels) in its load class from its landing date,
runs only while the power-management unit keeps that class on, and while running produces data
at a fixed rate, counted in whole bytes (the running total is exact however windows split).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from twin.loads import LoadClass
from twin.kinds.general.columns import COLUMNS
from twin.model import Advance, Model, Window
from twin.params import LONGEST_RUN_S, MAX_DATA_RATE_BPS, MAX_POWER_W, MILLIJOULES_PER_KWH, Deployed
from twin.ports import DATA, HEAT, OPERABLE, POWER, POWERED


class GeneralParams(Deployed):
    power_w: float = Field(ge=0, le=MAX_POWER_W, description="demand while the Sun is up")
    night_power_w: float | None = Field(default=None, ge=0, le=MAX_POWER_W, description="demand while the Sun is down (default: power_w)")
    data_rate_bps: float = Field(default=0.0, ge=0, le=MAX_DATA_RATE_BPS, description="data produced while running")
    load_class: Literal["communications", "science", "isru"] = Field(default="science", description="load class the power-management unit switches it in")

    def peak_power_w(self) -> float:
        return max(self.power_w, self.power_w if self.night_power_w is None else self.night_power_w)

    def data_bytes_bound(self) -> float:
        return self.data_rate_bps / 8.0 * LONGEST_RUN_S


@dataclass(frozen=True)
class GeneralState:
    energy_mj: int  # energy received since the start of the run
    powered_steps: int  # steps run with demand (data is produced on these)
    shed_steps: int


class GeneralModel(Model):
    kind = "general"
    summary = "ILRS-4 general technologies: a scenario-given load (day and night power) and data rate"
    Params = GeneralParams
    ports = (POWER, POWERED, DATA, HEAT, OPERABLE)
    environment = ("sun_visible_frac",)
    state_types = (GeneralState,)
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.general_pb2:GeneralState"

    @property
    def load_class(self) -> LoadClass:
        return LoadClass[self.params.load_class.upper()]

    def initial_state(self) -> GeneralState:
        return GeneralState(0, 0, 0)

    def fill_state_message(self, message, state, variables) -> None:
        super().fill_state_message(message, state, variables)
        message.load_class = int(self.load_class)

    def request_w(self, t: np.ndarray, env) -> np.ndarray:
        p = self.params
        night = p.power_w if p.night_power_w is None else p.night_power_w
        light = env["sun_visible_frac"]
        demand = night + (p.power_w - night) * light
        return np.where(t >= p.deployed_unix_s, demand, 0.0)

    def data_bytes(self, steps_before: int, running: np.ndarray) -> np.ndarray:
        """Whole bytes per step: differences of floor(running seconds x rate / 8)."""
        counted = steps_before + np.cumsum(running, dtype=np.int64)
        total = np.floor(counted * (self.clock.step_s * self.params.data_rate_bps / 8.0)).astype(np.int64)
        before = np.floor(steps_before * (self.clock.step_s * self.params.data_rate_bps / 8.0)).astype(np.int64)
        return np.diff(total, prepend=before)

    def advance(self, state: GeneralState, window: Window, env, inputs, rng) -> Advance:
        t = window.times()
        on = self.powered(inputs, window.steps)
        request = np.where(self.operable(inputs, window.steps), self.request_w(t, env), 0.0)
        power = np.where(on, request, 0.0)
        running = (request > 0) & on
        data = self.data_bytes(state.powered_steps, running)
        step_s = self.clock.step_s
        end = GeneralState(
            energy_mj=state.energy_mj + int(np.rint(power * (step_s * 1000.0)).astype(np.int64).sum()),
            powered_steps=state.powered_steps + int(running.sum()),
            shed_steps=state.shed_steps + int(((request > 0) & ~on).sum()),
        )
        telemetry = {
            "requested_w": request,
            "power_w": power,
            "powered_frac": on.astype(np.float64),
            "data_produced_bytes": data,
        }
        outputs = {**self.power_and_heat(request, on), "data": data}
        return Advance(outputs, telemetry, end)

    def variables(self, state: GeneralState) -> dict[str, float]:
        return {
            "energy_kwh": state.energy_mj / MILLIJOULES_PER_KWH,
            "powered_hours": state.powered_steps * self.clock.step_s / 3600.0,
            "shed_hours": state.shed_steps * self.clock.step_s / 3600.0,
            "data_produced_bytes": float(self.data_bytes(0, np.array([state.powered_steps]))[0]) if state.powered_steps else 0.0,
        }
