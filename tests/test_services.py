"""Tests for services/: SubsystemService over real in-process gRPC servers, health, reflection,
bearer-token auth, input validation on the wire, wire/in-process equivalence, and the codec.

No mocks: every server is ``services.subsystem_server.serve`` on 127.0.0.1 with an OS-chosen port,
over a real ModelHost built from the built-in quickstart scenario.
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
from services.gen.ilrs.twin.v1 import coupling_pb2, subsystem_pb2, subsystem_pb2_grpc
from services.subsystem_client import SubsystemClient
from services.subsystem_server import CHANNEL_OPTIONS, MUTATING, serve
from twin.models.base import LOAD_CLASSES, LoadClass, ModelHost, Window
from twin.models.registry import build_model
from twin.run import make_sky
from twin.scenario import load
from twin.telemetry import TelemetrySink

pytestmark = pytest.mark.timeout(60)

TOKEN = "s3cret-test-token"
SERVICE = "ilrs.twin.v1.SubsystemService"
RPC_TIMEOUT_S = 10
ALL_ON = np.ones(len(LOAD_CLASSES), dtype=bool)


def schedule(on: np.ndarray, steps: int) -> np.ndarray:
    """Per-class switch states held over ``steps`` steps, as the conductor's assumption."""
    return np.repeat(np.asarray(on, dtype=bool)[:, None], steps, axis=1)
# 2030-01-01T00:00:00Z, the quickstart scenario's start.
QUICKSTART_START_UNIX_S = 1_893_456_000


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def scenario():
    return load("quickstart")


@pytest.fixture(scope="module")
def clock(scenario):
    return scenario.clock


@pytest.fixture(scope="module")
def sky(scenario):
    return make_sky(scenario)


@pytest.fixture
def make_host(scenario, clock):
    params = scenario.modules.present()

    def make(name: str, sink=None) -> ModelHost:
        return ModelHost(build_model(name, params[name], clock, scenario.scenario.seed), sink)

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
        server.stop(grace=None).wait(5)


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


# --------------------------------------------------------------------------- helpers


def env_for(model, sky, window: Window) -> dict[str, np.ndarray]:
    sample = sky.sample(window.times())
    return {key: sample[key] for key in model.environment}


def exchange_request(commit_steps: int, window: Window | None, env=None, inputs=None, assumed=ALL_ON) -> subsystem_pb2.ExchangeRequest:
    request = subsystem_pb2.ExchangeRequest(commit_steps=commit_steps)
    if window is not None:
        request.window.CopyFrom(codec.encode_window(window))
        request.environment.extend(codec.encode_arrays(env or {}))
        request.inputs.extend(codec.encode_arrays(inputs or {}))
        request.assumed.extend(codec.encode_schedules(schedule(assumed, window.steps) if np.ndim(assumed) == 1 else assumed))
    return request


def step_of(stub) -> int:
    return stub.GetState(subsystem_pb2.GetStateRequest(), timeout=RPC_TIMEOUT_S).state.step


def rpc_error(call, request, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=RPC_TIMEOUT_S, **kwargs)
    return info.value


def propose_energy(stub, host, sky, start: int, steps: int, commit: int = 0):
    window = Window(start, steps, host.model.clock)
    response = stub.Exchange(exchange_request(commit, window, env_for(host.model, sky, window)), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)
    return codec.decode_arrays(response.outputs), response.step


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
    assert {m.name for m in service.methods} == {"Describe", "Exchange", "Finish", "GetState"}
    assert service.methods_by_name["Exchange"].input_type.full_name == "ilrs.twin.v1.ExchangeRequest"
    assert service.methods_by_name["Exchange"].output_type.full_name == "ilrs.twin.v1.ExchangeResponse"

    file_proto = db.FindFileContainingSymbol("ilrs.twin.v1.ExchangeRequest")
    assert file_proto.name == "ilrs/twin/v1/subsystem.proto"
    assert file_proto.package == "ilrs.twin.v1"
    assert "ExchangeRequest" in {m.name for m in file_proto.message_type}

    # Dependencies resolve too (coupling.proto, state.proto, google/protobuf/timestamp.proto):
    exchange = pool.FindMessageTypeByName("ilrs.twin.v1.ExchangeRequest")
    assert exchange.fields_by_name["window"].message_type.full_name == "ilrs.twin.v1.Window"
    assert exchange.fields_by_name["window"].message_type.fields_by_name["start_time"].message_type.full_name == "google.protobuf.Timestamp"
    state = pool.FindMessageTypeByName("ilrs.twin.v1.SubsystemState")
    assert {f.name for f in state.oneofs_by_name["model"].fields} == {"energy", "scheduled_load", "communications", "research", "isru", "astronomy"}

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
    assert list(response.environment) == ["sun_elevation_deg", "sun_azimuth_deg", "sun_visible_frac", "solar_irradiance_w_m2"]


