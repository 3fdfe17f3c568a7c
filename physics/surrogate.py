"""Surrogate tables for decade-long campaigns, calibrated by running the physics.

A rover's table holds, against the grade of its path (deg, uphill positive) and the load it
carries (kg), its mean speed (m/s), its drive energy per metre (J/m, beyond the hotel load) and
the fraction of calibration runs that ended stuck or tipped. Each entry comes from full-physics
traverses on seeded rough tiles tilted to that grade (``calibrate``); a traverse estimate then
integrates the table along a path on any tile, segment by segment at the tile's own grade, so
a ten-year campaign costs a table lookup per drive instead of a PyBullet episode.

A hopper's table holds, against the spring's energy (J) at one launch elevation, the range to
the first touch of the ground (m), the distance from launch to where the hopper comes to rest
(it slides and may tumble after touching down), the time from launch to rest (s) and the
fraction of hops that did not end upright at rest (tipped, left the tile or timed out). Each
entry comes from full-physics hops on seeded rough tiles, from several start points and
azimuths (``calibrate_hopper``); ``HopperTable.energy_for`` inverts the range curve, and a hop's
battery energy is the spring's energy over the charge efficiency plus the hotel load while it
flies and settles (as :func:`physics.episode.hop` counts it).

Tables are written as Parquet with the robot's parameters and the calibration's settings in the
file's metadata, and a hash of them, of the physics code and of the physics engine's version in
the file name (``rover-<key>.parquet``, ``hopper-<key>.parquet``): a change of robot, settings or
physics never reads a stale table, and the name does not depend on numpy's or any other
package's version, so a table shipped with the code keeps its name wherever it is installed.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from physics.episode import RoverTask, Track
from physics.robots import LUNAR_GRAVITY_M_S2, HopperBody, RoverBody
from physics.terrain import Procedural, Tile, procedural

VERSION = 1
# Modules whose source decides a table's figures (a change of them is a new table).
PHYSICS = ("physics.episode", "physics.robots", "physics.terrain", "physics.surrogate")
# Packages whose version decides them: the physics engine (numpy's patch release does not).
ENGINE = ("pybullet",)


@dataclass(frozen=True)
class Calibration:
    grades_deg: tuple[float, ...] = (-15.0, -10.0, -5.0, 0.0, 5.0, 10.0, 15.0)
    loads_kg: tuple[float, ...] = (0.0, 15.0, 30.0)
    path_m: float = 16.0
    lanes: int = 3  # runs per grade and load, side by side on one tile
    seed: int = 7
    rate_hz: float = 240.0


@dataclass(frozen=True)
class RoverTable:
    grades_deg: np.ndarray
    loads_kg: np.ndarray
    speed_m_s: np.ndarray  # [grade, load]
    drive_j_per_m: np.ndarray
    failure_frac: np.ndarray
    body: RoverBody
    turn_s_per_rad: float = 0.0  # extra time of a change of heading at a waypoint
    turn_j_per_rad: float = 0.0  # and its extra drive energy (beyond the hotel load)

    def lookup(self, grade_deg: np.ndarray, load_kg: float) -> tuple[np.ndarray, np.ndarray]:
        """Speed and drive energy per metre at each grade, bilinear in grade and load (clamped to
        the calibrated range)."""
        g = np.clip(np.asarray(grade_deg, dtype=np.float64), self.grades_deg[0], self.grades_deg[-1])
        load = float(np.clip(load_kg, self.loads_kg[0], self.loads_kg[-1]))

        def at(table: np.ndarray) -> np.ndarray:
            by_load = np.array([np.interp(load, self.loads_kg, row) for row in table])
            return np.interp(g, self.grades_deg, by_load)

        return at(self.speed_m_s), at(self.drive_j_per_m)

    def traverse(self, tile: Tile, waypoints: list[tuple[float, float]], start: tuple[float, float] = (0.0, 0.0), load_kg: float = 0.0,
                 step_m: float = 0.5) -> tuple[float, float]:
        """Time (s) and electrical energy (J, hotel included) to drive through ``waypoints``."""
        points = [start, *waypoints]
        time_s = energy_j = 0.0
        for a, b, c in zip(points, points[1:], points[2:]):
            turn = abs((math.atan2(c[1] - b[1], c[0] - b[0]) - math.atan2(b[1] - a[1], b[0] - a[0]) + math.pi) % (2 * math.pi) - math.pi)
            time_s += turn * self.turn_s_per_rad
            energy_j += turn * (self.turn_j_per_rad + self.turn_s_per_rad * self.body.hotel_w)
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            length = math.hypot(x1 - x0, y1 - y0)
            n = max(1, int(math.ceil(length / step_m)))
            f = np.linspace(0.0, 1.0, n + 1)
            xs, ys = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
            z = tile.height_at(xs, ys)
            seg = length / n
            grade = np.degrees(np.arctan2(np.diff(z), seg))
            speed, per_m = self.lookup(grade, load_kg)
            dt = seg / speed
            time_s += float(dt.sum())
            energy_j += float((per_m * seg).sum() + self.body.hotel_w * dt.sum())
        return time_s, energy_j


def ground(body: RoverBody, size_m: float, slope_deg: float, towards_deg: float) -> Procedural:
    """The calibration's terrain: what a path planner lets the rover meet. Rocks it can straddle
    (a quarter of their diameter high, under its clearance) and shallow, degraded craters (depth
    0.02-0.06 D, walls under about 14 deg at the rim) [U]; steeper ones it drives around, and what
    happens when it does not is in ``failure_frac`` of a table calibrated on rougher ground."""
    return Procedural(size_m=size_m, spacing_m=0.25, slope_deg=slope_deg, slope_azimuth_deg=towards_deg, rock_max_m=4.0 * body.clearance_m,
                      crater_depth_ratio=(0.02, 0.06))


# -- hoppers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HopperCalibration:
    energies_j: tuple[float, ...] = (40.0, 60.0, 80.0, 120.0, 160.0, 200.0)  # the spring's, up to HopperBody.max_spring_j
    elevation_deg: float = 45.0  # the launch's, above the horizontal (the longest hop for an energy)
    hops: int = 8  # per energy, from start points and azimuths around the tile
    seed: int = 7
    rate_hz: float = 240.0
    # The rough ground a hopper lands on: shallow degraded craters and rocks up to half a metre
    # (a planner picks landing spots clear of larger ones) [U].
    crater_c: float = 0.05
    crater_depth_ratio: tuple[float, float] = (0.02, 0.06)
    rock_max_m: float = 0.5


def ballistic_range_m(body: HopperBody, energy_j, elevation_deg: float):
    """R = v^2 sin(2 theta) / g with v = sqrt(2 eta E / m): the range on level ground."""
    v2 = 2.0 * body.spring_efficiency * np.asarray(energy_j, dtype=np.float64) / body.mass_kg
    return v2 * math.sin(math.radians(2.0 * elevation_deg)) / LUNAR_GRAVITY_M_S2


@dataclass(frozen=True)
class HopperTable:
    energies_j: np.ndarray  # the spring's energy, increasing
    range_m: np.ndarray  # launch to the first touch of the ground (mean over the hops)
    duration_s: np.ndarray  # launch to rest
    failure_frac: np.ndarray  # hops that did not end upright at rest (tipped, left the tile, timed out)
    body: HopperBody
    elevation_deg: float = 45.0
    rest_m: np.ndarray | None = None  # launch to rest (slid and tumbled beyond the touch-down); None: as range_m

    def rest_of(self) -> np.ndarray:
        return self.range_m if self.rest_m is None else self.rest_m

    def lookup(self, energy_j) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Range (m), duration (s) and failure fraction at each spring energy, linear in energy
        (clamped to the calibrated range)."""
        e = np.clip(np.asarray(energy_j, dtype=np.float64), self.energies_j[0], self.energies_j[-1])
        return tuple(np.interp(e, self.energies_j, column) for column in (self.range_m, self.duration_s, self.failure_frac))

    def energy_for(self, range_m):
        """The spring energy (J) whose hop first touches the ground ``range_m`` away: the inverse
        of the range curve; below the weakest calibrated hop the range is proportional to the
        energy (the ballistic formula's R ~ E). ValueError naming ``range_m`` for a range that is
        not positive or beyond the strongest hop's."""
        r = np.asarray(range_m, dtype=np.float64)
        if not np.all(np.isfinite(r) & (r > 0.0)):
            raise ValueError(f"range_m: a hop's range must be positive (got {_shown(r)} m)")
        if np.any(r > self.range_m[-1]):
            raise ValueError(f"range_m: {_shown(r[r > self.range_m[-1]])} m is beyond the {self.range_m[-1]:.2f} m of the strongest hop "
                             f"({self.energies_j[-1]:g} J at {self.elevation_deg:g} deg); hop in stages")
        if np.any(np.diff(self.range_m) <= 0.0):
            raise ValueError("table: the hopper's range does not grow with the energy; calibrate again with more hops")
        e = np.interp(r, np.concatenate([[0.0], self.range_m]), np.concatenate([[0.0], self.energies_j]))
        return float(e) if e.ndim == 0 else e

    def battery_j(self, energy_j):
        """Battery energy of a hop (J): the spring charged at the charge efficiency, plus the
        hotel load from launch to rest."""
        e = np.asarray(energy_j, dtype=np.float64)
        out = e / self.body.charge_efficiency + self.body.hotel_w * self.lookup(e)[1]
        return float(out) if out.ndim == 0 else out

    def cost(self, range_m):
        """A hop of ``range_m``: spring energy (J), duration (s), battery energy (J) and failure
        fraction."""
        e = self.energy_for(range_m)
        _, duration, failure = self.lookup(e)
        if np.ndim(e) == 0:
            return e, float(duration), self.battery_j(e), float(failure)
        return e, duration, self.battery_j(e), failure


