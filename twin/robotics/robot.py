"""What every robot kind shares: parameters, ports, telemetry and the model around the sortie
machine (twin.robotics.machine). A kind (rover, hopper) adds its own legs."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from twin.clock import unix_s
from twin.commands import CommandRefused
from twin.loads import LoadClass
from twin.model import Advance, Column, Model
from twin.params import Deployed, Strict
from twin.ports import DATA, POWER, POWERED, Port
from twin.robotics import machine
from twin.robotics.machine import AWAY, PHASES, Config, Leg, RobotState

TASK_CODES = {"idle": 0, "haul": 1, "survey": 2, "traverse": 3}
MAX_WAYPOINT_M = 1000.0


class TaskSpec(Strict):
    task: Literal["haul", "survey", "traverse", "idle"]
    waypoints: list[tuple[float, float]] = Field(default_factory=list, max_length=100, description="traverse: [east_m, north_m] of home, in order")

    @model_validator(mode="after")
    def _waypoints(self) -> "TaskSpec":
        if self.task == "traverse" and not self.waypoints:
            raise ValueError("a traverse needs waypoints: [[east_m, north_m], ...]")
        if self.task != "traverse" and self.waypoints:
            raise ValueError(f"{self.task} takes no waypoints (only traverse does)")
        for x, y in self.waypoints:
            if math.hypot(x, y) > MAX_WAYPOINT_M:
                raise ValueError(f"waypoint ({x:g}, {y:g}) m is more than {MAX_WAYPOINT_M:g} m from home")
        return self


class RobotParams(Deployed):
    dock: str | None = Field(default=None, description="the dock instance it charges at (default: the station's only dock)")
    task: list[TaskSpec] = Field(default_factory=lambda: [TaskSpec(task="survey")], max_length=100,
                                 description="haul | survey | traverse | idle, or a list of them (tables with waypoints for a traverse) done in turn, one sortie each")
    battery_wh: float = Field(default=1000.0, gt=0, le=1e6, description="battery capacity [U]")
    charger_w: float = Field(default=200.0, gt=0, le=1e5, description="charger power drawn from the station while docked [U]")
    charge_efficiency: float = Field(default=0.9, gt=0, le=1, description="charger and battery, station power to stored energy [U]")
    hotel_w: float = Field(default=25.0, ge=0, le=1e4, description="avionics, heaters and radio while awake (day) [U]")
    heater_w: float = Field(default=8.0, ge=0, le=1e4, description="hibernation heater through the night [U]")
    reserve_frac: float = Field(default=0.2, ge=0, lt=1, description="battery kept beyond what a sortie needs")
    recharge_frac: float = Field(default=0.8, gt=0, le=1, description="at home it asks for the dock below this charge")
    depart_frac: float = Field(default=0.9, gt=0, le=1, description="from the dock it leaves once charged to this")
    retry_h: float = Field(default=1.0, gt=0, le=1000, description="a refused load is offered again after this")
    recovery_h: float = Field(default=2.0, ge=0, le=1000, description="time to get free after getting stuck or tipping over [U]")
    spots: int = Field(default=8, ge=1, le=64, description="work spots around home, one drawn per sortie")
    spot_min_m: float = Field(default=40.0, gt=0, le=MAX_WAYPOINT_M, description="nearest work spot from home")
    spot_max_m: float = Field(default=200.0, gt=0, le=MAX_WAYPOINT_M, description="farthest work spot from home")
    survey_h: float = Field(default=2.0, gt=0, le=1000, description="survey time at a spot")
    survey_w: float = Field(default=20.0, ge=0, le=1e4, description="instruments' draw while surveying [U]")
    survey_data_bps: float = Field(default=20000.0, ge=0, le=1e9, description="survey data rate while surveying, for the communications store [U]")

    @field_validator("task", mode="before")
    @classmethod
    def _tasks(cls, value):
        items = value if isinstance(value, list) else [value]
        return [{"task": item} if isinstance(item, str) else item for item in items]

    @model_validator(mode="after")
    def _order(self) -> "RobotParams":
        if self.spot_min_m > self.spot_max_m:
            raise ValueError("spot_min_m must not exceed spot_max_m")
        if self.recharge_frac > self.depart_frac:
            raise ValueError("recharge_frac must not exceed depart_frac")
        if len(self.task) > 1 and any(t.task == "idle" for t in self.task):
            raise ValueError("task: idle cannot be part of a list (a robot with nothing to do is task = \"idle\")")
        return self

    def peak_power_w(self) -> float:
        return self.charger_w + max(self.hotel_w, self.heater_w)

    @property
    def sortie_tasks(self) -> list[TaskSpec]:
        return [t for t in self.task if t.task != "idle"]


ROBOT_PORTS = (
    POWER,
    POWERED,
    DATA,
    Port("dock", "signal:dock", "1", "out", "1 while it asks for the dock or charges there"),
    # The dock serves by rank: a robot needs only the claims of those ranked before it, passed
    # down the chain of its dock's robots, so no answer has to come back (no feedback, no cut).
    Port("dock_claimed", "signal:dock_claim", "1", "out", "1 while it or a robot ranked before it at its dock asks for the dock or charges there, or the dock has not landed (for the next robot)", auto=False),
    Port("dock_ahead", "signal:dock_claim", "1", "in", "the dock_claimed of the robot ranked just before it (the first robot has none)"),
)

ROBOT_COLUMNS = {
    "x_m": Column("m", "level", "position east of home at the end of the step"),
    "y_m": Column("m", "level", "position north of home at the end of the step"),
    "heading_deg": Column("deg", "state", "heading, from north through east"),
    "speed_m_s": Column("m/s", "rate", "mean ground speed over the step"),
    "battery_wh": Column("Wh", "level", "battery charge at the end of the step"),
    "task": Column("1", "state", "task of the sortie under way: 0 none, 1 haul, 2 survey, 3 traverse"),
    "state": Column("1", "state", "phase: " + ", ".join(f"{i} {name}" for i, name in enumerate(PHASES))),
    "distance_m": Column("m", "cumulative", "distance driven or hopped since landing"),
    "energy_used_wh": Column("Wh", "cumulative", "energy taken from the battery since landing"),
    "power_w": Column("W", "rate", "power drawn from the station (charger and hotel or heater, while docked and powered)"),
    "data_bytes": Column("bytes", "amount", "survey data produced this step"),
}


@dataclass(frozen=True)
class Sortie:
    """A planned sortie's legs and its (surrogate) energy."""

    legs: tuple[Leg, ...]
    energy_mj: int


