"""Jumping robot: hop count and hop costs by hand, survey legs, ledgers in a station, bad input.

The hopper's table tips it over on a large share of hops (a known limit of the body, being
improved), so nothing here counts successful sorties: the tests hold whatever the odds are."""
from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import conduct
from twin.cli import app
from twin.robotics import machine
from twin.robotics.machine import AWAY, DEAD, INBOUND, OUTBOUND, RECOVERING, WORKING, Leg

FLAT = """
[scenario]
name = "hops"
seed = 5

[site]
name = "aristarchus"
terrain = "flat"

[time]
start = "2030-01-29T00:00:00Z"
end = "2030-01-30T00:00:00Z"
step = "60s"

[modules.energy]
deployed = "2030-01-29T00:00:00Z"

[modules.dock]
deployed = "2030-01-29T00:00:00Z"

[modules.hopper-1]
kind = "hopper"
deployed = "2030-01-29T00:00:00Z"
"""


def flat_hopper(**params):
    from twin.scenario import parse
    from twin.station import Station

    scenario = parse(FLAT + "".join(f"{k} = {json.dumps(v)}\n" for k, v in params.items()), "hops.toml")
    return Station(scenario).models["hopper-1"]


@pytest.fixture(scope="module")
def hopper():
    return flat_hopper()


@pytest.mark.parametrize("hop_m, way_m, hops", [
    (8.0, 8.0, 1), (8.0, 8.001, 2), (8.0, 16.0, 2), (8.0, 111.189, 14), (8.0, 0.5, 1),
    (24.0, 100.0, 5), (3.0, 30.0, 10), (3.0, 30.01, 11),
])
def test_a_way_of_d_metres_is_ceil_d_over_hop_m_equal_hops(hop_m, way_m, hops):
    model = flat_hopper(hop_m=hop_m)
    assert math.ceil(way_m / hop_m) == hops
    for phase in (OUTBOUND, INBOUND):
        leg, _ = model.move(phase, (0.0, 0.0), (0.0, way_m), 0, False)
        assert leg.hops == hops and leg.length_mm == round(way_m * 1000) and (leg.x1, leg.y1) == (0, round(way_m * 1000))


def test_a_hops_energy_time_and_odds_by_hand(hopper):
    """An 8 m hop at 45 deg: R = v^2 / g with v^2 = 2 x 0.8 x E / 8 kg, so E = 8 x 1.62 x 8 / 1.6 =
    64.8 J (the table, calibrated in PyBullet, within 0.5 %). The battery pays E / 0.7 for the
    spring, charged at 30 W over E / 0.7 / 30 s with the 8 W hotel load on, and 8 W from launch to
    rest (the table's time)."""
    table = hopper.table()
    e = table.energy_for(8.0)
    assert e == pytest.approx(8.0 * 1.62 * 8.0 / (2 * 0.8), rel=5e-3)
    _, flight_s, failure = (float(v) for v in table.lookup(e))
    charge_s = e / 0.7 / 30.0
    per_hop_j = e / 0.7 + 8.0 * flight_s + 8.0 * charge_s
    assert per_hop_j == pytest.approx(157.5, abs=5.0)  # the README's figure
    # 100 m: 13 hops of 7.69 m each.
    leg, p_ok = hopper.move(OUTBOUND, (0.0, 0.0), (60.0, 80.0), 0, False)
    e = table.energy_for(100.0 / 13)
    _, flight_s, failure = (float(v) for v in table.lookup(e))
    charge_s = e / 0.7 / 30.0
    assert leg.hops == 13
    assert leg.energy_mj == pytest.approx(1000 * 13 * (e / 0.7 + 8.0 * flight_s + 8.0 * charge_s), abs=2)
    assert leg.steps == math.ceil(13 * (charge_s + flight_s) / 60)
    assert p_ok == pytest.approx((1.0 - failure) ** 13)
    # A hop of no way at all is a still step.
    still, p = hopper.move(INBOUND, (5.0, 5.0), (5.0, 5.0), 0, False)
    assert (still.hops, still.energy_mj, still.steps, p) == (0, 0, 1, 1.0)


