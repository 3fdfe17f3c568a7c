"""The live twin's gateway: TwinService over a :class:`twin.live.LiveTwin` (a thread of this
process) or a :class:`twin.live_process.LiveProcess` (its own process, as ``ilrs-twin serve``
runs it: the same interface), with health and reflection (services/server.py).

Reads answer from the twin's last published frame and never wait for the simulation. A Watch
is a coroutine with a bounded queue that the simulation's thread fills without waiting (through
the event loop); a client that lets :data:`WATCH_QUEUE` updates pile up, or does not take one
within :data:`WRITE_TIMEOUT_S`, is dropped with RESOURCE_EXHAUSTED. Every accepted mutating
call is appended to ``OUT/events.jsonl`` (:mod:`twin.events`).
"""
from __future__ import annotations

import asyncio
import logging
import math
import threading
from concurrent.futures import Future
from functools import partial
from dataclasses import dataclass
from typing import NamedTuple

from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import code_pb2

from services import server as base
from services.gen.ilrs.twin.v1 import state_pb2, twin_pb2, twin_pb2_grpc
from services.subsystem_server import state_class
from twin.actions import COMMAND, RESTORE, SNAPSHOT, Action
from twin.commands import Command, CommandRefused, clear_command, fault_command
from twin.conductor import SubsystemLost
from twin.events import EventLog
from twin.live import ClockState, Frame, LiveTwin, Subsystem

log = logging.getLogger(__name__)
FAULT_MODES = {twin_pb2.FAULT_MODE_FAIL: "fail", twin_pb2.FAULT_MODE_DEGRADE: "degrade"}
MODE_ENUMS = {name: value for value, name in FAULT_MODES.items()}

