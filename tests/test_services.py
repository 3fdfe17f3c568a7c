"""Tests for services/: SubsystemService over real in-process gRPC servers, health, reflection,
bearer-token auth, input validation on the wire, wire/in-process equivalence, and the codec.

No mocks: every server is ``services.subsystem_server.serve`` on 127.0.0.1 with an OS-chosen port,
over a real ModelHost built from the built-in quickstart scenario's station.
"""
from __future__ import annotations

import numpy as np
import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from services import codec
from services.auth import bearer
from services.gen.ilrs.twin.v1 import (astronomy_pb2, communications_pb2, coupling_pb2, energy_pb2, isru_pb2, research_pb2,
                                       subsystem_pb2, subsystem_pb2_grpc)
from services.subsystem_client import SubsystemClient
from services.subsystem_server import CHANNEL_OPTIONS, MUTATING, serve
from twin.environment.station import StationEnvironment
from twin.loads import LOAD_CLASSES
from twin.model import ModelHost, Window
from twin.scenario import load
from twin.station import Station
from twin.telemetry import TelemetrySink, part_name, parts

pytestmark = pytest.mark.timeout(60)

TOKEN = "s3cret-test-token"
SERVICE = "ilrs.twin.v1.SubsystemService"
RPC_TIMEOUT_S = 10
# 2030-01-01T00:00:00Z, the quickstart scenario's start.
QUICKSTART_START_UNIX_S = 1_893_456_000
# The quickstart's power requesters, in source-id order (the order energy sums them in).
REQUESTERS = ("astronomy", "communications", "isru", "research", "thermal")  # the quickstart's power requesters


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def scenario():
    return load("quickstart")


@pytest.fixture(scope="module")
def clock(scenario):
    return scenario.clock


@pytest.fixture(scope="module")
def environment(scenario):
    return StationEnvironment(scenario, Station(scenario).models)


@pytest.fixture
def make_host(scenario, environment):
    def make(name: str, sink=None) -> ModelHost:
        model = Station(scenario).models[name]  # built and connected by the station graph
        return ModelHost(model, sink, environment.for_instance(name))

    return make


@pytest.fixture
def start_server():
    """Start real servers; keep references (a grpc.Server stops when collected) and stop them after."""
    servers: list[grpc.Server] = []

    def start(host: ModelHost, token: str = TOKEN) -> str:
        server, port = serve(host, token, bind="127.0.0.1", port=0)
        servers.append(server)
        assert port > 0
        return f"127.0.0.1:{port}"

    yield start
    for server in servers:
        stopping = server.stop(grace=None)  # a grpc.Server returns an event to wait on
        if stopping is not None:
            stopping.wait(5)


@pytest.fixture
def channels():
    opened: list[grpc.Channel] = []

    def open_channel(endpoint: str) -> grpc.Channel:
        channel = grpc.insecure_channel(endpoint, options=CHANNEL_OPTIONS)
        grpc.channel_ready_future(channel).result(timeout=RPC_TIMEOUT_S)
        opened.append(channel)
        return channel

    yield open_channel
    for channel in opened:
        channel.close()


@pytest.fixture
def energy(make_host, start_server, channels):
    """(host, stub) for a served energy model."""
    host = make_host("energy")
    stub = subsystem_pb2_grpc.SubsystemServiceStub(channels(start_server(host)))
    return host, stub


@pytest.fixture
def communications(make_host, start_server, channels):
    """(host, stub) for a served communications model: a consumer with a feedback input."""
    host = make_host("communications")
    stub = subsystem_pb2_grpc.SubsystemServiceStub(channels(start_server(host)))
    return host, stub


# --------------------------------------------------------------------------- helpers


def inputs_for(host: ModelHost, steps: int) -> dict[str, np.ndarray]:
    """One series per route into the instance, as the conductor sends them: requests and data of
    nothing, and every feedback answer assumed on (as the conductor starts)."""
    return {r.in_key: np.full(steps, r.assume) if r.feedback else np.zeros(steps, dtype=np.float64 if r.target_port == "power" else np.int64)
            for r in host.model.routes_in}


