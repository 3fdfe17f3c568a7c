"""The live twin (twin/live.py) behind its gateway (services/twin_server.py), through the real
gRPC server and the Python client: state by name, streams, time control, tokens and the audit log;
a paced, paused and stepped session writes exactly the telemetry of a batch run."""
from __future__ import annotations

import json
import sys
import time

import grpc
import pyarrow.parquet as pq
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.client import AsyncTwinClient, TwinClient, TwinError
from services.gen.ilrs.twin.v1 import isru_pb2, twin_pb2, twin_pb2_grpc
from services.twin_server import MUTATING, TwinServicer, serve
from test_servers import reflect
from twin.events import EventLog
from twin.actions import SNAPSHOT, Action
from twin.commands import CommandRefused
from twin.conductor import Conductor
from twin.live import LiveTwin
from twin.live_process import LiveProcess
from twin.run import make_runtime, run

TOKEN, READ_TOKEN = "full-token", "read-token"
CLI = [sys.executable, "-m", "twin.cli"]


@pytest.fixture
def live(request, tmp_path, small):
    """A paused live twin of the small station behind its gateway, and a client with the token:
    in a thread of the test's process, or (``process``: as `ilrs-twin serve` runs it) in a
    process of its own (twin.live_process)."""
    where = getattr(request, "param", "thread")
    twin = (LiveProcess if where == "process" else LiveTwin)(small, out=tmp_path / "live", speed=None, paused=True).start()
    assert twin.ready.wait(60) and twin.error is None
    server, port, _ = serve(twin, TOKEN, events=EventLog(tmp_path / "live" / "events.jsonl"), read_token=READ_TOKEN)
    client = TwinClient(f"127.0.0.1:{port}", token=TOKEN)
    try:
        yield twin, client, port
    finally:
        client.close()
        twin.stop(timeout=60)
        server.stop()


def tables(folder):
    return {path.name: pq.read_table(path) for path in sorted((folder / "telemetry").iterdir())}


def test_a_session_paused_stepped_and_paced_writes_the_telemetry_of_a_batch_run(tmp_path, small, live):
    twin, client, _ = live
    assert client.clock().step == 0 and client.clock().paused
    day = 86400 // small.clock.step_s
    held = client.step_to(ahead_s=86400.0 + 1)  # a part of a step counts as the whole step
    assert held.hold_at_step == day + 1
    deadline = time.monotonic() + 60
    while not client.clock().paused:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.clock().step == day + 1  # exactly there, not at a window's end
    client.set_speed(2 * 86400.0)  # two simulated days a wall second: paced advances of one day
    client.resume()
    time.sleep(1.2)
    client.pause()
    paced = client.clock().step
    assert day + 1 < paced < small.clock.n_steps
    client.set_speed(None)
    client.resume()
    assert twin.wait(120) and twin.error is None
    assert client.clock().finished
    batch = tmp_path / "batch"
    run(small, runtime="local", out=batch)
    live_tables, batch_tables = tables(tmp_path / "live"), tables(batch)
    assert live_tables.keys() == batch_tables.keys()
    for name, table in live_tables.items():
        assert table.equals(batch_tables[name]), name
    events = EventLog(tmp_path / "live" / "events.jsonl").read()
    assert [e["action"] for e in events] == ["step_to", "set_speed", "resume", "pause", "set_speed", "resume"]
    assert events[0]["request"] == {"step": day + 1} and events[1]["request"] == {"speed": 2 * 86400.0} and events[4]["request"] == {"speed": "max"}
    assert all(e["caller"].startswith("ipv4:127.0.0.1:") for e in events)


def test_subsystems_list_every_instance_with_variables_and_units(small, live):
    _, client, _ = live
    listed = {s["id"]: s for s in client.subsystems()}
    assert set(listed) == set(small.modules)
    units = {v["name"]: v["unit"] for s in listed.values() for v in s["variables"]}
    assert units["energy.storage_soc_frac"] == "fraction" and units["isru.o2_tank_kg"] == "kg"
    assert listed["energy"]["kind"] == "energy" and listed["energy"]["summary"]
    assert listed["energy"]["endpoint"] == ""  # local runtime: inside the gateway's process


def test_state_by_instance_and_by_variable_name(small, live):
    _, client, _ = live
    step, at, values = client.state(["energy.storage_soc_frac", "isru.o2_tank_kg"])
    assert step == 0 and at.timestamp() == small.clock.start_unix_s
    assert values == {"energy.storage_soc_frac": 0.6, "isru.o2_tank_kg": 0.0}  # the small station's initial_soc_frac, an empty tank
    everything = client.get()
    assert {name.split(".")[0] for name in everything} == set(small.modules)
    assert client.get("energy") == {k: v for k, v in everything.items() if k.startswith("energy.")}


@pytest.mark.parametrize("name, code, field", [
    ("nope", grpc.StatusCode.NOT_FOUND, None),
    ("energy.nope", grpc.StatusCode.NOT_FOUND, None),
    ("", grpc.StatusCode.INVALID_ARGUMENT, "names[0]"),
    ("energy.\x00", grpc.StatusCode.INVALID_ARGUMENT, "names[0]"),
])
def test_unknown_or_malformed_names_get_a_canonical_status_with_details(live, name, code, field):
    _, _, port = live
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = twin_pb2_grpc.TwinServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetState(twin_pb2.TwinServiceGetStateRequest(names=[name]), timeout=10)
    assert refused.value.code() == code
    status = rpc_status.from_call(refused.value)
    if field is not None:
        detail = error_details_pb2.BadRequest()
        assert status.details[0].Unpack(detail) and detail.field_violations[0].field == field
    else:
        detail = error_details_pb2.ResourceInfo()
        assert status.details[0].Unpack(detail) and detail.resource_name == name