def test_survey_sorties_by_hand(hopper):
    assert all(30.0 <= math.hypot(x, y) <= 120.0 for x, y in hopper.spot_xy) and len(hopper.spot_xy) == 8
    for spot, (x, y) in enumerate(hopper.spot_xy):
        out, survey, back = hopper.sortie(0, spot, physics=False).legs
        n = math.ceil(math.hypot(x, y) / 8.0)
        assert (out.phase, survey.phase, back.phase) == (OUTBOUND, WORKING, INBOUND)
        assert out.hops == back.hops == n and survey.hops == 0
        # An hour's survey at 5 + 8 W, 10 kbit/s: 60 steps, 46.8 kJ, 4.5 MB.
        assert (survey.steps, survey.energy_mj, survey.data_bytes) == (60, 46_800_000, 4_500_000)
    config = hopper.config()
    assert config.capacity_mj == 300 * 3_600_000 and config.reserve_mj == 60 * 3_600_000
    assert config.need_mj == (max(hopper.sortie(0, k, physics=False).energy_mj for k in range(8)),)


def run_legs(model, legs_of, n, night=None):
    """The sortie machine with ``model``'s config, each sortie's legs given by ``legs_of(k)``."""
    count = iter(range(10**6))
    no = np.zeros(n, dtype=bool)
    return machine.run(model.config(), machine.initial(model.config()), 0, n, no if night is None else night, ~no, no, np.zeros(n, np.int64),
                       lambda task, step: legs_of(next(count)), model.return_leg, model.recovery, False)


def test_hops_and_distance_accumulate_by_the_legs(hopper):
    # Sorties that get through (no failure drawn): each adds ceil(d / 8) hops and d metres each way.
    legs = hopper.sortie(0, 0, physics=False).legs
    d = math.hypot(*hopper.spot_xy[0])
    n = math.ceil(d / 8.0)
    out, s = run_legs(hopper, lambda k: legs, 600)
    assert s.sorties >= 2 and s.failures == 0
    done = s.sorties - (1 if s.phase in AWAY else 0)
    away = np.isin(out.phase, AWAY)
    assert out.hops[legs[0].steps - 1] == n and out.distance_mm[legs[0].steps - 1] == round(d * 1000)
    assert s.hops >= 2 * n * done and s.data_bytes >= 4_500_000 * done
    assert np.all(np.diff(out.hops) >= 0) and np.all(out.hops[~away][1:] % (2 * n) == 0)
    # A sortie that tips over at step k of its first leg: k / steps of its hops, rounded down;
    # then recovery (2 h: 120 steps at the hotel load), then the hops home from where it lies.
    first = legs[0]
    assert first.steps >= 2
    tipped = (machine.Leg(**{**first.__dict__, "fail_at": 1}), *legs[1:])
    out, s = run_legs(hopper, lambda k: tipped if k == 0 else legs, 400)
    assert out.hops[0] == n * 1 // first.steps and out.phase[1] == RECOVERING
    assert np.all(out.phase[1:121] == RECOVERING) and out.phase[121] == INBOUND and s.failures == 1
    x, y = int(out.x_mm[0]), int(out.y_mm[0])
    home = hopper.return_leg(x, y, 0)
    assert home.hops == math.ceil(math.hypot(x, y) / 1000 / 8.0)
    assert out.hops[120 + home.steps] == n * 1 // first.steps + home.hops and out.x_mm[120 + home.steps] == 0


# -- in a station ----------------------------------------------------------------------------------
STATION = FLAT.replace('terrain = "flat"\n', "").replace('end = "2030-01-30T00:00:00Z"', 'end = "2030-01-31T00:00:00Z"').replace(
    "[modules.dock]", '[modules.communications]\ndeployed = "2030-01-29T00:00:00Z"\n\n[modules.dock]').replace('step = "60s"', 'step = "120s"') + (
    "spot_min_m = 4.0\nspot_max_m = 5.0\nhop_m = 5.0\n")  # one hop each way: some sorties get through whatever the odds


@pytest.fixture(scope="module")
def station_run(tmp_path_factory):
    """Two days at Aristarchus across the sunset of 30 January, 120 s steps: energy,
    communications, a dock and the hopper surveying 4-5 m from home."""
    from twin.environment.station import StationEnvironment
    from twin.scenario import parse
    from twin.station import Station

    scenario = parse(STATION, "hopper.toml")
    station = Station(scenario)
    env = StationEnvironment(scenario, station.models)
    folder = tmp_path_factory.mktemp("hopper")
    conductor = conduct(list(station.models.values()), scenario.clock, env, scenario.window_steps, folder)
    tm = {id: {k: np.asarray(v) for k, v in pq.read_table(folder / f"{id}.parquet").to_pydict().items() if k != "time"} for id in station.models}
    night = env.for_instance("hopper-1").sample(0, scenario.clock.times(0, scenario.clock.n_steps), ("sun_visible_frac",))["sun_visible_frac"] <= 0
    return scenario, conductor, tm, night


