"""Fast Sun/Earth sky state at a lunar site: a precomputed ephemeris grid plus
linear interpolation, and a local horizon mask.

:class:`SkyGrid` evaluates :func:`twin.environment.ephemeris.sky_vectors` once on
a coarse time grid (default 1 h) and answers :meth:`SkyGrid.sample` by linear
interpolation of the ENU unit vectors (the direction is then taken with atan2,
which is the same as renormalising) and of the distances. The Sun moves at most
about 0.5 deg per hour in the lunar sky (docs/references.md, Geometry), so the
chord error of a 1 h grid is of order (0.0087 rad)^2 / 8 ~ 1e-5 rad ~ 0.0005 deg;
the tests measure it.

``sample`` is a pure elementwise function of each requested time once the grid
is built: the value for a time does not depend on the other times in the call
(all arrays handed to numpy's transcendental functions are contiguous float64,
so the same kernels run whatever the length), and repeated calls are
bit-identical.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .ephemeris import (
    AU_KM,
    SOLAR_CONSTANT_W_M2,
    SUN_RADIUS_KM,
    EARTH_ECLIPSE_RADIUS_KM,
    _elev_az,
    sky_vectors,
)
from twin import cache

from .grid import GridSampled, TimeGrid, check_span

__all__ = ["HorizonMask", "SkyGrid", "SAMPLE_KEYS", "disk_fraction_above"]

#: Keys of the dict returned by :meth:`SkyGrid.sample`, in order.
SAMPLE_KEYS = (
    "sun_elevation_deg",
    "sun_azimuth_deg",
    "sun_distance_au",
    "solar_irradiance_w_m2",
    "sun_visible_frac",
    "earth_elevation_deg",
    "earth_azimuth_deg",
    "earth_distance_km",
    "earth_visible",
    "sun_eclipsed_frac",
)


class HorizonMask:
    """Local horizon: minimum visible elevation as a function of azimuth.

    Built from points ``[(azimuth_deg, min_elevation_deg), ...]`` in any order,
    azimuths in [0, 360) (from north, clockwise through east), elevations in
    [-90, 90]. Between points the elevation is interpolated linearly in
    azimuth, periodically (the segment from the last point wraps through 360
    to the first). One point gives a constant horizon; ``None`` or no points
    gives a flat horizon at 0 deg.
    """

    def __init__(self, points: Iterable[tuple[float, float]] | None = None):
        pts = [] if points is None else list(points)
        arr = np.asarray(pts, dtype=np.float64)
        if arr.size == 0:
            arr = np.empty((0, 2))
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError("horizon points must be (azimuth_deg, min_elevation_deg) pairs")
        az, el = arr[:, 0], arr[:, 1]
        if not np.all(np.isfinite(arr)):
            raise ValueError("horizon points must be finite numbers")
        bad = (az < 0.0) | (az >= 360.0)
        if np.any(bad):
            raise ValueError(f"horizon azimuths must be in [0, 360): got {az[bad].tolist()}")
        bad = (el < -90.0) | (el > 90.0)
        if np.any(bad):
            raise ValueError(f"horizon elevations must be in [-90, 90]: got {el[bad].tolist()}")
        order = np.argsort(az, kind="stable")
        az, el = az[order], el[order]
        dup = np.diff(az) == 0.0
        if np.any(dup):
            raise ValueError(f"duplicate horizon azimuths: {np.unique(az[1:][dup]).tolist()}")
        self.azimuth_deg = az
        self.elevation_deg = el
        if az.size == 0:
            self._xp = np.array([0.0, 360.0])
            self._fp = np.array([0.0, 0.0])
        else:
            # One copy of the last point before 0 and of the first after 360
            # makes plain np.interp periodic on [0, 360).
            self._xp = np.concatenate(([az[-1] - 360.0], az, [az[0] + 360.0]))
            self._fp = np.concatenate(([el[-1]], el, [el[0]]))

    @property
    def is_flat(self) -> bool:
        return bool(np.all(self._fp == 0.0))

    def min_elevation_deg(self, az_deg) -> np.ndarray:
        """Mask elevation (deg) at the given azimuth(s) (deg, any real value)."""
        a = np.mod(np.asarray(az_deg, dtype=np.float64), 360.0)
        return np.interp(a, self._xp, self._fp)

    def __repr__(self) -> str:
        return f"HorizonMask({list(zip(self.azimuth_deg.tolist(), self.elevation_deg.tolist()))})"


def geometry_keys(keys) -> set[str]:
    """The horizon-free columns that ``keys`` need (a visibility key needs its body's direction)."""
    want = set(keys)
    needs = {k for k in want if k not in VISIBILITY_KEYS}
    if "sun_visible_frac" in want:
        needs |= {"sun_elevation_deg", "sun_azimuth_deg", "sun_eclipsed_frac"}
    if "earth_visible" in want:
        needs |= {"earth_elevation_deg", "earth_azimuth_deg"}
    return needs


def disk_overlap_frac(r1, r2, d) -> np.ndarray:
    """Fraction of a disk of angular radius ``r1`` covered by a disk of radius ``r2`` whose centre
    is ``d`` away (degrees; the disks are small, so the sky is taken as flat across them).

    Lens area of two circles: r1^2 acos(c1) + r2^2 acos(c2) - sqrt(...) / 2 with
    c1 = (d^2 + r1^2 - r2^2) / (2 d r1); 0 when apart, 1 when disk 1 lies inside disk 2, and
    (r2 / r1)^2 when disk 2 lies inside disk 1 (an annular eclipse).
    """
    r1, r2, d = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (r1, r2, d)))
    out = np.zeros(d.shape)
    # Concentric within 1e-12 deg counts as concentric (the lens formula divides by d).
    inside = d <= r2 - r1 + 1e-12
    out[inside] = 1.0
    within = d <= r1 - r2 + 1e-12
    out[within] = (r2[within] / r1[within]) ** 2
    lens = (d < r1 + r2) & ~inside & ~within
    if lens.any():
        a, b, s = r1[lens], r2[lens], d[lens]
        c1 = np.clip((s * s + a * a - b * b) / (2.0 * s * a), -1.0, 1.0)
        c2 = np.clip((s * s + b * b - a * a) / (2.0 * s * b), -1.0, 1.0)
        k = np.sqrt(np.maximum((-s + a + b) * (s + a - b) * (s - a + b) * (s + a + b), 0.0))
        out[lens] = np.clip((a * a * np.arccos(c1) + b * b * np.arccos(c2) - 0.5 * k) / (math.pi * a * a), 0.0, 1.0)
    return out


