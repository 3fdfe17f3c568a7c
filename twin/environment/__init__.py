"""Lunar environment: Sun and Earth in the sky of a lunar site (DE421), horizon masks."""

from .ephemeris import (
    AU_KM,
    MOON_FRAME,
    MOON_RADIUS_KM,
    SITES,
    SOLAR_CONSTANT_W_M2,
    SUN_RADIUS_KM,
    elevation_azimuth,
    selenographic,
    selenographic_tt,
    sky_vectors,
    timescale,
    unix_to_time,
)
from .sky import SAMPLE_KEYS, HorizonMask, SkyGrid, disk_fraction_above

__all__ = [
    "AU_KM",
    "MOON_FRAME",
    "MOON_RADIUS_KM",
    "SITES",
    "SOLAR_CONSTANT_W_M2",
    "SUN_RADIUS_KM",
    "elevation_azimuth",
    "selenographic",
    "selenographic_tt",
    "sky_vectors",
    "timescale",
    "unix_to_time",
    "SAMPLE_KEYS",
    "HorizonMask",
    "SkyGrid",
    "disk_fraction_above",
]