def test_the_hoppers_ledgers_close_in_a_station(station_run):
    scenario, conductor, tm, night = station_run
    host = conductor.handles["hopper-1"].host
    s, config = host.state, host.model.config()
    t = tm["hopper-1"]
    assert s.sorties > 0 and s.charged_mj > 0
    # Battery, exactly (integer mJ): initial + charged = battery + used.
    assert config.capacity_mj + s.charged_mj == s.battery_mj + s.used_mj
    assert t["battery_wh"][-1] == s.battery_mj / 3.6e6 and t["energy_used_wh"][-1] == s.used_mj / 3.6e6
    # What it drew from the station is its charging steps' draws: 60 W + 8 W by day, 60 W + 3 W by night.
    assert set(np.unique(t["power_w"][t["power_w"] > 0])) <= {68.0, 63.0}
    assert s.grid_mj == int(round(t["power_w"].sum() * 120 * 1000))
    # Hops and distance only grow, and only while away; the counts are the telemetry's.
    assert np.all(np.diff(t["hops"]) >= 0) and np.all(np.diff(t["distance_m"]) >= 0)
    still = ~np.isin(t["state"].astype(int), (OUTBOUND, INBOUND))
    assert np.all(np.diff(t["hops"])[still[1:]] == 0)
    assert t["hops"][-1] == s.hops and host.model.variables(s)["hops_count"] == s.hops
    # Every way completed (out to the spot, or home) took ceil(d / hop_m) hops for its d metres.
    phase = t["state"].astype(int)
    hops, metres = np.r_[0.0, t["hops"]], np.r_[0.0, t["distance_m"]]
    edges = np.flatnonzero(np.diff(np.r_[-1, phase, -1])) # starts of runs of one phase, and the end
    ways = 0
    for a, b in zip(edges[:-1], edges[1:]):
        done_out = phase[a] == OUTBOUND and b < phase.size and phase[b] == WORKING
        done_home = phase[a] == INBOUND and t["x_m"][b - 1] == 0.0 and t["y_m"][b - 1] == 0.0
        if done_out or done_home:
            d = metres[b] - metres[a]
            assert hops[b] - hops[a] == math.ceil(round(d, 3) / 5.0), (a, b, d)
            ways += 1
    assert ways >= 2 * (s.sorties - s.failures) - 1 > 0
    # Failures are recoveries (no hopper died); every sortie cut at sunset or tipped is counted.
    assert not np.any(t["state"] == DEAD)
    recovering = t["state"].astype(int) == RECOVERING
    starts = np.flatnonzero(recovering & ~np.r_[False, recovering[:-1]])
    assert s.failures == starts.size
    assert not np.any(np.isin(t["state"][night].astype(int), (OUTBOUND, WORKING)))


def test_the_hoppers_survey_data_goes_to_communications(station_run):
    _, conductor, tm, _ = station_run
    s = conductor.handles["hopper-1"].host.state
    assert np.array_equal(tm["communications"]["received_bytes"], tm["hopper-1"]["data_bytes"])
    assert int(tm["hopper-1"]["data_bytes"].sum()) == s.data_bytes
    # Data comes only from surveying, at 10 kbit/s: 150,000 bytes per 120 s step.
    surveying = tm["hopper-1"]["state"].astype(int) == WORKING
    assert np.all(tm["hopper-1"]["data_bytes"][~surveying] == 0)
    assert np.all(tm["hopper-1"]["data_bytes"][surveying] == 150_000)


# -- bad input -----------------------------------------------------------------------------------
runner = CliRunner()