SERVICE = twin_pb2.DESCRIPTOR.services_by_name["TwinService"].full_name
# Fork changes nothing live, but it spends the machine's CPUs on a copy: it needs the token too.
MUTATING = frozenset(f"/{SERVICE}/{rpc}" for rpc in ("Pause", "Resume", "StepTo", "SetSpeed", "Command", "InjectFault", "ClearFault", "Snapshot", "Restore", "Fork", "ForkStream"))
WATCH_QUEUE = 256
WRITE_TIMEOUT_S = 10.0
# A command waits at most this long for the simulation to reach a boundary (a long window at --speed max).
ACTION_TIMEOUT_S = 60.0
MAX_FORK_ACTIONS = 100
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
                                   variables=[twin_pb2.VariableInfo(name=v.name, unit=v.unit, description=v.description, kind=v.kind) for v in s.variables],
                                   commands=[twin_pb2.CommandInfo(name=name, description=about, arguments=command_arguments(s, name)) for name, about in s.commands],
                                   fault_components=[twin_pb2.FaultComponentInfo(name=name, description=about, modes=[MODE_ENUMS[m] for m in modes])
                                                     for name, about, modes in s.fault_components])
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
            went_back = frame.step < w.next_step - max(w.every_steps, 1)  # a Restore
            if w.dropped or (frame.step < w.next_step and not (frame.finished or frame.changed or went_back)):
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

    # -- commands, faults, snapshots (performed by the simulation at its next boundary) ----------
    def _subsystem(self, id: str, field: str) -> Subsystem:
        for s in self.live.subsystems:
            if s.id == id:
                return s
        if len(id) > 256 or not id.isprintable():
            raise ValueError(f"{field}: {id[:40]!r}... is not an instance id")
        raise LookupError(id, f"{field}: no subsystem {id!r} (subsystems: {', '.join(s.id for s in self.live.subsystems)})")

    def _command(self, request, field: str = "") -> Command:
        """A CommandRequest as the model's command; ValueError/LookupError name the field."""
        at = f"{field}." if field else ""
        subsystem = self._subsystem(request.subsystem, f"{at}subsystem")
        which = request.WhichOneof("command")
        kinds = [f.name for f in request.DESCRIPTOR.oneofs_by_name["command"].fields]
        if which is None:
            raise ValueError(f"{at}command: set the field of the instance's kind ({subsystem.id} is {subsystem.kind}; kinds with commands: {', '.join(kinds)})")
        if which != subsystem.kind:
            raise ValueError(f"{at}{which}: {subsystem.id} is {subsystem.kind}, not {which}; its commands go in the {subsystem.kind!r} field")
        inner = getattr(request, which)
        verb = inner.WhichOneof("command")
        if verb is None:
            names = ", ".join(f.name for f in inner.DESCRIPTOR.oneofs_by_name["command"].fields)
            raise ValueError(f"{at}{which}.command: name a command ({names})")
        message = getattr(inner, verb)
        args = {f.name: (list(getattr(message, f.name)) if f.is_repeated else getattr(message, f.name)) for f in message.DESCRIPTOR.fields}
        return Command.of(subsystem.id, verb.replace("_", "-"), args)

    def _fault(self, request, clear: bool, field: str = "") -> Command:
        at = f"{field}." if field else ""
        id, dot, component = request.target.partition(".")
        if not dot or not component:
            raise ValueError(f"{at}target: {request.target[:60]!r} is not <id>.<component> (e.g. energy.array)")
        subsystem = self._subsystem(id, f"{at}target")
        components = [name for name, _, _ in subsystem.fault_components]
        if component not in components:
            raise ValueError(f"{at}target: {id} ({subsystem.kind}) has no component {component!r} that can fault (components: {', '.join(components) or 'none'})")
        if clear:
            return clear_command(id, component)
        if request.mode not in FAULT_MODES:
            raise ValueError(f"{at}mode: give FAULT_MODE_FAIL or FAULT_MODE_DEGRADE")
        mode = FAULT_MODES[request.mode]
        duration = request.duration.seconds + request.duration.nanos / 1e9
        return fault_command(id, component, mode, request.level if mode == "degrade" else (request.level or None), duration)

    async def _refusal(self, context, exc: BaseException):
        if isinstance(exc, SubsystemLost):
            return await base.abort(context, base.plain(code_pb2.UNAVAILABLE, f"{exc}; the runtime is restarting it, try again"))
        if isinstance(exc, CommandRefused):
            return await base.abort(context, base.precondition_failed(str(exc), "state"))
        if isinstance(exc, LookupError) and not isinstance(exc, KeyError):  # a KeyError is a fault of ours
            name, message = exc.args if len(exc.args) == 2 else (str(exc), str(exc))
            return await base.abort(context, base.not_found(message, "subsystem" if "snapshot" not in message else "snapshot", name))
        if isinstance(exc, (ValueError, TypeError)):
            return await base.abort(context, base.invalid_argument(str(exc)))
        if isinstance(exc, OverflowError):
            return await base.abort(context, base.plain(code_pb2.RESOURCE_EXHAUSTED, str(exc)))
        if isinstance(exc, RuntimeError):
            return await base.abort(context, base.precondition_failed(str(exc), "clock"))
        if isinstance(exc, Exception):  # e.g. an actor's call timed out: it may or may not have been applied
            log.error("live twin: an action failed: %s: %s", type(exc).__name__, exc)
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            return await base.abort(context, base.plain(code_pb2.INTERNAL, f"the action failed ({type(exc).__name__}: {first}); GetState shows whether it took effect"))
        raise exc

    async def _perform(self, context, action) -> dict:
        """Queue ``action`` for the next boundary and wait for it (a cancelled call withdraws an
        action not yet begun); a refusal aborts the call with its status."""
        try:
            future = self.live.submit(action, caller=context.peer())
        except RuntimeError as exc:
            return await self._refusal(context, exc)
        try:
            async with asyncio.timeout(ACTION_TIMEOUT_S):
                return await asyncio.shield(asyncio.wrap_future(future))
        except TimeoutError:
            withdrawn = future.cancel()  # only an action not yet begun can be
            return await base.abort(context, base.plain(code_pb2.UNAVAILABLE, f"the twin did not reach a window boundary within {ACTION_TIMEOUT_S:g} s; nothing was changed"
                                                        if withdrawn else "the action is being performed but took too long to answer; GetState shows its effect"))
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:  # the action's refusal
            return await self._refusal(context, exc)

    async def _commanded(self, context, build) -> dict:
        """Build the command (a bad request aborts the call) and perform it at the next boundary."""
        await self._started(context)
        try:
            command = build()
        except (ValueError, LookupError) as exc:
            return await self._refusal(context, exc)
        return await self._perform(context, Action(COMMAND, command))

    async def Command(self, request, context):
        result = await self._commanded(context, lambda: self._command(request))
        return twin_pb2.CommandResponse(clock=clock_message(self.live.clock_state()), applied_step=result["applied_step"], values=result["variables"])

    async def InjectFault(self, request, context):
        result = await self._commanded(context, lambda: self._fault(request, clear=False))
        return twin_pb2.InjectFaultResponse(clock=clock_message(self.live.clock_state()), applied_step=result["applied_step"],
                                            clears_at_step=result.get("clears_at_step", -1))

    async def ClearFault(self, request, context):
        result = await self._commanded(context, lambda: self._fault(request, clear=True))
        return twin_pb2.ClearFaultResponse(clock=clock_message(self.live.clock_state()), applied_step=result["applied_step"])

    async def Snapshot(self, request, context):
        await self._started(context)
        result = await self._perform(context, Action(SNAPSHOT))
        return twin_pb2.TwinServiceSnapshotResponse(snapshot_id=result["snapshot_id"], step=result["step"], time=_ts(self.live.clock.unix_at(result["step"])))

    async def Restore(self, request, context):
        await self._started(context)
        if request.snapshot_id not in self.live.snapshots.taken:
            return await self._refusal(context, LookupError(request.snapshot_id[:80], f"snapshot_id: no snapshot {request.snapshot_id[:80]!r} in this session (Snapshot makes one)"))
        await self._perform(context, Action(RESTORE, snapshot_id=request.snapshot_id))
        return twin_pb2.TwinServiceRestoreResponse(clock=clock_message(self.live.clock_state()))

    def _fork(self, request, at: str = "", on_sample=None) -> "_Started":
        """Start the fork a ForkRequest asks for; ValueError/LookupError name the field (after ``at``)."""
        clock = self.live.clock
        ahead_s = request.ahead.seconds + request.ahead.nanos / 1e9
        every_s = request.every.seconds + request.every.nanos / 1e9
        if not ahead_s > 0:
            raise ValueError(f"{at}ahead: give how far to run the copy, > 0 (e.g. 14 days)")
        if every_s < 0:
            raise ValueError(f"{at}every: must not be negative")
        if len(request.actions) > MAX_FORK_ACTIONS:
            raise ValueError(f"{at}actions: {len(request.actions)} actions; at most {MAX_FORK_ACTIONS}")
        actions = []
        for i, a in enumerate(request.actions):
            which = a.WhichOneof("action")
            if which == "command":
                actions.append(Action(COMMAND, self._command(a.command, f"{at}actions[{i}].command")))
            elif which in ("fault", "clear_fault"):
                actions.append(Action(COMMAND, self._fault(getattr(a, which), which == "clear_fault", f"{at}actions[{i}].{which}")))
            else:
                raise ValueError(f"{at}actions[{i}]: set command, fault or clear_fault")
        selection = Selection(request.names, self.live.frame) if request.names else None
        ahead_steps = math.ceil(ahead_s / clock.step_s)
        every_steps = math.ceil(every_s / clock.step_s) if every_s else 0
        names = None if selection is None else partial(_chosen, selection)  # it may cross to the simulation's process
        stop = threading.Event()
        return _Started(self.live.fork(actions, ahead_steps, names, every_steps, stop, on_sample), stop, actions, ahead_steps)

    async def _forked(self, context, started: "_Started"):
        """The fork's result, logged; a cancelled call (cancel, deadline) stops the copy too."""
        try:
            result = await asyncio.wrap_future(started.future)
        except asyncio.CancelledError:
            started.stop.set()
            raise
        except BaseException as exc:
            return await self._refusal(context, exc)
        if self.events is not None:
            self.events.append("fork", {"ahead_steps": started.ahead_steps, "actions": [str(a.command) for a in started.actions]},
                               {"end_step": result.end_step, "kpis": result.kpis},
                               step=result.start_step, time_unix_s=self.live.clock.unix_at(result.start_step), caller=context.peer())
        return result

    def _fork_response(self, result, samples: bool) -> twin_pb2.ForkResponse:
        clock = self.live.clock
        return twin_pb2.ForkResponse(
            start_step=result.start_step, start=_ts(clock.unix_at(result.start_step)), end_step=result.end_step, end=_ts(clock.unix_at(result.end_step)),
            kpis=result.kpis, end_values=result.end, change=result.change, wall_s=result.wall_s,
            samples=[self._sample(step, values) for step, values in result.samples] if samples else [])

    def _sample(self, step: int, values: dict) -> twin_pb2.WatchResponse:
        return twin_pb2.WatchResponse(step=step, time=_ts(self.live.clock.unix_at(step)), values=values)

    async def Fork(self, request, context):
        await self._started(context)
        try:
            started = self._fork(request)
        except (ValueError, LookupError, RuntimeError, OverflowError) as exc:
            return await self._refusal(context, exc)
        return self._fork_response(await self._forked(context, started), samples=True)

    async def ForkStream(self, request, context):
        await self._started(context)
        loop = asyncio.get_running_loop()
        samples: asyncio.Queue = asyncio.Queue()  # at most MAX_SAMPLES (twin.fork)
        try:
            started = self._fork(request.fork, "fork.", lambda step, values: _to_loop(loop, samples.put_nowait, (step, values)))
        except (ValueError, LookupError, RuntimeError, OverflowError) as exc:
            return await self._refusal(context, exc)
        # Its samples reach the loop before its end does (both are scheduled from its thread, in order).
        started.future.add_done_callback(lambda _: _to_loop(loop, samples.put_nowait, None))
        try:
            while (item := await samples.get()) is not None:
                try:
                    async with asyncio.timeout(WRITE_TIMEOUT_S):
                        await context.write(twin_pb2.ForkStreamResponse(sample=self._sample(*item)))
                except TimeoutError:
                    started.stop.set()
                    return await base.abort(context, base.plain(code_pb2.RESOURCE_EXHAUSTED, f"fork: a sample waited {WRITE_TIMEOUT_S:g} s for the client to read it; the copy was abandoned"))
        except asyncio.CancelledError:
            started.stop.set()
            raise
        result = await self._forked(context, started)
        await context.write(twin_pb2.ForkStreamResponse(result=self._fork_response(result, samples=False)))


