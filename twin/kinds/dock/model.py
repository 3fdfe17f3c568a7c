"""A dock: the charger robots come home to, held by one robot at a time, served by rank.

The robots that charge here are ranked: those the dock's ``priority`` names, in its order, then
the rest by id. At each step the dock goes to the first-ranked robot that asks for it (its
``dock`` output, 1 while it asks or charges); a robot charging there yields at the end of a step
in which one ranked before it asks. Every other robot that asks waits, on its battery. Each robot
learns whether the dock is taken from the one ranked just before it (``dock_claimed`` ->
``dock_ahead``, a chain of forward connections the robots declare), so no answer comes back
against the flow: a dock never cuts an exchange window, however busy it is. Before its landing
nobody gets it. This instance keeps the record (who holds it, who waits, refusals, handovers);
the robots' charging draws are their own power requests, the dock itself draws nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from twin.clock import unix_s
from twin.kinds.dock.columns import COLUMNS
from twin.model import Advance, Model
from twin.params import Deployed
from twin.ports import Port


class DockParams(Deployed):
    priority: list[str] = Field(default_factory=list, max_length=100,
                                description="robot ids served first, in this order; the dock's other robots follow by id")


@dataclass(frozen=True)
class DockState:
    holder: str  # "" when free
    held_steps: int
    refusals: int  # robot-steps refused
    handovers: int


class DockModel(Model):
    kind = "dock"
    summary = "a robots' charging dock, held by one robot at a time (served by rank; no feedback round)"
    Params = DockParams
    ports = (
        Port("dock", "signal:dock", "1", "in", "1 while a robot asks for the dock or charges there, per robot"),
    )
    state_types = (DockState,)
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.robotics_pb2:DockState"

    def place(self, scenario) -> None:
        from twin.robotics.robot import RobotParams

        docks = [id for id, m in scenario.modules.items() if m.kind == "dock"]
        for i, id in enumerate(self.params.priority):
            m = scenario.modules.get(id)
            if m is None or not isinstance(m.params, RobotParams):
                raise ValueError(f"priority: {id!r} is not a robot of this station")
            if (m.params.dock or (docks[0] if len(docks) == 1 else None)) != self.id:
                raise ValueError(f"priority: {id!r} charges at another dock")
            if id in self.params.priority[:i]:
                raise ValueError(f"priority: {id!r} is named twice")

    def initial_state(self) -> DockState:
        return DockState("", 0, 0, 0)

    def ranked(self, ids: list[str]) -> list[str]:
        first = [r for r in self.params.priority if r in ids]
        return first + sorted(r for r in ids if r not in first)

    def advance(self, state: DockState, window, env, inputs, rng) -> Advance:
        n = window.steps
        by_id = {r.source: r for r in self.inputs_of("dock")}
        ids = self.ranked(list(by_id))
        asks = np.array([np.asarray(inputs[by_id[id].in_key]) > 0.5 for id in ids], dtype=bool).reshape(len(ids), n)
        asks &= (window.times() >= unix_s(self.params.deployed))[None, :]
        # The first asker by rank holds it (argmax finds the first True; -1 where nobody asks).
        holder_idx = np.where(asks.any(axis=0), np.argmax(asks, axis=0), -1) if ids else np.full(n, -1)
        refused = asks & (holder_idx[None, :] != np.arange(len(ids))[:, None])
        before = ids.index(state.holder) if state.holder in ids else -1
        chain = np.concatenate([[before], holder_idx]) if n else np.array([before])
        handovers = int(np.count_nonzero((chain[1:] != chain[:-1]) & (chain[1:] >= 0)))
        held = holder_idx >= 0
        telemetry = {"held": held.astype(np.float64), "waiting": refused.sum(axis=0).astype(np.float64)}
        last = int(holder_idx[-1]) if n else before
        end = DockState(ids[last] if last >= 0 else "", state.held_steps + int(held.sum()), state.refusals + int(refused.sum()), state.handovers + handovers)
        return Advance({}, telemetry, end)

    def fill_state_message(self, message, state: DockState, variables) -> None:
        super().fill_state_message(message, state, variables)
        message.holder = state.holder

    def variables(self, state: DockState) -> dict[str, float]:
        step_h = self.clock.step_s / 3600.0
        return {"held_hours": state.held_steps * step_h, "refused_hours": state.refusals * step_h, "handovers_count": float(state.handovers)}