# --------------------------------------------------------------------------- auth


def test_mutating_set_is_exchange_and_finish():
    assert MUTATING == {f"/{SERVICE}/Exchange", f"/{SERVICE}/Finish"}


@pytest.mark.parametrize("metadata", [None, bearer("wrong-token"), (("authorization", TOKEN),), (("authorization", f"Bearer {TOKEN}x"),)],
                         ids=["no-metadata", "wrong-token", "no-bearer-scheme", "token-suffix"])
def test_exchange_without_valid_token_is_unauthenticated_and_changes_nothing(energy, sky, metadata):
    host, stub = energy
    propose_energy(stub, host, sky, 0, 120)  # a pending proposal an unauthorized commit could take
    assert step_of(stub) == 0

    err = rpc_error(stub.Exchange, exchange_request(60, None), metadata=metadata)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    window = Window(60, 120, host.model.clock)
    err = rpc_error(stub.Exchange, exchange_request(60, window, env_for(host.model, sky, window)), metadata=metadata)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert step_of(stub) == 0
    assert host.step == 0

    # The pending proposal is intact: the right token commits it.
    response = stub.Exchange(exchange_request(60, None), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)
    assert response.step == 60
    assert step_of(stub) == 60


def test_finish_without_valid_token_is_unauthenticated_and_publishes_nothing(make_host, start_server, channels, clock, sky, tmp_path):
    sink = TelemetrySink(tmp_path, clock)
    host = make_host("energy", sink)
    stub = subsystem_pb2_grpc.SubsystemServiceStub(channels(start_server(host)))
    propose_energy(stub, host, sky, 0, 30)
    stub.Exchange(exchange_request(30, None), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)

    for metadata in (None, bearer("wrong-token")):
        for discard in (False, True):
            err = rpc_error(stub.Finish, subsystem_pb2.FinishRequest(discard=discard), metadata=metadata)
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert not (tmp_path / "energy.parquet").exists()
    assert step_of(stub) == 30

    response = stub.Finish(subsystem_pb2.FinishRequest(), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)
    assert list(response.files) == [str(tmp_path / "energy.parquet")]
    assert (tmp_path / "energy.parquet").is_file()


def test_reads_need_no_token(energy):
    host, stub = energy
    info = stub.Describe(subsystem_pb2.DescribeRequest(), timeout=RPC_TIMEOUT_S)
    assert (info.name, info.kind, info.stage) == ("energy", "energy", 2)
    assert list(info.consumes) == ["power_request_w/"]
    assert info.load_class == coupling_pb2.LOAD_CLASS_UNSPECIFIED
    state = stub.GetState(subsystem_pb2.GetStateRequest(), timeout=RPC_TIMEOUT_S).state
    assert state.subsystem == "energy"
    assert state.step == 0
    assert state.time.seconds == QUICKSTART_START_UNIX_S


def test_exchange_with_right_token_works(energy, sky):
    host, stub = energy
    outputs, step = propose_energy(stub, host, sky, 0, 60)
    assert step == 0
    assert set(outputs) == {f"powered/{cls.key}" for cls in LOAD_CLASSES}
    assert all(len(v) == 60 for v in outputs.values())


# --------------------------------------------------------------------------- bad input


