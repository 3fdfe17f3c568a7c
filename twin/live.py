"""The live twin: a run (``twin.run.run``, the same telemetry, checkpoints and summary) whose
conductor is paced, paused and stepped from outside, its state published at window boundaries.

The simulation runs in a thread of its own and is the only one that touches the instances. After
each advance it publishes a :class:`Frame` (every instance's variables at that step), which
readers (the gateway's GetState and Watch) take as it is: a reader never waits for the simulation
and the simulation never waits for a reader. Time control (pause, resume, step to, speed) takes
effect between advances. At a paced speed each advance covers :data:`TICK_S` of wall time, so
clients see the state move at least twice a wall second; at ``speed=None`` (``--speed max``) it
advances a long window at a time, as a batch run does. Windows cut anywhere give the same
telemetry, so pacing and pausing never change a result.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from twin.clock import Clock
from twin.params import unit_of_name

log = logging.getLogger(__name__)

TICK_S = 0.5
# At --speed max, the steps of one advance, in scenario windows (state is published after each).
MAX_SPEED_WINDOWS = 4


class Stopped(Exception):
    """The live twin was stopped before its end (the run keeps what ``--resume`` continues from)."""


@dataclass(frozen=True)
class Frame:
    step: int
    time_unix_s: int
    variables: dict[str, dict[str, float]]
    finished: bool = False


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


class LiveTwin:
    """``run()`` of ``scenario`` in a thread, controlled between its advances.

    ``speed``: simulated seconds per wall second, or None for as fast as it can."""

    def __init__(self, scenario, runtime: str = "local", out: Path | None = None, speed: float | None = 3600.0, paused: bool = False,
                 address: str | None = None, actor_cpus: float = 0.25, on_ready: Callable[[list[dict]], None] | None = None):
        if speed is not None and not speed > 0:
            raise ValueError(f"speed: {speed} is not a positive number of simulated seconds per wall second")
        self.scenario = scenario
        self.clock = scenario.clock
        self._run_options = dict(runtime=runtime, out=out, address=address, actor_cpus=actor_cpus, on_ready=on_ready)
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
        if speed is not None and not speed > 0:
            raise ValueError(f"speed: {speed} is not a positive number of simulated seconds per wall second")
        return self._change(speed=speed)

    def step_to(self, step: int) -> ClockState:
        """Run until ``step`` (at the current speed), then hold there paused."""
        now = self.frame.step
        if not now < step <= self.clock.n_steps:
            raise ValueError(f"time: step {step} is not after the current step {now} and within the run (end step {self.clock.n_steps})")
        return self._change(paused=False, hold_at=step)

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
            out.append(Subsystem(id, model.kind, type(model).summary, str(endpoints.get(id, {}).get("address", "")), tuple(infos)))
        return tuple(out)

    def _drive(self, conductor, runtime) -> None:
        n = self.clock.n_steps
        self.subsystems = self._describe(conductor, runtime)
        with self._cond:
            self.frame = self._frame(conductor)
        self._publish(self.frame)
        self.ready.set()
        epoch, wall0, step0 = -1, 0.0, 0
        while conductor.step < n:
            with self._cond:
                c = self._control
                while not c.stop and c.paused:
                    self._cond.wait()
                if c.stop:
                    raise Stopped(f"stopped at step {conductor.step}")
                if c.epoch != epoch:  # pace from here
                    epoch, wall0, step0 = c.epoch, time.monotonic(), conductor.step
                speed, hold = c.speed, c.hold_at
            if speed is None:
                chunk = conductor.window_steps * MAX_SPEED_WINDOWS
            else:
                chunk = max(1, int(speed * TICK_S // self.clock.step_s))
            until = min(n, conductor.step + chunk)
            if hold >= 0:
                until = min(until, hold)
            conductor.advance(until)
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
                    while not self._control.stop and self._control.epoch == epoch:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)