def _mj(joules: float) -> int:
    return int(round(joules * 1000.0))


class RobotModel(Model):
    """Base of the robot kinds: a kind sets ``task_names`` it accepts and builds legs."""

    environment = ("sun_visible_frac",)
    state_types = (RobotState, Leg)
    commands = {
        "recall": "an outbound or working robot turns home now, from where it is (as at sunset; counted in aborts_count)",
        "hold": "it leaves on no new sortie until released (it still charges, and a robot away comes home as planned)",
        "release": "it takes up its task cycle again",
    }
    command_message = "services.gen.ilrs.twin.v1.robotics_pb2:RobotCommand"
    hauls: ClassVar[bool] = False
    robot: ClassVar[str]  # the physics table's robot name

    def __init__(self, id: str, params: RobotParams, clock, seed: int):
        super().__init__(id, params, clock, seed)
        self.step_s = int(clock.step_s)
        p = params
        self.landing_step = max(0, -(-(unix_s(p.deployed) - clock.start_unix_s) // self.step_s))
        self.tasks = p.sortie_tasks
        self.scenario = None
        self.next_at_dock: str | None = None  # the robot ranked just after it at its dock
        self.dock_from_step = 0  # the dock's landing
        self._config = None
        self._costs: dict = {}

    @property
    def load_class(self) -> LoadClass:
        return LoadClass.ISRU

    def declared_connections(self):
        found = (("dock", self.params.dock, "dock", "dock"),) if self.params.dock else ()
        if self.next_at_dock is not None:
            found += (("dock_claimed", self.next_at_dock, "dock_ahead", "dock"),)
        return found

    # -- placing on the site ----------------------------------------------------------------------
    def place(self, scenario) -> None:
        from twin.robotics.ground import check_path, site_tile

        self.scenario = scenario
        p = self.params
        self._queue(scenario)
        far = max(((math.hypot(x, y), i, x, y) for i, t in enumerate(self.tasks) for x, y in t.waypoints), default=None)
        reach = max(p.spot_max_m, far[0] if far else 0.0)
        try:
            self.tile = site_tile(scenario.site, 2.0 * reach + 60.0)
        except ValueError as exc:
            if far is not None and far[0] > p.spot_max_m:  # the farthest waypoint sets the tile: name it
                _, i, x, y = far
                raise ValueError(f"task[{i}].waypoints: ({x:g}, {y:g}) m is off the robots' terrain: the site's elevation model gives no "
                                 f"{2 * reach + 60:.0f} m tile around the station ({exc})") from None
            raise ValueError(f"spot_max_m: the robots' terrain ({2 * reach + 60:.0f} m around the station) cannot be cut from the site's elevation model ({exc})") from None
        for i, task in enumerate(self.tasks):
            if task.waypoints:
                check_path(self.tile, [(0.0, 0.0), *task.waypoints, (0.0, 0.0)], self.max_grade_deg, f"task[{i}].waypoints")
        self.spot_xy = self._pick_spots()
        from physics.tables import TableMissing

        try:
            self.config()  # a sortie the battery cannot hold is bad input, found before anything runs
        except TableMissing:
            pass  # calibrated before the run (ensure_tables), which checks the sorties then

    def _queue(self, scenario) -> None:
        """Its dock (the parameter, or the station's only dock), the dock's landing and the robot
        ranked just after it there (the dock's ``priority``, then the rest by id)."""
        docks = {id: m for id, m in scenario.modules.items() if m.kind == "dock"}
        dock = self.params.dock if self.params.dock is not None else (next(iter(docks)) if len(docks) == 1 else None)
        if dock not in docks:
            return  # no dock, or one the station's wiring will name as missing
        self.dock_from_step = max(0, -(-(unix_s(docks[dock].params.deployed) - self.clock.start_unix_s) // self.step_s))
        robots = sorted(id for id, m in scenario.modules.items() if isinstance(m.params, RobotParams)
                        and (m.params.dock if m.params.dock is not None else (dock if len(docks) == 1 else None)) == dock)
        ranked = [r for r in docks[dock].params.priority if r in robots] + [r for r in robots if r not in docks[dock].params.priority]
        at = ranked.index(self.id)
        self.next_at_dock = ranked[at + 1] if at + 1 < len(ranked) else None

    @property
    def max_grade_deg(self) -> float:
        return 15.0

    def _pick_spots(self) -> list[tuple[float, float]]:
        """Work spots: seeded draws at spot_min_m-spot_max_m from home whose straight way is
        within the grades the robot is calibrated for (a planner keeps it off steeper ground)."""
        from twin.robotics.ground import path_grades

        p = self.params
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 7]))
        spots = []
        for _ in range(200 * p.spots):
            if len(spots) == p.spots:
                break
            r = math.sqrt(rng.uniform(p.spot_min_m**2, p.spot_max_m**2))
            a = rng.uniform(0.0, 2.0 * math.pi)
            x, y = round(r * math.sin(a), 1), round(r * math.cos(a), 1)
            if np.max(np.abs(path_grades(self.tile, (0.0, 0.0), (x, y)))) <= self.max_grade_deg:
                spots.append((x, y))
        if len(spots) < p.spots:
            raise ValueError(f"spot_max_m: fewer than {p.spots} work spots within {p.spot_max_m:g} m can be reached under {self.max_grade_deg:g} deg")
        return spots

    # -- costs ------------------------------------------------------------------------------------
    def table(self):
        from physics.tables import load

        return load(self.robot, self.body)

    def steps_of(self, seconds: float) -> int:
        return max(1, int(math.ceil(seconds / self.step_s)))

    def config(self) -> Config:
        if self._config is None:
            p, s = self.params, self.step_s
            cap = _mj(p.battery_wh * 3600.0)
            need = tuple(max(self.sortie(i, spot, physics=False).energy_mj for spot in range(len(self.spot_xy))) for i in range(len(self.tasks)))
            for i, n in enumerate(need):
                if n + _mj(p.reserve_frac * p.battery_wh * 3600) > cap:
                    raise ValueError(f"task[{i}]: its costliest sortie needs {n / 3.6e6:.0f} Wh plus the reserve, more than the {p.battery_wh:g} Wh battery")
            self._config = Config(self.landing_step, s, cap, _mj(p.charger_w * p.charge_efficiency * s), p.charger_w, p.hotel_w, p.heater_w,
                                  _mj(p.hotel_w * s), _mj(p.heater_w * s), _mj(p.reserve_frac * p.battery_wh * 3600), _mj(p.recharge_frac * p.battery_wh * 3600),
                                  _mj(p.depart_frac * p.battery_wh * 3600), max(1, int(round(p.retry_h * 3600 / s))), len(self.tasks), need)
        return self._config

    def work_leg(self, task: TaskSpec, x: int, y: int, load_g: int) -> Leg | None:
        """The work at a spot (a kind may dig there as well)."""
        p = self.params
        if task.task != "survey":
            return None
        steps = self.steps_of(p.survey_h * 3600)
        return Leg(machine.WORKING, x, y, x, y, steps, _mj((p.survey_w + p.hotel_w) * steps * self.step_s),
                   data_bytes=int(p.survey_data_bps * steps * self.step_s // 8))

    def sortie(self, task_index: int, spot: int, physics: bool, draws=(1.0, 0.0)) -> Sortie:
        """The legs of one sortie (costed by the surrogate, or by full physics); ``draws`` decide
        whether and where it fails."""
        key = (task_index, spot, physics)
        if key not in self._costs:
            self._costs[key] = self._legs(task_index, spot, physics)
        legs, fail_p, energy_mj = self._costs[key]
        u_fail, u_where = draws
        if u_fail < fail_p and not any(leg.fail_at >= 0 for leg in legs):
            first = legs[0]
            legs = (_with(first, fail_at=min(first.steps, 1 + int(u_where * first.steps))), *legs[1:])
        return Sortie(legs, energy_mj)

    def _legs(self, task_index: int, spot: int, physics: bool) -> tuple[tuple[Leg, ...], float, int]:
        """A sortie's legs as driven, the odds that the surrogate's ground stops it, its energy."""
        task = self.tasks[task_index]
        points = [(0.0, 0.0), *task.waypoints] if task.task == "traverse" else [(0.0, 0.0), self.spot_xy[spot]]
        legs: list[Leg] = []
        ok = 1.0
        load_g = 0
        for a, b in zip(points, points[1:]):
            leg, p_ok = self.move(machine.OUTBOUND, a, b, load_g, physics)
            legs.append(leg)
            ok *= p_ok
        end = legs[-1]
        work = self.work_leg(task, end.x1, end.y1, load_g)
        if work is not None:
            legs.append(work)
            load_g += work.dig_g
        back, p_ok = self.move(machine.INBOUND, (end.x1 / 1000, end.y1 / 1000), (0.0, 0.0), load_g, physics)
        legs.append(back)
        return tuple(legs), 1.0 - ok * p_ok, sum(leg.energy_mj for leg in legs)

    def plan(self, rng: np.random.Generator):
        """The planner's draws for one sortie (always three), and the legs."""
        def plan(task_index: int, step: int):
            spot = int(rng.integers(len(self.spot_xy)))
            u = rng.random(2)
            physics = self.scenario is not None and self.scenario.robotics.physics_at(self.clock.start_unix_s + step * self.step_s)
            return self.sortie(task_index, spot, bool(physics), (float(u[0]), float(u[1]))).legs
        return plan

    def return_leg(self, x_mm: int, y_mm: int, bin_g: int) -> Leg:
        key = ("home", x_mm, y_mm, bin_g)
        if key not in self._costs:
            self._costs[key] = self.move(machine.INBOUND, (x_mm / 1000, y_mm / 1000), (0.0, 0.0), bin_g, False)[0]
        return self._costs[key]

    def recovery(self, x_mm: int, y_mm: int) -> Leg:
        steps = self.steps_of(self.params.recovery_h * 3600)
        return Leg(machine.RECOVERING, x_mm, y_mm, x_mm, y_mm, steps, _mj(self.params.hotel_w * steps * self.step_s))

    def move(self, phase: int, a, b, load_g: int, physics: bool) -> tuple[Leg, float]:
        raise NotImplementedError

    # -- the model contract -----------------------------------------------------------------------
    def initial_state(self) -> RobotState:
        return machine.initial(Config(self.landing_step, self.step_s, _mj(self.params.battery_wh * 3600), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ()))

    def advance(self, state, window, env, inputs, rng) -> Advance:
        n = window.steps
        night = np.asarray(env["sun_visible_frac"]) <= 0.0
        powered = self.powered(inputs, n)
        # Taken by a robot ranked before it (or not landed yet): asking is then being refused.
        refused_dock = window.start_step + np.arange(n) < self.dock_from_step
        for route in self.inputs_of("dock_ahead"):
            refused_dock |= np.asarray(inputs[route.in_key]) > 0.5
        refused_g = np.zeros(n, dtype=np.int64)
        for route in self.inputs_of("regolith_refused"):
            refused_g += np.rint(np.asarray(inputs[route.in_key]) * 1000.0).astype(np.int64)
        out, end = machine.run(self.config(), state, window.start_step, n, night, powered, refused_dock, refused_g, self.plan(rng), self.return_leg,
                               self.recovery, self.hauls)
        codes = np.array([TASK_CODES[t.task] for t in self.tasks] or [0], dtype=np.float64)
        # The task under way is the one before the cycle's next (out.task); away phases are a range.
        away = (out.phase >= AWAY[0]) & (out.phase <= AWAY[-1])
        task = np.where(away, np.take(codes, out.task - 1, mode="wrap"), 0.0)
        data = out.data_bytes.astype(np.float64)
        telemetry = {
            "x_m": out.x_mm / 1000.0, "y_m": out.y_mm / 1000.0, "heading_deg": out.heading_cdeg / 100.0, "speed_m_s": out.speed_m_s,
            "battery_wh": out.battery_mj / 3.6e6, "task": task, "state": out.phase.astype(np.float64),
            "distance_m": out.distance_mm / 1000.0, "energy_used_wh": out.used_mj / 3.6e6, "power_w": out.drawn_w, "data_bytes": data,
        }
        telemetry.update(self.extra_telemetry(out))
        outputs = {"power": out.power_w, "dock": out.dock, "data": data.copy()}
        if self.next_at_dock is not None:
            outputs["dock_claimed"] = np.maximum(out.dock, refused_dock)
        if self.hauls:
            outputs["regolith"] = out.regolith_g / 1000.0
        return Advance(outputs, telemetry, end)

    def extra_telemetry(self, out) -> dict[str, np.ndarray]:
        return {}

    def fill_state_message(self, message, state: RobotState, variables) -> None:
        super().fill_state_message(message, state, variables)
        message.phase = state.phase + 1  # RobotPhase: 0 is UNSPECIFIED

    def variables(self, state: RobotState) -> dict[str, float]:
        landed = max(state.landed_steps, 1)
        return {
            "state": float(state.phase),
            "x_m": state.x_mm / 1000.0,
            "y_m": state.y_mm / 1000.0,
            "battery_kwh": state.battery_mj / 3.6e9,
            "battery_frac": state.battery_mj / max(_mj(self.params.battery_wh * 3600), 1),
            "distance_km": state.distance_mm / 1e6,
            "sorties_count": float(state.sorties),
            "survey_data_bytes": float(state.data_bytes),
            "charged_kwh": state.charged_mj / 3.6e9,
            "grid_kwh": state.grid_mj / 3.6e9,
            "energy_used_kwh": state.used_mj / 3.6e9,
            "availability_frac": state.available_steps / landed if state.landed_steps else 0.0,
            "failures_count": float(state.failures),
            "aborts_count": float(state.aborts),
            "landed_hours": state.landed_steps * self.step_s / 3600.0,
            "held_state": float(state.held),
        }

    def command(self, state: RobotState, command):
        from dataclasses import replace

        name = command.name
        if name == "recall":
            if state.phase not in (machine.OUTBOUND, machine.WORKING):
                raise CommandRefused(f"{self.id}: nothing to recall: it is {PHASES[state.phase]} (a robot outbound or working can be recalled)")
            return machine.recall(state, command.step, self.return_leg)
        if name in ("hold", "release"):
            if state.phase == machine.DEAD:
                raise CommandRefused(f"{self.id}: it is dead (its battery ran flat)")
            if state.held == (name == "hold"):
                raise CommandRefused(f"{self.id}: it is {'held' if state.held else 'not held'} already")
            return replace(state, held=name == "hold")
        return super().command(state, command)


def _with(leg: Leg, **changes) -> Leg:
    from dataclasses import replace

    return replace(leg, **changes)


def ensure_tables(models, workers: int | str = "auto", progress=None) -> None:
    """Every robot's surrogate table at hand before a run: loaded, or else calibrated on the
    physics workers (in the runtime's Ray, or a Ray started for it) into the table cache, where
    the robots' actors find it; then each robot's sorties checked against its battery."""
    from physics.tables import TableMissing, ensure

    robots = [m for m in models.values() if isinstance(m, RobotModel)]
    missing = {}
    for model in robots:
        try:
            model.table()
        except TableMissing:
            missing[(model.robot, model.body)] = model
    if missing:
        import ray

        started = not ray.is_initialized()
        if started:
            ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        try:
            for robot, body in missing:
                ensure(robot, body, workers=workers, progress=progress)
        finally:
            if started:
                ray.shutdown()
    for model in robots:
        try:
            model.config()
        except ValueError as exc:
            from twin.station import StationError

            raise StationError(f"modules.{model.id}", str(exc)) from None