@pytest.mark.parametrize("token, code", [(None, grpc.StatusCode.UNAUTHENTICATED), ("wrong", grpc.StatusCode.UNAUTHENTICATED),
                                         (READ_TOKEN, grpc.StatusCode.PERMISSION_DENIED)])
def test_mutation_needs_the_full_token_and_a_refusal_changes_nothing(tmp_path, live, token, code):
    twin, _, port = live
    before = twin.clock_state()
    with TwinClient(f"127.0.0.1:{port}", token=token or "") as other:
        assert other.clock().step == before.step  # reads are open
        for call in (other.resume, lambda: other.set_speed(10.0), lambda: other.step_to(ahead_s=3600.0), other.pause,
                     lambda: other.command("isru", "set-throttle", 0.5), lambda: other.inject_fault("energy.array"), lambda: other.clear_fault("energy.array"),
                     other.snapshot, lambda: other.restore("s1-step0"), lambda: other.fork(86400.0)):
            with pytest.raises(TwinError) as refused:
                call()
            assert refused.value.code == code
    assert twin.clock_state() == before and twin.snapshots.taken == {}
    assert not (tmp_path / "live" / "events.jsonl").exists()


@pytest.mark.parametrize("request_, field", [
    (twin_pb2.SetSpeedRequest(speed=float("nan")), "speed"), (twin_pb2.SetSpeedRequest(speed=-1.0), "speed"),
    (twin_pb2.SetSpeedRequest(speed=1e300), "speed"), (twin_pb2.SetSpeedRequest(), "pace"),
    (twin_pb2.StepToRequest(), "target"), (twin_pb2.StepToRequest(time={"seconds": 0}), "time"),
    (twin_pb2.StepToRequest(time={"seconds": 2**40}), "time"),
])
def test_bad_time_control_is_invalid_argument_and_changes_nothing(tmp_path, live, request_, field):
    twin, _, port = live
    before = twin.clock_state()
    method = "SetSpeed" if isinstance(request_, twin_pb2.SetSpeedRequest) else "StepTo"
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = twin_pb2_grpc.TwinServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            getattr(stub, method)(request_, timeout=10, metadata=(("authorization", f"Bearer {TOKEN}"),))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    detail = error_details_pb2.BadRequest()
    assert rpc_status.from_call(refused.value).details[0].Unpack(detail) and detail.field_violations[0].field == field
    assert twin.clock_state() == before
    assert not (tmp_path / "live" / "events.jsonl").exists()


def test_watch_streams_every_so_much_simulated_time_to_the_end(small, live):
    twin, client, _ = live
    client.set_speed(None)
    client.resume()
    updates = list(client.watch(["energy.storage_soc_frac"], every_s=86400.0, timeout_s=120))
    assert updates[0].step == 0 and updates[-1].finished and updates[-1].step == small.clock.n_steps
    gaps = [b.step - a.step for a, b in zip(updates[:-1], updates[1:-1])]
    assert gaps and min(gaps) >= 86400 // small.clock.step_s
    assert all(set(u.values) == {"energy.storage_soc_frac"} for u in updates)
    assert twin.wait(60) and twin.error is None


def test_the_asyncio_client_reads_and_steps(small, live):
    import asyncio

    _, _, port = live

    async def session():
        async with AsyncTwinClient(f"127.0.0.1:{port}", token=TOKEN) as client:
            values = await client.get(["energy.storage_soc_frac"])
            clock = await client.step_to(ahead_s=3 * 3600.0)
            return clock, values

    clock, values = asyncio.run(session())
    assert clock.hold_at_step == 3 * 3600 // small.clock.step_s and values == {"energy.storage_soc_frac": 0.6}


@pytest.mark.parametrize("protocol", ["v1", "v1alpha"])
def test_the_gateway_answers_reflection_and_health(live, protocol):
    _, _, port = live
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        listed = {s.name for s in reflect(channel, protocol, list_services="").list_services_response.service}
        assert {"ilrs.twin.v1.TwinService", "grpc.health.v1.Health"} <= listed
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="ilrs.twin.v1.TwinService"), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_protected_reads_need_a_token(tmp_path, small):
    twin = LiveTwin(small, out=tmp_path / "p", speed=None, paused=True).start()
    assert twin.ready.wait(60)
    server, port, _ = serve(twin, TOKEN, read_token=READ_TOKEN, protect_reads=True)
    try:
        with TwinClient(f"127.0.0.1:{port}", token="") as anonymous, TwinClient(f"127.0.0.1:{port}", token=READ_TOKEN) as reader:
            with pytest.raises(TwinError) as refused:
                anonymous.get("energy")
            assert refused.value.code == grpc.StatusCode.UNAUTHENTICATED
            assert reader.get("energy.storage_soc_frac") == {"energy.storage_soc_frac": 0.6}
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:  # tools still find the services
                assert reflect(channel, "v1", list_services="").list_services_response.service
    finally:
        twin.stop(timeout=60)
        server.stop()