def _shown(values: np.ndarray) -> str:
    flat = np.atleast_1d(values).ravel()
    return ", ".join(f"{v:g}" for v in flat[:3]) + (", ..." if flat.size > 3 else "")


def hopper_ground(calibration: HopperCalibration, size_m: float) -> Procedural:
    return Procedural(size_m=size_m, spacing_m=0.25, crater_c=calibration.crater_c, crater_depth_ratio=calibration.crater_depth_ratio,
                      rock_max_m=calibration.rock_max_m)


def hop_plan(body: HopperBody, calibration: HopperCalibration) -> tuple[float, list[tuple[int, float, float, tuple[float, float]]]]:
    """The calibration's tile size and hops, (energy index, energy, azimuth, start) each: for each
    energy ``hops`` azimuths spread around the compass, each hop starting half its ballistic range
    behind the tile's centre (and up to 3 m to one side) so that it lands on the tile's far half."""
    far = float(ballistic_range_m(body, max(calibration.energies_j), calibration.elevation_deg))
    size = float(math.ceil(1.6 * far + 10.0))
    plan = []
    for ei, energy in enumerate(calibration.energies_j):
        half = float(ballistic_range_m(body, energy, calibration.elevation_deg)) / 2.0
        for h in range(calibration.hops):
            az = (360.0 * h / calibration.hops + 22.5 + 7.0 * ei) % 360.0
            a = math.radians(az)
            side = 3.0 * ((h % 3) - 1)
            start = (-half * math.sin(a) + side * math.cos(a), -half * math.cos(a) - side * math.sin(a))
            plan.append((ei, float(energy), az, (round(start[0], 6), round(start[1], 6))))
    return size, plan


