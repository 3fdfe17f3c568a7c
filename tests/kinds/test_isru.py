"""ISRU plant (ILRS-3): hand-computed production, warm-up, stock-out, tank-full, mass ledger, splits."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conftest import switched, wire
from twin.clock import Clock, parse_utc, unix_s
from twin.kinds.isru.model import IsruModel, IsruParams, IsruState
from twin.loads import LoadClass
from twin.model import Window

START = parse_utc("2030-01-01T00:00:00Z")


def clock(steps: int, step_s: int = 60) -> Clock:
    return Clock(unix_s(START), step_s, steps)


def plant(c: Clock, sources=(), **params) -> IsruModel:
    """Powered by "energy"; regolith offered by ``sources`` (instance ids): inputs ``regolith/<id>``."""
    data = {"deployed": "2030-01-01T00:00:00Z", "regolith_delivery_kg_per_day": 0.0, **params}
    return wire(IsruModel("isru", IsruParams.model_validate(data), c, seed=0), regolith=list(sources))


def switches(n: int, off: list[tuple[int, int]] = ()) -> np.ndarray:
    """The ISRU class's switch per step: on, except over the ``off`` ranges."""
    on = np.ones(n, bool)
    for a, b in off:
        on[a:b] = False
    return on


def fresh_rng() -> np.random.Generator:
    return np.random.default_rng(0)


def advance(model: IsruModel, state, window: Window, inputs: dict, on: np.ndarray):
    return model.advance(state, window, {}, {**inputs, **switched(on)}, fresh_rng())


def run(model: IsruModel, n: int, on=None, inputs=None, state=None, start: int = 0):
    on = switches(n) if on is None else on
    return advance(model, model.initial_state() if state is None else state, Window(start, n, model.clock), inputs or {}, on)


def deliveries_g(model: IsruModel, idx: np.ndarray, inputs: dict) -> np.ndarray:
    """Grams offered to the hopper per step: the scenario's schedule, then each source's offer."""
    d = model._schedule(idx, model.deployed_step, model.delivery_end_step, model.delivery_mg_day)
    for _, offer in model.offers_g(inputs):
        d = d + offer
    return d


def test_parameters_default_by_process_and_explicit_values_override():
    hr = IsruParams.model_validate({"deployed": "2033-06-01T00:00:00Z"})
    assert (hr.process, hr.energy_per_kg, hr.o2_yield) == ("hydrogen_reduction", 24.3, 0.03)  # Leger et al. PNAS 2025
    mre = IsruParams.model_validate({"deployed": "2033-06-01T00:00:00Z", "process": "molten_regolith_electrolysis"})
    assert (mre.energy_per_kg, mre.o2_yield) == (26.5, 0.2)  # middle of 18-35 kWh/kg; below 45 wt% O
    own = IsruParams.model_validate({"deployed": "2033-06-01T00:00:00Z", "energy_kwh_per_kg_o2": 30.1, "o2_yield_kg_per_kg_regolith": 0.045})
    assert (own.energy_per_kg, own.o2_yield) == (30.1, 0.045)
    with pytest.raises(ValidationError, match="above what hydrogen_reduction can extract"):
        IsruParams.model_validate({"deployed": "2033-06-01T00:00:00Z", "o2_yield_kg_per_kg_regolith": 0.2})
    with pytest.raises(ValidationError):
        IsruParams.model_validate({"deployed": "2033-06-01T00:00:00Z", "colour": "red"})
    with pytest.raises(ValidationError, match="regolith_initial_kg"):
        IsruParams.model_validate({"deployed": "2033-06-01T00:00:00Z", "regolith_initial_kg": 3000.0, "regolith_capacity_kg": 2000.0})


def test_production_rate_is_power_over_specific_energy():
    # 2430 W at 24.3 kWh/kg: 0.1 kg O2 per hour, from 0.1 / 0.03 = 3.333 kg of regolith per hour.
    c = clock(600)
    model = plant(c, operating_power_w=2430.0, warmup_h=0.0, regolith_initial_kg=1000.0)
    out = run(model, 600)
    tm = out.telemetry
    assert model.q_ug == 1_666_667  # 0.1 kg/h at 60 s steps, to the microgram
    assert np.all(tm["producing_frac"] == 1.0) and np.all(tm["power_w"] == 2430.0)
    assert tm["o2_produced_kg"][59] == pytest.approx(0.1, abs=1e-3)
    assert tm["o2_produced_kg"][-1] == pytest.approx(1.0, abs=1e-3)  # 10 h
    assert tm["regolith_stock_kg"][-1] == pytest.approx(1000.0 - 1.0 / 0.03, abs=1e-3)
    assert tm["tailings_kg"][-1] == pytest.approx(1.0 / 0.03 - 1.0, abs=1e-3)
    v = model.variables(out.state)
    assert v["specific_energy_kwh_per_kg"] == pytest.approx(24.3, rel=1e-3)
    assert v["energy_kwh"] == pytest.approx(24.3)


