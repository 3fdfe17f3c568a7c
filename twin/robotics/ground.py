"""The robots' ground: a tile of the site's own elevation model around the station, and what a
leg across it costs, from the robot's surrogate table or from a full-physics episode.

The tile is cut from the same elevation model the site's horizons come from (``[site] dem`` or
the built-in site's synthetic terrain, twin.environment.station.elevation_model); a site with
neither is flat. Home is the tile's centre; positions are metres east and north of it.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

# Calibration lanes are 16 m: a table's failure fraction is per 16 m of driving.
FAILURE_LANE_M = 16.0


def tile_spacing(size_m: float) -> float:
    return 1.0 if size_m <= 600.0 else 2.0


def site_tile(site, size_m: float):
    """A square tile of ``size_m`` centred on the station (heights relative to it)."""
    return _tile(site.model_dump_json(), size_m)


@lru_cache(maxsize=16)
def _tile(site_json: str, size_m: float):
    from physics.terrain import Tile, from_elevation_model
    from twin.environment.station import elevation_model
    from twin.scenario import Site

    site = Site.model_validate_json(site_json)
    spacing = tile_spacing(size_m)
    model = elevation_model(site)
    if model is None:
        n = int(round(size_m / spacing)) + 1
        heights = np.zeros((n, n))
        heights.setflags(write=False)
        return Tile(heights, spacing, "flat")
    lat, lon = site.location
    return from_elevation_model(model, lat, lon, size_m, spacing)


def path_grades(tile, a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    """Grades (deg, uphill positive) along the straight path a -> b, one per tile cell."""
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    n = max(1, int(math.ceil(length / tile.spacing_m)))
    f = np.linspace(0.0, 1.0, n + 1)
    z = tile.height_at(a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
    return np.degrees(np.arctan2(np.diff(z), length / n))


def drive_surrogate(table, tile, a, b, load_kg: float, speed_cap_m_s: float) -> tuple[float, float, float]:
    """Time (s), battery energy (J, hotel load included) and failure odds of driving a -> b.

    A speed cap below the table's speed stretches the time (and the hotel energy) at the same
    drive energy per metre."""
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    if length == 0.0:
        return 0.0, 0.0, 0.0
    grades = path_grades(tile, a, b)
    speed, per_m = table.lookup(grades, load_kg)
    speed = np.minimum(speed, speed_cap_m_s)
    seg = length / grades.size
    dt = seg / speed
    time_s = float(dt.sum())
    energy_j = float((per_m * seg).sum() + table.body.hotel_w * time_s)
    g = np.clip(grades, table.grades_deg[0], table.grades_deg[-1])
    load = float(np.clip(load_kg, table.loads_kg[0], table.loads_kg[-1]))
    per_lane = np.interp(g, table.grades_deg, np.array([np.interp(load, table.loads_kg, row) for row in table.failure_frac]))
    survive = float(np.prod((1.0 - per_lane) ** (seg / FAILURE_LANE_M)))
    return time_s, energy_j, 1.0 - survive


def drive_physics(tile, a, b, load_kg: float, rate_hz: float, body=None):
    """The leg driven in PyBullet (a DIRECT client of this process): time, energy, outcome and
    the point reached."""
    from dataclasses import replace

    from physics.episode import traverse
    from physics.robots import RoverBody

    body = body or RoverBody()
    loaded = replace(body, mass_kg=body.mass_kg + load_kg)
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    track = traverse(tile, [tuple(b)], body=loaded, start=tuple(a), rate_hz=rate_hz, max_s=4.0 * length / body.max_speed_m_s + 60.0)
    return track.duration_s, track.energy_j, track.outcome, (track.x_m[-1], track.y_m[-1])


def check_path(tile, points: list[tuple[float, float]], max_grade_deg: float, field: str) -> None:
    """A ValueError naming ``field`` when a path leaves the tile or climbs beyond what the robot
    was calibrated for (an unreachable waypoint)."""
    for a, b in zip(points, points[1:]):
        for x, y in (a, b):
            if not (abs(x) < tile.half_m - 2.0 and abs(y) < tile.half_m - 2.0):
                raise ValueError(f"{field}: ({x:g}, {y:g}) m is off the robots' terrain ({tile.size_m:.0f} m around the station)")
        steep = float(np.max(np.abs(path_grades(tile, a, b))))
        if steep > max_grade_deg:
            raise ValueError(f"{field}: the way from ({a[0]:g}, {a[1]:g}) to ({b[0]:g}, {b[1]:g}) m climbs {steep:.0f} deg, beyond the {max_grade_deg:g} deg "
                             "the robot is calibrated for: the waypoint is unreachable")
