"""The thermal kind: heaters that follow the site's surface temperature, modules cooling exactly
when their heat is shed, failures from the cold that take a module offline until repaired."""
from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.kinds.thermal.model import Enclosure, _enclosure
from twin.run import run
from twin.scenario import ScenarioError, parse

SPEC = Enclosure(heat_capacity_j_per_k=4.5e5, conductance_w_per_k=3.0, min_temp_k=263.15, survival_temp_k=233.15, heater_max_w=2000.0)


def test_held_the_heater_makes_up_what_the_module_does_not():
    n = 50
    r = _enclosure(SPEC, 60.0, np.full(n, 100.0), np.full(n, 100.0), np.ones(n, bool), 263.15, 0, 100)
    assert r["request"] == pytest.approx(np.full(n, 3.0 * (263.15 - 100.0) - 100.0), rel=1e-9)  # 389.45 W
    assert (r["temperature"] == 263.15).all() and r["operable"].all() and r["failures"] == 0
    # A warm surface: no heater, the module floats above its minimum (250 + 100 / 3 = 283.3 K).
    warm = _enclosure(SPEC, 60.0, np.full(n, 100.0), np.full(n, 250.0), np.ones(n, bool), 263.15, 0, 100)
    assert (warm["request"] == 0).all() and warm["temperature"][-1] == pytest.approx(250.0 + 100.0 / 3.0)
    # Hot noon regolith, or a module dissipating far more than it loses (500 W through 0.5 W/K in a
    # 100 K night would be 1100 K): the radiators hold it at +40 C.
    hot = _enclosure(SPEC, 60.0, np.full(n, 100.0), np.full(n, 380.0), np.ones(n, bool), 263.15, 0, 100)
    assert (hot["request"] == 0).all() and (hot["temperature"] == 313.15).all()
    busy = _enclosure(Enclosure(conductance_w_per_k=0.5), 60.0, np.full(n, 500.0), np.full(n, 100.0), np.ones(n, bool), 263.15, 0, 100)
    assert (busy["request"] == 0).all() and (busy["temperature"] == 313.15).all()


def test_unheated_it_cools_exactly_and_fails_below_its_survival_temperature():
    """Survival shed at 100 K surroundings: T = 100 + 163.15 a^k with a = exp(-60 x 3 / 4.5e5); it
    crosses 233.15 K after ln(133.15 / 163.15) / ln(a) steps (about 8.5 h), is offline from the
    next step for the repair time, and comes back at 263.15 K."""
    n, repair = 900, 120
    a = math.exp(-60.0 * 3.0 / 4.5e5)
    r = _enclosure(SPEC, 60.0, np.zeros(n), np.full(n, 100.0), np.zeros(n, bool), 263.15, 0, repair)
    k = math.ceil(math.log(133.15 / 163.15) / math.log(a))  # steps until below survival
    assert r["temperature"][k - 2] == pytest.approx(100.0 + 163.15 * a ** (k - 1), rel=1e-12)
    assert r["temperature"][k - 2] >= 233.15 > r["temperature"][k - 1]
    assert r["failures"] == 1 and r["operable"][:k].all()
    assert not r["operable"][k:k + repair].any() and r["temperature"][k + repair - 1] == 263.15
    assert (r["request"][k:k + repair] == 0).all()


STATION = """
[scenario]
name = "thermal"

[site]
name = "aristarchus"
terrain = "flat"

[time]
start = "2030-01-01T00:00:00Z"
end = "{end}"
step = "60s"

[exchange]
max_window = "{window}"

[modules.energy]
deployed = "2030-01-01T00:00:00Z"
[modules.energy.solar]
area_m2 = {area}
[modules.energy.storage]
capacity_kwh = {storage}
[modules.energy.survival]
heater_day_w = 0.0
heater_night_w = 0.0

[modules.thermal]
deployed = "2030-01-01T00:00:00Z"
repair_h = 48.0
[modules.thermal.default]
conductance_w_per_k = 3.0   # a leaky enclosure: it freezes within hours of losing its heater

[modules.lab]
kind = "general"
deployed = "2030-01-01T00:00:00Z"
power_w = 300.0
night_power_w = 100.0
"""


def station(tmp_path, name, end="2030-03-01T00:00:00Z", window="30d", area=30.0, storage=400.0):
    out = tmp_path / name
    summary = run(parse(STATION.format(end=end, window=window, area=area, storage=storage), f"{name}.toml"), runtime="local", out=out)
    tables = {id: {k: np.array(v) for k, v in pq.read_table(out / "telemetry" / f"{id}.parquet").to_pydict().items() if k != "time"} for id in ("thermal", "lab")}
    return summary, {**tables["thermal"], **{f"lab.{k}": v for k, v in tables["lab"].items()}}


