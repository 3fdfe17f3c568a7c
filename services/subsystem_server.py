"""gRPC server for one subsystem instance: SubsystemService over a ModelHost, plus health and reflection."""
from __future__ import annotations

import importlib
import threading
from concurrent import futures

import grpc
import numpy as np
from google.protobuf import any_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.auth import TokenInterceptor
from services.codec import decode_arrays, decode_snapshot, decode_window, encode_arrays, encode_snapshot
from services.gen.ilrs.twin.v1 import subsystem_pb2, subsystem_pb2_grpc
from twin.model import ModelHost, TelemetryBehind

SERVICE = subsystem_pb2.DESCRIPTOR.services_by_name["SubsystemService"].full_name
MUTATING = frozenset(f"/{SERVICE}/{rpc}" for rpc in ("Exchange", "Finish", "Snapshot", "Restore"))
# Trailing metadata of a Restore refused because the instance's telemetry does not reach the step.
DURABLE_STEP = "ilrs-durable-step"
# Windows of a month of minute steps with a few dozen columns run to a few MB.
MESSAGE_LIMIT = 256 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MESSAGE_LIMIT),
    ("grpc.max_receive_message_length", MESSAGE_LIMIT),
]


def state_class(path: str | None):
    """'module:Message' -> the protobuf message class (importing it registers its descriptor)."""
    if path is None:
        return None
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def state_message(host: ModelHost):
    """SubsystemState: the generic variables map plus the kind's own message packed in Any."""
    from services.gen.ilrs.twin.v1 import state_pb2

    model = host.model
    variables = host.variables()
    clock = model.clock
    message = state_pb2.SubsystemState(
        subsystem=model.id,
        kind=model.kind,
        step=host.step,
        time=Timestamp(seconds=clock.start_unix_s + host.step * clock.step_s),
        variables=variables,
    )
    cls = state_class(model.state_message)
    if cls is not None:
        typed = cls()
        model.fill_state_message(typed, host.state, variables)
        detail = any_pb2.Any()
        detail.Pack(typed)
        message.detail.CopyFrom(detail)
    return message


class SubsystemServicer(subsystem_pb2_grpc.SubsystemServiceServicer):
    def __init__(self, host: ModelHost):
        self.host = host
        # One mutation at a time: the conductor's calls are sequential per instance anyway, and
        # a stray client must not interleave with them.
        self._lock = threading.Lock()

    def Describe(self, request, context):
        model = self.host.model
        return subsystem_pb2.DescribeResponse(
            name=model.id,
            kind=model.kind,
            environment=list(model.environment),
            ports=[
                subsystem_pb2.PortInfo(name=p.name, quantity=p.quantity, unit=p.unit, direction=p.direction, feedback=p.feedback, description=p.description)
                for p in model.ports
            ],
            routes=[
                subsystem_pb2.RouteInfo(source=r.source, source_port=r.source_port, target=r.target, target_port=r.target_port, feedback=r.feedback)
                for r in (*model.routes_in, *model.routes_out)
            ],
        )

    def Exchange(self, request, context):
        window = inputs = None
        try:
            if request.commit_steps < 0:
                raise ValueError("commit_steps: must not be negative")
            if request.HasField("window"):
                window = decode_window(request.window, self.host.model.clock)
                inputs = decode_arrays(request.inputs, window.steps)
                for name, values in inputs.items():
                    if values.dtype.kind == "f" and not np.isfinite(values).all():
                        raise ValueError(f"series {name!r} has values that are not finite")
                self.host.model.check_inputs(inputs)
                expected = self.host.step + request.commit_steps
                if window.start_step != expected:
                    raise ValueError(f"window.start_step: {window.start_step} is not where the commit leaves the model ({expected})")
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        with self._lock:
            try:
                outputs, snap = self.host.exchange(request.commit_steps, window, inputs, request.snapshot)
            except ValueError as exc:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        response = subsystem_pb2.ExchangeResponse(outputs=encode_arrays(outputs), step=self.host.step)
        if snap is not None:
            response.snapshot.CopyFrom(encode_snapshot(snap))
        return response

    def Finish(self, request, context):
        with self._lock:
            return subsystem_pb2.FinishResponse(files=self.host.finish(discard=request.discard))

    def GetState(self, request, context):
        return subsystem_pb2.GetStateResponse(state=state_message(self.host))

    def Snapshot(self, request, context):
        with self._lock:
            return subsystem_pb2.SnapshotResponse(snapshot=encode_snapshot(self.host.snapshot()))

    def Restore(self, request, context):
        with self._lock:
            try:
                self.host.restore(decode_snapshot(request.snapshot))
            except TelemetryBehind as exc:
                context.set_trailing_metadata(((DURABLE_STEP, str(exc.durable)),))
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
            except ValueError as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return subsystem_pb2.RestoreResponse(step=self.host.step)


def serve(host: ModelHost, token: str, bind: str = "127.0.0.1", port: int = 0, workers: int = 2) -> tuple[grpc.Server, int]:
    """Start a server for ``host``; returns it and the port it got (0 asks the OS for a free one)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers),
        interceptors=[TokenInterceptor(token, MUTATING)],
        options=CHANNEL_OPTIONS,
    )
    subsystem_pb2_grpc.add_SubsystemServiceServicer_to_server(SubsystemServicer(host), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    state_class(host.model.state_message)  # its descriptor is then in the pool reflection serves
    reflection.enable_server_reflection((SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    bound = server.add_insecure_port(f"{bind}:{port}")
    if bound == 0:
        raise OSError(f"could not bind {bind}:{port}")
    server.start()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
    return server, bound
