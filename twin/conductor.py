"""The conductor: drives all subsystems through the run, one window of micro steps per exchange.

Order of one exchange (fixed; tests assert it):

1. The environment (Sun, Earth) is sampled for every micro step of the window.
2. Stages run in increasing order; within a stage, subsystems in scenario order, concurrently.
   Each ``Propose`` gets the environment columns the subsystem reads, the outputs of earlier
   stages it consumes, and the switch states *assumed* to hold over the window (those at the end
   of the last commit). Stage 0: the consumers propose their power requests. Stage 1: energy
   dispatches them and returns the switch state of every class at every step.
3. The window is cut at the first step where energy's switch state differs from the assumption:
   the steps before it are exactly what exchanging at every micro step would give (models are
   causal and deterministic). All subsystems commit that many steps, and the next window starts
   there with the new switch state assumed. A difference at the very first step commits nothing:
   the window is proposed again with the corrected assumption, which then holds at that step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np

from twin.clock import Clock
from twin.models.base import LOAD_CLASSES, N_CLASSES, Window

FEEDBACK = "energy"


class Handle(Protocol):
    name: str
    stage: int
    environment: tuple[str, ...]
    consumes: tuple[str, ...]

    def propose(self, window, env, inputs, assumed): ...
    def commit(self, steps: int): ...
    def variables(self) -> dict[str, float]: ...


@dataclass
class ExchangeStats:
    windows: int = 0  # committed windows
    cut: int = 0  # windows committed short because the switch state changed
    proposals: int = 0  # exchange rounds, including re-proposals
    log: list[tuple[str, str, int]] = field(default_factory=list)  # (call, subsystem, start step) when tracing


class Conductor:
    def __init__(
        self,
        clock: Clock,
        handles: Sequence[Handle],
        sky,
        window_steps: int,
        sink=None,
        on_progress: Callable[[int], None] | None = None,
        trace: bool = False,
    ):
        if not any(h.name == FEEDBACK for h in handles):
            raise ValueError("the conductor needs an energy subsystem")
        self.clock = clock
        self.handles = list(handles)
        self.stages = [[h for h in self.handles if h.stage == s] for s in sorted({h.stage for h in self.handles})]
        self.sky = sky
        self.window_steps = window_steps
        self.sink = sink
        self.on_progress = on_progress
        self.trace = trace
        self.step = 0
        self.assumed = np.ones(N_CLASSES, dtype=bool)
        self.stats = ExchangeStats()

    def _inputs(self, handle: Handle, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            key: value
            for key, value in outputs.items()
            if any(key.split("/", 1)[1].startswith(prefix) for prefix in handle.consumes)
        }

    def _propose(self, window: Window, env: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs: dict[str, np.ndarray] = {}
        for stage in self.stages:
            pending = []
            for handle in stage:
                if self.trace:
                    self.stats.log.append(("propose", handle.name, window.start_step))
                local_env = {key: env[key] for key in handle.environment}
                pending.append((handle, handle.propose(window, local_env, self._inputs(handle, outputs), self.assumed)))
            for handle, call in pending:
                for key, value in call.result().items():
                    outputs[f"{handle.name}/{key}"] = value
        return outputs

    def advance(self, until_step: int) -> None:
        """Run windows until ``until_step`` micro steps are committed."""
        retry_at = -1
        while self.step < until_step:
            n = min(self.window_steps, until_step - self.step)
            window = Window(self.step, n, self.clock)
            env = self.sky.sample(window.times())
            outputs = self._propose(window, env)
            self.stats.proposals += 1
            switches = np.stack([outputs[f"{FEEDBACK}/powered/{cls.key}"] for cls in LOAD_CLASSES]).astype(bool)
            differs = np.flatnonzero((switches != self.assumed[:, None]).any(axis=0))
            k = int(differs[0]) if differs.size else n
            if k == 0:
                if retry_at == self.step:
                    raise RuntimeError(f"switch state at step {self.step} does not settle; a model is not causal")
                retry_at = self.step
                self.assumed = switches[:, 0].copy()
                continue
            self._commit(window, k)
            if k < n:
                self.stats.cut += 1
                self.assumed = switches[:, k].copy()

    def _commit(self, window: Window, k: int) -> None:
        pending = []
        for handle in self.handles:
            if self.trace:
                self.stats.log.append(("commit", handle.name, window.start_step))
            pending.append((handle, handle.commit(k)))
        for handle, call in pending:
            telemetry = call.result()
            if self.sink is not None:
                self.sink.append(handle.name, window.start_step, telemetry)
        self.step += k
        self.stats.windows += 1
        if self.on_progress is not None:
            self.on_progress(self.step)

    def variables(self) -> dict[str, dict[str, float]]:
        return {h.name: h.variables() for h in self.handles}
