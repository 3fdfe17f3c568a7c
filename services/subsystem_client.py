"""Client side of SubsystemService, shaped as the conductor's subsystem handle."""
from __future__ import annotations

from typing import Mapping

import grpc
import numpy as np

from services.auth import bearer
from services.codec import decode_arrays, encode_arrays, encode_switches, encode_window
from services.gen.ilrs.twin.v1 import subsystem_pb2, subsystem_pb2_grpc
from services.subsystem_server import CHANNEL_OPTIONS
from twin.models.base import LoadClass, Window


class _Decoded:
    """A pending call whose result is decoded when asked for."""

    def __init__(self, future: grpc.Future, decode):
        self._future = future
        self._decode = decode

    def result(self):
        return self._decode(self._future.result())


class SubsystemClient:
    def __init__(self, endpoint: str, token: str, timeout_s: float = 120.0):
        self.endpoint = endpoint
        self._channel = grpc.insecure_channel(endpoint, options=CHANNEL_OPTIONS)
        self._stub = subsystem_pb2_grpc.SubsystemServiceStub(self._channel)
        self._metadata = bearer(token)
        self._timeout = timeout_s
        info = self._stub.Describe(subsystem_pb2.DescribeRequest(), timeout=timeout_s, wait_for_ready=True)
        self.name = info.name
        self.kind = info.kind
        self.stage = info.stage
        self.environment = tuple(info.environment)
        self.consumes = tuple(info.consumes)
        self.load_class = LoadClass(info.load_class) if info.load_class else None

    def propose(self, window: Window, env: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], assumed: np.ndarray):
        request = subsystem_pb2.ProposeRequest(
            window=encode_window(window),
            environment=encode_arrays(env),
            inputs=encode_arrays(inputs),
            assumed=encode_switches(assumed),
        )
        future = self._stub.Propose.future(request, timeout=self._timeout, metadata=self._metadata)
        return _Decoded(future, lambda response: decode_arrays(response.outputs))

    def commit(self, steps: int):
        future = self._stub.Commit.future(subsystem_pb2.CommitRequest(steps=steps), timeout=self._timeout, metadata=self._metadata)
        return _Decoded(future, lambda response: decode_arrays(response.telemetry))

    def state(self):
        return self._stub.GetState(subsystem_pb2.GetStateRequest(), timeout=self._timeout).state

    def variables(self) -> dict[str, float]:
        return dict(self.state().variables)

    def close(self) -> None:
        self._channel.close()
