"""Subsystem servers no client can stall, standard gRPC behaviour (reflection v1 and v1alpha,
health List), and errors with google.rpc details."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading

import grpc
import pyarrow.parquet as pq
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_status import rpc_status

from services.auth import ANONYMOUS_LIMIT, bearer
from services.gen.ilrs.twin.v1 import coupling_pb2, subsystem_pb2, subsystem_pb2_grpc
from services.subsystem_server import serve
from twin.conductor import Conductor
from twin.run import make_runtime, run

REFLECTION = {
    "v1": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "v1alpha": "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
}


@pytest.fixture
def served(small):
    """The ISRU instance of the small station, a few windows in, behind its own server."""
    with make_runtime(small, "local") as rt:
        Conductor(small.clock, rt.station, rt.handles, small.window_steps).advance(300)
        host = rt.handles["isru"].host
        server, port = serve(host, "secret")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        try:
            yield host, channel
        finally:
            channel.close()
            server.stop()


def reflect(channel, protocol: str, **request):
    call = channel.stream_stream(REFLECTION[protocol], request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    return next(iter(call(iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=10)))


@pytest.mark.parametrize("protocol", ["v1", "v1alpha"])
def test_reflection_answers_in_both_protocols(served, protocol):
    _, channel = served
    listed = {s.name for s in reflect(channel, protocol, list_services="").list_services_response.service}
    assert {"ilrs.twin.v1.SubsystemService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} <= listed
    for symbol in ("ilrs.twin.v1.SubsystemService", "ilrs.twin.v1.IsruState", "grpc.reflection.v1.ServerReflection"):
        answer = reflect(channel, protocol, file_containing_symbol=symbol)
        assert answer.file_descriptor_response.file_descriptor_proto, symbol


def test_health_list_names_every_service(served):
    _, channel = served
    statuses = health_pb2_grpc.HealthStub(channel).List(health_pb2.HealthListRequest(), timeout=10).statuses
    assert statuses["ilrs.twin.v1.SubsystemService"].status == health_pb2.HealthCheckResponse.SERVING
    assert statuses[""].status == health_pb2.HealthCheckResponse.SERVING


def test_a_window_past_the_end_is_refused_with_a_field_violation_and_nothing_changes(served):
    host, channel = served
    stub = subsystem_pb2_grpc.SubsystemServiceStub(channel)
    step, state = host.step, host.state
    request = subsystem_pb2.ExchangeRequest(commit_steps=0, window=coupling_pb2.Window(start_step=step, steps=2**31 - 1, step_s=host.model.clock.step_s))
    with pytest.raises(grpc.RpcError) as refused:
        stub.Exchange(request, metadata=bearer("secret"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(refused.value)
    detail = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(detail)
    assert detail.field_violations[0].field == "window.steps"
    assert host.step == step and host.state is state


def test_a_large_request_without_a_token_is_refused_before_it_is_parsed(served):
    """Reads are open, but an anonymous client cannot make the server parse megabytes: over the
    limit is RESOURCE_EXHAUSTED (unary and streaming alike); the same request with the token, and
    a small one without, are answered."""
    host, channel = served
    stub = subsystem_pb2_grpc.SubsystemServiceStub(channel)
    size, length = ANONYMOUS_LIMIT + 1, b""
    while True:  # a varint
        length += bytes([(size & 0x7F) | (0x80 if size > 0x7F else 0)])
        size >>= 7
        if not size:
            break
    big = b"\x7a" + length + b"x" * (ANONYMOUS_LIMIT + 1)  # an unknown field 15 the parser skips
    get_state = channel.unary_unary("/ilrs.twin.v1.SubsystemService/GetState", request_serializer=lambda raw: raw,
                                    response_deserializer=subsystem_pb2.GetStateResponse.FromString)
    with pytest.raises(grpc.RpcError) as refused:
        get_state(big, timeout=10)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "without a token" in refused.value.details()
    assert get_state(big, metadata=bearer("secret"), timeout=10).state.step == host.step
    assert stub.GetState(subsystem_pb2.GetStateRequest(), timeout=10).state.step == host.step
    call = channel.stream_stream(REFLECTION["v1"], request_serializer=lambda raw: raw,
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    with pytest.raises(grpc.RpcError) as streamed:
        next(iter(call(iter([big]), timeout=10)))
    assert streamed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reflect(channel, "v1", list_services="").list_services_response.service


@pytest.mark.skipif(shutil.which("npx") is None, reason="buf comes from the npm registry (npx)")
def test_buf_curl_lists_the_service_with_reflection_v1(served):
    _, channel = served
    port = channel._channel.target().decode().rsplit(":", 1)[1]
    done = subprocess.run(["npx", "--yes", "@bufbuild/buf@1.75.0", "curl", "--protocol", "grpc", "--http2-prior-knowledge",
                           "--reflect-protocol", "grpc-v1", "--list-methods", f"http://127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "ilrs.twin.v1.SubsystemService/Exchange" in done.stdout


def test_idle_streams_on_every_instance_do_not_stall_a_run(tmp_path, small, ray_cluster):
    """16 idle reflection streams and 16 health watches per instance, opened without a token as
    soon as the endpoints are published: the run completes with the same telemetry."""
    reference = run(small, runtime="local", out=tmp_path / "reference")
    channels, streams, stop = [], [], threading.Event()

    def idle_requests():
        stop.wait()
        return
        yield  # a request stream that never sends

    def flood(endpoints):
        for e in endpoints:
            channel = grpc.insecure_channel(e["address"])
            channels.append(channel)
            reflect_call = channel.stream_stream(REFLECTION["v1alpha"])
            watch = health_pb2_grpc.HealthStub(channel).Watch
            for _ in range(16):
                streams.append(reflect_call(idle_requests()))
                streams.append(watch(health_pb2.HealthCheckRequest(service="")))

    try:
        flooded = run(small, runtime="ray", out=tmp_path / "ray", on_ready=flood)
    finally:
        stop.set()
        for stream in streams:
            stream.cancel()
        for channel in channels:
            channel.close()
    assert len(streams) == 32 * len(reference["kinds"])
    for id in reference["kinds"]:
        assert pq.read_table(tmp_path / "reference" / "telemetry" / f"{id}.parquet").equals(pq.read_table(tmp_path / "ray" / "telemetry" / f"{id}.parquet")), id
    assert json.dumps(flooded["modules"]) == json.dumps(reference["modules"])