def test_serve_and_probe_on_the_command_line(tmp_path):
    """`ilrs-twin serve` in a process of its own, `probe` against it: a token made and saved, reads,
    a refused mutation without it, then pause and step with it."""
    import os
    import socket
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "served"
    env = {k: v for k, v in os.environ.items() if k not in ("ILRS_TWIN_TOKEN", "ILRS_TWIN_ADDRESS")}
    scenario = tmp_path / "small.toml"
    from conftest import SMALL

    scenario.write_text(SMALL.format(step="600s", window="2d"))
    served = subprocess.Popen([*CLI, "serve", str(scenario), "--out", str(out), "--port", str(port), "--paused"],
                              env=env, stderr=subprocess.PIPE, text=True)
    probe = lambda *args, token=None: subprocess.run([*CLI, "probe", *args, "--address", f"127.0.0.1:{port}"],  # noqa: E731
                                                     env={**env, **({"ILRS_TWIN_TOKEN": token} if token else {})}, capture_output=True, text=True, timeout=60)
    try:
        deadline = time.monotonic() + 90
        while probe("get", "energy.storage_soc_frac").returncode != 0:  # GetClock answers while it starts; GetState once it has
            assert time.monotonic() < deadline and served.poll() is None
            time.sleep(0.5)
        token = (out / "token").read_text().strip()
        assert oct((out / "token").stat().st_mode & 0o777) == "0o600"
        got = probe("get", "energy.storage_soc_frac", "--json")
        assert got.returncode == 0 and json.loads(got.stdout)["values"] == {"energy.storage_soc_frac": 0.6}
        refused = probe("step", "6h")
        assert refused.returncode == 2 and refused.stderr.startswith("error: UNAUTHENTICATED") and len(refused.stderr.splitlines()) == 1
        stepped = probe("step", "6h", "--json", token=token)
        assert stepped.returncode == 0 and json.loads(stepped.stdout)["hold_at_step"] == 6 * 3600 // 600
        bad = probe("speed", "-3", token=token)
        assert bad.returncode == 2 and "speed" in bad.stderr
        commanded = probe("command", "isru", "set-throttle", "0.5", "--json", token=token)
        assert commanded.returncode == 0 and json.loads(commanded.stdout)["values"]["throttle_frac"] == 0.5, commanded.stderr
        refused = probe("command", "isru", "set-throttle", "2", token=token)
        assert refused.returncode == 2 and refused.stderr.startswith("error: INVALID_ARGUMENT: throttle: ") and len(refused.stderr.splitlines()) == 1
        faulted = probe("fault", "energy.array", "fail", "--for", "72h", "--json", token=token)
        assert faulted.returncode == 0 and json.loads(faulted.stdout)["clock"]["step"] >= json.loads(faulted.stdout)["applied_step"] > 0, faulted.stderr
        forked = probe("fork", "--ahead", "2d", "--command", "isru set-throttle 1.0", "--fault", "communications.relay degrade 0.5 12h", "--json", token=token)
        assert forked.returncode == 0, forked.stderr
        assert json.loads(forked.stdout)["end_step"] - json.loads(forked.stdout)["start_step"] == 2 * 86400 // 600
        streamed = probe("fork", "--ahead", "1d", "--watch", "energy.storage_kwh", "--every", "12h", "--stream", "--json", token=token)
        lines = [json.loads(line) for line in streamed.stdout.splitlines()]
        assert streamed.returncode == 0 and [line["step"] for line in lines[:-1]] == [lines[-1]["start_step"] + k * 72 for k in range(3)], streamed.stderr
        assert lines[-1]["samples"] == [{k: line[k] for k in ("step", "time", "values")} for line in lines[:-1]]
        assert "set-throttle THROTTLE" in probe("list").stdout
    finally:
        served.terminate()
        served.wait(60)
    assert "export ILRS_TWIN_TOKEN=" in served.stderr.read()


