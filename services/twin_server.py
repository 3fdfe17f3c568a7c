"""The live twin's gateway: TwinService over a :class:`twin.live.LiveTwin`, with health and
reflection (services/server.py).

Reads answer from the twin's last published frame and never wait for the simulation. A Watch
is a coroutine with a bounded queue that the simulation's thread fills without waiting (through
the event loop); a client that lets :data:`WATCH_QUEUE` updates pile up, or does not take one
within :data:`WRITE_TIMEOUT_S`, is dropped with RESOURCE_EXHAUSTED. Every accepted mutating
call is appended to ``OUT/events.jsonl`` (:mod:`twin.events`).
"""
from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import code_pb2

from services import server as base
from services.gen.ilrs.twin.v1 import state_pb2, twin_pb2, twin_pb2_grpc
from twin.events import EventLog
from twin.live import ClockState, Frame, LiveTwin

SERVICE = twin_pb2.DESCRIPTOR.services_by_name["TwinService"].full_name
MUTATING = frozenset(f"/{SERVICE}/{rpc}" for rpc in ("Pause", "Resume", "StepTo", "SetSpeed"))
WATCH_QUEUE = 256
WRITE_TIMEOUT_S = 10.0
MAX_NAMES = 1024
MAX_SPEED = 1e12  # simulated seconds per wall second; beyond it, ask for max


def _ts(unix_s: int) -> Timestamp:
    return Timestamp(seconds=int(unix_s))


def clock_message(c: ClockState) -> twin_pb2.ClockStatus:
    n = c.clock.n_steps
    return twin_pb2.ClockStatus(step=c.step, time=_ts(c.clock.unix_at(c.step)), end_step=n, end=_ts(c.clock.unix_at(n)), paused=c.paused,
                                speed=0.0 if c.speed is None else c.speed, hold_at_step=c.hold_at_step, finished=c.finished, step_s=c.clock.step_s)


class Selection:
    """Names as GetState and Watch take them: instance ids and ``<id>.<variable>``."""

    def __init__(self, names, frame: Frame):
        names = list(names)
        if len(names) > MAX_NAMES:
            raise ValueError(f"names: {len(names)} names; at most {MAX_NAMES}")
        self.instances: list[str] = []
        self.variables: list[tuple[str, str]] = []
        for i, name in enumerate(names):
            if not name or len(name) > 256 or not name.isprintable():
                raise ValueError(f"names[{i}]: {name[:40]!r} is not an instance id or <id>.<variable>")
            if name in frame.variables:
                self.instances.append(name)
                continue
            id, dot, variable = name.partition(".")
            if id not in frame.variables:
                raise LookupError(name, f"names[{i}]: no subsystem {id!r} (subsystems: {', '.join(frame.variables)})")
            if not dot or variable not in frame.variables[id]:
                raise LookupError(name, f"names[{i}]: {id} has no variable {variable!r} (ListSubsystems lists them)")
            self.variables.append((id, variable))
        if not names:
            self.instances = list(frame.variables)

    def values(self, frame: Frame) -> dict[str, float]:
        out = {f"{id}.{v}": value for id in self.instances for v, value in frame.variables[id].items()}
        out.update({f"{id}.{v}": frame.variables[id][v] for id, v in self.variables})
        return out


@dataclass(eq=False)  # watchers are kept in a set, by identity
class _Watcher:
    queue: asyncio.Queue
    every_steps: int
    next_step: int
    dropped: str = ""
    ended: bool = False

    def end(self, _context) -> None:
        self.ended = True
        if not self.queue.full():
            self.queue.put_nowait(None)