def exchange_request(commit_steps: int, window: Window | None, inputs=None, snapshot: bool = False) -> subsystem_pb2.ExchangeRequest:
    request = subsystem_pb2.ExchangeRequest(commit_steps=commit_steps, snapshot=snapshot)
    if window is not None:
        request.window.CopyFrom(codec.encode_window(window))
        request.inputs.extend(codec.encode_arrays(inputs or {}))
    return request


def step_of(stub) -> int:
    return stub.GetState(subsystem_pb2.GetStateRequest(), timeout=RPC_TIMEOUT_S).state.step


def rpc_error(call, request, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=RPC_TIMEOUT_S, **kwargs)
    return info.value


def propose(stub, host, start: int, steps: int, commit: int = 0):
    window = Window(start, steps, host.model.clock)
    response = stub.Exchange(exchange_request(commit, window, inputs_for(host, steps)), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)
    return codec.decode_arrays(response.outputs), response.step


def unpack(state, cls):
    """The kind's own state message carried in SubsystemState.detail."""
    assert state.detail.Is(cls.DESCRIPTOR), state.detail.type_url
    typed = cls()
    state.detail.Unpack(typed)
    return typed


# --------------------------------------------------------------------------- health


def test_health_serving_for_server_and_subsystem_service(start_server, make_host, channels):
    host = make_host("communications")
    stub = health_pb2_grpc.HealthStub(channels(start_server(host)))
    for service in ("", SERVICE):
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT_S)
        assert response.status == health_pb2.HealthCheckResponse.SERVING, service
    # gRPC health protocol: a service the server does not know is NOT_FOUND.
    err = rpc_error(stub.Check, health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert err.code() == grpc.StatusCode.NOT_FOUND


# --------------------------------------------------------------------------- reflection


def test_reflection_lists_service_and_methods_and_resolves_files(make_host, start_server, channels):
    channel = channels(start_server(make_host("energy")))
    db = ProtoReflectionDescriptorDatabase(channel)
    services = set(db.get_services())
    assert SERVICE in services
    assert "grpc.health.v1.Health" in services

    # A fresh pool fed only by reflection: no local .proto or gencode involved.
    pool = descriptor_pool.DescriptorPool(db)
    service = pool.FindServiceByName(SERVICE)
    assert {m.name for m in service.methods} == {"Describe", "Exchange", "Finish", "GetState", "Snapshot", "Restore", "Command"}
    assert service.methods_by_name["Exchange"].input_type.full_name == "ilrs.twin.v1.ExchangeRequest"
    assert service.methods_by_name["Exchange"].output_type.full_name == "ilrs.twin.v1.ExchangeResponse"
    assert service.methods_by_name["Restore"].input_type.fields_by_name["snapshot"].message_type.full_name == "ilrs.twin.v1.InstanceSnapshot"

    file_proto = db.FindFileContainingSymbol("ilrs.twin.v1.ExchangeRequest")
    assert file_proto.name == "ilrs/twin/v1/subsystem.proto"
    assert file_proto.package == "ilrs.twin.v1"
    assert "ExchangeRequest" in {m.name for m in file_proto.message_type}

    # Dependencies resolve too (coupling.proto, snapshot.proto, state.proto, google/protobuf/timestamp.proto, any.proto):
    exchange = pool.FindMessageTypeByName("ilrs.twin.v1.ExchangeRequest")
    assert exchange.fields_by_name["window"].message_type.full_name == "ilrs.twin.v1.Window"
    assert exchange.fields_by_name["window"].message_type.fields_by_name["start_time"].message_type.full_name == "google.protobuf.Timestamp"
    assert set(exchange.fields_by_name) == {"commit_steps", "window", "inputs", "snapshot"}
    state = pool.FindMessageTypeByName("ilrs.twin.v1.SubsystemState")
    assert set(state.fields_by_name) == {"subsystem", "kind", "step", "time", "variables", "detail"}
    assert state.fields_by_name["detail"].message_type.full_name == "google.protobuf.Any"
    # The kind's own state message (packed in detail) is served too, so a client can decode it.
    typed = pool.FindMessageTypeByName("ilrs.twin.v1.EnergyState")
    assert {"storage_kwh", "storage_soc_frac", "switches"} <= set(typed.fields_by_name)
    assert typed.fields_by_name["switches"].message_type.full_name == "ilrs.twin.v1.ClassSwitch"

    # What grpcurl does: call a method with message classes built from reflected descriptors only.
    request_cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("ilrs.twin.v1.DescribeRequest"))
    response_cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("ilrs.twin.v1.DescribeResponse"))
    describe = channel.unary_unary(
        f"/{SERVICE}/Describe",
        request_serializer=request_cls.SerializeToString,
        response_deserializer=response_cls.FromString,
    )
    response = describe(request_cls(), timeout=RPC_TIMEOUT_S)
    assert response.name == "energy"
    assert response.kind == "energy"
    assert list(response.environment) == ["sun_elevation_deg", "sun_azimuth_deg", "sun_visible_frac", "solar_irradiance_w_m2", "sun_eclipsed_frac"]


