"""Communication-link geometry: Earth ground stations' view of the Moon, relay
orbiters around the Moon, and the site-relay-Earth geometry.

Three pieces, all precomputed on a coarse time grid where an ephemeris is
involved and sampled by linear interpolation, like :class:`~.sky.SkyGrid`:

* :class:`EarthStationsGrid`: elevation of the Moon's centre at ground stations
  on the Earth (direct-to-Earth, "DTE", coverage);
* :class:`RelayOrbit`: a Moon-centred two-body (Keplerian) orbit, propagated
  analytically (no grid);
* :class:`LinkGeometry`: for a lunar site and a set of relays, each relay's
  elevation/range from the site and whether the relay sees the Earth.

Conventions are those of :mod:`.ephemeris`: times are UTC float64 Unix seconds,
site coordinates are selenographic latitude / east longitude in
``MOON_ME_DE421``, the Moon is a sphere of radius :data:`MOON_RADIUS_KM`, local
frames are East-North-Up, elevations in degrees.

Every ``sample`` method is a pure elementwise function of each requested time
once the object is built: only elementwise numpy arithmetic on contiguous
float64 arrays (no reductions, no BLAS/einsum whose summation order could
depend on the array length), and iterative solves stop per element, so a
time's result does not depend on the other times in the call and repeated
calls are bit-identical.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from twin import cache

from .ephemeris import (
    MOON_RADIUS_KM,
    _check_latlon,
    _kernels,
    unix_to_time,
)
from .grid import GridSampled, TimeGrid, check_span
from .sky import CODE, GRID_CHUNK, HorizonMask

__all__ = [
    "GROUND_STATIONS",
    "MOON_GM_KM3_S2",
    "QUEQIAO2_PERIAPSIS_ALTITUDE_KM",
    "QUEQIAO2_APOAPSIS_ALTITUDE_KM",
    "QUEQIAO2_INCLINATION_DEG",
    "EARTH_STATIONS_KEYS",
    "stations_from_names",
    "EarthStationsGrid",
    "RelayOrbit",
    "kepler_E",
    "LinkGeometry",
]

#: Ground stations for lunar missions, (geodetic latitude deg, east longitude deg).
#: Source: docs/references.md, Communications, ground stations: Jiamusi
#: 66 m (46.5 N 130.8 E), Kashi 35 m (39.5 N 76.0 E), Neuquen 35 m (38.2 S
#: 70.1 W); Russian Bear Lakes (55.9 N 37.9 E), Ussuriysk (44.0 N 131.8 E).
#: [S]; coordinates approximate [U] (about 0.1 deg, i.e. ~10 km: irrelevant
#: for the Moon's elevation, whose topocentric parallax is at most ~1 deg).
GROUND_STATIONS: dict[str, tuple[float, float]] = {
    "kashi": (39.5, 76.0),
    "jiamusi": (46.5, 130.8),
    "neuquen": (-38.2, -70.1),
    "bear-lakes": (55.9, 37.9),
    "ussuriysk": (44.0, 131.8),
}

#: GM of the Moon, km^3/s^2 (docs/references.md, Geometry, [V]).
MOON_GM_KM3_S2 = 4902.8

#: Queqiao-2 (2024): 200 x 16,000 km elliptical frozen orbit, i = 62.4 deg,
#: two-body period 24.32 h (docs/references.md, Communications: orbit [S], period [V]).
QUEQIAO2_PERIAPSIS_ALTITUDE_KM = 200.0
QUEQIAO2_APOAPSIS_ALTITUDE_KM = 16000.0
QUEQIAO2_INCLINATION_DEG = 62.4

#: Keys of the dict returned by :meth:`EarthStationsGrid.sample`.
EARTH_STATIONS_KEYS = ("dte_station_visible", "stations_in_view_count")

_C_KM_S = 299792.458  # speed of light (exact, SI)
_TWO_PI = 2.0 * math.pi


# ---------------------------------------------------------------- time grids


def _interp_rows(table: np.ndarray, i: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Linear interpolation of the rows of ``table`` (n, c) (build-time helper)."""
    a = table[i]
    b = table[i + 1]
    return a + f[:, None] * (b - a)


def _interp_cols(cols: np.ndarray, i: np.ndarray, f: np.ndarray) -> list[np.ndarray]:
    """Linear interpolation of each row of the column-major table ``cols`` (c, n_grid):
    a list of c contiguous 1-D arrays (elementwise arithmetic only)."""
    out = []
    for c in cols:
        a = c[i]
        out.append(a + f * (c[i + 1] - a))
    return out


#: Work on at most this many times at once. Per element the result is the same
#: whatever the chunking (elementwise operations only); it keeps temporaries
#: (64 KiB) in cache and away from the large-allocation path, where each
#: numpy temporary of >~200 KiB was measured to cost ~0.2 ms here (a 10-20x
#: slowdown of chained expressions).
_CHUNK = 8192


