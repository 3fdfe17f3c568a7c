"""A jumping robot of the surface fleet (twin.robotics): survey sorties made of spring hops.

Each hop charges the spring from the battery (at ``spring_charge_w``) and releases it at the
table's launch elevation; its energy, time and odds of ending on its side come from the hopper's
surrogate table (physics/surrogate.py: range against the spring's energy, calibrated in PyBullet
against R = v^2 sin(2 theta) / g), or from a PyBullet hop for sorties within ``[robotics]
physics_ranges``. A way of d metres is ceil(d / hop_m) equal hops. A hopper that lands on its side
rights itself (``recovery_h``, counted as a failure) and heads home.
"""
from __future__ import annotations

import math

from pydantic import Field, field_validator

from twin.kinds.hopper.columns import COLUMNS
from twin.robotics.machine import Leg
from twin.robotics.robot import ROBOT_PORTS, RobotModel, RobotParams, TaskSpec, _mj


def max_hop_m() -> float:
    """The farthest hop of the default body: the spring's full energy at 45 deg, R = v^2 / g."""
    from physics.robots import LUNAR_GRAVITY_M_S2, HopperBody

    body = HopperBody()
    return body.launch_speed_m_s(body.max_spring_j) ** 2 / LUNAR_GRAVITY_M_S2


class HopperParams(RobotParams):
    task: list[TaskSpec] = Field(default_factory=lambda: [TaskSpec(task="survey")], max_length=100, description="survey or idle, or a list of surveys")
    battery_wh: float = Field(default=300.0, gt=0, le=1e6, description="battery capacity [U]")
    charger_w: float = Field(default=60.0, gt=0, le=1e5, description="charger power drawn from the station while docked [U]")
    hotel_w: float = Field(default=8.0, ge=0, le=1e4, description="avionics and radio while awake (day); the body's 8 W [U]")
    heater_w: float = Field(default=3.0, ge=0, le=1e4, description="hibernation heater through the night [U]")
    hop_m: float = Field(default=8.0, gt=0, le=100, description="length of one hop (at most the spring's full-energy hop, 24.7 m for the default body)")
    spring_charge_w: float = Field(default=30.0, gt=0, le=1e4, description="power that charges the spring between hops [U]")
    survey_h: float = Field(default=1.0, gt=0, le=1000, description="survey time at a spot")
    survey_w: float = Field(default=5.0, ge=0, le=1e4, description="instruments' draw while surveying [U]")
    survey_data_bps: float = Field(default=10000.0, ge=0, le=1e9, description="survey data rate while surveying [U]")
    spot_min_m: float = Field(default=30.0, gt=0, le=1000, description="nearest survey spot from home")
    spot_max_m: float = Field(default=120.0, gt=0, le=1000, description="farthest survey spot from home")

    @field_validator("hop_m")
    @classmethod
    def _possible(cls, value: float) -> float:
        top = max_hop_m()
        if value > top:
            raise ValueError(f"an impossible hop: {value:g} m is beyond the {top:.1f} m the spring gives at full energy (200 J at 45 deg)")
        return value

    @field_validator("task")
    @classmethod
    def _surveys(cls, value):
        for t in value:
            if t.task not in ("survey", "idle"):
                raise ValueError(f"a hopper surveys (or idles); {t.task!r} is a rover's task")
        return value


class HopperModel(RobotModel):
    kind = "hopper"
    summary = "surface jumping robot: survey sorties by spring hops (PyBullet-calibrated hop table or full physics); charges at a dock"
    Params = HopperParams
    robot = "hopper"
    ports = ROBOT_PORTS
    telemetry_columns = COLUMNS
    state_message = "services.gen.ilrs.twin.v1.robotics_pb2:HopperState"

    @property
    def body(self):
        from physics.robots import HopperBody

        return HopperBody()

    @property
    def max_grade_deg(self) -> float:
        return 30.0  # a hopper jumps over what a rover cannot drive

    def move(self, phase: int, a, b, load_g: int, physics: bool) -> tuple[Leg, float]:
        p = self.params
        length = math.hypot(b[0] - a[0], b[1] - a[1])
        x0, y0, x1, y1 = (int(round(v * 1000)) for v in (*a, *b))
        if length == 0.0:
            return Leg(phase, x0, y0, x1, y1, 1, 0), 1.0
        hops = max(1, math.ceil(length / p.hop_m))
        table = self.table()
        spring_j, duration_s, battery_j, failure = table.cost(length / hops)
        charge_s = spring_j / self.body.charge_efficiency / p.spring_charge_w
        fail_at = -1
        if physics:
            from physics.episode import hop

            azimuth = math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) % 360.0
            track = hop(self.tile, spring_j, table.elevation_deg, azimuth, self.body, start=tuple(a), rate_hz=self.scenario.robotics.rate_hz)
            duration_s = track.duration_s
            battery_j = track.energy_j
            failure = 0.0
            if track.outcome != "landed":
                # Not upright at rest: the leg is that one hop, to where it came to rest, and it
                # fails there once hopped (fail_at: all the leg's steps done first).
                hops, fail_at = 1, 0
                if track.x_m:
                    x1, y1 = int(round(track.x_m[-1] * 1000)), int(round(track.y_m[-1] * 1000))
                    length = math.hypot(track.x_m[-1] - a[0], track.y_m[-1] - a[1])
        per_hop_s = charge_s + duration_s
        steps = self.steps_of(hops * per_hop_s)
        energy = hops * (battery_j + p.hotel_w * charge_s)
        leg = Leg(phase, x0, y0, x1, y1, steps, _mj(energy), int(round(length * 1000)), hops=hops, fail_at=steps if fail_at == 0 else -1)
        return leg, (1.0 - failure) ** hops

    def extra_telemetry(self, out):
        return {"hops": out.hops.astype("float64")}

    def variables(self, state):
        return {**super().variables(state), "hops_count": float(state.hops)}