# --------------------------------------------------------------------------- auth


def test_mutating_set_is_exchange_finish_snapshot_restore_and_command():
    assert MUTATING == {f"/{SERVICE}/Exchange", f"/{SERVICE}/Finish", f"/{SERVICE}/Snapshot", f"/{SERVICE}/Restore", f"/{SERVICE}/Command"}


@pytest.mark.parametrize("metadata", [None, bearer("wrong-token"), (("authorization", TOKEN),), (("authorization", f"Bearer {TOKEN}x"),)],
                         ids=["no-metadata", "wrong-token", "no-bearer-scheme", "token-suffix"])
def test_exchange_without_valid_token_is_unauthenticated_and_changes_nothing(energy, metadata):
    host, stub = energy
    propose(stub, host, 0, 120)  # a pending proposal an unauthorized commit could take
    assert step_of(stub) == 0

    err = rpc_error(stub.Exchange, exchange_request(60, None), metadata=metadata)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    window = Window(60, 120, host.model.clock)
    err = rpc_error(stub.Exchange, exchange_request(60, window, inputs_for(host, 120)), metadata=metadata)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    # Snapshot and Restore are refused too (a restore would move the instance).
    err = rpc_error(stub.Snapshot, subsystem_pb2.SnapshotRequest(), metadata=metadata)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    saved = codec.encode_snapshot(host.snapshot())
    err = rpc_error(stub.Restore, subsystem_pb2.RestoreRequest(snapshot=saved), metadata=metadata)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert step_of(stub) == 0
    assert host.step == 0

    # The pending proposal is intact: the right token commits it.
    response = stub.Exchange(exchange_request(60, None), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)
    assert response.step == 60
    assert step_of(stub) == 60
    snap = stub.Snapshot(subsystem_pb2.SnapshotRequest(), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S).snapshot
    assert (snap.id, snap.kind, snap.step) == ("energy", "energy", 60)


def test_finish_without_valid_token_is_unauthenticated_and_publishes_nothing(make_host, start_server, channels, clock, tmp_path):
    folder = tmp_path / "energy.parquet"
    sink = TelemetrySink(folder, clock)
    host = make_host("energy", sink)
    stub = subsystem_pb2_grpc.SubsystemServiceStub(channels(start_server(host)))
    propose(stub, host, 0, 30)
    stub.Exchange(exchange_request(30, None), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)

    for metadata in (None, bearer("wrong-token")):
        for discard in (False, True):
            err = rpc_error(stub.Finish, subsystem_pb2.FinishRequest(discard=discard), metadata=metadata)
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert parts(folder) == []  # nothing published
    assert step_of(stub) == 30

    response = stub.Finish(subsystem_pb2.FinishRequest(), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)
    assert list(response.files) == [str(folder / part_name(0, 30))]
    assert (folder / part_name(0, 30)).is_file()


