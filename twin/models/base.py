"""The contract every subsystem model keeps, and the host that drives one through windows.

A model is pure: ``advance(state, window, env, inputs, assumed)`` returns new outputs, telemetry
and end state without touching ``state``. It must be *causal* (outputs and telemetry of the
first k steps depend only on the first k steps of env and inputs) and deterministic, so that a
window cut at step k can be recomputed from the window's start state and give exactly the
prefix of the longer run. The same host runs in-process (``local`` runtime) and behind a gRPC
server inside a Ray actor (``ray`` runtime).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import numpy as np

from twin.clock import Clock


class LoadClass(enum.IntEnum):
    """Priority classes of the power-management unit, highest priority first.

    Values match ``ilrs.twin.v1.LoadClass``. Shedding removes the lowest-priority classes first.
    """

    SURVIVAL = 1  # survival heaters and avionics
    COMMUNICATIONS = 2
    SCIENCE = 3  # research facilities and astronomy
    ISRU = 4  # ISRU plant and robot charging

    @property
    def key(self) -> str:
        return self.name.lower()


LOAD_CLASSES: tuple[LoadClass, ...] = tuple(LoadClass)
N_CLASSES = len(LOAD_CLASSES)


@dataclass(frozen=True)
class Window:
    start_step: int
    steps: int
    clock: Clock

    def times(self) -> np.ndarray:
        return self.clock.times(self.start_step, self.steps)

    def prefix(self, steps: int) -> "Window":
        return Window(self.start_step, steps, self.clock)


@dataclass(frozen=True)
class Advance:
    outputs: dict[str, np.ndarray]
    telemetry: dict[str, np.ndarray]
    state: Any


class Model:
    """Base for subsystem models. Subclasses declare what they exchange.

    ``stage``: exchange order within a window (lower first; equal stages may run concurrently).
    ``environment``: the environment columns the model reads (only these travel to it).
    ``consumes``: prefixes of other models' outputs it takes as inputs.
    ``load_class``: the class its ``power_request_w`` output is switched in, if it draws power.
    """

    kind: ClassVar[str]
    stage: ClassVar[int] = 0
    environment: ClassVar[tuple[str, ...]] = ()
    consumes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, params: Any, clock: Clock, seed: int):
        self.name = name
        self.params = params
        self.clock = clock
        self.seed = seed

    @property
    def load_class(self) -> LoadClass | None:
        return None

    def initial_state(self) -> Any:
        raise NotImplementedError

    def check_inputs(self, inputs: Mapping[str, np.ndarray]) -> None:
        """Raise ValueError naming any input this model does not consume ("<subsystem>/<output>")."""
        for key in inputs:
            producer, _, output = key.partition("/")
            if not producer or not any(output.startswith(prefix) for prefix in self.consumes):
                raise ValueError(f"inputs: {key!r} is not an input of {self.name} (it consumes {', '.join(self.consumes) or 'nothing'})")

    def advance(
        self,
        state: Any,
        window: Window,
        env: Mapping[str, np.ndarray],
        inputs: Mapping[str, np.ndarray],
        assumed: np.ndarray,
    ) -> Advance:
        """``assumed``: bool (classes, steps), the switch state of each LoadClass (row = class - 1) assumed at each step.

        A power request at step t is what the model would draw if powered: it may depend on the
        switch states of earlier steps, never on ``assumed[:, t]`` itself (that would be an
        algebraic loop with the dispatcher, which decides step t from the requests of step t).
        """
        raise NotImplementedError

    def variables(self, state: Any) -> dict[str, float]:
        """Every scalar state variable by name (for summaries, GetState and engineers' tools)."""
        raise NotImplementedError


def _take(arrays: Mapping[str, np.ndarray], steps: int) -> dict[str, np.ndarray]:
    return {key: value[:steps] for key, value in arrays.items()}


class ModelHost:
    """Holds a model's committed state and drives it window by window.

    ``propose`` advances tentatively from the committed state; ``commit(k)`` makes the first k
    steps of that proposal the new committed state (recomputing the prefix when k is short) and
    hands their telemetry to ``sink`` (anything with ``append(name, start_step, columns)``), which
    lives wherever the host runs, so telemetry never crosses the wire.
    """

    def __init__(self, model: Model, sink=None):
        self.model = model
        self.sink = sink
        self.state = model.initial_state()
        self.step = 0
        self._pending: tuple[Window, dict, dict, np.ndarray, Advance] | None = None

    def propose(self, window: Window, env: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], assumed: np.ndarray) -> dict[str, np.ndarray]:
        if window.start_step != self.step:
            raise ValueError(f"{self.model.name}: window starts at step {window.start_step} but the model is at step {self.step}")
        result = self.model.advance(self.state, window, env, inputs, assumed)
        self._pending = (window, dict(env), dict(inputs), np.asarray(assumed, dtype=bool), result)
        return result.outputs

    def commit(self, steps: int) -> dict[str, np.ndarray]:
        if self._pending is None:
            raise ValueError(f"{self.model.name}: commit without a proposal")
        window, env, inputs, assumed, result = self._pending
        if not 0 <= steps <= window.steps:
            raise ValueError(f"{self.model.name}: cannot commit {steps} of {window.steps} proposed steps")
        if steps < window.steps:
            result = self.model.advance(self.state, window.prefix(steps), _take(env, steps), _take(inputs, steps), assumed[:, :steps])
        self._pending = None
        if self.sink is not None:
            self.sink.append(self.model.name, self.step, result.telemetry)
        self.state = result.state
        self.step += steps
        return result.telemetry

    def exchange(self, commit_steps: int, window: Window | None, env=None, inputs=None, assumed=None) -> dict[str, np.ndarray]:
        """Commit ``commit_steps`` of the pending proposal, then propose ``window`` (if given).

        One call per window: the runtimes' unit of exchange.
        """
        if window is not None:
            self.model.check_inputs(inputs)  # before committing: a refused call changes nothing
        if commit_steps:
            self.commit(commit_steps)
        return self.propose(window, env, inputs, assumed) if window is not None else {}

    def finish(self, discard: bool = False) -> list[str]:
        """Publish (or, after a failure, delete) the telemetry written so far."""
        if self.sink is None:
            return []
        if discard:
            self.sink.discard()
            return []
        return [str(path) for path in self.sink.close()]

    def variables(self) -> dict[str, float]:
        return self.model.variables(self.state)