def _chunked(fn, *arrays):
    """Apply ``fn`` to aligned slices of ``arrays`` (first axis) and concatenate
    the results (an array, a tuple of arrays or a dict of arrays)."""
    n = arrays[0].shape[0]
    if n <= _CHUNK:
        return fn(*arrays)
    parts = [fn(*(a[k:k + _CHUNK] for a in arrays)) for k in range(0, n, _CHUNK)]
    first = parts[0]
    if isinstance(first, dict):
        return {key: np.concatenate([p[key] for p in parts]) for key in first}
    if isinstance(first, tuple):
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(len(first)))
    return np.concatenate(parts)


# ------------------------------------------------------- Earth ground stations


def stations_from_names(names: Iterable[str] | None, min_elevation_deg: float) -> list[tuple[float, float, float]]:
    """``[(lat, lon, min_elevation_deg), ...]`` for names in :data:`GROUND_STATIONS`
    (all five when ``names`` is None). The minimum elevation is an assumption
    [U] of the caller (antenna and terrain dependent, typically 5-10 deg)."""
    chosen = list(GROUND_STATIONS) if names is None else list(names)
    out = []
    for name in chosen:
        if name not in GROUND_STATIONS:
            raise ValueError(f"unknown ground station {name!r}; known: {sorted(GROUND_STATIONS)}")
        lat, lon = GROUND_STATIONS[name]
        out.append((lat, lon, float(min_elevation_deg)))
    return out


def _moon_geocentric_icrs_km(t) -> np.ndarray:
    """Geocentric Moon, ICRS, km, (n, 3): the geometric vector at t - light time.

    Evaluated straight from the two DE421 segments Earth-Moon barycentre ->
    Moon and -> Earth (skyfield's ``earth.at(t).observe(moon)`` costs ~6x more
    for 740k times). Retarding the *relative* vector by the light time (~1.3 s)
    is the apparent geocentric place to first order in v/c (light time plus
    annual aberration); the rest (gravitational deflection, sub-mas for the
    Moon) is neglected. Measured against skyfield's ``apparent()``: < 1 arcsec.
    """
    k = _kernels()
    whole, frac = t.whole, t.tdb_fraction
    p_m, v_m = k.eph.spk[3, 301].compute_and_differentiate(whole, frac)  # km, km/day
    p_e, v_e = k.eph.spk[3, 399].compute_and_differentiate(whole, frac)
    p = p_m - p_e
    v = (v_m - v_e) / 86400.0
    lt = np.sqrt(p[0] ** 2 + p[1] ** 2 + p[2] ** 2) / _C_KM_S
    return np.ascontiguousarray((p - v * lt).T)


def _precession_nutation_eqeq(start: float, end: float, step: float = 43200.0):
    """Slowly varying part of ICRS -> ITRS on a coarse grid: A = rot_z(-eqeq) M.

    skyfield's ``itrs.rotation_at(t)`` is ``rot_z(-GAST) @ t.M`` (no polar
    motion with the built-in timescale); GAST = GMST + eqeq. M (precession-
    nutation-bias) and the equation of the equinoxes need the IAU 2000A
    nutation series (~1 s per 100k times), but their fastest terms (13.66 d,
    0.23 arcsec in longitude) change so slowly that linear interpolation at
    12 h is good to ~2e-3 arcsec. GMST (the Earth's rotation) is computed
    exactly at every fine grid time.
    """
    n = int(math.ceil((end - start) / step)) + 2
    u = start - step + step * np.arange(n + 1, dtype=np.float64)
    t = unix_to_time(u)
    M = t.M  # (3, 3, n)
    eqeq = ((t.gast - t.gmst + 12.0) % 24.0 - 12.0) * (_TWO_PI / 24.0)  # radians
    c, s = np.cos(eqeq), np.sin(eqeq)
    A = np.empty((u.size, 9))
    for j in range(3):  # rot_z(-eqeq) = [[c, s, 0], [-s, c, 0], [0, 0, 1]]
        A[:, j] = c * M[0, j] + s * M[1, j]
        A[:, 3 + j] = -s * M[0, j] + c * M[1, j]
        A[:, 6 + j] = M[2, j]
    return u, A


