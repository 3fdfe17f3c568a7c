"""Commands and faults as deterministic input: what each does (against hand-computed figures),
that a refusal changes nothing, and that windows, runtimes, recovery and replay never change the
telemetry they give."""
from __future__ import annotations

import math

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import small_scenario
from test_lifecycle import _kill_once, assert_same_telemetry
from twin.actions import COMMAND, RESTORE, SNAPSHOT, Action, read_events, replay_drive
from twin.commands import Command, CommandRefused, Faults, clear_command, clears_at, fault_command
from twin.conductor import Conductor
from twin.events import EventLog
from twin.run import make_runtime, run

STEP_S = 600
THROTTLE = Command.of("isru", "set-throttle", {"throttle": 0.5})
ARRAY_72H = fault_command("energy", "array", "fail", duration_s=72 * 3600)
RELAY_LOW = fault_command("communications", "relay", "degrade", 0.3)
ACTIONS = [(400, Action(COMMAND, THROTTLE)), (500, Action(COMMAND, ARRAY_72H)), (1500, Action(COMMAND, RELAY_LOW))]
IDS = ["energy", "communications", "research", "isru", "general", "astronomy"]


def telemetry(out, id):
    return pq.read_table(out / "telemetry" / f"{id}.parquet")


# -- the pieces ---------------------------------------------------------------------------------
def test_a_fault_clears_itself_at_the_step_its_duration_ends():
    fault = ARRAY_72H.at(500)
    assert clears_at(fault, STEP_S) == 500 + 72 * 3600 // STEP_S
    assert clears_at(fault_command("energy", "array", "fail", duration_s=1).at(9), STEP_S) == 10  # at least one step
    assert clears_at(fault_command("energy", "array", "fail").at(9), STEP_S) is None  # until cleared


