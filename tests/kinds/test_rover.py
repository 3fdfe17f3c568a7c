"""Mini-rover and the shared sortie machine (twin.robotics): hand-computed sorties, ledgers and the
night planner; window-split invariance; a fleet feeding ISRU, the energy system and
communications; local and Ray alike; bad input refused; full-physics sorties inside a run."""
from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import conduct, wire
from twin.cli import app
from twin.model import ModelHost, Window
from twin.robotics import machine
from twin.robotics.machine import AWAY, CHARGING, DEAD, HOME, INBOUND, OUTBOUND, RECOVERING, WORKING, Config, Leg
from twin.robotics.robot import TASK_CODES

# -- the sortie machine, by hand ---------------------------------------------------------------------
# Integer units per step: a 10,000 mJ battery; 100 mJ per docked step into it; a hotel load of 10
# and a heater of 4 per step; reserve 2000, ask for the dock below 8000, leave it from 9000. One
# task whose (only) sortie costs 3000: 10 steps out (1000), 5 digging 20 kg (1000), 10 back (1000).
CFG = Config(landing_step=0, step_s=60, capacity_mj=10_000, charge_mj=100, charger_w=200.0, hotel_w=25.0, heater_w=8.0, hotel_mj=10, heater_mj=4,
             reserve_mj=2000, recharge_mj=8000, depart_mj=9000, retry_steps=5, tasks=1, need_mj=(3000,))
OUT_LEG = Leg(OUTBOUND, 0, 0, 10_000, 0, 10, 1000, 10_000)
DIG_LEG = Leg(WORKING, 10_000, 0, 10_000, 0, 5, 1000, dig_g=20_000)
BACK_LEG = Leg(INBOUND, 10_000, 0, 0, 0, 10, 1000, 10_000)


def plan(task: int, step: int):
    return [OUT_LEG, DIG_LEG, BACK_LEG]


