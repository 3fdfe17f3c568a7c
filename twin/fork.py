"""A what-if on a copy: the station at a boundary, copied into a runtime of its own (new Ray
actors under the ``ray`` runtime), given actions, run ahead and discarded.

The copy is restored from a station snapshot of the live twin (the same state, random streams,
feedback plan and scheduled fault clearings), keeps no telemetry and no checkpoints, and shares
only what never changes: the scenario, the station's models (pure) and the sky. So the live twin
goes on meanwhile and its telemetry is that of a twin that was never forked.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass

from twin.actions import Action, Snapshots, perform
from twin.conductor import Conductor, StationSnapshot

MAX_SAMPLES = 10_000


@dataclass(frozen=True)
class ForkResult:
    start_step: int
    end_step: int
    end: dict[str, float]  # "<id>.<variable>" at the end of the fork
    change: dict[str, float]  # end minus start (for running totals: what the fork added)
    kpis: dict[str, float]  # the run summary's energy KPIs over the fork
    samples: tuple[tuple[int, dict[str, float]], ...]  # (step, chosen values) every `every_steps`
    wall_s: float


def _flat(variables: dict[str, dict[str, float]]) -> dict[str, float]:
    return {f"{id}.{name}": value for id, values in variables.items() for name, value in values.items()}


def fork_kpis(station, start: dict[str, dict[str, float]], end: dict[str, dict[str, float]]) -> dict[str, float]:
    """The summary's energy totals (twin.run.energy_totals), as what the fork added to each."""
    from twin.run import energy_totals

    out = {}
    for id in station.of_kind("energy"):
        a, b = energy_totals(start[id]), energy_totals(end[id])
        for key, value in b.items():
            if isinstance(value, dict):
                out.update({f"{id}.{cls}_{key}": value[cls] - a[key][cls] for cls in value})
            else:
                out[f"{id}.{key}"] = value - a[key]
        out[f"{id}.final_storage_soc_frac"] = end[id]["storage_soc_frac"]
    return out


class ForkAbandoned(RuntimeError):
    """The caller went away (a cancelled call, a deadline): the copy stopped and was discarded."""


def run_fork(scenario, station, runtime_name: str, environment, snap: StationSnapshot, actions: list[Action], ahead_steps: int,
             names=None, every_steps: int = 0, address: str | None = None, stop=None, on_sample=None) -> ForkResult:
    """Restore ``snap`` into a new runtime, perform ``actions`` at its step, run ``ahead_steps``
    (to the end of the run at most); ``names``: a callable giving the sampled values of a
    conductor's variables, every ``every_steps``. Refused actions raise as in the live twin.
    ``stop`` (a threading.Event): set, the copy stops at its next advance (ForkAbandoned).
    ``on_sample(step, values)``: called with each sample as it is taken (from this thread)."""
    from twin.run import make_runtime

    t0 = time.perf_counter()
    clock = scenario.clock
    # Its own copy of the sky's per-window memo (the live twin samples the same object meanwhile);
    # the tables themselves are shared.
    environment = copy.copy(environment)
    end_step = min(clock.n_steps, snap.step + ahead_steps)
    # Zero CPUs a fork actor: the live twin's actors hold the cluster's CPUs, and Ray would queue the copy forever.
    with make_runtime(scenario, runtime_name, station, environment, None, address, 0.0 if runtime_name == "ray" else None) as rt:
        conductor = Conductor(clock, rt.station, rt.handles, scenario.window_steps)
        conductor.restore(snap, replay_commands=False)
        start = conductor.variables()
        snapshots = Snapshots()
        for action in actions:
            perform(conductor, action, snapshots)
        samples = []

        def sample() -> None:
            samples.append((conductor.step, names(conductor.variables())))
            if on_sample is not None:
                on_sample(*samples[-1])

        if names is not None:
            sample()
        # Advances of a few windows at most, so that an abandoned fork stops soon.
        step = every_steps if names is not None and every_steps else end_step - conductor.step
        chunk = min(step, 8 * scenario.window_steps)
        if (end_step - conductor.step) / max(step, 1) > MAX_SAMPLES:
            raise ValueError(f"every: {end_step - conductor.step} steps ahead in samples of {step} steps is more than {MAX_SAMPLES} samples; sample less often")
        mark = conductor.step
        while conductor.step < end_step:
            if stop is not None and stop.is_set():
                raise ForkAbandoned("fork: abandoned by its caller")
            mark = min(end_step, mark + step) if conductor.step >= mark else mark
            conductor.advance(min(mark, conductor.step + chunk))
            if names is not None and conductor.step == mark:
                sample()
        end = conductor.variables()
    flat_start, flat_end = _flat(start), _flat(end)
    change = {key: value - flat_start[key] for key, value in flat_end.items() if key in flat_start}
    return ForkResult(snap.step, end_step, flat_end, change, fork_kpis(station, start, end), tuple(samples), time.perf_counter() - t0)
