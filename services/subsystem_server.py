"""gRPC server for one subsystem instance: SubsystemService over a ModelHost, plus health and reflection
(services/server.py: grpc.aio, so idle streams never hold the threads the model runs in)."""
from __future__ import annotations

import asyncio
import importlib
import json
import threading
from concurrent import futures

import numpy as np
from google.protobuf import any_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services import server as base
from services.codec import decode_arrays, decode_snapshot, decode_window, encode_arrays, encode_snapshot
from services.gen.ilrs.twin.v1 import subsystem_pb2, subsystem_pb2_grpc
from twin.commands import Command, CommandRefused
from twin.model import ModelHost, TelemetryBehind

SERVICE = subsystem_pb2.DESCRIPTOR.services_by_name["SubsystemService"].full_name
MUTATING = frozenset(f"/{SERVICE}/{rpc}" for rpc in ("Exchange", "Finish", "Snapshot", "Restore", "Command"))
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
        time=Timestamp(seconds=clock.unix_at(host.step)),
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
    def __init__(self, host: ModelHost, executor: futures.ThreadPoolExecutor):
        self.host = host
        self._executor = executor
        # One mutation at a time: the conductor's calls are sequential per instance anyway, and
        # a stray client must not interleave with them.
        self._lock = threading.Lock()

    async def _locked(self, fn, *args):
        def call():
            with self._lock:
                return fn(*args)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def Describe(self, request, context):
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

    def _checked(self, request):
        """Decode and check an Exchange request before anything is allocated or changed."""
        window = inputs = None
        if request.commit_steps < 0:
            raise ValueError("commit_steps: must not be negative")
        if request.HasField("window"):
            window = decode_window(request.window, self.host.model.clock)
            inputs = decode_arrays(request.inputs, window.steps)
            for name, values in inputs.items():
                if values.dtype.kind == "f" and not np.isfinite(values).all():
                    raise ValueError(f"inputs: series {name!r} has values that are not finite")
            self.host.model.check_inputs(inputs)
            expected = self.host.step + request.commit_steps
            if window.start_step != expected:
                raise ValueError(f"window.start_step: {window.start_step} is not where the commit leaves the model ({expected})")
        return window, inputs

    async def Exchange(self, request, context):
        try:
            window, inputs = self._checked(request)
        except ValueError as exc:
            return await base.abort(context, base.invalid_argument(str(exc)))
        try:
            outputs, snap = await self._locked(self.host.exchange, request.commit_steps, window, inputs, request.snapshot)
        except ValueError as exc:
            return await base.abort(context, base.precondition_failed(str(exc), self.host.model.id))
        response = subsystem_pb2.ExchangeResponse(outputs=encode_arrays(outputs), step=self.host.step)
        if snap is not None:
            response.snapshot.CopyFrom(encode_snapshot(snap))
        return response

    async def Finish(self, request, context):
        files = await self._locked(self.host.finish, request.discard)
        return subsystem_pb2.FinishResponse(files=files)

    async def GetState(self, request, context):
        return subsystem_pb2.GetStateResponse(state=state_message(self.host))

    async def Snapshot(self, request, context):
        snap = await self._locked(self.host.snapshot)
        return subsystem_pb2.SnapshotResponse(snapshot=encode_snapshot(snap))

    async def Restore(self, request, context):
        try:
            await self._locked(self.host.restore, decode_snapshot(request.snapshot))
        except TelemetryBehind as exc:
            context.set_trailing_metadata(((DURABLE_STEP, str(exc.durable)),))
            return await base.abort(context, base.precondition_failed(str(exc), self.host.model.id))
        except ValueError as exc:
            return await base.abort(context, base.invalid_argument(str(exc)))
        return subsystem_pb2.RestoreResponse(step=self.host.step)

    async def Command(self, request, context):
        try:
            args = json.loads(request.args_json or "{}")
            if not isinstance(args, dict):
                raise ValueError("args_json: must be a JSON object")
        except json.JSONDecodeError as exc:
            return await base.abort(context, base.invalid_argument(f"args_json: not JSON ({exc})"))
        except ValueError as exc:
            return await base.abort(context, base.invalid_argument(str(exc)))
        command = Command.of(self.host.model.id, request.command, args, request.step)
        try:
            variables = await self._locked(self.host.command, command)
        except CommandRefused as exc:
            return await base.abort(context, base.precondition_failed(str(exc), self.host.model.id))
        except (ValueError, TypeError) as exc:
            return await base.abort(context, base.invalid_argument(str(exc)))
        except RuntimeError as exc:
            return await base.abort(context, base.precondition_failed(str(exc), self.host.model.id))
        return subsystem_pb2.SubsystemServiceCommandResponse(variables=variables)


def serve(host: ModelHost, token: str, bind: str = "127.0.0.1", port: int = 0) -> tuple[base.Server, int]:
    """Start a server for ``host``; returns it and the port it got (0 asks the OS for a free one)."""
    executor = futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"{host.model.id}-model")
    state_class(host.model.state_message)  # its descriptor is then in the pool reflection serves

    def add(server):
        subsystem_pb2_grpc.add_SubsystemServiceServicer_to_server(SubsystemServicer(host, executor), server)
        return (SERVICE,)

    return base.start(add, token, MUTATING, bind=bind, port=port, options=CHANNEL_OPTIONS)
