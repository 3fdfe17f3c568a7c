"""What a live session does to the station between advances, and its replay.

An action is a command (faults included), a snapshot or a restore. The live twin performs each
at a window boundary on its simulation thread and logs it to ``OUT/events.jsonl`` there, in the
order performed, with the step it took effect at; ``ilrs-twin run --replay`` reads the same
lines back and performs them at the same steps (:func:`replay_drive`), so the telemetry is the
same. Time control (pause, speed, ...) changes when things happen in wall time, never what
happens, and is not replayed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from twin.commands import CLEAR_FAULT, FAULT, Command, CommandRefused
from twin.conductor import Conductor, StationSnapshot

# events.jsonl action names of what changes the station (the rest are time control).
COMMAND, SNAPSHOT, RESTORE = "command", "snapshot", "restore"
REPLAYED = (COMMAND, SNAPSHOT, RESTORE)


MAX_SNAPSHOTS = 32


@dataclass
class Snapshots:
    """The live session's snapshots, by id (kept in memory for the session). ``row_steps``: the
    telemetry's row length in micro steps; a snapshot falls on a row's end, where the telemetry
    can be cut again."""

    taken: dict[str, StationSnapshot] = field(default_factory=dict)
    row_steps: int = 1

    def new_id(self, step: int) -> str:
        return f"s{len(self.taken) + 1}-step{step}"


@dataclass(frozen=True)
class Action:
    kind: str  # COMMAND, SNAPSHOT or RESTORE
    command: Command | None = None
    snapshot_id: str = ""


def perform(conductor: Conductor, action: Action, snapshots: Snapshots) -> dict:
    """Do ``action`` now (between advances); returns what the event log records as its result.
    ValueError, LookupError and CommandRefused leave the station as it was."""
    if action.kind == COMMAND:
        command = action.command.at(conductor.step)
        variables = conductor.command(command)
        result = {"applied_step": command.step}
        pending = [c.step for c in conductor.pending if c.target == command.target and c.name == CLEAR_FAULT
                   and command.name == FAULT and c.arguments.get("since") == command.step]
        if pending:
            result["clears_at_step"] = pending[0]
        result["variables"] = variables
        return result
    if action.kind == SNAPSHOT:
        id = action.snapshot_id or snapshots.new_id(conductor.step)
        if id in snapshots.taken:
            raise ValueError(f"snapshot_id: {id!r} is taken already")
        if len(snapshots.taken) >= MAX_SNAPSHOTS:
            raise OverflowError(f"snapshot: this session keeps {MAX_SNAPSHOTS} snapshots already (each holds the whole station); restore an early one to drop those after it")
        if conductor.step % snapshots.row_steps:
            raise CommandRefused(f"snapshot: step {conductor.step} is inside a telemetry row of {snapshots.row_steps} steps; "
                                 f"step to a row's end (a multiple of {snapshots.row_steps}) and snapshot there")
        snapshots.taken[id] = conductor.snapshot()
        return {"snapshot_id": id, "step": conductor.step}
    if action.kind == RESTORE:
        snap = snapshots.taken.get(action.snapshot_id)
        if snap is None:
            raise LookupError(f"snapshot_id: no snapshot {action.snapshot_id!r} in this session (snapshots: {', '.join(snapshots.taken) or 'none'})")
        conductor.restore(snap, replay_commands=False)
        # The snapshots after it belong to a future that is gone now.
        for id in [id for id, s in snapshots.taken.items() if s.step > snap.step]:
            del snapshots.taken[id]
        return {"snapshot_id": action.snapshot_id, "step": conductor.step}
    raise ValueError(f"action: {action.kind!r} is not one of {', '.join(REPLAYED)}")


def to_event(action: Action) -> dict:
    """The ``request`` of the action's events.jsonl line."""
    if action.kind == COMMAND:
        c = action.command
        return {"subsystem": c.target, "command": c.name, "args": c.arguments}
    return {"snapshot_id": action.snapshot_id}


def from_event(event: dict, line: int) -> tuple[int, Action] | None:
    """(step, action) of an events.jsonl line that changed the station; None for time control."""
    kind = event.get("action")
    if kind not in REPLAYED:
        return None
    try:
        step = int(event["step"])
        request, result = event.get("request") or {}, event.get("result") or {}
        if kind == COMMAND:
            return step, Action(COMMAND, Command.of(str(request["subsystem"]), str(request["command"]), dict(request.get("args") or {})))
        return step, Action(kind, snapshot_id=str(result.get("snapshot_id") or request["snapshot_id"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"--replay: line {line} is not a {kind} event ({exc!r})") from None


def read_events(path: Path) -> list[tuple[int, Action]]:
    """The actions of an events.jsonl, in order; one clear error for a file that is not one."""
    import json

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--replay: {path} is not a file (give the events.jsonl a serve wrote into its --out)")
    out = []
    for i, text in enumerate(path.read_text().splitlines(), 1):
        if not text.strip():
            continue
        try:
            event = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--replay: line {i} of {path} is not JSON ({exc.msg})") from None
        if not isinstance(event, dict):
            raise ValueError(f"--replay: line {i} of {path} is not an event object")
        found = from_event(event, i)
        if found is not None:
            out.append(found)
    return out


def replay_drive(actions: list[tuple[int, Action]]) -> Callable[[Conductor, object], None]:
    """A ``run(drive=...)`` that performs ``actions`` at their steps, then runs to the end. A
    restore may go back in time: the next actions' steps count from there again."""

    def drive(conductor: Conductor, runtime) -> None:
        snapshots = Snapshots()
        n = conductor.clock.n_steps
        for i, (step, action) in enumerate(actions, 1):
            if step < conductor.step or step > n:
                raise ValueError(f"--replay: action {i} ({action.kind}) is at step {step}, but the run is at step {conductor.step} (end step {n}): the log is not of this scenario")
            conductor.advance(step)
            try:
                perform(conductor, action, snapshots)
            except (ValueError, LookupError, RuntimeError) as exc:
                raise ValueError(f"--replay: action {i} ({action.kind}) at step {step} was refused: {exc} (the log is not of this scenario, or was edited)") from None
        conductor.advance(n)

    return drive
