"""Client side of SubsystemService, shaped as the conductor's subsystem handle.

Calls go through grpc.aio on one background event loop: a window's calls to all subsystems of a
stage are in flight together without a thread per call (grpc's sync futures start one each).
"""
from __future__ import annotations

import asyncio
import threading
from typing import Mapping

import grpc
import numpy as np

from services.auth import bearer
from services.codec import decode_arrays, encode_arrays, encode_schedules, encode_window
from services.gen.ilrs.twin.v1 import subsystem_pb2, subsystem_pb2_grpc
from services.subsystem_server import CHANNEL_OPTIONS
from twin.models.base import LoadClass, Window

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _event_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="grpc-client-loop", daemon=True).start()
        return _loop


class _Pending:
    """A call in flight; ``result()`` waits and decodes."""

    def __init__(self, future, decode):
        self._future = future
        self._decode = decode

    def result(self):
        return self._decode(self._future.result())


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
        info = self._call(self._stub.Describe, subsystem_pb2.DescribeRequest(), wait_for_ready=True).result()
        self.name = info.name
        self.kind = info.kind
        self.stage = info.stage
        self.environment = tuple(info.environment)
        self.consumes = tuple(info.consumes)
        self.load_class = LoadClass(info.load_class) if info.load_class else None

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _call(self, method, request, metadata=None, **kwargs):
        async def call():
            return await method(request, timeout=self._timeout, metadata=metadata, **kwargs)

        return self._run(call())

    def exchange(self, commit_steps: int, window: Window | None, env: Mapping[str, np.ndarray] | None = None, inputs: Mapping[str, np.ndarray] | None = None, assumed: np.ndarray | None = None):
        request = subsystem_pb2.ExchangeRequest(commit_steps=commit_steps)
        if window is not None:
            request.window.CopyFrom(encode_window(window))
            request.environment.extend(encode_arrays(env))
            request.inputs.extend(encode_arrays(inputs))
            request.assumed.extend(encode_schedules(assumed))
        return _Pending(self._call(self._stub.Exchange, request, self._metadata), lambda response: decode_arrays(response.outputs))

    def finish(self, discard: bool = False) -> list[str]:
        request = subsystem_pb2.FinishRequest(discard=discard)
        return list(self._call(self._stub.Finish, request, self._metadata).result().files)

    def state(self):
        return self._call(self._stub.GetState, subsystem_pb2.GetStateRequest()).result().state

    def variables(self) -> dict[str, float]:
        return dict(self.state().variables)

    def close(self) -> None:
        self._run(self._channel.close()).result()
