"""Sun and Earth as seen from a site on the Moon, from JPL DE421.

Everything here runs offline. The data files come from PyPI packages that are
already installed:

* ``de421.bsp`` (JPL DE421 planetary ephemeris) from ``skyfield-data``;
* the Moon's orientation kernels from ``lunarsky``: the binary PCK
  ``moon_pa_de421_1900-2050.bpc`` (principal-axis frame, DE421 libration) and
  the frame kernels ``moon_080317.tf`` / ``moon_assoc_me.tf``, which define the
  ``MOON_ME_DE421`` mean-Earth/polar-axis frame that lunar maps and
  selenographic coordinates use.

We do not import ``lunarsky``: it imports astropy and downloads an SPK on first
use. Its data folder is found with ``importlib.util.find_spec``.

Conventions
-----------
* Times are UTC as float64 Unix seconds (POSIX: every day is 86400 s, so leap
  seconds are not counted). :func:`unix_to_time` turns them into a skyfield
  ``Time`` through ``ts.utc``, which applies the leap-second table, so TT is
  right across leap seconds.
* Local frame: East-North-Up (ENU) unit vectors at the site. Elevation is
  measured from the local horizontal plane of the sphere of radius
  :data:`MOON_RADIUS_KM`; azimuth is measured from local north, clockwise
  through east, in degrees in [0, 360).
* Site coordinates: selenographic latitude and east-positive longitude in the
  ``MOON_ME_DE421`` frame.
* Directions are *apparent* (light time, aberration from the site's motion,
  gravitational deflection), as skyfield's ``observe().apparent()`` computes
  them. No refraction: the Moon has no atmosphere.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "SITES",
    "MOON_RADIUS_KM",
    "AU_KM",
    "SOLAR_CONSTANT_W_M2",
    "SUN_RADIUS_KM",
    "EARTH_ECLIPSE_RADIUS_KM",
    "MOON_FRAME",
    "timescale",
    "unix_to_time",
    "sky_vectors",
    "selenographic",
    "selenographic_tt",
    "elevation_azimuth",
]

# Candidate ILRS sites, (latitude deg, east longitude deg).
# Source: docs/references.md, Geometry: Amundsen crater 84.5 S 82.8 E
# (USGS gazetteer), Aristarchus 23.7 N 47.4 W, Marius Hills about 13.4 N 55 W.
SITES: dict[str, tuple[float, float]] = {
    "amundsen": (-84.5, 82.8),
    "aristarchus": (23.7, -47.4),
    "marius-hills": (13.4, -55.0),
}

#: Moon mean radius, km (IAU; docs/references.md, Geometry). The lunarsky frame
#: kernel does not define BODY301_RADII, so this value is used for the sphere.
MOON_RADIUS_KM = 1737.4
#: Astronomical unit, km (IAU 2012 Resolution B2: 149 597 870 700 m exactly).
AU_KM = 149597870.7
#: Total solar irradiance at 1 AU, W/m^2 (docs/references.md, Energy: 1361 W/m^2 at
#: 1 AU, scale by (1 AU / r)^2; Kopp & Lean 2011, GRL 38 L01706).
SOLAR_CONSTANT_W_M2 = 1361.0
#: Nominal solar radius, km (IAU 2015 Resolution B3), for the Sun's angular radius.
SUN_RADIUS_KM = 695700.0
#: The Earth's disk as an occulter of the Sun, km: WGS84 equatorial radius 6378.137 km enlarged by
#: 1/85 for the atmosphere's opaque layers (Danjon's rule, used for the shadow radii of lunar
#: eclipse predictions: Espenak & Meeus 2009, Five Millennium Canon of Lunar Eclipses,
#: NASA/TP-2009-214172).
EARTH_ECLIPSE_RADIUS_KM = 6378.137 * (1.0 + 1.0 / 85.0)
#: Body-fixed frame used for sites and selenographic coordinates.
MOON_FRAME = "MOON_ME_DE421"

_BODIES = ("sun", "earth")


@dataclass(frozen=True)
class _Kernels:
    ts: Any
    eph: Any
    pc: Any
    frame: Any
    moon: Any
    bodies: dict


def _lunarsky_data_dir() -> str:
    spec = importlib.util.find_spec("lunarsky")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package 'lunarsky' (Moon orientation kernels) is not installed")
    return os.path.join(spec.submodule_search_locations[0], "data")


def _skyfield_data_dir() -> str:
    from skyfield_data import get_skyfield_data_path

    # get_skyfield_data_path() warns that the bundled finals2000A.all (Earth
    # orientation) has expired; we never use that file (only de421.bsp).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return get_skyfield_data_path()


@functools.lru_cache(maxsize=1)
def _kernels() -> _Kernels:
    """Load DE421 and the Moon orientation kernels once per process (no network)."""
    from skyfield.api import Loader, load
    from skyfield.planetarylib import PlanetaryConstants

    eph = Loader(_skyfield_data_dir(), verbose=False)("de421.bsp")
    data = _lunarsky_data_dir()
    pc = PlanetaryConstants()
    with load.open(os.path.join(data, "fk", "satellites", "moon_080317.tf")) as f:
        pc.read_text(f)
    with load.open(os.path.join(data, "fk", "satellites", "moon_assoc_me.tf")) as f:
        pc.read_text(f)
    # read_binary keeps the file open (segments are read lazily); close it,
    # and the DE421 file, when the interpreter exits.
    bpc = load.open(os.path.join(data, "pck", "moon_pa_de421_1900-2050.bpc"))
    pc.read_binary(bpc)
    atexit.register(bpc.close)
    atexit.register(eph.close)
    # Not in the frame kernel: use the IAU mean radius (spherical Moon).
    pc.variables["BODY301_RADII"] = [MOON_RADIUS_KM] * 3
    frame = pc.build_frame_named(MOON_FRAME)
    ts = load.timescale(builtin=True)
    bodies = {"sun": eph["sun"], "earth": eph["earth"]}
    return _Kernels(ts=ts, eph=eph, pc=pc, frame=frame, moon=eph["moon"], bodies=bodies)


def timescale():
    """The process-wide skyfield timescale (built-in leap-second table)."""
    return _kernels().ts


@functools.lru_cache(maxsize=64)
def _site(lat_deg: float, lon_deg: float):
    k = _kernels()
    topos = k.pc.build_latlon_degrees(k.frame, lat_deg, lon_deg)
    return topos, k.moon + topos


def unix_to_time(unix_s):
    """UTC Unix seconds (float or array) -> skyfield ``Time``.

    Unix time counts 86400 s per day, so split it into whole days since
    1970-01-01 and seconds of the day and let ``ts.utc`` (which knows the leap
    seconds) normalise the out-of-range day number.
    """
    u = np.asarray(unix_s, dtype=np.float64)
    if not np.all(np.isfinite(u)):
        raise ValueError("unix_s must be finite")
    days = np.floor(u / 86400.0)
    seconds = u - days * 86400.0
    return timescale().utc(1970, 1, 1 + days, 0, 0, seconds)


def _check_latlon(lat_deg: float, lon_deg: float) -> tuple[float, float]:
    lat, lon = float(lat_deg), float(lon_deg)
    if not (-90.0 <= lat <= 90.0):
        raise ValueError(f"latitude {lat} deg outside [-90, 90]")
    if not np.isfinite(lon):
        raise ValueError("longitude must be finite")
    return lat, lon


def sky_vectors(lat_deg: float, lon_deg: float, unix_s) -> dict[str, np.ndarray]:
    """Topocentric apparent Sun and Earth directions at a lunar site.

    Parameters
    ----------
    lat_deg, lon_deg:
        Site latitude and east longitude in ``MOON_ME_DE421``, degrees.
    unix_s:
        UTC Unix seconds, scalar or 1-D array of n times.

    Returns
    -------
    dict with ``sun_enu`` and ``earth_enu`` (n, 3) unit vectors in the local
    East-North-Up frame and ``sun_distance_km``, ``earth_distance_km`` (n,)
    (light-time distances from the site to the bodies' centres).
    """
    lat, lon = _check_latlon(lat_deg, lon_deg)
    u = np.atleast_1d(np.asarray(unix_s, dtype=np.float64))
    if u.ndim != 1:
        raise ValueError("unix_s must be a scalar or a 1-D array")
    out: dict[str, np.ndarray] = {}
    if u.size == 0:
        for name in _BODIES:
            out[f"{name}_enu"] = np.empty((0, 3))
            out[f"{name}_distance_km"] = np.empty(0)
        return out
    k = _kernels()
    topos, place = _site(lat, lon)
    t = unix_to_time(u)
    observer = place.at(t)
    # Rows of R: local north, local east, up (skyfield flips the sign of the
    # second row so that azimuth = atan2(y, x) reads north through east).
    R = topos.rotation_at(t)
    for name in _BODIES:
        p = observer.observe(k.bodies[name]).apparent().xyz.au  # (3, n) ICRS
        local = np.einsum("ij...,j...->i...", R, p)  # (3, n): N, E, U
        dist = np.sqrt(local[0] ** 2 + local[1] ** 2 + local[2] ** 2)
        enu = np.stack([local[1], local[0], local[2]], axis=-1) / dist[:, None]
        out[f"{name}_enu"] = np.ascontiguousarray(enu)
        out[f"{name}_distance_km"] = dist * AU_KM
    return out


def elevation_azimuth(enu) -> tuple[np.ndarray, np.ndarray]:
    """ENU vector(s) (..., 3), any length -> (elevation deg, azimuth deg in [0, 360)).

    Uses atan2 throughout, so the vector need not be normalised and the
    result is accurate at all elevations.
    """
    v = np.asarray(enu, dtype=np.float64)
    e = np.ascontiguousarray(v[..., 0])
    n = np.ascontiguousarray(v[..., 1])
    up = np.ascontiguousarray(v[..., 2])
    return _elev_az(e, n, up)


def _elev_az(e: np.ndarray, n: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    elev = np.degrees(np.arctan2(up, np.hypot(e, n)))
    az = np.mod(np.degrees(np.arctan2(e, n)), 360.0)
    # fmod of a tiny negative number rounds to exactly 360.0
    az = np.where(az >= 360.0, 0.0, az)
    return elev, az


def _time_arg(when):
    """Accept a skyfield Time or UTC Unix seconds."""
    if hasattr(when, "tt") and hasattr(when, "tdb"):
        return when
    return unix_to_time(when)


def selenographic(body: str, when) -> tuple[np.ndarray, np.ndarray]:
    """Sub-body point on the Moon: (east longitude deg in (-180, 180], latitude deg).

    The apparent direction of the body's centre as seen from the Moon's centre,
    expressed in the ``MOON_ME_DE421`` frame. For ``body="earth"`` this is the
    total (optical + physical) libration (Meeus, Astronomical Algorithms 2nd ed.,
    ch. 53: l, b); for ``body="sun"`` it is the selenographic subsolar point
    (Meeus l0, b0; the colongitude is 90 - l0).

    ``when`` is either a skyfield ``Time`` or UTC Unix seconds (scalar or array).
    See :func:`selenographic_tt` for Terrestrial Time Julian dates.
    """
    name = body.lower()
    if name not in _BODIES:
        raise ValueError(f"body must be one of {_BODIES}, got {body!r}")
    k = _kernels()
    t = _time_arg(when)
    p = k.moon.at(t).observe(k.bodies[name]).apparent().xyz.au
    R = k.frame.rotation_at(t)  # ICRS -> body-fixed
    x, y, z = np.einsum("ij...,j...->i...", R, p)
    lon = np.degrees(np.arctan2(y, x))
    lat = np.degrees(np.arctan2(z, np.hypot(x, y)))
    return lon, lat


def selenographic_tt(body: str, jd_tt) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`selenographic` for Terrestrial Time Julian date(s) (Meeus' TD)."""
    return selenographic(body, timescale().tt_jd(np.asarray(jd_tt, dtype=np.float64)))
