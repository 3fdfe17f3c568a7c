"""Client side of SubsystemService, shaped as the conductor's instance handle.

Calls go through grpc.aio on one background event loop: a window's calls to all instances of a
level are in flight together without a thread per call (grpc's sync futures start one each).
A call that finds the server gone raises :class:`twin.conductor.SubsystemLost`, which the Ray
runtime answers by reconnecting to the restarted actor.
"""
from __future__ import annotations

import asyncio
import json
import threading
from typing import Mapping

import grpc
import numpy as np

from services.auth import bearer
from services.codec import decode_arrays, decode_snapshot, encode_arrays, encode_snapshot, encode_window
from services.gen.ilrs.twin.v1 import subsystem_pb2, subsystem_pb2_grpc
from services.subsystem_server import CHANNEL_OPTIONS, DURABLE_STEP
from twin.commands import Command, CommandRefused
from twin.conductor import SubsystemLost
from twin.model import Snapshot, TelemetryBehind, Window

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()
# The server's process is gone (killed, crashed, restarting).
_LOST = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


def _event_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="grpc-client-loop", daemon=True).start()
        return _loop


class _Pending:
    """A call in flight; ``result()`` waits and decodes."""

    def __init__(self, future, decode, name: str):
        self._future = future
        self._decode = decode
        self._name = name

    def result(self):
        try:
            response = self._future.result()
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _LOST:
                raise SubsystemLost(self._name, exc.details() or exc.code().name) from None
            raise
        return self._decode(response)


class SubsystemClient:
    def __init__(self, endpoint: str, token: str, timeout_s: float = 120.0):
        self.endpoint = endpoint
        self._metadata = bearer(token)
        self._timeout = timeout_s
        self._loop = _event_loop()

        async def connect():
            channel = grpc.aio.insecure_channel(endpoint, options=CHANNEL_OPTIONS)
            return channel, subsystem_pb2_grpc.SubsystemServiceStub(channel)

        self._channel, self._stub = self._run(connect()).result()
        self.name = endpoint
        info = self._call(self._stub.Describe, subsystem_pb2.DescribeRequest(), wait_for_ready=True).result()
        self.name = info.name
        self.kind = info.kind

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _call(self, method, request, metadata=None, decode=lambda response: response, **kwargs) -> _Pending:
        async def call():
            return await method(request, timeout=self._timeout, metadata=metadata, **kwargs)

        return _Pending(self._run(call()), decode, self.name)

    def exchange(self, commit_steps: int, window: Window | None, inputs: Mapping[str, np.ndarray] | None = None, snapshot: bool = False):
        request = subsystem_pb2.ExchangeRequest(commit_steps=commit_steps, snapshot=snapshot)
        if window is not None:
            request.window.CopyFrom(encode_window(window))
            request.inputs.extend(encode_arrays(inputs))

        def decode(response):
            return decode_arrays(response.outputs), decode_snapshot(response.snapshot) if response.HasField("snapshot") else None

        return self._call(self._stub.Exchange, request, self._metadata, decode)

    def snapshot(self) -> Snapshot:
        response = self._call(self._stub.Snapshot, subsystem_pb2.SnapshotRequest(), self._metadata).result()
        return decode_snapshot(response.snapshot)

    def restore(self, snapshot: Snapshot) -> int:
        try:
            return self._call(self._stub.Restore, subsystem_pb2.RestoreRequest(snapshot=encode_snapshot(snapshot)), self._metadata).result().step
        except grpc.aio.AioRpcError as exc:
            durable = dict(exc.trailing_metadata() or ()).get(DURABLE_STEP)
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and durable is not None:
                raise TelemetryBehind(self.name, snapshot.step, int(durable)) from None
            raise

    def command(self, command: Command) -> dict[str, float]:
        request = subsystem_pb2.SubsystemServiceCommandRequest(command=command.name, args_json=json.dumps(command.arguments), step=command.step)
        try:
            return dict(self._call(self._stub.Command, request, self._metadata).result().variables)
        except grpc.aio.AioRpcError as exc:  # the same exceptions as a local instance's
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise ValueError(exc.details()) from None
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                raise CommandRefused(exc.details()) from None
            raise

    def finish(self, discard: bool = False) -> list[str]:
        request = subsystem_pb2.FinishRequest(discard=discard)
        return list(self._call(self._stub.Finish, request, self._metadata).result().files)

    def state(self):
        return self._call(self._stub.GetState, subsystem_pb2.GetStateRequest()).result().state

    def variables(self) -> dict[str, float]:
        return dict(self.state().variables)

    def close(self) -> None:
        self._run(self._channel.close()).result()