def _bad_requests(host, sky, clock):
    """(id, request, field the message must name). Each is sent with 50 steps of a 100-step proposal pending at step 0."""
    model = host.model
    window = Window(50, 100, clock)
    env = env_for(model, sky, window)

    def req(**overrides):
        r = exchange_request(overrides.get("commit", 50), overrides.get("window", window), overrides.get("env", env),
                             overrides.get("inputs"), overrides.get("assumed", ALL_ON))
        return r

    short_env = {**env, "sun_visible_frac": env["sun_visible_frac"][:-1]}
    missing_env = {k: v for k, v in env.items() if k != "solar_irradiance_w_m2"}
    bad_step = req()
    bad_step.window.step_s = clock.step_s * 2
    missing_class = req()
    del missing_class.assumed[2]
    out_of_range = req()
    out_of_range.assumed[3].load_class = 7
    unspecified_class = req()
    unspecified_class.assumed[0].load_class = coupling_pb2.LOAD_CLASS_UNSPECIFIED
    short_schedule = req()
    short_schedule.assumed[1].on = short_schedule.assumed[1].on[:-1]
    long_input = req(inputs={"communications/power_request_w/communications": np.zeros(101)})
    return [
        ("series-length-env", req(env=short_env), "sun_visible_frac"),
        ("series-length-input", long_input, "communications/power_request_w/communications"),
        ("step-s", bad_step, "window.step_s"),
        ("missing-env", req(env=missing_env), "solar_irradiance_w_m2"),
        ("negative-commit", req(commit=-1, window=Window(49, 100, clock)), "commit_steps"),
        ("start-step-behind", req(window=Window(0, 100, clock)), "window.start_step"),
        ("start-step-ahead", req(window=Window(51, 100, clock)), "window.start_step"),
        ("assumed-missing-class", missing_class, "assumed"),
        ("assumed-out-of-range", out_of_range, "assumed"),
        ("assumed-unspecified", unspecified_class, "assumed"),
        ("assumed-short", short_schedule, "assumed"),
    ]


BAD_IDS = ["series-length-env", "series-length-input", "step-s", "missing-env", "negative-commit", "start-step-behind",
           "start-step-ahead", "assumed-missing-class", "assumed-out-of-range", "assumed-unspecified", "assumed-short"]


@pytest.mark.parametrize("case", BAD_IDS)
def test_bad_input_is_invalid_argument_and_changes_nothing(energy, sky, clock, case):
    host, stub = energy
    info = stub.Describe(subsystem_pb2.DescribeRequest(), timeout=RPC_TIMEOUT_S)
    assert "solar_irradiance_w_m2" in info.environment  # the missing-env case drops a required column
    propose_energy(stub, host, sky, 0, 100)
    cases = {name: (request, field) for name, request, field in _bad_requests(host, sky, clock)}
    request, field = cases[case]

    err = rpc_error(stub.Exchange, request, metadata=bearer(TOKEN))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert field in err.details()
    assert step_of(stub) == 0

    # Nothing was committed and the proposal is still pending: a valid exchange commits 50 of it.
    outputs, step = propose_energy(stub, host, sky, 50, 100, commit=50)
    assert step == 50
    assert step_of(stub) == 50
    assert all(len(v) == 100 for v in outputs.values())


def test_bad_input_case_list_is_complete(energy, sky, clock):
    host, _ = energy
    assert [name for name, _, _ in _bad_requests(host, sky, clock)] == BAD_IDS


def test_commit_more_than_proposed_is_failed_precondition(energy, sky):
    host, stub = energy
    propose_energy(stub, host, sky, 0, 100)
    window = Window(150, 10, host.model.clock)
    for request in (exchange_request(150, window, env_for(host.model, sky, window)), exchange_request(101, None)):
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


@pytest.mark.parametrize("name", ["communications/power_request_w/bogus", "nameless", "communications/data_bytes"])
def test_unknown_input_name_is_invalid_argument_and_changes_nothing(energy, sky, clock, name):
    host, stub = energy
    propose_energy(stub, host, sky, 0, 100)
    window = Window(50, 100, clock)
    request = exchange_request(50, window, env_for(host.model, sky, window), {name: np.zeros(100)})
    err = rpc_error(stub.Exchange, request, metadata=bearer(TOKEN))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    assert "inputs" in err.details() or "bogus" in err.details()
    assert step_of(stub) == 0


