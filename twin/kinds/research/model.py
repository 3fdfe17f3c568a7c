"""ILRS-2, research facilities: a queue of experiments run when the power system allows.

The facility holds a queue of experiment runs (each experiment of the scenario, ``repeat`` times,
in the order given). At every step the first ``max_concurrent`` unfinished runs whose conditions
hold (the facility is deployed; daylight for a run that ``requires_daylight``; the crew is on site
for a ``crew_tended`` one) are the *active* runs: the facility asks for their power plus its
standby (hotel) load. If the science class is switched on at that step they run: each gains one
step of progress and produces its share of data. If the class is shed they pause: progress is
kept, nothing is lost, and they resume when power returns. A run that is not eligible (night,
no crew) lets the next ones in the queue use its slot, and takes the slot back (queue order)
when it becomes eligible again.

Discrete rules (documented so that hand computations are exact):

* Progress is counted in integer seconds. A run of ``duration_h`` needs
  ``round(duration_h * 3600)`` seconds; each powered step adds ``step_s`` (capped at the
  duration). A run that reaches its duration during step j is complete at the end of step j: its
  slot is free from step j + 1. Two 2-h runs at 60 s steps with ``max_concurrent = 1`` complete at
  the ends of steps 119 and 239.
* Data are spread evenly over running time in integer bytes: after ``p`` seconds of progress a run
  has produced ``floor(data_bytes * p / duration_s)`` bytes, so its total is exactly
  ``data_bytes`` at completion, whatever the window cuts.
* Daylight means ``sun_visible_frac > daylight_min_visible_frac`` (default 0: any part of the
  solar disk above the site's horizon mask).
* The power request at step t depends on the completions of earlier steps (through the state)
  and the environment at t, never on the switch state of step t (Model.advance's contract).

Telemetry per step: ``requested_w`` (standby + active runs, what it would draw if powered),
``power_w`` (drawn: the request if the science class is on, else 0), ``scheduled_experiments``
(runs that would run), ``active_experiments`` (runs actually running: scheduled and powered),
``completed_experiments`` (cumulative), ``experiment_hours`` (cumulative running time achieved, all
runs), ``data_produced_bytes`` (this step, also the ``data_bytes`` output).

The facility is event driven and vectorised: Python loops run over condition changes
(day/night, crew arrival, landing) and completions only; progress between events is computed
with cumulative sums over the powered steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from pydantic import Field, field_validator, model_validator

from twin.clock import parse_utc, unix_s
from twin.loads import LoadClass
from twin.kinds.research.columns import COLUMNS
from twin.model import Advance, Model, Window
from twin.params import MAX_DATA_BYTES, MAX_ITEMS, MAX_POWER_W, Deployed, Params, identifier, repeated_names
from twin.ports import DATA, HEAT, OPERABLE, POWER, POWERED

# Integer progress arithmetic stays inside int64: r * p < duration_s^2 <= (1e5 h * 3600)^2 ~ 1.3e17.
MAX_DURATION_H = 100_000.0
MAX_RUN_BYTES = 2**62
# Queued runs of a facility, all experiments together (each carries its progress in the state).
MAX_QUEUED_RUNS = 100_000


class Experiment(Params):
    """One experiment of the queue. The default list's figures are illustrative assumptions [U]."""

    name: str = Field(description="identifier (lower case, digits, underscores), unique in the queue")
    power_w: float = Field(ge=0, le=MAX_POWER_W, description="power drawn while the experiment runs (on top of the facility standby)")
    duration_h: float = Field(gt=0, le=MAX_DURATION_H, description="running time needed to complete one run")
    data_bytes: int = Field(ge=0, le=MAX_RUN_BYTES, description="data produced over one run, spread evenly over its running time")
    requires_daylight: bool = Field(default=False, description="runs only while the Sun is visible (sun_visible_frac > daylight_min_visible_frac)")
    crew_tended: bool = Field(default=False, description="runs only from the facility's crew_from date")
    repeat: int = Field(default=1, ge=1, le=100_000, description="how many runs of it are queued, next to each other (with free slots they run side by side)")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return identifier(value, "experiment")

    @property
    def duration_s(self) -> int:
        return max(1, int(round(self.duration_h * 3600.0)))


# Illustrative queue [U]: no ILRS-2 payload list has been published; these stand for the kinds of
# work the roadmap names (lunar science, in-situ experiments, crewed research from 2036). Repeats
# of one experiment sit next to each other in the queue, so with free slots they run side by side.
DEFAULT_EXPERIMENTS: tuple[Experiment, ...] = (
    # A long geophysics station (seismometer, heat flow), day and night: one slot for 5 years [U].
    Experiment(name="geophysics", power_w=80.0, duration_h=43_800.0, data_bytes=200_000_000_000),
    # Solar-powered regolith processing and dust experiments, daytime only [U].
    Experiment(name="regolith_processing", power_w=500.0, duration_h=72.0, data_bytes=5_000_000_000, requires_daylight=True, repeat=60),
    # Space environment and radiation biology, any time: fills the slots the daytime work leaves at night [U].
    Experiment(name="radiation_biology", power_w=250.0, duration_h=720.0, data_bytes=20_000_000_000, repeat=12),
    # Crew-tended life-science and materials work from the roadmap's 2036 crewed phase [U].
    Experiment(name="crew_life_science", power_w=1200.0, duration_h=168.0, data_bytes=30_000_000_000, crew_tended=True, repeat=40),
)