class TwinServicer(twin_pb2_grpc.TwinServiceServicer):
    def __init__(self, live: LiveTwin, events: EventLog | None):
        self.live = live
        self.events = events
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watchers: set[_Watcher] = set()
        self._cancel = None
        self._cache: tuple[Frame | None, dict] = (None, {})

    def _cached(self, frame: Frame, key, build):
        """One message per frame and request: many clients asking for the same state between two
        advances share it (the event loop's thread is the only one that calls this)."""
        if self._cache[0] is not frame:
            self._cache = (frame, {})
        messages = self._cache[1]
        if key not in messages:
            messages[key] = build()
        return messages[key]

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        def deliver(frame: Frame) -> None:
            if not loop.is_closed():  # after the gateway stopped, the twin goes on alone
                loop.call_soon_threadsafe(self._fanout, frame)

        self._cancel = self.live.subscribe(deliver)

    # -- reads ----------------------------------------------------------------------------------
    async def _started(self, context) -> None:
        if not self.live.ready.is_set():
            await base.abort(context, base.plain(code_pb2.UNAVAILABLE, "the twin is starting (building its environment); try again in a few seconds"))

    def _selection(self, names, frame):
        try:
            return Selection(names, frame), None
        except ValueError as exc:
            return None, base.invalid_argument(str(exc))
        except LookupError as exc:
            name, message = exc.args
            return None, base.not_found(message, "variable" if "." in name else "subsystem", name)

    async def ListSubsystems(self, request, context):
        await self._started(context)
        subsystems = [
            twin_pb2.SubsystemInfo(id=s.id, kind=s.kind, summary=s.summary, endpoint=s.endpoint,
                                   variables=[twin_pb2.VariableInfo(name=v.name, unit=v.unit, description=v.description, kind=v.kind) for v in s.variables])
            for s in self.live.subsystems
        ]
        return twin_pb2.ListSubsystemsResponse(subsystems=subsystems, clock=clock_message(self.live.clock_state()))

    async def GetState(self, request, context):
        await self._started(context)
        frame = self.live.frame
        selection, error = self._selection(request.names, frame)
        if error is not None:
            return await base.abort(context, error)
        def build():
            kinds = {s.id: s.kind for s in self.live.subsystems}
            ids = list(dict.fromkeys([*selection.instances, *(id for id, _ in selection.variables)]))
            time = _ts(frame.time_unix_s)
            states = [state_pb2.SubsystemState(subsystem=id, step=frame.step, time=time, variables=frame.variables[id], kind=kinds.get(id, "")) for id in ids]
            values = {f"{id}.{v}": frame.variables[id][v] for id, v in selection.variables}
            return twin_pb2.TwinServiceGetStateResponse(step=frame.step, time=time, states=states, values=values)

        return self._cached(frame, ("state", tuple(request.names)), build)

    async def GetClock(self, request, context):
        return twin_pb2.GetClockResponse(clock=clock_message(self.live.clock_state()))

    def _fanout(self, frame: Frame) -> None:
        for w in list(self._watchers):
            if w.dropped or (frame.step < w.next_step and not frame.finished):
                continue
            try:
                w.queue.put_nowait(frame)
            except asyncio.QueueFull:
                w.dropped = f"watch: {WATCH_QUEUE} updates waiting; the client reads too slowly (ask for fewer names or a longer --every)"
                continue
            w.next_step = frame.step + w.every_steps

    async def Watch(self, request, context):
        await self._started(context)
        frame = self.live.frame
        selection, error = self._selection(request.names, frame)
        if error is not None:
            return await base.abort(context, error)
        every_s = request.every.seconds + request.every.nanos / 1e9
        if every_s < 0:
            return await base.abort(context, base.invalid_argument("every: must not be negative"))
        step_s = self.live.clock.step_s
        watcher = _Watcher(asyncio.Queue(WATCH_QUEUE), max(1, math.ceil(every_s / step_s)) if every_s else 0, 0)
        # The current frame first, then one per `every` of simulated time.
        watcher.queue.put_nowait(frame)
        watcher.next_step = frame.step + watcher.every_steps
        self._watchers.add(watcher)
        # The call's end (a cancel, a deadline) also wakes the loop: a cancellation that arrives
        # as a write completes is not always delivered to the task (seen on a loaded machine).
        context.add_done_callback(watcher.end)
        try:
            while True:
                frame = await watcher.queue.get()
                if watcher.ended:
                    return
                if watcher.dropped:
                    return await base.abort(context, base.plain(code_pb2.RESOURCE_EXHAUSTED, watcher.dropped))
                update = self._cached(frame, ("watch", tuple(request.names)), lambda: twin_pb2.WatchResponse(
                    step=frame.step, time=_ts(frame.time_unix_s), values=selection.values(frame), finished=frame.finished))
                try:
                    async with asyncio.timeout(WRITE_TIMEOUT_S):  # not wait_for: it can swallow a cancellation
                        await context.write(update)
                except TimeoutError:
                    return await base.abort(context, base.plain(code_pb2.RESOURCE_EXHAUSTED, f"watch: an update waited {WRITE_TIMEOUT_S:g} s for the client to read it"))
                if frame.finished:
                    return
        finally:
            self._watchers.discard(watcher)

    # -- time control ---------------------------------------------------------------------------
    async def _mutate(self, context, action: str, request: dict, call, response):
        try:
            clock = call()
        except ValueError as exc:
            return await base.abort(context, base.invalid_argument(str(exc)))
        except RuntimeError as exc:
            return await base.abort(context, base.precondition_failed(str(exc), "clock"))
        if self.events is not None:
            self.events.append(action, request, {"step": clock.step, "paused": clock.paused, "speed": clock.speed, "hold_at_step": clock.hold_at_step},
                               step=clock.step, time_unix_s=clock.clock.unix_at(clock.step), caller=context.peer())
        return response(clock=clock_message(clock))

    async def Pause(self, request, context):
        return await self._mutate(context, "pause", {}, self.live.pause, twin_pb2.PauseResponse)

    async def Resume(self, request, context):
        return await self._mutate(context, "resume", {}, self.live.resume, twin_pb2.ResumeResponse)

    async def StepTo(self, request, context):
        now, clock = self.live.clock_state().step, self.live.clock
        which = request.WhichOneof("target")
        if which == "time":
            seconds = request.time.seconds - clock.start_unix_s
            field = "time"
        elif which == "ahead":
            seconds = now * clock.step_s + request.ahead.seconds + request.ahead.nanos / 1e9
            field = "ahead"
        else:
            return await base.abort(context, base.invalid_argument("target: give time or ahead"))
        # Not Clock.step_at: it clamps to the run, and a time past its end is an error here.
        target = math.ceil(seconds / clock.step_s)
        if not now < target <= clock.n_steps:
            return await base.abort(context, base.invalid_argument(
                f"{field}: step {target} is not after the current step {now} and within the run (end step {clock.n_steps})"))
        return await self._mutate(context, "step_to", {"step": target}, lambda: self.live.step_to(target), twin_pb2.StepToResponse)

    async def SetSpeed(self, request, context):
        which = request.WhichOneof("pace")
        if which == "max" and request.max:
            return await self._mutate(context, "set_speed", {"speed": "max"}, lambda: self.live.set_speed(None), twin_pb2.SetSpeedResponse)
        if which == "speed":
            speed = request.speed
            if not (math.isfinite(speed) and 0 < speed <= MAX_SPEED):
                return await base.abort(context, base.invalid_argument(f"speed: {speed} is not in (0, {MAX_SPEED:g}] simulated seconds per wall second (or ask for max)"))
            return await self._mutate(context, "set_speed", {"speed": speed}, lambda: self.live.set_speed(speed), twin_pb2.SetSpeedResponse)
        return await base.abort(context, base.invalid_argument("pace: give speed (> 0) or max = true"))


def serve(live: LiveTwin, token: str, bind: str = "127.0.0.1", port: int = 0, events: EventLog | None = None, read_token: str | None = None,
          protect_reads: bool = False, tls: tuple[bytes, bytes] | None = None) -> tuple[base.Server, int, TwinServicer]:
    """Start the gateway for ``live``; returns the server, its port and the servicer."""
    servicer = TwinServicer(live, events)

    def add(server):
        twin_pb2_grpc.add_TwinServiceServicer_to_server(servicer, server)
        return (SERVICE,)

    server, bound = base.start(add, token, MUTATING, bind=bind, port=port, read_token=read_token, protect_reads=protect_reads, tls=tls)
    servicer.attach(server.loop)
    return server, bound, servicer