class _Started(NamedTuple):
    """A fork under way, as the gateway started it."""

    future: Future
    stop: threading.Event
    actions: list[Action]
    ahead_steps: int


def _chosen(selection: Selection, variables: dict) -> dict[str, float]:
    """A fork's sampled values: ``selection`` of the copy's variables."""
    return selection.values(Frame(0, 0, variables))


def _to_loop(loop: asyncio.AbstractEventLoop, fn, *args) -> None:
    """``fn(*args)`` on the server's loop, from another thread; nothing once the server has stopped."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # its loop is closed: nobody is listening any more
        pass


def command_arguments(subsystem: Subsystem, verb: str) -> list[str]:
    """The fields of a verb's message: the CLI's positional arguments."""
    cls = state_class(subsystem.command_message)
    if cls is None:
        return []
    field = cls.DESCRIPTOR.fields_by_name.get(verb.replace("-", "_"))
    return [] if field is None else [f.name for f in field.message_type.fields]


def serve(live: LiveTwin, token: str, bind: str = "127.0.0.1", port: int = 0, events: EventLog | None = None, read_token: str | None = None,
          protect_reads: bool = False, tls: tuple[bytes, bytes] | None = None) -> tuple[base.Server, int, TwinServicer]:
    """Start the gateway for ``live``; returns the server, its port and the servicer."""
    servicer = TwinServicer(live, events)
    if live.events is None:
        live.events = events  # the simulation logs what it performs, in the order it does

    def add(server):
        twin_pb2_grpc.add_TwinServiceServicer_to_server(servicer, server)
        return (SERVICE,)

    server, bound = base.start(add, token, MUTATING, bind=bind, port=port, read_token=read_token, protect_reads=protect_reads, tls=tls)
    servicer.attach(server.loop)
    return server, bound, servicer
