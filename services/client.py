"""Clients of a live twin's gateway (TwinService): :class:`TwinClient` (blocking) and
:class:`AsyncTwinClient` (asyncio), both returning plain Python values.

    from services.client import TwinClient
    with TwinClient("127.0.0.1:50051") as twin:
        twin.get("energy.storage_soc_frac")          # {"energy.storage_soc_frac": 0.93}
        for update in twin.watch(["comms.stored_bytes"], every_s=600):
            ...
        twin.pause()                                  # needs the token: ILRS_TWIN_TOKEN or token=

A refused call raises :class:`TwinError` with the status code and the server's one-line reason.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import AsyncIterator, Iterator, Sequence

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from services.auth import bearer
from services.gen.ilrs.twin.v1 import twin_pb2, twin_pb2_grpc

TOKEN_ENV = "ILRS_TWIN_TOKEN"
DEFAULT_ADDRESS = "127.0.0.1:50051"


class TwinError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(f"{code.name}: {message}")
        self.code, self.message = code, message


@dataclass(frozen=True)
class Clock:
    step: int
    time: datetime
    end_step: int
    end: datetime
    paused: bool
    speed: float | None  # None: as fast as it can
    hold_at_step: int
    finished: bool
    step_s: int


@dataclass(frozen=True)
class Update:
    step: int
    time: datetime
    values: dict[str, float]
    finished: bool


def _time(ts: Timestamp) -> datetime:
    return datetime.fromtimestamp(ts.seconds, tz=timezone.utc)


def _clock(response) -> Clock:
    m = response.clock
    return Clock(m.step, _time(m.time), m.end_step, _time(m.end), m.paused, None if m.speed == 0 else m.speed, m.hold_at_step, m.finished, m.step_s)


def _names(names: str | Sequence[str] | None) -> list[str]:
    if names is None:
        return []
    return [names] if isinstance(names, str) else list(names)


def _duration(seconds: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(int(round(seconds * 1e9)))
    return d


def _step_request(at: datetime | None, ahead_s: float | None) -> twin_pb2.StepToRequest:
    if (at is None) == (ahead_s is None):
        raise ValueError("give at (a time) or ahead_s (seconds from now)")
    if at is not None:
        return twin_pb2.StepToRequest(time=Timestamp(seconds=int(at.timestamp())))
    return twin_pb2.StepToRequest(ahead=_duration(ahead_s))


def _speed_request(speed: float | None) -> twin_pb2.SetSpeedRequest:
    return twin_pb2.SetSpeedRequest(max=True) if speed is None else twin_pb2.SetSpeedRequest(speed=speed)


def _subsystems(response) -> list[dict]:
    return [{"id": s.id, "kind": s.kind, "summary": s.summary, "endpoint": s.endpoint,
             "variables": [{"name": v.name, "unit": v.unit, "description": v.description, "kind": v.kind} for v in s.variables]}
            for s in response.subsystems]


def _state(response, names) -> dict:
    if names and all("." in n for n in names):
        return dict(response.values)
    out = {f"{s.subsystem}.{k}": v for s in response.states for k, v in sorted(s.variables.items())}
    out.update(response.values)
    return out


def _credentials(token: str | None, tls_ca: bytes | None):
    return (bearer(token) if token else ()), (None if tls_ca is None else grpc.ssl_channel_credentials(tls_ca))


class TwinClient:
    """``address`` host:port; ``token`` defaults to $ILRS_TWIN_TOKEN; ``tls_ca``: PEM of the
    server's certificate authority to connect over TLS."""

    def __init__(self, address: str = DEFAULT_ADDRESS, token: str | None = None, timeout_s: float = 10.0, tls_ca: bytes | None = None):
        self.address, self.timeout_s = address, timeout_s
        self._metadata, creds = _credentials(token if token is not None else os.environ.get(TOKEN_ENV), tls_ca)
        self._channel = grpc.secure_channel(address, creds) if creds else grpc.insecure_channel(address)
        self._stub = twin_pb2_grpc.TwinServiceStub(self._channel)

    def __enter__(self) -> "TwinClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: str, request):
        try:
            return getattr(self._stub, method)(request, timeout=self.timeout_s, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise TwinError(exc.code(), exc.details() or "") from None

    def subsystems(self) -> list[dict]:
        return _subsystems(self._call("ListSubsystems", twin_pb2.ListSubsystemsRequest()))

    def state(self, names: str | Sequence[str] | None = None) -> tuple[int, datetime, dict[str, float]]:
        """(step, time, {"<id>.<variable>": value}) for instance ids and variable names (all: None)."""
        names = _names(names)
        response = self._call("GetState", twin_pb2.TwinServiceGetStateRequest(names=names))
        return response.step, _time(response.time), _state(response, names)

    def get(self, names: str | Sequence[str] | None = None) -> dict[str, float]:
        return self.state(names)[2]

    def watch(self, names: str | Sequence[str] | None = None, every_s: float = 0.0, timeout_s: float | None = None) -> Iterator[Update]:
        """Updates until the simulation ends (the last has ``finished``) or ``timeout_s``."""
        request = twin_pb2.WatchRequest(names=_names(names), every=_duration(every_s))
        try:
            for u in self._stub.Watch(request, timeout=timeout_s, metadata=self._metadata):
                yield Update(u.step, _time(u.time), dict(u.values), u.finished)
        except grpc.RpcError as exc:
            raise TwinError(exc.code(), exc.details() or "") from None

    def clock(self) -> Clock:
        return _clock(self._call("GetClock", twin_pb2.GetClockRequest()))

    def pause(self) -> Clock:
        return _clock(self._call("Pause", twin_pb2.PauseRequest()))

    def resume(self) -> Clock:
        return _clock(self._call("Resume", twin_pb2.ResumeRequest()))

    def step_to(self, at: datetime | None = None, ahead_s: float | None = None) -> Clock:
        return _clock(self._call("StepTo", _step_request(at, ahead_s)))

    def set_speed(self, speed: float | None) -> Clock:
        """Simulated seconds per wall second; None: as fast as it can."""
        return _clock(self._call("SetSpeed", _speed_request(speed)))


class AsyncTwinClient:
    """The same calls as :class:`TwinClient`, as coroutines (``watch`` an async iterator)."""

    def __init__(self, address: str = DEFAULT_ADDRESS, token: str | None = None, timeout_s: float = 10.0, tls_ca: bytes | None = None):
        self.address, self.timeout_s = address, timeout_s
        self._metadata, creds = _credentials(token if token is not None else os.environ.get(TOKEN_ENV), tls_ca)
        self._channel = grpc.aio.secure_channel(address, creds) if creds else grpc.aio.insecure_channel(address)
        self._stub = twin_pb2_grpc.TwinServiceStub(self._channel)

    async def __aenter__(self) -> "AsyncTwinClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: str, request):
        try:
            return await getattr(self._stub, method)(request, timeout=self.timeout_s, metadata=self._metadata)
        except grpc.aio.AioRpcError as exc:
            raise TwinError(exc.code(), exc.details() or "") from None

    async def subsystems(self) -> list[dict]:
        return _subsystems(await self._call("ListSubsystems", twin_pb2.ListSubsystemsRequest()))

    async def state(self, names: str | Sequence[str] | None = None) -> tuple[int, datetime, dict[str, float]]:
        names = _names(names)
        response = await self._call("GetState", twin_pb2.TwinServiceGetStateRequest(names=names))
        return response.step, _time(response.time), _state(response, names)

    async def get(self, names: str | Sequence[str] | None = None) -> dict[str, float]:
        return (await self.state(names))[2]

    async def watch(self, names: str | Sequence[str] | None = None, every_s: float = 0.0, timeout_s: float | None = None) -> AsyncIterator[Update]:
        request = twin_pb2.WatchRequest(names=_names(names), every=_duration(every_s))
        try:
            async for u in self._stub.Watch(request, timeout=timeout_s, metadata=self._metadata):
                yield Update(u.step, _time(u.time), dict(u.values), u.finished)
        except grpc.aio.AioRpcError as exc:
            raise TwinError(exc.code(), exc.details() or "") from None

    async def clock(self) -> Clock:
        return _clock(await self._call("GetClock", twin_pb2.GetClockRequest()))

    async def pause(self) -> Clock:
        return _clock(await self._call("Pause", twin_pb2.PauseRequest()))

    async def resume(self) -> Clock:
        return _clock(await self._call("Resume", twin_pb2.ResumeRequest()))

    async def step_to(self, at: datetime | None = None, ahead_s: float | None = None) -> Clock:
        return _clock(await self._call("StepTo", _step_request(at, ahead_s)))

    async def set_speed(self, speed: float | None) -> Clock:
        return _clock(await self._call("SetSpeed", _speed_request(speed)))