@lru_cache(maxsize=1)
def _hop_task():
    # Defined once per process: each definition is exported to the cluster anew. Each task runs
    # its hop in a PyBullet DIRECT client of its own, created and disconnected inside ``hop``.
    import ray

    from physics.episode import hop

    @ray.remote(num_cpus=1)
    def hop_task(tile: Tile, energy_j: float, elevation_deg: float, azimuth_deg: float, body: HopperBody, start: tuple[float, float],
                 rate_hz: float) -> Track:
        return hop(tile, energy_j, elevation_deg, azimuth_deg, body, start=start, rate_hz=rate_hz)

    return hop_task


def calibrate_hopper(body: HopperBody = HopperBody(), calibration: HopperCalibration = HopperCalibration(), workers: int | str = "auto",
                     progress=None) -> HopperTable:
    """Run the hops (one seeded rough tile per energy, ``hops`` hops on it from several start
    points and azimuths) as Ray tasks, at most ``workers`` at a time; Ray must be initialised."""
    import ray

    from physics.workers import worker_count

    energies = np.array(calibration.energies_j, dtype=np.float64)
    if energies.size < 2 or np.any(np.diff(energies) <= 0.0) or not (energies[0] > 0.0 and energies[-1] <= body.max_spring_j):
        raise ValueError(f"energies_j: give at least two increasing spring energies within (0, {body.max_spring_j:g}] J")
    if calibration.hops < 1:
        raise ValueError("hops: give at least one hop per energy")
    if not 0.0 < calibration.elevation_deg < 90.0:
        raise ValueError("elevation_deg: must lie between 0 and 90 deg")
    limit = worker_count(workers)
    size, plan = hop_plan(body, calibration)
    task = _hop_task()
    tiles: dict[int, object] = {}
    tracks: list[Track | None] = [None] * len(plan)
    in_flight: dict = {}

    def collect(n: int) -> None:
        done, _ = ray.wait(list(in_flight), num_returns=n)
        for ref in done:
            tracks[in_flight.pop(ref)] = ray.get(ref)

    for i, (ei, energy, az, start) in enumerate(plan):
        if ei not in tiles:
            if progress:
                progress(f"energy {energy:g} J ({ei + 1} of {energies.size})")
            tiles[ei] = ray.put(procedural(calibration.seed + ei, hopper_ground(calibration, size)))
        if len(in_flight) >= limit:
            collect(1)
        in_flight[task.remote(tiles[ei], energy, calibration.elevation_deg, az, body, start, calibration.rate_hz)] = i
    if in_flight:
        collect(len(in_flight))
    reach, rest, duration, failed = (np.full(energies.size, np.nan) for _ in range(4))
    for ei in range(energies.size):
        runs = [track for (i, _, _, _), track in zip(plan, tracks) if i == ei]
        # The flight is the same whatever happens after touch-down: every hop that touched the
        # ground on the tile counts for the range, the distance to rest and the time.
        down = [t for t in runs if t.first_contact_m is not None and t.outcome in ("landed", "tipped")]
        failed[ei] = 1.0 - sum(t.outcome == "landed" for t in runs) / len(runs)
        if down:
            reach[ei] = np.mean([math.dist(t.first_contact_m, (t.x_m[0], t.y_m[0])) for t in down])
            rest[ei] = np.mean([t.distance_m for t in down])
            duration[ei] = np.mean([t.duration_s for t in down])
    if np.isnan(reach).any():
        raise ValueError("calibration: at some energy no hop came down on the tile; use another seed")
    if np.any(np.diff(reach) <= 0.0):
        raise ValueError("calibration: the range does not grow with the energy; use more hops or energies further apart")
    return HopperTable(energies, reach, duration, failed, body, float(calibration.elevation_deg), rest)


