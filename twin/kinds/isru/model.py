"""ILRS-3, in-situ resource use: oxygen from regolith, fed from a hopper into a tank.

The plant takes regolith from a hopper and makes oxygen by one of two processes (docs/references.md, ISRU):

* ``hydrogen_reduction`` of ilmenite: 24.3 +- 5.8 kWh per kg of liquid O2 (10 wt% ilmenite
  feed) and at most 10.55 wt% O of ilmenite, under 5 wt% of typical regolith (Leger et al., PNAS
  2025). Defaults: 24.3 kWh/kg and a yield of 0.03 kg O2 per kg regolith [U].
* ``molten_regolith_electrolysis``: 18-35 kWh/kg O2 [S] (reactor sizing: Schreiner et al. 2016,
  Adv. Space Res. 57:1585); regolith is about 45 wt% oxygen, practical extraction lower. Defaults:
  26.5 kWh/kg (the middle of 18-35) and a yield of 0.2 kg/kg [U].

Explicit ``energy_kwh_per_kg_o2`` and ``o2_yield_kg_per_kg_regolith`` override the process
defaults. While producing the plant draws ``operating_power_w`` and makes
``operating_power_w / energy_kwh_per_kg_o2`` of O2 (2430 W at 24.3 kWh/kg: 0.1 kg/h), consuming
O2 / yield of regolith; the rest leaves as tailings.

Rules of one step t (everything the request depends on is known before step t's switch):

1. The plant *has work* if the hopper held regolith and the tank had room at the end of step t-1.
   Once deployed it requests ``operating_power_w`` if it has work, otherwise ``standby_w``;
   before deployment nothing. The request never depends on the switch state of step t.
2. If the ISRU class is switched off at t, the plant draws nothing, produces nothing and is cold:
   it must then run ``warmup_h`` (rounded up to whole steps) at operating power, on steps with
   work, before it produces again. It lands cold. Standby keeps a warm plant warm; it does not
   warm a cold one. During warm-up it draws operating power and produces nothing.
3. A warm, powered plant with work produces at its nominal rate, limited by the regolith in the
   hopper and the room in the tank (the limiting step is partial; it still draws operating power).
4. After processing, the step's deliveries (the scenario's ``regolith_delivery_kg_per_day``, until
   ``regolith_delivery_until``, then what instances connected to the ``regolith`` input offer, kg
   per step, e.g. surface robots, in id order) enter the hopper up to its capacity; the excess is
   refused and counted. A connected source is told what it got back (``regolith_refused``, a
   feedback reply: the last offers in that order are refused first) and keeps it, so nothing is
   lost. Deliveries can be processed from step t+1. Deliveries before deployment are refused.
5. After production, ``o2_offtake_kg_per_day`` (from ``o2_offtake_start``, e.g. crew arrival) is
   taken from the tank; what the tank cannot supply is counted as shortfall.

Exact mass ledger (integers; sums are exact however a run is cut into windows):

* The plant's work is counted in integer micrograms of O2 made (the nominal production per step is
  rounded to 1 ug; the yield to 1 ppm). After W ug the plant has produced ``floor(W / 1e6)`` g of
  O2 and processed ``ceil(W / yield_ppm)`` g of regolith, so
  ``processed = produced + tailings`` with ``tailings >= 0``.
* Regolith and O2 stocks, deliveries, refusals and offtake are integer grams. Scheduled rates are
  rounded to 1 mg/day and delivered as the integer-gram differences of their exact cumulative sums
  since the start date; input deliveries are rounded to whole grams per step.
* Hence ``initial + delivered (accepted) = stock + processed`` and
  ``produced = tank + offtaken``, exactly.

The model is event driven and vectorised: Python loops run over stretches in which one regime
holds (switched off, warming up, producing at full rate, starved of regolith, tank-limited, idle)
and each stretch is computed with cumulative sums and running maxima. Every stretch is checked
step by step against the exact rule of step 3, so a regime that stops holding ends its stretch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, Mapping

import numpy as np
from pydantic import Field, field_validator, model_validator

from twin.clock import unix_s
from twin.commands import NO_FAULTS, CommandRefused, Faults, fault_variables
from twin.loads import LoadClass
from twin.kinds.isru.columns import COLUMNS
from twin.model import Advance, Model, Window
from twin.params import MAX_POWER_W, MILLIJOULES_PER_KWH, Deployed, optional_utc
from twin.ports import HEAT, OPERABLE, POWER, POWERED, Port

UG_PER_G = 1_000_000
MG_PER_DAY_TO_G_PER_S = 86_400 * 1000  # g delivered = seconds * mg/day / this
FIRST_HORIZON = 256  # steps a regime is first tried for (rover loads last about a hundred; 64 and 1024 were slower)

# Oxygen's mass fraction of FeO (15.999 / 71.844) and of water (15.999 / 18.015).
O_IN_FEO = 15.999 / 71.844
O_IN_WATER = 15.999 / 18.015
# Water electrolysis at the higher heating value: 285.8 kJ per mol H2O, i.e. per 16.0 g of O2.
ELECTROLYSIS_KWH_PER_KG_O2 = 285.8e3 / 15.999e-3 / 3.6e6

# Per-process defaults (docs/references.md, ISRU) and the physical ceiling on the yield.
PROCESS_DEFAULTS: dict[str, dict[str, float]] = {
    # Leger et al., PNAS 2025: 24.3 +- 5.8 kWh/kg liquid O2; under 5 wt% O2 of typical regolith
    # (0.03 is an assumption [U]); at most 10.55 wt% O of pure ilmenite feed.
    "hydrogen_reduction": {"energy_kwh_per_kg_o2": 24.3, "o2_yield_kg_per_kg_regolith": 0.03, "max_yield": 0.1055},
    # 18-35 kWh/kg O2 [S] (middle 26.5); regolith about 45 wt% O, practical extraction lower:
    # 0.2 is an assumption [U].
    "molten_regolith_electrolysis": {"energy_kwh_per_kg_o2": 26.5, "o2_yield_kg_per_kg_regolith": 0.2, "max_yield": 0.45},
    # Polar water ice: about 11 kWh/kg O2 overall (thermodynamic floor 4.1-5.0) [S]; yield from
    # the ice fraction (LCROSS: 5.6 wt% at Cabeus).
    "water_ice_extraction": {"energy_kwh_per_kg_o2": 11.0, "o2_yield_kg_per_kg_regolith": 0.056 * O_IN_WATER, "max_yield": O_IN_WATER},
}


class IsruParams(Deployed):
    process: Literal["hydrogen_reduction", "molten_regolith_electrolysis", "water_ice_extraction"] = Field(
        default="hydrogen_reduction", description="oxygen process: hydrogen reduction (of the regolith's FeO), molten regolith electrolysis, or water ice from a polar cold trap",
        json_schema_extra={"source": "Leger et al. 2025, PNAS; Allen et al. 1996, JGR 101:26085; Schreiner et al. 2016, Adv. Space Res. 57:1585"})
    # The feed: from the site ([site.regolith], twin/environment/regolith.py) unless given here.
    feo_wt_pct: float | None = Field(default=None, ge=0, le=60, description="FeO of the feed, wt% (default: the site's regolith)",
                                     json_schema_extra={"source": "site analogues: Lunar Sourcebook table 7.15; Apollo 17 orange glass (NASA)"})
    oxygen_wt_pct: float | None = Field(default=None, gt=0, le=60, description="total oxygen of the feed, wt% (default: the site's, about 45)")
    ice_wt_pct: float | None = Field(default=None, ge=0, le=100, description="water ice of the feed, wt% (water_ice_extraction; default: the site's cold trap)",
                                     json_schema_extra={"source": "LCROSS at Cabeus: 5.6 +- 2.9 wt% (Colaprete et al. 2010, Science 330:463)"})
    # Hydrogen reduction: the oxygen comes from the Fe2+ reduced (Allen et al. 1996: the yield
    # follows total iron; ilmenite reduces fully, glass and silicates partly) [U].
    reduced_feo_frac: float = Field(default=0.8, gt=0, le=1, description="hydrogen reduction: fraction of the feed's FeO reduced to iron (yield = this x FeO x 0.2227) [U]",
                                    json_schema_extra={"source": "Allen et al. 1996, JGR 101:26085 (yield follows FeO; 2-5 wt% for mare soil and glass) [U]"})
    # Energy of hydrogen reduction per kg O2: heating the feed (heat capacity x temperature rise x
    # (1 - recovery) / yield), electrolysing the water (HHV / efficiency) and liquefying the O2.
    heat_capacity_j_per_kg_k: float = Field(default=950.0, gt=0, le=5000, description="mean heat capacity of the feed from its start to the reaction temperature [U]",
                                            json_schema_extra={"unit": "J/(kg K)"})
    temperature_rise_k: float = Field(default=1070.0, gt=0, le=3000, description="from the feed's temperature (about 250 K) to the reduction temperature (1323 K, 1050 C as in Allen et al. 1996)",
                                      json_schema_extra={"unit": "K"})
    heat_recovery_frac: float = Field(default=0.413, ge=0, lt=1, description="share of the feed's heat recovered from the spent feed; calibrated so that a 10 wt% ilmenite feed (1.055 wt% O2) costs 24.3 kWh/kg (Leger et al. 2025)",
                                      json_schema_extra={"source": "calibrated to Leger et al. 2025, PNAS: 24.3 kWh/kg liquid O2 at 10 wt% ilmenite"})
    electrolysis_efficiency: float = Field(default=0.7, gt=0, le=1, description="water electrolyser, against the higher heating value (4.96 kWh/kg O2) [U]")
    liquefaction_kwh_per_kg_o2: float = Field(default=1.5, ge=0, le=100, description="liquefying and handling the oxygen [U]")
    # Molten regolith electrolysis: a practical share of the feed's oxygen [U].
    extraction_frac: float = Field(default=0.45, gt=0, le=1, description="molten regolith electrolysis: share of the feed's oxygen extracted [U] (0.45 x 45 wt% = 0.2 kg/kg)")
    energy_kwh_per_kg_o2: float | None = Field(default=None, ge=1, le=1000, description="specific energy (default: hydrogen reduction from heating the feed, electrolysis and liquefaction; 26.5 for molten regolith electrolysis, 11 for water ice); at least 1",
                                               json_schema_extra={"source": "hydrogen reduction 24.3 kWh/kg: Leger et al. 2025, PNAS; electrolysis 18-35 kWh/kg [S]"})
    o2_yield_kg_per_kg_regolith: float | None = Field(default=None, gt=0, le=1, description="O2 extracted per kg of regolith processed (default: from the feed's composition and the process; without one 0.03, 0.2 or 0.05 [U])",
                                                      json_schema_extra={"source": "ceilings: 10.55 wt% O of ilmenite (Leger et al. 2025, PNAS); regolith about 45 wt% O [S]"})
    # Plant size, standby and warm-up are assumptions [U]: a demonstration plant of a few kW.
    operating_power_w: float = Field(default=3000.0, gt=0, le=MAX_POWER_W, description="draw while producing or warming up [U]")
    standby_w: float = Field(default=300.0, ge=0, le=MAX_POWER_W, description="draw while idle but powered; keeps a warm plant warm [U]")
    warmup_h: float = Field(default=12.0, ge=0, le=10_000, description="time at operating power after any unpowered step before producing again [U]")
    regolith_initial_kg: float = Field(default=0.0, ge=0, le=1e9, description="regolith in the hopper at landing [U]")
    regolith_delivery_kg_per_day: float = Field(default=50.0, ge=0, le=1e5, description="scenario-given delivery rate, from deployment [U]")
    regolith_delivery_until: datetime | None = Field(default=None, description="end of the scenario-given deliveries (e.g. when surface robots take over)")
    regolith_capacity_kg: float = Field(default=2000.0, gt=0, le=1e9, description="hopper capacity; deliveries beyond it are refused [U]")
    tank_capacity_kg: float = Field(default=1000.0, gt=0, le=1e9, description="O2 tank capacity; full, the plant idles at standby [U]")
    o2_offtake_kg_per_day: float = Field(default=0.0, ge=0, le=1e5, description="O2 drawn from the tank (e.g. life support) [U]")
    o2_offtake_start: datetime | None = Field(default=None, description="start of the offtake (default: deployment), e.g. crew arrival")

    _utc = field_validator("regolith_delivery_until", "o2_offtake_start", mode="before")(optional_utc)

    def check_station(self, id: str, scenario) -> None:
        if self.process == "water_ice_extraction" and self.ice_wt_pct is None and self.o2_yield_kg_per_kg_regolith is None:
            raise ValueError("process: water_ice_extraction needs water ice in reach; this site has none (a polar cold trap: give [site.regolith] ice_wt_pct)")

    def peak_power_w(self) -> float:
        return max(self.operating_power_w, self.standby_w)

    def data_bytes_bound(self) -> float:
        return 0.0

    def with_site(self, site) -> "IsruParams":
        """The feed's composition from the site's regolith where this instance gives none."""
        regolith = site.regolith_composition
        if regolith is None:
            return self
        update = {}
        if self.feo_wt_pct is None:
            update["feo_wt_pct"] = regolith.feo_wt_pct
        if self.oxygen_wt_pct is None:
            update["oxygen_wt_pct"] = regolith.oxygen_wt_pct
        if self.ice_wt_pct is None and regolith.ice_wt_pct is not None:
            update["ice_wt_pct"] = regolith.ice_wt_pct
        return self.model_validate({**self.model_dump(), **update}) if update else self

    @property
    def o2_yield(self) -> float:
        """kg of O2 per kg of feed: given, or from the feed's composition and the process, or
        (a plant built without a site) the process's fixed default."""
        if self.o2_yield_kg_per_kg_regolith is not None:
            return self.o2_yield_kg_per_kg_regolith
        if self.process == "hydrogen_reduction" and self.feo_wt_pct is not None:
            return self.reduced_feo_frac * self.feo_wt_pct / 100.0 * O_IN_FEO
        if self.process == "molten_regolith_electrolysis" and self.oxygen_wt_pct is not None:
            return self.extraction_frac * self.oxygen_wt_pct / 100.0
        if self.process == "water_ice_extraction" and self.ice_wt_pct is not None:
            return self.ice_wt_pct / 100.0 * O_IN_WATER
        return PROCESS_DEFAULTS[self.process]["o2_yield_kg_per_kg_regolith"]

    @property
    def energy_per_kg(self) -> float:
        """kWh per kg of O2: given, or for hydrogen reduction of a known feed, heating the feed per
        kg of oxygen it yields plus electrolysis and liquefaction (a leaner feed costs more)."""
        if self.energy_kwh_per_kg_o2 is not None:
            return self.energy_kwh_per_kg_o2
        if self.process == "hydrogen_reduction" and (self.feo_wt_pct is not None or self.o2_yield_kg_per_kg_regolith is not None):
            return hydrogen_reduction_kwh_per_kg(self)
        return PROCESS_DEFAULTS[self.process]["energy_kwh_per_kg_o2"]

    @model_validator(mode="after")
    def _ceiling(self) -> "IsruParams":
        ceiling = PROCESS_DEFAULTS[self.process]["max_yield"]
        if self.o2_yield > ceiling:
            raise ValueError(f"o2_yield_kg_per_kg_regolith {self.o2_yield} is above what {self.process} can extract ({ceiling} kg/kg, docs/references.md, ISRU)")
        if self.regolith_initial_kg > self.regolith_capacity_kg:
            raise ValueError("regolith_initial_kg must not exceed regolith_capacity_kg")
        return self


