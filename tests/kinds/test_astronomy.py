"""Astronomy (ILRS-5): observing conditions by instrument kind, Earth interference, exact data,
split invariance, causality and speed."""
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
from twin.kinds.astronomy.model import AstronomyModel, AstronomyParams, AstronomyState
from twin.loads import LoadClass
from twin.model import Window

START = parse_utc("2032-01-01T00:00:00Z")


def clock(steps: int, step_s: int = 60) -> Clock:
    return Clock(unix_s(START), step_s, steps)


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


OPTICAL = {"name": "telescope", "kind": "optical", "power_w": 100.0, "standby_w": 10.0, "data_rate_bps": 8000}
UV = {"name": "lut", "kind": "uv_daytime", "power_w": 50.0, "standby_w": 5.0, "data_rate_bps": 1001}
RADIO = {"name": "radio", "kind": "radio_low_frequency", "power_w": 300.0, "standby_w": 20.0, "data_rate_bps": 16}


def astronomy(c: Clock, instruments=(OPTICAL, UV, RADIO), **params) -> AstronomyModel:
    data = {"deployed": at(0), "instruments": list(instruments), **params}
    return wire(AstronomyModel("astronomy", AstronomyParams.model_validate(data), c, seed=0))


def sky(sun_el, earth, visible=None) -> dict:
    sun_el = np.asarray(sun_el, dtype=np.float64)
    if visible is None:  # flat horizon: the disk (0.27 deg radius) is up when its centre is above -0.27
        visible = np.clip((sun_el + 0.27) / 0.54, 0.0, 1.0)
    return {
        "sun_elevation_deg": sun_el,
        "sun_visible_frac": np.asarray(visible, dtype=np.float64) * np.ones_like(sun_el),
        "earth_visible": np.asarray(earth, dtype=np.float64) * np.ones_like(sun_el),
    }


def fresh_rng() -> np.random.Generator:
    return np.random.default_rng(0)


def run(model, env, on=None, state=None, start=0):
    n = len(env["sun_elevation_deg"])
    on = np.ones(n, bool) if on is None else np.asarray(on, bool)
    return model.advance(state or model.initial_state(), Window(start, n, model.clock), env, switched(on), fresh_rng())


def test_contract_attributes():
    model = astronomy(clock(1))
    assert model.kind == "astronomy"
    # A producer: it asks for power and sends data, and takes only the switch of its class back.
    assert [(p.name, p.direction, p.feedback) for p in model.ports] == [("power", "out", False), ("powered", "in", True), ("data", "out", False), ("heat", "out", False), ("operable", "in", True)]
    assert model.load_class is LoadClass.SCIENCE and model.port_attributes("power") == {"load_class": "science"}
    assert set(model.environment) <= set(SAMPLE_KEYS)
    defaults = wire(AstronomyModel("astronomy", AstronomyParams(deployed=at(0)), clock(1), 0))
    kinds = {i.kind for i in defaults.params.instruments}
    assert "optical" in kinds and "radio_low_frequency" in kinds
    v = defaults.variables(defaults.initial_state())
    assert all(k.endswith(("_hours", "_bytes", "_kwh")) for k in v)
    assert "radio_array_observing_hours" in v and "radio_array_degraded_hours" in v


def test_each_kind_observes_under_its_own_sky():
    # Steps: day with Earth up, day with Earth down, sunset at -0.2 deg (disk partly up), night with
    # Earth up, night with Earth down, deep night with Earth up.
    env = sky([10.0, 10.0, -0.2, -5.0, -5.0, -20.0], [1, 0, 1, 1, 0, 1])
    model = astronomy(clock(6))
    can, degraded = model.conditions(env)
    assert can[0].tolist() == [False, False, False, True, True, True]  # optical: Sun below -0.5
    assert can[1].tolist() == [True, True, True, False, False, False]  # UV: part of the disk up
    assert can[2].tolist() == [False, False, False, True, True, True]  # radio: lunar night
    out = run(model, env)
    tm = out.telemetry
    assert tm["observing_instruments"].tolist() == [1, 1, 1, 2, 2, 2]
    assert tm["requested_w"].tolist() == [10 + 50 + 20, 80, 80, 100 + 5 + 300, 405, 405]
    assert np.array_equal(tm["power_w"], tm["requested_w"])
    # Degraded: the radio array at night with the Earth up (steps 3 and 5), one minute each.
    assert tm["degraded_hours"].tolist() == pytest.approx([0, 0, 0, 1 / 60, 1 / 60, 2 / 60])
    assert tm["observing_hours"][-1] == pytest.approx(9 / 60)
    v = model.variables(out.state)
    assert v["radio_observing_hours"] == pytest.approx(3 / 60) and v["radio_degraded_hours"] == pytest.approx(2 / 60)
    assert v["radio_nominal_hours"] == pytest.approx(1 / 60) and v["telescope_degraded_hours"] == 0
    assert v["lut_observing_hours"] == pytest.approx(3 / 60)
    # A threshold per instrument: a telescope that waits for astronomical darkness (-18 deg).
    deep = astronomy(clock(6), [dict(OPTICAL, sun_max_elevation_deg=-18.0)])
    assert deep.conditions(env)[0][0].tolist() == [False] * 5 + [True]
    # The UV telescope follows the visible disk, so a horizon mask hiding the Sun stops it.
    masked = sky([10.0], [1], visible=[0.0])
    assert not astronomy(clock(1)).conditions(masked)[0][1, 0]


