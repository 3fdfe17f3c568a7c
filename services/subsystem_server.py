"""gRPC server for one subsystem: SubsystemService over a ModelHost, plus health and reflection."""
from __future__ import annotations

from concurrent import futures

import grpc
import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.auth import TokenInterceptor
from services.codec import decode_arrays, decode_schedules, decode_window, encode_arrays
from services.gen.ilrs.twin.v1 import coupling_pb2, state_pb2, subsystem_pb2, subsystem_pb2_grpc
from twin.models.base import LOAD_CLASSES, ModelHost

SERVICE = subsystem_pb2.DESCRIPTOR.services_by_name["SubsystemService"].full_name
MUTATING = frozenset(f"/{SERVICE}/{rpc}" for rpc in ("Exchange", "Finish"))
# Windows of a week of minute steps with a few dozen columns run to a few MB.
MESSAGE_LIMIT = 256 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MESSAGE_LIMIT),
    ("grpc.max_receive_message_length", MESSAGE_LIMIT),
]


# Model kind -> the field of SubsystemState's `model` oneof that reports it.
STATE_FIELDS = {
    "energy": "energy",
    "communications": "communications",
    "research": "research",
    "isru": "isru",
    "astronomy": "astronomy",
    "general": "scheduled_load",
}


def state_message(host: ModelHost) -> state_pb2.SubsystemState:
    """The typed state message: its scalar fields are the model's variables of the same name."""
    model = host.model
    variables = host.variables()
    clock = model.clock
    message = state_pb2.SubsystemState(
        subsystem=model.name,
        step=host.step,
        time=Timestamp(seconds=clock.start_unix_s + host.step * clock.step_s),
        variables=variables,
    )
    typed = getattr(message, STATE_FIELDS[model.kind])
    for field in typed.DESCRIPTOR.fields:
        if field.name in variables:
            setattr(typed, field.name, variables[field.name])
    if model.kind == "energy":
        typed.switches.extend(
            coupling_pb2.ClassSwitch(load_class=int(cls), on=cls <= host.state.classes_on) for cls in LOAD_CLASSES
        )
    elif model.load_class is not None and "load_class" in typed.DESCRIPTOR.fields_by_name:
        typed.load_class = int(model.load_class)
    typed.SetInParent()
    return message


class SubsystemServicer(subsystem_pb2_grpc.SubsystemServiceServicer):
    def __init__(self, host: ModelHost):
        self.host = host

    def Describe(self, request, context):
        model = self.host.model
        return subsystem_pb2.DescribeResponse(
            name=model.name,
            kind=model.kind,
            stage=model.stage,
            environment=list(model.environment),
            consumes=list(model.consumes),
            load_class=int(model.load_class or 0),
        )

    def Exchange(self, request, context):
        window = env = inputs = assumed = None
        try:
            if request.commit_steps < 0:
                raise ValueError("commit_steps: must not be negative")
            if request.HasField("window"):
                window = decode_window(request.window, self.host.model.clock)
                env = decode_arrays(request.environment, window.steps)
                inputs = decode_arrays(request.inputs, window.steps)
                assumed = decode_schedules(request.assumed, window.steps)
                for name, values in [*env.items(), *inputs.items()]:
                    if len(values) != window.steps:
                        raise ValueError(f"series {name!r} has {len(values)} values for a window of {window.steps} steps")
                    if values.dtype.kind == "f" and not np.isfinite(values).all():
                        raise ValueError(f"series {name!r} has values that are not finite")
                self.host.model.check_inputs(inputs)
                missing = set(self.host.model.environment) - set(env)
                if missing:
                    raise ValueError(f"environment: missing {', '.join(sorted(missing))}")
                expected = self.host.step + request.commit_steps
                if window.start_step != expected:
                    raise ValueError(f"window.start_step: {window.start_step} is not where the commit leaves the model ({expected})")
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        try:
            outputs = self.host.exchange(request.commit_steps, window, env, inputs, assumed)
        except ValueError as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        return subsystem_pb2.ExchangeResponse(outputs=encode_arrays(outputs), step=self.host.step)

    def Finish(self, request, context):
        return subsystem_pb2.FinishResponse(files=self.host.finish(discard=request.discard))

    def GetState(self, request, context):
        return subsystem_pb2.GetStateResponse(state=state_message(self.host))


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
    reflection.enable_server_reflection((SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    bound = server.add_insecure_port(f"{bind}:{port}")
    if bound == 0:
        raise OSError(f"could not bind {bind}:{port}")
    server.start()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
    return server, bound