def test_probe_without_a_twin_says_so_in_one_line():
    import subprocess

    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run([*CLI, "probe", "clock", "--address", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1 and "no live twin answers" in done.stderr



def test_a_watcher_that_falls_behind_is_dropped_and_the_twin_does_not_wait(small, live):
    """The simulation's thread hands frames to the loop without waiting; a watcher whose queue is
    full is marked dropped (its stream then ends with RESOURCE_EXHAUSTED) and gets nothing more."""
    import asyncio

    from services.twin_server import _Watcher
    from twin.live import Frame

    twin, _, _ = live
    servicer = TwinServicer(twin, None)

    async def fill():
        watcher = _Watcher(asyncio.Queue(2), every_steps=0, next_step=0)
        servicer._watchers.add(watcher)
        for step in range(5):
            servicer._fanout(Frame(step, small.clock.start_unix_s + step * small.clock.step_s, twin.frame.variables))
        return watcher

    watcher = asyncio.run(fill())
    assert watcher.queue.qsize() == 2 and [watcher.queue.get_nowait().step for _ in range(2)] == [0, 1]
    assert "reads too slowly" in watcher.dropped


def test_with_the_ray_runtime_each_subsystem_lists_its_own_endpoint(tmp_path, small, ray_cluster):
    twin = LiveTwin(small, runtime="ray", out=tmp_path / "ray", speed=None, paused=True).start()
    try:
        assert twin.ready.wait(180) and twin.error is None
        server, port, _ = serve(twin, TOKEN)
        try:
            with TwinClient(f"127.0.0.1:{port}", token=TOKEN) as client:
                listed = client.subsystems()
                assert {s["id"] for s in listed} == set(small.modules)
                assert all(s["endpoint"].startswith("127.0.0.1:") for s in listed)
                assert client.get("energy.storage_soc_frac") == {"energy.storage_soc_frac": 0.6}
                client.step_to(ahead_s=86400.0)
                deadline = time.monotonic() + 60
                while not client.clock().paused:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                assert client.clock().step == 86400 // small.clock.step_s
                # A command reaches the instance's actor (SubsystemService.Command); a fork runs in new actors.
                assert client.command("isru", "set-throttle", 0.5).values["throttle_frac"] == 0.5
                forked = client.fork(2 * 86400.0)
                assert forked.end_step == 3 * 86400 // small.clock.step_s and forked.end_values["isru.throttle_frac"] == 0.5
                _hold(client, 2 * 86400.0)
                assert client.get() == forked.end_values
        finally:
            server.stop()
    finally:
        twin.stop(timeout=60)


METHODS = [m.name for m in twin_pb2.DESCRIPTOR.services_by_name["TwinService"].methods]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=st.sampled_from(METHODS), payload=st.binary(max_size=512), authorised=st.booleans())
def test_random_bytes_to_any_method_get_a_proper_status(live, method, payload, authorised):
    """Garbage, truncated or mistyped messages: every call ends with a canonical status (never
    UNKNOWN or INTERNAL), or an answer where the bytes happen to parse; a mutation without the
    token changes nothing; the server keeps serving."""
    twin, _, port = live
    mutating = f"/ilrs.twin.v1.TwinService/{method}" in MUTATING
    before = twin.clock_state()
    metadata = (("authorization", f"Bearer {TOKEN}"),) if authorised else ()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = (channel.unary_stream if method == "Watch" else channel.unary_unary)(f"/ilrs.twin.v1.TwinService/{method}")
        try:
            answer = call(payload, timeout=5, metadata=metadata)
            if method == "Watch":
                next(iter(answer))
        except grpc.RpcError as exc:
            assert exc.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL), (method, payload, exc.details())
        if mutating and not authorised:
            now = twin.clock_state()
            assert (now.paused, now.speed, now.hold_at_step) == (before.paused, before.speed, before.hold_at_step)
        assert twin_pb2_grpc.TwinServiceStub(channel).GetClock(twin_pb2.GetClockRequest(), timeout=5).clock.end_step == twin.clock.n_steps


def test_garbage_on_the_port_leaves_the_gateway_serving(live):
    import socket

    twin, client, port = live
    for junk in (b"\x00" * 64, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", bytes(range(256)) * 8, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff" * 100):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(junk)
            try:
                raw.recv(1024)
            except OSError:
                pass
    assert client.clock().end_step == twin.clock.n_steps and client.get("energy.storage_soc_frac") == {"energy.storage_soc_frac": 0.6}


def test_a_cancelled_watch_releases_its_place(tmp_path, small):
    twin = LiveTwin(small, out=tmp_path / "c", speed=None, paused=True).start()
    assert twin.ready.wait(60)
    server, port, servicer = serve(twin, TOKEN)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stream = twin_pb2_grpc.TwinServiceStub(channel).Watch(twin_pb2.WatchRequest(names=["energy"]), timeout=30)
            assert next(stream).step == 0
            assert len(servicer._watchers) == 1
            stream.cancel()
            deadline = time.monotonic() + 10
            while servicer._watchers:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        twin.stop(timeout=60)
        server.stop()


@pytest.mark.parametrize("args, field", [
    (["--speed", "-1"], "--speed"), (["--speed", "fast"], "--speed"), (["--bind", "999.1.1.1"], "--bind"),
    (["--tls-cert", "cert.pem"], "--tls-cert"), (["--token-file", "missing-token"], "--token-file"), (None, "--port"),
])
def test_bad_serve_options_exit_2_in_one_line_and_write_nothing(tmp_path, args, field):
    import socket

    from typer.testing import CliRunner

    from twin.cli import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        extra = ["--port", str(taken.getsockname()[1])] if args is None else [*args, "--port", "0"]
        result = CliRunner().invoke(app, ["serve", "quickstart", "--out", str(tmp_path / "out"), *extra])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}"), result.output
    assert not (tmp_path / "out").exists()


# -- commands, faults, snapshots, forks -------------------------------------------------------------
def _hold(client, ahead_s: float) -> int:
    target = client.step_to(ahead_s=ahead_s).hold_at_step
    deadline = time.monotonic() + 60
    while not client.clock().paused:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert client.clock().step == target
    return target