def disk_fraction_above(height_deg, radius_deg) -> np.ndarray:
    """Fraction of a disk's area above a straight horizon line.

    ``height_deg`` is the elevation of the disk centre above the line and
    ``radius_deg`` the disk's angular radius (both in degrees, any shapes that
    broadcast). Circular-segment area: with x = clip(h / r, -1, 1), the part
    below the line is (acos(x) - x sqrt(1 - x^2)) / pi of the disk. Gives 0.5
    with the centre on the line, 1 when h >= r, 0 when h <= -r.
    """
    h = np.asarray(height_deg, dtype=np.float64)
    r = np.asarray(radius_deg, dtype=np.float64)
    x = np.ascontiguousarray(np.clip(h / r, -1.0, 1.0))
    below = (np.arccos(x) - x * np.sqrt(1.0 - x * x)) / math.pi
    return np.clip(1.0 - below, 0.0, 1.0)


# Column layout of the grid table.
_SE, _SN, _SU, _SD, _EE, _EN, _EU, _ED = range(8)
SUN_KEYS = SAMPLE_KEYS[:5]
EARTH_KEYS = SAMPLE_KEYS[5:]
# The columns that depend on the observer's horizon.
VISIBILITY_KEYS = ("sun_visible_frac", "earth_visible")
SUN_KM = "_sun_distance_km"


