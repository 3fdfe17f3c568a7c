"""A dock: the charger robots come home to, held by one robot at a time.

Each robot connected to it asks for it (its ``dock`` output, 1 while it wants to charge). At each
step the robot holding the dock keeps it while it still asks; a free dock goes to the robot that
has been asking longest (ties by id). Every other robot that asks is refused (``dock_refused``,
a feedback reply: the robot waits, on its battery). Refusals are what the robots must assume
nothing about; with no contention every answer is 0, as assumed, and costs no exchange round.
Before its landing the dock refuses everyone. The robots' own charging draws are their power
requests; the dock itself draws nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.clock import unix_s
from twin.kinds.dock.columns import COLUMNS
from twin.model import Advance, Model
from twin.params import Deployed
from twin.ports import Port


class DockParams(Deployed):
    pass


@dataclass(frozen=True)
class DockState:
    holder: str  # "" when free
    since: tuple  # (robot id, absolute step its current request began), for those asking
    held_steps: int
    refusals: int  # robot-steps refused
    handovers: int


class DockModel(Model):
    kind = "dock"
    summary = "a robots' charging dock, held by one robot at a time (first come, first served)"
    Params = DockParams
    ports = (
        Port("dock", "signal:dock", "1", "in", "1 while a robot asks for the dock, per robot", reply="dock_refused"),
        Port("dock_refused", "signal:dock", "1", "out", "1 while the robot asks and another holds the dock", feedback=True, addressed=True),
    )
    state_types = (DockState,)
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.robotics_pb2:DockState"

    def initial_state(self) -> DockState:
        return DockState("", (), 0, 0, 0)

    def advance(self, state: DockState, window, env, inputs, rng) -> Advance:
        n = window.steps
        routes = self.inputs_of("dock")
        ids = [r.source for r in routes]
        asks = np.array([np.asarray(inputs[r.in_key]) > 0.5 for r in routes], dtype=bool).reshape(len(ids), n)
        landed = window.times() >= unix_s(self.params.deployed)
        holder_idx = np.full(n, -1, dtype=np.int64)
        since = dict(state.since)
        holder = ids.index(state.holder) if state.holder in ids else -1
        handovers = 0
        # Stretches in which nobody's request changes: the holder can change only at their starts.
        edges = np.unique(np.concatenate([[0], np.flatnonzero(np.any(asks[:, 1:] != asks[:, :-1], axis=0)) + 1,
                                          np.flatnonzero(landed[1:] != landed[:-1]) + 1])) if n else np.array([], dtype=np.int64)
        bounds = list(edges) + [n]
        for a, b in zip(bounds, bounds[1:]):
            step = window.start_step + a
            for k, id in enumerate(ids):
                if asks[k, a] and id not in since:
                    since[id] = step
                elif not asks[k, a]:
                    since.pop(id, None)
            if not landed[a]:
                holder = -1
            elif holder < 0 or not asks[holder, a]:
                waiting = sorted((since[id], id) for id in ids if id in since)
                new = ids.index(waiting[0][1]) if waiting else -1
                handovers += int(new >= 0 and new != holder)
                holder = new
            holder_idx[a:b] = holder
        refused = asks & (holder_idx[None, :] != np.arange(len(ids))[:, None])
        outputs = {f"dock_refused/{id}": refused[k].astype(np.float64) for k, id in enumerate(ids)}
        held = holder_idx >= 0
        telemetry = {"held": held.astype(np.float64), "waiting": refused.sum(axis=0).astype(np.float64) if ids else np.zeros(n)}
        end = DockState(ids[holder] if holder >= 0 else "", tuple(sorted(since.items())), state.held_steps + int(held.sum()),
                        state.refusals + int(refused.sum()), state.handovers + handovers)
        return Advance(outputs, telemetry, end)

    def fill_state_message(self, message, state: DockState, variables) -> None:
        super().fill_state_message(message, state, variables)
        message.holder = state.holder

    def variables(self, state: DockState) -> dict[str, float]:
        step_h = self.clock.step_s / 3600.0
        return {"held_hours": state.held_steps * step_h, "refused_hours": state.refusals * step_h, "handovers_count": float(state.handovers)}