def hydrogen_reduction_kwh_per_kg(p: IsruParams, o2_yield: float | None = None) -> float:
    y = p.o2_yield if o2_yield is None else o2_yield
    heating = p.heat_capacity_j_per_kg_k * p.temperature_rise_k * (1.0 - p.heat_recovery_frac) / y / 3.6e6
    return heating + ELECTROLYSIS_KWH_PER_KG_O2 / p.electrolysis_efficiency + p.liquefaction_kwh_per_kg_o2


@dataclass(frozen=True)
class IsruState:
    stock_g: int  # regolith in the hopper
    tank_g: int  # O2 in the tank
    work_ug: int  # O2 made so far, micrograms (produced = floor(/1e6), processed = ceil(/yield_ppm))
    warmup_left_steps: int  # powered steps with work still needed before producing
    delivered_g: int  # regolith accepted into the hopper (besides the initial stock)
    refused_g: int  # regolith refused (hopper full, or not yet landed)
    offtaken_g: int  # O2 taken from the tank
    shortfall_g: int  # O2 asked for that the tank could not supply
    energy_mj: int
    producing_steps: int
    warmup_steps: int
    shed_steps: int  # deployed steps with a request while the class was switched off
    # Commanded (twin/commands.py): the production rate as a fraction of operating_power_w's, in
    # parts per million, and the plant's faults.
    throttle_ppm: int = 1_000_000
    faults: Faults = NO_FAULTS


