"""The conductor: drives all subsystems through the run, one window of micro steps per exchange.

Order of one exchange (fixed; tests assert it):

1. The environment (Sun, Earth) is sampled for every micro step of the window.
2. Stages run in increasing order; within a stage, subsystems in scenario order, concurrently.
   Each subsystem gets one ``Exchange`` call per window: it first commits the steps accepted
   from its previous proposal (their telemetry goes to its own file), then proposes the new
   window from there, given the environment columns it reads, the outputs of earlier stages it
   consumes, and the switch state of every load class *assumed* at every step of the window.
   Stage 0: the consumers propose their power requests. Stage 1: energy dispatches them and
   returns the switch state it actually sets at every step.
3. The proposal is accepted up to the first step where energy's switch state differs from the
   assumption: the steps before it are exactly what exchanging at every micro step would give
   (models are causal and deterministic). The next window starts there and assumes what energy
   just decided for the steps after it (waveform relaxation): when the consumers' requests do not
   react to the switching, that assumption holds and the rest of the window is accepted in one
   more exchange, however many switchings it contains. Past the end of the known profile the last
   switch state is assumed to hold. A difference at the very first step accepts nothing; the
   window is proposed again with energy's profile assumed, which then holds at that step.
4. After the last window, one more exchange per subsystem commits the accepted steps.
"""
from __future__ import annotations

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

    def exchange(self, commit_steps: int, window, env=None, inputs=None, assumed=None): ...
    def variables(self) -> dict[str, float]: ...


@dataclass
class ExchangeStats:
    windows: int = 0  # accepted windows
    cut: int = 0  # windows accepted short because the switch state changed
    proposals: int = 0  # exchange rounds, including re-proposals
    log: list[tuple[str, int, int]] = field(default_factory=list)  # (subsystem, window start, commit steps) when tracing


class Conductor:
    def __init__(
        self,
        clock: Clock,
        handles: Sequence[Handle],
        sky,
        window_steps: int,
        on_progress: Callable[[int], None] | None = None,
        trace: bool = False,
    ):
        if not any(h.name == FEEDBACK for h in handles):
            raise ValueError("the conductor needs an energy subsystem")
        last = max(h.stage for h in handles)
        if [h.name for h in handles if h.stage == last] != [FEEDBACK]:
            raise ValueError("energy must be alone in the last stage: it dispatches every power request of the window")
        self.clock = clock
        self.handles = list(handles)
        self.stages = [[h for h in self.handles if h.stage == s] for s in sorted({h.stage for h in self.handles})]
        self.sky = sky
        self.window_steps = window_steps
        self.on_progress = on_progress
        self.trace = trace
        self.step = 0  # committed steps
        self.accepted = 0  # steps accepted from the last proposal, committed with the next exchange
        # Switch states expected from the next step on; the last column holds beyond.
        self.plan = np.ones((N_CLASSES, 1), dtype=bool)
        self.stats = ExchangeStats()

    def _inputs(self, handle: Handle, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            key: value
            for key, value in outputs.items()
            if any(key.split("/", 1)[1].startswith(prefix) for prefix in handle.consumes)
        }

    def _assumption(self, steps: int) -> np.ndarray:
        plan = self.plan[:, :steps]
        if plan.shape[1] < steps:
            plan = np.concatenate([plan, np.repeat(plan[:, -1:], steps - plan.shape[1], axis=1)], axis=1)
        return plan

    def _exchange(self, window: Window | None, env: dict[str, np.ndarray] | None, assumed: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """One exchange round over all stages; commits ``self.accepted`` steps everywhere."""
        outputs: dict[str, np.ndarray] = {}
        for stage in self.stages:
            pending = []
            for handle in stage:
                if self.trace:
                    self.stats.log.append((handle.name, self.step + self.accepted, self.accepted))
                if window is None:
                    call = handle.exchange(self.accepted, None)
                else:
                    local_env = {key: env[key] for key in handle.environment}
                    call = handle.exchange(self.accepted, window, local_env, self._inputs(handle, outputs), assumed)
                pending.append((handle, call))
            for handle, call in pending:
                for key, value in call.result().items():
                    outputs[f"{handle.name}/{key}"] = value
        if self.accepted:
            self.step += self.accepted
            self.accepted = 0
            if self.on_progress is not None:
                self.on_progress(self.step)
        return outputs

    def advance(self, until_step: int) -> None:
        """Run windows until ``until_step`` micro steps are committed."""
        retry_at = -1
        while self.step + self.accepted < until_step:
            start = self.step + self.accepted
            n = min(self.window_steps, until_step - start)
            window = Window(start, n, self.clock)
            assumed = self._assumption(n)
            outputs = self._exchange(window, self.sky.sample(window.times()), assumed)
            self.stats.proposals += 1
            switches = np.stack([outputs[f"{FEEDBACK}/powered/{cls.key}"] for cls in LOAD_CLASSES]).astype(bool)
            differs = np.flatnonzero((switches != assumed).any(axis=0))
            k = int(differs[0]) if differs.size else n
            if k == 0:
                if retry_at == start:
                    raise RuntimeError(
                        f"switch state at step {start} does not settle: a power request depends on the switch state "
                        "of its own step (see Model.advance); make it depend on earlier steps only"
                    )
                retry_at = start
                self.plan = switches
                continue
            self.accepted = k
            self.stats.windows += 1
            if k < n:
                self.stats.cut += 1
            self.plan = switches[:, k:] if k < n else switches[:, -1:]
        if self.accepted:
            self._exchange(None, None)

    def variables(self) -> dict[str, dict[str, float]]:
        return {h.name: h.variables() for h in self.handles}