def test_near_side_nights_are_degraded_by_the_earth_and_polar_ones_are_not():
    # A 354-h night (docs/references.md, Geometry: equatorial night) with the Earth always up (near side) and
    # the same night with the Earth below the horizon (a polar site at the right time).
    n = 354 * 60
    c = clock(n)
    radio = astronomy(c, [RADIO])
    near = run(radio, sky(np.full(n, -30.0), 1.0))
    polar = run(radio, sky(np.full(n, -30.0), 0.0))
    assert near.telemetry["observing_hours"][-1] == pytest.approx(354.0)
    assert near.telemetry["degraded_hours"][-1] == pytest.approx(354.0)
    assert polar.telemetry["observing_hours"][-1] == pytest.approx(354.0)
    assert polar.telemetry["degraded_hours"][-1] == 0.0
    # The Earth does not degrade optical work.
    optical = run(astronomy(c, [OPTICAL]), sky(np.full(n, -30.0), 1.0))
    assert optical.telemetry["degraded_hours"][-1] == 0.0


def test_shed_steps_produce_nothing():
    n = 100
    c = clock(n)
    model = astronomy(c)
    env = sky(np.full(n, -10.0), 1.0)
    on = np.ones(n, bool)
    on[20:50] = False
    tm = run(model, env, on).telemetry
    assert np.all(tm["observing_instruments"][20:50] == 0)
    assert np.all(tm["data_produced_bytes"][20:50] == 0) and np.all(tm["power_w"][20:50] == 0)
    assert np.all(tm["requested_w"][20:50] == 405.0)  # the request is what it would draw if powered
    assert tm["observing_hours"][-1] == pytest.approx(2 * 70 / 60)
    assert tm["degraded_hours"][-1] == pytest.approx(70 / 60)
    assert model.variables(run(model, env, on).state)["shed_hours"] == pytest.approx(30 / 60)


def test_nothing_before_deployment():
    n = 120
    model = astronomy(clock(n), deployed=at(60))
    tm = run(model, sky(np.full(n, -10.0), 1.0)).telemetry
    assert np.all(tm["requested_w"][:60] == 0) and np.all(tm["data_produced_bytes"][:60] == 0)
    assert np.all(tm["observing_instruments"][:60] == 0) and tm["observing_hours"][59] == 0
    assert np.all(tm["requested_w"][60:] == 405.0)


