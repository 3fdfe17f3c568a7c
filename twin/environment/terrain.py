"""Terrain: elevation models and the horizon they make at an observer's position and height.

An elevation model is a grid of heights (metres above the reference sphere of radius
1737.4 km). It comes from a GeoTIFF in any lunar CRS (read with rasterio: LOLA's polar
stereographic products, equirectangular tiles) or from a plain array with its spacing, centred on
a given point, rows from north to south.

The horizon at an observer is found by marching outward along each azimuth from the observer's
eye (ground height plus the consumer's own height: an array on its mast, an antenna, an
instrument) and keeping the highest elevation angle of the terrain, on the sphere: a point at arc
distance s and height z is seen at ``atan2((R + z) cos(s/R) - (R + eye), (R + z) sin(s/R))``.
Terrain beyond the model is taken not to rise above the observer's ground, so the horizon is never
below the limb of the sphere through it. Directions come from the model's own geometry (north and
east are found by stepping on the sphere and projecting), so any conformal projection works; the
rays are straight in the projection, which over a tile of tens of kilometres differs from a great
circle by far less than a pixel.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from twin import cache

from .ephemeris import MOON_RADIUS_KM
from .sky import HorizonMask

MOON_RADIUS_M = MOON_RADIUS_KM * 1000.0
# The source of the horizon computation is part of its cache key.
CODE = ("twin.environment.terrain",)
# Observers closer to a pole than this have no defined north.
_POLE_MARGIN_DEG = 1e-6


def destination(lat_deg: float, lon_deg: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """The point ``distance_m`` from (lat, lon) along the great circle at ``bearing_deg`` (sphere)."""
    lat, lon, b = math.radians(lat_deg), math.radians(lon_deg), math.radians(bearing_deg)
    d = distance_m / MOON_RADIUS_M
    lat2 = math.asin(math.sin(lat) * math.cos(d) + math.cos(lat) * math.sin(d) * math.cos(b))
    lon2 = lon + math.atan2(math.sin(b) * math.sin(d) * math.cos(lat), math.cos(d) - math.sin(lat) * math.sin(lat2))
    return math.degrees(lat2), (math.degrees(lon2) + 540.0) % 360.0 - 180.0


def destinations(lat_deg: float, lon_deg: float, bearing_deg: np.ndarray, distance_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`destination` for arrays of bearings and distances."""
    lat, lon, b = math.radians(lat_deg), math.radians(lon_deg), np.radians(bearing_deg)
    d = np.asarray(distance_m, dtype=np.float64) / MOON_RADIUS_M
    lat2 = np.arcsin(np.clip(math.sin(lat) * np.cos(d) + math.cos(lat) * np.sin(d) * np.cos(b), -1.0, 1.0))
    lon2 = lon + np.arctan2(np.sin(b) * np.sin(d) * math.cos(lat), np.cos(d) - math.sin(lat) * np.sin(lat2))
    return np.degrees(lat2), (np.degrees(lon2) + 540.0) % 360.0 - 180.0


