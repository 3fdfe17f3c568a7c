"""The live twin: a run (``twin.run.run``, the same telemetry, checkpoints and summary) whose
conductor is paced, paused and stepped from outside, its state published at window boundaries.

The simulation runs in a thread of its own and is the only one that touches the instances. After
each advance it publishes a :class:`Frame` (every instance's variables at that step), which
readers (the gateway's GetState and Watch) take as it is: a reader never waits for the simulation
and the simulation never waits for a reader. Time control (pause, resume, step to, speed) takes
effect between advances. At a paced speed each advance covers :data:`TICK_S` of wall time, so
clients see the state move at least twice a wall second; at ``speed=None`` (``--speed max``) each
advance lasts about :data:`MAX_SPEED_FRAME_S`, in windows as long as a batch run's. Windows cut anywhere give the same
telemetry, so pacing and pausing never change a result.

Commands, faults, snapshots and restores (:mod:`twin.actions`) are queued by any thread and
performed by the simulation's thread at the next boundary (also while paused), which logs each to
``OUT/events.jsonl`` in the order performed; the caller waits for the result. A fork copies the
station at a boundary and runs ahead on a thread of its own (:mod:`twin.fork`), so the live twin
goes on meanwhile, untouched.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from twin.actions import Action, Snapshots, perform, to_event
from twin.clock import Clock
from twin.params import unit_of_name

log = logging.getLogger(__name__)

TICK_S = 0.5
MAX_FORKS = 2  # at once: each is a copy of the station
# At --speed max an advance starts at MAX_SPEED_WINDOWS scenario windows and grows (at most
# doubling) until it lasts about MAX_SPEED_FRAME_S: clients still see the state move ten times a
# wall second, and the simulation does not stop to publish fifty times a second.
MAX_SPEED_WINDOWS = 4
MAX_SPEED_FRAME_S = 0.1


def check_speed(speed: float | None) -> None:
    if speed is not None and not speed > 0:
        raise ValueError(f"speed: {speed} is not a positive number of simulated seconds per wall second")


class Stopped(Exception):
    """The live twin was stopped before its end (the run keeps what ``--resume`` continues from)."""


@dataclass(frozen=True)
class Frame:
    step: int
    time_unix_s: int
    variables: dict[str, dict[str, float]]
    finished: bool = False
    changed: bool = False  # published after an action (a command, a restore): every watcher gets it


@dataclass(frozen=True)
class Variable:
    name: str  # "<instance>.<variable>"
    unit: str
    description: str
    kind: str


@dataclass(frozen=True)
class Subsystem:
    id: str
    kind: str
    summary: str
    endpoint: str
    variables: tuple[Variable, ...]
    commands: tuple[tuple[str, str], ...] = ()  # (verb, what it does)
    command_message: str | None = None  # "module:Message" of its kind's commands
    fault_components: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (component, what a fault does, modes)


@dataclass(frozen=True)
class ClockState:
    clock: Clock
    step: int
    paused: bool
    speed: float | None  # None: as fast as it can
    hold_at_step: int  # -1: none
    finished: bool


@dataclass
class _Control:
    paused: bool
    speed: float | None
    hold_at: int = -1
    stop: bool = False
    epoch: int = 0  # bumped by every change: the pacing starts again from there
    listeners: list[Callable[[Frame], None]] = field(default_factory=list)
    # Queued for the next boundary: (action or a callable of the conductor, caller, future).
    actions: list[tuple[object, str, Future]] = field(default_factory=list)


class LiveTwin:
    """``run()`` of ``scenario`` in a thread, controlled between its advances.

    ``speed``: simulated seconds per wall second, or None for as fast as it can."""

    def __init__(self, scenario, runtime: str = "local", out: Path | None = None, speed: float | None = 3600.0, paused: bool = False,
                 address: str | None = None, actor_cpus: float | None = None, on_ready: Callable[[list[dict]], None] | None = None, events=None):
        check_speed(speed)
        self.scenario = scenario
        self.clock = scenario.clock
        self._run_options = dict(runtime=runtime, out=out, address=address, actor_cpus=actor_cpus, on_ready=on_ready)
        self.runtime_name, self.address = runtime, address
        self.events = events  # twin.events.EventLog: where performed actions are logged
        self.snapshots = Snapshots(row_steps=scenario.telemetry_every)
        self._forks = 0
        self._cond = threading.Condition()
        self._control = _Control(paused=paused, speed=speed)
        self.frame = Frame(0, self.clock.unix_at(0), {})
        self.subsystems: tuple[Subsystem, ...] = ()
        self.summary: dict | None = None
        self.error: BaseException | None = None
        self.ready = threading.Event()  # set once the first frame is published (or the run failed)
        self.done = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "LiveTwin":
        from twin.run import run

        def main():
            try:
                self.summary = run(self.scenario, drive=self._drive, **self._run_options)
            except BaseException as exc:  # reported through .error; the thread must not die loudly
                self.error = exc
            finally:
                with self._cond:
                    frame = self.frame
                    self.frame = Frame(frame.step, frame.time_unix_s, frame.variables, finished=True)
                    left, self._control.actions = self._control.actions, []
                for _, _, future in left:
                    future.set_exception(RuntimeError("the simulation has reached its end"))
                self._publish(self.frame)
                self.ready.set()
                self.done.set()

        self._thread = threading.Thread(target=main, name="live-twin", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        with self._cond:
            self._control.stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    # -- observers ------------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Frame], None]) -> Callable[[], None]:
        """``listener(frame)`` after every advance, on the simulation's thread (it must not block);
        returns the function that unsubscribes it."""
        with self._cond:
            self._control.listeners.append(listener)

        def cancel():
            with self._cond:
                if listener in self._control.listeners:
                    self._control.listeners.remove(listener)

        return cancel

    def clock_state(self) -> ClockState:
        with self._cond:
            c = self._control
            return ClockState(self.clock, self.frame.step, c.paused, c.speed, c.hold_at, self.frame.finished)

    # -- control (between advances) ---------------------------------------------------------------
    def _change(self, **changes) -> ClockState:
        with self._cond:
            if self.frame.finished:
                raise RuntimeError("the simulation has reached its end")
            for key, value in changes.items():
                setattr(self._control, key, value)
            self._control.epoch += 1
            self._cond.notify_all()
        return self.clock_state()

    def pause(self) -> ClockState:
        return self._change(paused=True, hold_at=-1)

    def resume(self) -> ClockState:
        return self._change(paused=False, hold_at=-1)

    def set_speed(self, speed: float | None) -> ClockState:
        check_speed(speed)
        return self._change(speed=speed)

    def step_to(self, step: int) -> ClockState:
        """Run until ``step`` (at the current speed), then hold there paused."""
        now = self.frame.step
        if not now < step <= self.clock.n_steps:
            raise ValueError(f"time: step {step} is not after the current step {now} and within the run (end step {self.clock.n_steps})")
        return self._change(paused=False, hold_at=step)

    # -- actions (at the next boundary) ----------------------------------------------------------
    def submit(self, action, caller: str = "") -> Future:
        """Queue ``action`` (a :class:`twin.actions.Action`, or a callable given the conductor and
        the runtime) for the next boundary; the future gives its result or its refusal."""
        future: Future = Future()
        with self._cond:
            if self.frame.finished:
                raise RuntimeError("the simulation has reached its end")
            self._control.actions.append((action, caller, future))
            self._cond.notify_all()
        return future

    def fork(self, actions: list[Action], ahead_steps: int, names=None, every_steps: int = 0, stop: threading.Event | None = None,
             on_sample=None) -> Future:
        """A what-if from the next boundary (:func:`twin.fork.run_fork`) on a thread of its own;
        the future gives the :class:`twin.fork.ForkResult` (or the refusal of an action).
        ``stop``: set it to abandon the fork; ``on_sample(step, values)``: each sample as taken."""
        from twin.fork import run_fork

        with self._cond:
            if self._forks >= MAX_FORKS:
                raise OverflowError(f"fork: {MAX_FORKS} forks are running; wait for one to end")
            self._forks += 1
        result: Future = Future()
        result.set_running_or_notify_cancel()  # not withdrawable: `stop` abandons it

        def start(conductor, runtime):
            snap = conductor.snapshot(rewindable=False)

            def main():
                try:
                    result.set_result(run_fork(self.scenario, runtime.station, self.runtime_name, runtime.environment, snap, actions,
                                               ahead_steps, names, every_steps, self.address, stop, on_sample))
                except BaseException as exc:
                    result.set_exception(exc)
                finally:
                    with self._cond:
                        self._forks -= 1

            threading.Thread(target=main, name="live-twin-fork", daemon=True).start()
            return snap.step

        def started(f: Future) -> None:
            if f.exception() is not None:  # it never started (the run ended first)
                with self._cond:
                    self._forks -= 1
                result.set_exception(f.exception())

        try:
            self.submit(start).add_done_callback(started)
        except BaseException:
            with self._cond:
                self._forks -= 1
            raise
        return result

    def _log(self, action: Action, result: dict, step: int, caller: str) -> None:
        if self.events is None:
            return
        try:
            self.events.append(action.kind, to_event(action), result, step=step, time_unix_s=self.clock.unix_at(step), caller=caller)
        except OSError:  # done is done: the caller hears of it, the log says what is missing
            log.exception("live twin: %s at step %d was performed but could not be logged to %s; a replay of this session will differ",
                          action.kind, step, self.events.path)

    def _perform_queued(self, conductor, runtime) -> bool:
        with self._cond:
            queued, self._control.actions = self._control.actions, []
        for action, caller, future in queued:
            if not future.set_running_or_notify_cancel():
                continue
            step = conductor.step
            try:
                if isinstance(action, Action):
                    result = perform(conductor, action, self.snapshots)
                    self._log(action, result, step, caller)
                else:
                    result = action(conductor, runtime)
            except BaseException as exc:  # a refusal goes back to the caller; the twin goes on
                future.set_exception(exc)
                continue
            frame = replace(self._frame(conductor), changed=True)  # what the caller reads next shows the action's effect
            with self._cond:
                self.frame = frame
                self._control.epoch += 1  # pace from here (a restore moves the clock back)
            future.set_result(result)
            self._publish(frame)
        return bool(queued)

    # -- the simulation's side ------------------------------------------------------------------
    def _publish(self, frame: Frame) -> None:
        with self._cond:
            listeners = list(self._control.listeners)
        for listener in listeners:
            try:
                listener(frame)
            except Exception:  # an observer's failure never stops the simulation
                log.exception("live twin: a state listener failed at step %d", frame.step)

    def _frame(self, conductor) -> Frame:
        step = conductor.step
        return Frame(step, self.clock.unix_at(step), conductor.variables())

    def _describe(self, conductor, runtime) -> tuple[Subsystem, ...]:
        endpoints = getattr(runtime, "endpoints", None) or {}
        variables = conductor.variables()
        out = []
        for id, model in runtime.station.models.items():  # both runtimes build the station's models here
            columns = model.columns()
            infos = []
            for name in variables.get(id, {}):
                column = columns.get(name)
                infos.append(Variable(f"{id}.{name}", column.unit if column else unit_of_name(name), column.description if column else "",
                                      column.kind if column else "state"))
            cls = type(model)
            out.append(Subsystem(id, model.kind, cls.summary, str(endpoints.get(id, {}).get("address", "")), tuple(infos),
                                 tuple(cls.commands.items()), cls.command_message,
                                 tuple((name, about, modes) for name, (about, modes) in cls.fault_components.items())))
        return tuple(out)

    def _drive(self, conductor, runtime) -> None:
        n = self.clock.n_steps
        self.subsystems = self._describe(conductor, runtime)
        with self._cond:
            self.frame = self._frame(conductor)
        self._publish(self.frame)
        self.ready.set()
        epoch, wall0, step0 = -1, 0.0, 0
        max_chunk = conductor.window_steps * MAX_SPEED_WINDOWS
        while conductor.step < n:
            with self._cond:
                c = self._control
                while not c.stop and c.paused and not c.actions:
                    self._cond.wait()
                if c.stop:
                    raise Stopped(f"stopped at step {conductor.step}")
            if self._perform_queued(conductor, runtime):
                continue  # (a restore may have moved the clock; paused stays paused)
            with self._cond:
                if c.epoch != epoch:  # pace from here
                    epoch, wall0, step0 = c.epoch, time.monotonic(), conductor.step
                speed, hold = c.speed, c.hold_at
            if speed is None:
                chunk = max_chunk
            else:  # no longer than an advance at max speed: commands and pauses wait a tick at most
                chunk = min(max(1, int(speed * TICK_S // self.clock.step_s)), max_chunk)
            until = min(n, conductor.step + chunk)
            if hold >= 0:
                until = min(until, hold)
            began, at = time.monotonic(), conductor.step
            conductor.advance(until)
            if until - at == chunk:
                took = max(time.monotonic() - began, 1e-3)
                max_chunk = max(conductor.window_steps, min(2 * chunk, int(chunk * MAX_SPEED_FRAME_S / took)))
            frame = self._frame(conductor)
            with self._cond:
                self.frame = frame
                if hold >= 0 and conductor.step >= hold and self._control.hold_at == hold:
                    self._control.paused, self._control.hold_at = True, -1
                    self._control.epoch += 1
            self._publish(frame)
            if speed is not None:
                deadline = wall0 + (conductor.step - step0) * self.clock.step_s / speed
                with self._cond:
                    while not self._control.stop and self._control.epoch == epoch and not self._control.actions:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)