def test_reads_need_no_token(energy):
    host, stub = energy
    info = stub.Describe(subsystem_pb2.DescribeRequest(), timeout=RPC_TIMEOUT_S)
    assert (info.name, info.kind) == ("energy", "energy")
    # It takes every power request of the station and answers each requester's switch (feedback).
    assert [(p.name, p.quantity, p.direction, p.feedback) for p in info.ports] == [
        ("power", "power", "in", False), ("powered", "signal:powered", "out", True)]
    routes = {(r.source, r.source_port, r.target, r.target_port, r.feedback) for r in info.routes}
    assert routes == {(id, "power", "energy", "power", False) for id in REQUESTERS} | {("energy", "powered", id, "powered", True) for id in REQUESTERS}
    assert host.model.load_class is None  # it draws no power of its own through a port
    state = stub.GetState(subsystem_pb2.GetStateRequest(), timeout=RPC_TIMEOUT_S).state
    assert state.subsystem == "energy" and state.kind == "energy"
    assert state.step == 0
    assert state.time.seconds == QUICKSTART_START_UNIX_S


def test_exchange_with_right_token_works(energy):
    host, stub = energy
    outputs, step = propose(stub, host, 0, 60)
    assert step == 0
    assert set(outputs) == {f"powered/{id}" for id in REQUESTERS}
    assert all(len(v) == 60 for v in outputs.values())


# --------------------------------------------------------------------------- bad input


def _bad_requests(host, clock):
    """(id, request, field the message must name). Each is sent with 50 steps of a 100-step proposal pending at step 0."""
    window = Window(50, 100, clock)
    inputs = inputs_for(host, 100)

    def req(commit=50, window=window, inputs=inputs):
        return exchange_request(commit, window, inputs)

    bad_step = req()
    bad_step.window.step_s = clock.step_s * 2
    if host.model.kind == "energy":
        missing = {k: v for k, v in inputs.items() if k != "power/research"}
        not_finite = {**inputs, "power/isru": np.r_[np.zeros(99), np.nan]}
        return [
            ("series-length-input", req(inputs={**inputs, "power/communications": np.zeros(101)}), "power/communications"),
            ("step-s", bad_step, "window.step_s"),
            ("missing-input", req(inputs=missing), "power/research"),
            ("not-finite-input", req(inputs=not_finite), "power/isru"),
            ("negative-commit", req(commit=-1, window=Window(49, 100, clock)), "commit_steps"),
            ("start-step-behind", req(window=Window(0, 100, clock)), "window.start_step"),
            ("start-step-ahead", req(window=Window(51, 100, clock)), "window.start_step"),
        ]
    # A consumer: the switch assumed for the window is its feedback input powered/energy.
    return [
        ("feedback-missing", req(inputs={k: v for k, v in inputs.items() if k != "powered/energy"}), "powered/energy"),
        ("feedback-unknown-source", req(inputs={**inputs, "powered/energy2": np.ones(100)}), "powered/energy2"),
        ("feedback-short", req(inputs={**inputs, "powered/energy": np.ones(99)}), "powered/energy"),
        ("feedback-not-finite", req(inputs={**inputs, "powered/energy": np.r_[np.ones(99), np.inf]}), "powered/energy"),
    ]


BAD_IDS = ["series-length-input", "step-s", "missing-input", "not-finite-input", "negative-commit", "start-step-behind", "start-step-ahead"]
BAD_FEEDBACK_IDS = ["feedback-missing", "feedback-unknown-source", "feedback-short", "feedback-not-finite"]


def _refused_and_unchanged(host, stub, clock, case):
    info = stub.Describe(subsystem_pb2.DescribeRequest(), timeout=RPC_TIMEOUT_S)
    assert info.name == host.model.id
    propose(stub, host, 0, 100)
    cases = {name: (request, field) for name, request, field in _bad_requests(host, clock)}
    request, field = cases[case]

    err = rpc_error(stub.Exchange, request, metadata=bearer(TOKEN))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert field in err.details()
    assert step_of(stub) == 0

    # Nothing was committed and the proposal is still pending: a valid exchange commits 50 of it.
    outputs, step = propose(stub, host, 50, 100, commit=50)
    assert step == 50
    assert step_of(stub) == 50
    assert all(len(v) == 100 for v in outputs.values())


