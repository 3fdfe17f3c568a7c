"""The co-simulation spine: exchange order, windows equal to lockstep, determinism."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import conduct, small_scenario, wire
from twin.conductor import Conductor
from twin.environment.station import StationEnvironment
from twin.loads import LoadClass
from twin.model import Advance, Model
from twin.ports import POWER, POWERED
from twin.registry import get
from twin.run import make_runtime, run
from twin.station import instance_seed

SUBSYSTEMS = ("energy", "communications", "research", "isru", "general", "astronomy")


def tables(folder: Path) -> dict:
    return {name: pq.read_table(folder / "telemetry" / f"{name}.parquet") for name in SUBSYSTEMS}


def test_exchange_order_is_fixed(small):
    """Per window: the data producers (the first level of the station graph, scenario order),
    communications, then energy; commits ride on the next exchange."""
    with make_runtime(small, "local") as rt:
        assert rt.station.levels == [["research", "isru", "general", "astronomy"], ["communications"], ["energy"]]
        conductor = Conductor(small.clock, rt.station, rt.handles, small.window_steps, trace=True)
        conductor.advance(small.clock.n_steps)
    log = conductor.stats.log
    order = ["research", "isru", "general", "astronomy", "communications", "energy"]
    rounds = [log[i:i + 6] for i in range(0, len(log), 6)]
    for entries in rounds:
        assert [name for name, _, _ in entries] == order
        assert len({start for _, start, _ in entries}) == 1
    # Every proposal's accepted steps are committed by every subsystem exactly once, in order.
    starts = [entries[0][1] for entries in rounds]
    commits = [entries[0][2] for entries in rounds]
    assert sum(commits) == small.clock.n_steps
    assert starts[0] == 0 and conductor.step == small.clock.n_steps
    assert conductor.stats.cut > 0, "the small station must switch loads inside windows"


def test_windows_equal_lockstep(tmp_path):
    """Adaptive windows give exactly what exchanging at every micro step gives."""
    run(small_scenario(window="600s"), runtime="local", out=tmp_path / "lockstep")
    run(small_scenario(window="3d"), runtime="local", out=tmp_path / "windows")
    lockstep, windows = tables(tmp_path / "lockstep"), tables(tmp_path / "windows")
    for name in SUBSYSTEMS:
        assert lockstep[name].equals(windows[name]), name
    on = lockstep["energy"].column("classes_on_count").to_numpy()
    assert len(np.unique(on)) >= 3  # shedding and restoring happened


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(window_min=st.integers(min_value=10, max_value=6000))
def test_any_window_length_gives_identical_telemetry(tmp_path_factory, window_min):
    out = tmp_path_factory.mktemp("w")
    reference = tmp_path_factory.getbasetemp() / "reference"
    if not reference.exists():
        run(small_scenario(window="2d"), runtime="local", out=reference)
    run(small_scenario(window=f"{window_min}min"), runtime="local", out=out)
    ref, got = tables(reference), tables(out)
    for name in SUBSYSTEMS:
        assert ref[name].equals(got[name]), name


def test_reruns_are_bit_identical(tmp_path, small):
    first = run(small, runtime="local", out=tmp_path / "a")
    second = run(small, runtime="local", out=tmp_path / "b")
    a, b = tables(tmp_path / "a"), tables(tmp_path / "b")
    for name in SUBSYSTEMS:
        assert a[name].equals(b[name])
    assert first["energy"] == second["energy"]


class BacklogModel(Model):
    """A consumer that reacts to being shed: one unit of work arrives per step and up to three are
    done per powered step, so its request depends on the switch states of earlier steps (as an
    ISRU plant's will). Requests are decided before the step's switch, as Model.advance requires."""

    kind = "backlog"
    ports = (POWER, POWERED)

    def __init__(self, clock):
        super().__init__("isru", None, clock, 0)

    @property
    def load_class(self):
        return LoadClass.ISRU

    def initial_state(self):
        return 0

    def advance(self, state, window, env, inputs, rng):
        backlog, requests, done = state, np.zeros(window.steps), np.zeros(window.steps)
        on = self.powered(inputs, window.steps)
        for i in range(window.steps):
            backlog += 1
            requests[i] = 4000.0 if backlog > 0 else 0.0
            if on[i]:
                done[i] = min(backlog, 3)
                backlog -= done[i]
        return Advance({"power": requests}, {"requested_w": requests, "done_count": done}, int(backlog))

    def variables(self, state):
        return {"backlog_count": float(state)}


def test_a_consumer_that_reacts_to_shedding_still_equals_lockstep(tmp_path):
    scenario = small_scenario()
    clock, sky = scenario.clock, StationEnvironment(scenario, {})

    def models():
        return [BacklogModel(clock), get("energy")("energy", scenario.modules["energy"].params, clock, instance_seed(0, "energy"))]

    lockstep = conduct(models(), clock, sky, 1, tmp_path / "lockstep")
    windows = conduct(models(), clock, sky, 400, tmp_path / "windows")
    for name in ("energy", "isru"):
        a = pq.read_table(tmp_path / "lockstep" / f"{name}.parquet")
        b = pq.read_table(tmp_path / "windows" / f"{name}.parquet")
        assert a.equals(b), name
    assert windows.stats.cut > 0 and windows.stats.proposals < lockstep.stats.proposals / 10
    isru = pq.read_table(tmp_path / "windows" / "isru.parquet")
    done = isru.column("done_count").to_numpy()
    assert (done == 0).any() and (done == 3).any()  # shed for a while, then catching up


# -- guard rails -----------------------------------------------------------------------------------
class DarkSky:
    """No sunlight at all: a station on storage alone."""

    def sample(self, times) -> dict:
        n = len(times)
        return {"sun_elevation_deg": np.full(n, -5.0), "sun_azimuth_deg": np.zeros(n),
                "sun_visible_frac": np.zeros(n), "solar_irradiance_w_m2": np.full(n, 1361.0),
                "sun_eclipsed_frac": np.zeros(n)}


class SwitchFollower(Model):
    """From step 50 on it asks for 4 kW exactly while its class is on *at that step*: its request
    depends on the feedback answer of its own step, which Model.advance forbids. With ``lag`` it
    follows the previous step's switch instead, as it should."""

    kind = "follower"
    ports = (POWER, POWERED)

    def __init__(self, clock, lag: bool = False):
        super().__init__("isru", None, clock, 0)
        self.lag = lag

    @property
    def load_class(self):
        return LoadClass.ISRU

    def initial_state(self):
        return 1  # the switch of the step before the first

    def advance(self, state, window, env, inputs, rng):
        on = self.powered(inputs, window.steps).astype(np.int64)
        previous = np.concatenate(([state], on[:-1]))
        follows = previous if self.lag else on
        steps = window.start_step + np.arange(window.steps)
        request = np.where(steps >= 50, 4000.0 * follows, 0.0)
        return Advance({"power": request}, {"requested_w": request}, int(on[-1]) if window.steps else state)

    def variables(self, state):
        return {}


def storage_at_its_floor(clock):
    """An energy system with nothing to give: no arrays, storage at its floor, no survival load."""
    params = get("energy").Params.model_validate({
        "deployed": "2030-01-01T00:00:00Z", "solar": {"area_m2": 0.0},
        "survival": {"avionics_w": 0.0, "heater_day_w": 0.0, "heater_night_w": 0.0},
        "storage": {"capacity_kwh": 10.0, "min_soc_frac": 0.2, "restore_soc_frac": 0.5, "initial_soc_frac": 0.2},
    })
    return get("energy")("energy", params, clock, 0)


@pytest.mark.timeout(120)  # without the guard the conductor would propose forever
def test_an_output_that_depends_on_its_own_steps_answer_does_not_settle(tmp_path):
    # Up to step 50 nothing is asked and the switch stays on; at step 50 the follower asks while
    # on, the energy system cannot serve it and sheds it; asked again with the switch off, it asks
    # nothing, so the class is on again: the answer flips on every proposal.
    from twin.clock import Clock

    clock = Clock(small_scenario().clock.start_unix_s, 60, 200)
    with pytest.raises(RuntimeError, match=r"feedback at step 50 does not settle: an output depends on a feedback answer of its own step"):
        conduct([SwitchFollower(clock), storage_at_its_floor(clock)], clock, DarkSky(), 100, tmp_path / "bad")
    # The same follower reacting to the previous step's switch settles, step by step: at step 50
    # it asks (on before) and is shed, at 51 it asks nothing (off before) and its class is on
    # again (nothing to carry), at 52 it asks and is shed, ...
    conductor = conduct([SwitchFollower(clock, lag=True), storage_at_its_floor(clock)], clock, DarkSky(), 100, tmp_path / "good")
    assert conductor.step == 200
    steps = np.arange(200)
    asks = (steps >= 50) & ((steps - 50) % 2 == 0)
    requested = pq.read_table(tmp_path / "good" / "isru.parquet").column("requested_w").to_numpy()
    assert np.array_equal(requested, np.where(asks, 4000.0, 0.0))
    on = pq.read_table(tmp_path / "good" / "energy.parquet").column("classes_on_count").to_numpy()
    assert np.array_equal(on, np.where(asks, 3, 4))


def test_the_host_refuses_calls_out_of_order():
    from twin.clock import Clock
    from twin.model import ModelHost, Snapshot, Window

    clock = Clock(small_scenario().clock.start_unix_s, 60, 20)
    model = wire(SwitchFollower(clock))
    host = ModelHost(model)
    on = {"powered/energy": np.ones(10)}
    with pytest.raises(ValueError, match="commit without a proposal"):
        host.commit(1)
    with pytest.raises(ValueError, match="window starts at step 5 but the model is at step 0"):
        host.propose(Window(5, 10, clock), on)
    host.propose(Window(0, 10, clock), on)
    with pytest.raises(ValueError, match="cannot commit 11 of 10 proposed steps"):
        host.commit(11)
    with pytest.raises(ValueError, match="cannot commit -1 of 10"):
        host.commit(-1)
    # An exchange with the wrong inputs is refused before it commits anything.
    with pytest.raises(ValueError, match=r"'power/rover' is not an input of isru"):
        host.exchange(4, Window(4, 6, clock), {**on, "power/rover": np.ones(6)})
    with pytest.raises(ValueError, match="isru needs powered/energy"):
        host.exchange(4, Window(4, 6, clock), {})
    assert host.step == 0
    host.exchange(4, Window(4, 6, clock), {"powered/energy": np.ones(6)})
    assert host.step == 4
    snap = host.snapshot()
    assert snap.step == 4
    for bad, match in (
        (Snapshot("energy", snap.kind, snap.schema_version, 4, snap.payload, snap.rng_state), "it is of energy"),
        (Snapshot(snap.id, snap.kind, snap.schema_version + 1, 4, snap.payload, snap.rng_state), "cannot be restored by schema"),
        (Snapshot(snap.id, snap.kind, snap.schema_version, 21, snap.payload, snap.rng_state), "outside the run"),
        (Snapshot(snap.id, snap.kind, snap.schema_version, 4, b"not json", snap.rng_state), "not a state encoding"),
        (Snapshot(snap.id, snap.kind, snap.schema_version, 4, snap.payload, snap.payload), "not a PCG64 state"),
    ):
        with pytest.raises(ValueError, match=match):
            host.restore(bad)
        assert host.step == 4  # a refused restore changes nothing