@pytest.mark.parametrize("line, named, reason", [
    ("hop_m = 30.0", "modules.hopper-1.hop_m", "an impossible hop: 30 m is beyond the 24.7 m the spring gives at full energy"),
    ("hop_m = 150.0", "modules.hopper-1.hop_m", "less than or equal to 100"),
    ("hop_m = 0.0", "modules.hopper-1.hop_m", "greater than 0"),
    ('task = "haul"', "modules.hopper-1.task", "a rover's task"),
    ("battery_wh = 5.0", "modules.hopper-1: task[0]", "more than the 5 Wh battery"),
])
def test_bad_hopper_input_exits_2_naming_the_field_and_writes_nothing(tmp_path, line, named, reason):
    path = tmp_path / "hops.toml"
    path.write_text(FLAT + line + "\n")
    result = runner.invoke(app, ["run", str(path), "--runtime", "local", "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.stderr
    assert named in lines[0] and reason in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_the_longest_possible_hop_is_accepted():
    from twin.kinds.hopper.model import HopperParams, max_hop_m

    top = max_hop_m()
    assert top == pytest.approx(200.0 * 2 * 0.8 / 8.0 / 1.62)  # v^2 / g at the spring's 200 J
    assert HopperParams.model_validate({"deployed": "2030-01-29T00:00:00Z", "hop_m": top}).hop_m == top


# -- full physics inside a station run -----------------------------------------------------------------
PHYSICS = FLAT.replace("[scenario]", '''[robotics]
physics_ranges = [["2030-01-29T00:00:00Z", "2030-01-29T00:30:00Z"]]

[scenario]''').replace('end = "2030-01-30T00:00:00Z"', 'end = "2030-01-29T03:00:00Z"') + (
    "spots = 2\nspot_min_m = 3.0\nspot_max_m = 4.0\nhop_m = 4.0\nsurvey_h = 0.1\nrecovery_h = 0.1\n")


def test_a_hop_that_tips_over_in_full_physics_is_hopped_then_recovered(monkeypatch):
    """PyBullet says: the first hop towards a spot 8 m east came to rest on its side 3.5 m out
    after 6 s, for 90 J. The leg is that one hop: the twin hops it (one 60 s step: 3.5 m, 1 hop,
    90 J plus the 8 W hotel load over the spring's charging), then rights itself there (2 h,
    120 steps at 8 W) and hops home from there."""
    import physics.episode as episode
    from physics.episode import Track

    model = flat_hopper()
    monkeypatch.setattr(episode, "hop", lambda *args, **kwargs: Track(x_m=[0.0, 2.0, 3.5], y_m=[0.0, 0.0, 0.0], outcome="tipped", energy_j=90.0, duration_s=6.0))
    leg, p_ok = model.move(OUTBOUND, (0.0, 0.0), (8.0, 0.0), 0, True)
    charge_s = model.table().energy_for(8.0) / 0.7 / 30.0
    assert (leg.x1, leg.y1, leg.length_mm, leg.hops, leg.steps, p_ok) == (3500, 0, 3500, 1, 1, 1.0)
    assert leg.energy_mj == round(1000 * (90.0 + 8.0 * charge_s))
    n = 1 + 120 + 1
    out, s = run_legs(model, lambda k: (leg, Leg(INBOUND, 8000, 0, 0, 0, 1, 0, 8000, hops=1)), n)
    full = model.config().capacity_mj
    assert out.phase[0] == OUTBOUND and (out.x_mm[0], out.hops[0], out.distance_mm[0]) == (3500, 1, 3500)
    assert out.battery_mj[0] == full - leg.energy_mj
    assert np.all(out.phase[1:121] == RECOVERING) and out.battery_mj[120] == full - leg.energy_mj - 8 * 7200 * 1000
    home = model.return_leg(3500, 0, 0)
    assert home.hops == 1 and out.phase[121] == INBOUND and out.x_mm[121] == 0 and out.hops[121] == 2 and s.failures == 1


@pytest.mark.timeout(120)
def test_hops_within_physics_ranges_are_hopped_in_pybullet(tmp_path, monkeypatch):
    import physics.episode as episode
    from twin.run import run
    from twin.scenario import parse

    hops = []
    real = episode.hop

    def counted(*args, **kwargs):
        track = real(*args, **kwargs)
        hops.append(track)
        return track

    monkeypatch.setattr(episode, "hop", counted)
    scenario = parse(PHYSICS, "physics.toml")
    summary = run(scenario, runtime="local", out=tmp_path / "out")
    h = summary["modules"]["hopper-1"]
    assert hops and all(track.duration_s > 0 and track.energy_j > 0 for track in hops)
    assert all(track.outcome in ("landed", "tipped", "left_tile", "timeout") for track in hops)
    assert h["sorties_count"] >= 1 and h["energy_used_kwh"] > 0
    tm = pq.read_table(tmp_path / "out" / "telemetry" / "hopper-1.parquet").to_pydict()
    assert max(tm["hops"]) == h["hops_count"]
