"""Thermal control: every powered module is a lumped thermal mass kept warm by heaters.

Each module that dissipates heat into the station (its ``heat`` output: the power it draws) is an
enclosure with a heat capacity C and a conductance G to its surroundings, which are at the
temperature of the regolith surface around the station (``surface_temperature_k``, from the 1-D
conduction model in twin/environment/surface.py, so the heating follows the site and the
season). The thermal instance's heaters (survival class) hold each enclosure at ``min_temp_k``:

* Held (the survival class on, and the heater within ``heater_max_w``): the heater supplies what
  the module's own heat does not, ``G (T_min - T_env) - heat``, and the enclosure ends the step at
  T_min, or warmer when its own heat and a hot surface keep it so, up to ``max_temp_k``, where its
  radiators reject the rest (quasi-static: the thermostat's time constant is far shorter than a
  lunar day).
* Otherwise (survival shed, or the heater saturated) it relaxes exactly towards
  ``T_env + (heat + heater) / G`` with the time constant C / G, the heater giving what would bring
  it back to T_min within the step, at most ``heater_max_w``.
* Below ``survival_temp_k`` the module fails: from the next step it is offline (its ``operable``
  answer is 0, so it asks for no power and does not run) for ``repair_h``; it then comes back at
  T_min. Failures and failed hours are counted.

The request at a step depends only on the temperature at its start and the step's inputs, never
on the step's own switch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np
from pydantic import Field, field_validator, model_validator

from twin.kinds.thermal.columns import COLUMNS, enclosure_columns
from twin.loads import LoadClass
from twin.model import Advance, Column, Model, Window
from twin.params import MAX_POWER_W, MILLIJOULES_PER_KWH, Deployed, Strict, repeated_names
from twin.ports import POWER, POWERED, Port

MAX_ITEMS = 64


class Enclosure(Strict):
    # A module of a few hundred kilograms under multi-layer insulation: assumptions [U], to be set
    # per module. G: radiation through the blankets, an effective emittance of 0.01 over 10 m^2,
    # sigma e A (263^4 - 100^4) / 163 K = 0.16 W/K, plus about 0.35 W/K conducted through legs,
    # struts and harness; about 100 W through the night, as docs/references.md's survival example.
    heat_capacity_j_per_k: float = Field(default=4.5e5, gt=0, le=1e10, description="heat capacity (about 500 kg x 900 J/(kg K)) [U]", json_schema_extra={"unit": "J/K"})
    conductance_w_per_k: float = Field(default=0.5, gt=0, le=1e5, description="thermal conductance to the surroundings [U]", json_schema_extra={"unit": "W/K"})
    min_temp_k: float = Field(default=263.15, gt=0, le=400, description="the heaters keep it at or above this (-10 C) [U]", json_schema_extra={"unit": "K"})
    survival_temp_k: float = Field(default=233.15, gt=0, le=400, description="below this it fails (-40 C) [U]", json_schema_extra={"unit": "K"})
    heater_max_w: float = Field(default=2000.0, ge=0, le=MAX_POWER_W, description="heater power available for it [U]")
    # Louvred radiators reject what a module dissipates beyond what its insulation loses; their
    # capacity is not limited here.
    max_temp_k: float = Field(default=313.15, gt=0, le=500, description="the radiators keep it at or below this (+40 C) [U]", json_schema_extra={"unit": "K"})

    @model_validator(mode="after")
    def _order(self) -> "Enclosure":
        if self.survival_temp_k >= self.min_temp_k:
            raise ValueError("survival_temp_k must be below min_temp_k")
        if self.max_temp_k <= self.min_temp_k:
            raise ValueError("max_temp_k must be above min_temp_k")
        return self


class NamedEnclosure(Enclosure):
    id: str = Field(description="the module's instance id")


class ThermalParams(Deployed):
    default: Enclosure = Field(default_factory=Enclosure, description="every module not listed in enclosures")
    enclosures: tuple[NamedEnclosure, ...] = Field(default=(), max_length=MAX_ITEMS, description="per-module thermal figures (id, heat_capacity_j_per_k, conductance_w_per_k, min_temp_k, survival_temp_k, heater_max_w, max_temp_k)")
    repair_h: float = Field(default=720.0, ge=0, le=100_000, description="time a failed module stays offline (a spare and a visit) [U]")
    grid_step_h: float = Field(default=2.0, ge=0.25, le=24, description="step of the surface temperature model (interpolated to the micro steps)")

    @field_validator("enclosures")
    @classmethod
    def _unique(cls, enclosures):
        duplicates = repeated_names([e.id for e in enclosures])
        if duplicates:
            raise ValueError(f"enclosure ids must be unique: {', '.join(duplicates)} repeated")
        return enclosures

    def peak_power_w(self) -> float:
        return self.default.heater_max_w * MAX_ITEMS + sum(e.heater_max_w for e in self.enclosures)

    def data_bytes_bound(self) -> float:
        return 0.0

    def spec(self, id: str) -> Enclosure:
        for e in self.enclosures:
            if e.id == id:
                return e
        return self.default

    def check_station(self, id: str, scenario) -> None:
        unknown = [e.id for e in self.enclosures if e.id not in scenario.modules]
        if unknown:
            raise ValueError(f"enclosures: {', '.join(unknown)} is not an instance of this station")
        for other, instance in scenario.modules.items():
            if instance.kind == "energy":
                s = instance.params.survival
                if s.heater_day_w or s.heater_night_w:
                    raise ValueError(f"modules.{other}.survival: set heater_day_w and heater_night_w to 0 (now {s.heater_day_w:g} and {s.heater_night_w:g} W): "
                                     f"the thermal instance {id} heats the modules")


@dataclass(frozen=True)
class ThermalState:
    temperature_k: tuple[tuple[str, float], ...]  # per enclosure, at the end of the last step
    failed_left_steps: tuple[tuple[str, int], ...]  # steps still to be offline
    failures: tuple[tuple[str, int], ...]
    failed_steps: tuple[tuple[str, int], ...]
    min_temperature_k: tuple[tuple[str, float], ...]
    heater_mj: int
    shed_steps: int


class ThermalModel(Model):
    kind = "thermal"
    summary = "station thermal control: modules as lumped thermal masses, heaters (survival class), failures from the cold"
    Params = ThermalParams
    max_instances = 1
    ports = (
        Port("heat", "signal:heat", "W", "in", "heat each module dissipates (the power it draws), per module", reply="operable"),
        Port("operable", "signal:operable", "1", "out", "whether each module is operable (0 after it froze, until repaired)", feedback=True, addressed=True),
        POWER,
        POWERED,
    )
    environment = ("surface_temperature_k",)
    state_types = (ThermalState,)
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.thermal_pb2:ThermalState"

    @property
    def load_class(self) -> LoadClass:
        return LoadClass.SURVIVAL

    @property
    def enclosure_ids(self) -> list[str]:
        return [r.source for r in self.inputs_of("heat")]

    def columns(self) -> dict[str, Column]:
        out = super().columns()
        for id in self.enclosure_ids:
            out.update(enclosure_columns(id))
        return out

    def environment_sources(self, site, start_unix_s: int, end_unix_s: int, horizon) -> list:
        from twin.environment.surface import SurfaceTemperatureGrid

        lat, lon = site.location
        return [SurfaceTemperatureGrid(lat, lon, start_unix_s, end_unix_s, horizon, grid_step_s=self.params.grid_step_h * 3600.0)]

    def initial_state(self) -> ThermalState:
        ids = self.enclosure_ids
        return ThermalState(
            tuple((id, self.params.spec(id).min_temp_k) for id in ids), tuple((id, 0) for id in ids), tuple((id, 0) for id in ids),
            tuple((id, 0) for id in ids), tuple((id, self.params.spec(id).min_temp_k) for id in ids), 0, 0,
        )

    def advance(self, state: ThermalState, window: Window, env, inputs, rng) -> Advance:
        n = window.steps
        t = window.times()
        step_s = float(self.clock.step_s)
        deployed = t >= self.params.deployed_unix_s
        switch = self.powered(inputs, n)
        t_env = np.asarray(env["surface_temperature_k"], dtype=np.float64)
        repair = int(math.ceil(round(self.params.repair_h * 3600.0, 6) / step_s))
        temps, left, fails, failed_steps, lows = (dict(x) for x in (state.temperature_k, state.failed_left_steps, state.failures, state.failed_steps, state.min_temperature_k))
        total_request = np.zeros(n)
        total_applied = np.zeros(n)
        failed_count = np.zeros(n)
        telemetry: dict[str, np.ndarray] = {}
        outputs: dict[str, np.ndarray] = {}
        for route in self.inputs_of("heat"):
            id = route.source
            spec = self.params.spec(id)
            # Until both the module and the thermal control are on the Moon there is no enclosure
            # to keep warm: it is held at T_min and cannot fail.
            present = int(np.searchsorted(t, max(self.params.deployed_unix_s, int(route.attribute("deployed_unix_s") or 0))))
            heat = np.where(deployed, np.asarray(inputs[route.in_key], dtype=np.float64), 0.0)
            r = _enclosure(spec, step_s, heat[present:], t_env[present:], (switch & deployed)[present:], temps[id], left[id], repair)
            if present:
                for k, before in (("request", 0.0), ("temperature", temps[id]), ("operable", True)):
                    r[k] = np.concatenate([np.full(present, before, dtype=r[k].dtype), r[k]])
            temps[id], left[id] = r["end_temperature"], r["end_left"]
            fails[id] += r["failures"]
            failed_steps[id] += int((~r["operable"]).sum())
            lows[id] = min(lows[id], float(r["temperature"].min())) if n else lows[id]
            request = np.where(deployed, r["request"], 0.0)
            total_request += request
            total_applied += np.where(switch, request, 0.0)
            failed_count += ~r["operable"]
            telemetry[f"{id}_temperature_k"] = r["temperature"]
            telemetry[f"{id}_heater_w"] = np.where(switch, request, 0.0)
            telemetry[f"{id}_operable"] = r["operable"].astype(np.float64)
            outputs[f"operable/{id}"] = r["operable"].astype(np.uint8)
        end = ThermalState(
            tuple(temps.items()), tuple(left.items()), tuple(fails.items()), tuple(failed_steps.items()), tuple(lows.items()),
            heater_mj=state.heater_mj + int(np.rint(total_applied * (step_s * 1000.0)).astype(np.int64).sum()),
            shed_steps=state.shed_steps + int((deployed & ~switch & (total_request > 0)).sum()),
        )
        telemetry = {"surface_temperature_k": t_env, "requested_w": total_request, "heater_w": total_applied, "failed_count": failed_count, **telemetry}
        outputs["power"] = total_request
        return Advance(outputs, telemetry, end)

    def variables(self, state: ThermalState) -> dict[str, float]:
        hours = self.clock.step_s / 3600.0
        out = {
            "heater_kwh": state.heater_mj / MILLIJOULES_PER_KWH,
            "failures_count": float(sum(v for _, v in state.failures)),
            "failed_hours": sum(v for _, v in state.failed_steps) * hours,
            "shed_hours": state.shed_steps * hours,
        }
        for (id, f), (_, s), (_, low) in zip(state.failures, state.failed_steps, state.min_temperature_k):
            out[f"{id}_failures_count"] = float(f)
            out[f"{id}_failed_hours"] = s * hours
            out[f"{id}_min_temperature_k"] = low
        return out


def _enclosure(spec: Enclosure, step_s: float, heat: np.ndarray, t_env: np.ndarray, on: np.ndarray, temp: float, left: int, repair: int) -> dict:
    """One enclosure over a window: vectorised while the thermostat holds, step by step otherwise."""
    n = heat.size
    G, t_min, t_surv, h_max, t_max = spec.conductance_w_per_k, spec.min_temp_k, spec.survival_temp_k, spec.heater_max_w, spec.max_temp_k
    a = math.exp(-step_s * G / spec.heat_capacity_j_per_k)
    request = np.zeros(n)
    temperature = np.zeros(n)  # at the end of each step
    operable = np.ones(n, dtype=bool)
    failures = 0
    s = 0
    while s < n:
        if left == 0:
            # Held stretch: the start temperatures are elementwise (the previous step's held value).
            start = np.empty(n - s)
            start[0] = temp
            start[1:] = np.clip(t_env[s:n - 1] + heat[s:n - 1] / G, t_min, t_max)
            need = G * ((t_min - a * start) / (1.0 - a) - t_env[s:]) - heat[s:]
            held = on[s:] & (need <= h_max)
            k = int(np.argmin(held)) if not held.all() else held.size
            if k:
                request[s:s + k] = np.clip(need[:k], 0.0, h_max)
                temperature[s:s + k] = np.clip(t_env[s:s + k] + heat[s:s + k] / G, t_min, t_max)
                temp = float(temperature[s + k - 1])
                s += k
                continue
        # One step by the exact rule (shed, saturated, failed or repaired): step by step, so any
        # split of the run into windows gives the same temperatures bit for bit.
        if left > 0:
            operable[s] = False
            temp = t_env[s] + (temp - t_env[s]) * a  # offline: no heat of its own, no heater
            left -= 1
            if left == 0:
                temp = t_min  # repaired, and brought back warm
        else:
            need = G * ((t_min - a * temp) / (1.0 - a) - t_env[s]) - heat[s]
            request[s] = min(max(need, 0.0), h_max)
            if on[s] and need <= h_max:
                temp = min(max(t_min, t_env[s] + heat[s] / G), t_max)
            else:
                applied = request[s] if on[s] else 0.0
                eq = t_env[s] + (heat[s] + applied) / G
                temp = eq + (temp - eq) * a
            if temp < t_surv and repair > 0:
                left = repair
                failures += 1
        temperature[s] = temp
        s += 1
    return {"request": request, "temperature": temperature, "operable": operable, "failures": failures, "end_temperature": float(temp), "end_left": int(left)}
