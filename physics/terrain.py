"""Terrain tiles for the robots: seeded procedural lunar ground, or a crop of an elevation model,
and their PyBullet heightfields.

A tile is a square grid of heights (m) with its spacing, rows from north to south and columns
from west to east, in a local frame: x east, y north, z up, the origin at the tile's centre on
the height 0. Procedural tiles (docs/references.md, Robotics):

* Craters: a power-law size-frequency distribution, cumulative N(>= D) = c D^-b per m^2, between
  ``crater_min_m`` and a quarter of the tile; each a simple crater, depth 0.196 D when fresh (Pike
  1977) below a rim of 0.036 D, the ejecta falling off as (r/R)^-3 (McGetchin et al. 1973). Small
  lunar craters are near equilibrium, b about 2 (Trask 1966), so most are degraded: each crater's
  depth-to-diameter ratio is drawn from ``crater_depth_ratio`` [U], the rim scaled with it; c is a
  parameter [U].
* Rocks: cumulative N(>= D) = k D^-2.5 per m^2 from ``rock_min_m`` (a power law of the Surveyor
  rock counts' shape, k a parameter [U]), none larger than ``rock_max_m``, half-buried bumps a
  quarter of their diameter high.
* Slope: a plane tilted by ``slope_deg`` towards ``slope_azimuth_deg``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tile:
    heights_m: np.ndarray
    spacing_m: float
    label: str

    @property
    def size_m(self) -> float:
        return (self.heights_m.shape[1] - 1) * self.spacing_m

    @property
    def half_m(self) -> float:
        return self.size_m / 2.0

    def height_at(self, x_m, y_m):
        """Bilinear height at local positions (x east, y north): floats, or arrays of them."""
        x, y = np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64)
        rows, cols = self.heights_m.shape
        col = (x + self.half_m) / self.spacing_m
        row = (self.half_m - y) / self.spacing_m
        outside = ~((0 <= col) & (col <= cols - 1) & (0 <= row) & (row <= rows - 1))
        if outside.any():
            k = int(np.flatnonzero(outside.ravel())[0])
            bx, by = (v.ravel()[k] for v in np.broadcast_arrays(x, y))
            raise ValueError(f"position: ({bx:.1f}, {by:.1f}) m is outside the {self.size_m:.0f} m tile")
        r0, c0 = np.minimum(row.astype(np.int64), rows - 2), np.minimum(col.astype(np.int64), cols - 2)
        fr, fc = row - r0, col - c0
        h = self.heights_m
        top = h[r0, c0] + fc * (h[r0, c0 + 1] - h[r0, c0])
        bottom = h[r0 + 1, c0] + fc * (h[r0 + 1, c0 + 1] - h[r0 + 1, c0])
        z = top + fr * (bottom - top)
        return float(z) if z.ndim == 0 else z

    def inside(self, x_m: float, y_m: float, margin_m: float = 0.0) -> bool:
        return abs(x_m) <= self.half_m - margin_m and abs(y_m) <= self.half_m - margin_m


@dataclass(frozen=True)
class Procedural:
    size_m: float = 100.0
    spacing_m: float = 0.25
    crater_c: float = 0.05  # N(>= 1 m) per m^2 [U]
    crater_b: float = 2.0  # Trask 1966: near equilibrium
    crater_min_m: float = 1.0
    crater_depth_ratio: tuple[float, float] = (0.05, 0.196)  # degraded to fresh [U]
    rock_k: float = 0.001  # N(>= 1 m) per m^2 [U]
    rock_min_m: float = 0.2
    rock_max_m: float = 3.0
    slope_deg: float = 0.0
    slope_azimuth_deg: float = 0.0


def procedural(seed: int, spec: Procedural = Procedural()) -> Tile:
    """A seeded lunar tile: craters, rocks and a regional slope."""
    n = int(round(spec.size_m / spec.spacing_m)) + 1
    axis = (np.arange(n) - (n - 1) / 2.0) * spec.spacing_m
    x, y = axis[None, :], -axis[:, None]
    rng = np.random.default_rng(seed)
    z = np.zeros((n, n))
    area = spec.size_m**2
    # Craters, largest first; sizes by inverting the cumulative power law.
    d_max = spec.size_m / 4.0
    expected = spec.crater_c * area * (spec.crater_min_m ** -spec.crater_b - d_max ** -spec.crater_b)
    for u in np.sort(rng.uniform(size=rng.poisson(expected)))[::-1]:
        d = (spec.crater_min_m ** -spec.crater_b - u * (spec.crater_min_m ** -spec.crater_b - d_max ** -spec.crater_b)) ** (-1.0 / spec.crater_b)
        cx, cy = rng.uniform(-spec.size_m / 2, spec.size_m / 2, size=2)
        z += simple_crater(np.hypot(x - cx, y - cy), d, rng.uniform(*spec.crater_depth_ratio))
    expected = spec.rock_k * area * spec.rock_min_m ** -2.5
    for _ in range(rng.poisson(expected)):
        d = spec.rock_min_m * rng.uniform() ** (-1.0 / 2.5)
        d = min(d, spec.rock_max_m)
        cx, cy = rng.uniform(-spec.size_m / 2, spec.size_m / 2, size=2)
        r = np.hypot(x - cx, y - cy)
        z += np.where(r < d / 2, np.sqrt(np.maximum((d / 2) ** 2 - r**2, 0.0)) * 0.5, 0.0)  # half-buried
    s = math.tan(math.radians(spec.slope_deg))
    a = math.radians(spec.slope_azimuth_deg)
    z += s * (x * math.sin(a) + y * math.cos(a))
    z.setflags(write=False)
    return Tile(z, spec.spacing_m, f"procedural seed {seed}")


def simple_crater(r_m: np.ndarray, diameter_m: float, depth_ratio: float = 0.196) -> np.ndarray:
    """A simple crater's height profile: a paraboloid bowl ``depth_ratio`` D deep below the rim
    crest (0.196 when fresh, Pike 1977), the rim 0.036 D above the surroundings when fresh and
    lower in proportion when degraded, the ejecta as (r/R)^-3."""
    R = diameter_m / 2.0
    depth, rim = depth_ratio * diameter_m, 0.036 * diameter_m * depth_ratio / 0.196
    r = np.asarray(r_m, dtype=np.float64)
    inside = rim - depth + depth * (r / R) ** 2
    outside = rim * (np.maximum(r, R) / R) ** -3.0
    return np.where(r <= R, inside, np.where(r < 4 * R, outside - rim / 64.0, 0.0))


def from_elevation_model(model, lat_deg: float, lon_deg: float, size_m: float, spacing_m: float) -> Tile:
    """A tile cut from an elevation model (twin.environment.terrain), centred on (lat, lon),
    resampled bilinearly to ``spacing_m``; heights relative to the centre's."""
    from twin.environment.terrain import destinations

    n = int(round(size_m / spacing_m)) + 1
    axis = (np.arange(n) - (n - 1) / 2.0) * spacing_m
    east, north = np.meshgrid(axis, -axis)
    lat, lon = destinations(lat_deg, lon_deg, np.degrees(np.arctan2(east, north)).ravel(), np.hypot(east, north).ravel())
    rows, cols = model.pixels(lat, lon)
    z = model.height_at(rows, cols).reshape(n, n)
    if not np.isfinite(z).all():
        raise ValueError(f"terrain: the {size_m:.0f} m tile around ({lat_deg}, {lon_deg}) leaves the elevation model {model.label} or meets missing data")
    z = z - model.ground_m(lat_deg, lon_deg)
    z.setflags(write=False)
    return Tile(z, float(spacing_m), f"{model.label} at ({lat_deg:.4f}, {lon_deg:.4f})")


def heightfield(client: int, tile: Tile, lateral_friction: float) -> int:
    """The tile as a static PyBullet heightfield in ``client``; returns its body id.

    PyBullet centres a heightfield's vertical extent on the body's origin, so the body is raised
    by the mid-height to put z = 0 where the tile has height 0."""
    import pybullet as p

    h = np.asarray(tile.heights_m, dtype=np.float64)
    rows, cols = h.shape
    # PyBullet's data runs along x fastest, from -x to +x, then along y from -y to +y: our rows
    # run north to south, so they are flipped.
    data = h[::-1, :].ravel().tolist()
    shape = p.createCollisionShape(p.GEOM_HEIGHTFIELD, meshScale=[tile.spacing_m, tile.spacing_m, 1.0], heightfieldTextureScaling=1,
                                   heightfieldData=data, numHeightfieldRows=cols, numHeightfieldColumns=rows, physicsClientId=client)
    mid = 0.5 * (float(h.max()) + float(h.min()))
    body = p.createMultiBody(0, shape, basePosition=[0.0, 0.0, mid], physicsClientId=client)
    p.changeDynamics(body, -1, lateralFriction=lateral_friction, physicsClientId=client)
    return body
