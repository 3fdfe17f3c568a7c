"""Robots' dock: one holder at a time, served by rank (the dock's priority, then by id),
refusals counted; in a station never two robots charging in one step, the first-ranked robot
never kept waiting, and the robots' charging is demand in their load class."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import conduct, wire
from twin.clock import Clock, parse_utc, unix_s
from twin.kinds.dock.model import DockModel, DockParams
from twin.loads import LoadClass
from twin.model import Window
from twin.robotics.machine import CHARGING, HOME

START = parse_utc("2030-01-01T00:00:00Z")
ROBOTS = ("rover-a", "rover-b", "rover-c")


def dock(steps: int, robots=ROBOTS, deployed: str = "2030-01-01T00:00:00Z", priority=(), step_s: int = 60) -> DockModel:
    """A dock asked by ``robots``: inputs ``dock/<id>``."""
    c = Clock(unix_s(START), step_s, steps)
    params = DockParams.model_validate({"deployed": deployed, "priority": list(priority)})
    return wire(DockModel("dock", params, c, seed=0), powered_by=None, dock=list(robots))


def asks(n: int, *ranges: tuple[int, int]) -> np.ndarray:
    on = np.zeros(n)
    for a, b in ranges:
        on[a:b] = 1.0
    return on


def advance(model: DockModel, inputs: dict, state=None, start: int = 0):
    n = len(next(iter(inputs.values())))
    return model.advance(model.initial_state() if state is None else state, Window(start, n, model.clock), {}, inputs, np.random.default_rng(0))


def holders(inputs: dict, out, robots=ROBOTS) -> np.ndarray:
    """Who holds the dock at each step (-1: nobody), from the dock's record: ``waiting`` counts
    those asking but the holder, so the holder is the one asker the record does not refuse."""
    n = out.telemetry["held"].size
    asking = np.array([inputs[f"dock/{id}"] > 0 for id in robots])
    assert np.array_equal(out.telemetry["waiting"], np.maximum(asking.sum(axis=0) - 1, 0)), "a refusal per asker but one"
    assert np.array_equal(out.telemetry["held"] > 0, asking.any(axis=0))
    return np.where(asking.any(axis=0), np.argmax(asking, axis=0), -1) if n else np.array([], int)


def test_the_first_ranked_asker_holds_it_and_refusals_are_counted():
    # rover-a asks over steps 0-4, rover-c over 1-9, rover-b over 2-8; ranked by id. rover-a holds
    # it 0-4; then rover-b, ranked before rover-c (though rover-c asked first), 5-8; rover-c 9.
    # Refused: rover-c 1-8 (8 steps), rover-b 2-4 (3): 11. Three handovers; 10 steps held.
    model = dock(12)
    inputs = {"dock/rover-a": asks(12, (0, 5)), "dock/rover-b": asks(12, (2, 9)), "dock/rover-c": asks(12, (1, 10))}
    out = advance(model, inputs)
    assert np.array_equal(out.telemetry["held"], asks(12, (0, 10)))
    assert out.telemetry["waiting"].tolist() == [0, 1, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0]
    assert holders(inputs, out).tolist() == [0] * 5 + [1] * 4 + [2] + [-1] * 2
    assert (out.state.held_steps, out.state.refusals, out.state.handovers, out.state.holder) == (10, 11, 3, "")
    assert model.variables(out.state) == pytest.approx({"held_hours": 10 / 60, "refused_hours": 11 / 60, "handovers_count": 3.0})


def test_the_docks_priority_ranks_first_and_the_holder_yields_to_it():
    # priority = [rover-c]: ranked c, a, b. rover-a holds it at step 0; rover-c, asking from step
    # 1, takes it from there (rover-a refused 1-4); rover-b waits 2-8 behind rover-c.
    model = dock(12, priority=["rover-c"])
    inputs = {"dock/rover-a": asks(12, (0, 5)), "dock/rover-b": asks(12, (2, 9)), "dock/rover-c": asks(12, (1, 10))}
    out = advance(model, inputs)
    assert out.telemetry["waiting"].tolist() == [0, 1, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0]
    assert (out.state.refusals, out.state.handovers) == (4 + 7, 2)
    asking = np.array([inputs[f"dock/{id}"] > 0 for id in ("rover-c", "rover-a", "rover-b")])  # by rank
    first = np.where(asking.any(axis=0), np.argmax(asking, axis=0), -1)
    assert first.tolist() == [1] + [0] * 9 + [-1] * 2  # rover-a at 0, rover-c 1-9
    assert DockParams.model_validate({"deployed": "2030-01-01T00:00:00Z"}).priority == []


def test_before_its_landing_nobody_holds_it():
    # Landing at 00:05 (step 5 of 60 s steps): over steps 0-4 nobody holds it and nobody is
    # counted refused; from step 5, rover-a (ranked first) holds it, rover-b waits.
    model = dock(8, robots=("rover-a", "rover-b"), deployed="2030-01-01T00:05:00Z")
    out = advance(model, {"dock/rover-a": asks(8, (3, 8)), "dock/rover-b": asks(8, (1, 8))})
    assert np.array_equal(out.telemetry["held"], asks(8, (5, 8)))
    assert np.array_equal(out.telemetry["waiting"], asks(8, (5, 8)))
    assert (out.state.holder, out.state.refusals, out.state.handovers, out.state.held_steps) == ("rover-a", 3, 1, 3)


def test_a_dock_nobody_asks_is_free():
    model = dock(5)
    out = advance(model, {f"dock/{id}": np.zeros(5) for id in ROBOTS})
    assert np.all(out.telemetry["held"] == 0) and np.all(out.telemetry["waiting"] == 0) and out.state == model.initial_state()


@st.composite
def requests(draw, n: int = 60):
    """Each robot asks over a few random stretches (as a robot does: from a request to full)."""
    series = {}
    for id in ROBOTS:
        on = np.zeros(n)
        for _ in range(draw(st.integers(0, 3))):
            a = draw(st.integers(0, n - 1))
            on[a:a + draw(st.integers(1, 20))] = 1.0
        series[f"dock/{id}"] = on
    return series


@settings(max_examples=25, deadline=None)
@given(inputs=requests(), cuts=st.lists(st.integers(1, 59), max_size=4, unique=True))
def test_one_holder_by_rank_and_the_same_however_the_windows_are_cut(inputs, cuts):
    n = 60
    model = dock(n)
    whole = advance(model, inputs)
    holder = holders(inputs, whole)
    asking = sum(inputs[f"dock/{id}"] > 0 for id in ROBOTS)
    assert whole.state.refusals == int(asking.sum() - (holder >= 0).sum())
    assert whole.state.held_steps == int((holder >= 0).sum())
    changes = np.r_[-1, holder]
    assert whole.state.handovers == int(np.count_nonzero((changes[1:] != changes[:-1]) & (changes[1:] >= 0)))
    # Cut into windows anywhere: the same telemetry and end state.
    state, parts = model.initial_state(), []
    bounds = [0, *sorted(cuts), n]
    for a, b in zip(bounds, bounds[1:]):
        out = advance(model, {k: v[a:b] for k, v in inputs.items()}, state, start=a)
        parts.append(out)
        state = out.state
    assert state == whole.state
    for key in whole.telemetry:
        assert np.array_equal(np.concatenate([p.telemetry[key] for p in parts]), whole.telemetry[key]), key


# -- in a station: two rovers and a hopper share one dock through a lunar sunset ---------------------
FLEET = """
[scenario]
name = "dock-fleet"
seed = 11