def test_molten_regolith_electrolysis_rate():
    # 5300 W at 26.5 kWh/kg: 0.2 kg/h O2 from 1 kg/h regolith at a 0.2 yield.
    c = clock(60)
    model = plant(c, process="molten_regolith_electrolysis", operating_power_w=5300.0, warmup_h=0.0, regolith_initial_kg=100.0)
    out = run(model, 60)
    # 3,333,333 ug per step (rounded down to the microgram): 60 steps make 199.99998 g, 199 whole grams.
    assert model.q_ug == 3_333_333 and out.state.work_ug == 60 * 3_333_333
    assert out.telemetry["o2_produced_kg"][-1] == 0.199
    assert out.telemetry["regolith_stock_kg"][-1] == 99.0  # ceil(199,999,980 / 200,000 ppm) = 1000 g processed


def test_warm_up_delays_production_by_exactly_warmup_h_after_a_shed_period():
    # 1 h warm-up at 60 s steps = 60 steps at operating power. Lands cold: produces from step 60.
    # Shed over steps 200-229: cold again, produces from step 230 + 60 = 290.
    c = clock(400)
    model = plant(c, operating_power_w=2430.0, standby_w=100.0, warmup_h=1.0, regolith_initial_kg=500.0)
    out = run(model, 400, switches(400, [(200, 230)]))
    tm = out.telemetry
    producing = tm["producing_frac"] > 0
    assert np.array_equal(np.flatnonzero(~producing), np.r_[0:60, 200:290])
    assert np.all(tm["power_w"][:200] == 2430.0) and np.all(tm["power_w"][200:230] == 0.0)
    assert np.all(tm["power_w"][230:] == 2430.0)  # warm-up draws operating power
    assert np.all(tm["requested_w"] == 2430.0)  # the request ignores the switch of its own step
    assert np.all(tm["warming_frac"][230:290] == 1.0) and np.all(tm["warming_frac"][290:] == 0.0)
    assert np.all(np.diff(tm["o2_produced_kg"][199:290]) == 0.0)  # shed steps and warm-up make nothing
    assert out.state.warmup_steps == 120 and out.state.shed_steps == 30 and out.state.producing_steps == 140 + 110


def test_a_non_whole_warm_up_rounds_up_to_whole_steps():
    model = plant(clock(10, step_s=600), warmup_h=0.5 + 1 / 3600)  # 1801 s at 600 s steps -> 4 steps
    assert model.warmup_total == 4


def test_stock_runs_out_at_the_hand_computed_step_then_standby():
    # 2430 W, yield 0.03: 1,666,667 ug O2 per step needs ceil(W / 30,000) g of regolith.
    # 1 kg lasts while ceil(k * 1,666,667 / 30,000) <= 1000: k = 17 full steps (56 or 55 g each;
    # 945 g), then a partial step 18 (index 17) processes the last 55 g (1.65 g O2), then standby.
    c = clock(40)
    model = plant(c, operating_power_w=2430.0, standby_w=150.0, warmup_h=0.0, regolith_initial_kg=1.0)
    tm = run(model, 40).telemetry
    processed = tm["regolith_processed_kg"]
    assert np.all(tm["producing_frac"][:17] == 1.0)
    assert 0 < tm["producing_frac"][17] < 1.0
    assert processed[17] == pytest.approx(0.055)
    assert np.all(processed[18:] == 0.0)
    assert tm["regolith_stock_kg"][17] == 0.0 and tm["regolith_stock_kg"][16] > 0
    # The last, partial step asks only for what it uses: the power of the oxygen it can still make.
    assert np.all(tm["requested_w"][:17] == 2430.0) and np.all(tm["requested_w"][18:] == 150.0)
    assert tm["requested_w"][17] == pytest.approx(2430.0 * tm["producing_frac"][17], rel=1e-12)
    assert tm["o2_produced_kg"][-1] == 0.03  # 1 kg x 0.03, exactly to the gram