def way_home(x_mm: int, y_mm: int, bin_g: int) -> Leg:
    """Home from anywhere on the x axis: 1 step and 100 mJ per metre."""
    return Leg(INBOUND, x_mm, y_mm, 0, 0, max(1, x_mm // 1000), 100 * (x_mm // 1000), abs(x_mm))


def recovery(x_mm: int, y_mm: int) -> Leg:
    return Leg(RECOVERING, x_mm, y_mm, x_mm, y_mm, 3, 30)


def sortie_machine(n: int, night=None, powered=None, dock_refused=None, refused_g=None, state=None, config: Config = CFG):
    no = np.zeros(n, dtype=bool)
    return machine.run(config, machine.initial(config) if state is None else state, 0, n, no if night is None else night,
                       ~no if powered is None else powered, no if dock_refused is None else dock_refused,
                       np.zeros(n, np.int64) if refused_g is None else refused_g, plan, way_home, recovery, True)


def at_home(battery_mj: int, config: Config = CFG):
    """Landed, at home, undocked, with ``battery_mj``."""
    return replace(machine.initial(config), phase=HOME, battery_mj=battery_mj, leg_battery_mj=battery_mj)


def test_a_day_of_sorties_and_charging_by_hand():
    out, s = sortie_machine(120)
    phase = out.phase
    # Full at step 0 (10,000 >= 3000 + 2000): out 0-9, digging 10-14, back 15-24.
    assert np.all(phase[:10] == OUTBOUND) and np.all(phase[10:15] == WORKING) and np.all(phase[15:25] == INBOUND)
    assert out.x_mm[4] == 5000 and out.x_mm[9] == 10_000 and out.x_mm[24] == 0
    assert out.battery_mj[9] == 9000 and out.battery_mj[14] == 8000 and out.battery_mj[24] == 7000
    assert out.bin_g[12] == 12_000 and out.bin_g[14] == 20_000
    assert out.speed_m_s[0] == pytest.approx(10.0 / 600.0)  # 10 m over 10 steps of 60 s
    # Home at step 25, the 20 kg are offered at once; 7000 still covers a sortie, so it leaves
    # again at once (undocked) and is back at step 50 with 4000.
    assert out.regolith_g[25] == 20_000 and np.flatnonzero(out.regolith_g).tolist() == [25, 50]
    assert np.all(phase[25:50] != HOME) and out.battery_mj[49] == 4000
    # 4000 < 5000: it asks for the dock at step 50 (a step at home on its 10 mJ hotel load: 3990)
    # and charges from step 51 at 100 per step until it may leave, 9000: ceil(5010 / 100) = 51
    # steps, to 9090 at step 101. It leaves at step 102.
    assert phase[50] == HOME and out.dock[50] == 1.0 and out.battery_mj[50] == 3990
    assert np.all(phase[51:102] == CHARGING) and out.battery_mj[101] == 9090
    assert np.array_equal(np.flatnonzero(out.dock), np.arange(50, 102))
    assert np.all(out.power_w[51:102] == 225.0) and np.all(out.power_w[:51] == 0.0) and phase[102] == OUTBOUND
    # The ledgers: 3 sorties (the third under way), 5100 charged, 40 kg delivered; the battery
    # ledger closes exactly: initial + charged = battery + used.
    assert (s.sorties, s.charged_mj, s.offered_g, s.delivered_g, s.refused_g) == (3, 5100, 40_000, 40_000, 0)
    assert s.grid_mj == 51 * 225 * 60 * 1000
    assert CFG.capacity_mj + s.charged_mj == s.battery_mj + s.used_mj
    assert np.all(out.used_mj == CFG.capacity_mj + np.cumsum(np.where(out.battery_mj > np.r_[CFG.capacity_mj, out.battery_mj[:-1]],
                                                                         out.battery_mj - np.r_[CFG.capacity_mj, out.battery_mj[:-1]], 0)) - out.battery_mj)


def test_a_refused_load_stays_in_the_bin_and_is_offered_again_every_retry():
    # Home at step 25 with 20 kg: the hopper refuses 15 kg then (and 4 kg at the retry, step 30,
    # retry_steps = 5); the rest goes in at step 35. Nothing is lost, and it never leaves with a
    # load: with 7000 (< 8000) it asks for the dock at once (step 25 on its hotel load: 6990) and
    # charges from step 26; bin empty at 35, it leaves the dock once at 9000: 6990 + 21 x 100 = 9090
    # at step 46, out at step 47.
    refused = np.zeros(60, np.int64)
    refused[25], refused[30] = 15_000, 4_000
    out, s = sortie_machine(60, refused_g=refused)
    assert np.flatnonzero(out.regolith_g).tolist() == [25, 30, 35]
    assert out.regolith_g[[25, 30, 35]].tolist() == [20_000, 15_000, 4_000]
    assert out.refused_g[[25, 30, 35]].tolist() == [15_000, 4_000, 0]
    assert np.all(out.bin_g[25:30] == 15_000) and np.all(out.bin_g[30:35] == 4_000) and np.all(out.bin_g[35:47] == 0)
    assert out.phase[25] == HOME and np.all(out.phase[26:47] == CHARGING) and out.phase[47] == OUTBOUND
    assert out.battery_mj[25] == 6990 and out.battery_mj[46] == 9090
    assert (s.offered_g, s.delivered_g, s.refused_g) == (39_000, 20_000, 19_000)
    assert s.offered_g == s.delivered_g + s.refused_g


def test_no_departure_at_night_the_first_is_at_sunrise():
    # Night over steps 0-29: at home on the 4 mJ heater (10,000 - 30 x 4 = 9880), then it leaves
    # at step 30, the first step of daylight.
    night = np.zeros(60, dtype=bool)
    night[:30] = True
    out, s = sortie_machine(60, night=night)
    assert np.all(out.phase[:30] == HOME) and out.battery_mj[29] == 9880
    assert out.phase[30] == OUTBOUND
    # Back at step 55 with 9880 - 3000 = 6880 >= 5000: in daylight it leaves again at once.
    assert out.phase[54] == INBOUND and out.battery_mj[54] == 6880 and out.phase[55] == OUTBOUND and s.sorties == 2


def test_a_robot_out_at_sunset_turns_home():
    # Sunset at step 5 of its outbound leg: after 5 of 10 steps it is 5 m out; from step 5 it
    # drives home (5 steps, 500 mJ), an abort; it stays home through the night.
    night = np.zeros(40, dtype=bool)
    night[5:] = True
    out, s = sortie_machine(40, night=night)
    assert out.x_mm[4] == 5000 and out.battery_mj[4] == 9500
    assert np.all(out.phase[5:10] == INBOUND) and out.x_mm[9] == 0 and out.battery_mj[9] == 9000
    assert not np.any(np.isin(out.phase[night], (OUTBOUND, WORKING)))
    assert np.all(out.phase[10:] == HOME) and (s.aborts, s.sorties, s.failures) == (1, 1, 0)
    # Digging at sunset, it comes home with what it dug and offers it.
    night = np.zeros(40, dtype=bool)
    night[12:] = True
    out, s = sortie_machine(40, night=night)
    assert out.bin_g[11] == 8000 and out.phase[12] == INBOUND and s.aborts == 1
    assert out.regolith_g.sum() == 8000 and s.delivered_g == 8000 and s.bin_g == 0


def test_it_leaves_only_with_the_costliest_sortie_plus_its_reserve():
    # need + reserve = 5000: at 4999 it stays and asks for the dock; at 5000 it leaves.
    out, s = sortie_machine(5, state=at_home(4999))
    assert out.phase[0] == HOME and out.dock[0] == 1.0 and np.all(out.phase[1:] == CHARGING) and s.sorties == 0
    out, s = sortie_machine(5, state=at_home(5000))
    assert out.phase[0] == OUTBOUND and s.sorties == 1
    # Docked, it leaves once charged to depart_mj (9000) even though 5000 would do.
    out, s = sortie_machine(60, state=at_home(4999))
    first = int(np.flatnonzero(out.phase == OUTBOUND)[0])
    assert out.battery_mj[first - 1] == 4999 - 10 + 100 * math.ceil((9000 - 4989) / 100)


def test_refused_the_dock_at_night_it_waits_on_its_heater_and_a_flat_battery_is_dead():
    # 100 mJ left at night, the dock held by another robot throughout: 4 mJ a step lasts 25 steps.
    night = np.ones(40, dtype=bool)
    out, s = sortie_machine(40, night=night, dock_refused=np.ones(40, dtype=bool), state=at_home(100))
    assert np.all(out.dock[:25] == 1.0) and out.battery_mj[23] == 4 and out.battery_mj[24] == 0
    assert np.all(out.phase[:25] == HOME) and np.all(out.phase[25:] == DEAD) and s.phase == DEAD and s.failures == 1
    assert np.all(out.dock[25:] == 0.0) and np.all(out.battery_mj[25:] == 0)  # the dead ask for nothing
    assert 100 + s.charged_mj == s.battery_mj + s.used_mj


# -- the rover on flat ground, by hand -----------------------------------------------------------------
FLAT = """
[scenario]
name = "flat"
seed = 3

[site]
name = "aristarchus"
terrain = "flat"

[time]
start = "2030-01-29T00:00:00Z"
end = "2030-01-31T00:00:00Z"
step = "600s"

[modules.energy]
deployed = "2030-01-29T00:00:00Z"

[modules.isru]
deployed = "2030-01-29T00:00:00Z"
regolith_delivery_kg_per_day = 0.0

[modules.dock]
deployed = "2030-01-29T00:00:00Z"

[modules.rover-1]
kind = "rover"
deployed = "2030-01-29T00:00:00Z"
"""


def flat_rover(**params):
    """rover-1 of FLAT with ``params``, placed on its (flat) ground."""
    from twin.scenario import parse
    from twin.station import Station

    text = FLAT + "".join(f"{k} = {json.dumps(v)}\n" for k, v in params.items())
    scenario = parse(text, "flat.toml")
    return scenario, Station(scenario).models["rover-1"]


def test_rover_sorties_on_flat_ground_by_hand():
    scenario, rover = flat_rover(task=["haul", "survey"], max_speed_m_s=0.1, spots=3)
    table = rover.table()
    assert rover.tile.label == "flat" and rover.tile.size_m == 2 * 200.0 + 60.0 and not rover.tile.heights_m.any()
    assert all(40.0 <= math.hypot(x, y) <= 200.0 for x, y in rover.spot_xy) and len(rover.spot_xy) == 3
    per_m = {}
    for load in (0.0, 20.0):
        v, e = table.lookup(np.zeros(1), load)
        assert v[0] > 0.1  # the 0.1 m/s cap binds: time = length / 0.1
        per_m[load] = e[0]
    for spot, (x, y) in enumerate(rover.spot_xy):
        length = math.hypot(x, y)
        out, dig, back = rover.sortie(0, spot, physics=False).legs
        # Out empty and back with 20 kg at 0.1 m/s: drive energy per metre plus 25 W of hotel load.
        assert out.steps == math.ceil(length / 0.1 / 600) and out.length_mm == round(length * 1000)
        assert out.energy_mj == pytest.approx(1000 * (per_m[0.0] * length + 25.0 * length / 0.1), abs=2)
        assert back.energy_mj == pytest.approx(1000 * (per_m[20.0] * length + 25.0 * length / 0.1), abs=2)
        assert (out.x1, out.y1) == (round(x * 1000), round(y * 1000)) and (back.x1, back.y1) == (0, 0)
        # Digging 20 kg at 10 kg/h: 2 h = 12 steps at 100 + 25 W: 900 kJ.
        assert (dig.phase, dig.steps, dig.energy_mj, dig.dig_g) == (WORKING, 12, 900_000_000, 20_000)
        # Surveying 2 h at 20 + 25 W, recording 20 kbit/s: 324 kJ and 18 MB.
        survey = rover.sortie(1, spot, physics=False).legs[1]
        assert (survey.steps, survey.energy_mj, survey.data_bytes, survey.dig_g) == (12, 324_000_000, 18_000_000, 0)
    config = rover.config()
    assert config.need_mj == tuple(max(rover.sortie(t, k, physics=False).energy_mj for k in range(3)) for t in range(2))
    assert (config.capacity_mj, config.reserve_mj, config.charge_mj) == (3_600_000_000, 720_000_000, 200 * 0.9 * 600 * 1000)
    assert (config.hotel_mj, config.heater_mj, config.retry_steps) == (25 * 600_000, 8 * 600_000, 6)


def test_a_haul_needs_a_hopper_to_haul_to():
    from twin.scenario import ScenarioError, parse

    text = FLAT.replace('[modules.isru]\ndeployed = "2030-01-29T00:00:00Z"\nregolith_delivery_kg_per_day = 0.0\n', "")
    assert "isru" not in text
    with pytest.raises(ScenarioError, match=r"modules\.rover-1\.task: a haul needs a regolith hopper"):
        parse(text, "flat.toml")
    parse(text + 'task = "survey"\n', "flat.toml")  # a surveying rover needs none


# -- window-split invariance ---------------------------------------------------------------------------
class Environment:
    def __init__(self, columns):
        self.columns = columns

    def sample(self, start_step, times, keys):
        return {k: self.columns[k][start_step:start_step + len(times)] for k in keys}


SPLIT_STEPS = 432  # three days of 600 s steps


def split_inputs():
    """A day, a night from step 150 to 330, then day; the class shed over 40-60 and 200-215; the
    dock refused at times; the hopper refusing part of what is offered now and then."""
    n = SPLIT_STEPS
    sun = np.ones(n)
    sun[150:330] = 0.0
    powered = np.ones(n)
    powered[40:60] = powered[200:215] = 0.0
    dock = np.zeros(n)
    dock[100:140] = dock[250:280] = 1.0
    refused = np.zeros(n)
    refused[::7] = 4.5  # kg
    return {"sun_visible_frac": sun}, {"powered/energy": powered, f"{DOCK_IN}/dock": dock, "regolith_refused/isru": refused}


def dock_input() -> str:
    """The robots' input that says the dock is taken (whatever the dock's protocol calls it)."""
    from twin.kinds.rover.model import RoverModel

    (name,) = [p.name for p in RoverModel.ports if p.direction == "in" and p.quantity.startswith("signal:dock")]
    return name


DOCK_IN = dock_input()


@pytest.fixture(scope="module")
def split_rover():
    scenario, rover = flat_rover(task=["haul", "survey"], spot_max_m=120.0)
    return wire(rover, powered_by="energy", regolith_refused=["isru"], **{DOCK_IN: ["dock"]})


def host_run(model, env, inputs, plan):
    """Telemetry and end (state, rng) of ``model`` driven through ``plan``: (proposed, committed)
    window lengths, each proposal longer than what is kept, as after a conductor's cut."""
    host = ModelHost(model, None, Environment(env))
    parts = []
    for length, commit in plan:
        a = host.step
        host.propose(Window(a, length, model.clock), {k: v[a:a + length] for k, v in inputs.items()})
        parts.append(host.commit(commit))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, host.state, host.rng_state


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, SPLIT_STEPS - 1), min_size=1, max_size=6, unique=True), extra=st.integers(1, 50))
def test_any_split_into_windows_gives_the_same_telemetry(split_rover, cuts, extra):
    env, inputs = split_inputs()
    whole = host_run(split_rover, env, inputs, [(SPLIT_STEPS, SPLIT_STEPS)])
    bounds = [0, *sorted(cuts), SPLIT_STEPS]
    plan = [(min(b - a + extra, SPLIT_STEPS - a), b - a) for a, b in zip(bounds, bounds[1:])]
    split = host_run(split_rover, env, inputs, plan)
    assert whole[1].sorties > 3 and whole[1].aborts + whole[1].refused_g > 0  # the inputs did bite
    for key in whole[0]:
        assert np.array_equal(whole[0][key], split[0][key]), key
    assert whole[1] == split[1] and whole[2] == split[2]


