"""Clients of a live twin's gateway (TwinService): :class:`TwinClient` (blocking) and
:class:`AsyncTwinClient` (asyncio), both returning plain Python values.

    from services.client import TwinClient
    with TwinClient("127.0.0.1:50051") as twin:
        twin.get("energy.storage_soc_frac")          # {"energy.storage_soc_frac": 0.93}
        for update in twin.watch(["comms.stored_bytes"], every_s=600):
            ...
        twin.pause()                                  # needs the token: ILRS_TWIN_TOKEN or token=
        twin.command("isru", "set-throttle", 0.5)
        twin.inject_fault("energy.array", "fail", duration_s=72 * 3600)
        what_if = twin.fork(14 * 86400, commands=["isru set-throttle 1.0"])

A refused call raises :class:`TwinError` with the status code and the server's one-line reason.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
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
             "variables": [{"name": v.name, "unit": v.unit, "description": v.description, "kind": v.kind} for v in s.variables],
             "commands": [{"name": c.name, "description": c.description, "arguments": list(c.arguments)} for c in s.commands],
             "fault_components": [{"name": f.name, "description": f.description, "modes": [MODES[m] for m in f.modes]} for f in s.fault_components]}
            for s in response.subsystems]


MODES = {twin_pb2.FAULT_MODE_FAIL: "fail", twin_pb2.FAULT_MODE_DEGRADE: "degrade"}
_SCALARS = {"TYPE_DOUBLE": float, "TYPE_FLOAT": float, "TYPE_INT64": int, "TYPE_INT32": int, "TYPE_UINT32": int, "TYPE_UINT64": int,
            "TYPE_STRING": str, "TYPE_BOOL": lambda v: v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes", "on")}


def command_request(subsystems: list[dict], subsystem: str, verb: str, args: Sequence) -> twin_pb2.CommandRequest:
    """The typed CommandRequest for ``<subsystem> <verb> args...`` (args in the order of the
    verb's message fields, as ListSubsystems lists them; strings are converted to the field's type)."""
    info = next((s for s in subsystems if s["id"] == subsystem), None)
    if info is None:
        raise ValueError(f"subsystem: no subsystem {subsystem!r} (subsystems: {', '.join(s['id'] for s in subsystems)})")
    request = twin_pb2.CommandRequest(subsystem=subsystem)
    if info["kind"] not in request.DESCRIPTOR.fields_by_name:
        raise ValueError(f"command: {subsystem} ({info['kind']}) takes no commands; its faults: {', '.join(f['name'] for f in info['fault_components']) or 'none'}")
    kind = getattr(request, info["kind"])
    verbs = [c["name"] for c in info["commands"]]
    if verb not in verbs:
        raise ValueError(f"command: {subsystem} ({info['kind']}) has no command {verb!r} (its commands: {', '.join(verbs)})")
    message = getattr(kind, verb.replace("-", "_"))
    fields = message.DESCRIPTOR.fields
    if len(args) != len(fields):
        raise ValueError(f"{verb}: takes {len(fields)} argument(s): {' '.join(f.name for f in fields)}; got {len(args)}")
    for field, value in zip(fields, args):
        convert = _SCALARS[_type_name(field)]
        try:
            setattr(message, field.name, convert(value))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{field.name}: {value!r} is not a {_type_name(field)[5:].lower()} ({exc})") from None
    message.SetInParent()
    return request


def _type_name(field) -> str:
    return {field.TYPE_DOUBLE: "TYPE_DOUBLE", field.TYPE_FLOAT: "TYPE_FLOAT", field.TYPE_INT64: "TYPE_INT64", field.TYPE_INT32: "TYPE_INT32",
            field.TYPE_UINT32: "TYPE_UINT32", field.TYPE_UINT64: "TYPE_UINT64", field.TYPE_STRING: "TYPE_STRING", field.TYPE_BOOL: "TYPE_BOOL"}.get(field.type, "TYPE_STRING")


def fault_request(target: str, mode: str = "fail", level: float | None = None, duration_s: float = 0.0) -> twin_pb2.InjectFaultRequest:
    enums = {name: value for value, name in MODES.items()}
    if mode not in enums:
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(enums)}")
    return twin_pb2.InjectFaultRequest(target=target, mode=enums[mode], level=level or 0.0, duration=_duration(duration_s))


@dataclass(frozen=True)
class Applied:
    """Where an action took effect, and the clock after it."""

    step: int
    clock: Clock
    values: dict[str, float]
    clears_at_step: int = -1


@dataclass(frozen=True)
class ForkOutcome:
    start_step: int
    start: datetime
    end_step: int
    end: datetime
    kpis: dict[str, float]
    end_values: dict[str, float]
    change: dict[str, float]
    samples: list[Update]
    wall_s: float


def _fork_outcome(r) -> ForkOutcome:
    return ForkOutcome(r.start_step, _time(r.start), r.end_step, _time(r.end), dict(r.kpis), dict(r.end_values), dict(r.change),
                       [_update(u) for u in r.samples], r.wall_s)


def _update(u) -> Update:
    return Update(u.step, _time(u.time), dict(u.values), u.finished)


def _fork_item(message, samples: list[Update]) -> Update | ForkOutcome:
    """A ForkStream message: a sample (kept in ``samples``), or the last one, the outcome with
    the samples that came before it."""
    if message.HasField("sample"):
        samples.append(_update(message.sample))
        return samples[-1]
    return replace(_fork_outcome(message.result), samples=samples)


def _fork_request(subsystems, ahead_s: float, commands: Sequence[str], faults: Sequence[tuple], names, every_s: float) -> twin_pb2.ForkRequest:
    """``commands``: "<subsystem> <verb> args..." strings; ``faults``: (target, mode, level, duration_s)."""
    actions = []
    for text in commands:
        words = text.split()
        if len(words) < 2:
            raise ValueError(f"command: {text!r} is not '<subsystem> <command> [arguments]'")
        actions.append(twin_pb2.ForkAction(command=command_request(subsystems, words[0], words[1], words[2:])))
    for fault in faults:
        actions.append(twin_pb2.ForkAction(fault=fault_request(*fault)))
    return twin_pb2.ForkRequest(ahead=_duration(ahead_s), actions=actions, names=_names(names), every=_duration(every_s))


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
                yield _update(u)
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

    def command(self, subsystem: str, verb: str, *args) -> Applied:
        """``command("isru", "set-throttle", 0.5)``: applied at the next window boundary."""
        r = self._call("Command", command_request(self.subsystems(), subsystem, verb, args))
        return Applied(r.applied_step, _clock(r), dict(r.values))

    def inject_fault(self, target: str, mode: str = "fail", level: float | None = None, duration_s: float = 0.0) -> Applied:
        """``target`` "<id>.<component>"; ``mode`` fail or degrade (to ``level``); 0 s: until cleared."""
        r = self._call("InjectFault", fault_request(target, mode, level, duration_s))
        return Applied(r.applied_step, _clock(r), {}, r.clears_at_step)

    def clear_fault(self, target: str) -> Applied:
        r = self._call("ClearFault", twin_pb2.ClearFaultRequest(target=target))
        return Applied(r.applied_step, _clock(r), {})

    def snapshot(self) -> tuple[str, int]:
        """(snapshot id, step) of the station now, for :meth:`restore`."""
        r = self._call("Snapshot", twin_pb2.TwinServiceSnapshotRequest())
        return r.snapshot_id, r.step

    def restore(self, snapshot_id: str) -> Clock:
        return _clock(self._call("Restore", twin_pb2.TwinServiceRestoreRequest(snapshot_id=snapshot_id)))

    def fork(self, ahead_s: float, commands: Sequence[str] = (), faults: Sequence[tuple] = (), names=None, every_s: float = 0.0,
             timeout_s: float = 600.0) -> ForkOutcome:
        """Run a copy ``ahead_s`` ahead after ``commands`` ("isru set-throttle 1.0") and ``faults``
        ((target, mode, level, duration_s)); the live twin is untouched."""
        request = _fork_request(self.subsystems() if commands else [], ahead_s, commands, faults, names, every_s)
        try:
            return _fork_outcome(self._stub.Fork(request, timeout=timeout_s, metadata=self._metadata))
        except grpc.RpcError as exc:
            raise TwinError(exc.code(), exc.details() or "") from None

    def fork_stream(self, ahead_s: float, commands: Sequence[str] = (), faults: Sequence[tuple] = (), names=None, every_s: float = 0.0,
                    timeout_s: float = 600.0) -> Iterator[Update | ForkOutcome]:
        """:meth:`fork`, streamed: each sample (an Update) as the copy reaches it, then the
        ForkOutcome (holding the same samples). Closing the iterator early abandons the copy."""
        request = twin_pb2.ForkStreamRequest(fork=_fork_request(self.subsystems() if commands else [], ahead_s, commands, faults, names, every_s))
        samples: list[Update] = []
        call = self._stub.ForkStream(request, timeout=timeout_s, metadata=self._metadata)
        try:
            for message in call:
                yield _fork_item(message, samples)
        except grpc.RpcError as exc:
            raise TwinError(exc.code(), exc.details() or "") from None
        finally:
            call.cancel()  # no-op once it has ended


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
                yield _update(u)
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

    async def command(self, subsystem: str, verb: str, *args) -> Applied:
        r = await self._call("Command", command_request(await self.subsystems(), subsystem, verb, args))
        return Applied(r.applied_step, _clock(r), dict(r.values))

    async def inject_fault(self, target: str, mode: str = "fail", level: float | None = None, duration_s: float = 0.0) -> Applied:
        r = await self._call("InjectFault", fault_request(target, mode, level, duration_s))
        return Applied(r.applied_step, _clock(r), {}, r.clears_at_step)

    async def clear_fault(self, target: str) -> Applied:
        r = await self._call("ClearFault", twin_pb2.ClearFaultRequest(target=target))
        return Applied(r.applied_step, _clock(r), {})

    async def snapshot(self) -> tuple[str, int]:
        r = await self._call("Snapshot", twin_pb2.TwinServiceSnapshotRequest())
        return r.snapshot_id, r.step

    async def restore(self, snapshot_id: str) -> Clock:
        return _clock(await self._call("Restore", twin_pb2.TwinServiceRestoreRequest(snapshot_id=snapshot_id)))

    async def fork(self, ahead_s: float, commands: Sequence[str] = (), faults: Sequence[tuple] = (), names=None, every_s: float = 0.0,
                   timeout_s: float = 600.0) -> ForkOutcome:
        request = _fork_request(await self.subsystems() if commands else [], ahead_s, commands, faults, names, every_s)
        try:
            return _fork_outcome(await self._stub.Fork(request, timeout=timeout_s, metadata=self._metadata))
        except grpc.aio.AioRpcError as exc:
            raise TwinError(exc.code(), exc.details() or "") from None

    async def fork_stream(self, ahead_s: float, commands: Sequence[str] = (), faults: Sequence[tuple] = (), names=None, every_s: float = 0.0,
                          timeout_s: float = 600.0) -> AsyncIterator[Update | ForkOutcome]:
        request = twin_pb2.ForkStreamRequest(fork=_fork_request(await self.subsystems() if commands else [], ahead_s, commands, faults, names, every_s))
        samples: list[Update] = []
        call = self._stub.ForkStream(request, timeout=timeout_s, metadata=self._metadata)
        try:
            async for message in call:
                yield _fork_item(message, samples)
        except grpc.aio.AioRpcError as exc:
            raise TwinError(exc.code(), exc.details() or "") from None
        finally:
            call.cancel()