def test_truncated_series_bytes_name_the_series(energy, sky, clock):
    host, stub = energy
    window = Window(0, 100, clock)
    request = exchange_request(0, window, env_for(host.model, sky, window))
    column = request.environment[2]
    assert column.name == "sun_visible_frac"
    column.data = column.data[:-3]
    err = rpc_error(stub.Exchange, request, metadata=bearer(TOKEN))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert step_of(stub) == 0
    assert "sun_visible_frac" in err.details()


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


def test_round_trip_through_wire_equals_in_process(make_host, client_for, sky, clock):
    steps, commit = 1440, 700
    window = Window(0, steps, clock)
    env = sky.sample(window.times())
    # All classes assumed on for the first window (as the conductor starts); a shed assumption follows below.
    comms_remote, comms_local = make_host("communications"), make_host("communications")
    energy_remote, energy_local = make_host("energy"), make_host("energy")
    comms = client_for(comms_remote)
    energy = client_for(energy_remote)
    assert (comms.name, comms.stage, comms.load_class) == ("communications", 1, LoadClass.COMMUNICATIONS)
    assert (energy.name, energy.stage, energy.load_class) == ("energy", 2, None)
    assert energy.environment == energy_local.model.environment

    def local_env(model):
        return {k: env[k] for k in model.environment}

    # Communications proposes its power request (no data arriving in this test).
    remote = comms.exchange(0, window, local_env(comms_local.model), {}, schedule(ALL_ON, steps)).result()
    local = comms_local.exchange(0, window, local_env(comms_local.model), {}, schedule(ALL_ON, steps))
    assert set(remote) == set(local) == {"power_request_w/communications"}
    for key in local:
        assert remote[key].dtype == local[key].dtype == np.float64
        assert np.array_equal(remote[key], local[key])
    request = local["power_request_w/communications"]
    link_up = comms_local.model.links(window.times(), local_env(comms_local.model))["rate_bps"] > 0
    assert np.array_equal(request, np.where(link_up, 80.0 + 250.0, 80.0))  # standby, plus the transmitter while a link is up

    # Energy dispatches it.
    inputs = {"communications/power_request_w/communications": request}
    remote_e = energy.exchange(0, window, local_env(energy_local.model), inputs, schedule(ALL_ON, steps)).result()
    local_e = energy_local.exchange(0, window, local_env(energy_local.model), inputs, schedule(ALL_ON, steps))
    assert set(remote_e) == set(local_e) == {f"powered/{cls.key}" for cls in LOAD_CLASSES}
    for key in local_e:
        assert remote_e[key].dtype == local_e[key].dtype == np.uint8
        assert remote_e[key].shape == (steps,)
        assert np.array_equal(remote_e[key], local_e[key])
    assert np.isin(remote_e["powered/survival"], (0, 1)).all()

    # Commit part of the window with a commit-only exchange.
    for client, host in ((comms, comms_local), (energy, energy_local)):
        assert client.exchange(commit, None).result() == {}
        host.commit(commit)
        state = client.state()
        assert state.step == host.step == commit
        assert state.time.seconds == clock.start_unix_s + commit * clock.step_s
        assert dict(state.variables) == host.variables()
        assert client.variables() == host.variables()

    hours = comms.variables()["dte_hours"] + comms.variables()["relay_hours"]
    assert 0 < hours <= 2 * commit / 60

    # Next window from the committed step, with communications assumed switched off.
    window2 = Window(commit, steps, clock)
    env2 = sky.sample(window2.times())
    off = ALL_ON.copy()
    off[LoadClass.COMMUNICATIONS - 1] = False
    remote2 = comms.exchange(0, window2, {k: env2[k] for k in comms_local.model.environment}, {}, schedule(off, steps)).result()
    local2 = comms_local.exchange(0, window2, {k: env2[k] for k in comms_local.model.environment}, {}, schedule(off, steps))
    assert np.array_equal(remote2["power_request_w/communications"], local2["power_request_w/communications"])
    comms.exchange(steps, None).result()
    comms_local.commit(steps)
    assert comms.variables() == comms_local.variables()
    assert comms.variables()["downlinked_bytes"] == 0.0