def test_tank_fills_at_the_hand_computed_step_then_the_request_drops_to_standby():
    # 3600 W at 24 kWh/kg: 2.5 g O2 per 60 s step. A 1 kg tank is full after 400 steps
    # (index 399); from step 400 the plant idles at standby.
    c = clock(500)
    model = plant(c, operating_power_w=3600.0, energy_kwh_per_kg_o2=24.0, standby_w=200.0, warmup_h=0.0,
                  regolith_initial_kg=1000.0, tank_capacity_kg=1.0)
    tm = run(model, 500).telemetry
    assert model.q_ug == 2_500_000
    assert tm["o2_tank_kg"][398] < 1.0 and tm["o2_tank_kg"][399] == 1.0
    assert np.all(tm["requested_w"][:400] == 3600.0) and np.all(tm["requested_w"][400:] == 200.0)
    assert np.all(tm["producing_frac"][400:] == 0.0)
    assert tm["o2_tank_kg"][-1] == 1.0 and tm["o2_produced_kg"][-1] == 1.0


def test_offtake_reopens_a_full_tank_and_shortfall_is_counted():
    # Tank of 100 g, production 2.5 g/step, offtake 1.44 kg/day = 1 g/step: the tank tops up each
    # step once full (it ends each step at 99 g). Shed from step 200, the 99 g cover steps 200-298;
    # from step 299 to 399 every gram asked for is short: 101 g.
    c = clock(400)
    model = plant(c, operating_power_w=3600.0, energy_kwh_per_kg_o2=24.0, warmup_h=0.0, regolith_initial_kg=100.0,
                  tank_capacity_kg=0.1, o2_offtake_kg_per_day=1.44)
    out = run(model, 400, switches(400, [(200, 400)]))
    tm = out.telemetry
    assert np.all(tm["o2_offtake_kg"][:299] == 0.001)
    # Topping up 1 of 2.5 g, the plant draws what that takes: 0.4 of 3600 W.
    assert np.all(tm["requested_w"][67:200] == 1440.0) and np.all(tm["producing_frac"][67:200] == 0.4)
    assert tm["o2_tank_kg"][199] == pytest.approx(0.099)  # topped to 100 g, minus this step's gram
    assert np.all(tm["o2_offtake_kg"][299:] == 0.0) and np.all(tm["o2_shortfall_kg"][299:] == 0.001)
    assert out.state.shortfall_g == 101
    assert out.state.offtaken_g + out.state.tank_g == out.state.work_ug // 10**6


def test_deliveries_fill_the_hopper_and_the_excess_is_refused():
    # 144 kg/day at 60 s steps = 100 g per step into a 1 kg hopper; the plant is shed throughout.
    c = clock(20)
    model = plant(c, ("robots",), regolith_delivery_kg_per_day=144.0, regolith_capacity_kg=1.0)
    out = run(model, 20, switches(20, [(0, 20)]), inputs={"regolith/robots": np.full(20, 0.05)})
    tm = out.telemetry
    assert np.all(tm["regolith_delivered_kg"][:6] == 0.15)
    assert tm["regolith_delivered_kg"][6] == pytest.approx(0.1) and tm["regolith_refused_kg"][6] == pytest.approx(0.05)
    # The robots are told what was refused (the scenario's own deliveries are taken first) and keep it.
    refused = out.outputs["regolith_refused/robots"]
    assert np.all(refused[:6] == 0.0) and refused[6] == pytest.approx(0.05) and refused[7:] == pytest.approx(0.05)
    assert np.all(tm["regolith_stock_kg"][6:] == 1.0)
    assert out.state.refused_g == 20 * 150 - 1000
    assert np.all(tm["power_w"] == 0.0) and np.all(tm["o2_produced_kg"] == 0.0)


def test_delivery_rates_are_exact_over_a_day_and_stop_at_the_end_date():
    c = clock(3 * 1440)
    model = plant(c, regolith_delivery_kg_per_day=1.0, regolith_delivery_until="2030-01-03T00:00:00Z")
    tm = run(model, 3 * 1440, switches(3 * 1440, [(0, 3 * 1440)])).telemetry
    assert tm["regolith_stock_kg"][1439] == 1.0 and tm["regolith_stock_kg"][-1] == 2.0
    assert np.all(tm["regolith_delivered_kg"][2880:] == 0.0)