class ResearchParams(Deployed):
    # ILRS roadmap (docs/references.md, The mission's own facts): operation from 2036 with crew landings.
    crew_from: datetime = Field(default=parse_utc("2036-01-01T00:00:00Z"), description="crew-tended experiments run only from this date",
                                json_schema_extra={"source": "ILRS roadmap (June 2021): operation from 2036 with crew landings"})
    max_concurrent: int = Field(default=3, ge=1, le=1000, description="experiments running at once (facility slots) [U]")
    standby_w: float = Field(default=150.0, ge=0, le=MAX_POWER_W, description="facility hotel load while deployed (thermal control, avionics) [U]")
    daylight_min_visible_frac: float = Field(default=0.0, ge=0, lt=1, description="daylight: sun_visible_frac above this")
    experiments: tuple[Experiment, ...] = Field(default=DEFAULT_EXPERIMENTS, max_length=MAX_ITEMS, description="the queue (name, power_w, duration_h, data_bytes, requires_daylight, crew_tended, repeat); default: four illustrative experiments [U]")

    @field_validator("crew_from", mode="before")
    @classmethod
    def _crew_utc(cls, value):
        return parse_utc(value)

    @model_validator(mode="after")
    def _unique(self) -> "ResearchParams":
        duplicates = repeated_names([x.name for x in self.experiments])
        if duplicates:
            raise ValueError(f"experiment names must be unique: {', '.join(duplicates)} repeated (use repeat)")
        runs = sum(x.repeat for x in self.experiments)
        if runs > MAX_QUEUED_RUNS:
            raise ValueError(f"the queue holds {runs:,} runs (repeats added up); at most {MAX_QUEUED_RUNS:,}")
        if self.data_bytes_bound() > MAX_DATA_BYTES:
            raise ValueError(f"the queue's data (data_bytes x repeat, added up) is {self.data_bytes_bound():.3g} bytes; at most {MAX_DATA_BYTES:.3g} "
                             "(data are counted in integer bytes)")
        return self

    def peak_power_w(self) -> float:
        runs = sorted((x.power_w for x in self.experiments for _ in range(min(x.repeat, self.max_concurrent))), reverse=True)
        return self.standby_w + sum(runs[:self.max_concurrent])

    def data_bytes_bound(self) -> float:
        return float(sum(x.data_bytes * x.repeat for x in self.experiments))

    @property
    def crew_from_unix_s(self) -> int:
        return unix_s(self.crew_from)


@dataclass(frozen=True)
class ResearchState:
    progress_s: tuple[int, ...]  # per queued run: seconds of running time achieved
    completed: int  # runs completed
    experiment_s: int  # running time achieved, all runs (seconds)
    data_bytes: int  # data produced so far
    energy_mj: int  # energy drawn (rounded per step, millijoules)
    powered_steps: int  # deployed steps with the science class on
    shed_steps: int  # deployed steps with a request while the science class was off