class EarthStationsGrid(GridSampled):
    """Elevation of the Moon's centre at Earth ground stations, on a grid.

    ``stations``: ``[(lat_deg, lon_deg, min_elevation_deg), ...]``, geodetic
    latitude and east longitude on the WGS84 ellipsoid, altitude 0.

    At every grid time (default 10 min) the station's topocentric elevation of
    the Moon's centre is computed from one geocentric Moon vector (the
    *apparent* place to first order in v/c, see :func:`_moon_geocentric_icrs_km`;
    it differs from the astrometric one by ~20 arcsec of aberration) rotated
    to the ITRS, minus the station's ITRS position, projected on the
    ellipsoid normal. No refraction (it would lift the Moon by ~0.5 deg at the
    horizon, ~0.1 deg at 10 deg). Diurnal aberration (0.3 arcsec) is
    neglected. Measured against skyfield's ``(earth + wgs84.latlon(...))
    .at(t).observe(moon).apparent().altaz()``: < 0.001 deg at grid nodes.

    :meth:`sample` interpolates each station's elevation margin (elevation -
    minimum) linearly; the Moon's elevation changes by at most ~15 deg/h, and
    the interpolation error at 10 min is ~0.01 deg (tests measure it).

    A 14-year grid at 10 min (~740k times) builds in ~1.3-2.5 s (five stations;
    the first build in a process also pages in the DE421 segments)
    and holds 8 bytes per station per grid time.
    """

    def __init__(
        self,
        stations: Sequence[tuple[float, float, float]],
        start_unix_s: float,
        end_unix_s: float,
        grid_step_s: float = 600.0,
    ):
        start, end, step = check_span(start_unix_s, end_unix_s, grid_step_s)
        st = np.asarray(list(stations), dtype=np.float64)
        if st.ndim != 2 or st.shape[1] != 3 or st.shape[0] == 0:
            raise ValueError("stations must be a non-empty list of (lat_deg, lon_deg, min_elevation_deg)")
        if not np.all(np.isfinite(st)):
            raise ValueError("station coordinates must be finite")
        if np.any(np.abs(st[:, 0]) > 90.0):
            raise ValueError("station latitude outside [-90, 90]")
        if np.any(np.abs(st[:, 2]) > 90.0):
            raise ValueError("station minimum elevation outside [-90, 90]")
        self.stations = [tuple(map(float, row)) for row in st]
        self.start_unix_s, self.end_unix_s, self.grid_step_s = start, end, step
        self._grid = TimeGrid(start, end, step)
        self.grid_unix_s = self._grid.times
        times = self._grid.times
        inputs = {"stations": self.stations, "start": start, "end": end, "step": step}
        # In slices, so the ephemeris' temporaries do not grow with the campaign's length.
        elev = cache.arrays("ground-stations", inputs, (*CODE, __name__), lambda: {
            "elevation_deg": np.concatenate([self._compute_elevations(times[lo:lo + GRID_CHUNK]) for lo in range(0, times.size, GRID_CHUNK)])  # (n, k)
        })["elevation_deg"]
        self._min_el = st[:, 2].copy()
        # column-major (k, n): per-station rows, interpolated as 1-D arrays
        self._margin = np.ascontiguousarray((elev - self._min_el[None, :]).T)

    def _compute_elevations(self, u: np.ndarray) -> np.ndarray:
        """Elevation (deg) of the Moon's centre at each station, (len(u), k), direct."""
        from skyfield.api import wgs84

        t = unix_to_time(u)
        moon = _moon_geocentric_icrs_km(t)  # (n, 3)
        # ICRS -> true equator and equinox of date, with the equation of the
        # equinoxes: A interpolated from a 12 h grid; then the Earth's rotation.
        cu, A_tab = _precession_nutation_eqeq(float(u[0]), float(u[-1]))
        ci = np.clip(np.searchsorted(cu, u, side="right") - 1, 0, cu.size - 2)
        cf = (u - cu[ci]) / (cu[1] - cu[0])
        A = _interp_rows(A_tab, ci, cf)  # (n, 9)
        x = A[:, 0] * moon[:, 0] + A[:, 1] * moon[:, 1] + A[:, 2] * moon[:, 2]
        y = A[:, 3] * moon[:, 0] + A[:, 4] * moon[:, 1] + A[:, 5] * moon[:, 2]
        z = A[:, 6] * moon[:, 0] + A[:, 7] * moon[:, 1] + A[:, 8] * moon[:, 2]
        g = t.gmst * (_TWO_PI / 24.0)
        cg, sg = np.cos(g), np.sin(g)
        xe = cg * x + sg * y  # rot_z(-GMST): ITRS (no polar motion)
        ye = -sg * x + cg * y
        out = np.empty((u.size, len(self.stations)))
        for j, (lat, lon, _) in enumerate(self.stations):
            sx, sy, sz = wgs84.latlon(lat, lon).itrs_xyz.km
            la, lo = math.radians(lat), math.radians(lon)
            nx, ny, nz = math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)
            dx, dy, dz = xe - sx, ye - sy, z - sz
            up = dx * nx + dy * ny + dz * nz  # along the ellipsoid normal (geodetic vertical)
            hx, hy, hz = dx - up * nx, dy - up * ny, dz - up * nz
            out[:, j] = np.degrees(np.arctan2(up, np.sqrt(hx * hx + hy * hy + hz * hz)))
        return out

    def elevation_deg(self, unix_s) -> np.ndarray:
        """Interpolated Moon elevation at each station, (n, k) degrees."""
        _, i, f = self._grid.locate(unix_s, "ground-station")
        # Only the margins are kept (memory grows with the campaign): elevation = margin + minimum.
        return _chunked(lambda i, f: np.stack(_interp_cols(self._margin, i, f), axis=-1), i, f) + self._min_el

    def sample(self, unix_s) -> dict[str, np.ndarray]:
        """Direct-to-Earth coverage at the given UTC Unix seconds (1-D float64 arrays).

        ``stations_in_view_count``: number of stations whose interpolated
        elevation margin (elevation - own minimum) is > 0;
        ``dte_station_visible``: 1.0 when that count is at least one, else 0.0.
        """
        _, i, f = self._grid.locate(unix_s, "ground-station")
        return _chunked(self._sample_chunk, i, f)

    def _sample_chunk(self, i: np.ndarray, f: np.ndarray) -> dict[str, np.ndarray]:
        count = np.zeros(i.size)
        for m in _interp_cols(self._margin, i, f):  # explicit sum: elementwise, fixed order
            count = count + (m > 0.0)
        return {
            "dte_station_visible": (count > 0.0).astype(np.float64),
            "stations_in_view_count": count,
        }

    def __repr__(self) -> str:
        return (
            f"EarthStationsGrid({len(self.stations)} stations, [{self.start_unix_s}, {self.end_unix_s}], "
            f"step={self.grid_step_s} s, {self._grid.n} points)"
        )