def _key(body: RoverBody | HopperBody, calibration: Calibration | HopperCalibration) -> str:
    # The table's key: the inputs by their bits, the source of the physics that made it and the
    # physics engine's version.
    from twin.cache import key_of

    robot = _robot_of(body, calibration)
    return key_of(f"{robot}-surrogate", {"version": VERSION, "body": asdict(body), "calibration": asdict(calibration)}, PHYSICS, packages=ENGINE)[:16]


def _robot_of(body, calibration=None) -> str:
    if isinstance(body, RoverBody) and (calibration is None or isinstance(calibration, Calibration)):
        return "rover"
    if isinstance(body, HopperBody) and (calibration is None or isinstance(calibration, HopperCalibration)):
        return "hopper"
    raise TypeError(f"surrogate: no table for a {type(body).__name__} calibrated with {type(calibration).__name__}")


def calibrate(body: RoverBody = RoverBody(), calibration: Calibration = Calibration(), workers: int | str = "auto", progress=None) -> RoverTable:
    """Run the traverses (one tile per grade, one rover per load in it, on physics workers)."""
    from physics.workers import drive_fleet

    grades, loads = np.array(calibration.grades_deg), np.array(calibration.loads_kg)
    speed = np.zeros((grades.size, loads.size))
    per_m = np.zeros_like(speed)
    failed = np.zeros_like(speed)
    size = calibration.path_m + 12.0 * 2
    lanes_per = calibration.lanes
    for gi, grade in enumerate(grades):
        if progress:
            progress(f"grade {grade:+g} deg ({gi + 1} of {grades.size})")
        tile = procedural(calibration.seed + gi, ground(body, size, abs(float(grade)), 90.0 if grade >= 0 else 270.0))
        # ``lanes`` lanes per load, 3 m apart, driving east (uphill for a positive grade).
        specs = [(li, float(load)) for li, load in enumerate(loads) for _ in range(lanes_per)]
        ys = 3.0 * (np.arange(len(specs)) - (len(specs) - 1) / 2.0)
        lanes = [RoverTask((-calibration.path_m / 2, float(y)), ((calibration.path_m / 2, float(y)),), RoverBody(**{**asdict(body), "mass_kg": body.mass_kg + load}))
                 for (li, load), y in zip(specs, ys)]
        tracks = drive_fleet(tile, lanes, workers=workers, rate_hz=calibration.rate_hz, max_s=calibration.path_m / body.max_speed_m_s * 4.0)
        for li in range(loads.size):
            runs = [(lane, track) for (i, _), lane, track in zip(specs, lanes, tracks) if i == li]
            good = [(lane, track) for lane, track in runs if track.outcome == "arrived"]
            failed[gi, li] = 1.0 - len(good) / len(runs)
            # Progress along the lane (what a path's length measures), not the wander around rocks;
            # from the runs that arrived (the failure fraction counts the others).
            moved = [max(t.x_m[-1] - t.x_m[0], 1e-6) for _, t in good]
            speed[gi, li] = np.mean([m / t.duration_s for m, (_, t) in zip(moved, good)]) if good else np.nan
            per_m[gi, li] = np.mean([(t.energy_j - lane.body.hotel_w * t.duration_s) / m for m, (lane, t) in zip(moved, good)]) if good else np.nan
    if np.isnan(speed).any():
        raise ValueError("calibration: at some grade and load no rover arrived; use gentler grades or lighter loads")
    # Turning, a property of the rover's steering: an L-shaped lane against a straight one of the
    # same length, side by side on smooth level ground.
    if progress:
        progress("turns")
    half = calibration.path_m / 2
    tile = procedural(0, Procedural(size_m=size, spacing_m=0.25, crater_c=0.0, rock_k=0.0))
    straight, bent = drive_fleet(tile, [RoverTask((-half, -8.0), ((half, -8.0),), body), RoverTask((-half, 0.0), ((0.0, 0.0), (0.0, half)), body)],
                                 workers=workers, rate_hz=calibration.rate_hz, max_s=calibration.path_m / body.max_speed_m_s * 4.0)
    if straight.outcome != "arrived" or bent.outcome != "arrived":
        raise ValueError("calibration: the turning runs did not arrive; use another seed")
    turn_s = (bent.duration_s - straight.duration_s) / (math.pi / 2)
    turn_j = ((bent.energy_j - body.hotel_w * bent.duration_s) - (straight.energy_j - body.hotel_w * straight.duration_s)) / (math.pi / 2)
    return RoverTable(grades, loads, speed, per_m, failed, body, max(turn_s, 0.0), max(turn_j, 0.0))


