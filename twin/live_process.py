"""The live twin in a process of its own, so that its clients cannot slow it down.

A :class:`twin.live.LiveTwin` and the gRPC gateway in one process share one interpreter lock,
and every call the gateway answers takes it from the simulation: measured on 2 cores, 200 calls a
second to a bare grpcio server in the twin's process slowed the simulation by 60 %, the same
server in another process by nothing (README, live benchmark). :class:`LiveProcess` runs the
LiveTwin in a spawned child process (no fork of a process with gRPC's threads) and offers the
gateway the LiveTwin's interface:

* the child sends every frame it publishes, with its clock state, over a pipe; reads (GetState,
  Watch, the clock) are answered in the gateway's process from the last one and never reach the
  child;
* time control, actions (commands, faults, snapshots, restores) and forks are requests to the
  child, answered over the same pipe; an action's future can be withdrawn as in-process (only
  an action not yet begun is);
* the child writes the telemetry, checkpoints, summary and ``events.jsonl`` exactly as the
  in-process twin does: the session's files are the same.

Every message from the child carries its current frame (when new) and clock state taken as it
is sent, so the gateway never sees a state older than the answer it just got. The child exits
when the run has ended and its forks are over, when asked to stop, or when the gateway's process
is gone (the pipe's end): an interrupted session keeps what ``--resume`` continues from.
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import pickle
import signal
import sys
import threading
import types
from concurrent.futures import Future
from pathlib import Path
from typing import Callable

from twin.live import MAX_FORKS, ClockState, Frame, LiveTwin, Subsystem, check_speed

log = logging.getLogger(__name__)

CONTROL_TIMEOUT_S = 30.0
POLL_S = 0.25  # how often the child, with nothing to do, looks whether it may exit
ENDED = "the simulation has reached its end"


class LiveProcess:
    """A :class:`LiveTwin` of ``scenario`` in a child process; the same arguments and interface."""

    def __init__(self, scenario, runtime: str = "local", out: Path | None = None, speed: float | None = 3600.0, paused: bool = False,
                 address: str | None = None, actor_cpus: float | None = None, on_ready: Callable[[list[dict]], None] | None = None, events=None):
        check_speed(speed)
        self.scenario = scenario
        self.clock = scenario.clock
        self.runtime_name, self.address = runtime, address
        self._options = dict(runtime=runtime, out=out, speed=speed, paused=paused, address=address, actor_cpus=actor_cpus)
        self._on_ready = on_ready
        self._events = events
        self.frame = Frame(0, self.clock.unix_at(0), {})
        self._clock = ClockState(self.clock, 0, paused, speed, -1, False)
        self.subsystems: tuple[Subsystem, ...] = ()
        self.summary: dict | None = None
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self.done = threading.Event()
        self.snapshots = _Snapshots(self)
        self._lock = threading.Lock()  # the listeners, the requests waiting and the pipe's sending end
        self._listeners: list[Callable[[Frame], None]] = []
        self._waiting: dict[int, Future] = {}
        self._samples: dict[int, Callable] = {}  # a fork's on_sample, by request
        self._forks = 0
        self._taken: list[str] = []
        self._ids = itertools.count(1)
        self._conn = None
        self._process = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "LiveProcess":
        ctx = mp.get_context("spawn")
        ours, theirs = ctx.Pipe()
        events = None if self._events is None else str(self._events.path)
        self._process = ctx.Process(target=_child, args=(theirs, self.scenario, self._options, events, self._on_ready is not None),
                                    name="live-twin", daemon=True)
        # The child needs only this module: without the parent's __main__ it neither runs a script
        # again nor re-imports a CLI module midway through its own imports (python -m twin.cli).
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            self._process.start()
        finally:
            sys.modules["__main__"] = main
        theirs.close()
        self._conn = ours
        threading.Thread(target=self._read, name="live-twin-pipe", daemon=True).start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop the simulation (it keeps what ``--resume`` continues from) and wait for it."""
        if self._conn is None:
            return
        self._send("stop", 0)
        if self.done.wait(timeout):
            self._process.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    @property
    def events(self):
        return self._events

    @events.setter
    def events(self, events) -> None:
        self._events = events
        if self._conn is not None:
            self._send("events", 0, None if events is None else str(events.path))

    # -- reads: from the last message -----------------------------------------------------------
    def subscribe(self, listener: Callable[[Frame], None]) -> Callable[[], None]:
        """``listener(frame)`` after every advance, on the pipe's reader thread (it must not block)."""
        with self._lock:
            self._listeners.append(listener)

        def cancel():
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return cancel

    def clock_state(self) -> ClockState:
        with self._lock:
            return self._clock

    # -- requests to the child ------------------------------------------------------------------
    def _send(self, kind: str, id: int, *payload) -> None:
        with self._lock:
            try:
                self._conn.send((kind, id, payload))
            except (OSError, ValueError):  # the child is gone: the reader reports how
                pass

    def _over(self) -> bool:
        return self._clock.finished or self.done.is_set()

    def _request(self, kind: str, *payload, future: Future | None = None) -> Future:
        if self._over():
            raise RuntimeError(ENDED)
        future = future or Future()
        id = next(self._ids)
        with self._lock:
            self._waiting[id] = future
        if isinstance(future, _Withdrawable):
            future.bind(self, id)
        self._send(kind, id, *payload)
        return future

    def _ask(self, kind: str, *payload):
        """A request answered at once by the child (not at a boundary), waited for here."""
        try:
            return self._request(kind, *payload).result(timeout=CONTROL_TIMEOUT_S)
        except TimeoutError:
            raise RuntimeError(f"the simulation did not answer within {CONTROL_TIMEOUT_S:g} s") from None

    def _control(self, name: str, *args) -> ClockState:
        return self._ask("control", name, args)

    def pause(self) -> ClockState:
        return self._control("pause")

    def resume(self) -> ClockState:
        return self._control("resume")

    def set_speed(self, speed: float | None) -> ClockState:
        check_speed(speed)
        return self._control("set_speed", speed)

    def step_to(self, step: int) -> ClockState:
        return self._control("step_to", step)

    def submit(self, action, caller: str = "") -> Future:
        """Queue an :class:`twin.actions.Action` for the child's next boundary (callables of the
        conductor stay in-process: :class:`LiveTwin`)."""
        return self._request("submit", action, caller, future=_Withdrawable())

    def fork(self, actions, ahead_steps: int, names=None, every_steps: int = 0, stop: threading.Event | None = None, on_sample=None) -> Future:
        """:meth:`LiveTwin.fork` in the child; ``names`` must pickle (a partial, not a lambda)."""
        with self._lock:
            if self._forks >= MAX_FORKS:
                raise OverflowError(f"fork: {MAX_FORKS} forks are running; wait for one to end")
            self._forks += 1
        result: Future = Future()
        result.set_running_or_notify_cancel()  # as in-process: `stop` abandons it
        result.add_done_callback(self._fork_ended)
        try:
            id = next(self._ids)
            with self._lock:
                self._waiting[id] = result
                if on_sample is not None:
                    self._samples[id] = on_sample
            if self._over():
                raise RuntimeError(ENDED)
            self._send("fork", id, actions, ahead_steps, names, every_steps, on_sample is not None)
        except BaseException:
            with self._lock:
                self._waiting.pop(id, None)
            result.set_exception(RuntimeError(ENDED))
            raise
        if stop is not None:  # its stop goes to the child (set once the fork is over, it ends this thread)
            result.add_done_callback(lambda _: stop.set())
            threading.Thread(target=lambda: stop.wait() and not result.done() and self._send("fork_stop", id), name="live-twin-fork-stop", daemon=True).start()
        return result

    def _fork_ended(self, _future) -> None:
        with self._lock:
            self._forks -= 1

    def _taken_ids(self) -> list[str]:
        if self.done.is_set():
            return self._taken
        return self._ask("taken")

    # -- the child's messages -------------------------------------------------------------------
    def _read(self) -> None:
        while True:
            try:
                kind, payload, frame, clock = self._conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                if frame is not None:
                    self.frame = frame
                self._clock = clock
            try:
                self._handle(kind, payload)
            except Exception:  # a listener's or callback's failure never stops the reading
                log.exception("live twin: handling the simulation's %r message failed", kind)
        self._ended()

    def _handle(self, kind: str, payload: tuple) -> None:
        if kind == "publish":
            with self._lock:
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener(payload[0])
                except Exception:
                    log.exception("live twin: a state listener failed at step %d", payload[0].step)
        elif kind == "reply":
            id, ok, value = payload
            with self._lock:
                future = self._waiting.pop(id, None)
                self._samples.pop(id, None)
            if future is not None and not future.done():
                future.set_result(value) if ok else future.set_exception(value)
        elif kind == "sample":
            id, step, values = payload
            on_sample = self._samples.get(id)
            if on_sample is not None:
                on_sample(step, values)
        elif kind == "ready":
            self.subsystems = payload[0]
            self.ready.set()
        elif kind == "on_ready":
            if self._on_ready is not None:
                self._on_ready(payload[0])
        elif kind == "done":
            self.summary, self.error, self._taken = payload
            self.ready.set()
            self.done.set()

    def _ended(self) -> None:
        """The pipe is closed: the child has exited (or died)."""
        code = None
        if self._process is not None:
            self._process.join(10)
            code = self._process.exitcode
        if not self.done.is_set():
            self.error = RuntimeError(f"the simulation's process ended unexpectedly (exit code {code}); its output keeps what --resume continues from")
            with self._lock:
                frame, clock = self.frame, self._clock
                self.frame = Frame(frame.step, frame.time_unix_s, frame.variables, finished=True)
                self._clock = ClockState(clock.clock, clock.step, clock.paused, clock.speed, clock.hold_at_step, True)
            self._handle("publish", (self.frame,))
        with self._lock:
            left, self._waiting, self._samples = list(self._waiting.values()), {}, {}
        for future in left:
            if not future.done():
                future.set_exception(RuntimeError(ENDED))
        self.ready.set()
        self.done.set()


