"""Commands and faults: what an engineer changes in a running station, as deterministic input.

A command names an instance, a verb the instance's kind declares (``Model.commands``) and its
arguments. It is applied to the instance's committed state at a window boundary (every instance
committed to the same step), by the model's pure ``Model.command``; the telemetry after it
follows from that state, so a run given the same commands at the same steps gives the same
telemetry (``ilrs-twin run --replay``).

A fault is a command too: ``fault`` sets a component's remaining capacity (0 for a failure, a
fraction for a degradation) and ``clear-fault`` restores it. A fault with a duration schedules its
own clearing at the step it ends; a newer fault of the component, or its clearing, drops that
schedule (the conductor's), and the clearing names the step its fault began besides.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Mapping

FAULT = "fault"
CLEAR_FAULT = "clear-fault"
FAULT_MODES = ("fail", "degrade")


class CommandRefused(RuntimeError):
    """The instance's current state forbids the command (nothing was changed)."""


@dataclass(frozen=True)
class Command:
    target: str  # instance id
    name: str  # a verb of the target's kind
    args: tuple[tuple[str, Any], ...] = ()  # sorted by name; JSON values
    step: int = -1  # the boundary it is applied at (-1: not yet applied)

    @classmethod
    def of(cls, target: str, name: str, args: Mapping[str, Any] | None = None, step: int = -1) -> "Command":
        return cls(target, name, tuple(sorted((args or {}).items())), step)

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.args)

    def at(self, step: int) -> "Command":
        return replace(self, step=step)

    def to_json(self) -> dict:
        return {"target": self.target, "command": self.name, "args": self.arguments, "step": self.step}

    @classmethod
    def from_json(cls, data: Mapping) -> "Command":
        return cls.of(str(data["target"]), str(data["command"]), dict(data.get("args") or {}), int(data.get("step", -1)))

    def __str__(self) -> str:
        args = " ".join(f"{k}={v}" for k, v in self.args)
        return f"{self.target} {self.name}{' ' + args if args else ''}"


@dataclass(frozen=True)
class Faults:
    """Active faults of one instance: (component, remaining capacity fraction, step it began)."""

    active: tuple[tuple[str, float, int], ...] = ()

    def level(self, component: str) -> float:
        for name, level, _ in self.active:
            if name == component:
                return level
        return 1.0

    def since(self, component: str) -> int | None:
        for name, _, step in self.active:
            if name == component:
                return step
        return None

    def set(self, component: str, level: float, step: int) -> "Faults":
        rest = tuple(f for f in self.active if f[0] != component)
        return Faults(tuple(sorted(rest + ((component, float(level), int(step)),))))

    def clear(self, component: str) -> "Faults":
        return Faults(tuple(f for f in self.active if f[0] != component))


NO_FAULTS = Faults()


def fault_command(target: str, component: str, mode: str, level: float | None = None, duration_s: float = 0.0) -> Command:
    """A fault on ``<target>.<component>``: ``fail`` (nothing left) or ``degrade`` to ``level``
    (the fraction of capacity left, 0 < level < 1); ``duration_s`` 0 lasts until cleared."""
    if mode not in FAULT_MODES:
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(FAULT_MODES)}")
    if mode == "fail":
        if level not in (None, 0.0):
            raise ValueError("level: a failure leaves nothing; give a level only to degrade")
        level = 0.0
    elif level is None or not (isinstance(level, (int, float)) and math.isfinite(level) and 0.0 < level < 1.0):
        raise ValueError(f"level: degrade needs the fraction of capacity left, between 0 and 1 (exclusive), not {level!r}")
    if not (isinstance(duration_s, (int, float)) and math.isfinite(duration_s) and 0 <= duration_s <= 100 * 365.25 * 86400):
        raise ValueError(f"duration: {duration_s!r} is not a duration between 0 (until cleared) and 100 years")
    return Command.of(target, FAULT, {"component": component, "level": float(level), "duration_s": float(duration_s)})


def clear_command(target: str, component: str, since: int | None = None) -> Command:
    args: dict[str, Any] = {"component": component}
    if since is not None:
        args["since"] = int(since)
    return Command.of(target, CLEAR_FAULT, args)


def clears_at(command: Command, step_s: int) -> int | None:
    """The step a fault's duration ends (it is cleared there), or None."""
    if command.name != FAULT:
        return None
    duration = float(command.arguments.get("duration_s", 0.0))
    return None if duration <= 0 else command.step + max(1, math.ceil(duration / step_s))


def fault_variables(model, faults: Faults) -> dict[str, float]:
    """``<component>_capacity_frac`` of each component that can fault: 1 unless a fault holds."""
    return {f"{component}_capacity_frac": faults.level(component) for component in type(model).fault_components}


def apply_fault(model, state, command: Command):
    """The generic ``fault`` and ``clear-fault`` of a kind whose state has a ``faults`` field and
    which lists its components in ``Model.fault_components``."""
    args = command.arguments
    component = args.get("component")
    components = type(model).fault_components
    if component not in components:
        known = ", ".join(components) or "none"
        raise ValueError(f"component: {model.id} ({model.kind}) has no component {component!r} that can fault (components: {known})")
    modes = components[component][1]
    faults: Faults = state.faults
    if command.name == FAULT:
        level = float(args.get("level", 0.0))
        mode = "fail" if level == 0.0 else "degrade"
        if mode not in modes:
            raise CommandRefused(f"component: {model.id}.{component} can only {' or '.join(modes)}, not {mode}")
        return replace(state, faults=faults.set(component, level, command.step))
    since = faults.since(component)
    if since is None:
        raise CommandRefused(f"component: {model.id}.{component} has no fault to clear")
    if "since" in args and int(args["since"]) != since:
        raise CommandRefused(f"component: the fault of {model.id}.{component} that began at step {args['since']} was already replaced")
    return replace(state, faults=faults.clear(component))