@pytest.mark.parametrize("mode, level, field", [
    ("melt", None, "mode"), ("degrade", None, "level"), ("degrade", 1.0, "level"), ("degrade", 0.0, "level"),
    ("degrade", math.nan, "level"), ("fail", 0.5, "level"), ("degrade", -0.1, "level"),
])
def test_bad_faults_name_their_field(mode, level, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        fault_command("energy", "array", mode, level)
    with pytest.raises(ValueError, match="^duration: "):
        fault_command("energy", "array", "fail", duration_s=-1)


@given(st.lists(st.tuples(st.sampled_from(["array", "reactor", "storage"]), st.floats(0, 0.99), st.integers(0, 10**6)), max_size=8))
def test_faults_keep_one_entry_per_component(entries):
    faults = Faults()
    for component, level, step in entries:
        faults = faults.set(component, level, step)
        assert faults.level(component) == level and faults.since(component) == step
    assert len({c for c, _, _ in faults.active}) == len(faults.active)
    for component, _, _ in entries:
        faults = faults.clear(component)
        assert faults.level(component) == 1.0 and faults.since(component) is None


def test_commands_and_their_refusals(small):
    with make_runtime(small, "local") as rt:
        conductor = Conductor(small.clock, rt.station, rt.handles, small.window_steps)
        conductor.advance(300)
        before = conductor.variables()
        for bad, error in [
            (Command.of("isru", "set-throttle", {"throttle": 0.0}), ValueError), (Command.of("isru", "set-throttle", {"throttle": 1.5}), ValueError),
            (Command.of("isru", "set-throttle", {"throttle": "x"}), ValueError), (Command.of("isru", "warp", {}), ValueError),
            (Command.of("research", "set-throttle", {"throttle": 0.5}), ValueError), (fault_command("energy", "flux", "fail"), ValueError),
            (fault_command("energy", "storage", "degrade", 0.5), CommandRefused), (clear_command("energy", "array"), CommandRefused),
            (Command.of("nowhere", "fault", {}), LookupError),
        ]:
            with pytest.raises(error):
                conductor.command(bad)
        assert conductor.variables() == before and conductor.commands == []
        conductor.command(fault_command("isru", "plant", "fail"))
        with pytest.raises(CommandRefused, match="the plant is down"):
            conductor.command(THROTTLE)
        assert conductor.variables()["isru"]["plant_capacity_frac"] == 0.0 and conductor.variables()["isru"]["throttle_frac"] == 1.0


# -- in a run -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def commanded(tmp_path_factory, small):
    out = tmp_path_factory.mktemp("commanded")
    summary = run(small, "local", out=out / "a", drive=replay_drive(ACTIONS))
    plain = run(small, "local", out=out / "plain")
    return out, summary, plain


def test_an_array_failure_takes_the_solar_power_for_its_duration_only(commanded):
    out, summary, plain = commanded
    e, p = telemetry(out / "a", "energy").to_pydict(), telemetry(out / "plain", "energy").to_pydict()
    end = clears_at(ARRAY_72H.at(500), STEP_S)
    assert all(w == 0.0 for w in e["solar_w"][500:end]) and any(w > 0 for w in p["solar_w"][500:end])
    assert e["solar_w"][:500] == p["solar_w"][:500] and e["solar_w"][end:] == p["solar_w"][end:]
    assert summary["modules"]["energy"]["array_capacity_frac"] == 1.0  # cleared itself
    lost_kwh = sum(p["solar_w"][500:end]) * STEP_S / 3.6e6
    assert summary["energy"]["solar_kwh"] == pytest.approx(plain["energy"]["solar_kwh"] - lost_kwh, abs=1e-3)


def test_a_degraded_relay_carries_that_fraction_and_no_byte_is_lost_unaccounted(commanded):
    out, summary, plain = commanded
    c, p = telemetry(out / "a", "communications").to_pydict(), telemetry(out / "plain", "communications").to_pydict()
    relay = [i for i in range(1500, len(c["link_rate_bps"])) if c["relay_visible_frac"][i] and not c["dte_visible_frac"][i] and p["link_rate_bps"][i]]
    assert relay and all(c["link_rate_bps"][i] == pytest.approx(0.3 * p["link_rate_bps"][i]) for i in relay)
    m = summary["modules"]["communications"]
    assert m["received_bytes"] == m["downlinked_bytes"] + m["stored_bytes"] + m["lost_bytes"]
    assert m["relay_capacity_frac"] == 0.3


def test_windows_of_any_length_give_the_same_commanded_telemetry(tmp_path, commanded, small):
    out, _, _ = commanded
    run(small, "local", out=tmp_path / "b", window_steps=37, drive=replay_drive(ACTIONS))
    assert_same_telemetry(out / "a", tmp_path / "b", IDS)


def test_a_restore_rewinds_state_and_telemetry_and_the_session_replays(tmp_path, small):
    """Snapshot at 300, a fault, run to 900, restore: the rest is the plain run's, and a run from
    the session's log gives the session's telemetry."""
    actions = [(300, Action(SNAPSHOT, snapshot_id="a")), (350, Action(COMMAND, ARRAY_72H)), (900, Action(RESTORE, snapshot_id="a")),
               (1000, Action(COMMAND, THROTTLE))]
    run(small, "local", out=tmp_path / "session", drive=replay_drive(actions))
    run(small, "local", out=tmp_path / "plain", drive=replay_drive(actions[-1:]))
    assert_same_telemetry(tmp_path / "session", tmp_path / "plain", IDS)


def test_a_recovered_actor_gets_the_commands_it_missed_again(tmp_path, small, ray_cluster):
    """An actor killed after the commands: restored from the last checkpoint before them, it is
    given them again at their steps; the telemetry equals the local run's."""
    seen: list = []
    on_ready, on_progress = _kill_once("isru", 1800, seen)
    scenario = small_scenario(checkpoint="5d")
    run(scenario, "ray", out=tmp_path / "ray", on_ready=on_ready, on_progress=on_progress, drive=replay_drive(ACTIONS))
    run(scenario, "local", out=tmp_path / "local", drive=replay_drive(ACTIONS))
    assert len(seen) == 2
    assert_same_telemetry(tmp_path / "local", tmp_path / "ray", IDS)


def test_replay_refuses_a_log_of_another_scenario_in_one_line(tmp_path, small):
    log = EventLog(tmp_path / "events.jsonl")
    log.append("command", {"subsystem": "isru", "command": "set-throttle", "args": {"throttle": 2.0}}, {}, step=10, time_unix_s=0)
    with pytest.raises(ValueError, match=r"^--replay: action 1 \(command\) at step 10 was refused: throttle: "):
        run(small, "local", drive=replay_drive(read_events(log.path)))
    (tmp_path / "bad.jsonl").write_text('{"action": "command", "step": 1}\nnot json\n')
    with pytest.raises(ValueError, match="^--replay: line 1 is not a command event"):
        read_events(tmp_path / "bad.jsonl")


def test_a_newer_fault_of_the_same_step_is_not_cleared_by_the_older_ones_end(small):
    with make_runtime(small, "local") as rt:
        conductor = Conductor(small.clock, rt.station, rt.handles, small.window_steps)
        conductor.advance(300)
        conductor.command(fault_command("energy", "array", "fail", duration_s=3600))
        conductor.command(fault_command("energy", "array", "degrade", 0.5))  # until cleared
        assert conductor.pending == []
        conductor.advance(400)
        assert conductor.variables()["energy"]["array_capacity_frac"] == 0.5


def test_a_recovery_applies_the_commands_since_its_checkpoint_again_in_their_order(tmp_path):
    """Throttle 0.5, 0.8, 0.5 at one step after the checkpoint of step 144; restored there (as
    after a lost actor), the station ends as the uninterrupted one, telemetry included."""
    scenario = small_scenario(checkpoint="1d")
    ends = {}
    for name, recover in (("straight", False), ("recovered", True)):
        with make_runtime(scenario, "local", telemetry_dir=tmp_path / name / "telemetry") as rt:
            conductor = Conductor(scenario.clock, rt.station, rt.handles, scenario.window_steps, checkpoint_steps=scenario.checkpoint_steps)
            conductor.advance(200)
            for throttle in (0.5, 0.8, 0.5):
                conductor.command(Command.of("isru", "set-throttle", {"throttle": throttle}))
            conductor.command(ARRAY_72H)
            conductor.advance(400)
            if recover:
                conductor.restore(next(c for c in conductor.checkpoints if c.step == 144))
                assert [c.step for c in conductor.replay] == [200] * 4
            conductor.advance(scenario.clock.n_steps)
            conductor.finish()
            ends[name] = conductor.variables()
    assert ends["recovered"] == ends["straight"] and ends["recovered"]["isru"]["throttle_frac"] == 0.5
    assert_same_telemetry(tmp_path / "straight", tmp_path / "recovered", IDS)