def write(table: RoverTable | HopperTable, folder: Path, calibration: Calibration | HopperCalibration) -> Path:
    """The table as ``folder/table_name(table.body, calibration)``, written whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from twin.files import write_whole

    robot = _robot_of(table.body, calibration)
    meta = {"ilrs_twin.robot": robot, "ilrs_twin.version": str(VERSION), "ilrs_twin.body": json.dumps(asdict(table.body)),
            "ilrs_twin.calibration": json.dumps(asdict(calibration))}
    if robot == "rover":
        if not isinstance(table, RoverTable):
            raise TypeError("surrogate: a rover's table must be a RoverTable")
        g, load = np.meshgrid(table.grades_deg, table.loads_kg, indexing="ij")
        columns = {"grade_deg": g.ravel(), "load_kg": load.ravel(), "speed_m_s": table.speed_m_s.ravel(), "drive_j_per_m": table.drive_j_per_m.ravel(),
                   "failure_frac": table.failure_frac.ravel()}
        meta |= {"ilrs_twin.turn_s_per_rad": repr(table.turn_s_per_rad), "ilrs_twin.turn_j_per_rad": repr(table.turn_j_per_rad)}
    else:
        if not isinstance(table, HopperTable):
            raise TypeError("surrogate: a hopper's table must be a HopperTable")
        columns = {"energy_j": table.energies_j, "range_m": table.range_m, "rest_m": table.rest_of(), "duration_s": table.duration_s,
                   "failure_frac": table.failure_frac}
        meta |= {"ilrs_twin.elevation_deg": repr(float(table.elevation_deg))}
    arrow = pa.table({k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}).replace_schema_metadata(meta)
    return write_whole(Path(folder), [(table_name(table.body, calibration), lambda p: pq.write_table(arrow, p))])[0]


def table_name(body: RoverBody | HopperBody, calibration: Calibration | HopperCalibration) -> str:
    """``rover-<key>.parquet`` or ``hopper-<key>.parquet``."""
    return f"{_robot_of(body, calibration)}-{_key(body, calibration)}.parquet"


def read(path: Path) -> RoverTable | HopperTable:
    """A table written by :func:`write`: a RoverTable or a HopperTable, as its metadata says."""
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    robot = meta.get("ilrs_twin.robot")
    if meta.get("ilrs_twin.version") != str(VERSION) or robot not in ("rover", "hopper"):
        raise ValueError(f"surrogate: {path} is not a version-{VERSION} rover or hopper table; calibrate again")
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(meta["ilrs_twin.body"]).items()}
    if robot == "hopper":
        column = {k: t.column(k).to_numpy() for k in ("energy_j", "range_m", "rest_m", "duration_s", "failure_frac")}
        return HopperTable(column["energy_j"], column["range_m"], column["duration_s"], column["failure_frac"], HopperBody(**fields),
                           float(meta["ilrs_twin.elevation_deg"]), column["rest_m"])
    body = RoverBody(**fields)
    grades, loads = np.unique(t.column("grade_deg").to_numpy()), np.unique(t.column("load_kg").to_numpy())
    shape = (grades.size, loads.size)
    return RoverTable(grades, loads, *(t.column(k).to_numpy().reshape(shape) for k in ("speed_m_s", "drive_j_per_m", "failure_frac")), body,
                      float(meta["ilrs_twin.turn_s_per_rad"]), float(meta["ilrs_twin.turn_j_per_rad"]))
