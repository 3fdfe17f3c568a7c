"""General technologies (ILRS-4): a scenario-given load and data rate against hand-computed cases,
its load class honoured by the energy system's shedding, split invariance."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conftest import conduct, switched, wire
from twin.clock import Clock, parse_utc, unix_s
from twin.kinds.energy.model import EnergyModel, EnergyParams
from twin.kinds.general.model import GeneralModel, GeneralParams, GeneralState
from twin.loads import LoadClass
from twin.model import Window
from twin.params import MILLIJOULES_PER_KWH

START = parse_utc("2034-01-01T00:00:00Z")


def clock(steps: int, step_s: int = 60) -> Clock:
    return Clock(unix_s(START), step_s, steps)


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


def general(c: Clock, id: str = "general", **params) -> GeneralModel:
    data = {"deployed": at(0), "power_w": 1500.0, **params}
    return wire(GeneralModel(id, GeneralParams.model_validate(data), c, seed=0))


def run(model: GeneralModel, visible, on=None, state=None, start: int = 0):
    visible = np.asarray(visible, dtype=np.float64)
    n = len(visible)
    on = np.ones(n, bool) if on is None else np.asarray(on, bool)
    window = Window(start, n, model.clock)
    return model.advance(state or model.initial_state(), window, {"sun_visible_frac": visible}, switched(on), np.random.default_rng(0))


def test_contract_and_load_class():
    model = general(clock(1), load_class="isru")
    assert model.kind == "general"
    assert [(p.name, p.direction, p.feedback) for p in model.ports] == [("power", "out", False), ("powered", "in", True), ("data", "out", False), ("heat", "out", False), ("operable", "in", True)]
    assert model.environment == ("sun_visible_frac",)
    assert model.load_class is LoadClass.ISRU and model.port_attributes("power") == {"load_class": "isru"}
    assert general(clock(1)).load_class is LoadClass.SCIENCE  # the default
    assert general(clock(1), load_class="communications").port_attributes("power") == {"load_class": "communications"}
    with pytest.raises(ValidationError):
        general(clock(1), load_class="survival")  # survival loads are the energy system's own
    with pytest.raises(ValidationError):
        general(clock(1), power_w=-1.0)


def test_day_and_night_demand():
    # 1500 W by day, 800 W by night, blended by the visible fraction of the solar disk:
    # 800 + (1500 - 800) x f.
    model = general(clock(5), night_power_w=800.0)
    out = run(model, [1.0, 0.0, 0.5, 0.25, 1.0])
    assert list(out.telemetry["requested_w"]) == [1500.0, 800.0, 1150.0, 975.0, 1500.0]
    assert list(out.outputs["power"]) == [1500.0, 800.0, 1150.0, 975.0, 1500.0]
    assert list(out.telemetry["power_w"]) == [1500.0, 800.0, 1150.0, 975.0, 1500.0]
    # A night level above the day level (heaters) works the same way round.
    warm = general(clock(2), power_w=200.0, night_power_w=500.0)
    assert list(run(warm, [1.0, 0.0]).telemetry["requested_w"]) == [200.0, 500.0]
    # Without a night level the demand is the same day and night.
    flat = general(clock(3), power_w=300.0)
    assert list(run(flat, [1.0, 0.0, 0.5]).telemetry["requested_w"]) == [300.0, 300.0, 300.0]


def test_nothing_before_landing_and_nothing_while_shed():
    c = clock(6)
    model = general(c, deployed=at(2), night_power_w=800.0, data_rate_bps=800.0)
    out = run(model, np.zeros(6), on=[1, 1, 1, 0, 1, 0])
    tm = out.telemetry
    assert list(tm["requested_w"]) == [0.0, 0.0, 800.0, 800.0, 800.0, 800.0]
    assert list(tm["power_w"]) == [0.0, 0.0, 800.0, 0.0, 800.0, 0.0]
    assert list(tm["powered_frac"]) == [1.0, 1.0, 1.0, 0.0, 1.0, 0.0]
    # 800 bit/s x 60 s / 8 = 6000 bytes per running step.
    assert list(tm["data_produced_bytes"]) == [0, 0, 6000, 0, 6000, 0]
    assert out.state == GeneralState(energy_mj=2 * 800 * 60 * 1000, powered_steps=2, shed_steps=2)
    v = model.variables(out.state)
    assert v == {"energy_kwh": 2 * 800 * 60 / 3.6e6, "powered_hours": 2 / 60, "shed_hours": 2 / 60, "data_produced_bytes": 12000.0}
    assert v["energy_kwh"] == pytest.approx(out.state.energy_mj / MILLIJOULES_PER_KWH)


def test_data_bytes_by_hand():
    # 100 bit/s at 1 s steps is 12.5 bytes a running second, counted in whole bytes: the running
    # total after S running seconds is floor(12.5 S): 12, 25, 37, 50, 62, ...
    model = general(clock(8, step_s=1), power_w=10.0, data_rate_bps=100.0)
    out = run(model, np.ones(8), on=[1, 1, 0, 1, 1, 1, 0, 1])
    # running seconds 1, 2, 2, 3, 4, 5, 5, 6 -> totals 12, 25, 25, 37, 50, 62, 62, 75
    assert list(out.telemetry["data_produced_bytes"]) == [12, 13, 0, 12, 13, 12, 0, 13]
    assert out.outputs["data"].dtype == np.int64
    assert np.array_equal(out.outputs["data"], out.telemetry["data_produced_bytes"])
    assert model.variables(out.state)["data_produced_bytes"] == 75.0
    # A module without demand does not run, so it produces nothing.
    idle = general(clock(3, step_s=1), power_w=0.0, data_rate_bps=100.0)
    assert list(run(idle, np.ones(3)).telemetry["data_produced_bytes"]) == [0, 0, 0]
    # 20 kbit/s at 60 s steps (the small scenario's ILRS-4 module): 150,000 bytes a step.
    busy = general(clock(4), power_w=300.0, data_rate_bps=20_000.0)
    assert list(run(busy, np.ones(4)).telemetry["data_produced_bytes"]) == [150_000] * 4


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), cut=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_split_invariance(n, cut, seed):
    rng = np.random.default_rng(seed)
    model = general(clock(n, step_s=int(rng.integers(1, 120))), deployed=at(int(rng.integers(0, 3))),
                    night_power_w=float(rng.uniform(0, 2000)), data_rate_bps=float(rng.uniform(0, 5000)))
    visible = rng.uniform(0, 1, n).round(1)
    on = rng.integers(0, 2, n).astype(bool)
    whole = run(model, visible, on)
    k = max(1, min(n - 1, int(cut * n)))
    first = run(model, visible[:k], on[:k])
    second = run(model, visible[k:], on[k:], state=first.state, start=k)
    assert second.state == whole.state
    for name, values in whole.telemetry.items():
        assert np.array_equal(values, np.concatenate([first.telemetry[name], second.telemetry[name]])), name
    # The data total is the whole bytes of the running seconds, however the window was cut.
    running_s = int(((whole.telemetry["requested_w"] > 0) & on).sum()) * model.clock.step_s
    assert int(whole.telemetry["data_produced_bytes"].sum()) == int(np.floor(running_s * model.params.data_rate_bps / 8.0))


class DarkSky:
    """Night at the site: no sunlight at all (the arrays give nothing, the loads run at night level)."""

    def sample(self, times) -> dict:
        n = len(times)
        return {"sun_elevation_deg": np.full(n, -5.0), "sun_azimuth_deg": np.zeros(n),
                "sun_visible_frac": np.zeros(n), "solar_irradiance_w_m2": np.full(n, 1361.0),
                "sun_eclipsed_frac": np.zeros(n)}


def test_its_load_class_is_shed_in_the_ladders_order(tmp_path):
    """Two ILRS-4 modules on a station running on storage alone: a 600 W drill in the ISRU class
    and a 300 W beacon in the communications class. The ladder lets ISRU draw storage down to
    50%, communications to 30%.

    10 kWh is 3.6e10 mJ; both on draw 900 W x 60 s = 5.4e7 mJ a step (discharge efficiency 1):
    from 60% (2.16e10 mJ) the drill may run while storage stays at or above 1.8e10 mJ, i.e. 66
    steps (2.16e10 - 66 x 5.4e7 = 1.8036e10). The beacon alone then draws 1.8e7 mJ a step, down to
    1.08e10 mJ: (1.8036e10 - 1.08e10) / 1.8e7 = 402 steps more, so it is shed from step 468."""
    n = 600
    c = clock(n)
    drill = GeneralModel("drill", GeneralParams(deployed=at(0), power_w=600.0, data_rate_bps=8000.0, load_class="isru"), c, 0)
    beacon = GeneralModel("beacon", GeneralParams(deployed=at(0), power_w=300.0, load_class="communications"), c, 0)
    energy = EnergyModel("energy", EnergyParams.model_validate({
        "deployed": at(0),
        "solar": {"area_m2": 0.0},
        "survival": {"avionics_w": 0.0, "heater_day_w": 0.0, "heater_night_w": 0.0},
        "storage": {"capacity_kwh": 10.0, "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "initial_soc_frac": 0.6,
                    "min_soc_frac": 0.2, "restore_soc_frac": 0.55,
                    "floor_soc_frac": {"communications": 0.3, "science": 0.4, "isru": 0.5}},
    }), c, 0)
    conduct([drill, beacon, energy], c, DarkSky(), 100, tmp_path)
    d = pq.read_table(tmp_path / "drill.parquet").to_pydict()
    b = pq.read_table(tmp_path / "beacon.parquet").to_pydict()
    e = pq.read_table(tmp_path / "energy.parquet").to_pydict()
    expect_drill = np.arange(n) < 66
    expect_beacon = np.arange(n) < 468
    assert np.array_equal(np.array(d["powered_frac"]) == 1.0, expect_drill)
    assert np.array_equal(np.array(b["powered_frac"]) == 1.0, expect_beacon)
    assert np.array_equal(d["power_w"], np.where(expect_drill, 600.0, 0.0))
    assert np.array_equal(b["power_w"], np.where(expect_beacon, 300.0, 0.0))
    assert np.all(np.array(d["requested_w"]) == 600.0) and np.all(np.array(b["requested_w"]) == 300.0)
    assert np.array_equal(d["data_produced_bytes"], np.where(expect_drill, 60_000, 0))  # 8000 bit/s x 60 s / 8
    # The energy system saw the requests in their classes and shed exactly them.
    assert np.array_equal(e["isru_demand_w"], np.full(n, 600.0)) and np.array_equal(e["communications_demand_w"], np.full(n, 300.0))
    assert np.array_equal(e["isru_unserved_w"], np.where(expect_drill, 0.0, 600.0))
    assert np.array_equal(e["communications_unserved_w"], np.where(expect_beacon, 0.0, 300.0))
    storage_mj = np.rint(np.array(e["storage_kwh"]) * MILLIJOULES_PER_KWH)
    assert storage_mj[65] == 2.16e10 - 66 * 5.4e7 and storage_mj[467] == 1.08e10
