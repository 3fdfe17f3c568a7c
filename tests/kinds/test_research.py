"""Research facilities (ILRS-2): the experiment queue against hand-computed schedules and a
step-by-step reference, split invariance, causality and speed."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conftest import host_through, switched, wire
from twin.clock import Clock, parse_utc, unix_s
from twin.environment.sky import SAMPLE_KEYS
from twin.kinds.research.model import ResearchModel, ResearchParams, ResearchState
from twin.loads import LoadClass
from twin.model import Window

START = parse_utc("2036-01-01T00:00:00Z")


def clock(steps: int, step_s: int = 60) -> Clock:
    return Clock(unix_s(START), step_s, steps)


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


def research(c: Clock, experiments, **params) -> ResearchModel:
    data = {"deployed": at(0), "crew_from": at(0), "standby_w": 0.0, "max_concurrent": 1, "experiments": experiments, **params}
    return wire(ResearchModel("research", ResearchParams.model_validate(data), c, seed=0))


def exp(name: str, hours: float = 2.0, power: float = 100.0, data: int = 1000, **more) -> dict:
    return {"name": name, "power_w": power, "duration_h": hours, "data_bytes": data, **more}


def sky(n: int, visible=1.0) -> dict:
    return {"sun_visible_frac": np.broadcast_to(np.asarray(visible, dtype=np.float64), (n,)).copy()}


def fresh_rng() -> np.random.Generator:
    return np.random.default_rng(0)


def run(model: ResearchModel, env: dict, on=None, state=None, start: int = 0):
    n = len(env["sun_visible_frac"])
    on = np.ones(n, bool) if on is None else np.asarray(on, bool)
    return model.advance(state or model.initial_state(), Window(start, n, model.clock), env, switched(on), fresh_rng())


def run_in_chunks(model, env, on, cuts):
    """Advance through windows cut at ``cuts``; return concatenated telemetry, outputs and end state."""
    n = len(on)
    edges = [0, *sorted(set(c for c in cuts if 0 < c < n)), n]
    state, tm, out = model.initial_state(), [], []
    for a, b in zip(edges[:-1], edges[1:]):
        r = model.advance(state, Window(a, b - a, model.clock), {k: v[a:b] for k, v in env.items()}, switched(on[a:b]), fresh_rng())
        state = r.state
        tm.append(r.telemetry)
        out.append(r.outputs)
    cat = lambda parts: {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}  # noqa: E731
    return cat(tm), cat(out), state


def test_contract_attributes():
    c = clock(1)
    model = research(c, [exp("a")])
    assert model.kind == "research"
    # A producer: it asks for power and sends data, and takes only the switch of its class back.
    assert [(p.name, p.direction, p.feedback) for p in model.ports] == [("power", "out", False), ("powered", "in", True), ("data", "out", False), ("heat", "out", False), ("operable", "in", True)]
    assert model.load_class is LoadClass.SCIENCE and model.port_attributes("power") == {"load_class": "science"}
    assert set(model.environment) <= set(SAMPLE_KEYS)
    defaults = ResearchModel("research", ResearchParams(deployed="2031-01-01T00:00:00Z"), c, 0)
    assert defaults.params.crew_from == parse_utc("2036-01-01T00:00:00Z")  # the roadmap's crewed phase
    assert defaults.params.max_concurrent == 3
    names = defaults.variables(defaults.initial_state())
    for key in ("completed_experiments_count", "experiment_hours", "data_produced_bytes"):
        assert key in names
    assert all(k.endswith(("_count", "_hours", "_bytes", "_kwh")) for k in names)


def test_two_experiments_one_slot_complete_at_120_and_240_steps():
    # Two 2-h runs, one slot, 60 s steps: 120 steps each. The first is complete at the end of step
    # 119, the second runs in steps 120-239.
    c = clock(300)
    model = research(c, [exp("a", data=1000), exp("b", power=250.0, data=7)], standby_w=50.0)
    out = run(model, sky(300))
    tm = out.telemetry
    done = tm["completed_experiments"]
    assert done[118] == 0 and done[119] == 1 and done[238] == 1 and done[239] == 2 and done[-1] == 2
    assert np.all(tm["active_experiments"][:240] == 1) and np.all(tm["active_experiments"][240:] == 0)
    assert np.all(tm["requested_w"][:120] == 150.0) and np.all(tm["requested_w"][120:240] == 300.0)
    assert np.all(tm["requested_w"][240:] == 50.0)  # the facility's standby stays
    assert np.array_equal(tm["power_w"], tm["requested_w"])
    # Data spread evenly: after k steps of run a, floor(1000 * 60k / 7200) bytes.
    k = np.arange(1, 121)
    assert np.array_equal(np.cumsum(tm["data_produced_bytes"][:120]), (1000 * 60 * k) // 7200)
    assert tm["data_produced_bytes"][:120].sum() == 1000 and tm["data_produced_bytes"][120:240].sum() == 7
    assert tm["data_produced_bytes"].dtype == np.int64 and out.outputs["data"].dtype == np.int64
    assert np.array_equal(out.outputs["data"], tm["data_produced_bytes"])
    assert np.array_equal(out.outputs["power"], tm["requested_w"])
    assert tm["experiment_hours"][119] == pytest.approx(2.0) and tm["experiment_hours"][-1] == pytest.approx(4.0)
    v = model.variables(out.state)
    assert v["completed_experiments_count"] == 2 and v["experiment_hours"] == 4.0 and v["data_produced_bytes"] == 1007
    assert v["a_completed_count"] == 1 and v["b_hours"] == 2.0
    assert v["energy_kwh"] == pytest.approx((150 * 2 + 300 * 2 + 50 * 60 / 60) / 1000)


def test_a_shed_period_delays_completion_by_exactly_its_length():
    c = clock(400)
    model = research(c, [exp("a"), exp("b")])
    on = np.ones(400, bool)
    on[50:80] = False  # 30 steps shed during the first run
    tm = run(model, sky(400), on).telemetry
    done = tm["completed_experiments"]
    assert done[148] == 0 and done[149] == 1 and done[268] == 1 and done[269] == 2
    # Paused, not lost: progress before the shed is kept; nothing produced or drawn while shed.
    assert np.all(tm["active_experiments"][50:80] == 0) and np.all(tm["power_w"][50:80] == 0)
    assert np.all(tm["requested_w"][50:80] == 100.0)  # still asks: what it would draw if powered
    assert np.all(tm["data_produced_bytes"][50:80] == 0)
    assert tm["experiment_hours"][79] == pytest.approx(50 / 60)
    assert tm["data_produced_bytes"][:150].sum() == 1000


def test_daylight_only_experiment_does_not_advance_at_night():
    c = clock(300)
    visible = np.r_[np.zeros(100), np.ones(200)]
    # Alone in the queue: waits for the day, asks only for standby at night.
    alone = research(c, [exp("solar", requires_daylight=True)], standby_w=10.0)
    tm = run(alone, sky(300, visible)).telemetry
    assert np.all(tm["active_experiments"][:100] == 0) and np.all(tm["requested_w"][:100] == 10.0)
    assert tm["experiment_hours"][99] == 0.0
    assert tm["completed_experiments"][218] == 0 and tm["completed_experiments"][219] == 1
    # Behind it in the queue, an any-time experiment takes the free slot at night, then yields it
    # back at sunrise (queue order) and resumes after the daylight run completes.
    pair = research(c, [exp("solar", requires_daylight=True), exp("night_ok", power=30.0)])
    tm = run(pair, sky(300, visible)).telemetry
    assert np.all(tm["requested_w"][:100] == 30.0) and np.all(tm["requested_w"][100:220] == 100.0)
    assert tm["completed_experiments"][219] == 1  # the daylight run: steps 100-219
    assert tm["completed_experiments"][239] == 2  # night_ok: 100 steps at night + 20 after
    # A partial disk counts as daylight with the default threshold; a threshold can demand more.
    half = sky(10, 0.5)
    assert run(research(clock(10), [exp("solar", requires_daylight=True)]), half).telemetry["active_experiments"].sum() == 10
    strict = research(clock(10), [exp("solar", requires_daylight=True)], daylight_min_visible_frac=0.5)
    assert run(strict, half).telemetry["active_experiments"].sum() == 0


def test_crew_tended_experiment_waits_for_the_crew():
    c = clock(300)
    model = research(c, [exp("crew", crew_tended=True), exp("robotic", hours=1.0)], crew_from=at(100), max_concurrent=2)
    tm = run(model, sky(300)).telemetry
    # Before crew_from only the robotic one runs (60 steps); the crewed one starts at step 100.
    assert np.all(tm["active_experiments"][:60] == 1) and np.all(tm["active_experiments"][60:100] == 0)
    assert tm["completed_experiments"][59] == 1
    assert np.all(tm["active_experiments"][100:220] == 1)
    assert tm["completed_experiments"][218] == 1 and tm["completed_experiments"][219] == 2


def test_nothing_before_deployment_and_concurrency():
    c = clock(200)
    model = research(c, [exp("a", repeat=3), exp("b", power=10.0)], deployed=at(50), standby_w=20.0, max_concurrent=2)
    tm = run(model, sky(200)).telemetry
    assert np.all(tm["requested_w"][:50] == 0) and np.all(tm["data_produced_bytes"][:50] == 0)
    assert np.all(tm["active_experiments"][:50] == 0)
    # From step 50, two runs of a at once (220 W), then the third a and b (130 W).
    assert np.all(tm["requested_w"][50:170] == 220.0) and np.all(tm["requested_w"][170:] == 130.0)
    assert tm["completed_experiments"][169] == 2
    assert model.variables(run(model, sky(200)).state)["queued_experiments_count"] == 2


def test_durations_that_are_not_whole_steps_and_exact_data():
    # 90 s at 60 s steps: two steps, the second partly used; 1001 bytes in 90 s: 667 then 334.
    c = clock(5)
    model = research(c, [exp("short", hours=90 / 3600, data=1001, repeat=2)])
    tm = run(model, sky(5)).telemetry
    assert list(tm["data_produced_bytes"]) == [667, 334, 667, 334, 0]
    assert list(tm["completed_experiments"]) == [0, 1, 1, 2, 2]
    assert tm["experiment_hours"][-1] == pytest.approx(180 / 3600)


def test_huge_data_volumes_stay_exact():
    c = clock(1000)
    big = 2**62 - 12345
    model = research(c, [exp("big", hours=1000 * 60 / 3600 - 1 / 3600, data=big)])
    out = run(model, sky(1000))
    assert int(out.telemetry["data_produced_bytes"].sum()) == big
    assert out.state.data_bytes == big


def test_parameters_are_validated():
    with pytest.raises(ValidationError, match="unique"):
        ResearchParams.model_validate({"deployed": at(0), "experiments": [exp("a"), exp("a")]})
    with pytest.raises(ValidationError, match="extra"):
        ResearchParams.model_validate({"deployed": at(0), "experiments": [exp("a", colour="red")]})
    with pytest.raises(ValidationError):
        ResearchParams.model_validate({"deployed": at(0), "experiments": [exp("A b")]})
    with pytest.raises(ValidationError):
        ResearchParams.model_validate({"deployed": at(0), "max_concurrent": 0})


def reference(model: ResearchModel, env: dict, on: np.ndarray) -> dict:
    """The queue rules one step at a time in plain Python integers."""
    p, c = model.params, model.clock
    runs = [e for e in p.experiments for _ in range(e.repeat)]
    total = [max(1, round(e.duration_h * 3600)) for e in runs]
    prog = [0] * len(runs)
    out = {k: [] for k in ("requested_w", "active_experiments", "completed_experiments", "data_produced_bytes", "experiment_s")}
    done = gained_total = 0
    for j, tj in enumerate(c.times(0, len(on))):
        req, active, data, gained = 0.0, [], 0, 0
        if tj >= p.deployed_unix_s:
            day = env["sun_visible_frac"][j] > p.daylight_min_visible_frac
            crew = tj >= p.crew_from_unix_s
            for i, e in enumerate(runs):
                if prog[i] < total[i] and (day or not e.requires_daylight) and (crew or not e.crew_tended):
                    active.append(i)
                    if len(active) == p.max_concurrent:
                        break
            req = p.standby_w
            for i in active:
                req += runs[i].power_w
            if on[j]:
                for i in active:
                    before = prog[i]
                    prog[i] = min(before + c.step_s, total[i])
                    gained += prog[i] - before
                    data += runs[i].data_bytes * prog[i] // total[i] - runs[i].data_bytes * before // total[i]
                    done += prog[i] == total[i]
        gained_total += gained
        out["requested_w"].append(req)
        out["active_experiments"].append(len(active) if on[j] else 0)
        out["completed_experiments"].append(done)
        out["data_produced_bytes"].append(data)
        out["experiment_s"].append(gained_total)
    return {k: np.array(v) for k, v in out.items()}


def random_case(seed: int, n: int):
    rng = np.random.default_rng(seed)
    c = clock(n, int(rng.choice([1, 60, 600])))
    step_min = c.step_s / 60
    experiments = [
        exp(f"e{i}", hours=float(rng.choice([c.step_s / 3600, 0.5, 1.0, 1.7, 3.0])) * float(rng.uniform(0.2, 2.0)),
            power=float(rng.choice([0.0, 50.0, 123.4])), data=int(rng.integers(0, 10**12)),
            requires_daylight=bool(rng.random() < 0.4), crew_tended=bool(rng.random() < 0.3), repeat=int(rng.integers(1, 4)))
        for i in range(int(rng.integers(1, 5)))
    ]
    model = research(c, experiments, deployed=at(float(rng.integers(0, n // 3 + 1)) * step_min),
                     crew_from=at(float(rng.integers(0, n)) * step_min), max_concurrent=int(rng.integers(1, 4)),
                     standby_w=float(rng.choice([0.0, 75.5])))
    env = sky(n, np.repeat(rng.choice([0.0, 0.3, 1.0], n // 7 + 1), 7)[:n])
    on = np.repeat(rng.random(n // 5 + 1) < 0.7, 5)[:n] ^ (rng.random(n) < 0.05)
    return model, env, on, rng


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
def test_matches_a_step_by_step_reference(n, seed):
    model, env, on, _ = random_case(seed, n)
    tm = run(model, env, on).telemetry
    ref = reference(model, env, on)
    for key in ("requested_w", "active_experiments", "completed_experiments", "data_produced_bytes"):
        assert np.array_equal(tm[key], ref[key]), key
    assert np.array_equal(tm["experiment_hours"], ref["experiment_s"] / 3600.0)


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1), ncuts=st.integers(1, 12), ones=st.booleans())
def test_split_anywhere_gives_identical_telemetry_and_state(n, seed, ncuts, ones):
    model, env, on, rng = random_case(seed, n)
    whole = run(model, env, on)
    cuts = list(range(1, n)) if ones else rng.integers(1, max(n, 2), ncuts).tolist()  # windows of length 1 included
    tm, out, state = run_in_chunks(model, env, on, cuts)
    assert state == whole.state and isinstance(state, ResearchState)
    assert hash(state) == hash(whole.state)
    for key, values in whole.telemetry.items():
        assert values.dtype == tm[key].dtype and np.array_equal(values, tm[key]), key
    for key, values in whole.outputs.items():
        assert np.array_equal(values, out[key]), key
    assert int(whole.outputs["data"].sum()) == whole.state.data_bytes


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 200), seed=st.integers(0, 2**32 - 1), k=st.integers(0, 199))
def test_causal_and_the_request_ignores_the_same_steps_switch(n, seed, k):
    model, env, on, _ = random_case(seed, n)
    k = k % n
    state0 = model.initial_state()
    base = run(model, env, on)
    flipped = on.copy()
    flipped[k:] = ~flipped[k:]  # change the switch from step k on, and the env after k
    env2 = {key: np.r_[v[:k + 1], 1.0 - v[k + 1:]] for key, v in env.items()}
    other = run(model, env2, flipped)
    assert model.initial_state() == state0  # advance does not mutate
    assert np.array_equal(base.outputs["power"][:k + 1], other.outputs["power"][:k + 1])
    for key, values in base.telemetry.items():
        assert np.array_equal(values[:k], other.telemetry[key][:k]), key


def test_host_commits_a_prefix_like_a_shorter_window():
    c = clock(500)
    model = research(c, [exp("a", repeat=3, requires_daylight=True), exp("b")], max_concurrent=2)
    env = sky(500, np.r_[np.ones(200), np.zeros(150), np.ones(150)])
    on = np.r_[np.ones(120, bool), np.zeros(30, bool), np.ones(350, bool)]
    host = host_through(model, env, on, ((300, 137), (363, 1), (362, 362)))
    assert host.step == 500 and host.state == run(model, env, on).state


def test_one_year_in_30_day_windows():
    # A year of minute steps in 30-day windows (bench/models.py measures how fast: the budget is
    # about 1 s of CPU per simulated year, 7.9M steps over 15 years at 60 s).
    steps_year = 525_960
    c = clock(steps_year)
    model = wire(ResearchModel("research", ResearchParams(deployed=at(0), crew_from=at(0)), c, 0))
    t = np.arange(steps_year)
    visible = ((t % 42_524) < 21_262).astype(float)  # a synodic day/night cycle
    on = (t % 5000) > 300  # occasional shedding
    state, w = model.initial_state(), 43_200
    for a in range(0, steps_year, w):
        b = min(a + w, steps_year)
        state = model.advance(state, Window(a, b - a, c), {"sun_visible_frac": visible[a:b]}, switched(on[a:b]), fresh_rng()).state
    assert state.completed > 0
    whole = model.advance(model.initial_state(), Window(0, steps_year, c), {"sun_visible_frac": visible}, switched(on), fresh_rng()).state
    assert state == whole  # the windows change nothing


def test_coupled_with_energy_windows_equal_lockstep(tmp_path):
    """Research and astronomy beside the energy model at Amundsen (real sky): run in lockstep and
    in long windows cut at switch changes, the telemetry is identical; shedding pauses the queue.
    Built directly (not from a scenario) so it tests these models alone."""
    import pyarrow.parquet as pq

    from conftest import conduct
    from twin.environment.sky import SkyGrid
    from twin.kinds.astronomy.model import AstronomyModel, AstronomyParams
    from twin.kinds.energy.model import EnergyModel, EnergyParams

    begin = parse_utc("2030-01-01T00:00:00Z")
    c = Clock(unix_s(begin), 600, 21 * 144)  # three weeks at 10-min steps
    sky_grid = SkyGrid(-84.5, 82.8, c.start_unix_s, c.end_unix_s)  # Amundsen (docs/references.md, Geometry)
    energy_params = EnergyParams.model_validate({
        "deployed": "2030-01-01T00:00:00Z", "solar": {"area_m2": 20.0},
        "storage": {"capacity_kwh": 40.0, "min_soc_frac": 0.2, "restore_soc_frac": 0.5, "initial_soc_frac": 0.6},
    })
    research_params = ResearchParams.model_validate({
        "deployed": "2030-01-02T00:00:00Z", "crew_from": "2030-01-10T00:00:00Z", "standby_w": 300.0,
        "experiments": [exp("drill", hours=30.0, power=1500.0, data=10**9, repeat=6),
                        exp("greenhouse", hours=50.0, power=800.0, data=3 * 10**9 + 7, requires_daylight=True, repeat=3),
                        exp("crewed", hours=20.0, power=600.0, data=12345, crew_tended=True, repeat=4)],
    })
    astronomy_params = AstronomyParams(deployed="2030-01-03T00:00:00Z")

    def models():
        return [ResearchModel("research", research_params, c, 0), AstronomyModel("astronomy", astronomy_params, c, 0),
                EnergyModel("energy", energy_params, c, 0)]

    lockstep = conduct(models(), c, sky_grid, 1, tmp_path / "lockstep")
    windows = conduct(models(), c, sky_grid, 400, tmp_path / "windows")
    for name in ("research", "astronomy", "energy"):
        a = pq.read_table(tmp_path / "lockstep" / f"{name}.parquet")
        b = pq.read_table(tmp_path / "windows" / f"{name}.parquet")
        assert a.equals(b), name
    assert lockstep.variables() == windows.variables()
    assert windows.stats.cut > 0
    v = windows.variables()
    assert v["energy"]["science_shed_hours"] > 0  # the queue was paused at times
    r = pq.read_table(tmp_path / "windows" / "research.parquet").to_pydict()
    shed = (np.array(r["requested_w"]) > 0) & (np.array(r["power_w"]) == 0)
    assert shed.any() and np.all(np.array(r["data_produced_bytes"])[shed] == 0)
    assert v["research"]["completed_experiments_count"] > 0
    assert sum(r["data_produced_bytes"]) == v["research"]["data_produced_bytes"]
    # The energy model saw exactly the two science requests.
    e = pq.read_table(tmp_path / "windows" / "energy.parquet").to_pydict()
    a = pq.read_table(tmp_path / "windows" / "astronomy.parquet").to_pydict()
    assert np.allclose(e["science_demand_w"], np.array(r["requested_w"]) + np.array(a["requested_w"]), atol=1e-6)