# -- a fleet in a station ------------------------------------------------------------------------------
# Aristarchus from 29 January 2030, three days of 600 s steps across the sunset of the 30th. Two
# rovers haul to a 30 kg ISRU hopper that takes no scheduled delivery (it refuses what overflows),
# one also surveys; the hopper surveys; one dock for the three.
FLEET = """
[scenario]
name = "fleet"
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
regolith_capacity_kg = 30.0

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
ROBOTS = ("rover-1", "rover-2", "hopper-1")
ROVERS = ("rover-1", "rover-2")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """(scenario, conductor, telemetry by id, each robot's night) of FLEET run locally."""
    from twin.environment.station import StationEnvironment
    from twin.scenario import parse
    from twin.station import Station

    scenario = parse(FLEET, "fleet.toml")
    station = Station(scenario)
    env = StationEnvironment(scenario, station.models)
    folder = tmp_path_factory.mktemp("fleet")
    conductor = conduct(list(station.models.values()), scenario.clock, env, scenario.window_steps, folder)
    tm = {id: {k: np.asarray(v) for k, v in pq.read_table(folder / f"{id}.parquet").to_pydict().items() if k != "time"} for id in station.models}
    times = scenario.clock.times(0, scenario.clock.n_steps)
    night = {id: env.for_instance(id).sample(0, times, ("sun_visible_frac",))["sun_visible_frac"] <= 0.0 for id in ROBOTS}
    return scenario, conductor, tm, night


def states(conductor):
    return {id: h.host.state for id, h in conductor.handles.items()}


def test_the_battery_ledger_closes_for_every_robot(fleet):
    scenario, conductor, tm, _ = fleet
    for id in ROBOTS:
        model, s = conductor.handles[id].host.model, conductor.handles[id].host.state
        capacity = model.config().capacity_mj
        assert s.charged_mj > 0 and s.used_mj > 0, id
        assert capacity + s.charged_mj == s.battery_mj + s.used_mj, id  # integer mJ: exact
        assert tm[id]["battery_wh"][-1] == s.battery_mj / 3.6e6 and tm[id]["energy_used_wh"][-1] == s.used_mj / 3.6e6, id
        # Step by step: used energy grows by what the battery lost, never shrinks.
        assert np.all(np.diff(tm[id]["energy_used_wh"]) >= 0), id
        assert np.all(tm[id]["state"] != DEAD) and s.landed_steps == scenario.clock.n_steps, id


def test_regolith_offered_is_delivered_or_refused_and_nothing_is_lost(fleet):
    _, conductor, tm, _ = fleet
    s = states(conductor)
    isru = s["isru"]
    for id in ROVERS:
        r = s[id]
        assert r.offered_g == r.delivered_g + r.refused_g, id
        # What it dug (the rises of its bin) is what it delivered plus what it still holds.
        bin_g = np.rint(tm[id]["bin_kg"] * 1000).astype(np.int64)
        rises = np.diff(np.r_[0, bin_g])
        assert int(rises[rises > 0].sum()) == r.delivered_g + r.bin_g, id
        assert r.delivered_g > 0, id
    # The plant takes only from the rovers (no scheduled delivery): step by step, what they offer
    # is what it accepts plus what it refuses, and the totals are the rovers' ledgers.
    offered = sum(tm[id]["regolith_offered_kg"] for id in ROVERS)
    assert tm["isru"]["regolith_delivered_kg"] + tm["isru"]["regolith_refused_kg"] == pytest.approx(offered, abs=1e-9)
    assert sum(tm[id]["regolith_refused_kg"] for id in ROVERS) == pytest.approx(tm["isru"]["regolith_refused_kg"], abs=1e-9)
    assert isru.delivered_g == sum(s[id].delivered_g for id in ROVERS)
    assert isru.refused_g == sum(s[id].refused_g for id in ROVERS) > 0  # the 30 kg hopper overflowed
    # The plant's own ledger: accepted = in the hopper + processed (ceil(work / yield)).
    model = conductor.handles["isru"].host.model
    assert isru.delivered_g == isru.stock_g + -(-isru.work_ug // model.yield_ppm)


def test_hauled_regolith_makes_oxygen(fleet):
    _, conductor, tm, _ = fleet
    isru = states(conductor)["isru"]
    assert conductor.handles["isru"].host.model.delivery_mg_day == 0
    produced_g = isru.work_ug // 10**6
    assert produced_g > 1000 and isru.tank_g + isru.offtaken_g == produced_g
    assert tm["isru"]["o2_produced_kg"][-1] == produced_g / 1000
    # Before the first load arrives the plant has nothing to work on.
    first = int(np.flatnonzero(tm["isru"]["regolith_delivered_kg"] > 0)[0])
    assert np.all(tm["isru"]["o2_produced_kg"][:first + 1] == 0.0)


def test_survey_data_reaches_the_communications_store(fleet):
    _, conductor, tm, _ = fleet
    s = states(conductor)
    robots_bytes = sum(tm[id]["data_bytes"] for id in ROBOTS)
    assert np.array_equal(tm["communications"]["received_bytes"], robots_bytes)
    assert s["rover-2"].data_bytes > 0 and s["rover-1"].data_bytes == 0  # only rover-2 surveys
    assert sum(s[id].data_bytes for id in ROBOTS) == int(tm["communications"]["received_bytes"].sum())
    c = conductor.handles["communications"].host.variables()
    assert c["received_bytes"] == c["downlinked_bytes"] + c["stored_bytes"] + c["lost_bytes"]


def test_the_night_planner_in_a_station(fleet):
    _, conductor, tm, night = fleet
    for id in ROBOTS:
        model = conductor.handles[id].host.model
        config = model.config()
        phase = tm[id]["state"].astype(int)
        assert night[id].any() and (~night[id]).any()
        # Never out on a sortie's way or work at night (a robot out at sunset is on its way home).
        assert not np.any(np.isin(phase[night[id]], (OUTBOUND, WORKING))), id
        # Every departure in daylight, with the costliest sortie of its task and the reserve.
        battery = np.rint(tm[id]["battery_wh"] * 3.6e6).astype(np.int64)
        # A sortie begins where a robot at home or docked goes away, or where one just home (the
        # last step of a way in) goes out again at once, or (failing on the spot) recovers.
        before, after = np.r_[HOME, phase[:-1]], phase  # it lands at home, full, at step 0
        leaves = np.flatnonzero((np.isin(before, (HOME, CHARGING)) & np.isin(after, AWAY))
                                | ((before == INBOUND) & np.isin(after, (OUTBOUND, RECOVERING))))
        assert leaves.size == conductor.handles[id].host.state.sorties > 0, id
        battery_before = np.r_[config.capacity_mj, battery[:-1]]
        codes = [TASK_CODES[t.task] for t in model.tasks]
        for t in leaves:
            assert not night[id][t], (id, t)
            need = config.need_mj[codes.index(int(tm[id]["task"][t]))]
            assert battery_before[t] >= need + config.reserve_mj, (id, t)
    # The rovers were out at sunset (or came home before it) and all sat the night out at home.
    sunset = int(np.flatnonzero(night["rover-1"])[0])
    for id in ROVERS:
        assert np.all(np.isin(tm[id]["state"][sunset + 30:].astype(int), (HOME, CHARGING))), id


@pytest.mark.parametrize("window_steps", [37, 432])
def test_the_fleets_telemetry_is_the_same_in_any_window_length(fleet, tmp_path, window_steps):
    """The whole station (the dock's chain, ISRU's refusals, the energy switch) in windows of 37
    steps, or in one window of the three days, gives the day-window run's telemetry bit for bit."""
    from twin.environment.station import StationEnvironment
    from twin.station import Station

    scenario, conductor, tm, _ = fleet
    station = Station(scenario)
    other = conduct(list(station.models.values()), scenario.clock, StationEnvironment(scenario, station.models), window_steps, tmp_path)
    for id in station.models:
        table = pq.read_table(tmp_path / f"{id}.parquet").to_pydict()
        for key, column in table.items():
            if key != "time":
                assert np.array_equal(np.asarray(column), tm[id][key]), (id, key)
        assert other.handles[id].host.state == conductor.handles[id].host.state, id


def test_the_fleet_sits_out_a_whole_lunar_night_on_one_dock(tmp_path):
    """From the day before the sunset of 30 January to the sunrise of 14 February (coarse 30 min
    steps): the heaters alone (8 W x 340 h for a rover) would drain every battery, so each robot
    tops up at the one dock in turn through the night, and none dies."""
    from twin.environment.station import StationEnvironment
    from twin.scenario import parse
    from twin.station import Station

    text = (FLEET.replace('end = "2030-02-01T00:00:00Z"', 'end = "2030-02-16T00:00:00Z"').replace('step = "600s"', 'step = "1800s"')
            .replace('max_window = "1d"', 'max_window = "4d"'))
    scenario = parse(text, "night.toml")
    station = Station(scenario)
    env = StationEnvironment(scenario, station.models)
    conductor = conduct(list(station.models.values()), scenario.clock, env, scenario.window_steps, tmp_path)
    times = scenario.clock.times(0, scenario.clock.n_steps)
    for id in ROBOTS:
        t = pq.read_table(tmp_path / f"{id}.parquet").to_pydict()
        phase, battery = np.asarray(t["state"]).astype(int), np.asarray(t["battery_wh"])
        night = env.for_instance(id).sample(0, times, ("sun_visible_frac",))["sun_visible_frac"] <= 0.0
        assert night.sum() * 1800 > 330 * 3600, id  # a whole lunar night
        assert not np.any(phase == DEAD) and battery.min() > 0, id
        assert not np.any(np.isin(phase[night], (OUTBOUND, WORKING))), id
        assert np.count_nonzero(phase[night] == CHARGING) > 3, id  # it topped up in the night
        model, s = conductor.handles[id].host.model, conductor.handles[id].host.state
        assert model.config().capacity_mj + s.charged_mj == s.battery_mj + s.used_mj, id


# -- local and Ray alike -----------------------------------------------------------------------------
SMALL_FLEET = (FLEET.replace('end = "2030-02-01T00:00:00Z"', 'end = "2030-01-30T00:00:00Z"')
               .replace('[modules.rover-2]\nkind = "rover"\ndeployed = "2030-01-29T00:00:00Z"\ntask = ["haul", "survey"]\n', ""))


@pytest.mark.timeout(240)
def test_local_and_ray_telemetry_are_bit_identical(tmp_path, ray_cluster):
    from twin.run import run
    from twin.scenario import parse

    scenario = parse(SMALL_FLEET, "small-fleet.toml")
    assert "rover-2" not in scenario.modules and scenario.clock.n_steps == 144
    local = run(scenario, runtime="local", out=tmp_path / "local")
    remote = run(scenario, runtime="ray", out=tmp_path / "ray")
    for id in scenario.modules:
        a = pq.read_table(tmp_path / "local" / "telemetry" / f"{id}.parquet")
        b = pq.read_table(tmp_path / "ray" / "telemetry" / f"{id}.parquet")
        assert a.num_rows == 144 and a.equals(b), id
    assert local["modules"] == remote["modules"]
    assert local["modules"]["rover-1"]["sorties_count"] > 0


# -- bad input: one line naming the field, exit 2, nothing written -------------------------------------
runner = CliRunner()


def hill_dem(folder: Path) -> Path:
    """A flat plain of 800 m (2 m spacing) with a 40 m Gaussian hill (sigma 10 m) 60 m east of the
    station: its flanks climb up to atan(40 / 10 x e^-1/2) = 68 deg."""
    n, spacing = 401, 2.0
    y, x = (np.mgrid[0:n, 0:n] - n // 2) * spacing
    path = folder / "hill.npy"
    np.save(path, 40.0 * np.exp(-((x - 60.0) ** 2 + y ** 2) / (2 * 10.0**2)))
    return path


def on_the_hill(folder: Path, rover: str) -> str:
    site = f'name = "aristarchus"\ndem = "{hill_dem(folder)}"\ndem_spacing_m = 2.0'
    return FLAT.replace('name = "aristarchus"\nterrain = "flat"', site) + rover


@pytest.mark.parametrize("case, named, reason", [
    ("waypoint beyond the terrain's reach", "modules.rover-1.task", "more than 1000 m from home"),
    ("waypoint off the site's elevation model", "modules.rover-1: task[0].waypoints", "off the robots' terrain"),
    ("waypoint behind a hill", "modules.rover-1: task[0].waypoints", "unreachable"),
    ("negative speed", "modules.rover-1.max_speed_m_s", "greater than 0"),
    ("sortie beyond the battery", "modules.rover-1: task[0]", "more than the 100 Wh battery"),
])
def test_bad_robot_input_exits_2_naming_the_field_and_writes_nothing(tmp_path, case, named, reason):
    text = {
        "waypoint beyond the terrain's reach": FLAT + 'task = [{ task = "traverse", waypoints = [[1500.0, 0.0]] }]\n',
        "waypoint off the site's elevation model": on_the_hill(tmp_path, 'task = [{ task = "traverse", waypoints = [[0.0, 390.0]] }]\n'),
        "waypoint behind a hill": on_the_hill(tmp_path, 'task = [{ task = "traverse", waypoints = [[100.0, 0.0]] }]\n'),
        "negative speed": FLAT + "max_speed_m_s = -0.1\n",
        "sortie beyond the battery": FLAT + "battery_wh = 100.0\n",
    }[case]
    path = tmp_path / "station.toml"
    path.write_text(text)
    result = runner.invoke(app, ["run", str(path), "--runtime", "local", "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.stderr
    assert named in lines[0] and reason in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_a_waypoint_on_the_plain_beside_the_hill_runs(tmp_path):
    """The same hill scenario with a waypoint the rover can reach is valid (the refusals above are
    the waypoints', not the terrain's)."""
    from twin.scenario import parse
    from twin.station import Station

    text = on_the_hill(tmp_path, 'task = [{ task = "traverse", waypoints = [[0.0, 100.0], [-50.0, 50.0]] }]\n')
    rover = Station(parse(text, "hill.toml")).models["rover-1"]
    legs = rover.sortie(0, 0, physics=False).legs
    assert [leg.phase for leg in legs] == [OUTBOUND, OUTBOUND, INBOUND]
    assert [(leg.x1, leg.y1) for leg in legs] == [(0, 100_000), (-50_000, 50_000), (0, 0)]


# -- full physics inside a station run ---------------------------------------------------------------
PHYSICS = FLAT.replace('end = "2030-01-31T00:00:00Z"', 'end = "2030-01-29T12:00:00Z"').replace('[scenario]', '''[robotics]
fidelity = "surrogate"
physics_ranges = [["2030-01-29T00:00:00Z", "2030-01-29T01:00:00Z"]]

[scenario]''') + 'task = "survey"\nspots = 2\nspot_min_m = 4.0\nspot_max_m = 6.0\nsurvey_h = 0.2\n'


def test_a_leg_that_sticks_in_full_physics_ends_where_the_rover_stuck(monkeypatch):
    """PyBullet says: after 300 s and 5 kJ the rover stuck 3 m along a 10 m leg. The twin drives
    that stretch (one 600 s step: to (3 m, 0), 5 kJ off the battery), then recovers there (2 h at
    the 25 W hotel load: 12 steps, 180 kJ) and comes home from there."""
    import twin.robotics.ground as ground

    _, rover = flat_rover(task="survey")
    monkeypatch.setattr(ground, "drive_physics", lambda tile, a, b, load_kg, rate_hz, body=None: (300.0, 5000.0, "stuck", (3.0, 0.0)))
    stuck, p_ok = rover.move(OUTBOUND, (0.0, 0.0), (10.0, 0.0), 0, True)
    assert (stuck.x1, stuck.y1, stuck.length_mm, stuck.steps, stuck.energy_mj, p_ok) == (3000, 0, 3000, 1, 5_000_000, 1.0)
    config = rover.config()
    never_back = Leg(INBOUND, 10_000, 0, 0, 0, 1, 1)
    home = rover.return_leg(3000, 0, 0)
    n = 13 + home.steps  # to the step it is home again
    no = np.zeros(n, dtype=bool)
    out, s = machine.run(config, machine.initial(config), 0, n, no, ~no, no, np.zeros(n, np.int64), lambda task, step: [stuck, never_back],
                         rover.return_leg, rover.recovery, True)
    full = config.capacity_mj
    assert out.phase[0] == OUTBOUND and (out.x_mm[0], out.distance_mm[0], out.battery_mj[0]) == (3000, 3000, full - 5_000_000)
    assert np.all(out.phase[1:13] == RECOVERING) and out.battery_mj[12] == full - 5_000_000 - 180_000_000
    assert out.phase[13] == INBOUND and out.x_mm[12 + home.steps] == 0 and s.failures == 1
    assert out.battery_mj[12 + home.steps] == full - 5_000_000 - 180_000_000 - home.energy_mj


@pytest.mark.timeout(120)
def test_a_speed_limit_holds_in_full_physics_as_on_the_surrogate(monkeypatch):
    """A 10 m leg on flat ground at half the wheels' speed takes twice as long in PyBullet (the
    wheels are commanded no faster), and about as long as the surrogate says."""
    import twin.robotics.ground as ground

    real, driven = ground.drive_physics, []
    monkeypatch.setattr(ground, "drive_physics", lambda *args, **kwargs: driven.append(real(*args, **kwargs)) or driven[-1])
    times = {}
    for limit in (0.3, 0.15):
        _, rover = flat_rover(max_speed_m_s=limit)
        rover.move(OUTBOUND, (0.0, 0.0), (10.0, 0.0), 0, True)
        surrogate_s = ground.drive_surrogate(rover.table(), rover.tile, (0.0, 0.0), (10.0, 0.0), 0.0, limit)[0]
        times[limit] = (driven[-1][0], surrogate_s)
        assert driven[-1][2] == "arrived"
    (fast, _), (slow, slow_surrogate) = times[0.3], times[0.15]
    assert 1.8 <= slow / fast <= 2.2 and abs(slow - slow_surrogate) <= 0.15 * slow_surrogate, times


@pytest.mark.timeout(120)
def test_sorties_within_physics_ranges_are_driven_in_pybullet(tmp_path, monkeypatch):
    import twin.robotics.ground as ground
    from twin.run import run
    from twin.scenario import parse

    episodes = []
    real = ground.drive_physics

    def counted(*args, **kwargs):
        result = real(*args, **kwargs)
        episodes.append(result)
        return result

    monkeypatch.setattr(ground, "drive_physics", counted)
    scenario = parse(PHYSICS, "physics.toml")
    assert scenario.robotics.physics_at(scenario.clock.start_unix_s) and not scenario.robotics.physics_at(scenario.clock.start_unix_s + 3600)
    summary = run(scenario, runtime="local", out=tmp_path / "out")
    rover = summary["modules"]["rover-1"]
    # Sorties leaving in the first hour went out and back in PyBullet (one episode per leg); the
    # rest of the half day on the surrogate. Daylight all along: it kept surveying.
    assert len(episodes) >= 2 and rover["sorties_count"] > len(episodes) // 2
    for duration_s, energy_j, outcome, reached in episodes:
        assert duration_s > 0 and energy_j > 0 and outcome in ("arrived", "stuck", "tipped", "timeout")
        assert math.hypot(*reached) < 12.0
    assert rover["survey_data_bytes"] > 0 and rover["failures_count"] + rover["sorties_count"] > 0
    tm = pq.read_table(tmp_path / "out" / "telemetry" / "rover-1.parquet").to_pydict()
    assert max(tm["distance_m"]) > 0


# -- commands (the live twin) -------------------------------------------------------------------------
def test_a_recalled_robot_turns_home_from_where_it_is():
    """Five steps out of ten on the way to the dig (5 m, 500 mJ spent), recalled: 5 m home at 100 mJ
    a metre, home at step 10 with 10,000 - 500 - 500 mJ."""
    out, s = sortie_machine(5, state=at_home(10_000))
    assert (s.phase, s.x_mm, s.battery_mj) == (OUTBOUND, 5000, 9500)
    recalled = machine.recall(s, 5, way_home)
    assert recalled.phase == INBOUND and recalled.legs == (way_home(5000, 0, 0),) and recalled.leg_start == 5 and recalled.aborts == s.aborts + 1
    no = np.zeros(5, dtype=bool)
    out, home = machine.run(CFG, recalled, 5, 5, no, ~no, no, np.zeros(5, np.int64), plan, way_home, recovery, True)
    assert (home.phase, home.x_mm, home.battery_mj, home.bin_g) == (HOME, 0, 9000, 0)
    assert list(out.x_mm) == [4000, 3000, 2000, 1000, 0]


def test_a_held_robot_leaves_on_no_sortie_until_released():
    held = replace(at_home(10_000), held=True)
    out, s = sortie_machine(50, state=held)
    assert s.sorties == 0 and set(out.phase) <= {HOME, CHARGING} and s.held
    out, s = sortie_machine(50, state=replace(s, held=False))
    assert s.sorties >= 1 and OUTBOUND in set(out.phase)


def test_robot_commands_are_refused_where_the_state_forbids_them():
    from twin.commands import Command, CommandRefused

    _, rover = flat_rover()
    state = replace(rover.initial_state(), phase=HOME)
    for verb, why in [("recall", "nothing to recall"), ("release", "not held already")]:
        with pytest.raises(CommandRefused, match=why):
            rover.command(state, Command.of("rover-1", verb, step=0))
    held = rover.command(state, Command.of("rover-1", "hold", step=0))
    assert held.held and not state.held and rover.variables(held)["held_state"] == 1.0
    with pytest.raises(CommandRefused, match="held already"):
        rover.command(held, Command.of("rover-1", "hold", step=0))
    with pytest.raises(CommandRefused, match="dead"):
        rover.command(replace(state, phase=DEAD), Command.of("rover-1", "hold", step=0))
    with pytest.raises(ValueError, match="^command: rover has no command 'dance'"):
        rover.command(state, Command.of("rover-1", "dance", step=0))


def test_a_rover_is_recalled_and_held_through_the_gateway_and_the_session_replays(tmp_path):
    """Over TwinService.Command: recall a rover on its way out (it comes home at once, from there),
    hold it (it leaves no more), a refused recall at home (FAILED_PRECONDITION, nothing changed);
    the session's log replays to the same telemetry."""
    from services.client import TwinClient, TwinError
    from services.twin_server import serve
    from twin.actions import read_events, replay_drive
    from twin.events import EventLog
    from twin.live import LiveTwin
    from twin.run import run
    from twin.scenario import parse

    scenario = parse(FLAT, "flat.toml")
    twin = LiveTwin(scenario, out=tmp_path / "live", speed=None, paused=True).start()
    assert twin.ready.wait(60) and twin.error is None
    server, port, _ = serve(twin, "t", events=EventLog(tmp_path / "live" / "events.jsonl"))
    try:
        with TwinClient(f"127.0.0.1:{port}", token="t") as client:
            for _ in range(scenario.clock.n_steps):
                if client.get("rover-1.state")["rover-1.state"] == OUTBOUND:
                    break
                client.step_to(ahead_s=600.0)
                while not client.clock().paused:
                    time.sleep(0.01)
            assert client.get("rover-1.state")["rover-1.state"] == OUTBOUND
            recalled = client.command("rover-1", "recall")
            assert recalled.values["state"] == INBOUND and recalled.values["aborts_count"] == 1.0
            sorties = recalled.values["sorties_count"]
            client.command("rover-1", "hold")
            assert client.get("rover-1.held_state") == {"rover-1.held_state": 1.0}
            with pytest.raises(TwinError) as refused:
                client.command("rover-1", "hold")
            assert refused.value.code.name == "FAILED_PRECONDITION"
            client.set_speed(None)
            client.resume()
            assert twin.wait(120) and twin.error is None
            # Held from the recall on: back home, it left on no further sortie.
            assert client.get("rover-1.sorties_count") == {"rover-1.sorties_count": sorties}
    finally:
        server.stop()
        twin.stop(timeout=60)
    run(scenario, "local", out=tmp_path / "again", drive=replay_drive(read_events(tmp_path / "live" / "events.jsonl")))
    for id in scenario.modules:
        assert pq.read_table(tmp_path / "live" / "telemetry" / f"{id}.parquet").equals(pq.read_table(tmp_path / "again" / "telemetry" / f"{id}.parquet")), id
