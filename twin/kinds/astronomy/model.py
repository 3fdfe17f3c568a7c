"""ILRS-5, astronomy: telescopes and a low-frequency radio array that observe when the sky allows.

Each instrument has a kind that says when it can observe:

* ``optical``: the Sun is below ``sun_max_elevation_deg`` (default -0.5 deg: the whole solar
  disk, about 0.27 deg in radius, is below the site's flat horizon; there is no atmosphere, so the
  sky is dark as soon as the Sun has set).
* ``uv_daytime``: a daytime ultraviolet telescope like Chang'e-3's Lunar-based Ultraviolet
  Telescope (LUT), which worked during the lunar day: the Sun is up, i.e.
  ``sun_visible_frac > 0`` (part of the disk above the site's horizon mask).
* ``radio_low_frequency``: needs the lunar night (the Sun below ``sun_max_elevation_deg``). While
  the Earth is above the horizon (``earth_visible``) it still observes, but those hours count as
  *degraded*: near-side sites see the Earth all the time and suffer its radio interference.

An instrument observes at a step when the module is deployed, its condition holds and the science
class is powered. The module requests, for each instrument, its ``power_w`` while its condition
holds and its ``standby_w`` otherwise (nothing before the landing date). The request depends only
on the environment of the step, never on its switch state.

Data are exact integers: instrument i has produced ``floor(S_i * data_rate_bps_i / 8)`` bytes after
``S_i`` seconds of observing (an integer carried in the state), and each step emits the difference,
so any cut of a run into windows gives the same bytes and the totals telescope exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from twin.loads import LoadClass
from twin.kinds.astronomy.columns import COLUMNS
from twin.model import Advance, Model, Window
from twin.params import LONGEST_RUN_S, MAX_DATA_RATE_BPS, MAX_ITEMS, MAX_POWER_W, MILLIJOULES_PER_KWH, Deployed, Params, identifier, repeated_names
from twin.ports import DATA, HEAT, OPERABLE, POWER, POWERED

# floor(S * rate / 8) = S * (rate // 8) + S * (rate % 8) // 8 stays inside int64 for 10 Gbit/s over
# about 230 years of observing (S * (rate // 8) < 2^63).
MAX_RATE_BPS = 10_000_000_000


class Instrument(Params):
    """One instrument. The default list's figures are illustrative assumptions [U]."""

    name: str = Field(description="identifier (lower case, digits, underscores), unique in the module")
    kind: Literal["optical", "uv_daytime", "radio_low_frequency"] = Field(description="when it observes: optical with the Sun down, uv_daytime with the Sun up, radio_low_frequency with the Sun down (degraded while the Earth is up)")
    power_w: float = Field(ge=0, le=MAX_POWER_W, description="power while its observing condition holds")
    standby_w: float = Field(default=0.0, ge=0, le=MAX_POWER_W, description="keep-alive power (heaters, electronics) otherwise")
    data_rate_bps: int = Field(ge=0, le=MAX_RATE_BPS, description="data produced while observing, bits per second")
    sun_max_elevation_deg: float = Field(default=-0.5, ge=-90, le=90,
                                         description="optical and radio_low_frequency: observe only with the Sun below this elevation",
                                         json_schema_extra={"source": "solar angular radius about 0.27 deg (IAU 2015 Resolution B3): the whole disk below a flat horizon"})

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return identifier(value, "instrument")


# Illustrative instruments [U]: no ILRS-5 payload figures have been published.
DEFAULT_INSTRUMENTS: tuple[Instrument, ...] = (
    # A small optical/UV telescope observing the night sky (LUT-class aperture, about 0.15 m) [U].
    Instrument(name="optical_uv_telescope", kind="optical", power_w=120.0, standby_w=40.0, data_rate_bps=2_000_000),
    # A low-frequency radio array (dipoles with a central correlator) needing the lunar night [U].
    Instrument(name="radio_array", kind="radio_low_frequency", power_w=400.0, standby_w=60.0, data_rate_bps=4_000_000),
)


class AstronomyParams(Deployed):
    instrument_height_m: float = Field(default=1.0, ge=0, le=1000, description="height of the instruments' apertures above the ground: their horizon is computed there when the site has an elevation model [U]",
                                       json_schema_extra={"unit": "m"})
    instruments: tuple[Instrument, ...] = Field(default=DEFAULT_INSTRUMENTS, max_length=MAX_ITEMS, description="the instruments (name, kind, power_w, standby_w, data_rate_bps, sun_max_elevation_deg); default: an optical/UV telescope and a low-frequency radio array [U]")

    @model_validator(mode="after")
    def _unique(self) -> "AstronomyParams":
        duplicates = repeated_names([x.name for x in self.instruments])
        if duplicates:
            raise ValueError(f"instrument names must be unique: {', '.join(duplicates)} repeated")
        rate = sum(x.data_rate_bps for x in self.instruments)
        if rate > MAX_DATA_RATE_BPS:
            raise ValueError(f"the instruments' data rates add up to {rate:,} bit/s; at most {MAX_DATA_RATE_BPS:,.0f} (data are counted in integer bytes)")
        return self

    def peak_power_w(self) -> float:
        return sum(max(x.power_w, x.standby_w) for x in self.instruments)

    def data_bytes_bound(self) -> float:
        return sum(x.data_rate_bps for x in self.instruments) / 8.0 * LONGEST_RUN_S


