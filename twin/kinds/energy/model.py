"""ILRS-1, energy half: solar arrays, fission surface power, storage and a priority load dispatcher.

The dispatcher is a power-management unit with one switch per load class (survival, then
communications, then science, then ISRU and robot charging). Each class may draw on storage only
down to its floor: survival to ``min_soc_frac``, the others to their rung of the shedding ladder
(by default the same minimum). When a step's deficit cannot be covered without going below the
floor of the lowest class that is on, the lowest classes are shed first; shed classes come back
together once storage is back above ``restore_soc_frac`` (hysteresis), or one by one as soon as
generation alone covers them. The classes that are on are
always a priority prefix, so the switch state is one integer.

The ledger counts energy in integer millijoules per step. Integer sums are exact, so the clipped
storage trajectory computed for a whole stretch at once equals the step-by-step one bit for bit,
however a run is cut into windows, and the balance
``generation = delivered + charged - discharged + losses + curtailed`` holds exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Mapping

import numpy as np
from pydantic import Field, field_validator, model_validator

from twin.clock import unix_s
from twin.commands import NO_FAULTS, Faults, fault_variables
from twin.loads import CLASS_KEYS, LOAD_CLASSES, N_CLASSES, LoadClass, load_class
from twin.kinds.energy.columns import COLUMNS
from twin.model import Advance, Column, Model, Window
from twin.environment import surface
from twin.environment.ephemeris import SOLAR_CONSTANT_W_M2
from twin.params import MAX_POWER_W, MILLIJOULES_PER_KWH, Deployed, Params, optional_utc
from twin.ports import Port

SECONDS_PER_YEAR = 365.25 * 86400
# Diviner: about 95 K before dawn at the equator (docs/references.md, Energy).
NIGHT_GROUND_K = 95.0
# The most sunlight an array at the Moon meets: 1361 W/m^2 at 1 AU, at 0.98 AU (Earth's perihelion, less the
# Moon's distance), for the ceiling on the arrays' peak power.
PEAK_IRRADIANCE_W_M2 = SOLAR_CONSTANT_W_M2 / 0.98**2


class Solar(Params):
    # NASA VSAT (vertical solar array technology) targets the 10 kW class at about 35 m^2
    # (docs/references.md, Energy): 10 kW / (1361 W/m^2 * 35 m^2) = 0.21 array-level efficiency.
    area_m2: float = Field(default=35.0, ge=0, le=10_000, description="array area (peak power, area x efficiency x 1417 W/m^2, with the reactor at most 1 MW)",
                           json_schema_extra={"source": "NASA VSAT 10 kW class, about 35 m^2 (SBIR solicitation) [S]"})
    efficiency: float = Field(default=0.21, gt=0, le=1, description="array-level efficiency, sunlight on the cells to bus power",
                              json_schema_extra={"unit": "fraction", "source": "10 kW / (1361 W/m^2 x 35 m^2), NASA VSAT [S]"})
    # "vertical": single-axis sun tracking about a vertical mast, as planned for the poles.
    tracking: Literal["vertical", "fixed"] = Field(default="vertical", description="vertical: single-axis sun tracking about a vertical mast; fixed: tilt_deg and azimuth_deg",
                                                   json_schema_extra={"source": "NASA VSAT (vertical arrays for the poles) [S]"})
    tilt_deg: float = Field(default=90.0, ge=0, le=90, description="fixed arrays: tilt from horizontal")
    azimuth_deg: float = Field(default=0.0, ge=0, lt=360, description="fixed arrays: direction the cells face")
    # NASA VSAT: vertical arrays on masts of 10-20 m (docs/references.md, Energy).
    mast_height_m: float = Field(default=10.0, ge=0, le=1000, description="height of the arrays above the ground: their horizon is computed there when the site has an elevation model ([site] dem)",
                                 json_schema_extra={"unit": "m", "source": "NASA VSAT, masts up to 10-20 m (SBIR solicitation) [S]"})
    # O'Brien 2013 (Space Weather, doi:10.1002/2013SW000978): Apollo dust detector cells covered
    # against dust lost 4-10% per 2000 days, i.e. about 1.3%/yr at the middle of that range.
    dust_loss_per_year: float = Field(default=0.013, ge=0, le=1, description="output lost to dust, fraction of the initial per year",
                                      json_schema_extra={"source": "O'Brien 2013, Space Weather, doi:10.1002/2013SW000978"})
    radiation_loss_per_year: float = Field(default=0.005, ge=0, le=1, description="output lost to radiation damage, fraction of the initial per year [U]")
    # The cells' temperature follows from a thin panel's radiative balance (see cell_temperature_k);
    # output falls by the coefficient per kelvin above the rating temperature.
    temperature_coefficient_per_k: float = Field(default=-0.0023, ge=-0.02, le=0, description="relative change of output per kelvin of cell temperature above reference_temperature_k (0: no derating)",
                                                 json_schema_extra={"unit": "1/K", "source": "triple-junction GaInP/GaAs/Ge, AZUR 3G30A datasheet: Imp +0.24 mA/K, Vmp -6.7 mV/K at 0.503 A, 2.409 V [S]"})
    reference_temperature_k: float = Field(default=301.15, gt=0, le=500, description="cell temperature at which efficiency is rated (28 C, AM0, the space-cell convention)", json_schema_extra={"unit": "K"})
    absorptance: float = Field(default=0.92, gt=0, le=1, description="solar absorptance of the cells under their coverglass [U]", json_schema_extra={"unit": "fraction"})
    emittance: float = Field(default=0.85, gt=0, le=1, description="infrared emittance of each face of the panel [U]", json_schema_extra={"unit": "fraction"})
    deployed: datetime | None = Field(default=None, description="landing date of the arrays (default: the power system's)")

    _utc = field_validator("deployed", mode="before")(optional_utc)


class Fission(Params):
    # NASA FSP: >= 40 kWe for 10 years; Kilopower 1-10 kWe (docs/references.md, Energy). 0 = no reactor.
    power_kwe: float = Field(default=0.0, ge=0, le=MAX_POWER_W / 1000, description="electrical power of the surface reactor; 0: no reactor (NASA FSP class: 40)")
    deployed: datetime | None = Field(default=None, description="landing date of the reactor (default: the power system's)")

    _utc = field_validator("deployed", mode="before")(optional_utc)


class Storage(Params):
    kind: Literal["battery", "regenerative_fuel_cell"] = Field(default="battery", description="storage technology (a label: the figures below set the behaviour)")
    capacity_kwh: float = Field(default=100.0, ge=0.001, le=1e6, description="storage capacity, 1 Wh to 1 GWh [U]")
    # Round-trip efficiency is an exposed assumption [U] (docs/references.md, Energy): about 0.9 for
    # Li-ion, 0.4-0.6 for a regenerative fuel cell.
    charge_efficiency: float = Field(default=0.95, ge=0.05, le=1, description="fraction of the charging energy stored [U]", json_schema_extra={"unit": "fraction"})
    discharge_efficiency: float = Field(default=0.95, ge=0.05, le=1, description="fraction of the energy drawn from storage that reaches the bus [U]", json_schema_extra={"unit": "fraction"})
    min_soc_frac: float = Field(default=0.2, ge=0, lt=1, description="survival's storage floor: storage is never drawn below it [U]")
    restore_soc_frac: float = Field(default=0.3, ge=0, le=1, description="shed classes come back together once storage is above it (hysteresis) [U]")
    initial_soc_frac: float = Field(default=1.0, ge=0, le=1, description="state of charge at the start of the run")
    max_charge_kw: float | None = Field(default=None, gt=0, le=MAX_POWER_W / 1000, description="charging power limit (default: none)")
    max_discharge_kw: float | None = Field(default=None, gt=0, le=MAX_POWER_W / 1000, description="discharging power limit (default: none)")

    # The shedding ladder: per load class below survival, the state of charge below which the
    # class may no longer draw on storage (lower priorities give up earlier, keeping the rest for
    # survival). A class not listed: min_soc_frac. Survival's floor is min_soc_frac.
    floor_soc_frac: dict[str, float] = Field(default_factory=dict, description="per load class (communications, science, isru): storage floor, fraction of capacity")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data):
        if isinstance(data, dict):
            old = sorted(k for k in data if isinstance(k, str) and k.endswith("_floor_soc_frac"))
            if old:
                keys = ", ".join(f"{k.removesuffix('_floor_soc_frac')} = ..." for k in old)
                raise ValueError(f"{', '.join(old)}: the ladder is now one table, floor_soc_frac = {{ {keys} }}")
        return data

    @field_validator("floor_soc_frac")
    @classmethod
    def _floor_keys(cls, floors: dict[str, float]) -> dict[str, float]:
        for key, value in floors.items():
            if load_class(key) == LoadClass.SURVIVAL:
                raise ValueError("survival's floor is min_soc_frac")
            if not 0 <= value < 1:
                raise ValueError(f"{key}: {value} is outside [0, 1)")
        return floors

    @property
    def floors(self) -> tuple[float, ...]:
        """Floor of each class, survival first."""
        return (self.min_soc_frac, *(self.floor_soc_frac.get(key, self.min_soc_frac) for key in CLASS_KEYS[1:]))

    @model_validator(mode="after")
    def _bands(self) -> "Storage":
        floors = self.floors
        if any(lower > higher for lower, higher in zip(floors, floors[1:])):
            raise ValueError("floors must not decrease with priority: min_soc_frac <= " + " <= ".join(f"floor_soc_frac.{k}" for k in CLASS_KEYS[1:]))
        if self.restore_soc_frac <= max(floors):
            raise ValueError("restore_soc_frac must be above min_soc_frac and every floor (the switching hysteresis)")
        if self.initial_soc_frac < self.min_soc_frac:
            raise ValueError("initial_soc_frac must not be below min_soc_frac")
        return self


class Survival(Params):
    # Survival avionics and heaters, class 1. Night survival energy = P x t_dark, e.g.
    # 100 W x 354 h = 35.4 kWh (docs/references.md, Energy); the figures below are exposed assumptions [U].
    avionics_w: float = Field(default=150.0, ge=0, le=MAX_POWER_W, description="survival avionics, always on once deployed [U]")
    heater_day_w: float = Field(default=50.0, ge=0, le=MAX_POWER_W, description="survival heaters while the Sun is up [U]")
    heater_night_w: float = Field(default=350.0, ge=0, le=MAX_POWER_W, description="survival heaters while the Sun is down (blended by sun_visible_frac) [U]")


class EnergyParams(Deployed):
    solar: Solar = Field(default=Solar(), description="solar arrays")
    fission: Fission = Field(default=Fission(), description="fission surface power")
    storage: Storage = Field(default=Storage(), description="storage and the shedding ladder")
    survival: Survival = Field(default=Survival(), description="survival loads (class 1)")

    @model_validator(mode="after")
    def _generation_budget(self) -> "EnergyParams":
        # The ledger counts integer millijoules: generation is held to the station's 1 MW.
        peak = self.solar.area_m2 * self.solar.efficiency * PEAK_IRRADIANCE_W_M2 + self.fission.power_kwe * 1000.0
        if peak > MAX_POWER_W:
            raise ValueError(f"the arrays' peak ({self.solar.area_m2:g} m^2 x {self.solar.efficiency:g} x {PEAK_IRRADIANCE_W_M2:.0f} W/m^2) and the reactor "
                             f"({self.fission.power_kwe:g} kWe) add up to {peak:,.0f} W; at most {MAX_POWER_W:,.0f} W (the energy ledger counts integer "
                             "millijoules over runs of up to 151 years)")
        return self

    def peak_power_w(self) -> float:
        s = self.survival
        return s.avionics_w + max(s.heater_day_w, s.heater_night_w)


@dataclass(frozen=True)
class EnergyState:
    storage_mj: int
    classes_on: int
    min_storage_mj: int
    totals_mj: tuple[tuple[str, int], ...]
    shed_steps: tuple[int, ...]  # per class: steps with demand while switched off
    # What the arrays see of the Sun (a site figure for trades): steps with any of the disk seen,
    # the dark steps running at the end, and the longest such run.
    lit_steps: int = 0
    dark_run_steps: int = 0
    longest_dark_steps: int = 0
    steps: int = 0
    faults: Faults = NO_FAULTS  # commanded (twin/commands.py): array, reactor, storage

    def total(self, key: str) -> int:
        return dict(self.totals_mj)[key]


TOTALS = ("solar", "fission", "generated", "demand", "delivered", "unserved", "charged", "stored", "drawn", "discharged", "losses", "curtailed")


def cell_temperature_k(solar: Solar, on_cells_w_m2: np.ndarray, on_ground_w_m2: np.ndarray) -> np.ndarray:
    """The cells' temperature from a thin panel's radiative balance (a panel settles in minutes, so
    quasi-statically): the sunlight it absorbs and does not turn into power, plus the ground's
    infrared, leave by both faces, ``a E (1 - eta) + e M = 2 e sigma T^4``. The ground (seen by
    the two faces together with a view factor of 1 at any tilt) emits what it absorbs by day, in
    radiative equilibrium (1 - A) E_ground, and no less than at its pre-dawn 95 K (Diviner)."""
    ground = surface.RegolithThermal()
    floor = ground.emissivity * surface.SIGMA * NIGHT_GROUND_K**4
    ground_ir = np.maximum((1.0 - ground.albedo) * on_ground_w_m2, floor)
    absorbed = solar.absorptance * on_cells_w_m2 * (1.0 - solar.efficiency) + solar.emittance * ground_ir
    return np.sqrt(np.sqrt(absorbed / (2.0 * solar.emittance * surface.SIGMA)))


def dark_runs(dark: np.ndarray, carry: int) -> np.ndarray:
    """Length of the run of dark steps ending at each step (0 where lit), continuing ``carry``."""
    index = np.arange(dark.size)
    last_lit = np.maximum.accumulate(np.where(dark, -1, index))
    return np.where(dark, np.where(last_lit < 0, index + 1 + carry, index - last_lit), 0)


def _to_mj(power_w: np.ndarray, step_s: int) -> np.ndarray:
    return np.rint(np.asarray(power_w, dtype=np.float64) * (step_s * 1000.0)).astype(np.int64)


class EnergyModel(Model):
    kind = "energy"
    summary = "ILRS-1 energy: solar arrays, fission, storage and a priority load dispatcher (shedding ladder)"
    Params = EnergyParams
    max_instances = 1
    ports = (
        Port("power", "power", "W", "in", "every power request of the station, each in its instance's load class", reply="powered"),
        Port("powered", "signal:powered", "1", "out", "the switch of each requester's load class at every step", feedback=True, addressed=True),
    )
    environment = ("sun_elevation_deg", "sun_azimuth_deg", "sun_visible_frac", "solar_irradiance_w_m2", "sun_eclipsed_frac")
    state_types = (EnergyState, Faults)
    fault_components = {
        "array": ("the arrays give this fraction of their power (fail: none; degrade: e.g. a string lost, dust)", ("fail", "degrade")),
        "reactor": ("the reactor gives this fraction of its power (fail: scrammed)", ("fail", "degrade")),
        "storage": ("the storage can neither charge nor discharge (a battery or regulator fault)", ("fail",)),
    }
    schema_version = 2  # 2: sky statistics (lit and dark steps)
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.energy_pb2:EnergyState"

    @property
    def horizon_height_m(self) -> float:
        return self.params.solar.mast_height_m

    def __init__(self, name: str, params: EnergyParams, clock, seed: int):
        super().__init__(name, params, clock, seed)
        p = params
        st = p.storage
        self.capacity_mj = int(round(st.capacity_kwh * MILLIJOULES_PER_KWH))
        self.min_mj = int(round(st.min_soc_frac * self.capacity_mj))
        # floor_mj[j]: the floor that applies with j classes on (that of the lowest one on).
        self.floor_mj = [self.min_mj] + [int(round(f * self.capacity_mj)) for f in st.floors]
        self.restore_mj = int(round(st.restore_soc_frac * self.capacity_mj))
        big = np.iinfo(np.int64).max // 4
        self.charge_cap_mj = big if st.max_charge_kw is None else int(_to_mj(st.max_charge_kw * 1000, clock.step_s))
        self.discharge_cap_mj = big if st.max_discharge_kw is None else int(_to_mj(st.max_discharge_kw * 1000, clock.step_s))
        self.deployed_s = p.deployed_unix_s
        # Arrays or a reactor listed as landing before the power system start with it.
        self.solar_deployed_s = max(unix_s(p.solar.deployed), self.deployed_s) if p.solar.deployed else self.deployed_s
        self.fission_deployed_s = max(unix_s(p.fission.deployed), self.deployed_s) if p.fission.deployed else self.deployed_s
        self.classes: dict[str, LoadClass] = {}  # route in -> the requester's class, set by connect()

    def connect(self, routes_in, routes_out) -> None:
        super().connect(routes_in, routes_out)
        # The class each requester is switched in, from what it declares on its power output.
        self.classes = {}
        for route in self.inputs_of("power"):
            key = route.attribute("load_class")
            if key is None:
                raise ValueError(f"{route.source}.{route.source_port}: a power request must declare its load class")
            self.classes[route.in_key] = load_class(key)

    def initial_state(self) -> EnergyState:
        e0 = int(round(self.params.storage.initial_soc_frac * self.capacity_mj))
        return EnergyState(e0, N_CLASSES, e0, tuple((k, 0) for k in TOTALS), (0,) * N_CLASSES)

    # -- generation and own load ------------------------------------------------------------
    def solar_w(self, t: np.ndarray, env: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = self.params.solar
        el = np.radians(env["sun_elevation_deg"])
        if s.tracking == "vertical":
            cos_inc = np.cos(el)
        else:
            tilt, face = math.radians(s.tilt_deg), math.radians(s.azimuth_deg)
            az = np.radians(env["sun_azimuth_deg"])
            cos_inc = np.sin(el) * math.cos(tilt) + np.cos(el) * math.sin(tilt) * np.cos(az - face)
        cos_inc = np.clip(cos_inc, 0.0, 1.0)
        years = np.maximum(t - self.solar_deployed_s, 0.0) / SECONDS_PER_YEAR
        health = np.clip(1.0 - (s.dust_loss_per_year + s.radiation_loss_per_year) * years, 0.0, 1.0)
        health = np.where(t >= self.solar_deployed_s, health, 0.0)
        on_cells = env["solar_irradiance_w_m2"] * cos_inc * env["sun_visible_frac"]
        cell_k = cell_temperature_k(s, on_cells, env["solar_irradiance_w_m2"] * np.maximum(np.sin(el), 0.0) * env["sun_visible_frac"])
        derate = np.maximum(1.0 + s.temperature_coefficient_per_k * np.maximum(cell_k - s.reference_temperature_k, 0.0), 0.0)
        power = on_cells * s.area_m2 * s.efficiency * health * derate
        return power, health, cell_k

    def survival_w(self, t: np.ndarray, env: Mapping[str, np.ndarray]) -> np.ndarray:
        s = self.params.survival
        dark = 1.0 - env["sun_visible_frac"]
        return np.where(t >= self.deployed_s, s.avionics_w + s.heater_day_w + (s.heater_night_w - s.heater_day_w) * dark, 0.0)

    # -- dispatch ---------------------------------------------------------------------------
    def advance(self, state: EnergyState, window: Window, env, inputs, rng) -> Advance:
        n = window.steps
        step_s = self.clock.step_s
        t = window.times()
        solar_w, health, cell_k = self.solar_w(t, env)
        fission_w = np.where(t >= self.fission_deployed_s, self.params.fission.power_kwe * 1000.0, 0.0)
        faults = state.faults
        if faults.active:
            solar_w = solar_w * faults.level("array")
            fission_w = fission_w * faults.level("reactor")
        solar = _to_mj(solar_w, step_s)
        fission = _to_mj(fission_w, step_s)
        gen = solar + fission

        request_w = np.zeros((N_CLASSES, n))
        request_w[0] = self.survival_w(t, env)
        for route in self.inputs_of("power"):  # fixed order (source id): floating-point sums depend on it
            request_w[self.classes[route.in_key] - 1] += inputs[route.in_key]
        req = _to_mj(request_w, step_s)
        prefix = np.zeros((N_CLASSES + 1, n), dtype=np.int64)
        np.cumsum(req, axis=0, out=prefix[1:])

        on_site = (t >= self.deployed_s) & (faults.level("storage") > 0)
        charge_cap = np.where(on_site, self.charge_cap_mj, 0)
        discharge_cap = np.where(on_site, self.discharge_cap_mj, 0)

        classes_on = np.empty(n, dtype=np.int64)
        storage = np.empty(n, dtype=np.int64)
        flows = {k: np.zeros(n, dtype=np.int64) for k in ("in_bus", "stored", "drawn", "deficit", "curtailed")}
        e_start, m = state.storage_mj, state.classes_on
        s = 0
        while s < n:
            k, f = self._stretch(m, e_start, gen[s:], prefix, s, charge_cap[s:], discharge_cap[s:])
            classes_on[s:s + k] = m
            storage[s:s + k] = f["storage"][:k]
            for key in flows:
                flows[key][s:s + k] = f[key][:k]
            if k > 0:
                e_start = int(f["storage"][k - 1])
            s += k
            if s < n:
                m = self._decide(m, e_start, int(gen[s]), prefix[:, s], int(discharge_cap[s]))

        delivered = prefix[classes_on, np.arange(n)]
        unserved = prefix[N_CLASSES] - delivered
        losses = (flows["in_bus"] - flows["stored"]) + (flows["drawn"] - flows["deficit"])
        shed = (np.arange(N_CLASSES)[:, None] >= classes_on[None, :]) & (req > 0)

        totals = dict(state.totals_mj)
        for key, values in (("solar", solar), ("fission", fission), ("generated", gen), ("demand", prefix[N_CLASSES]),
                            ("delivered", delivered), ("unserved", unserved), ("charged", flows["in_bus"]),
                            ("stored", flows["stored"]), ("drawn", flows["drawn"]), ("discharged", flows["deficit"]),
                            ("losses", losses), ("curtailed", flows["curtailed"])):
            totals[key] += int(values.sum())
        dark = np.asarray(env["sun_visible_frac"]) <= 0.0
        runs = dark_runs(dark, state.dark_run_steps)
        end = EnergyState(
            storage_mj=int(storage[-1]) if n else state.storage_mj,
            classes_on=int(classes_on[-1]) if n else state.classes_on,
            min_storage_mj=min(state.min_storage_mj, int(storage.min())) if n else state.min_storage_mj,
            totals_mj=tuple((k, totals[k]) for k in TOTALS),
            shed_steps=tuple(int(a + b) for a, b in zip(state.shed_steps, shed.sum(axis=1))),
            lit_steps=state.lit_steps + int(n - dark.sum()),
            dark_run_steps=int(runs[-1]) if n else state.dark_run_steps,
            longest_dark_steps=max(state.longest_dark_steps, int(runs.max())) if n else state.longest_dark_steps,
            steps=state.steps + n,
            faults=faults,
        )

        to_w = 1.0 / (step_s * 1000.0)
        telemetry = {
            "sun_elevation_deg": np.asarray(env["sun_elevation_deg"], dtype=np.float64),
            "sun_visible_frac": np.asarray(env["sun_visible_frac"], dtype=np.float64),
            "sun_eclipsed_frac": np.asarray(env["sun_eclipsed_frac"], dtype=np.float64),
            "array_health_frac": health,
            "array_temperature_k": cell_k,
            "solar_w": solar * to_w,
            "fission_w": fission * to_w,
            "generation_w": gen * to_w,
            "demand_w": prefix[N_CLASSES] * to_w,
            "delivered_w": delivered * to_w,
            "unserved_w": unserved * to_w,
            "charge_w": flows["in_bus"] * to_w,
            "discharge_w": flows["deficit"] * to_w,
            "storage_loss_w": losses * to_w,
            "curtailed_w": flows["curtailed"] * to_w,
            "storage_kwh": storage / MILLIJOULES_PER_KWH,
            "storage_soc_frac": storage / self.capacity_mj,
            "classes_on_count": classes_on,
        }
        for cls in LOAD_CLASSES:
            i = cls - 1
            telemetry[f"{cls.key}_demand_w"] = req[i] * to_w
            telemetry[f"{cls.key}_unserved_w"] = np.where(shed[i], req[i], 0) * to_w
        outputs = {f"powered/{route.source}": (classes_on > self.classes[route.in_key] - 1).astype(np.uint8) for route in self.inputs_of("power")}
        return Advance(outputs, telemetry, end)

    def _flows(self, j: int, e_prev: np.ndarray | int, gen, prefix_row, discharge_cap):
        net = gen - prefix_row
        deficit = np.maximum(-net, 0)
        drawn = np.ceil(deficit / self.params.storage.discharge_efficiency).astype(np.int64)
        # A class whose demand generation covers needs no storage and is never shed.
        feasible = (deficit == 0) | ((deficit <= discharge_cap) & (e_prev - drawn >= self.floor_mj[j]))
        return net, deficit, drawn, feasible

    def _stretch(self, m: int, e_start: int, gen, prefix, s: int, charge_cap, discharge_cap):
        """Advance with ``m`` classes on until the first step where the switches must change.

        Returns the number of steps k that keep ``m`` and the flows of those steps.
        """
        st = self.params.storage
        net, deficit, drawn, _ = self._flows(m, 0, gen, prefix[m, s:], discharge_cap)
        in_bus = np.minimum(np.maximum(net, 0), charge_cap)
        stored_nominal = np.floor(in_bus * st.charge_efficiency).astype(np.int64)
        level = e_start + np.cumsum(stored_nominal - drawn)
        # Storage clipped at capacity: y_t = max(y_{t-1}, C_t - cap) is the energy refused so far.
        refused = np.maximum.accumulate(np.maximum(level - self.capacity_mj, 0))
        storage = level - refused
        previous = np.concatenate(([e_start], storage[:-1]))
        infeasible = (deficit > 0) & ((deficit > discharge_cap) | (previous - drawn < self.floor_mj[m]))
        if m < N_CLASSES:
            _, deficit_up, _, feasible_up = self._flows(m + 1, previous, gen, prefix[m + 1, s:], discharge_cap)
            restore = ((previous >= self.restore_mj) & feasible_up) | (deficit_up == 0)
            events = infeasible | restore
        else:
            events = infeasible
        hits = np.flatnonzero(events)
        k = int(hits[0]) if hits.size else len(gen)
        refused_step = np.diff(refused[:k], prepend=0)
        stored = stored_nominal[:k] - refused_step
        in_bus_used = np.where(
            refused_step > 0,
            np.minimum(np.ceil(stored / st.charge_efficiency), in_bus[:k]).astype(np.int64),
            in_bus[:k],
        )
        return k, {
            "storage": storage[:k],
            "in_bus": in_bus_used,
            "stored": stored,
            "drawn": drawn[:k],
            "deficit": deficit[:k],
            "curtailed": np.maximum(net[:k], 0) - in_bus_used,
        }

    def _decide(self, m: int, e_prev: int, gen: int, prefix_col, discharge_cap: int) -> int:
        """Switch state at an event step: the most classes that fit, restoring shed ones only if
        storage is above the restore level or generation alone carries them; lowest shed first."""
        restoring = e_prev >= self.restore_mj
        for j in range(N_CLASSES, -1, -1):
            _, deficit, _, feasible = self._flows(j, e_prev, gen, prefix_col[j], discharge_cap)
            if feasible and (j <= m or restoring or deficit == 0):
                return j
        return 0

    def columns(self) -> dict[str, Column]:
        out = super().columns()
        for cls in LOAD_CLASSES:
            out[f"{cls.key}_demand_w"] = Column("W", "rate", f"power requested in the {cls.key} class")
            out[f"{cls.key}_unserved_w"] = Column("W", "rate", f"power requested in the {cls.key} class while it was shed")
        return out

    def fill_state_message(self, message, state: EnergyState, variables) -> None:
        super().fill_state_message(message, state, variables)
        for cls in LOAD_CLASSES:
            message.switches.add(load_class=int(cls), on=cls <= state.classes_on)

    def variables(self, state: EnergyState) -> dict[str, float]:
        out = {
            "storage_kwh": state.storage_mj / MILLIJOULES_PER_KWH,
            "storage_soc_frac": state.storage_mj / self.capacity_mj,
            "min_storage_soc_frac": state.min_storage_mj / self.capacity_mj,
            "classes_on_count": float(state.classes_on),
        }
        for key, value in state.totals_mj:
            out[f"{key}_kwh"] = value / MILLIJOULES_PER_KWH
        for cls, steps in zip(LOAD_CLASSES, state.shed_steps):
            out[f"{cls.key}_shed_hours"] = steps * self.clock.step_s / 3600.0
        out["lit_frac"] = state.lit_steps / state.steps if state.steps else 0.0
        out["longest_dark_hours"] = state.longest_dark_steps * self.clock.step_s / 3600.0
        return out | fault_variables(self, state.faults)