[site]
name = "aristarchus"

[time]
start = "2030-01-29T00:00:00Z"
end = "2030-02-01T00:00:00Z"
step = "600s"

[exchange]
max_window = "1d"

[modules.energy]
deployed = "2030-01-29T00:00:00Z"
solar = { area_m2 = 20.0 }
fission = { power_kwe = 6.0 }

[modules.communications]
deployed = "2030-01-29T00:00:00Z"

[modules.isru]
deployed = "2030-01-29T00:00:00Z"
regolith_delivery_kg_per_day = 0.0

[modules.dock]
deployed = "2030-01-29T00:00:00Z"

[modules.rover-1]
kind = "rover"
deployed = "2030-01-29T00:00:00Z"
task = "haul"

[modules.rover-2]
kind = "rover"
deployed = "2030-01-29T00:00:00Z"
task = ["haul", "survey"]

[modules.hopper-1]
kind = "hopper"
deployed = "2030-01-29T00:00:00Z"
task = "survey"
"""
FLEET_ROBOTS = ("rover-1", "rover-2", "hopper-1")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """The station run through the conductor: (scenario, conductor, telemetry by id)."""
    from twin.environment.station import StationEnvironment
    from twin.scenario import parse
    from twin.station import Station

    scenario = parse(FLEET, "dock-fleet.toml")
    station = Station(scenario)
    folder = tmp_path_factory.mktemp("dock-fleet")
    conductor = conduct(list(station.models.values()), scenario.clock, StationEnvironment(scenario, station.models), scenario.window_steps, folder)
    telemetry = {id: pq.read_table(folder / f"{id}.parquet").to_pydict() for id in station.models}
    return scenario, conductor, {id: {k: np.asarray(v) for k, v in t.items() if k != "time"} for id, t in telemetry.items()}


def test_in_a_station_never_two_robots_charge_in_one_step(fleet):
    scenario, conductor, tm = fleet
    state = {id: tm[id]["state"].astype(int) for id in FLEET_ROBOTS}
    charging = sum((state[id] == CHARGING).astype(int) for id in FLEET_ROBOTS)
    assert charging.max() == 1
    # The dock is held exactly while a robot charges or is granted it (the step it asks and gets
    # it: at home; it charges from the next step). Each grant is a handover.
    granted = {id: np.r_[(state[id][:-1] == HOME) & (state[id][1:] == CHARGING), False] for id in FLEET_ROBOTS}
    held = np.any([(state[id] == CHARGING) | granted[id] for id in FLEET_ROBOTS], axis=0)
    assert np.array_equal(tm["dock"]["held"], held.astype(float))
    dock_state = conductor.handles["dock"].host.state
    grants = sum(int(g.sum()) for g in granted.values())
    assert dock_state.handovers == grants > 3
    assert dock_state.held_steps == int(held.sum())
    # Contention happened and every refused robot-step is counted.
    assert dock_state.refusals == int(tm["dock"]["waiting"].sum()) > 0
    v = conductor.handles["dock"].variables()
    assert v["refused_hours"] == pytest.approx(dock_state.refusals * 600 / 3600)


def waits(conductor, tm, id) -> int:
    """Steps ``id`` spent at home, undocked, after a step that ended below its recharge level: it
    asked for the dock then and did not get it (granted, it would be charging from the next)."""
    config = conductor.handles[id].host.model.config()
    phase = tm[id]["state"].astype(int)
    battery = np.rint(tm[id]["battery_wh"] * 3.6e6).astype(np.int64)
    low = np.r_[False, battery[:-1] < config.recharge_mj]
    asked = (phase == HOME) & low
    return int(np.count_nonzero(asked[:-1] & (phase[1:] == HOME)))


def test_in_a_station_the_first_ranked_robot_never_waits(fleet):
    """Ranked by id (no priority): hopper-1, rover-1, rover-2. The first is granted the dock at
    the step it asks, whoever charges there; the others wait their turn."""
    _, conductor, tm = fleet
    assert conductor.handles["dock"].host.model.ranked(list(FLEET_ROBOTS)) == ["hopper-1", "rover-1", "rover-2"]
    assert waits(conductor, tm, "hopper-1") == 0
    assert waits(conductor, tm, "rover-1") + waits(conductor, tm, "rover-2") > 0


def test_charging_is_demand_in_the_robots_load_class(fleet):
    scenario, conductor, tm = fleet
    models = {id: h.host.model for id, h in conductor.handles.items()}
    assert {models[id].load_class for id in FLEET_ROBOTS} == {LoadClass.ISRU}
    # Docked and powered, a robot draws its charger plus its hotel load (day) or heater (night):
    # 200 + 25 or 200 + 8 W for a rover, 60 + 8 or 60 + 3 W for a hopper; nothing otherwise.
    for id, (day_w, night_w) in {"rover-1": (225.0, 208.0), "rover-2": (225.0, 208.0), "hopper-1": (68.0, 63.0)}.items():
        charging = tm[id]["state"] == CHARGING
        assert charging.sum() > 10, id
        assert set(np.unique(tm[id]["power_w"][charging])) <= {day_w, night_w}, id
        assert np.all(tm[id]["power_w"][~charging] == 0.0), id
    # The ISRU-and-robots class's demand on the energy system: the plant's request and the
    # robots' charging draws (the class is never shed here, so each draw is its request).
    assert np.all(tm["energy"]["isru_unserved_w"] == 0.0)
    robots_w = sum(tm[id]["power_w"] for id in FLEET_ROBOTS)
    assert tm["energy"]["isru_demand_w"] == pytest.approx(tm["isru"]["requested_w"] + robots_w, rel=1e-9)  # the bus counts whole mJ
    assert robots_w.max() > 0
    # The energy each robot drew from the station is its charging steps' draws (its grid ledger, mJ).
    for id in FLEET_ROBOTS:
        state = conductor.handles[id].host.state
        assert state.grid_mj == int(round(tm[id]["power_w"].sum() * 600 * 1000)), id


LATE_DOCK = """
[scenario]
name = "late-dock"
seed = 2

