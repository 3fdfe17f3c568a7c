"""Communications (ILRS-1): link choice, the data store, priority downlink, data conservation."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import switched, wire
from twin.clock import Clock, parse_utc, unix_s
from twin.kinds.communications.model import SPEED_OF_LIGHT_KM_S, CommunicationsModel, CommunicationsParams
from twin.kinds.communications.store import bounded_walk, priority_store
from twin.model import Window

START = unix_s(parse_utc("2031-01-01T00:00:00Z"))


def comms(n: int, step_s: int = 60, sources=("research",), **params) -> CommunicationsModel:
    """Powered by "energy"; data from ``sources`` (instance ids, each of the kind of its name): inputs ``data/<id>``."""
    data = {"deployed": "2031-01-01T00:00:00Z", **params}
    model = CommunicationsModel("communications", CommunicationsParams.model_validate(data), Clock(START, step_s, n), 0)
    return wire(model, data=list(sources))


def env(n: int, earth=1.0, ground=1.0, relay=0.0, relay_earth=1.0) -> dict:
    return {
        "earth_visible": np.full(n, earth),
        "earth_distance_km": np.full(n, 384_400.0),
        "dte_station_visible": np.full(n, ground),
        "relay0_visible": np.full(n, relay),
        "relay0_range_km": np.full(n, 10_000.0),
        "relay0_earth_visible": np.full(n, relay_earth),
        "relay0_earth_range_km": np.full(n, 390_000.0),
    }


def advance(model, e, inputs, powered=True, state=None, start=0):
    n = len(next(iter(e.values())))
    on = np.broadcast_to(np.asarray(powered, dtype=bool), (n,))
    return model.advance(state or model.initial_state(), Window(start, n, model.clock), e, {**inputs, **switched(on)}, np.random.default_rng(0))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 50), st.lists(st.tuples(st.integers(-30, 30), st.integers(0, 60)), min_size=1, max_size=300))
def test_bounded_walk_equals_the_step_by_step_clip(start, steps):
    deltas = np.array([d for d, _ in steps], dtype=np.int64)
    caps = np.array([c for _, c in steps], dtype=np.int64)
    level, refused = bounded_walk(start, deltas, caps)
    s = start
    for i, (d, cap) in enumerate(steps):
        raw = s + d
        s = min(max(raw, 0), cap)
        assert level[i] == s and refused[i] == max(raw - cap, 0)


def test_bounded_walk_when_phases_alternate_every_step():
    # Full, empty, full, ... for 30 days of minutes (its speed, linear not quadratic, is measured
    # by bench/models.py).
    deltas = np.tile(np.array([5, -5], dtype=np.int64), 21_600)
    level, refused = bounded_walk(0, deltas, 3)
    assert np.array_equal(level, np.tile([3, 0], 21_600)) and np.array_equal(refused, np.tile([2, 0], 21_600))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_priority_store_equals_serving_queues_in_order(data):
    n = data.draw(st.integers(1, 40))
    k = data.draw(st.integers(1, 4))
    starts = data.draw(st.lists(st.integers(0, 10), min_size=k, max_size=k))
    inflows = [np.array(data.draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)), dtype=np.int64) for _ in range(k)]
    capacity = np.array(data.draw(st.lists(st.integers(0, 25), min_size=n, max_size=n)), dtype=np.int64)
    space = np.array(data.draw(st.lists(st.integers(sum(starts), sum(starts) + 40), min_size=n, max_size=n)), dtype=np.int64)
    levels, served, lost = priority_store(starts, inflows, capacity, space)
    queues = list(starts)
    for t in range(n):
        link, room = int(capacity[t]), int(space[t])
        for q in range(k):
            available = queues[q] + int(inflows[q][t])
            out = min(available, link)
            kept = min(available - out, room)
            link -= out
            room -= kept
            assert served[q][t] == out and levels[q][t] == kept and lost[q][t] == available - out - kept
            queues[q] = kept


def test_a_store_filled_faster_than_it_drains_loses_exactly_the_excess():
    # 100 bytes arrive per step, 40 go down (rate 320 bit/s x 1 s steps), the store holds 1000:
    # it grows 60 a step, reaches 960 after 16 steps, loses 20 at step 17 and 60 every step after.
    n = 30
    model = comms(n, step_s=1, dte_rate_bps=320.0, store_capacity_bytes=1000, relays=[])
    e = {k: v for k, v in env(n).items() if not k.startswith("relay")}
    out = advance(model, e, {"data/research": np.full(n, 100, dtype=np.int64)})
    tm = out.telemetry
    assert list(tm["stored_bytes"][:16]) == [60 * (i + 1) for i in range(16)]
    assert tm["lost_bytes"][16] == 20 and np.all(tm["lost_bytes"][17:] == 60) and tm["lost_bytes"][:16].sum() == 0
    assert np.all(tm["downlinked_bytes"] == 40)
    assert out.state.lost_bytes == 20 + 60 * (n - 17)
    assert out.state.received_bytes == out.state.downlinked_bytes + out.state.lost_bytes + out.state.stored_bytes
    assert out.state.lost_bytes_by_source == (("research", out.state.lost_bytes),)
    assert np.array_equal(tm["research_lost_bytes"], tm["lost_bytes"])


def test_downlink_serves_higher_priority_first_and_loses_lower_priority_first():
    n = 10
    sources = ("research", "astronomy")
    model = comms(n, step_s=1, sources=sources, dte_rate_bps=400.0, store_capacity_bytes=10**9, relays=[], priority=["astronomy", "research"])
    e = {k: v for k, v in env(n).items() if not k.startswith("relay")}
    inputs = {"data/research": np.full(n, 30, dtype=np.int64), "data/astronomy": np.full(n, 30, dtype=np.int64)}
    out = advance(model, e, inputs)
    backlog = dict(out.state.backlog_bytes)
    assert backlog == {"astronomy": 0, "research": 10 * (30 - 20)}  # 50 bytes a step: astronomy's 30 first
    # Without a priority list the order is by kind (astronomy, research, general): the same here.
    by_kind = comms(n, step_s=1, sources=sources, dte_rate_bps=400.0, store_capacity_bytes=10**9, relays=[])
    assert dict(advance(by_kind, e, inputs).state.backlog_bytes) == backlog
    tight = comms(n, step_s=1, sources=sources, dte_rate_bps=0.001, store_capacity_bytes=100, relays=[], priority=["astronomy", "research"])
    lost = advance(tight, e, inputs).state
    assert dict(lost.backlog_bytes) == {"astronomy": 100, "research": 0}  # the store keeps the best 100 bytes
    assert lost.lost_bytes == 10 * 60 - 100
    # Nothing goes down: research's 300 bytes are all lost, astronomy keeps its first 100 of 300.
    assert dict(lost.lost_bytes_by_source) == {"astronomy": 200, "research": 300}


def test_a_full_store_drops_stored_low_priority_data_for_high_priority_arrivals():
    n = 10
    model = comms(n, step_s=1, sources=("research", "astronomy"), dte_rate_bps=400.0, store_capacity_bytes=1000, relays=[],
                  priority=["astronomy", "research"])
    e = {k: v for k, v in env(n).items() if not k.startswith("relay")}
    full = model.initial_state().__class__((("astronomy", 0), ("research", 1000)), 1000, 0, 0, 0, 0)
    out = advance(model, e, {"data/astronomy": np.full(n, 100, dtype=np.int64), "data/research": np.zeros(n, dtype=np.int64)}, state=full)
    # 50 bytes go down each step, astronomy's first; astronomy grows by 50 a step and displaces
    # research from the full store: 500 bytes of research are lost, none of astronomy.
    assert dict(out.state.backlog_bytes) == {"astronomy": 500, "research": 500}
    assert out.state.lost_bytes == 500 and out.state.received_bytes == 500 + 500 + 1000
    assert list(out.telemetry["downlinked_bytes"]) == [50] * n
    # The claim itself: the higher-priority source lost nothing; the 500 bytes lost, 50 a step,
    # are research's. (Reversed priorities give the same totals and backlogs, but astronomy's loss.)
    assert dict(out.state.lost_bytes_by_source) == {"astronomy": 0, "research": 500}
    assert list(out.telemetry["astronomy_lost_bytes"]) == [0] * n
    assert list(out.telemetry["research_lost_bytes"]) == [50] * n
    v = model.variables(out.state)
    assert v["astronomy_lost_bytes"] == 0.0 and v["research_lost_bytes"] == 500.0 and v["lost_bytes"] == 500.0


def test_nothing_is_stored_before_communications_lands():
    n = 4
    model = comms(n, step_s=3600, deployed="2031-01-01T02:00:00Z", relays=[])
    e = {k: v for k, v in env(n).items() if not k.startswith("relay")}
    out = advance(model, e, {"data/research": np.full(n, 10, dtype=np.int64)})
    assert list(out.telemetry["lost_bytes"][:2]) == [10, 10] and list(out.telemetry["stored_bytes"][:2]) == [0, 0]
    assert list(out.telemetry["research_lost_bytes"]) == [10, 10, 0, 0] and dict(out.state.lost_bytes_by_source) == {"research": 20}


def test_links_choose_the_fastest_and_report_light_time():
    n = 4
    model = comms(n, sources=(), dte_rate_bps=2e6)  # default relay: min(6 Mbps up, 100 Mbps down) = 6 Mbps
    e = env(n, earth=np.array([1, 0, 1, 0]), relay=np.array([0, 1, 1, 0]))
    tm = advance(model, e, {}).telemetry
    assert list(tm["link_rate_bps"]) == [2e6, 6e6, 6e6, 0.0]
    assert list(tm["dte_visible_frac"]) == [1, 0, 1, 0] and list(tm["relay_visible_frac"]) == [0, 1, 1, 0]
    assert tm["light_time_s"][0] == pytest.approx(384_400 / SPEED_OF_LIGHT_KM_S)  # about 1.28 s (docs/references.md, Geometry: 1.19-1.36 s)
    assert tm["light_time_s"][1] == pytest.approx(400_000 / SPEED_OF_LIGHT_KM_S)
    assert list(tm["requested_w"]) == [330.0, 330.0, 330.0, 80.0]  # standby + transmitter while a link is up
    no_ground = advance(model, env(n, ground=0.0, relay=1.0), {}).telemetry
    assert np.all(no_ground["link_rate_bps"] == 0)  # nobody on Earth listening


def test_unpowered_store_keeps_its_data():
    n = 5
    model = comms(n, step_s=1, dte_rate_bps=800.0, relays=[])
    e = {k: v for k, v in env(n).items() if not k.startswith("relay")}
    out = advance(model, e, {"data/research": np.full(n, 7, dtype=np.int64)}, powered=False)
    assert out.state.downlinked_bytes == 0 and out.state.stored_bytes == 35
    assert np.all(out.telemetry["power_w"] == 0)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 150), cut=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_split_invariance_and_data_conservation(n, cut, seed):
    rng = np.random.default_rng(seed)
    sources = ("research", "astronomy", "general")
    model = comms(n, step_s=1, sources=sources, dte_rate_bps=float(rng.uniform(0, 2000)), store_capacity_bytes=int(rng.integers(0, 3000)))
    e = env(n, earth=rng.integers(0, 2, n), relay=rng.integers(0, 2, n), ground=rng.integers(0, 2, n))
    data = {f"data/{s}": rng.integers(0, 300, n).astype(np.int64) for s in sources}
    inputs = {**data, **switched(rng.integers(0, 2, n).astype(bool))}
    rng_of = lambda: np.random.default_rng(seed)  # noqa: E731
    whole = model.advance(model.initial_state(), Window(0, n, model.clock), e, inputs, rng_of())
    s = whole.state
    assert s.received_bytes == s.downlinked_bytes + s.lost_bytes + s.stored_bytes
    assert s.received_bytes == sum(int(v.sum()) for v in data.values())
    by_source = dict(s.lost_bytes_by_source)
    assert set(by_source) == set(sources) and sum(by_source.values()) == s.lost_bytes
    assert np.array_equal(sum(whole.telemetry[f"{src}_lost_bytes"] for src in sources), whole.telemetry["lost_bytes"])
    for src in sources:
        assert int(whole.telemetry[f"{src}_lost_bytes"].sum()) == by_source[src]
        assert int(whole.telemetry[f"{src}_lost_bytes"].sum()) <= int(data[f"data/{src}"].sum())
    k = max(1, min(n - 1, int(cut * n)))
    part = lambda d, a, b: {key: v[a:b] for key, v in d.items()}  # noqa: E731
    first = model.advance(model.initial_state(), Window(0, k, model.clock), part(e, 0, k), part(inputs, 0, k), rng_of())
    second = model.advance(first.state, Window(k, n - k, model.clock), part(e, k, n), part(inputs, k, n), rng_of())
    assert second.state == whole.state
    for name, values in whole.telemetry.items():
        assert np.array_equal(values, np.concatenate([first.telemetry[name], second.telemetry[name]])), name


def test_each_source_has_its_loss_column_and_variable(tmp_path):
    from twin.telemetry import TelemetrySink

    n = 6
    model = comms(n, step_s=1, sources=("lab", "drill", "telescope"), dte_rate_bps=8.0, store_capacity_bytes=10, relays=[], priority=["telescope"])
    columns = model.columns()
    for source in ("lab", "drill", "telescope"):
        assert columns[f"{source}_lost_bytes"].unit == "bytes" and columns[f"{source}_lost_bytes"].kind == "amount"
    e = {k: v for k, v in env(n).items() if not k.startswith("relay")}
    inputs = {"data/telescope": np.full(n, 2, dtype=np.int64), "data/drill": np.ones(n, dtype=np.int64), "data/lab": np.ones(n, dtype=np.int64)}
    out = advance(model, e, inputs)
    assert set(out.telemetry) == set(columns)  # every column described, none left out
    # 1 byte a step goes down (8 bit/s), the store holds 10; telescope first, then by id: drill, lab.
    # Telescope keeps 1 a step (levels 1..6); drill fills what is left (10 - k after step k) and
    # loses 2 at step 6; lab gets the rest: room 8, 6, 4, 2, 0, 0 for levels 1, 2, 3, 2, 0, 0.
    assert list(out.telemetry["telescope_lost_bytes"]) == [0, 0, 0, 0, 0, 0]
    assert list(out.telemetry["drill_lost_bytes"]) == [0, 0, 0, 0, 0, 2]
    assert list(out.telemetry["lab_lost_bytes"]) == [0, 0, 0, 2, 3, 1]
    assert dict(out.state.lost_bytes_by_source) == {"telescope": 0, "drill": 2, "lab": 6} and out.state.lost_bytes == 8
    assert dict(out.state.backlog_bytes) == {"telescope": 6, "drill": 4, "lab": 0}
    assert set(model.variables(model.initial_state())) >= {"lab_lost_bytes", "drill_lost_bytes", "telescope_lost_bytes"}
    sink = TelemetrySink(tmp_path / "communications.parquet", model.clock, columns)
    sink.append(0, out.telemetry)
    sink.close()
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "communications.parquet")
    assert table.column("lab_lost_bytes").to_pylist() == list(out.telemetry["lab_lost_bytes"])
    assert table.schema.field("lab_lost_bytes").metadata[b"unit"] == b"bytes"


def test_the_state_with_losses_by_source_survives_a_snapshot():
    from twin.model import ModelHost

    n = 10
    model = comms(n, step_s=1, sources=("research", "astronomy"), dte_rate_bps=8.0, store_capacity_bytes=10, relays=[])
    e = {k: v for k, v in env(n).items() if not k.startswith("relay")}
    inputs = {"data/research": np.full(n, 3, dtype=np.int64), "data/astronomy": np.full(n, 3, dtype=np.int64)}
    state = advance(model, e, inputs).state
    assert dict(state.lost_bytes_by_source)["research"] > 0 and sum(b for _, b in state.lost_bytes_by_source) == state.lost_bytes
    host = ModelHost(model)
    host.state = state  # as committed after the window
    again = ModelHost(model)
    again.restore(host.snapshot())
    assert again.state == state and again.variables() == model.variables(state)