class _Withdrawable(Future):
    """An action's future: ``cancel`` asks the child, and withdraws only an action not yet begun there."""

    def bind(self, owner: LiveProcess, id: int) -> None:
        self._owner, self._id = owner, id

    def cancel(self) -> bool:
        if self.done():
            return self.cancelled()
        try:
            withdrawn = self._owner._ask("cancel", self._id)
        except Exception:  # the child is gone or busy past reason: it may have begun
            withdrawn = False
        if not withdrawn:
            return False
        with self._owner._lock:
            self._owner._waiting.pop(self._id, None)
        return super().cancel()


class _Snapshots:
    """The gateway asks only which snapshots exist; the snapshots live in the child."""

    def __init__(self, owner: LiveProcess):
        self._owner = owner

    @property
    def taken(self) -> list[str]:
        return self._owner._taken_ids()


def _portable(exc: BaseException | None) -> BaseException | None:
    """``exc`` as it can cross the pipe (its type kept where it pickles)."""
    if exc is None:
        return None
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _child(conn, scenario, options: dict, events: str | None, on_ready: bool) -> None:
    """The child process: the LiveTwin, and the requests from the gateway's process."""
    from twin.events import EventLog

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which says stop
    lock = threading.Lock()
    sent = [None]
    gone = threading.Event()

    def send(kind: str, *payload) -> None:
        with lock:
            if gone.is_set():
                return
            frame = live.frame
            try:
                conn.send((kind, payload, None if frame is sent[0] else frame, live.clock_state()))
                sent[0] = frame
            except (OSError, ValueError):  # the gateway's process is gone: stop, keeping what resumes
                gone.set()
                live.stop(timeout=0)

    live = LiveTwin(scenario, on_ready=(lambda endpoints: send("on_ready", endpoints)) if on_ready else None,
                    events=None if events is None else EventLog(Path(events)), **options)
    live.subscribe(lambda frame: send("publish", frame))
    forks: dict[int, tuple[threading.Event, Future]] = {}
    actions: dict[int, Future] = {}

    def reply(id: int, future: Future) -> None:
        actions.pop(id, None)
        if future.cancelled():  # withdrawn: the answer to the withdrawal says so
            return
        if future.exception() is not None:
            send("reply", id, False, _portable(future.exception()))
        else:
            send("reply", id, True, future.result())

    def forked(id: int, future: Future) -> None:
        forks.pop(id, None)
        reply(id, future)

    def sample(id: int):
        return lambda step, values: send("sample", id, step, values)

    threading.Thread(target=lambda: (live.ready.wait(), send("ready", live.subsystems)), daemon=True).start()
    live.start()
    told = False
    while not gone.is_set():
        if not conn.poll(POLL_S):
            if live.done.is_set() and not told:
                send("done", live.summary, _portable(live.error), list(live.snapshots.taken))
                told = True
            if told and not forks:
                break
            continue
        try:
            kind, id, payload = conn.recv()
        except (EOFError, OSError):
            gone.set()
            live.stop(timeout=0)
            break
        try:
            if kind == "control":
                name, args = payload
                send("reply", id, True, getattr(live, name)(*args))
            elif kind == "submit":
                future = live.submit(*payload)
                actions[id] = future
                future.add_done_callback(lambda f, id=id: reply(id, f))
            elif kind == "cancel":
                future = actions.get(payload[0])
                send("reply", id, True, future is not None and future.cancel())
            elif kind == "fork":
                fork_actions, ahead_steps, names, every_steps, streams = payload
                stop = threading.Event()
                future = live.fork(fork_actions, ahead_steps, names, every_steps, stop, sample(id) if streams else None)
                forks[id] = (stop, future)
                future.add_done_callback(lambda f, id=id: forked(id, f))
            elif kind == "fork_stop":
                if id in forks:
                    forks[id][0].set()
            elif kind == "taken":
                send("reply", id, True, list(live.snapshots.taken))
            elif kind == "events":
                live.events = None if payload[0] is None else EventLog(Path(payload[0]))
            elif kind == "stop":
                live.stop(timeout=0)
                for stop, _ in list(forks.values()):
                    stop.set()
        except Exception as exc:  # a refusal goes back to the caller
            send("reply", id, False, _portable(exc))
    live.stop(timeout=60)
    live.wait(60)
    for stop, future in list(forks.values()):
        stop.set()
        future.exception(timeout=60) if not future.done() else None
    conn.close()