[site]
name = "aristarchus"
terrain = "flat"

[time]
start = "2030-01-29T00:00:00Z"
end = "2030-01-29T18:00:00Z"
step = "600s"

[modules.energy]
deployed = "2030-01-29T00:00:00Z"

[modules.isru]
deployed = "2030-01-29T00:00:00Z"
regolith_delivery_kg_per_day = 0.0

[modules.dock]
deployed = "2030-01-29T08:00:00Z"

[modules.rover-1]
kind = "rover"
deployed = "2030-01-29T00:00:00Z"
"""


def test_robots_wait_for_a_dock_that_has_not_landed(tmp_path):
    from twin.environment.station import StationEnvironment
    from twin.scenario import parse
    from twin.station import Station

    scenario = parse(LATE_DOCK, "late-dock.toml")
    station = Station(scenario)
    conductor = conduct(list(station.models.values()), scenario.clock, StationEnvironment(scenario, station.models), scenario.window_steps, tmp_path)
    tm = {id: {k: np.asarray(v) for k, v in pq.read_table(tmp_path / f"{id}.parquet").to_pydict().items() if k != "time"} for id in ("dock", "rover-1")}
    phase = tm["rover-1"]["state"].astype(int)
    landing = 8 * 6  # 08:00 at 600 s steps
    # Hauling from a full battery it drops below its recharge level within the morning and asks;
    # nothing holds the dock before its landing, so it waits at home (on its battery) until then.
    assert waits(conductor, tm, "rover-1") > 0
    assert not np.any(phase[:landing] == CHARGING) and np.all(tm["dock"]["held"][:landing] == 0)
    assert np.any(phase[landing:] == CHARGING) and phase[landing] == HOME and phase[landing + 1] == CHARGING