@dataclass(frozen=True)
class AstronomyState:
    observing_s: tuple[int, ...]  # per instrument: seconds observed
    degraded_s: tuple[int, ...]  # per instrument: of which with Earth radio interference
    data_bytes: int  # all instruments, produced so far
    energy_mj: int  # energy drawn (rounded per step, millijoules)
    shed_steps: int  # deployed steps with a request while the science class was off


class AstronomyModel(Model):
    kind = "astronomy"
    summary = "ILRS-5 astronomy: optical, daytime UV and low-frequency radio instruments"
    Params = AstronomyParams
    ports = (POWER, POWERED, DATA, HEAT, OPERABLE)
    state_types = (AstronomyState,)
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.astronomy_pb2:AstronomyState"
    environment = ("sun_elevation_deg", "sun_visible_frac", "earth_visible")

    def __init__(self, name: str, params: AstronomyParams, clock, seed: int):
        super().__init__(name, params, clock, seed)
        self.deployed_s = params.deployed_unix_s

    @property
    def horizon_height_m(self) -> float:
        return self.params.instrument_height_m

    @property
    def load_class(self) -> LoadClass:
        return LoadClass.SCIENCE

    def initial_state(self) -> AstronomyState:
        k = len(self.params.instruments)
        return AstronomyState((0,) * k, (0,) * k, 0, 0, 0)

    @staticmethod
    def _bytes(seconds, rate: int):
        whole, part = divmod(rate, 8)
        return seconds * whole + (seconds * part) // 8

    def conditions(self, env) -> tuple[np.ndarray, np.ndarray]:
        """(can observe, degraded if observing): bool arrays (instruments, steps)."""
        sun_el = np.asarray(env["sun_elevation_deg"], dtype=np.float64)
        sun_up = np.asarray(env["sun_visible_frac"], dtype=np.float64) > 0.0
        earth_up = np.asarray(env["earth_visible"], dtype=np.float64) > 0.0
        k, n = len(self.params.instruments), len(sun_el)
        can = np.zeros((k, n), dtype=bool)
        degraded = np.zeros((k, n), dtype=bool)
        for i, inst in enumerate(self.params.instruments):
            if inst.kind == "uv_daytime":
                can[i] = sun_up
            else:
                can[i] = sun_el < inst.sun_max_elevation_deg
                if inst.kind == "radio_low_frequency":
                    degraded[i] = earth_up
        return can, degraded

    def advance(self, state: AstronomyState, window: Window, env, inputs, rng) -> Advance:
        n = window.steps
        step_s = self.clock.step_s
        t = window.times()
        on = self.powered(inputs, n)
        deployed = t >= self.deployed_s
        can, degraded = self.conditions(env)
        can &= deployed
        observing = can & on
        degraded &= observing

        request = np.zeros(n)
        for i, inst in enumerate(self.params.instruments):  # fixed order: floating-point sums depend on it
            request = request + np.where(can[i], inst.power_w, inst.standby_w)
        request = np.where(deployed & self.operable(inputs, n), request, 0.0)
        power = np.where(on, request, 0.0)

        data = np.zeros(n, dtype=np.int64)
        observed, impaired = [], []
        for i, inst in enumerate(self.params.instruments):
            s0 = state.observing_s[i]
            seconds = s0 + np.cumsum(observing[i], dtype=np.int64) * step_s
            data += np.diff(self._bytes(seconds, inst.data_rate_bps), prepend=self._bytes(s0, inst.data_rate_bps))
            observed.append(int(seconds[-1]) if n else s0)
            impaired.append(state.degraded_s[i] + int(degraded[i].sum()) * step_s)

        per_step = observing.sum(axis=0, dtype=np.int64)
        observing_s = sum(state.observing_s) + np.cumsum(per_step) * step_s
        degraded_s = sum(state.degraded_s) + np.cumsum(degraded.sum(axis=0, dtype=np.int64)) * step_s
        end_state = AstronomyState(
            observing_s=tuple(observed),
            degraded_s=tuple(impaired),
            data_bytes=state.data_bytes + int(data.sum()),
            energy_mj=state.energy_mj + int(np.rint(power * (step_s * 1000.0)).astype(np.int64).sum()),
            shed_steps=state.shed_steps + int((deployed & (request > 0) & ~on).sum()),
        )
        telemetry = {
            "requested_w": request,
            "power_w": power,
            "observing_instruments": per_step,
            "observing_hours": observing_s / 3600.0,
            "degraded_hours": degraded_s / 3600.0,
            "data_produced_bytes": data,
        }
        outputs = {**self.power_and_heat(request, on), "data": data}
        return Advance(outputs, telemetry, end_state)

    def variables(self, state: AstronomyState) -> dict[str, float]:
        observing, degraded = sum(state.observing_s), sum(state.degraded_s)
        out = {
            "observing_hours": observing / 3600.0,
            "nominal_hours": (observing - degraded) / 3600.0,
            "degraded_hours": degraded / 3600.0,
            "data_produced_bytes": float(state.data_bytes),
            "energy_kwh": state.energy_mj / MILLIJOULES_PER_KWH,
            "shed_hours": state.shed_steps * self.clock.step_s / 3600.0,
        }
        for inst, seen, bad in zip(self.params.instruments, state.observing_s, state.degraded_s):
            out[f"{inst.name}_observing_hours"] = seen / 3600.0
            out[f"{inst.name}_nominal_hours"] = (seen - bad) / 3600.0
            out[f"{inst.name}_degraded_hours"] = bad / 3600.0
        return out