# --------------------------------------------------------------------------- GetState


def test_get_state_energy_oneof(energy, sky):
    host, stub = energy
    state = stub.GetState(subsystem_pb2.GetStateRequest(), timeout=RPC_TIMEOUT_S).state
    assert state.WhichOneof("model") == "energy"
    assert state.energy.storage_soc_frac == state.variables["storage_soc_frac"] == 1.0  # initial_soc_frac default
    assert state.energy.storage_kwh == state.variables["storage_kwh"] == 800.0  # quickstart capacity
    assert [(s.load_class, s.on) for s in state.energy.switches] == [(int(c), True) for c in LOAD_CLASSES]

    propose_energy(stub, host, sky, 0, 600)
    stub.Exchange(exchange_request(600, None), metadata=bearer(TOKEN), timeout=RPC_TIMEOUT_S)
    state = stub.GetState(subsystem_pb2.GetStateRequest(), timeout=RPC_TIMEOUT_S).state
    assert state.step == 600
    assert state.WhichOneof("model") == "energy"
    for field in ("storage_kwh", "storage_soc_frac", "min_storage_soc_frac", "generated_kwh", "delivered_kwh",
                  "unserved_kwh", "curtailed_kwh", "losses_kwh"):
        assert getattr(state.energy, field) == state.variables[field] == host.variables()[field], field
    assert 0.0 <= state.energy.storage_soc_frac <= 1.0


@pytest.mark.parametrize("name, load_class, stage", [
    ("communications", coupling_pb2.LOAD_CLASS_COMMUNICATIONS, 1),
    ("research", coupling_pb2.LOAD_CLASS_SCIENCE, 0),
    ("astronomy", coupling_pb2.LOAD_CLASS_SCIENCE, 0),
    ("isru", coupling_pb2.LOAD_CLASS_ISRU, 0),
])
def test_get_state_module_oneof(make_host, start_server, channels, name, load_class, stage):
    host = make_host(name)
    stub = subsystem_pb2_grpc.SubsystemServiceStub(channels(start_server(host)))
    state = stub.GetState(subsystem_pb2.GetStateRequest(), timeout=RPC_TIMEOUT_S).state
    assert state.subsystem == name
    assert state.WhichOneof("model") == name
    typed = getattr(state, name)
    for field in typed.DESCRIPTOR.fields:  # the typed message carries the variables of the same name
        assert getattr(typed, field.name) == state.variables[field.name] == host.variables()[field.name], field.name
    info = stub.Describe(subsystem_pb2.DescribeRequest(), timeout=RPC_TIMEOUT_S)
    assert info.load_class == load_class
    assert (info.kind, info.stage, tuple(info.environment)) == (name, stage, tuple(host.model.environment))


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
    series = codec.to_series("power_request_w/science", values)
    back = codec.from_series(series)
    assert _bits(back) == _bits(values)  # -0.0 and NaN kept exactly
    distinct_runs = 1 + int(np.count_nonzero(values.view(np.uint64)[1:] != values.view(np.uint64)[:-1]))
    if series.run_lengths:
        assert len(series.run_lengths) == 4 * distinct_runs and len(series.data) == 8 * distinct_runs
    else:
        assert distinct_runs * 12 * 4 >= values.size * 8 or values.size < 64  # encoded raw only when runs do not pay


def test_codec_a_week_of_a_constant_request_is_a_few_bytes():
    series = codec.to_series("power_request_w/isru", np.full(10_080, 3000.0))
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


def test_codec_schedules_round_trip():
    for bits in range(16):
        on = np.array([(bits >> i) & 1 for i in range(4)], dtype=bool)
        profile = schedule(on, 5)
        profile[:, 2] = ~profile[:, 2]  # switching inside the window
        assert np.array_equal(codec.decode_schedules(codec.encode_schedules(profile), 5), profile)


def test_codec_window_round_trip(clock):
    window = Window(12345, 678, clock)
    message = codec.encode_window(window)
    assert message.start_time.seconds == QUICKSTART_START_UNIX_S + 12345 * 60
    assert message.step_s == 60
    assert codec.decode_window(message, clock) == window
