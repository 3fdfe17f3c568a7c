"""One robot episode in its own PyBullet DIRECT client: a rover traversing waypoints, or a hopper's
hop, on a terrain tile, with the robot's power drawn from the simulated joints.

The world is deterministic: no sleeping bodies, deterministic overlapping pairs, a fixed step of
1 / ``rate_hz`` and no solver randomness, so the same tile, robot and commands give the same
trajectory bit for bit (bullet3 issues 2442 and 3993: sleeping bodies break restored states). A
client is created where the episode runs and always disconnected (``World`` is a context manager).

Outcomes are reported as they happen and never counted as motion: ``arrived`` / ``landed``,
``tipped`` (the body's up axis more than 60 deg from vertical), ``stuck`` (under 5 cm of progress in
``stuck_s`` while driving), ``left_tile`` (within a body length of the tile's edge), ``timeout``.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from physics.robots import LUNAR_GRAVITY_M_S2, REGOLITH_FRICTION, ROLLING_RESISTANCE, WHEELS, HopperBody, RoverBody, hopper_urdf, rover_urdf
from physics.terrain import Tile, heightfield

TIP_DEG = 60.0


class World:
    """A PyBullet DIRECT client with lunar gravity and the tile as its ground."""

    def __init__(self, tile: Tile, rate_hz: float = 240.0):
        import pybullet as p

        self.p, self.tile, self.dt = p, tile, 1.0 / rate_hz
        self.client = p.connect(p.DIRECT)
        try:
            p.setGravity(0, 0, -LUNAR_GRAVITY_M_S2, physicsClientId=self.client)
            p.setTimeStep(self.dt, physicsClientId=self.client)
            p.setPhysicsEngineParameter(deterministicOverlappingPairs=1, numSolverIterations=50, physicsClientId=self.client)
            self.ground = heightfield(self.client, tile, REGOLITH_FRICTION)
        except Exception:
            p.disconnect(self.client)
            raise

    def __enter__(self) -> "World":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            self.p.disconnect(self.client)
            self.client = None

    def load(self, urdf: str, position: tuple[float, float, float], yaw_rad: float = 0.0) -> int:
        # loadURDF reads a file; the text is written to a private temporary one.
        with tempfile.NamedTemporaryFile("w", suffix=".urdf", delete=False) as f:
            f.write(urdf)
        try:
            body = self.p.loadURDF(f.name, basePosition=position, baseOrientation=self.p.getQuaternionFromEuler([0, 0, yaw_rad]),
                                   flags=self.p.URDF_USE_INERTIA_FROM_FILE, physicsClientId=self.client)
        finally:
            os.unlink(f.name)
        # No air: PyBullet's default damping (0.04) would shorten a 7 m hop by a fifth.
        for link in range(-1, self.p.getNumJoints(body, physicsClientId=self.client)):
            self.p.changeDynamics(body, link, activationState=self.p.ACTIVATION_STATE_DISABLE_SLEEPING, linearDamping=0.0, angularDamping=0.0,
                                  physicsClientId=self.client)
        return body

    def pose(self, body: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Position, linear velocity and the tilt of the body's up axis from vertical (deg)."""
        pos, orn = self.p.getBasePositionAndOrientation(body, physicsClientId=self.client)
        vel, _ = self.p.getBaseVelocity(body, physicsClientId=self.client)
        up_z = self.p.getMatrixFromQuaternion(orn)[8]
        return np.array(pos), np.array(vel), math.degrees(math.acos(max(-1.0, min(1.0, up_z))))

    def yaw(self, body: int) -> float:
        _, orn = self.p.getBasePositionAndOrientation(body, physicsClientId=self.client)
        return self.p.getEulerFromQuaternion(orn)[2]

    def step(self) -> None:
        self.p.stepSimulation(physicsClientId=self.client)