@pytest.mark.parametrize("live", ["thread", "process"], indirect=True)
def test_a_session_of_commands_faults_and_a_restore_replays_bit_for_bit(tmp_path, small, live):
    from typer.testing import CliRunner

    from conftest import SMALL
    from twin.cli import app

    twin, client, _ = live
    day = _hold(client, 86400.0)
    applied = client.command("isru", "set-throttle", 0.5)
    assert applied.step == day and applied.values["throttle_frac"] == 0.5 and client.get("isru.throttle_frac") == {"isru.throttle_frac": 0.5}
    fault = client.inject_fault("energy.array", "fail", duration_s=72 * 3600)
    assert fault.step == day and fault.clears_at_step == day + 72 * 3600 // small.clock.step_s
    assert client.get("energy.array_capacity_frac") == {"energy.array_capacity_frac": 0.0}
    snapshot_id, at = client.snapshot()
    assert at == day
    _hold(client, 2 * 86400.0)
    client.inject_fault("communications.relay", "degrade", 0.3)
    assert client.restore(snapshot_id).step == day
    assert client.get(["energy.array_capacity_frac", "communications.relay_capacity_frac"]) == {"energy.array_capacity_frac": 0.0, "communications.relay_capacity_frac": 1.0}
    _hold(client, 5 * 86400.0)  # past the fault's end: it cleared itself
    assert client.get("energy.array_capacity_frac") == {"energy.array_capacity_frac": 1.0}
    client.inject_fault("isru.plant", "fail", duration_s=86400.0)
    client.set_speed(None)
    client.resume()
    assert twin.wait(120) and twin.error is None
    events = EventLog(tmp_path / "live" / "events.jsonl").read()
    assert [e["action"] for e in events if e["action"] in ("command", "snapshot", "restore")] == ["command", "command", "snapshot", "command", "restore", "command"]
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL.format(step="600s", window="2d"))
    again = CliRunner().invoke(app, ["run", str(scenario), "--runtime", "local", "--replay", str(tmp_path / "live" / "events.jsonl"), "--out", str(tmp_path / "again"), "--quiet"])
    assert again.exit_code == 0, again.output
    live_tables, replayed = tables(tmp_path / "live"), tables(tmp_path / "again")
    assert live_tables.keys() == replayed.keys()
    for name, table in live_tables.items():
        assert table.equals(replayed[name]), name
    plain = tmp_path / "plain"
    run(small, runtime="local", out=plain)
    assert not tables(plain)["energy.parquet"].equals(live_tables["energy.parquet"])  # the faults did something


@pytest.mark.parametrize("live", ["thread", "process"], indirect=True)
def test_a_fork_answers_what_if_and_the_live_twin_is_as_if_never_forked(tmp_path, small, live):
    twin, client, _ = live
    start = _hold(client, 5 * 86400.0)  # the Sun rises over Amundsen on day 5 of this station
    dark = client.fork(7 * 86400.0, faults=[("energy.array", "fail", None, 0.0)], names=["energy.storage_soc_frac"], every_s=86400.0)
    steps = 7 * 86400 // small.clock.step_s
    assert (dark.start_step, dark.end_step) == (start, start + steps) and len(dark.samples) == 8
    assert dark.kpis["energy.solar_kwh"] == 0.0 and dark.change["energy.solar_kwh"] == 0.0
    lit = client.fork(7 * 86400.0)
    assert lit.kpis["energy.solar_kwh"] > 100 and lit.kpis["energy.unserved_kwh"] <= dark.kpis["energy.unserved_kwh"]
    assert lit.end_values["energy.storage_kwh"] > dark.end_values["energy.storage_kwh"]
    assert client.clock().step == start and client.get("energy.array_capacity_frac") == {"energy.array_capacity_frac": 1.0}
    _hold(client, 7 * 86400.0)
    assert client.get() == lit.end_values  # the copy is the twin, bit for bit
    client.set_speed(None)
    client.resume()
    assert twin.wait(120) and twin.error is None
    batch = tmp_path / "batch"
    run(small, runtime="local", out=batch)
    live_tables, batch_tables = tables(tmp_path / "live"), tables(batch)
    for name, table in live_tables.items():
        assert table.equals(batch_tables[name]), name
    assert [e["action"] for e in EventLog(tmp_path / "live" / "events.jsonl").read() if e["action"] == "fork"] == ["fork", "fork"]


def _isru(**command):
    return twin_pb2.CommandRequest(subsystem="isru", isru=isru_pb2.IsruCommand(**command))