@pytest.mark.parametrize("case", BAD_IDS)
def test_bad_input_is_invalid_argument_and_changes_nothing(energy, clock, case):
    host, stub = energy
    _refused_and_unchanged(host, stub, clock, case)


@pytest.mark.parametrize("case", BAD_FEEDBACK_IDS)
def test_bad_feedback_input_is_invalid_argument_and_changes_nothing(communications, clock, case):
    host, stub = communications
    _refused_and_unchanged(host, stub, clock, case)


def test_bad_input_case_list_is_complete(energy, communications, clock):
    assert [name for name, _, _ in _bad_requests(energy[0], clock)] == BAD_IDS
    assert [name for name, _, _ in _bad_requests(communications[0], clock)] == BAD_FEEDBACK_IDS


def test_commit_more_than_proposed_is_failed_precondition(energy):
    host, stub = energy
    propose(stub, host, 0, 100)
    window = Window(150, 10, host.model.clock)
    for request in (exchange_request(150, window, inputs_for(host, 10)), exchange_request(101, None)):
        err = rpc_error(stub.Exchange, request, metadata=bearer(TOKEN))
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION, err.details()
        assert step_of(stub) == 0
    response = stub.Exchange(exchange_request(100, None), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)
    assert response.step == 100


def test_commit_without_proposal_is_failed_precondition(energy):
    _, stub = energy
    err = rpc_error(stub.Exchange, exchange_request(1, None), metadata=bearer(TOKEN))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert step_of(stub) == 0


@pytest.mark.parametrize("name", ["power/bogus", "nameless", "data/communications"])
def test_unknown_input_name_is_invalid_argument_and_changes_nothing(energy, clock, name):
    host, stub = energy
    propose(stub, host, 0, 100)
    window = Window(50, 100, clock)
    request = exchange_request(50, window, {**inputs_for(host, 100), name: np.zeros(100)})  # every real input, and one more
    err = rpc_error(stub.Exchange, request, metadata=bearer(TOKEN))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    assert "inputs" in err.details() and name in err.details()
    assert step_of(stub) == 0


def test_truncated_series_bytes_name_the_series(energy, clock):
    host, stub = energy
    window = Window(0, 100, clock)
    request = exchange_request(0, window, {**inputs_for(host, 100), "power/communications": np.linspace(80.0, 330.0, 100)})
    column = next(s for s in request.inputs if s.name == "power/communications")
    assert not column.run_lengths  # raw values, one per step
    column.data = column.data[:-3]
    err = rpc_error(stub.Exchange, request, metadata=bearer(TOKEN))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert step_of(stub) == 0
    assert "power/communications" in err.details()


# --------------------------------------------------------------------------- wire == in-process