@dataclass
class Track:
    """What an episode did: samples every ``every`` steps, energy and the outcome."""

    t_s: list[float] = field(default_factory=list)
    x_m: list[float] = field(default_factory=list)
    y_m: list[float] = field(default_factory=list)
    z_m: list[float] = field(default_factory=list)
    tilt_deg: list[float] = field(default_factory=list)
    power_w: list[float] = field(default_factory=list)
    outcome: str = "timeout"
    energy_j: float = 0.0
    distance_m: float = 0.0
    duration_s: float = 0.0
    first_contact_m: tuple[float, float] | None = None  # a hop's first touch of the ground

    def sample(self, t: float, pos: np.ndarray, tilt: float, power: float) -> None:
        self.t_s.append(t)
        self.x_m.append(float(pos[0]))
        self.y_m.append(float(pos[1]))
        self.z_m.append(float(pos[2]))
        self.tilt_deg.append(tilt)
        self.power_w.append(power)

    def columns(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k), dtype=np.float64) for k in ("t_s", "x_m", "y_m", "z_m", "tilt_deg", "power_w")}


def spawn_height(tile: Tile, x: float, y: float, clearance_m: float) -> float:
    """Above the highest ground under a robot's footprint (spawning into a heightfield explodes)."""
    heights = [tile.height_at(min(max(x + dx, -tile.half_m), tile.half_m), min(max(y + dy, -tile.half_m), tile.half_m))
               for dx in (-0.5, 0, 0.5) for dy in (-0.5, 0, 0.5)]
    return max(heights) + clearance_m


@dataclass(frozen=True)
class RoverTask:
    """One rover of a fleet: where it starts and the waypoints it drives through (local metres)."""

    start: tuple[float, float]
    waypoints: tuple[tuple[float, float], ...]
    body: RoverBody = RoverBody()


def traverse(tile: Tile, waypoints: list[tuple[float, float]], body: RoverBody = RoverBody(), start: tuple[float, float] = (0.0, 0.0),
             rate_hz: float = 240.0, max_s: float = 1800.0, stuck_s: float = 20.0, every: int = 30, reach_m: float = 0.5) -> Track:
    """One rover's traverse (see :func:`drive`)."""
    return drive(tile, [RoverTask(tuple(start), tuple(map(tuple, waypoints)), body)], rate_hz, max_s, stuck_s, every, reach_m)[0]


def place_rovers(world: World, tasks: list[RoverTask]) -> tuple[list[int], list[list[int]]]:
    """Each task's rover at its start, facing its first waypoint, just above the ground, its wheels
    given the regolith's friction and rolling resistance: the bodies and their joints."""
    p, c = world.p, world.client
    rovers, joints = [], []
    for task in tasks:
        (x0, y0), body = task.start, task.body
        heading = math.atan2(task.waypoints[0][1] - y0, task.waypoints[0][0] - x0) if task.waypoints else 0.0
        rover = world.load(rover_urdf(body), (x0, y0, spawn_height(world.tile, x0, y0, body.wheel_radius_m + 0.05)), heading)
        js = list(range(p.getNumJoints(rover, physicsClientId=c)))
        for j in js:
            # Bullet combines rolling friction as this body's times the other's sliding friction (btManifoldResult).
            p.changeDynamics(rover, j, lateralFriction=REGOLITH_FRICTION, rollingFriction=ROLLING_RESISTANCE * body.wheel_radius_m / REGOLITH_FRICTION, physicsClientId=c)
        rovers.append(rover)
        joints.append(js)
    return rovers, joints