class ResearchModel(Model):
    kind = "research"
    summary = "ILRS-2 research facilities: a queue of experiments run when powered (daylight-only, crew-tended)"
    Params = ResearchParams
    ports = (POWER, POWERED, DATA, HEAT, OPERABLE)
    state_types = (ResearchState,)
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.research_pb2:ResearchState"
    environment = ("sun_visible_frac",)

    def __init__(self, name: str, params: ResearchParams, clock, seed: int):
        super().__init__(name, params, clock, seed)
        p = params
        self.deployed_s = p.deployed_unix_s
        self.crew_s = p.crew_from_unix_s
        runs = [(k, e) for k, e in enumerate(p.experiments) for _ in range(e.repeat)]
        self.run_experiment = np.array([k for k, _ in runs], dtype=np.int64)
        self.duration_s = [e.duration_s for _, e in runs]
        self.data_total = [e.data_bytes for _, e in runs]
        self.power_w = [float(e.power_w) for _, e in runs]
        # 0: always, 1: daylight, 2: crew, 3: both.
        self.needs = [int(e.requires_daylight) + 2 * int(e.crew_tended) for _, e in runs]
        self.uses_daylight = any(e.requires_daylight for e in p.experiments)
        self.uses_crew = any(e.crew_tended for e in p.experiments)

    @property
    def load_class(self) -> LoadClass:
        return LoadClass.SCIENCE

    def initial_state(self) -> ResearchState:
        return ResearchState((0,) * len(self.duration_s), 0, 0, 0, 0, 0, 0)

    def _data(self, i: int, progress: np.ndarray | int):
        """Bytes produced by run i after ``progress`` seconds: floor(D p / T), exact in int64."""
        d, t = self.data_total[i], self.duration_s[i]
        q, r = divmod(d, t)
        return q * progress + (r * progress) // t

    def _active(self, progress: list[int], first_open: int, code: int) -> list[int]:
        daylight, crew = bool(code & 2), bool(code & 4)
        ok = (True, daylight, crew, daylight and crew)
        active = []
        for i in range(first_open, len(progress)):
            if progress[i] < self.duration_s[i] and ok[self.needs[i]]:
                active.append(i)
                if len(active) == self.params.max_concurrent:
                    break
        return active

    def advance(self, state: ResearchState, window: Window, env, inputs, rng) -> Advance:
        p = self.params
        n = window.steps
        step_s = self.clock.step_s
        t = window.times()
        on = self.powered(inputs, window.steps)
        deployed = t >= self.deployed_s

        code = deployed.astype(np.int64)
        if self.uses_daylight:
            code += 2 * (np.asarray(env["sun_visible_frac"]) > p.daylight_min_visible_frac)
        if self.uses_crew:
            code += 4 * (t >= self.crew_s)
        cuts = np.flatnonzero(code[1:] != code[:-1]) + 1
        bounds = [0, *cuts.tolist(), n]

        powered = np.zeros(n + 1, dtype=np.int64)  # powered[i]: powered steps in [0, i)
        np.cumsum(on, out=powered[1:])

        request = np.zeros(n)
        active_count = np.zeros(n, dtype=np.int64)
        completions = np.zeros(n, dtype=np.int64)
        data = np.zeros(n, dtype=np.int64)
        progress_step = np.zeros(n, dtype=np.int64)  # running seconds gained, all runs

        progress = list(state.progress_s)
        first_open = 0
        while first_open < len(progress) and progress[first_open] >= self.duration_s[first_open]:
            first_open += 1

        for a, b in zip(bounds[:-1], bounds[1:]):
            c = int(code[a])
            if not c & 1:  # not landed yet: nothing
                continue
            s = a
            while s < b:
                active = self._active(progress, first_open, c)
                level = float(p.standby_w)
                for i in active:  # fixed (queue) order: floating-point sums depend on it
                    level += self.power_w[i]
                end = b
                for i in active:
                    need = -(-(self.duration_s[i] - progress[i]) // step_s)
                    last = int(np.searchsorted(powered, powered[s] + need, side="left")) - 1
                    end = min(end, last + 1)
                request[s:end] = level
                active_count[s:end] = len(active)
                if active:
                    steps_on = powered[s + 1:end + 1] - powered[s]
                    for i in active:
                        p0, total = progress[i], self.duration_s[i]
                        prog = np.minimum(p0 + steps_on * step_s, total)
                        gained = np.diff(prog, prepend=p0)
                        progress_step[s:end] += gained
                        data[s:end] += np.diff(self._data(i, prog), prepend=self._data(i, p0))
                        progress[i] = int(prog[-1])
                        if progress[i] >= total:
                            completions[end - 1] += 1
                    while first_open < len(progress) and progress[first_open] >= self.duration_s[first_open]:
                        first_open += 1
                s = end

        request = np.where(self.operable(inputs, n), request, 0.0)  # a failed module asks for nothing
        power = np.where(on, request, 0.0)
        running = np.where(on, active_count, 0)
        completed = state.completed + np.cumsum(completions)
        experiment_s = state.experiment_s + np.cumsum(progress_step)
        demanding = deployed & (request > 0)
        end_state = ResearchState(
            progress_s=tuple(progress),
            completed=int(completed[-1]) if n else state.completed,
            experiment_s=int(experiment_s[-1]) if n else state.experiment_s,
            data_bytes=state.data_bytes + int(data.sum()),
            energy_mj=state.energy_mj + int(np.rint(power * (step_s * 1000.0)).astype(np.int64).sum()),
            powered_steps=state.powered_steps + int((deployed & on).sum()),
            shed_steps=state.shed_steps + int((demanding & ~on).sum()),
        )
        telemetry = {
            "requested_w": request,
            "power_w": power,
            "active_experiments": running,
            "scheduled_experiments": active_count,
            "completed_experiments": completed,
            "experiment_hours": experiment_s / 3600.0,
            "data_produced_bytes": data,
        }
        outputs = {**self.power_and_heat(request, on), "data": data}
        return Advance(outputs, telemetry, end_state)

    def variables(self, state: ResearchState) -> dict[str, float]:
        hours = self.clock.step_s / 3600.0
        out = {
            "completed_experiments_count": float(state.completed),
            "queued_experiments_count": float(len(state.progress_s) - state.completed),
            "experiment_hours": state.experiment_s / 3600.0,
            "data_produced_bytes": float(state.data_bytes),
            "energy_kwh": state.energy_mj / 3.6e9,
            "powered_hours": state.powered_steps * hours,
            "shed_hours": state.shed_steps * hours,
        }
        for k, e in enumerate(self.params.experiments):
            idx = np.flatnonzero(self.run_experiment == k)
            prog = [state.progress_s[i] for i in idx]
            out[f"{e.name}_completed_count"] = float(sum(pr >= self.duration_s[i] for pr, i in zip(prog, idx)))
            out[f"{e.name}_hours"] = sum(prog) / 3600.0
        return out