@pytest.fixture
def client_for(start_server):
    clients: list[SubsystemClient] = []

    def make(host: ModelHost) -> SubsystemClient:
        client = SubsystemClient(start_server(host), TOKEN, timeout_s=RPC_TIMEOUT_S)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_round_trip_through_wire_equals_in_process(make_host, client_for, channels, clock):
    steps, commit = 1440, 700
    window = Window(0, steps, clock)
    # All feedback answers assumed on for the first window (as the conductor starts); a shed assumption follows below.
    comms_remote, comms_local = make_host("communications"), make_host("communications")
    energy_remote, energy_local = make_host("energy"), make_host("energy")
    comms = client_for(comms_remote)
    energy = client_for(energy_remote)
    assert (comms.name, comms.kind) == ("communications", "communications")
    assert (energy.name, energy.kind) == ("energy", "energy")
    info = subsystem_pb2_grpc.SubsystemServiceStub(channels(energy.endpoint)).Describe(subsystem_pb2.DescribeRequest(), timeout=RPC_TIMEOUT_S)
    assert tuple(info.environment) == energy_local.model.environment

    # Communications proposes its power request (no data arriving in this test); each side samples its own environment.
    inputs = inputs_for(comms_local, steps)
    assert set(inputs) == {"powered/energy", "operable/thermal", "data/astronomy", "data/research"}
    remote, remote_snap = comms.exchange(0, window, inputs).result()
    local, local_snap = comms_local.exchange(0, window, inputs)
    assert remote_snap is None and local_snap is None
    assert set(remote) == set(local) == {"power", "heat"}
    for key in local:
        assert remote[key].dtype == local[key].dtype == np.float64
        assert np.array_equal(remote[key], local[key])
    request = local["power"]
    env = comms_local.environment.sample(window.start_step, window.times(), comms_local.model.environment)
    link_up = comms_local.model.links(window.times(), env)["rate_bps"] > 0
    assert np.array_equal(request, np.where(link_up, 80.0 + 250.0, 80.0))  # standby, plus the transmitter while a link is up

    # Energy dispatches it.
    energy_inputs = {**inputs_for(energy_local, steps), "power/communications": request}
    remote_e, _ = energy.exchange(0, window, energy_inputs).result()
    local_e, _ = energy_local.exchange(0, window, energy_inputs)
    assert set(remote_e) == set(local_e) == {f"powered/{id}" for id in REQUESTERS}
    for key in local_e:
        assert remote_e[key].dtype == local_e[key].dtype == np.uint8
        assert remote_e[key].shape == (steps,)
        assert np.array_equal(remote_e[key], local_e[key])
    assert np.isin(remote_e["powered/communications"], (0, 1)).all()

    # Commit part of the window with a commit-only exchange that also snapshots the committed state.
    for client, host in ((comms, comms_local), (energy, energy_local)):
        outputs, snap = client.exchange(commit, None, snapshot=True).result()
        local_outputs, local_snap = host.exchange(commit, None, snapshot=True)
        assert outputs == local_outputs == {}
        assert snap == local_snap and snap.step == commit
        state = client.state()
        assert state.step == host.step == commit
        assert state.time.seconds == clock.start_unix_s + commit * clock.step_s
        assert dict(state.variables) == host.variables()
        assert client.variables() == host.variables()

    hours = comms.variables()["dte_hours"] + comms.variables()["relay_hours"]
    assert 0 < hours <= 2 * commit / 60

    # Next window from the committed step, with communications assumed switched off.
    window2 = Window(commit, steps, clock)
    off = {**inputs_for(comms_local, steps), "powered/energy": np.zeros(steps)}
    remote2, _ = comms.exchange(0, window2, off).result()
    local2, _ = comms_local.exchange(0, window2, off)
    assert np.array_equal(remote2["power"], local2["power"])
    comms.exchange(steps, None).result()
    comms_local.commit(steps)
    assert comms.variables() == comms_local.variables()
    assert comms.variables()["downlinked_bytes"] == 0.0


# --------------------------------------------------------------------------- GetState


def test_get_state_energy_detail(energy):
    host, stub = energy
    state = stub.GetState(subsystem_pb2.GetStateRequest(), timeout=RPC_TIMEOUT_S).state
    typed = unpack(state, energy_pb2.EnergyState)
    assert typed.storage_soc_frac == state.variables["storage_soc_frac"] == 1.0  # initial_soc_frac default
    assert typed.storage_kwh == state.variables["storage_kwh"] == 1000.0  # quickstart capacity
    assert [(s.load_class, s.on) for s in typed.switches] == [(int(c), True) for c in LOAD_CLASSES]

    propose(stub, host, 0, 600)
    stub.Exchange(exchange_request(600, None), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)
    state = stub.GetState(subsystem_pb2.GetStateRequest(), timeout=RPC_TIMEOUT_S).state
    assert state.step == 600
    typed = unpack(state, energy_pb2.EnergyState)
    for field in ("storage_kwh", "storage_soc_frac", "min_storage_soc_frac", "generated_kwh", "delivered_kwh",
                  "unserved_kwh", "curtailed_kwh", "losses_kwh"):
        assert getattr(typed, field) == state.variables[field] == host.variables()[field], field
    assert 0.0 <= typed.storage_soc_frac <= 1.0
    on = int(host.variables()["classes_on_count"])
    assert [(s.load_class, s.on) for s in typed.switches] == [(int(c), int(c) <= on) for c in LOAD_CLASSES]