def test_the_heaters_follow_the_lunar_night(tmp_path):
    s, th = station(tmp_path, "night")
    night, day = th["surface_temperature_k"] < 120.0, th["surface_temperature_k"] > 300.0
    assert night.sum() > 10 * 1440 and day.sum() > 5 * 1440
    expected = 3.0 * (263.15 - th["surface_temperature_k"][night]) - th["lab.power_w"][night]  # G (T_min - T_env) - the lab's own heat
    assert th["heater_w"][night] == pytest.approx(expected, rel=1e-9)
    assert (th["heater_w"][day] == 0).all()
    assert s["modules"]["thermal"]["failures_count"] == 0
    assert s["modules"]["thermal"]["heater_kwh"] == pytest.approx(th["heater_w"].sum() * 60 / 3.6e6, abs=1e-3)


def test_a_station_that_sheds_survival_loses_its_modules_to_the_cold(tmp_path):
    s, th = station(tmp_path, "cold", area=4.0, storage=20.0)
    assert s["energy"]["shed_hours"]["survival"] > 9.0
    assert s["modules"]["thermal"]["failures_count"] >= 1 and s["modules"]["thermal"]["lab_failed_hours"] >= 48.0
    assert th["lab_temperature_k"].min() < 233.15
    assert s["modules"]["lab"]["powered_hours"] < 59 * 24 - 48  # offline while failed (and shed)


def test_a_module_has_no_enclosure_to_freeze_before_it_lands(tmp_path):
    """The cold station again, but the lab lands on 2030-01-20: until then it is held at T_min
    with no heater and cannot fail; after its landing it freezes as before."""
    text = STATION.format(end="2030-03-01T00:00:00Z", window="30d", area=4.0, storage=20.0)
    text = text.replace('[modules.lab]\nkind = "general"\ndeployed = "2030-01-01T00:00:00Z"', '[modules.lab]\nkind = "general"\ndeployed = "2030-01-20T00:00:00Z"')
    assert '"2030-01-20T00:00:00Z"' in text
    s = run(parse(text, "late.toml"), runtime="local", out=tmp_path / "late")
    table = pq.read_table(tmp_path / "late" / "telemetry" / "thermal.parquet")
    th = {k: table.column(k).to_numpy() for k in table.column_names}
    before = th["time"] < np.datetime64("2030-01-20T00:00:00")
    assert before.sum() == 19 * 1440
    assert (th["lab_temperature_k"][before] == 263.15).all() and (th["lab_heater_w"][before] == 0).all()
    assert (th["lab_operable"][before] == 1).all()
    assert s["modules"]["thermal"]["failures_count"] >= 1  # it does freeze once it is there


def test_windows_give_identical_thermal_telemetry(tmp_path):
    _, whole = station(tmp_path, "whole", end="2030-01-20T00:00:00Z", window="30d", area=4.0, storage=20.0)
    _, split = station(tmp_path, "split", end="2030-01-20T00:00:00Z", window="7h", area=4.0, storage=20.0)
    assert whole.keys() == split.keys() and all(np.array_equal(whole[k], split[k]) for k in whole)
    assert (whole["lab_operable"] == 0).any()  # the case includes a failure


def test_energy_heaters_must_give_way_to_the_thermal_instance():
    text = STATION.format(end="2030-01-02T00:00:00Z", window="1d", area=30.0, storage=400.0).replace("heater_night_w = 0.0", "heater_night_w = 350.0")
    with pytest.raises(ScenarioError, match="modules.thermal.*heater_night_w"):
        parse(text, "bad.toml")


def test_ray_and_local_give_identical_thermal_telemetry(tmp_path, ray_cluster):
    text = STATION.format(end="2030-01-06T00:00:00Z", window="2d", area=4.0, storage=20.0)
    tables = {}
    for runtime in ("local", "ray"):
        run(parse(text, "t.toml"), runtime=runtime, out=tmp_path / runtime)
        tables[runtime] = {id: pq.read_table(tmp_path / runtime / "telemetry" / f"{id}.parquet") for id in ("thermal", "lab", "energy")}
    for id in ("thermal", "lab", "energy"):
        assert tables["local"][id].equals(tables["ray"][id]), id