def drive(tile: Tile, tasks: list[RoverTask], rate_hz: float = 240.0, max_s: float = 1800.0, stuck_s: float = 20.0, every: int = 30,
          reach_m: float = 0.5, control_every: int = 10) -> list[Track]:
    """Drive a fleet of rovers in one world, all stepped together (they can meet): each at full
    speed along a heading controller towards its next waypoint, wheels under velocity control up
    to their torque limit. A rover's electrical power is its hotel load plus, per wheel, the shaft
    power tau x omega / efficiency when the motor drives (no regeneration). A rover that has
    finished (any outcome) brakes and stays where it is, an obstacle to the others. The controller
    (and the outcome checks) run every ``control_every`` physics steps, 24 Hz by default, as a
    rover's would; the joints' power is read at the same rate, after the physics steps, and held
    over them (the wheel speeds are the controller's, so the power only changes between its steps
    as the soil's load does)."""
    if every % control_every:
        raise ValueError(f"every: samples are taken at control steps, so every ({every}) must be a multiple of control_every ({control_every})")
    tracks = [Track() for _ in tasks]
    with World(tile, rate_hz) as world:
        p, c = world.p, world.client
        rovers, joints = place_rovers(world, tasks)
        # Settle on the ground before driving.
        for _ in range(int(rate_hz)):
            world.step()
        n = len(tasks)
        active = [True] * n
        target = [0] * n
        progress = [(world.pose(r)[0], 0.0) for r in rovers]
        steps = int(max_s * rate_hz)
        k = 0
        # Between control steps the world only steps: the bare loop's cost, nothing around it.
        for k in range(0, steps, control_every):
            if not any(active):
                break
            t = k * world.dt
            for i, (task, rover, track) in enumerate(zip(tasks, rovers, tracks)):
                if not active[i]:
                    continue
                pos, _, tilt = world.pose(rover)
                outcome = _rover_outcome(tile, task, pos, tilt, target, i, progress, t, stuck_s, reach_m)
                if outcome is not None:
                    track.outcome, active[i] = outcome, False
                    track.sample(t, pos, tilt, task.body.hotel_w)
                    track.duration_s = t
                    p.setJointMotorControlArray(rover, joints[i], p.VELOCITY_CONTROL, targetVelocities=[0.0] * len(joints[i]),
                                                forces=[task.body.motor_torque_nm] * len(joints[i]), physicsClientId=c)
                    continue
                wx, wy = task.waypoints[target[i]]
                error = (math.atan2(wy - pos[1], wx - pos[0]) - world.yaw(rover) + math.pi) % (2 * math.pi) - math.pi
                turn = max(-1.0, min(1.0, 2.0 * error))
                # Skid steering cannot turn a four-wheeler in place against the soil's friction, so
                # it always keeps some forward speed and turns on a tight arc.
                forward = max(0.3, math.cos(error))
                speeds = [task.body.max_wheel_speed_rad_s * max(-1.0, min(1.0, forward - (1.0 if name.endswith("left") else -1.0) * turn * 0.5)) for name in WHEELS]
                p.setJointMotorControlArray(rover, joints[i], p.VELOCITY_CONTROL, targetVelocities=speeds, forces=[task.body.motor_torque_nm] * len(joints[i]), physicsClientId=c)
                if k % every == 0:
                    track.sample(t, pos, tilt, task.body.hotel_w)
            block = min(control_every, steps - k)
            for _ in range(block):
                p.stepSimulation(physicsClientId=c)
            for i, (task, rover, track) in enumerate(zip(tasks, rovers, tracks)):
                if active[i]:
                    states = p.getJointStates(rover, joints[i], physicsClientId=c)
                    shaft = sum(max(0.0, st[1] * st[3]) for st in states)  # omega x applied torque, driving only
                    power = task.body.hotel_w + shaft / task.body.drive_efficiency
                    track.energy_j += power * world.dt * block
                    if k % every == 0:
                        track.power_w[-1] = power
        else:
            k = steps
        for i, (rover, track) in enumerate(zip(rovers, tracks)):
            if active[i]:  # timeout
                pos, _, tilt = world.pose(rover)
                track.sample(k * world.dt, pos, tilt, tasks[i].body.hotel_w)
                track.duration_s = k * world.dt
            xy = np.column_stack([track.x_m, track.y_m])
            track.distance_m = float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum())
    return tracks