@pytest.mark.parametrize("name, message, load_class", [
    ("communications", communications_pb2.CommunicationsState, "communications"),
    ("research", research_pb2.ResearchState, "science"),
    ("astronomy", astronomy_pb2.AstronomyState, "science"),
    ("isru", isru_pb2.IsruState, "isru"),
])
def test_get_state_module_detail(make_host, start_server, channels, name, message, load_class):
    host = make_host(name)
    stub = subsystem_pb2_grpc.SubsystemServiceStub(channels(start_server(host)))
    state = stub.GetState(subsystem_pb2.GetStateRequest(), timeout=RPC_TIMEOUT_S).state
    assert state.subsystem == name and state.kind == name
    typed = unpack(state, message)
    for field in typed.DESCRIPTOR.fields:  # the typed message carries the variables of the same name
        assert getattr(typed, field.name) == state.variables[field.name] == host.variables()[field.name], field.name
    info = stub.Describe(subsystem_pb2.DescribeRequest(), timeout=RPC_TIMEOUT_S)
    assert (info.kind, tuple(info.environment)) == (name, tuple(host.model.environment))
    # Its power request goes to energy in its load class; the switch comes back as feedback.
    assert host.model.port_attributes("power") == {"load_class": load_class}
    routes = {(r.source, r.source_port, r.target, r.target_port, r.feedback) for r in info.routes}
    assert {(name, "power", "energy", "power", False), ("energy", "powered", name, "powered", True)} <= routes


# --------------------------------------------------------------------------- codec


def _bits(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array).tobytes()


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=1, min_side=0, max_side=64),
                  elements=st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)))
def test_codec_float64_round_trip_bit_exact(values):
    series = codec.to_series("x_w", values)
    assert series.element_type == coupling_pb2.ELEMENT_TYPE_FLOAT64
    runs = len(series.run_lengths) // 4
    assert len(series.data) == 8 * (runs if runs else values.size)
    back = codec.from_series(series)
    assert back.dtype == np.float64
    assert np.array_equal(back, values, equal_nan=True)
    assert np.array_equal(np.signbit(back), np.signbit(values))
    assert _bits(back) == _bits(values)  # NaN payloads included


def test_codec_special_floats_hand_known():
    values = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0, 5e-324, -1.5])
    back = codec.from_series(codec.to_series("v", values))
    assert np.array_equal(back, values, equal_nan=True)
    assert np.signbit(back).tolist() == [False, True, False, True, True, False, False, True]
    assert _bits(back) == _bits(values)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.int64, hnp.array_shapes(max_dims=1, min_side=0, max_side=64)))
def test_codec_int64_round_trip(values):
    series = codec.to_series("n", values)
    assert series.element_type == coupling_pb2.ELEMENT_TYPE_INT64
    back = codec.from_series(series)
    assert back.dtype == np.int64
    assert np.array_equal(back, values)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.uint8, hnp.array_shapes(max_dims=1, min_side=0, max_side=64)))
def test_codec_uint8_round_trip(values):
    series = codec.to_series("powered/x", values)
    assert series.element_type == coupling_pb2.ELEMENT_TYPE_UINT8
    if not series.run_lengths:
        assert series.data == values.tobytes()
    back = codec.from_series(series)
    assert back.dtype == np.uint8
    assert np.array_equal(back, values)


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(st.sampled_from([np.dtype(">f8"), np.dtype(">i8"), np.dtype("<f8"), np.dtype("<i8")]),
                  hnp.array_shapes(max_dims=1, min_side=0, max_side=32),
                  elements=None))
def test_codec_any_byte_order_round_trips_to_native(values):
    back = codec.from_series(codec.to_series("v", values))
    assert back.dtype == values.dtype.newbyteorder("=")
    assert back.dtype.isnative
    if values.dtype.kind == "f":
        assert np.array_equal(back, values, equal_nan=True)
        assert np.array_equal(np.signbit(back), np.signbit(values))
    else:
        assert np.array_equal(back, values)