def test_data_are_exact_integers():
    # 1001 bit/s for 60 s steps: 7507.5 bytes a step, emitted as 7507 and 7508 alternately;
    # after k observing steps exactly floor(k * 60 * 1001 / 8) bytes.
    n = 1000
    model = astronomy(clock(n), [dict(UV, standby_w=0.0)])
    out = run(model, sky(np.full(n, 20.0), 0.0))
    data = out.telemetry["data_produced_bytes"]
    assert data.dtype == np.int64 and out.outputs["data"].dtype == np.int64
    assert set(data.tolist()) == {7507, 7508}
    assert np.array_equal(np.cumsum(data), (np.arange(1, n + 1) * 60 * 1001) // 8)
    assert out.state.data_bytes == 60 * 1001 * n // 8 == int(out.outputs["data"].sum())
    # A large rate over a long time stays exact (no float rounding).
    fast = astronomy(clock(1, 86400 * 365), [dict(UV, data_rate_bps=9_999_999_999)])
    s = 86400 * 365 * 40  # 40 years of observing already done
    state = AstronomyState((s,), (0,), 0, 0, 0)
    r = fast.advance(state, Window(0, 1, fast.clock), sky([20.0], 0.0), switched(np.ones(1, bool)), fresh_rng())
    expected = ((s + 86400 * 365) * 9_999_999_999) // 8 - (s * 9_999_999_999) // 8
    assert int(r.outputs["data"][0]) == expected


def test_parameters_are_validated():
    with pytest.raises(ValidationError, match="unique"):
        AstronomyParams.model_validate({"deployed": at(0), "instruments": [OPTICAL, OPTICAL]})
    with pytest.raises(ValidationError):
        AstronomyParams.model_validate({"deployed": at(0), "instruments": [dict(OPTICAL, kind="x_ray")]})
    with pytest.raises(ValidationError, match="extra"):
        AstronomyParams.model_validate({"deployed": at(0), "instruments": [dict(OPTICAL, aperture_m=1)]})


def random_case(seed: int, n: int):
    rng = np.random.default_rng(seed)
    c = clock(n, int(rng.choice([1, 60, 600])))
    kinds = ["optical", "uv_daytime", "radio_low_frequency"]
    instruments = [
        {"name": f"i{k}", "kind": kinds[int(rng.integers(0, 3))], "power_w": float(rng.choice([0.0, 33.3, 250.0])),
         "standby_w": float(rng.choice([0.0, 7.1])), "data_rate_bps": int(rng.integers(0, 10**9)),
         "sun_max_elevation_deg": float(rng.choice([-0.5, 0.0, -10.0]))}
        for k in range(int(rng.integers(0, 4)))
    ]
    model = astronomy(c, instruments, deployed=at(float(rng.integers(0, n // 3 + 1)) * c.step_s / 60))
    env = sky(np.repeat(rng.uniform(-12, 12, n // 6 + 1), 6)[:n], np.repeat(rng.random(n // 9 + 1) < 0.5, 9)[:n])
    on = np.repeat(rng.random(n // 5 + 1) < 0.7, 5)[:n] ^ (rng.random(n) < 0.05)
    return model, env, on, rng


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1), ncuts=st.integers(1, 12), ones=st.booleans())
def test_split_anywhere_gives_identical_telemetry_and_state(n, seed, ncuts, ones):
    model, env, on, rng = random_case(seed, n)
    whole = run(model, env, on)
    cuts = list(range(1, n)) if ones else rng.integers(1, max(n, 2), ncuts).tolist()
    edges = [0, *sorted(set(c for c in cuts if 0 < c < n)), n]
    state, parts, outs = model.initial_state(), [], []
    for a, b in zip(edges[:-1], edges[1:]):
        r = model.advance(state, Window(a, b - a, model.clock), {k: v[a:b] for k, v in env.items()}, switched(on[a:b]), fresh_rng())
        state = r.state
        parts.append(r.telemetry)
        outs.append(r.outputs)
    assert state == whole.state and hash(state) == hash(whole.state)
    for key, values in whole.telemetry.items():
        joined = np.concatenate([p[key] for p in parts])
        assert values.dtype == joined.dtype and np.array_equal(values, joined), key
    for key, values in whole.outputs.items():
        assert np.array_equal(values, np.concatenate([o[key] for o in outs])), key
    # Data conserved: the bytes emitted are the integer totals implied by the observing seconds.
    expected = sum((s * i.data_rate_bps) // 8 for s, i in zip(state.observing_s, model.params.instruments))
    assert int(whole.outputs["data"].sum()) == state.data_bytes == expected


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 200), seed=st.integers(0, 2**32 - 1), k=st.integers(0, 199))
def test_causal_and_the_request_ignores_the_same_steps_switch(n, seed, k):
    model, env, on, _ = random_case(seed, n)
    k = k % n
    base = run(model, env, on)
    flipped = on.copy()
    flipped[k:] = ~flipped[k:]
    env2 = {key: np.r_[v[:k + 1], -v[k + 1:]] for key, v in env.items()}
    other = run(model, env2, flipped)
    assert np.array_equal(base.outputs["power"][:k + 1], other.outputs["power"][:k + 1])
    for key, values in base.telemetry.items():
        assert np.array_equal(values[:k], other.telemetry[key][:k]), key


def test_host_commits_a_prefix_like_a_shorter_window():
    c = clock(400)
    model = astronomy(c)
    env = sky(np.r_[np.full(150, 5.0), np.full(250, -5.0)], np.r_[np.ones(300), np.zeros(100)])
    on = np.r_[np.ones(200, bool), np.zeros(40, bool), np.ones(160, bool)]
    host = host_through(model, env, on, ((250, 99), (301, 1), (300, 300)))
    assert host.step == 400 and host.state == run(model, env, on).state


def test_one_year_in_30_day_windows():
    # A year of minute steps in 30-day windows (bench/models.py measures how fast).
    steps_year = 525_960
    c = clock(steps_year)
    model = wire(AstronomyModel("astronomy", AstronomyParams(deployed=at(0)), c, 0))
    t = np.arange(steps_year)
    phase = 2 * np.pi * t / 42_524
    env = sky(10 * np.sin(phase), (t % 39_000) < 20_000)
    on = (t % 5000) > 300
    state, w = model.initial_state(), 43_200
    for a in range(0, steps_year, w):
        b = min(a + w, steps_year)
        state = model.advance(state, Window(a, b - a, c), {k: v[a:b] for k, v in env.items()}, switched(on[a:b]), fresh_rng()).state
    assert sum(state.degraded_s) > 0 and state.data_bytes > 0
    whole = model.advance(model.initial_state(), Window(0, steps_year, c), env, switched(on), fresh_rng()).state
    assert state == whole  # the windows change nothing
