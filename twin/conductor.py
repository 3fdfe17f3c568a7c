"""The conductor: drives all instances through the run, one window of micro steps per exchange.

Order of one exchange round (tests assert it):

1. Levels of the station graph run in order (:class:`twin.station.Station`); within a level,
   instances in scenario order, concurrently. Each instance gets one ``Exchange`` call per window:
   it first commits the steps accepted from its previous proposal (their telemetry goes to its own
   files), then proposes the new window from there, given the outputs of earlier levels it takes
   and, for each feedback route into it, the answer *assumed* at every step of the window (the
   power switch of its load class, a hopper's refusals, ...).
2. The proposal is accepted up to the first step where any feedback answer differs from what its
   consumer assumed: the steps before it are exactly what exchanging at every micro step would
   give (models are causal and deterministic). The next window starts there and assumes the
   answers just given for the steps after it (waveform relaxation): when the consumers do not
   react, that assumption holds and the rest of the window is accepted in one more exchange,
   however many switchings it contains. Past the end of a known answer its last value is assumed
   to hold. A difference at the very first step accepts nothing; the window is proposed again
   with the answers given. An answer may depend on another answer of the same step (a hopper's
   refusals on its plant's power switch), so settling may take one round per feedback route; more
   rounds without progress mean an output depends on an answer of its own step, an error.
3. After the last window, one more exchange per instance commits the accepted steps.

Marks: no window crosses a multiple of ``checkpoint_steps`` or a step in ``report_steps`` (year
starts: their snapshots give per-year figures), so the station passes exactly through each of them
and is snapshot there. Windows split
anywhere give the same telemetry, so marks change the number of rounds, never a result.

Checkpoints: at every multiple of ``checkpoint_steps`` (and at the start), the round's calls also
snapshot each instance's committed state; with the conductor's own state
(its plan of assumed answers and counters) they form a station snapshot. ``restore`` continues
from one, bit for bit. When a runtime loses an instance (its process died), the conductor asks it
to ``recover`` and replays from the newest snapshot the instances' telemetry reaches.

Commands (:mod:`twin.commands`): ``command`` applies one now, between advances (every instance
committed to the same step), and logs it; a fault with a duration schedules its clearing, which
``advance`` applies at its step (no window crosses a scheduled command). A snapshot at a step is
taken before that step's commands; the log travels with it, and a recovery applies the commands
logged after the snapshot again at their steps, so a recovered run equals an uninterrupted one.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol

import numpy as np

from twin.commands import CLEAR_FAULT, FAULT, Command, CommandRefused, clear_command, clears_at
from twin.model import Snapshot, TelemetryBehind, Window
from twin.ports import Route


class SubsystemLost(RuntimeError):
    """An instance's process is gone (the runtime may be able to restart it)."""

    def __init__(self, id: str, detail: str):
        self.id, self.detail = id, detail
        super().__init__(f"subsystem {id} is unreachable: {detail}")

    def __reduce__(self):  # it crosses processes (the live twin's) whole
        return type(self), (self.id, self.detail)


class Handle(Protocol):
    name: str

    def exchange(self, commit_steps: int, window, inputs=None, snapshot: bool = False): ...
    def restore(self, snapshot: Snapshot) -> int: ...
    def snapshot(self) -> Snapshot: ...
    def command(self, command: Command) -> dict[str, float]: ...
    def variables(self) -> dict[str, float]: ...


@dataclass
class ExchangeStats:
    windows: int = 0  # accepted windows
    cut: int = 0  # windows accepted short because a feedback answer changed
    proposals: int = 0  # exchange rounds, including re-proposals
    log: list[tuple[str, int, int]] = field(default_factory=list)  # (instance, window start, commit steps) when tracing


@dataclass(frozen=True)
class StationSnapshot:
    step: int
    instances: dict[str, Snapshot]
    plan: dict[str, np.ndarray] | None  # "<target>/<in_key>" -> answers expected from `step` on (None: the defaults)
    stats: tuple[int, int, int]  # windows, cut, proposals
    scenario_sha256: str = ""
    commands: tuple[Command, ...] = ()  # applied before it (in order)
    pending: tuple[Command, ...] = ()  # scheduled at or after its step