def test_codec_wire_is_little_endian():
    assert codec.to_series("n", np.array([1, -2], dtype=">i8")).data == (1).to_bytes(8, "little") + (-2).to_bytes(8, "little", signed=True)
    assert codec.to_series("x", np.array([1.0])).data == bytes.fromhex("000000000000f03f")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, -0.0, 300.0, np.nan, 1e-300, -np.inf]), st.integers(1, 500)), min_size=1, max_size=12))
def test_codec_piecewise_constant_series_travel_as_exact_runs(runs):
    values = np.concatenate([np.full(length, value) for value, length in runs])
    series = codec.to_series("power", values)
    back = codec.from_series(series)
    assert _bits(back) == _bits(values)  # -0.0 and NaN kept exactly
    distinct_runs = 1 + int(np.count_nonzero(values.view(np.uint64)[1:] != values.view(np.uint64)[:-1]))
    if series.run_lengths:
        assert len(series.run_lengths) == 4 * distinct_runs and len(series.data) == 8 * distinct_runs
    else:
        assert distinct_runs * 12 * 4 >= values.size * 8 or values.size < 64  # encoded raw only when runs do not pay


def test_codec_a_week_of_a_constant_request_is_a_few_bytes():
    series = codec.to_series("power", np.full(10_080, 3000.0))
    assert len(series.data) + len(series.run_lengths) == 12
    assert np.array_equal(codec.from_series(series), np.full(10_080, 3000.0))


def test_codec_rejects_run_lengths_that_do_not_match():
    series = codec.to_series("x", np.full(1000, 1.0))
    series.run_lengths = series.run_lengths + b"\x01\x00\x00\x00"
    with pytest.raises(ValueError, match="run_lengths"):
        codec.from_series(series)


def test_codec_non_contiguous_input():
    base = np.arange(20, dtype=np.float64)
    back = codec.from_series(codec.to_series("x", base[::3]))
    assert np.array_equal(back, base[::3])


def test_codec_rejects_unspecified_element_type():
    with pytest.raises(ValueError, match="'v'"):
        codec.from_series(coupling_pb2.Series(name="v", element_type=coupling_pb2.ELEMENT_TYPE_UNSPECIFIED, data=b""))


def test_codec_window_round_trip(clock):
    window = Window(12345, 678, clock)
    message = codec.encode_window(window)
    assert message.start_time.seconds == QUICKSTART_START_UNIX_S + 12345 * 60
    assert message.step_s == 60
    assert codec.decode_window(message, clock) == window


def test_a_command_over_grpc_applies_at_the_committed_step_and_a_refusal_changes_nothing(energy):
    """SubsystemService.Command: what the Ray runtime's conductor (and the live twin) send an actor."""
    host, stub = energy
    request = subsystem_pb2.SubsystemServiceCommandRequest(command="fault", args_json='{"component": "array", "level": 0.0, "duration_s": 0.0}', step=0)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Command(request, timeout=RPC_TIMEOUT_S)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED and host.state.faults.active == ()
    for args_json, step, code in [("[1]", 0, grpc.StatusCode.INVALID_ARGUMENT), ("{not json", 0, grpc.StatusCode.INVALID_ARGUMENT),
                                  ('{"component": "flux", "level": 0.0}', 0, grpc.StatusCode.INVALID_ARGUMENT),
                                  ('{"component": "array", "level": 0.0}', 7, grpc.StatusCode.INVALID_ARGUMENT),
                                  ('{"component": "storage", "level": 0.5}', 0, grpc.StatusCode.FAILED_PRECONDITION)]:
        with pytest.raises(grpc.RpcError) as refused:
            stub.Command(subsystem_pb2.SubsystemServiceCommandRequest(command="fault", args_json=args_json, step=step), timeout=RPC_TIMEOUT_S, metadata=bearer(TOKEN))
        assert refused.value.code() == code, args_json
        assert host.state.faults.active == ()
    answer = stub.Command(request, timeout=RPC_TIMEOUT_S, metadata=bearer(TOKEN))
    assert answer.variables["array_capacity_frac"] == 0.0 and host.state.faults.level("array") == 0.0