# ------------------------------------------------------------- relay orbiters


def _times(unix_s) -> np.ndarray:
    u = np.ascontiguousarray(np.atleast_1d(np.asarray(unix_s, dtype=np.float64)))
    if u.ndim != 1:
        raise ValueError("unix_s must be a scalar or a 1-D array")
    if not np.all(np.isfinite(u)):
        raise ValueError("unix_s must be finite")
    return u


def _sincos_small(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sin and cos of |d| <= 0.25 by their Taylor series (Horner form; the first
    omitted term is below 1e-21): cheaper than two libm calls per element."""
    d2 = d * d
    s = d * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0 * (1.0 - d2 / 42.0 * (1.0 - d2 / 72.0 * (
        1.0 - d2 / 110.0 * (1.0 - d2 / 156.0))))))
    c = 1.0 - d2 / 2.0 * (1.0 - d2 / 12.0 * (1.0 - d2 / 30.0 * (1.0 - d2 / 56.0 * (
        1.0 - d2 / 90.0 * (1.0 - d2 / 132.0 * (1.0 - d2 / 182.0))))))
    return s, c


_SMALL = 0.25  # |angle| below which _sincos_small is used


@functools.lru_cache(maxsize=32)
def _kepler_table(e: float) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """E(M) on a uniform grid of M in [0, pi] for eccentricity e, with dE/dM,
    sin E and cos E at the nodes.

    Spacing chosen so that consecutive nodes differ by at most ~0.02 rad in E
    (dE/dM = 1 / (1 - e cos E) <= 1 / (1 - e)). Solved by Newton from E = pi,
    which converges monotonically on [0, pi] (f(E) = E - e sin E - M is
    increasing and convex there and f(pi) >= 0).
    """
    n = int(min(2**20, max(1024, math.ceil(math.pi / (0.02 * (1.0 - e))))))
    M = np.linspace(0.0, math.pi, n + 1)
    E = np.full_like(M, math.pi)
    for _ in range(200):
        d = (E - e * np.sin(E) - M) / (1.0 - e * np.cos(E))
        E = E - d
        if np.all(np.abs(d) <= 1e-9):
            break
    E = E - (E - e * np.sin(E) - M) / (1.0 - e * np.cos(E))  # quadratic: error ~1e-18
    E[0], E[-1] = 0.0, math.pi
    sE, cE = np.sin(E), np.cos(E)
    return math.pi / n, E, 1.0 / (1.0 - e * cE), sE, cE


def _kepler_sincos(M, e: float, tol: float = 1e-10, max_iter: int = 50):
    """(E, sin E, cos E) solving E - e sin E = M elementwise; see :func:`kepler_E`."""
    M = np.ascontiguousarray(np.asarray(M, dtype=np.float64)).reshape(-1)
    # reduce to [-pi, pi] (floor, not np.remainder: same result to ~1 ulp of M, 5x faster)
    Mr = M - _TWO_PI * np.floor((M + math.pi) / _TWO_PI)
    if e == 0.0:
        return Mr, np.sin(Mr), np.cos(Mr)
    sign = np.where(Mr < 0.0, -1.0, 1.0)
    Ma = np.abs(Mr)  # E(-M) = -E(M): solve on [0, pi]
    step, tE, tD, tS, tC = _kepler_table(float(e))
    x = Ma / step
    j = np.minimum(np.floor(x), tE.size - 2).astype(np.intp)
    f = x - j
    # Start: cubic Hermite interpolation of E(M) between the nodes (values and
    # slopes): error ~1e-12 for e = 0.8, so one Newton step usually suffices.
    Ej, Ek = tE[j], tE[j + 1]
    f2 = f * f
    f3 = f2 * f
    h01 = 3.0 * f2 - 2.0 * f3
    E = Ej + h01 * (Ek - Ej) + step * ((f3 - 2.0 * f2 + f) * tD[j] + (f3 - f2) * tD[j + 1])
    dj = E - Ej  # |dj| <= node spacing in E (~0.02 rad)
    sd, cd = _sincos_small(dj)
    sj, cj = tS[j], tC[j]
    sE = sj * cd + cj * sd
    cE = cj * cd - sj * sd
    far = np.abs(dj) > _SMALL  # only for e > ~0.99999 (table size capped)
    if np.any(far):
        sE[far], cE[far] = np.sin(E[far]), np.cos(E[far])
    # Newton steps, carrying sin E and cos E along by the angle-addition
    # formulas. Each element stops as soon as its own step is <= tol (the error
    # after that step is ~tol^2 e / (1 - e) at most: machine precision).
    idx = None  # None: all elements (first pass, no gather)
    for _ in range(max_iter):
        if idx is None:
            Ea, sa, ca, Mi = E, sE, cE, Ma
        else:
            if idx.size == 0:
                break
            Ea, sa, ca, Mi = E[idx], sE[idx], cE[idx], Ma[idx]
        d = (Ea - e * sa - Mi) / (1.0 - e * ca)
        Ea = Ea - d
        ds, dc = _sincos_small(d)
        sn = sa * dc - ca * ds  # sin(E - d)
        cn = ca * dc + sa * ds
        big = np.abs(d) > _SMALL
        if np.any(big):  # far from the root (only for e very close to 1): exact
            sn[big], cn[big] = np.sin(Ea[big]), np.cos(Ea[big])
        more = np.abs(d) > tol
        if idx is None:
            E, sE, cE = Ea, sn, cn
            idx = np.flatnonzero(more)
        else:
            E[idx], sE[idx], cE[idx] = Ea, sn, cn
            idx = idx[more]
    return sign * E, sign * sE, cE


def kepler_E(M, e: float) -> np.ndarray:
    """Eccentric anomaly E (rad) solving E - e sin E = M, elementwise, for 0 <= e < 1.

    ``M`` (any real values, 1-D) is reduced to [-pi, pi]; the result is in
    [-pi, pi]. Start: cubic Hermite interpolation in a per-eccentricity table
    of E(M) (cached); then Newton's method, each element stopping on its own
    once its step is below 1e-10 rad (the step just taken leaves an error
    ~1e-20 e / (1 - e), i.e. machine precision), so the result never depends
    on the other elements of the array.
    """
    e = float(e)
    if not (0.0 <= e < 1.0):
        raise ValueError(f"eccentricity must be in [0, 1), got {e}")
    M = np.ascontiguousarray(np.asarray(M, dtype=np.float64))
    if M.ndim != 1:
        raise ValueError("M must be a 1-D array")
    return _chunked(lambda m: _kepler_sincos(m, e)[0], M)


@dataclass(frozen=True)
class RelayOrbit:
    """Moon-centred two-body orbit (GM = :data:`MOON_GM_KM3_S2`).

    Fixed Keplerian elements in a non-rotating frame: ``MOON_ME_DE421`` frozen at ``epoch_unix_s`` (z: the Moon's mean
    rotation pole, x: the prime meridian (mean sub-Earth direction) at the
    epoch). ``mean_anomaly_deg`` is at the epoch. No perturbations (Earth,
    Sun, mascons): a frozen orbit such as Queqiao-2's keeps its shape only in
    the long-term-averaged sense anyway.
    """

    semi_major_axis_km: float
    eccentricity: float
    inclination_deg: float
    raan_deg: float
    arg_periapsis_deg: float
    mean_anomaly_deg: float
    epoch_unix_s: float

    def __post_init__(self):
        vals = (
            self.semi_major_axis_km, self.eccentricity, self.inclination_deg, self.raan_deg,
            self.arg_periapsis_deg, self.mean_anomaly_deg, self.epoch_unix_s,
        )
        if not all(math.isfinite(float(v)) for v in vals):
            raise ValueError("orbit elements must be finite")
        if not (0.0 <= self.eccentricity < 1.0):
            raise ValueError(f"eccentricity must be in [0, 1), got {self.eccentricity}")
        if not (0.0 <= self.inclination_deg <= 180.0):
            raise ValueError(f"inclination must be in [0, 180] deg, got {self.inclination_deg}")
        if self.semi_major_axis_km * (1.0 - self.eccentricity) <= MOON_RADIUS_KM:
            raise ValueError(
                f"periapsis radius {self.semi_major_axis_km * (1.0 - self.eccentricity):.1f} km "
                f"is not above the Moon's surface ({MOON_RADIUS_KM} km)"
            )

    @classmethod
    def from_altitudes(
        cls,
        periapsis_altitude_km: float,
        apoapsis_altitude_km: float,
        inclination_deg: float,
        raan_deg: float = 0.0,
        arg_periapsis_deg: float = 90.0,
        mean_anomaly_deg: float = 0.0,
        *,
        epoch_unix_s: float,
    ) -> "RelayOrbit":
        """Orbit from periapsis/apoapsis altitudes above the mean radius 1737.4 km
        (IAU, docs/references.md, Geometry). ``arg_periapsis_deg=90`` with a prograde
        inclination puts periapsis over the north and apoapsis over the south."""
        hp, ha = float(periapsis_altitude_km), float(apoapsis_altitude_km)
        if not (hp > 0.0 and ha >= hp):
            raise ValueError(f"need 0 < periapsis altitude <= apoapsis altitude, got {hp}, {ha}")
        rp, ra = MOON_RADIUS_KM + hp, MOON_RADIUS_KM + ha
        return cls(
            semi_major_axis_km=0.5 * (rp + ra),
            eccentricity=(ra - rp) / (ra + rp),
            inclination_deg=float(inclination_deg),
            raan_deg=float(raan_deg),
            arg_periapsis_deg=float(arg_periapsis_deg),
            mean_anomaly_deg=float(mean_anomaly_deg),
            epoch_unix_s=float(epoch_unix_s),
        )

    @classmethod
    def queqiao2_like(cls, *, epoch_unix_s: float, raan_deg: float = 0.0, mean_anomaly_deg: float = 0.0) -> "RelayOrbit":
        """200 x 16,000 km, i = 62.4 deg, apolune over the south
        (docs/references.md, Communications, Queqiao-2; two-body period 24.32 h)."""
        return cls.from_altitudes(
            QUEQIAO2_PERIAPSIS_ALTITUDE_KM, QUEQIAO2_APOAPSIS_ALTITUDE_KM, QUEQIAO2_INCLINATION_DEG,
            raan_deg=raan_deg, arg_periapsis_deg=90.0, mean_anomaly_deg=mean_anomaly_deg,
            epoch_unix_s=epoch_unix_s,
        )

    @property
    def mean_motion_rad_s(self) -> float:
        return math.sqrt(MOON_GM_KM3_S2 / self.semi_major_axis_km**3)

    @property
    def period_s(self) -> float:
        return _TWO_PI / self.mean_motion_rad_s

    @property
    def periapsis_radius_km(self) -> float:
        return self.semi_major_axis_km * (1.0 - self.eccentricity)

    @property
    def apoapsis_radius_km(self) -> float:
        return self.semi_major_axis_km * (1.0 + self.eccentricity)

    def _PQ(self) -> tuple[np.ndarray, np.ndarray]:
        """Perifocal unit vectors P (to periapsis) and Q in the frozen frame."""
        O, i, w = (math.radians(self.raan_deg), math.radians(self.inclination_deg), math.radians(self.arg_periapsis_deg))
        cO, sO, ci, si, cw, sw = math.cos(O), math.sin(O), math.cos(i), math.sin(i), math.cos(w), math.sin(w)
        P = np.array([cO * cw - sO * sw * ci, sO * cw + cO * sw * ci, sw * si])
        Q = np.array([-cO * sw - sO * cw * ci, -sO * sw + cO * cw * ci, cw * si])
        return P, Q

    def mean_anomaly(self, unix_s) -> np.ndarray:
        """Mean anomaly (rad, unreduced) at the given times."""
        u = _times(unix_s)
        return math.radians(self.mean_anomaly_deg) + self.mean_motion_rad_s * (u - self.epoch_unix_s)

    def eccentric_anomaly(self, unix_s) -> np.ndarray:
        """Eccentric anomaly (rad, in [-pi, pi]) at the given times."""
        return kepler_E(self.mean_anomaly(unix_s), self.eccentricity)

    def _perifocal(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Perifocal coordinates (km) along P and Q for one chunk of times."""
        _, sE, cE = _kepler_sincos(self.mean_anomaly(u), self.eccentricity)
        a, e = self.semi_major_axis_km, self.eccentricity
        return a * (cE - e), (a * math.sqrt(1.0 - e * e)) * sE

    def _state(self, unix_s, velocity: bool):
        E, sE, cE = _kepler_sincos(self.mean_anomaly(unix_s), self.eccentricity)
        a, e = self.semi_major_axis_km, self.eccentricity
        b = a * math.sqrt(1.0 - e * e)
        xp, yp = a * (cE - e), b * sE
        P, Q = self._PQ()
        pos = np.empty((E.size, 3))
        for j in range(3):
            pos[:, j] = xp * P[j] + yp * Q[j]
        if not velocity:
            return pos, None
        # dE/dt = n / (1 - e cos E)
        Edot = self.mean_motion_rad_s / (1.0 - e * cE)
        vxp, vyp = -a * sE * Edot, b * cE * Edot
        vel = np.empty((E.size, 3))
        for j in range(3):
            vel[:, j] = vxp * P[j] + vyp * Q[j]
        return pos, vel

    def position_km(self, unix_s) -> np.ndarray:
        """Moon-centred position (n, 3) km in the frozen frame (MOON_ME_DE421 at the epoch)."""
        u = _times(unix_s)
        return _chunked(lambda v: self._state(v, False)[0], u)

    def state_km(self, unix_s) -> tuple[np.ndarray, np.ndarray]:
        """(position km, velocity km/s), each (n, 3), in the frozen frame."""
        u = _times(unix_s)
        return _chunked(lambda v: self._state(v, True), u)


# -------------------------------------------------------- site / relay / Earth


class LinkGeometry(GridSampled):
    """Site-relay and relay-Earth geometry for relays around the Moon.

    On a grid (default 1 h) over ``[start - step, end + 2 step]`` this
    precomputes the rotation ICRS -> ``MOON_ME_DE421`` (skyfield's PCK frame,
    DE421 libration) and the Earth's *astrometric* (light-time corrected)
    position from the Moon's centre in ``MOON_ME_DE421``, km. :meth:`sample`
    interpolates both linearly: the Moon turns ~13.2 deg/day, so the matrix
    entries' chord error at 1 h is ~(0.0096 rad)^2 / 8 ~ 1.2e-5 rad (measured
    in the tests; it also shrinks a rotated vector by up to ~1.2e-5 of its
    length, i.e. ~0.2 km at Queqiao-2's apolune). Relay positions are exact
    two-body positions at each requested time, taken from each relay's frozen
    frame to ICRS with the exact rotation at its epoch.

    Visibility from the site: the site is on the sphere of radius
    :data:`MOON_RADIUS_KM`; a relay is visible when its elevation is above the
    horizon mask (``HorizonMask``, points, or None for flat) at its azimuth.
    A relay sees the Earth when the segment relay -> Earth's centre misses the
    Moon's sphere (Earth's own radius and any terrain ignored).
    """

    def __init__(
        self,
        lat_deg: float,
        lon_deg: float,
        relays: Sequence[RelayOrbit],
        start_unix_s: float,
        end_unix_s: float,
        horizon: HorizonMask | Iterable[tuple[float, float]] | None = None,
        grid_step_s: float = 3600.0,
    ):
        lat, lon = _check_latlon(lat_deg, lon_deg)
        start, end, step = check_span(start_unix_s, end_unix_s, grid_step_s)
        self.relays = tuple(relays)
        for r in self.relays:
            if not isinstance(r, RelayOrbit):
                raise ValueError(f"relays must be RelayOrbit instances, got {type(r).__name__}")
        self.lat_deg, self.lon_deg = lat, lon
        self.start_unix_s, self.end_unix_s, self.grid_step_s = start, end, step
        self.horizon = horizon if isinstance(horizon, HorizonMask) else HorizonMask(horizon)
        fp = self.horizon._fp
        self._mask_const = float(fp[0]) if np.all(fp == fp[0]) else None
        self._grid = TimeGrid(start, end, step)
        self.grid_unix_s = self._grid.times

        k = _kernels()
        frames = cache.arrays("moon-frame", {"start": start, "end": end, "step": step}, (*CODE, __name__), self._frames)
        self._rot, self._earth = frames["rotation"], frames["earth_km"]

        # Each relay's perifocal unit vectors P, Q taken from its frozen frame
        # to ICRS with the exact rotation at its epoch (transpose of ICRS -> ME).
        self._PQ_icrs: list[tuple[np.ndarray, np.ndarray]] = []
        if self.relays:
            R_ep = k.frame.rotation_at(unix_to_time(np.array([r.epoch_unix_s for r in self.relays])))
            for j, relay in enumerate(self.relays):
                F = R_ep[:, :, j].T
                P, Q = relay._PQ()
                self._PQ_icrs.append((F @ P, F @ Q))

        la, lo = math.radians(lat), math.radians(lon)
        self._up = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
        self._east = np.array([-math.sin(lo), math.cos(lo), 0.0])
        self._north = np.array([-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la)])
        self._site = MOON_RADIUS_KM * self._up

    def keys(self) -> tuple[str, ...]:
        out = []
        for i in range(len(self.relays)):
            out += [f"relay{i}_visible", f"relay{i}_elevation_deg", f"relay{i}_range_km",
                    f"relay{i}_earth_visible", f"relay{i}_earth_range_km"]
        return tuple(out)

    def moon_rotation(self, unix_s) -> np.ndarray:
        """Interpolated rotation ICRS -> MOON_ME_DE421, (n, 3, 3) (not exactly orthonormal)."""
        _, i, f = self._grid.locate(unix_s, "link")
        return _chunked(lambda i, f: np.stack(_interp_cols(self._rot, i, f), axis=-1), i, f).reshape(-1, 3, 3)

    def earth_position_me_km(self, unix_s) -> np.ndarray:
        """Interpolated Earth centre from the Moon's centre in MOON_ME_DE421, (n, 3) km."""
        _, i, f = self._grid.locate(unix_s, "link")
        return _chunked(lambda i, f: np.stack(_interp_cols(self._earth, i, f), axis=-1), i, f)

    def relay_position_me_km(self, index: int, unix_s) -> np.ndarray:
        """Relay ``index``'s Moon-centred position in MOON_ME_DE421 at the times, (n, 3) km."""
        u, i, f = self._grid.locate(unix_s, "link")
        return _chunked(
            lambda u, i, f: np.stack(self._relay_me(index, u, _interp_cols(self._rot, i, f)), axis=-1), u, i, f
        )

    def _frames(self) -> dict[str, np.ndarray]:
        k = _kernels()
        times = self._grid.times
        rot = np.empty((9, times.size))  # row-major entries of ICRS -> MOON_ME
        earth = np.empty((3, times.size))
        for lo in range(0, times.size, GRID_CHUNK):  # slices bound the ephemeris' temporaries
            cols = slice(lo, min(lo + GRID_CHUNK, times.size))
            t = unix_to_time(times[cols])
            R = k.frame.rotation_at(t)  # (3, 3, m)
            rot[:, cols] = R.reshape(9, -1)
            earth_icrs = k.moon.at(t).observe(k.bodies["earth"]).xyz.km  # (3, m)
            earth[:, cols] = np.einsum("ijn,jn->in", R, earth_icrs)
        return {"rotation": rot, "earth_km": earth}

    def _relay_me(self, index: int, u: np.ndarray, rot: list[np.ndarray]):
        """Relay position in MOON_ME (three 1-D arrays) for one chunk of times."""
        xp, yp = self.relays[index]._perifocal(u)
        P, Q = self._PQ_icrs[index]
        qx = xp * P[0] + yp * Q[0]  # ICRS axes, Moon-centred
        qy = xp * P[1] + yp * Q[1]
        qz = xp * P[2] + yp * Q[2]
        r = rot
        return (
            r[0] * qx + r[1] * qy + r[2] * qz,
            r[3] * qx + r[4] * qy + r[5] * qz,
            r[6] * qx + r[7] * qy + r[8] * qz,
        )

    def sample(self, unix_s) -> dict[str, np.ndarray]:
        """Link geometry at the given UTC Unix seconds; for each relay i (0-based):

        ``relay{i}_visible`` (1.0 above the horizon mask at its azimuth),
        ``relay{i}_elevation_deg``, ``relay{i}_range_km`` (site to relay),
        ``relay{i}_earth_visible`` (1.0 when the segment relay -> Earth's centre
        misses the Moon's sphere), ``relay{i}_earth_range_km``.
        """
        u, i, f = self._grid.locate(unix_s, "link")
        return _chunked(self._sample_chunk, u, i, f)

    def _sample_chunk(self, u: np.ndarray, i: np.ndarray, f: np.ndarray) -> dict[str, np.ndarray]:
        rot = _interp_cols(self._rot, i, f)
        ex, ey, ez = _interp_cols(self._earth, i, f)
        sx, sy, sz = self._site
        out: dict[str, np.ndarray] = {}
        for r in range(len(self.relays)):
            px, py, pz = self._relay_me(r, u, rot)
            dx, dy, dz = px - sx, py - sy, pz - sz
            e_ = dx * self._east[0] + dy * self._east[1]
            n_ = dx * self._north[0] + dy * self._north[1] + dz * self._north[2]
            up = dx * self._up[0] + dy * self._up[1] + dz * self._up[2]
            el = np.degrees(np.arctan2(up, np.sqrt(e_ * e_ + n_ * n_)))
            rng = np.sqrt(dx * dx + dy * dy + dz * dz)
            if self._mask_const is not None:
                vis = (el > self._mask_const).astype(np.float64)
            else:
                az = np.mod(np.degrees(np.arctan2(e_, n_)), 360.0)
                vis = (el > self.horizon.min_elevation_deg(az)).astype(np.float64)
            # Segment P -> E: closest point to the Moon's centre at s* in [0, 1].
            wx, wy, wz = ex - px, ey - py, ez - pz
            w2 = wx * wx + wy * wy + wz * wz
            s = np.clip(-(px * wx + py * wy + pz * wz) / w2, 0.0, 1.0)
            cx, cy, cz = px + s * wx, py + s * wy, pz + s * wz
            miss = (cx * cx + cy * cy + cz * cz) > MOON_RADIUS_KM * MOON_RADIUS_KM
            out[f"relay{r}_visible"] = vis
            out[f"relay{r}_elevation_deg"] = el
            out[f"relay{r}_range_km"] = rng
            out[f"relay{r}_earth_visible"] = miss.astype(np.float64)
            out[f"relay{r}_earth_range_km"] = np.sqrt(w2)
        return out

    def __repr__(self) -> str:
        return (
            f"LinkGeometry(lat={self.lat_deg}, lon={self.lon_deg}, {len(self.relays)} relays, "
            f"[{self.start_unix_s}, {self.end_unix_s}], step={self.grid_step_s} s, {self._grid.n} points)"
        )