def _rover_outcome(tile, task, pos, tilt, target, i, progress, t, stuck_s, reach_m) -> str | None:
    if tilt > TIP_DEG:
        return "tipped"
    if not tile.inside(pos[0], pos[1], max(task.body.chassis_m[:2])):
        return "left_tile"
    while target[i] < len(task.waypoints) and math.hypot(task.waypoints[target[i]][0] - pos[0], task.waypoints[target[i]][1] - pos[1]) < reach_m:
        target[i] += 1
    if target[i] >= len(task.waypoints):
        return "arrived"
    last, since = progress[i]
    if np.linalg.norm(pos[:2] - last[:2]) > 0.05:
        progress[i] = (pos, t)
    elif t - since > stuck_s:
        return "stuck"
    return None


def hop(tile: Tile, energy_j: float, elevation_deg: float, azimuth_deg: float = 90.0, body: HopperBody = HopperBody(),
        start: tuple[float, float] = (0.0, 0.0), rate_hz: float = 240.0, max_s: float = 120.0, every: int = 4) -> Track:
    """One hop: the spring's ``energy_j`` released at ``elevation_deg`` above the horizontal towards
    ``azimuth_deg`` (from north through east); PyBullet carries the flight in lunar gravity and
    resolves the landing and settling. The outcome is ``landed`` once the body is at rest."""
    if not 0.0 < energy_j <= body.max_spring_j:
        raise ValueError(f"energy_j: {energy_j} J is outside the spring's (0, {body.max_spring_j}] J")
    if not 0.0 < elevation_deg < 90.0:
        raise ValueError(f"elevation_deg: {elevation_deg} must lie between 0 and 90 deg")
    track = Track()
    with World(tile, rate_hz) as world:
        x0, y0 = start
        hopper = world.load(hopper_urdf(body), (x0, y0, spawn_height(tile, x0, y0, 0.02)))
        for link in (-1, 0):
            world.p.changeDynamics(hopper, link, lateralFriction=REGOLITH_FRICTION, physicsClientId=world.client)
        for _ in range(int(rate_hz)):
            world.step()
        v = body.launch_speed_m_s(energy_j)
        e, a = math.radians(elevation_deg), math.radians(azimuth_deg)
        velocity = [v * math.cos(e) * math.sin(a), v * math.cos(e) * math.cos(a), v * math.sin(e)]
        # Take-off: the leg has pushed the body clear of the ground (1 cm) at the launch speed.
        rest, orn = world.p.getBasePositionAndOrientation(hopper, physicsClientId=world.client)
        world.p.resetBasePositionAndOrientation(hopper, [rest[0], rest[1], rest[2] + 0.01], orn, physicsClientId=world.client)
        world.p.resetBaseVelocity(hopper, linearVelocity=velocity, angularVelocity=[0, 0, 0], physicsClientId=world.client)
        launched_at = world.pose(hopper)[0]
        airborne, rest_steps = True, 0
        steps = int(max_s * rate_hz)
        k = 0
        for k in range(steps):
            pos, vel, tilt = world.pose(hopper)
            if not tile.inside(pos[0], pos[1], body.foot_m[0]):
                track.outcome = "left_tile"
                break
            if airborne and k > 5 and world.p.getContactPoints(hopper, world.ground, physicsClientId=world.client):
                airborne = False
                track.first_contact_m = (float(pos[0]), float(pos[1]))
            if not airborne:
                rest_steps = rest_steps + 1 if np.linalg.norm(vel) < 0.02 else 0
                if rest_steps > rate_hz / 2:
                    track.outcome = "tipped" if tilt > TIP_DEG else "landed"
                    break
            if k % every == 0:
                track.sample(k * world.dt, pos, tilt, body.hotel_w)
            world.step()
        end, _, tilt = world.pose(hopper)
        track.sample(k * world.dt, end, tilt, body.hotel_w)
        track.duration_s = k * world.dt
        track.distance_m = float(np.linalg.norm(end[:2] - launched_at[:2]))
        # The spring is charged from the battery before the hop; the hotel load runs throughout.
        track.energy_j = energy_j / body.charge_efficiency + body.hotel_w * track.duration_s
    return track
