"""A mini-rover of the surface fleet (twin.robotics): haul regolith to the ISRU hopper, survey,
or traverse waypoints, one sortie at a time from home, charging at the dock.

Legs are costed on the site's own terrain (twin.robotics.ground): by the rover's surrogate table
(physics/surrogate.py: speed, drive energy per metre and failure fraction against grade and load,
calibrated in PyBullet), or driven in full PyBullet physics for sorties within the scenario's
``[robotics] physics_ranges`` (one DIRECT client in the process the instance runs in). A haul
digs at ``dig_kg_per_h`` until the bin holds ``bin_kg`` and drives home loaded; the load is offered
to the hopper, which may refuse what does not fit (the rover keeps it and offers it again).
"""
from __future__ import annotations

import math
from dataclasses import replace

from pydantic import Field

from twin.kinds.rover.columns import COLUMNS
from twin.robotics import machine
from twin.robotics.machine import Leg
from twin.robotics.robot import ROBOT_PORTS, RobotModel, RobotParams, TaskSpec, _mj
from twin.ports import Port


class RoverParams(RobotParams):
    home: str | None = Field(default=None, description="the ISRU instance its hauls go to (default: the station's only regolith hopper)")
    task: list[TaskSpec] = Field(default_factory=lambda: [TaskSpec(task="haul")], max_length=100,
                                 description="haul | survey | traverse | idle, or a list of them (tables with waypoints for a traverse) done in turn, one sortie each")
    max_speed_m_s: float = Field(default=0.3, gt=0, le=0.3, description="speed limit, on the surrogate and in full physics (whose wheels are commanded no faster); the wheels' limit is 0.3 m/s (RoverBody: 2.5 rad/s x 0.12 m)")
    dig_kg_per_h: float = Field(default=10.0, gt=0, le=1000, description="digging rate into the bin [U]")
    dig_w: float = Field(default=100.0, ge=0, le=1e4, description="excavator's draw while digging [U]")
    bin_kg: float = Field(default=20.0, gt=0, le=30, description="bin capacity; at most the 30 kg load the surrogate is calibrated for [U]")


class RoverModel(RobotModel):
    kind = "rover"
    summary = "surface mini-rover: hauls regolith to ISRU, surveys, traverses; charges at a dock (PyBullet-calibrated surrogate or full physics)"
    Params = RoverParams
    robot = "rover"
    hauls = True
    ports = ROBOT_PORTS + (
        Port("regolith", "mass:regolith", "kg per step", "out", "the bin's load, offered to the hopper on coming home", reply="regolith_refused"),
        Port("regolith_refused", "mass:regolith", "kg per step", "in", "what the hopper refused (kept in the bin, offered again)", feedback=True, assume=0.0),
    )
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.robotics_pb2:RoverState"

    @property
    def body(self):
        from physics.robots import RoverBody

        return RoverBody()

    def declared_connections(self):
        own = (("regolith", self.params.home, "regolith", "home"),) if self.params.home else ()
        return super().declared_connections() + own

    def place(self, scenario) -> None:
        from twin.registry import get

        if any(t.task == "haul" for t in self.tasks):
            takes = [id for id, i in scenario.modules.items() if any(p.quantity == "mass:regolith" and p.direction == "in" and not p.feedback for p in get(i.kind).ports)]
            if not takes:
                raise ValueError("task: a haul needs a regolith hopper to haul to (an ISRU plant: [modules.isru])")
        super().place(scenario)

    def work_leg(self, task: TaskSpec, x: int, y: int, load_g: int) -> Leg | None:
        p = self.params
        if task.task != "haul":
            return super().work_leg(task, x, y, load_g)
        steps = self.steps_of(p.bin_kg / p.dig_kg_per_h * 3600)
        return Leg(machine.WORKING, x, y, x, y, steps, _mj((p.dig_w + p.hotel_w) * steps * self.step_s), dig_g=int(round(p.bin_kg * 1000)))

    def move(self, phase: int, a, b, load_g: int, physics: bool) -> tuple[Leg, float]:
        from twin.robotics.ground import drive_physics, drive_surrogate

        length = math.hypot(b[0] - a[0], b[1] - a[1])
        x0, y0, x1, y1 = (int(round(v * 1000)) for v in (*a, *b))
        if physics:
            rate = self.scenario.robotics.rate_hz
            body = self.body
            if self.params.max_speed_m_s < body.max_speed_m_s:  # the limit holds in PyBullet too: its wheels turn no faster
                body = replace(body, max_wheel_speed_rad_s=self.params.max_speed_m_s / body.wheel_radius_m)
            time_s, energy_j, outcome, reached = drive_physics(self.tile, a, b, load_g / 1000.0, rate, body=body)
            if outcome != "arrived":
                rx, ry = (int(round(v * 1000)) for v in reached)
                steps = self.steps_of(time_s)
                moved = int(round(math.hypot(reached[0] - a[0], reached[1] - a[1]) * 1000))
                # The episode is the stretch driven until it stopped: all of it is driven (its time,
                # energy and way to where it stopped), then it fails there (fail_at: steps done first).
                return Leg(phase, x0, y0, rx, ry, steps, _mj(energy_j), moved, fail_at=steps), 1.0
            return Leg(phase, x0, y0, x1, y1, self.steps_of(time_s), _mj(energy_j), int(round(length * 1000))), 1.0
        time_s, energy_j, fail_p = drive_surrogate(self.table(), self.tile, a, b, load_g / 1000.0, self.params.max_speed_m_s)
        return Leg(phase, x0, y0, x1, y1, self.steps_of(time_s), _mj(energy_j), int(round(length * 1000))), 1.0 - fail_p

    def extra_telemetry(self, out):
        return {"regolith_offered_kg": out.regolith_g / 1000.0, "regolith_refused_kg": out.refused_g / 1000.0, "bin_kg": out.bin_g / 1000.0}

    def variables(self, state):
        return {**super().variables(state), "bin_kg": state.bin_g / 1000.0, "regolith_offered_kg": state.offered_g / 1000.0,
                "regolith_delivered_kg": state.delivered_g / 1000.0, "regolith_refused_kg": state.refused_g / 1000.0}