def _ceil_div(a: np.ndarray | int, b: int):
    return -((-a) // b)


def _scheduled_g(k: np.ndarray, step_s: int, mg_per_day: int) -> np.ndarray:
    """Grams of a rate delivered over the first k steps: floor(k * step_s * mg_per_day / 8.64e7), overflow-safe."""
    seconds = k * step_s
    whole, rest = np.divmod(seconds, MG_PER_DAY_TO_G_PER_S)
    return whole * mg_per_day + (rest * mg_per_day) // MG_PER_DAY_TO_G_PER_S


def _prev(first, values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    out[0] = first
    out[1:] = values[:-1]
    return out


def _diff(values: np.ndarray, first) -> np.ndarray:
    """Each step's change, the step before the first being ``first``: ``np.diff(values,
    prepend=first)`` without its broadcasting, which cost a fifth of the plant's time."""
    out = np.empty_like(values)
    if len(values):
        out[0] = values[0] - first
        np.subtract(values[1:], values[:-1], out=out[1:])
    return out


def _first_false(valid: np.ndarray) -> int:
    bad = np.flatnonzero(~valid)
    return int(bad[0]) if bad.size else len(valid)


class IsruModel(Model):
    kind = "isru"
    summary = "ILRS-3 in-situ resource use: oxygen from the site's regolith (hydrogen reduction, molten regolith electrolysis or polar water ice)"
    Params = IsruParams
    ports = (
        Port("regolith", "mass:regolith", "kg per step", "in", "regolith offered to the hopper, per source", reply="regolith_refused"),
        Port("regolith_refused", "mass:regolith", "kg per step", "out", "what each source offered that the hopper could not take (the source keeps it)", feedback=True, addressed=True),
        POWER,
        POWERED,
        HEAT,
        OPERABLE,
    )
    state_types = (IsruState, Faults)
    commands = {"set-throttle": "run the plant at this fraction of its operating power and production rate (0 < throttle <= 1), from now on"}
    command_message = "services.gen.ilrs.twin.v1.isru_pb2:IsruCommand"
    fault_components = {"plant": ("the plant is down: it asks for no power and makes no oxygen (it is cold when it comes back)", ("fail",))}
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.isru_pb2:IsruState"

    def __init__(self, name: str, params: IsruParams, clock, seed: int):
        super().__init__(name, params, clock, seed)
        p = params
        step_s = clock.step_s
        # Nominal O2 per producing step in ug: P * step_s / (E * 3.6e6 J/kWh) kg, rounded to 1 ug.
        self.q_ug = int(round(p.operating_power_w * step_s * 1e3 / (p.energy_per_kg * 3.6)))
        if self.q_ug < 1:
            raise ValueError("isru: operating_power_w makes less than 1 ug of O2 per step")
        self.yield_ppm = max(1, int(round(p.o2_yield * 1e6)))
        self.hopper_g = int(round(p.regolith_capacity_kg * 1000))
        self.tank_cap_g = int(round(p.tank_capacity_kg * 1000))
        self.initial_g = min(int(round(p.regolith_initial_kg * 1000)), self.hopper_g)  # equal after validation
        self.warmup_total = int(math.ceil(round(p.warmup_h * 3600.0, 6) / step_s))
        self.op_mj = int(round(p.operating_power_w * step_s * 1000.0))
        self.sb_mj = int(round(p.standby_w * step_s * 1000.0))
        self.delivery_mg_day = int(round(p.regolith_delivery_kg_per_day * 1e6))
        self.offtake_mg_day = int(round(p.o2_offtake_kg_per_day * 1e6))
        # First step of each schedule: steps whose start time is at or after the date.
        self.deployed_step = self._first_step(p.deployed_unix_s)
        self.delivery_end_step = None if p.regolith_delivery_until is None else max(self._first_step(unix_s(p.regolith_delivery_until)), self.deployed_step)
        self.offtake_step = self.deployed_step if p.o2_offtake_start is None else max(self._first_step(unix_s(p.o2_offtake_start)), self.deployed_step)

    def rates(self, throttle_ppm: int) -> tuple[int, float, int]:
        """O2 per producing step (ug), operating power (W) and energy per producing step (mJ) at
        a throttle; at 1 exactly the nominal figures."""
        if throttle_ppm == 1_000_000:
            return self.q_ug, self.params.operating_power_w, self.op_mj
        f = throttle_ppm / 1e6
        return max(1, self.q_ug * throttle_ppm // 1_000_000), self.params.operating_power_w * f, int(round(self.op_mj * f))

    def command(self, state: IsruState, command):
        if command.name != "set-throttle":
            return super().command(state, command)
        throttle = command.arguments.get("throttle")
        if not isinstance(throttle, (int, float)) or isinstance(throttle, bool) or not math.isfinite(throttle) or not 0 < throttle <= 1:
            raise ValueError(f"throttle: {throttle!r} is not a fraction of the operating rate in (0, 1] (to stop the plant, fail it: fault {self.id}.plant fail)")
        if state.faults.level("plant") == 0:
            raise CommandRefused(f"{self.id}: the plant is down (fault {self.id}.plant); clear the fault before throttling it")
        return replace(state, throttle_ppm=max(1, int(round(throttle * 1e6))))

    def _first_step(self, when_s: int) -> int:
        return -(-(when_s - self.clock.start_unix_s) // self.clock.step_s)

    @property
    def load_class(self) -> LoadClass:
        return LoadClass.ISRU

    def initial_state(self) -> IsruState:
        return IsruState(self.initial_g, 0, 0, self.warmup_total, 0, 0, 0, 0, 0, 0, 0, 0)

    # -- per-step exogenous amounts --------------------------------------------------------
    def _schedule(self, idx: np.ndarray, start: int, end: int | None, mg_per_day: int) -> np.ndarray:
        """Integer grams of a constant rate in each step of ``idx`` (absolute indices), from step ``start`` to ``end``."""
        if mg_per_day == 0:
            return np.zeros(len(idx), dtype=np.int64)
        last = np.arange(idx[0] - 1, idx[-1] + 1, dtype=np.int64) - start + 1
        k = np.maximum(last, 0) if end is None else np.clip(last, 0, end - start)
        return np.diff(_scheduled_g(k, self.clock.step_s, mg_per_day))

    def offers_g(self, inputs: Mapping[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
        """Each connected source's offer per step, whole grams, in id order."""
        offers = []
        for route in self.inputs_of("regolith"):
            kg = np.asarray(inputs[route.in_key], dtype=np.float64)
            if not np.all(np.isfinite(kg)) or np.any(kg < 0):
                raise ValueError(f"inputs: {route.in_key!r} must be finite, non-negative kg per step")
            offers.append((route.source, np.rint(kg * 1000.0).astype(np.int64)))
        return offers

    @staticmethod
    def refusals_g(offers: list[tuple[str, np.ndarray]], refused: np.ndarray) -> dict[str, np.ndarray]:
        """Share a step's refusal among the sources: the last offers in id order first (the
        scenario's own deliveries are taken first, so what exceeds the offers is theirs)."""
        left = refused.copy()
        out = {}
        for source, offer in reversed(offers):
            out[source] = np.minimum(offer, left)
            left = left - out[source]
        return out

    # -- stretches ---------------------------------------------------------------------------
    def _idle(self, stock_g: int, tank_g: int, d: np.ndarray, off: np.ndarray):
        """No processing: the hopper only fills (up to capacity), the tank only drains (down to 0)."""
        stock = np.minimum(stock_g + np.cumsum(d), self.hopper_g)
        acc = _diff(stock, stock_g)
        level = tank_g - np.cumsum(off)
        short_cum = np.maximum.accumulate(np.maximum(-level, 0))
        tank = level + short_cum
        short = _diff(short_cum, 0)
        return stock, acc, tank, short

    def _produce(self, mode: str, stock_g: int, tank_g: int, work_ug: int, d: np.ndarray, off: np.ndarray, q: int):
        """A stretch under an assumed regime (``q``: ug of O2 per producing step); returns the number of steps k for which it is exact."""
        h = len(d)
        y, cap_t = self.yield_ppm, self.tank_cap_g
        if mode == "full":
            work = work_ug + q * np.arange(1, h + 1, dtype=np.int64)
        elif mode == "starved":  # all the hopper held is processed each step
            s_prev = _prev(stock_g, np.minimum(d, self.hopper_g))
            work = work_ug + y * np.cumsum(s_prev)
        elif mode == "tank":  # the tank is topped up each step
            t_prev = _prev(tank_g, np.maximum(cap_t - off, 0))
            work = work_ug + UG_PER_G * np.cumsum(cap_t - t_prev)
        else:  # exact: one step from the rule itself
            d, off = d[:1], off[:1]
            hw = stock_g > 0 and tank_g < cap_t
            w1 = min(work_ug + q, (_ceil_div(work_ug, y) + stock_g) * y, (work_ug // UG_PER_G + cap_t - tank_g) * UG_PER_G) if hw else work_ug
            work = np.array([w1], dtype=np.int64)
        processed = _ceil_div(work, y)
        p = _diff(processed, _ceil_div(work_ug, y))
        o = _diff(work // UG_PER_G, work_ug // UG_PER_G)
        level = stock_g + np.cumsum(d - p)
        refused_cum = np.maximum.accumulate(np.maximum(level - self.hopper_g, 0))
        stock = level - refused_cum
        acc = d - _diff(refused_cum, 0)
        t_level = tank_g + np.cumsum(o - off)
        short_cum = np.maximum.accumulate(np.maximum(-t_level, 0))
        tank = t_level + short_cum
        short = _diff(short_cum, 0)
        s_prev, t_prev, w_prev = _prev(stock_g, stock), _prev(tank_g, tank), _prev(work_ug, work)
        hw = (s_prev > 0) & (t_prev < cap_t)
        exact = np.where(hw, np.minimum(np.minimum(w_prev + q, (_ceil_div(w_prev, y) + s_prev) * y),
                                        (w_prev // UG_PER_G + cap_t - t_prev) * UG_PER_G), w_prev)
        k = _first_false(work == exact)
        return k, dict(stock=stock, acc=acc, tank=tank, short=short, p=p, work=work, hw=hw)

    # -- advance -----------------------------------------------------------------------------
    def advance(self, state: IsruState, window: Window, env, inputs, rng) -> Advance:
        n = window.steps
        idx = np.arange(window.start_step, window.start_step + n, dtype=np.int64)
        q, op_w, op_mj = self.rates(state.throttle_ppm)
        up = state.faults.level("plant") > 0
        on = self.powered(inputs, n) & up
        offers = self.offers_g(inputs)
        d_all = self._schedule(idx, self.deployed_step, self.delivery_end_step, self.delivery_mg_day) if n else np.zeros(0, np.int64)
        for _, offer in offers:  # fixed order
            d_all = d_all + offer
        off_all = self._schedule(idx, self.offtake_step, None, self.offtake_mg_day) if n else np.zeros(0, np.int64)

        stock = np.zeros(n, np.int64)
        tank = np.zeros(n, np.int64)
        work = np.zeros(n, np.int64)
        acc = np.zeros(n, np.int64)
        short = np.zeros(n, np.int64)
        proc = np.zeros(n, np.int64)
        code = np.zeros(n, np.int8)  # request: 0 none, 1 standby, 2 operating
        warming = np.zeros(n, bool)
        cold = np.zeros(n, bool)  # at the start of the step: a warm-up is still owed

        stock_g, tank_g, work_ug, warm = state.stock_g, state.tank_g, state.work_ug, state.warmup_left_steps
        s = int(np.clip(self.deployed_step - window.start_step, 0, n))
        # Before deployment: no request, no production, deliveries refused.
        stock[:s], tank[:s], work[:s] = 0, 0, work_ug
        if s < n:
            changes = np.flatnonzero(on[s + 1:] != on[s:-1]) + s + 1
        horizon = FIRST_HORIZON
        while s < n:
            run_end = int(changes[np.searchsorted(changes, s, side="right")]) if changes.size and changes[-1] > s else n
            h = min(horizon, run_end - s)
            d, off = d_all[s:s + h], off_all[s:s + h]
            if not on[s] or warm > 0:
                st, a, tk, sh = self._idle(stock_g, tank_g, d, off)
                hw = (_prev(stock_g, st) > 0) & (_prev(tank_g, tk) < self.tank_cap_g)
                k = h
                cold[s] = warm > 0
                if on[s]:
                    progress = np.cumsum(hw)
                    done = np.flatnonzero(progress >= warm)
                    if done.size:
                        k = int(done[0]) + 1
                    warm -= int(progress[k - 1])
                    warming[s:s + k] = hw[:k]
                    cold[s:s + k] = True  # warming: cold until the step that completes it
                elif k:
                    cold[s + 1:s + k] = self.warmup_total > 0
                    warm = self.warmup_total
                f = dict(stock=st, acc=a, tank=tk, short=sh, p=np.zeros(h, np.int64), work=np.full(h, work_ug, np.int64), hw=hw)
            else:
                # A regime holds for k > 0 steps exactly when its first step is the rule's, known
                # from scalars: only that regime's stretch is computed.
                y, cap_t = self.yield_ppm, self.tank_cap_g
                hw0 = stock_g > 0 and tank_g < cap_t
                w1 = min(work_ug + q, (_ceil_div(work_ug, y) + stock_g) * y, (work_ug // UG_PER_G + cap_t - tank_g) * UG_PER_G) if hw0 else work_ug
                firsts = {"full": work_ug + q, "starved": work_ug + y * stock_g, "tank": work_ug + UG_PER_G * (cap_t - tank_g)}
                mode = next((m for m, w in firsts.items() if w == w1), "exact")
                k, f = self._produce(mode, stock_g, tank_g, work_ug, d, off, q)
                assert k > 0
            code[s:s + k] = np.where(f["hw"][:k], 2, 1)
            stock[s:s + k] = f["stock"][:k]
            tank[s:s + k] = f["tank"][:k]
            work[s:s + k] = f["work"][:k]
            acc[s:s + k] = f["acc"][:k]
            short[s:s + k] = f["short"][:k]
            proc[s:s + k] = f["p"][:k]
            stock_g, tank_g, work_ug = int(f["stock"][k - 1]), int(f["tank"][k - 1]), int(f["work"][k - 1])
            horizon = min(horizon * 4, n) if k == h and s + k < run_end else FIRST_HORIZON
            s += k

        deployed = idx >= self.deployed_step
        w_prev = _prev(state.work_ug, work) if n else work
        # A warm plant draws what its feed and tank let it use this step (known from the step
        # before, so the request never depends on this step's switch); warming up takes full power.
        early = idx < self.deployed_step  # telemetry shows nothing there; the plant's own stocks wait
        s_prev = _prev(state.stock_g, np.where(early, state.stock_g, stock)) if n else stock
        t_prev = _prev(state.tank_g, np.where(early, state.tank_g, tank)) if n else tank
        y = self.yield_ppm
        potential = np.minimum(np.minimum(q, (_ceil_div(w_prev, y) + s_prev) * y - w_prev), (w_prev // UG_PER_G + self.tank_cap_g - t_prev) * UG_PER_G - w_prev)
        share = np.where(cold, 1.0, np.clip(potential, 0, q) / q)
        requested = np.where(code == 2, op_w * share, np.where(code == 1, self.params.standby_w, 0.0))
        requested = np.where(self.operable(inputs, n) & up, requested, 0.0)  # a failed plant asks for nothing
        power = np.where(on, requested, 0.0)
        made = work - w_prev
        ref = d_all - acc
        take = off_all - short
        energy = np.where(on & (code == 2), np.rint(op_mj * share).astype(np.int64), np.where(on & (code == 1), self.sb_mj, 0))
        produced_g = work // UG_PER_G
        processed_g = _ceil_div(work, self.yield_ppm)
        end = IsruState(
            stock_g=stock_g, tank_g=tank_g, work_ug=work_ug, warmup_left_steps=warm,
            delivered_g=state.delivered_g + int(acc.sum()),
            refused_g=state.refused_g + int(ref.sum()),
            offtaken_g=state.offtaken_g + int(take.sum()),
            shortfall_g=state.shortfall_g + int(short.sum()),
            energy_mj=state.energy_mj + int(energy.sum()),
            producing_steps=state.producing_steps + int((made > 0).sum()),
            warmup_steps=state.warmup_steps + int(warming.sum()),
            shed_steps=state.shed_steps + int((deployed & ~on & (requested > 0)).sum()),
            throttle_ppm=state.throttle_ppm,
            faults=state.faults,
        )
        telemetry = {
            "requested_w": requested,
            "power_w": power,
            "producing_frac": made / self.q_ug,
            "warming_frac": warming.astype(np.float64),
            "regolith_stock_kg": stock / 1000.0,
            "regolith_delivered_kg": acc / 1000.0,
            "regolith_refused_kg": ref / 1000.0,
            "regolith_processed_kg": proc / 1000.0,
            "o2_produced_kg": produced_g / 1000.0,
            "o2_tank_kg": tank / 1000.0,
            "o2_offtake_kg": take / 1000.0,
            "o2_shortfall_kg": short / 1000.0,
            "tailings_kg": (processed_g - produced_g) / 1000.0,
        }
        outputs = self.power_and_heat(requested, on)
        for source, grams in self.refusals_g(offers, ref).items():
            outputs[f"regolith_refused/{source}"] = grams / 1000.0
        return Advance(outputs, telemetry, end)

    def variables(self, state: IsruState) -> dict[str, float]:
        hours = self.clock.step_s / 3600.0
        produced_g = state.work_ug // UG_PER_G
        processed_g = -(-state.work_ug // self.yield_ppm)
        energy_kwh = state.energy_mj / MILLIJOULES_PER_KWH
        return {
            "regolith_stock_kg": state.stock_g / 1000.0,
            "regolith_initial_kg": self.initial_g / 1000.0,
            "regolith_delivered_kg": state.delivered_g / 1000.0,
            "regolith_refused_kg": state.refused_g / 1000.0,
            "regolith_processed_kg": processed_g / 1000.0,
            "tailings_kg": (processed_g - produced_g) / 1000.0,
            "o2_produced_kg": produced_g / 1000.0,
            "o2_tank_kg": state.tank_g / 1000.0,
            "o2_offtaken_kg": state.offtaken_g / 1000.0,
            "o2_shortfall_kg": state.shortfall_g / 1000.0,
            "energy_kwh": energy_kwh,
            "specific_energy_kwh_per_kg": energy_kwh / (produced_g / 1000.0) if produced_g else 0.0,
            "producing_hours": state.producing_steps * hours,
            "warmup_hours": state.warmup_steps * hours,
            "warmup_left_hours": state.warmup_left_steps * hours,
            "shed_hours": state.shed_steps * hours,
            "throttle_frac": state.throttle_ppm / 1e6,
        } | fault_variables(self, state.faults)