def test_nothing_before_deployment():
    c = clock(200)
    model = plant(c, ("robots",), deployed="2030-01-01T01:00:00Z", regolith_initial_kg=100.0, regolith_delivery_kg_per_day=100.0,
                  warmup_h=0.0, o2_offtake_kg_per_day=1.0)
    out = run(model, 200, inputs={"regolith/robots": np.full(200, 0.01)})
    tm = out.telemetry
    for name in ("requested_w", "power_w", "producing_frac", "regolith_stock_kg", "regolith_delivered_kg",
                 "regolith_processed_kg", "o2_produced_kg", "o2_tank_kg", "o2_offtake_kg", "tailings_kg"):
        assert np.all(tm[name][:60] == 0.0), name
    assert np.all(tm["regolith_refused_kg"][:60] == 0.01)  # robots delivering to no hopper
    assert np.all(tm["requested_w"][60:] == 3000.0) and tm["o2_produced_kg"][-1] > 0
    # Entirely before deployment: the state does not move except for refusals.
    early = run(model, 50, inputs={"regolith/robots": np.zeros(50)})
    assert early.state == model.initial_state()
    assert early.outputs["power"].tolist() == [0.0] * 50


def test_shed_steps_produce_nothing_and_draw_nothing():
    rng = np.random.default_rng(3)
    n = 2000
    on = rng.random(n) < 0.7
    model = plant(clock(n), warmup_h=0.05, regolith_initial_kg=500.0, regolith_delivery_kg_per_day=20.0)
    tm = run(model, n, on).telemetry
    shed = ~on
    assert np.all(tm["power_w"][shed] == 0.0) and np.all(tm["producing_frac"][shed] == 0.0)
    assert np.all(tm["regolith_processed_kg"][shed] == 0.0)
    assert np.all(tm["requested_w"] > 0)


def test_outputs_and_telemetry_shapes():
    model = plant(clock(5))
    out = run(model, 1)
    assert list(out.outputs) == ["power", "heat"] and out.outputs["power"].dtype == np.float64
    names = set(out.telemetry)
    assert {"regolith_stock_kg", "o2_produced_kg", "o2_tank_kg", "power_w", "requested_w", "regolith_processed_kg",
            "tailings_kg", "producing_frac", "regolith_refused_kg"} <= names
    assert all(len(v) == 1 and v.dtype == np.float64 for v in out.telemetry.values())
    assert all(name.rsplit("_", 1)[1] in {"w", "kg", "frac"} for name in names)
    empty = run(model, 0)
    assert set(empty.telemetry) == names and empty.state == model.initial_state()
    assert all(k.rsplit("_", 1)[1] in {"kg", "kwh", "hours", "frac"} for k in model.variables(out.state))
    assert model.kind == "isru" and model.load_class == LoadClass.ISRU
    # It runs with the producers: its only forward input is regolith, answered on regolith_refused.
    assert [(p.name, p.direction, p.feedback) for p in model.ports] == [
        ("regolith", "in", False), ("regolith_refused", "out", True), ("power", "out", False), ("powered", "in", True), ("heat", "out", False), ("operable", "in", True)]
    assert model.port("regolith").reply == "regolith_refused"
    fed = plant(clock(5), ("robots", "rover1"))
    both = run(fed, 1, inputs={"regolith/robots": np.zeros(1), "regolith/rover1": np.zeros(1)})
    assert set(both.outputs) == {"power", "heat", "regolith_refused/robots", "regolith_refused/rover1"}
    assert all(v.dtype == np.float64 and len(v) == 1 for v in both.outputs.values())


def test_inputs_are_checked():
    model = plant(clock(5), ("robots", "rover1"))
    model.check_inputs({"regolith/robots": np.zeros(5), "regolith/rover1": np.zeros(5), **switched(np.ones(5))})
    with pytest.raises(ValueError, match="not an input"):
        model.check_inputs({"data/research": np.zeros(5), "regolith/robots": np.zeros(5), "regolith/rover1": np.zeros(5), **switched(np.ones(5))})
    with pytest.raises(ValueError, match="needs regolith/rover1"):
        model.check_inputs({"regolith/robots": np.zeros(5), **switched(np.ones(5))})
    with pytest.raises(ValueError, match="non-negative"):
        run(model, 5, inputs={"regolith/robots": np.full(5, -1.0), "regolith/rover1": np.zeros(5)})