@pytest.mark.parametrize("method, request_, code, field", [
    ("Command", twin_pb2.CommandRequest(subsystem="nowhere"), grpc.StatusCode.NOT_FOUND, None),
    ("Command", twin_pb2.CommandRequest(subsystem="isru"), grpc.StatusCode.INVALID_ARGUMENT, "command"),
    ("Command", twin_pb2.CommandRequest(subsystem="energy", isru=isru_pb2.IsruCommand(set_throttle={"throttle": 0.5})), grpc.StatusCode.INVALID_ARGUMENT, "isru"),
    ("Command", _isru(), grpc.StatusCode.INVALID_ARGUMENT, "isru.command"),
    ("Command", _isru(set_throttle={"throttle": 2.0}), grpc.StatusCode.INVALID_ARGUMENT, "throttle"),
    ("Command", _isru(set_throttle={"throttle": float("nan")}), grpc.StatusCode.INVALID_ARGUMENT, "throttle"),
    ("InjectFault", twin_pb2.InjectFaultRequest(target="energy", mode=1), grpc.StatusCode.INVALID_ARGUMENT, "target"),
    ("InjectFault", twin_pb2.InjectFaultRequest(target="energy.flux", mode=1), grpc.StatusCode.INVALID_ARGUMENT, "target"),
    ("InjectFault", twin_pb2.InjectFaultRequest(target="mars.array", mode=1), grpc.StatusCode.NOT_FOUND, None),
    ("InjectFault", twin_pb2.InjectFaultRequest(target="energy.array"), grpc.StatusCode.INVALID_ARGUMENT, "mode"),
    ("InjectFault", twin_pb2.InjectFaultRequest(target="energy.array", mode=2, level=1.5), grpc.StatusCode.INVALID_ARGUMENT, "level"),
    ("InjectFault", twin_pb2.InjectFaultRequest(target="energy.array", mode=1, duration={"seconds": -5}), grpc.StatusCode.INVALID_ARGUMENT, "duration"),
    ("InjectFault", twin_pb2.InjectFaultRequest(target="energy.storage", mode=2, level=0.5), grpc.StatusCode.FAILED_PRECONDITION, None),
    ("ClearFault", twin_pb2.ClearFaultRequest(target="energy.array"), grpc.StatusCode.FAILED_PRECONDITION, None),
    ("Restore", twin_pb2.TwinServiceRestoreRequest(snapshot_id="nope"), grpc.StatusCode.NOT_FOUND, None),
    ("Fork", twin_pb2.ForkRequest(), grpc.StatusCode.INVALID_ARGUMENT, "ahead"),
    ("Fork", twin_pb2.ForkRequest(ahead={"seconds": 3600}, names=["energy.nothing"]), grpc.StatusCode.NOT_FOUND, None),
    ("Fork", twin_pb2.ForkRequest(ahead={"seconds": 3600}, actions=[twin_pb2.ForkAction(command=_isru(set_throttle={"throttle": 0}))]), grpc.StatusCode.INVALID_ARGUMENT, "throttle"),
    ("Fork", twin_pb2.ForkRequest(ahead={"seconds": 3600}, actions=[twin_pb2.ForkAction()]), grpc.StatusCode.INVALID_ARGUMENT, "actions[0]"),
])
def test_bad_commands_faults_and_forks_get_a_canonical_status_and_change_nothing(tmp_path, live, method, request_, code, field):
    twin, client, port = live
    before, state = twin.clock_state(), client.get()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(grpc.RpcError) as refused:
            getattr(twin_pb2_grpc.TwinServiceStub(channel), method)(request_, timeout=30, metadata=(("authorization", f"Bearer {TOKEN}"),))
    assert refused.value.code() == code, refused.value.details()
    assert len(refused.value.details().splitlines()) == 1
    status = rpc_status.from_call(refused.value)
    assert status is not None and status.details
    if field is not None:
        detail = error_details_pb2.BadRequest()
        assert status.details[0].Unpack(detail) and detail.field_violations[0].field == field, refused.value.details()
    assert twin.clock_state() == before and client.get() == state
    assert not (tmp_path / "live" / "events.jsonl").exists()


def test_subsystems_list_their_commands_and_fault_components(live):
    _, client, _ = live
    by_id = {s["id"]: s for s in client.subsystems()}
    assert by_id["isru"]["commands"] == [{"name": "set-throttle", "description": by_id["isru"]["commands"][0]["description"], "arguments": ["throttle"]}]
    assert {f["name"]: f["modes"] for f in by_id["energy"]["fault_components"]} == {"array": ["fail", "degrade"], "reactor": ["fail", "degrade"], "storage": ["fail"]}
    assert {f["name"] for f in by_id["communications"]["fault_components"]} == {"dte", "relay"}
    assert by_id["research"]["commands"] == [] and by_id["research"]["fault_components"] == []


@pytest.mark.parametrize("live", ["thread", "process"], indirect=True)
def test_a_watch_follows_a_restore_back_in_time(small, live):
    import threading

    twin, client, _ = live
    snapshot_id, at = client.snapshot()
    day = _hold(client, 86400.0)
    seen, started = [], threading.Event()

    def follow():
        for update in client.watch(["energy.storage_kwh"], every_s=3600.0, timeout_s=60):
            seen.append(update.step)
            started.set()
            if update.step == at:
                return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert started.wait(30) and seen == [day]
    client.restore(snapshot_id)
    reader.join(30)
    assert not reader.is_alive() and seen == [day, at]


@pytest.mark.parametrize("live", ["thread", "process"], indirect=True)
def test_an_abandoned_fork_stops_and_frees_its_place(tmp_path, small, live):
    import threading

    from twin.fork import ForkAbandoned

    twin, client, port = live
    stop = threading.Event()
    stop.set()
    with pytest.raises(ForkAbandoned):
        twin.fork([], small.clock.n_steps, stop=stop).result(30)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(grpc.RpcError) as late:
            twin_pb2_grpc.TwinServiceStub(channel).Fork(twin_pb2.ForkRequest(ahead={"seconds": 10**9}, names=["energy"], every={"seconds": 600}),
                                                        timeout=0.3, metadata=(("authorization", f"Bearer {TOKEN}"),))
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    deadline = time.monotonic() + 30
    while twin._forks:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.fork(3600.0).end_step == 6  # the places are free again
    assert not [e for e in EventLog(tmp_path / "live" / "events.jsonl").read() if e["result"].get("end_step") == small.clock.n_steps]