#: Grid points computed per ephemeris call while building a grid (bounds memory for long campaigns).
GRID_CHUNK = 20_000
# The code behind the grid tables (their source is part of the cache key).
CODE = ("twin.environment.ephemeris", "twin.environment.grid", "twin.environment.sky")


class SkyGrid(GridSampled):
    """Sun and Earth at a lunar site on a precomputed grid, sampled by interpolation.

    The grid covers ``[start - grid_step, end + 2 * grid_step]`` (times UTC,
    Unix seconds) and takes O(number of grid points) memory: 8 float64 per
    point, so 14 years at 1 h is about 8 MB. Requests outside the grid raise
    ``ValueError`` (the grid is not extended lazily).
    """

    def __init__(
        self,
        lat_deg: float,
        lon_deg: float,
        start_unix_s: float,
        end_unix_s: float,
        grid_step_s: float = 3600.0,
        horizon: HorizonMask | Iterable[tuple[float, float]] | None = None,
    ):
        start, end, step = check_span(start_unix_s, end_unix_s, grid_step_s)
        self.lat_deg = float(lat_deg)
        self.lon_deg = float(lon_deg)
        self.start_unix_s = start
        self.end_unix_s = end
        self.grid_step_s = step
        self.horizon = horizon if isinstance(horizon, HorizonMask) else HorizonMask(horizon)

        self._grid = TimeGrid(start, end, step)
        self.grid_unix_s = self._grid.times
        inputs = {"lat_deg": self.lat_deg, "lon_deg": self.lon_deg, "start": start, "end": end, "step": step}
        self._table = cache.arrays("sky", inputs, CODE, self._build)["table"]

    def _build(self) -> dict[str, np.ndarray]:
        n = self._grid.n
        table = np.empty((n, 8), dtype=np.float64)
        # In slices: the ephemeris' temporaries would otherwise grow with the campaign's length.
        for lo in range(0, n, GRID_CHUNK):
            rows = slice(lo, min(lo + GRID_CHUNK, n))
            v = sky_vectors(self.lat_deg, self.lon_deg, self.grid_unix_s[rows])
            table[rows, _SE:_SU + 1] = v["sun_enu"]
            table[rows, _SD] = v["sun_distance_km"]
            table[rows, _EE:_EU + 1] = v["earth_enu"]
            table[rows, _ED] = v["earth_distance_km"]
        return {"table": table}

    def sample(self, unix_s, keys=None, horizon: HorizonMask | None = None) -> dict[str, np.ndarray]:
        """Sky state at the given UTC Unix seconds (1-D float64 arrays, same length).

        Keys (:data:`SAMPLE_KEYS`): ``sun_elevation_deg``, ``sun_azimuth_deg``,
        ``sun_distance_au``, ``solar_irradiance_w_m2`` (1361 W/m^2 x (1 AU / r)^2
        at the site's distance, normal incidence, not projected),
        ``sun_visible_frac`` (fraction of the solar disk above the horizon mask
        at the Sun's azimuth), ``earth_elevation_deg``, ``earth_azimuth_deg``,
        ``earth_distance_km``, ``earth_visible`` (1.0 when the Earth's centre is
        above the mask, else 0.0).

        ``keys``: only the Sun's or the Earth's columns when no key of the other is asked for
        (the columns computed are the same bits either way: everything is elementwise).
        """
        want = set(SAMPLE_KEYS if keys is None else keys)
        out = self.geometry(unix_s, geometry_keys(want))
        out.update(self.visibility(out, want & set(VISIBILITY_KEYS), horizon))
        return {k: out[k] for k in SAMPLE_KEYS if k in want}

    def geometry(self, unix_s, keys) -> dict[str, np.ndarray]:
        """The columns that do not depend on the horizon (the Sun's or the Earth's, as asked)."""
        want = set(keys)
        u, i, f = self._grid.locate(unix_s, "sky")
        out: dict[str, np.ndarray] = {}

        done: dict[int, np.ndarray] = {}

        def col(k: int) -> np.ndarray:
            if k not in done:
                a, b = self._table[i, k], self._table[i + 1, k]
                done[k] = np.ascontiguousarray(a + f * (b - a))  # elementwise IEEE arithmetic only
            return done[k]

        if "sun_eclipsed_frac" in want:
            out["sun_eclipsed_frac"] = self._eclipsed(col)
        if want & set(SUN_KEYS):
            sun_el, sun_az = _elev_az(col(_SE), col(_SN), col(_SU))
            sun_km = col(_SD)
            sun_au = sun_km / AU_KM
            out.update({
                "sun_elevation_deg": sun_el,
                "sun_azimuth_deg": sun_az,
                SUN_KM: sun_km,  # for the disk's size (not a column of its own)
                "sun_distance_au": sun_au,
                "solar_irradiance_w_m2": SOLAR_CONSTANT_W_M2 / (sun_au * sun_au),
            })
        if want & set(EARTH_KEYS):
            earth_el, earth_az = _elev_az(col(_EE), col(_EN), col(_EU))
            out.update({"earth_elevation_deg": earth_el, "earth_azimuth_deg": earth_az, "earth_distance_km": col(_ED)})
        return out

    def _eclipsed(self, col) -> np.ndarray:
        """Fraction of the solar disk behind the Earth (a lunar eclipse seen from the site)."""
        se, sn, su, ee, en, eu = (col(k) for k in (_SE, _SN, _SU, _EE, _EN, _EU))
        cos_sep = (se * ee + sn * en + su * eu) / (np.sqrt(se * se + sn * sn + su * su) * np.sqrt(ee * ee + en * en + eu * eu))
        separation = np.degrees(np.arccos(np.clip(cos_sep, -1.0, 1.0)))
        sun_r = np.degrees(np.arcsin(SUN_RADIUS_KM / col(_SD)))
        earth_r = np.degrees(np.arcsin(EARTH_ECLIPSE_RADIUS_KM / col(_ED)))
        return disk_overlap_frac(sun_r, earth_r, separation)

    def visibility(self, geometry: dict[str, np.ndarray], keys, horizon: HorizonMask | None = None) -> dict[str, np.ndarray]:
        """``sun_visible_frac`` and ``earth_visible`` above ``horizon`` (default: the grid's own), from
        the geometric columns (an observer higher up a mast sees the same sky over a lower horizon)."""
        mask = self.horizon if horizon is None else horizon
        out: dict[str, np.ndarray] = {}
        if "sun_visible_frac" in keys:
            sun_el, sun_az = geometry["sun_elevation_deg"], geometry["sun_azimuth_deg"]
            # Angular radius of the solar disk from its actual distance (~0.267 deg).
            sun_radius_deg = np.degrees(np.arcsin(SUN_RADIUS_KM / geometry[SUN_KM]))
            # The mask line is treated as straight (and horizontal) across the
            # half-degree disk, using the mask elevation at the Sun's centre azimuth.
            above = disk_fraction_above(sun_el - mask.min_elevation_deg(sun_az), sun_radius_deg)
            # Horizon and Earth cut the disk independently (during an eclipse the Earth and the Sun
            # are in the same part of the sky, rarely at the skyline).
            out["sun_visible_frac"] = above * (1.0 - geometry["sun_eclipsed_frac"])
        if "earth_visible" in keys:
            earth_el, earth_az = geometry["earth_elevation_deg"], geometry["earth_azimuth_deg"]
            out["earth_visible"] = (earth_el > mask.min_elevation_deg(earth_az)).astype(np.float64)
        return out

    def __repr__(self) -> str:
        return (
            f"SkyGrid(lat={self.lat_deg}, lon={self.lon_deg}, "
            f"[{self.start_unix_s}, {self.end_unix_s}], step={self.grid_step_s} s, "
            f"{self._grid.n} points)"
        )