def bearing_distance(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """Initial bearing (deg from north) and arc distance (m) from point 0 to the other."""
    p0, p1, dl = math.radians(lat0), math.radians(lat), math.radians(lon - lon0)
    y = math.sin(dl) * math.cos(p1)
    x = math.cos(p0) * math.sin(p1) - math.sin(p0) * math.cos(p1) * math.cos(dl)
    h = math.sin((p1 - p0) / 2) ** 2 + math.cos(p0) * math.cos(p1) * math.sin(dl / 2) ** 2
    return math.degrees(math.atan2(y, x)) % 360.0, 2 * MOON_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class ElevationModel:
    """Heights on a grid (m, NaN where there is no data) and where each grid index lies on the Moon.

    Subclasses give ``pixel(lat, lon) -> (row, col)`` in fractional array indices (the centre of
    element [i, j] is at (i, j)); the rest follows from it.
    """

    heights_m: np.ndarray
    label: str

    def pixel(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        raise NotImplementedError

    def pixels(self, lat_deg: np.ndarray, lon_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`pixel` for arrays of points (a robot's tile: a hundred thousand of them)."""
        raise NotImplementedError

    def key(self) -> dict:
        """What identifies the model for the horizon cache."""
        raise NotImplementedError

    def latlon(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Selenographic latitude and longitude (deg) of fractional indices."""
        raise NotImplementedError

    def axes(self, lat_deg: float, lon_deg: float, step_m: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Index offsets (drow, dcol) per true metre towards north and towards east at a point."""
        if abs(lat_deg) > 90.0 - _POLE_MARGIN_DEG:
            raise ValueError(f"latitude: {lat_deg} deg is at a pole, where the horizon's azimuths are undefined")
        here = np.array(self.pixel(lat_deg, lon_deg))
        north = (np.array(self.pixel(*destination(lat_deg, lon_deg, 0.0, step_m))) - here) / step_m
        east = (np.array(self.pixel(*destination(lat_deg, lon_deg, 90.0, step_m))) - here) / step_m
        return north, east

    def height_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Bilinear heights at fractional indices; NaN outside the grid or next to missing data."""
        h = self.heights_m
        n_rows, n_cols = h.shape
        inside = (rows >= 0) & (rows <= n_rows - 1) & (cols >= 0) & (cols <= n_cols - 1)
        r = np.where(inside, rows, 0.0)
        c = np.where(inside, cols, 0.0)
        r0 = np.minimum(np.floor(r).astype(np.intp), max(n_rows - 2, 0))
        c0 = np.minimum(np.floor(c).astype(np.intp), max(n_cols - 2, 0))
        fr, fc = r - r0, c - c0
        r1, c1 = np.minimum(r0 + 1, n_rows - 1), np.minimum(c0 + 1, n_cols - 1)
        top = h[r0, c0] + fc * (h[r0, c1] - h[r0, c0])
        bottom = h[r1, c0] + fc * (h[r1, c1] - h[r1, c0])
        return np.where(inside, top + fr * (bottom - top), np.nan)

    def ground_m(self, lat_deg: float, lon_deg: float) -> float:
        row, col = self.pixel(lat_deg, lon_deg)
        z = float(self.height_at(np.array([row]), np.array([col]))[0])
        if not math.isfinite(z):
            raise ValueError(f"latitude, longitude: ({lat_deg}, {lon_deg}) is outside the elevation model {self.label} or on missing data")
        return z


class GridModel(ElevationModel):
    """An array of heights centred on (lat, lon), rows from north to south, ``spacing_m`` apart.

    Positions are mapped azimuthally (bearing and arc distance from the centre), so the grid's
    north is true north at its centre; a synthetic terrain or a user's ``.npy`` uses this.
    """

    def __init__(self, heights_m, spacing_m: float, lat_deg: float, lon_deg: float, label: str = "array"):
        heights = np.array(heights_m, dtype=np.float64)
        if heights.ndim != 2 or min(heights.shape) < 2:
            raise ValueError(f"dem: an elevation model needs a 2-D array of at least 2 x 2 heights, got shape {heights.shape}")
        if not np.isfinite(heights).any():
            raise ValueError("dem: the elevation model has no finite height")
        if np.nanmax(np.abs(heights)) > 20_000.0:
            raise ValueError("dem: heights must be metres within +-20 km of the 1737.4 km sphere (is the array in km, or radii?)")
        if not (math.isfinite(spacing_m) and 0.01 <= spacing_m <= 100_000.0):
            raise ValueError(f"dem_spacing_m: {spacing_m} m is not a grid spacing (0.01 m to 100 km)")
        self.heights_m, self.spacing_m = heights, float(spacing_m)
        self.lat_deg, self.lon_deg, self.label = float(lat_deg), float(lon_deg), label
        self._centre = ((heights.shape[0] - 1) / 2.0, (heights.shape[1] - 1) / 2.0)

    def pixel(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        bearing, distance = bearing_distance(self.lat_deg, self.lon_deg, lat_deg, lon_deg)
        b = math.radians(bearing)
        north, east = distance * math.cos(b), distance * math.sin(b)
        return self._centre[0] - north / self.spacing_m, self._centre[1] + east / self.spacing_m

    def pixels(self, lat_deg, lon_deg):
        p0, p1 = math.radians(self.lat_deg), np.radians(np.asarray(lat_deg, dtype=np.float64))
        dl = np.radians(np.asarray(lon_deg, dtype=np.float64) - self.lon_deg)
        b = np.arctan2(np.sin(dl) * np.cos(p1), math.cos(p0) * np.sin(p1) - math.sin(p0) * np.cos(p1) * np.cos(dl))
        h = np.sin((p1 - p0) / 2) ** 2 + math.cos(p0) * np.cos(p1) * np.sin(dl / 2) ** 2
        distance = 2 * MOON_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
        return self._centre[0] - distance * np.cos(b) / self.spacing_m, self._centre[1] + distance * np.sin(b) / self.spacing_m

    def key(self) -> dict:
        return {"heights": self.heights_m, "spacing_m": self.spacing_m, "centre": [self.lat_deg, self.lon_deg]}

    def latlon(self, rows, cols):
        north = (self._centre[0] - np.asarray(rows, dtype=np.float64)) * self.spacing_m
        east = (np.asarray(cols, dtype=np.float64) - self._centre[1]) * self.spacing_m
        return destinations(self.lat_deg, self.lon_deg, np.degrees(np.arctan2(east, north)), np.hypot(east, north))


class GeoTiffModel(ElevationModel):
    """A GeoTIFF in a lunar CRS, read with rasterio (band 1, nodata as missing)."""

    def __init__(self, path: str | Path):
        import rasterio
        from rasterio.crs import CRS

        path = Path(path)
        try:
            with rasterio.open(path) as dataset:
                heights = dataset.read(1, masked=True).astype(np.float64).filled(np.nan)
                transform, crs = dataset.transform, dataset.crs
                scale = dataset.scales[0] if dataset.scales else 1.0
                offset = dataset.offsets[0] if dataset.offsets else 0.0
        except rasterio.errors.RasterioIOError as exc:
            raise ValueError(f"dem: {path} cannot be read as a raster ({str(exc).splitlines()[0]})") from None
        if crs is None:
            raise ValueError(f"dem: {path} has no CRS; give a georeferenced GeoTIFF, or a .npy with dem_spacing_m")
        radius = _sphere_radius_m(crs)
        if radius is None or abs(radius - MOON_RADIUS_M) > 0.01 * MOON_RADIUS_M:
            raise ValueError(f"dem: {path}'s CRS is not lunar (reference radius {radius} m, the Moon's is {MOON_RADIUS_M:.0f} m)")
        self.heights_m = heights * scale + offset
        if not np.isfinite(self.heights_m).any():
            raise ValueError(f"dem: {path} has no valid height")
        self.label = path.name
        self._inverse = ~transform
        self._crs = crs
        self._geographic = CRS.from_proj4(f"+proj=longlat +R={radius} +no_defs")
        self._digest = cache.key_of("dem", {"heights": self.heights_m, "transform": list(transform)[:6], "crs": crs.to_wkt()}, ())

    def pixel(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        from rasterio.warp import transform

        (x,), (y,) = transform(self._geographic, self._crs, [lon_deg], [lat_deg])
        col, row = self._inverse @ (x, y)
        return row - 0.5, col - 0.5  # the transform maps pixel corners; indices are centres

    def pixels(self, lat_deg, lon_deg):
        from rasterio.warp import transform

        x, y = transform(self._geographic, self._crs, np.ravel(lon_deg).tolist(), np.ravel(lat_deg).tolist())
        inv = self._inverse
        x, y = np.asarray(x), np.asarray(y)
        shape = np.shape(lat_deg)
        return (inv.d * x + inv.e * y + inv.f - 0.5).reshape(shape), (inv.a * x + inv.b * y + inv.c - 0.5).reshape(shape)

    def key(self) -> dict:
        return {"geotiff": self._digest}

    def latlon(self, rows, cols):
        from rasterio.warp import transform

        forward = ~self._inverse
        a, b, c, d, e, f = forward.a, forward.b, forward.c, forward.d, forward.e, forward.f
        u, v = np.asarray(cols, dtype=np.float64) + 0.5, np.asarray(rows, dtype=np.float64) + 0.5
        lon, lat = transform(self._crs, self._geographic, (a * u + b * v + c).tolist(), (d * u + e * v + f).tolist())
        return np.asarray(lat), np.asarray(lon)


def _sphere_radius_m(crs) -> float | None:
    params = crs.to_dict()
    for name in ("R", "a"):
        if name in params:
            return float(params[name])
    return None


def load(path: str | Path, spacing_m: float | None = None, centre: tuple[float, float] | None = None) -> ElevationModel:
    """An elevation model from a GeoTIFF, or from a ``.npy`` array with its spacing and centre.

    Read once per file version: validating a scenario and building its environment share it."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"dem: {path} does not exist")
    stat = path.stat()
    return _load(str(path.resolve()), stat.st_mtime_ns, stat.st_size, spacing_m, None if centre is None else tuple(centre))


@lru_cache(maxsize=4)
def _load(resolved: str, mtime_ns: int, size: int, spacing_m: float | None, centre: tuple[float, float] | None) -> ElevationModel:
    path = Path(resolved)
    if path.suffix.lower() == ".npy":
        if spacing_m is None or centre is None:
            raise ValueError("dem_spacing_m: a .npy elevation model needs its grid spacing in metres (it is centred on the site)")
        try:
            heights = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"dem: {path} is not a numeric .npy array ({exc})") from None
        return GridModel(heights, spacing_m, *centre, label=path.name)
    return GeoTiffModel(path)


@dataclass(frozen=True)
class Horizon:
    """Elevation of the horizon (deg) at ``azimuth_deg`` (from north through east), as seen from
    ``height_m`` above the ground at (lat, lon)."""

    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    lat_deg: float
    lon_deg: float
    height_m: float
    ground_m: float

    def mask(self) -> HorizonMask:
        return HorizonMask(zip(self.azimuth_deg.tolist(), self.elevation_deg.tolist()))


def check(height_m: float, azimuth_step_deg: float) -> None:
    if not (math.isfinite(height_m) and 0.0 <= height_m <= 1000.0):
        raise ValueError(f"height: {height_m} m is outside 0 to 1000 m above the ground")
    if not (math.isfinite(azimuth_step_deg) and 0.01 <= azimuth_step_deg <= 10.0 and abs(360.0 / azimuth_step_deg - round(360.0 / azimuth_step_deg)) < 1e-9):
        raise ValueError(f"azimuth_step: {azimuth_step_deg} deg must divide 360 and lie within 0.01 to 10 deg")


def limb_deg(height_m: float) -> float:
    """The smooth sphere's horizon seen from ``height_m`` above it (below 0 deg)."""
    return -math.degrees(math.acos(MOON_RADIUS_M / (MOON_RADIUS_M + height_m)))


def horizon(model: ElevationModel, lat_deg: float, lon_deg: float, height_m: float = 0.0, azimuth_step_deg: float = 0.5) -> Horizon:
    """The horizon at an observer ``height_m`` above the ground, every ``azimuth_step_deg`` (cached)."""
    check(height_m, azimuth_step_deg)
    ground = model.ground_m(lat_deg, lon_deg)
    inputs = {"model": model.key(), "lat": float(lat_deg), "lon": float(lon_deg), "height": float(height_m), "step": float(azimuth_step_deg)}
    table = cache.arrays("horizon", inputs, CODE, lambda: _march(model, lat_deg, lon_deg, ground, height_m, azimuth_step_deg))
    return Horizon(table["azimuth_deg"], table["elevation_deg"], float(lat_deg), float(lon_deg), float(height_m), ground)


def _march(model: ElevationModel, lat_deg: float, lon_deg: float, ground_m: float, height_m: float, azimuth_step_deg: float) -> dict[str, np.ndarray]:
    R = MOON_RADIUS_M
    eye_m = ground_m + height_m
    north, east = model.axes(lat_deg, lon_deg)
    row0, col0 = model.pixel(lat_deg, lon_deg)
    # Half a pixel per sample, in true metres (the finer of the two axes).
    ds = 0.5 / max(np.hypot(*north), np.hypot(*east))
    n_rows, n_cols = model.heights_m.shape
    reach = math.hypot(n_rows, n_cols) / min(np.hypot(*north), np.hypot(*east))  # metres across the grid
    distances = ds * np.arange(1, int(reach / ds) + 2, dtype=np.float64)
    azimuths = np.arange(0.0, 360.0, azimuth_step_deg)
    # The limb of the sphere through the observer's ground: the horizon where the model ends.
    best = np.full(azimuths.size, -math.degrees(math.acos((R + ground_m) / (R + eye_m))))
    theta = distances / R
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    # A few azimuths at a time: memory stays near (distances x block) doubles.
    block = max(1, 2_000_000 // distances.size)
    for lo in range(0, azimuths.size, block):
        a = np.radians(azimuths[lo:lo + block])[:, None]
        drow = np.cos(a) * north[0] + np.sin(a) * east[0]
        dcol = np.cos(a) * north[1] + np.sin(a) * east[1]
        z = model.height_at(row0 + drow * distances, col0 + dcol * distances)
        elevation = np.degrees(np.arctan2((R + z) * cos_t - (R + eye_m), (R + z) * sin_t))
        seen = np.where(np.isnan(elevation), -90.0, elevation).max(axis=1)
        best[lo:lo + block] = np.maximum(best[lo:lo + block], seen)
    return {"azimuth_deg": azimuths, "elevation_deg": best}