@pytest.mark.parametrize("log, extra, reason", [
    (None, [], "is not a file"),
    ('{"action": "command", "step": 5, "request": {"subsystem": "mars", "command": "fault"}}\n', [], "commands 'mars'"),
    ('{"action": "command", "step": 99999999, "request": {"subsystem": "isru", "command": "set-throttle"}}\n', [], "outside this run"),
    ("not json\n", [], "is not JSON"),
    ('{"action": "pause", "step": 1}\n', ["--resume"], "not with --resume"),
])
def test_a_bad_replay_log_exits_2_in_one_line_and_writes_nothing(tmp_path, log, extra, reason):
    from typer.testing import CliRunner

    from twin.cli import app

    path = tmp_path / "events.jsonl"
    if log is not None:
        path.write_text(log)
    result = CliRunner().invoke(app, ["run", "quickstart", "--runtime", "local", "--replay", str(path), "--out", str(tmp_path / "out"), "--quiet", *extra])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --replay: ") and reason in lines[0], result.output
    assert not (tmp_path / "out").exists()


def test_a_restore_forgets_the_snapshots_of_the_future_it_left(live):
    twin, client, _ = live
    first, _ = client.snapshot()
    _hold(client, 86400.0)
    later, _ = client.snapshot()
    client.restore(first)
    with pytest.raises(TwinError) as gone:
        client.restore(later)
    assert gone.value.code == grpc.StatusCode.NOT_FOUND and client.clock().step == 0
    assert set(twin.snapshots.taken) == {first}


def test_a_snapshot_inside_a_telemetry_row_or_past_the_limit_is_refused(small, monkeypatch):
    from twin import actions
    from twin.actions import Snapshots, perform

    with make_runtime(small, "local") as rt:
        conductor = Conductor(small.clock, rt.station, rt.handles, small.window_steps)
        conductor.advance(3)
        with pytest.raises(CommandRefused, match="inside a telemetry row of 6 steps"):
            perform(conductor, Action(SNAPSHOT), Snapshots(row_steps=6))
        monkeypatch.setattr(actions, "MAX_SNAPSHOTS", 1)
        kept = Snapshots()
        perform(conductor, Action(SNAPSHOT), kept)
        with pytest.raises(OverflowError, match="keeps 1 snapshots"):
            perform(conductor, Action(SNAPSHOT), kept)


@pytest.mark.parametrize("live", ["thread", "process"], indirect=True)
def test_a_watcher_sees_a_command_take_effect_within_its_interval(live):
    _, client, _ = live
    updates = client.watch(["isru.throttle_frac"], every_s=86400.0, timeout_s=30)
    assert next(updates).values == {"isru.throttle_frac": 1.0}
    client.command("isru", "set-throttle", 0.25)
    assert next(updates).values == {"isru.throttle_frac": 0.25}


