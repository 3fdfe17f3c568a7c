"""Robot physics speed: episodes against bare PyBullet, and physics workers against one process.

    python bench/robots.py          # full: 16 rovers for 60 simulated seconds
    python bench/robots.py --quick  # 4 rovers for 10 s, for a smoke check

Figures (last line, one JSON object):
- bare_steps_per_s: bare PyBullet, the same heightfield and rover bodies built, wheels at a fixed
  speed, ``stepSimulation`` in a loop (robot-steps per wall second: robots x steps / s).
- episode_steps_per_s: ``physics.episode.drive`` for the same rovers and time (controllers, power
  and outcome checks, track sampling); episode_over_bare: its wall time over the bare loop's.
- workers_steps_per_s: the same fleet spread over one physics worker per CPU (Ray actors, the
  cluster up, the actors' start included); workers_speedup: over the one-process episode.
- hop_s: wall time of one 12 m hop, landing and settling included.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from physics.episode import RoverTask, World, drive, hop, spawn_height  # noqa: E402
from physics.report import Hop  # noqa: E402
from physics.robots import HopperBody, RoverBody, rover_urdf  # noqa: E402
from physics.terrain import Procedural, procedural  # noqa: E402


def fleet(n: int) -> list[RoverTask]:
    # Rows of rovers 4 m apart, each driving 40 m east.
    return [RoverTask((-20.0, -2.0 * n + 4.0 * i + 2.0), ((40.0, -2.0 * n + 4.0 * i + 2.0),)) for i in range(n)]


def bare(tile, tasks, seconds: float, rate_hz: float) -> float:
    """The same world built and stepped for the settling second and ``seconds`` more, with no
    controller, no state queries and no bookkeeping."""
    body = RoverBody()
    t0 = time.perf_counter()
    with World(tile, rate_hz) as world:
        p, c = world.p, world.client
        rovers = [world.load(rover_urdf(body), (t.start[0], t.start[1], spawn_height(tile, *t.start, body.wheel_radius_m + 0.05))) for t in tasks]
        for r in rovers:
            joints = list(range(p.getNumJoints(r, physicsClientId=c)))
            p.setJointMotorControlArray(r, joints, p.VELOCITY_CONTROL, targetVelocities=[body.max_wheel_speed_rad_s] * 4, forces=[body.motor_torque_nm] * 4, physicsClientId=c)
        for _ in range(int((seconds + 1.0) * rate_hz)):
            p.stepSimulation(physicsClientId=c)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 rovers for 10 simulated seconds")
    args = parser.parse_args()
    n, seconds, rate_hz = (4, 10.0, 240.0) if args.quick else (16, 60.0, 240.0)
    tile = procedural(7, Procedural(size_m=100.0, spacing_m=0.25))
    tasks = fleet(n)
    robot_steps = n * seconds * rate_hz
    figures: dict = {"rovers": n, "simulated_s": seconds, "rate_hz": rate_hz, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"}
    bare_s = min(bare(tile, tasks, seconds, rate_hz) for _ in range(2))
    figures["bare_steps_per_s"] = round(robot_steps / bare_s)
    t0 = time.perf_counter()
    # The settling second before driving is part of an episode; timed out at `seconds` of driving.
    drive(tile, tasks, rate_hz, max_s=seconds)
    episode_s = time.perf_counter() - t0
    figures["episode_steps_per_s"] = round(robot_steps / episode_s)
    figures["episode_over_bare"] = round(episode_s / bare_s, 3)
    print(f"{n} rovers x {seconds:g} s at {rate_hz:g} Hz: bare PyBullet {bare_s:.2f} s, episode {episode_s:.2f} s", file=sys.stderr)
    import ray

    from physics.workers import drive_fleet, worker_count

    ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        workers = worker_count("auto")
        t0 = time.perf_counter()
        drive_fleet(tile, tasks, workers=workers, max_s=seconds)
        workers_s = time.perf_counter() - t0
    finally:
        ray.shutdown()
    figures["workers"] = workers
    figures["workers_steps_per_s"] = round(robot_steps / workers_s)
    figures["workers_speedup"] = round(episode_s / workers_s, 3)
    print(f"on {workers} physics workers: {workers_s:.2f} s", file=sys.stderr)
    body = HopperBody()
    t0 = time.perf_counter()
    hop(tile, Hop(12.0, 45.0, 90.0).energy_j(body), 45.0, 90.0, body)
    figures["hop_s"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
