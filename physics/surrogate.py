"""Surrogate tables for decade-long campaigns, calibrated by running the physics.

A rover's table holds, against the grade of its path (deg, uphill positive) and the load it
carries (kg), its mean speed (m/s), its drive energy per metre (J/m, beyond the hotel load) and
the fraction of calibration runs that ended stuck or tipped. Each entry comes from full-physics
traverses on seeded rough tiles tilted to that grade (``calibrate``); a traverse estimate then
integrates the table along a path on any tile, segment by segment at the tile's own grade, so
a ten-year campaign costs a table lookup per drive instead of a PyBullet episode.

Tables are written as Parquet with the robot's parameters and the calibration's settings in the
file's metadata, and a hash of them and of the physics code in the file name: a change of robot,
settings or physics never reads a stale table.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from physics.episode import RoverTask
from physics.robots import RoverBody
from physics.terrain import Procedural, Tile, procedural

VERSION = 1
# Modules whose source decides a table's figures (a change of them is a new table).
PHYSICS = ("physics.episode", "physics.robots", "physics.terrain", "physics.surrogate")


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
            z = np.array([tile.height_at(float(a), float(b)) for a, b in zip(xs, ys)])
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


def _key(body: RoverBody, calibration: Calibration) -> str:
    # The table cache's key: the inputs by their bits, and the source of the physics that made it.
    from twin.cache import key_of

    return key_of("rover-surrogate", {"version": VERSION, "body": asdict(body), "calibration": asdict(calibration)}, PHYSICS)[:16]


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


def write(table: RoverTable, folder: Path, calibration: Calibration) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from twin.files import write_whole

    g, load = np.meshgrid(table.grades_deg, table.loads_kg, indexing="ij")
    columns = {"grade_deg": g.ravel(), "load_kg": load.ravel(), "speed_m_s": table.speed_m_s.ravel(), "drive_j_per_m": table.drive_j_per_m.ravel(),
               "failure_frac": table.failure_frac.ravel()}
    meta = {"ilrs_twin.robot": "rover", "ilrs_twin.version": str(VERSION), "ilrs_twin.body": json.dumps(asdict(table.body)),
            "ilrs_twin.calibration": json.dumps(asdict(calibration)), "ilrs_twin.turn_s_per_rad": repr(table.turn_s_per_rad),
            "ilrs_twin.turn_j_per_rad": repr(table.turn_j_per_rad)}
    arrow = pa.table(columns).replace_schema_metadata(meta)
    return write_whole(Path(folder), [(table_name(table.body, calibration), lambda p: pq.write_table(arrow, p))])[0]


def table_name(body: RoverBody, calibration: Calibration) -> str:
    return f"rover-{_key(body, calibration)}.parquet"


def read(path: Path) -> RoverTable:
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    if meta.get("ilrs_twin.version") != str(VERSION) or meta.get("ilrs_twin.robot") != "rover":
        raise ValueError(f"surrogate: {path} is not a version-{VERSION} rover table; calibrate again")
    body = RoverBody(**{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(meta["ilrs_twin.body"]).items()})
    grades, loads = np.unique(t.column("grade_deg").to_numpy()), np.unique(t.column("load_kg").to_numpy())
    shape = (grades.size, loads.size)
    return RoverTable(grades, loads, *(t.column(k).to_numpy().reshape(shape) for k in ("speed_m_s", "drive_j_per_m", "failure_frac")), body,
                      float(meta["ilrs_twin.turn_s_per_rad"]), float(meta["ilrs_twin.turn_j_per_rad"]))
