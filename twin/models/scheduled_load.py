"""A module whose power demand is given by the scenario (day and night levels).

This is how communications, research, ISRU and astronomy take part until their own models land:
they draw the scenario's power in their load class from their landing date, and run only while
the power-management unit keeps their class switched on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from twin.models.base import Advance, LoadClass, Model, Window
from twin.models.params import Deployed


class ScheduledLoadParams(Deployed):
    power_w: float = Field(ge=0, description="demand while the Sun is up")
    night_power_w: float | None = Field(default=None, ge=0, description="demand while the Sun is down (default: power_w)")


@dataclass(frozen=True)
class ScheduledLoadState:
    energy_mj: int  # energy received since the start of the run
    powered_steps: int
    shed_steps: int


class ScheduledLoadModel(Model):
    stage = 0
    environment = ("sun_visible_frac",)

    def __init__(self, name: str, params: ScheduledLoadParams, clock, seed: int, load_class: LoadClass):
        super().__init__(name, params, clock, seed)
        self._load_class = load_class
        self.kind = name

    @property
    def load_class(self) -> LoadClass:
        return self._load_class

    def initial_state(self) -> ScheduledLoadState:
        return ScheduledLoadState(0, 0, 0)

    def request_w(self, t: np.ndarray, env) -> np.ndarray:
        p = self.params
        night = p.power_w if p.night_power_w is None else p.night_power_w
        light = env["sun_visible_frac"]
        demand = night + (p.power_w - night) * light
        return np.where(t >= p.deployed_unix_s, demand, 0.0)

    def advance(self, state: ScheduledLoadState, window: Window, env, inputs, assumed) -> Advance:
        t = window.times()
        request = self.request_w(t, env)
        on = assumed[self.load_class - 1]
        power = np.where(on, request, 0.0)
        demanding = request > 0
        step_s = self.clock.step_s
        end = ScheduledLoadState(
            energy_mj=state.energy_mj + int(np.rint(power * (step_s * 1000.0)).astype(np.int64).sum()),
            powered_steps=state.powered_steps + int((demanding & on).sum()),
            shed_steps=state.shed_steps + int((demanding & ~on).sum()),
        )
        telemetry = {
            "requested_w": request,
            "power_w": power,
            "powered_frac": on.astype(np.float64),
        }
        return Advance({f"power_request_w/{self.load_class.key}": request}, telemetry, end)

    def variables(self, state: ScheduledLoadState) -> dict[str, float]:
        return {
            "energy_kwh": state.energy_mj / 3.6e9,
            "powered_hours": state.powered_steps * self.clock.step_s / 3600.0,
            "shed_hours": state.shed_steps * self.clock.step_s / 3600.0,
        }