def scenario_sha256(scenario) -> str:
    return hashlib.sha256(scenario.to_toml().encode()).hexdigest()


def _plan_key(route: Route) -> str:
    return f"{route.target}/{route.in_key}"


class Conductor:
    def __init__(
        self,
        clock,
        station,
        handles: dict[str, Handle],
        window_steps: int,
        checkpoint_steps: int | None = None,
        on_progress: Callable[[int], None] | None = None,
        on_checkpoint: Callable[[StationSnapshot], None] | None = None,
        recover: Callable[[list[str]], None] | None = None,
        trace: bool = False,
        scenario_sha256: str = "",
        report_steps: tuple[int, ...] = (),
    ):
        self.clock = clock
        self.handles = handles
        self.levels = station.levels
        self.routes = [r for r in station.routes]
        self.feedback = [r for r in self.routes if r.feedback]
        self.inputs_of = {id: [r for r in self.routes if r.target == id] for id in station.ids}
        self.window_steps = window_steps
        # The next window's length: halved towards where the last one was cut, doubled after a
        # clean one (a cut costs the rest of a proposal), back to the longest at every mark, so a
        # run resumed from a checkpoint exchanges exactly as the run it continues.
        self._span = window_steps
        self.checkpoint_steps = checkpoint_steps
        self.on_progress = on_progress
        self.on_checkpoint = on_checkpoint
        self.recover = recover
        self.trace = trace
        self.sha = scenario_sha256
        self.step = 0  # committed steps
        self.accepted = 0  # steps accepted from the last proposal, committed with the next exchange
        # Feedback answers expected from the next step on; the last column holds beyond.
        self.plan = {_plan_key(r): np.full(1, r.assume) for r in self.feedback}
        self.stats = ExchangeStats()
        self.checkpoints: list[StationSnapshot] = []
        self._next_checkpoint = 0
        self.report_steps = tuple(sorted(report_steps))
        self.commands: list[Command] = []  # applied, in order
        self.pending: list[Command] = []  # scheduled (fault clearings), by step
        self.replay: list[Command] = []  # after a recovery: the commands to apply again, verbatim

    # -- one round --------------------------------------------------------------------------
    def _assumption(self, key: str, steps: int) -> np.ndarray:
        plan = self.plan[key][:steps]
        if plan.shape[0] < steps:
            plan = np.concatenate([plan, np.repeat(plan[-1:], steps - plan.shape[0])])
        return plan

    def _exchange(self, window: Window | None, snapshot: bool = False) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, Snapshot]]:
        """One exchange round over all levels; commits ``self.accepted`` steps everywhere."""
        outputs: dict[tuple[str, str], np.ndarray] = {}
        taken: dict[str, Snapshot] = {}
        lost: list[SubsystemLost] = []
        for level in self.levels:
            pending = []
            for id in level:
                handle = self.handles[id]
                if self.trace:
                    self.stats.log.append((id, self.step + self.accepted, self.accepted))
                if window is None:
                    call = handle.exchange(self.accepted, None, snapshot=snapshot)
                else:
                    inputs = {}
                    for r in self.inputs_of[id]:
                        inputs[r.in_key] = self._assumption(_plan_key(r), window.steps) if r.feedback else outputs[(r.source, r.out_key)]
                    call = handle.exchange(self.accepted, window, inputs, snapshot=snapshot)
                pending.append((id, call))
            for id, call in pending:  # wait for every call of the level, even after a loss
                try:
                    result, snap = call.result()
                except SubsystemLost as exc:
                    lost.append(exc)
                    continue
                for key, value in result.items():
                    outputs[(id, key)] = value
                if snap is not None:
                    taken[id] = snap
            if lost:
                raise lost[0]
        if self.accepted:
            self.step += self.accepted
            self.accepted = 0
            if self.on_progress is not None:
                self.on_progress(self.step)
        return outputs, taken

    def _next_mark(self, start: int) -> int:
        """The first checkpoint or report step after ``start`` (windows stop there)."""
        marks = [s for s in self.report_steps if s > start][:1] + [c.step for q in (self.pending, self.replay) for c in q if c.step > start][:2]
        if self.checkpoint_steps is not None:
            marks.append((start // self.checkpoint_steps + 1) * self.checkpoint_steps)
        return min(marks, default=start + self.window_steps)

    def _checkpoint_due(self) -> bool:
        at = self.step + self.accepted
        if self.checkpoints and self.checkpoints[-1].step == at:
            return False  # taken already (before this step's commands)
        if not self.checkpoints or at in self.report_steps:
            return True
        return self.checkpoint_steps is not None and at >= self._next_checkpoint

    def _round(self, window: Window | None) -> dict[tuple[str, str], np.ndarray]:
        due = self._checkpoint_due()
        at = self.step + self.accepted
        plan, stats = dict(self.plan), (self.stats.windows, self.stats.cut, self.stats.proposals)
        outputs, taken = self._exchange(window, snapshot=due)
        if due:
            snap = StationSnapshot(at, taken, plan, stats, self.sha, tuple(self.commands), tuple(self.pending))
            self.checkpoints.append(snap)
            self.trim()
            if self.checkpoint_steps is not None:
                self._next_checkpoint = (at // self.checkpoint_steps + 1) * self.checkpoint_steps
            if self.on_checkpoint is not None:
                self.on_checkpoint(snap)
        return outputs

    # -- the run ----------------------------------------------------------------------------
    def advance(self, until_step: int) -> None:
        """Run windows until ``until_step`` micro steps are committed (recovering lost instances)."""
        while True:
            try:
                self._advance(until_step)
                return
            except SubsystemLost as exc:
                if self.recover is None:
                    raise
                self.recover([exc.id])
                self.restore_latest()

    def finish(self) -> list[str]:
        """Publish every instance's telemetry; an instance lost before it could is recovered and
        the windows since the last checkpoint are replayed first."""
        while True:
            try:
                return [path for handle in self.handles.values() for path in handle.finish()]
            except SubsystemLost as exc:
                if self.recover is None:
                    raise
                end = self.step
                self.recover([exc.id])
                self.restore_latest()
                self.advance(end)

    def _advance(self, until_step: int) -> None:
        retry_at, retries = -1, 0
        while self.step + self.accepted < until_step:
            start = self.step + self.accepted
            if any(queue and queue[0].step == start for queue in (self.replay, self.pending)):
                if self.accepted:
                    self._round(None)  # commit (and snapshot, when due) before the commands
                # As live: the commands given at a boundary, then the clearings due there.
                while self.replay and self.replay[0].step == start:
                    self._apply(self.replay.pop(0))
                while self.pending and self.pending[0].step == start:
                    self._apply(self.pending.pop(0), scheduled=True)
            mark = self._next_mark(start)
            n = min(self._span, until_step - start, mark - start)
            window = Window(start, n, self.clock)
            assumed = {_plan_key(r): self._assumption(_plan_key(r), n) for r in self.feedback}
            outputs = self._round(window)
            self.stats.proposals += 1
            given = {_plan_key(r): np.asarray(outputs[(r.source, r.out_key)], dtype=np.float64) for r in self.feedback}
            k = n
            for key, answer in given.items():
                differs = np.flatnonzero(answer != assumed[key])
                if differs.size:
                    k = min(k, int(differs[0]))
            if k == 0:
                retries = retries + 1 if retry_at == start else 1
                if retries > len(self.feedback):
                    raise RuntimeError(
                        f"feedback at step {start} does not settle: an output depends on a feedback answer "
                        "of its own step (see Model.advance); make it depend on earlier steps only"
                    )
                retry_at = start
                self.plan = given
                continue
            self.accepted = k
            self.stats.windows += 1
            if k < n:
                self.stats.cut += 1
            if start + k >= mark:
                self._span = self.window_steps
            elif k < n:
                self._span = max(2 * k, self.window_steps // 32, 1)
            else:
                self._span = min(2 * self._span, self.window_steps)
            self.plan = {key: answer[k:] if k < n else answer[-1:] for key, answer in given.items()}
        if self.accepted:
            self._round(None)

    # -- commands ---------------------------------------------------------------------------
    def command(self, command: Command) -> dict[str, float]:
        """Apply ``command`` to its target now, at the committed step (between advances); a
        refusal (ValueError, CommandRefused) changes nothing. Returns the target's variables."""
        if self.accepted:
            raise RuntimeError("commands go between advances, when every instance is committed")
        if command.target not in self.handles:
            raise LookupError(f"subsystem: no instance {command.target!r} (instances: {', '.join(self.handles)})")
        return self._apply(command.at(self.step))

    def _apply(self, command: Command, scheduled: bool = False) -> dict[str, float] | None:
        try:
            variables = self.handles[command.target].command(command)
        except CommandRefused:
            if scheduled:
                return None  # a clearing whose fault was cleared or replaced already
            raise
        self.commands.append(command)
        if command.name in (FAULT, CLEAR_FAULT):
            # A fault replaced or cleared takes its clearing with it (a newer fault of the same
            # step would otherwise be cleared by the older one's end).
            component = command.arguments.get("component")
            self.pending = [c for c in self.pending if not (c.target == command.target and c.arguments.get("component") == component)]
        end = clears_at(command, self.clock.step_s)
        if end is not None:
            self._schedule(clear_command(command.target, command.arguments["component"], since=command.step).at(end))
        return variables

    def _schedule(self, command: Command) -> None:
        if command not in self.pending:
            self.pending.append(command)
            self.pending.sort(key=lambda c: c.step)  # stable: same-step commands keep their order

    # -- snapshots --------------------------------------------------------------------------
    KEEP_PLANS = 3

    def trim(self) -> None:
        """Keep the plans (a window of answers each) of the newest checkpoints only: memory stays
        flat over a campaign. An older one restores with the default assumptions: the same
        telemetry, maybe a few more exchange rounds."""
        for i, snap in enumerate(self.checkpoints[:-self.KEEP_PLANS]):
            if snap.plan is not None:
                self.checkpoints[i] = replace(snap, plan=None)

    def snapshot(self, rewindable: bool = True) -> StationSnapshot:
        """The station now, between advances; not one of the run's checkpoints. ``rewindable``:
        telemetry parts are closed here, so this station can be restored to it (a copy elsewhere,
        as a fork, needs no such thing)."""
        if self.accepted:
            raise RuntimeError("a snapshot is taken between advances, when every instance is committed")
        plan, stats = dict(self.plan), (self.stats.windows, self.stats.cut, self.stats.proposals)
        if rewindable:
            _, taken = self._exchange(None, snapshot=True)
        else:
            taken = {id: handle.snapshot() for id, handle in self.handles.items()}
        return StationSnapshot(self.step, taken, plan, stats, self.sha, tuple(self.commands), tuple(self.pending))

    def restore(self, snap: StationSnapshot, replay_commands: bool = True) -> None:
        """Continue from ``snap``: every instance restored, the conductor's plan and counters too.

        ``replay_commands``: the commands applied since ``snap`` are applied again at their steps
        (a recovery); otherwise the station continues with ``snap``'s commands only (a rewind)."""
        replay = [*self.commands[len(snap.commands):], *self.replay] if replay_commands else []
        for id, handle in self.handles.items():
            handle.restore(snap.instances[id])
        self.commands = list(snap.commands)
        self.replay = replay  # in the order given; each schedules its clearing again
        self.pending = list(snap.pending)
        self.step, self.accepted = snap.step, 0
        self._span = self.window_steps  # snapshots lie at marks
        if snap.plan is None:
            self.plan = {_plan_key(r): np.full(1, r.assume) for r in self.feedback}
        else:
            self.plan = {key: np.asarray(value, dtype=np.float64).copy() for key, value in snap.plan.items()}
        self.stats.windows, self.stats.cut, self.stats.proposals = snap.stats
        self.checkpoints = [c for c in self.checkpoints if c.step <= snap.step] or [snap]
        self._next_checkpoint = snap.step if self.checkpoint_steps is None else (snap.step // self.checkpoint_steps + 1) * self.checkpoint_steps

    def restore_latest(self, candidates: list[StationSnapshot] | None = None) -> StationSnapshot:
        """Restore the newest snapshot that every instance's published telemetry reaches."""
        options = sorted(candidates if candidates is not None else self.checkpoints, key=lambda c: c.step, reverse=True)
        for snap in options:
            try:
                self.restore(snap)
                return snap
            except TelemetryBehind:
                continue
        raise RuntimeError("no checkpoint can be restored: the telemetry on disk does not reach any of them")

    def variables(self) -> dict[str, dict[str, float]]:
        return {id: h.variables() for id, h in self.handles.items()}