@pytest.mark.skipif(__import__("shutil").which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_over_tls_the_gateway_answers_a_client_that_trusts_its_certificate(tmp_path, small):
    import subprocess

    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    cert, key = (tmp_path / "cert.pem").read_bytes(), (tmp_path / "key.pem").read_bytes()
    twin = LiveTwin(small, out=tmp_path / "tls", speed=None, paused=True).start()
    assert twin.ready.wait(60)
    server, port, _ = serve(twin, TOKEN, tls=(cert, key))
    try:
        with TwinClient(f"127.0.0.1:{port}", token=TOKEN, tls_ca=cert) as client:
            assert client.get("energy.storage_soc_frac") == {"energy.storage_soc_frac": 0.6}
            assert client.command("isru", "set-throttle", 0.5).values["throttle_frac"] == 0.5
        with TwinClient(f"127.0.0.1:{port}", token=TOKEN, timeout_s=3) as plain:  # plaintext to a TLS port
            with pytest.raises(TwinError) as refused:
                plain.get("energy")
            assert refused.value.code == grpc.StatusCode.UNAVAILABLE
    finally:
        twin.stop(timeout=60)
        server.stop()


def test_an_action_that_fails_unexpectedly_is_internal_in_one_line_and_the_twin_goes_on(live, monkeypatch):
    import twin.live as live_module

    twin, client, _ = live

    def broken(conductor, action, snapshots):
        raise KeyError("an actor's call timed out")

    monkeypatch.setattr(live_module, "perform", broken)
    with pytest.raises(TwinError) as failed:
        client.command("isru", "set-throttle", 0.5)
    assert failed.value.code == grpc.StatusCode.INTERNAL and len(failed.value.message.splitlines()) == 1 and "KeyError" in failed.value.message
    monkeypatch.undo()
    assert client.command("isru", "set-throttle", 0.5).values["throttle_frac"] == 0.5


def test_a_lost_subsystem_is_unavailable_and_says_to_try_again(live, monkeypatch):
    import twin.live as live_module
    from twin.conductor import SubsystemLost

    twin, client, _ = live

    def lost(conductor, action, snapshots):
        raise SubsystemLost("isru", "its process died")

    monkeypatch.setattr(live_module, "perform", lost)
    with pytest.raises(TwinError) as failed:
        client.command("isru", "set-throttle", 0.5)
    assert failed.value.code == grpc.StatusCode.UNAVAILABLE and "isru" in failed.value.message and "try again" in failed.value.message
    monkeypatch.undo()
    assert client.command("isru", "set-throttle", 0.5).values["throttle_frac"] == 0.5


def test_an_overlong_or_unprintable_instance_id_is_invalid_argument_naming_the_field(live):
    twin, client, _ = live
    before = client.state(["isru.throttle_frac"])[2]
    for bad in ("x" * 10_000, "isru\n"):
        with pytest.raises(TwinError) as refused:
            client.clear_fault(f"{bad}.plant")
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT and refused.value.message.startswith("target: ")
        assert len(refused.value.message) < 300
    assert client.state(["isru.throttle_frac"])[2] == before


def test_an_action_the_event_log_cannot_record_is_still_done_and_the_log_says_what_is_missing(live, tmp_path, monkeypatch, caplog):
    twin, client, _ = live

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(EventLog, "append", full)
    with caplog.at_level("ERROR", logger="twin.live"):
        assert client.command("isru", "set-throttle", 0.5).values["throttle_frac"] == 0.5
    assert any("could not be logged" in r.getMessage() and "events.jsonl" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    client.command("isru", "set-throttle", 0.25)  # logged again once the disk has room
    commands = [json.loads(line) for line in (tmp_path / "live" / "events.jsonl").read_text().splitlines() if '"command"' in line]
    assert len(commands) == 1 and "0.25" in json.dumps(commands[0]["request"])


@pytest.mark.parametrize("live", ["thread", "process"], indirect=True)
def test_a_streamed_fork_sends_each_sample_before_its_end_and_equals_the_unary_fork(tmp_path, small, live):
    twin, client, port = live
    start = _hold(client, 5 * 86400.0)
    args = dict(faults=[("energy.array", "fail", None, 0.0)], names=["energy.storage_soc_frac"], every_s=86400.0)
    unary = client.fork(3 * 86400.0, **args)
    items = list(client.fork_stream(3 * 86400.0, **args))
    samples, outcome = items[:-1], items[-1]
    per_day = 86400 // small.clock.step_s
    assert [u.step for u in samples] == [start + k * per_day for k in range(4)]  # the start, then each day
    assert [u.values for u in samples] == [u.values for u in unary.samples] and outcome.samples == samples
    assert (outcome.kpis, outcome.end_values, outcome.change) == (unary.kpis, unary.end_values, unary.change)
    assert client.clock().step == start  # the live twin did not move
    # Over the wire, a stream of ForkStreamResponse: samples first, the result last without them.
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = twin_pb2_grpc.TwinServiceStub(channel)
        request = twin_pb2.ForkStreamRequest(fork=twin_pb2.ForkRequest(ahead={"seconds": 2 * 86400}, names=["energy.storage_kwh"], every={"seconds": 86400}))
        messages = list(stub.ForkStream(request, timeout=60, metadata=(("authorization", f"Bearer {TOKEN}"),)))
        assert [m.WhichOneof("item") for m in messages] == ["sample"] * 3 + ["result"] and not messages[-1].result.samples
        with pytest.raises(grpc.RpcError) as unauthenticated:
            list(stub.ForkStream(request, timeout=30))
        assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as bad:
            list(stub.ForkStream(twin_pb2.ForkStreamRequest(), timeout=30, metadata=(("authorization", f"Bearer {TOKEN}"),)))
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad.value.details().startswith("fork.ahead: ")
    assert [e["action"] for e in EventLog(tmp_path / "live" / "events.jsonl").read()].count("fork") == 3


def test_a_streamed_fork_left_early_stops_its_copy(small, live, monkeypatch):
    import twin.fork as fork_module

    class Slow(Conductor):  # the copy's advances take a while: left running, it would outlast the wait
        def advance(self, until_step):
            time.sleep(0.05)
            super().advance(until_step)

    monkeypatch.setattr(fork_module, "Conductor", Slow)
    twin, client, _ = live
    stream = client.fork_stream(small.clock.n_steps * small.clock.step_s, names=["energy"], every_s=600.0)
    first = next(stream)
    assert first.step == client.clock().step
    stream.close()  # the client goes away after one sample
    deadline = time.monotonic() + 30
    while twin._forks:
        assert time.monotonic() < deadline, "the copy kept running"
        time.sleep(0.05)


@pytest.mark.parametrize("live", ["process"], indirect=True)
def test_a_simulation_process_that_dies_is_reported_and_the_gateway_still_answers(live):
    twin, client, _ = live
    before = client.get("energy.storage_kwh")
    twin._process.kill()
    assert twin.wait(30)
    assert isinstance(twin.error, RuntimeError) and "ended unexpectedly" in str(twin.error)
    assert client.clock().finished and client.get("energy.storage_kwh") == before  # the last state it published
    with pytest.raises(TwinError) as refused:
        client.command("isru", "set-throttle", 0.5)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION and "reached its end" in refused.value.message


@pytest.mark.parametrize("live", ["process"], indirect=True)
def test_an_action_withdrawn_before_its_boundary_is_never_performed(tmp_path, live):
    from twin.commands import Command

    twin, client, _ = live
    client.step_to(ahead_s=20 * 86400.0)  # at max speed: the action may wait for a boundary
    future = twin.submit(Action("command", Command.of("isru", "set-throttle", {"throttle": 0.25})))
    withdrawn = future.cancel()
    assert withdrawn == future.cancelled()
    if not withdrawn:
        future.result(30)
    deadline = time.monotonic() + 60
    while not client.clock().paused:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.get("isru.throttle_frac") == {"isru.throttle_frac": 0.25 if not withdrawn else 1.0}
    logged = [e for e in EventLog(tmp_path / "live" / "events.jsonl").read() if e["action"] == "command"]
    assert len(logged) == (0 if withdrawn else 1)