# -- a step-by-step reference of the documented rules, in plain Python integers ---------------------
def reference(model: IsruModel, n: int, on: np.ndarray, inputs: dict, state: IsruState | None = None, start: int = 0):
    """Returns per-step (request code, stock, tank, work, accepted, shortfall), the share of operating
    power asked for, and the end (S, T, W, warm)."""
    s0 = model.initial_state() if state is None else state
    S, T, W, warm = s0.stock_g, s0.tank_g, s0.work_ug, s0.warmup_left_steps
    q, y, cap_t, cap_h = model.q_ug, model.yield_ppm, model.tank_cap_g, model.hopper_g
    idx = np.arange(start, start + n)
    d = deliveries_g(model, idx, inputs)
    off = model._schedule(idx, model.offtake_step, None, model.offtake_mg_day)
    rows, shares = [], []
    for j in range(n):
        if idx[j] < model.deployed_step:
            rows.append((0, 0, 0, W, 0, 0))
            shares.append(0.0)
            continue
        hw = S > 0 and T < cap_t
        code = 2 if hw else 1
        # Warm, it asks for the power of the oxygen it can make; owing a warm-up, for all of it.
        can = min(W + q, (-(-W // y) + S) * y, (W // 10**6 + cap_t - T) * 10**6) - W
        shares.append(1.0 if warm > 0 else min(max(can, 0), q) / q)
        if not on[j]:
            warm = model.warmup_total
        elif hw and warm > 0:
            warm -= 1
        elif hw:
            w1 = min(W + q, (-(-W // y) + S) * y, (W // 10**6 + cap_t - T) * 10**6)
            S -= -(-w1 // y) - (-(-W // y))
            T += w1 // 10**6 - W // 10**6
            W = w1
        a = min(int(d[j]), cap_h - S)
        S += a
        take = min(int(off[j]), T)
        T -= take
        rows.append((code, S, T, W, a, int(off[j]) - take))
    return np.array(rows, dtype=np.int64).reshape(n, 6), np.array(shares), (S, T, W, warm)


def random_case(seed: int, n: int):
    rng = np.random.default_rng(seed)
    step_s = int(rng.choice([1, 60, 600, 3600]))
    c = clock(n + 10, step_s)
    process = str(rng.choice(["hydrogen_reduction", "molten_regolith_electrolysis"]))
    params = dict(
        deployed=(START + timedelta(seconds=int(rng.integers(0, n // 4 + 1)) * step_s)).isoformat(),
        process=process,
        operating_power_w=float(rng.choice([200.0, 2430.0, 5000.0, 40_000.0])) * rng.uniform(0.5, 1.5),
        standby_w=float(rng.choice([0.0, 150.0])),
        warmup_h=float(rng.choice([0.0, step_s / 3600 * rng.integers(1, 5), rng.uniform(0, 2)])),
        regolith_delivery_kg_per_day=float(rng.choice([0.0, 1.0, 50.0, 2000.0])) * rng.uniform(0.5, 1.5),
        regolith_capacity_kg=float(rng.choice([0.3, 5.0, 1000.0])),
        tank_capacity_kg=float(rng.choice([0.01, 0.2, 100.0])),
        o2_offtake_kg_per_day=float(rng.choice([0.0, 0.5, 20.0])),
        o2_yield_kg_per_kg_regolith=float(rng.uniform(0.001, 0.1)) if rng.random() < 0.5 else None,
    )
    params["regolith_initial_kg"] = min(float(rng.choice([0.0, 0.5, 20.0])), params["regolith_capacity_kg"])
    pattern = rng.choice(["random", "blocks", "on"])
    on = np.ones(n, bool)
    if pattern == "random":
        on = rng.random(n) < 0.8
    elif pattern == "blocks":
        on = (np.arange(n) // int(rng.integers(1, 50))) % 2 == 0
    inputs = {}
    if rng.random() < 0.5:
        inputs["regolith/robots"] = rng.choice([0.0, 0.0, 0.0123, 0.4, 3.0], n)
    model = plant(c, ("robots",) if inputs else (), **params)
    return model, on, inputs


def split(model, n, on, inputs, cuts):
    state, parts = model.initial_state(), []
    bounds = [0, *sorted(set(cuts)), n]
    for a, b in zip(bounds, bounds[1:]):
        if b <= a:
            continue
        part = advance(model, state, Window(a, b - a, model.clock), {k: v[a:b] for k, v in inputs.items()}, on[a:b])
        parts.append(part)
        state = part.state
    return parts, state


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), cuts=st.lists(st.floats(0, 1), max_size=6), ones=st.integers(0, 5))
def test_matches_the_step_rule_conserves_mass_and_splits_anywhere(seed, n, cuts, ones):
    model, on, inputs = random_case(seed, n)
    frozen = {k: v.copy() for k, v in inputs.items()}
    start_state = model.initial_state()
    whole = advance(model, start_state, Window(0, n, model.clock), inputs, on)
    assert start_state == model.initial_state() and all(np.array_equal(frozen[k], inputs[k]) for k in inputs)
    tm, end = whole.telemetry, whole.state

    # The vectorised stretches equal the rules applied one step at a time.
    rows, shares, (S, T, W, warm) = reference(model, n, on, inputs)
    assert (end.stock_g, end.tank_g, end.work_ug, end.warmup_left_steps) == (S, T, W, warm)
    op, sb = model.params.operating_power_w, model.params.standby_w
    assert np.array_equal(tm["requested_w"], np.select([rows[:, 0] == 2, rows[:, 0] == 1], [op * shares, sb], 0.0))
    assert np.array_equal(tm["regolith_stock_kg"], rows[:, 1] / 1000.0)
    assert np.array_equal(tm["o2_tank_kg"], rows[:, 2] / 1000.0)
    assert np.array_equal(tm["o2_produced_kg"], (rows[:, 3] // 10**6) / 1000.0)
    assert np.array_equal(tm["regolith_delivered_kg"], rows[:, 4] / 1000.0)
    assert np.array_equal(tm["o2_shortfall_kg"], rows[:, 5] / 1000.0)
    assert np.array_equal(tm["power_w"], np.where(on, tm["requested_w"], 0.0))

    # Mass ledger, exact in integer grams.
    produced = end.work_ug // 10**6
    processed = -(-end.work_ug // model.yield_ppm)
    assert model.initial_g + end.delivered_g == end.stock_g + processed
    assert produced == end.tank_g + end.offtaken_g
    assert processed - produced >= 0 and end.stock_g >= 0 and end.tank_g >= 0
    assert end.stock_g <= model.hopper_g and end.tank_g <= model.tank_cap_g
    grams = lambda name: int(np.rint(tm[name] * 1000).astype(np.int64).sum())  # noqa: E731
    assert grams("regolith_processed_kg") == processed
    assert grams("regolith_delivered_kg") == end.delivered_g and grams("regolith_refused_kg") == end.refused_g
    assert int(np.rint(tm["tailings_kg"][-1] * 1000)) == processed - produced
    deliveries = deliveries_g(model, np.arange(n), inputs)
    assert end.delivered_g + end.refused_g == int(deliveries.sum())
    # What each source is told it got back is part of the refusals, never more than it offered.
    if inputs:
        offered = np.rint(inputs["regolith/robots"] * 1000).astype(np.int64)
        back = np.rint(whole.outputs["regolith_refused/robots"] * 1000).astype(np.int64)
        assert np.all(back <= offered) and np.all(back <= np.rint(tm["regolith_refused_kg"] * 1000).astype(np.int64))

    # The request at t never depends on the switch at t: flipping it changes no request up to t.
    t = int(seed % n)
    flipped = on.copy()
    flipped[t] = ~flipped[t]
    other = advance(model, start_state, Window(0, n, model.clock), inputs, flipped)
    assert np.array_equal(other.outputs["power"][:t + 1], whole.outputs["power"][:t + 1])

    # Split anywhere (windows of length 1 included): bit-identical telemetry and end state.
    points = [int(c * n) for c in cuts] + list(range(1, min(ones, n - 1) + 1))
    parts, state = split(model, n, on, inputs, points)
    assert state == end
    for name, values in tm.items():
        assert np.array_equal(values, np.concatenate([p.telemetry[name] for p in parts])), name
    for key, values in whole.outputs.items():
        assert np.array_equal(values, np.concatenate([p.outputs[key] for p in parts])), key


def test_every_window_of_length_one():
    model, on, inputs = random_case(11, 300)
    whole = advance(model, model.initial_state(), Window(0, 300, model.clock), inputs, on)
    parts, state = split(model, 300, on, inputs, list(range(1, 300)))
    assert state == whole.state
    for name, values in whole.telemetry.items():
        assert np.array_equal(values, np.concatenate([p.telemetry[name] for p in parts])), name


def test_a_year_of_micro_steps_in_30_day_windows():
    # One year at 60 s steps in 43,200-step windows, with a lunar day/night shedding pattern
    # (shed 354 h of every 708 h) and a robot delivering now and then (bench/models.py measures
    # how fast: well under 1 s of CPU).
    n = 525_960
    c = clock(n)
    model = plant(c, ("robots",), regolith_delivery_kg_per_day=50.0, regolith_initial_kg=100.0, o2_offtake_kg_per_day=0.5,
                  tank_capacity_kg=200.0)
    on = (np.arange(n) // (354 * 60)) % 2 == 0
    robots = np.where(np.arange(n) % 997 == 0, 25.0, 0.0)
    state = model.initial_state()
    for a in range(0, n, 43_200):
        b = min(a + 43_200, n)
        state = advance(model, state, Window(a, b - a, c), {"regolith/robots": robots[a:b]}, on[a:b]).state
    assert state.work_ug > 0 and state.shed_steps > 0
    whole = advance(model, model.initial_state(), Window(0, n, c), {"regolith/robots": robots}, on).state
    assert state == whole  # the windows change nothing


def test_model_host_commits_a_prefix_of_a_proposal():
    from twin.model import ModelHost

    model, on, inputs = random_case(5, 240)
    whole = advance(model, model.initial_state(), Window(0, 240, model.clock), inputs, on)
    host = ModelHost(model)  # ISRU reads no environment
    host.propose(Window(0, 240, model.clock), {**inputs, **switched(on)})
    host.commit(97)
    host.propose(Window(97, 143, model.clock), {**{k: v[97:] for k, v in inputs.items()}, **switched(on[97:])})
    host.commit(143)
    assert host.state == whole.state
    assert host.variables() == model.variables(whole.state)


# -- the feed decides: composition, yield and energy per kilogram -----------------------------------
def hand_kwh_per_kg(feo_wt_pct: float) -> float:
    """Hydrogen reduction by hand: O2 yield 0.8 x FeO x 15.999/71.844; heating 950 J/(kg K) x 1070 K
    x (1 - 0.413) per kg of feed, divided by the yield; electrolysis 285.8 kJ/mol per 16.0 g of
    O2 at 70 %; liquefaction 1.5 kWh/kg."""
    y = 0.8 * feo_wt_pct / 100 * 15.999 / 71.844
    heating_kwh = 950 * 1070 * (1 - 0.413) / y / 3.6e6
    electrolysis_kwh = 285.8e3 / 15.999e-3 / 3.6e6 / 0.7
    return heating_kwh + electrolysis_kwh + 1.5


@pytest.mark.parametrize("feo, expected", [(5.1, hand_kwh_per_kg(5.1)), (22.0, hand_kwh_per_kg(22.0))])
def test_a_leaner_feed_costs_more_energy_per_kilogram(feo, expected):
    p = IsruParams(deployed="2030-01-01T00:00:00Z", feo_wt_pct=feo)
    assert p.o2_yield == pytest.approx(0.8 * feo / 100 * 0.22269, rel=1e-4)
    assert p.energy_per_kg == pytest.approx(expected, rel=1e-12)
    # 5.1 wt% FeO (highland): about 26.8 kWh/kg; 22 wt% (pyroclastic glass): about 12.8.
    assert p.energy_per_kg == pytest.approx({5.1: 26.83, 22.0: 12.82}[feo], abs=0.01)


def test_the_heat_recovery_is_calibrated_to_the_published_figure():
    """Leger et al. 2025: 24.3 kWh per kg of liquid O2 from a 10 wt% ilmenite feed, whose oxygen
    yield is at most 10.55 wt% of the ilmenite: 1.055 wt% of the feed."""
    p = IsruParams(deployed="2030-01-01T00:00:00Z", o2_yield_kg_per_kg_regolith=0.01055)
    assert p.energy_per_kg == pytest.approx(24.3, abs=0.02)


def test_the_three_roadmap_sites_feed_different_plants():
    from twin.scenario import load

    plants = {site: load(f"roadmap-{site}").modules["isru"].params for site in ("amundsen", "aristarchus", "marius-hills")}
    assert [plants[s].feo_wt_pct for s in plants] == [5.1, 22.0, 15.1]
    yields = [plants[s].o2_yield for s in plants]
    assert yields[0] < yields[2] < yields[1]
    assert plants["amundsen"].energy_per_kg > plants["marius-hills"].energy_per_kg > plants["aristarchus"].energy_per_kg


def test_a_starved_plant_draws_what_it_uses():
    """Deliveries of 5 kg/day at 0.03 kg/kg feed 0.15 kg O2 a day, a sixth of what 3 kW makes: the
    plant runs at that rate, and its energy per kilogram stays the process's (plus standby) instead
    of growing sixfold."""
    n = 10 * 1440
    model = plant(clock(n), operating_power_w=3000.0, energy_kwh_per_kg_o2=24.0, o2_yield_kg_per_kg_regolith=0.03, standby_w=0.0,
                  warmup_h=0.0, regolith_delivery_kg_per_day=5.0)
    out = run(model, n)
    v = model.variables(out.state)
    assert v["o2_produced_kg"] == pytest.approx(10 * 5.0 * 0.03, rel=0.01)
    assert v["specific_energy_kwh_per_kg"] == pytest.approx(24.0, rel=0.01)


def test_water_ice_needs_a_cold_trap(tmp_path):
    from twin.scenario import ScenarioError, parse

    text = """
[scenario]
name = "ice"
[site]
name = "{site}"
[time]
start = "2030-01-01T00:00:00Z"
end = "2030-01-02T00:00:00Z"
[modules.energy]
deployed = "2030-01-01T00:00:00Z"
[modules.isru]
deployed = "2030-01-01T00:00:00Z"
process = "water_ice_extraction"
"""
    polar = parse(text.format(site="amundsen"), "ice.toml").modules["isru"].params
    assert polar.ice_wt_pct == 5.6 and polar.o2_yield == pytest.approx(0.056 * 15.999 / 18.015)
    with pytest.raises(ScenarioError, match="modules.isru.*water ice"):
        parse(text.format(site="aristarchus"), "ice.toml")
    # A scenario's own regolith figures replace the site's.
    richer = parse(text.format(site="aristarchus").replace('process = "water_ice_extraction"', "") + "\n", "x.toml")
    assert richer.modules["isru"].params.feo_wt_pct == 22.0
    custom = parse(text.format(site="aristarchus").replace('name = "aristarchus"', 'name = "aristarchus"\n[site.regolith]\nfeo_wt_pct = 10.0')
                   .replace('process = "water_ice_extraction"', ""), "y.toml")
    assert custom.modules["isru"].params.feo_wt_pct == 10.0


def test_a_throttled_plant_makes_oxygen_and_draws_power_at_that_fraction():
    """In the full regime (feed and tank ample, warm) each producing step makes q = P dt / E of O2;
    at half throttle exactly floor(q / 2) micrograms, at half the operating power; the rest of the
    ledger holds (regolith processed = O2 + tailings)."""
    from twin.commands import Command

    model = plant(clock(500), regolith_initial_kg=1000.0, warmup_h=0.0)
    state = model.initial_state()
    full = run(model, 500, state=state)
    half_state = model.command(state, Command.of("isru", "set-throttle", {"throttle": 0.5}, step=0))
    half = run(model, 500, state=half_state)
    q = model.q_ug
    assert full.state.work_ug == 500 * q and half.state.work_ug == 500 * (q // 2)
    assert np.allclose(half.outputs["power"], full.outputs["power"] / 2) and full.outputs["power"][0] == model.params.operating_power_w
    assert half.state.throttle_ppm == 500_000 and model.variables(half.state)["throttle_frac"] == 0.5
    v = model.variables(half.state)
    assert v["regolith_processed_kg"] == pytest.approx(v["o2_produced_kg"] + v["tailings_kg"])
    assert state.throttle_ppm == 1_000_000  # the command made a new state


@pytest.mark.parametrize("throttle", [0.0, -0.5, 1.01, float("nan"), "half", True])
def test_a_throttle_outside_its_range_is_refused_naming_it(throttle):
    from twin.commands import Command

    model = plant(clock(5))
    with pytest.raises(ValueError, match="^throttle: "):
        model.command(model.initial_state(), Command.of("isru", "set-throttle", {"throttle": throttle}, step=0))
