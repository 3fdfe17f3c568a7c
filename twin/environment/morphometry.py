"""Built-in terrain for the candidate sites, from published landform morphometry.

No measured elevation model can ship with the package, so each built-in site gets a synthetic one
that has the landforms that decide its horizon, at their published sizes, plus a seeded fractal
roughness. It is an approximation: a user's elevation model (``[site] dem``, LOLA products for
example) replaces it, and ``[site] terrain = "flat"`` turns it off. Sources (docs/references.md,
Terrain):

* Complex craters (Amundsen, Aristarchus): Pike (1977), fresh lunar complex craters of rim-crest
  diameter D (km): depth rim crest to floor d = 1.044 D^0.301 km, rim height above the
  surroundings h = 0.236 D^0.399 km, floor diameter Df = 0.187 D^1.249 km and central peak height
  hcp = 0.032 D^0.900 km above the floor; a crater's measured depth and peak replace them
  (Aristarchus: 2.7 km deep, a peak 300 m high and 3.2 km wide, LROC). The wall rises as a
  parabola from the floor's edge to the rim crest; outside, the rim and its ejecta fall off as
  (r/R)^-3 (McGetchin, Settle & Head 1973); the peak is a cosine bell with Aristarchus's
  width-to-height ratio. The station stands at the site's gazetteer point, the crater's centre,
  on its central peak: at Amundsen the peaks near the floor's midpoint are among the few places
  inside the crater that see the Sun.
* The Marius Hills: 22 domes (2.5-24 km across, 100-500 m high) and 360 cones (median 2.7 km
  across and 115 m high) over a field of about 35,000 km^2 (Lawrence et al. 2013; NASA LOLA),
  placed at random with a seeded generator and kept at least their own radius from the station,
  which stands on the mare plain between them.
* Roughness: a band-limited fractional Brownian surface with Hurst exponent H and an RMS height
  deviation nu(L) = nu0 (L / L0)^H at baseline L (Rosenburg et al. 2011, LOLA: H about 0.95 in the
  highlands and 0.76 in the maria, median slopes about 8 and 3 deg at 57 m), flat beyond a 2 km
  corner wavelength [U] (the landforms carry the long wavelengths). Within ``pad_m`` of the
  station the ground is level, at the height of a local rise (the 90th percentile of the
  roughness around it): a site survey puts a station on a level rise, not in a hollow.

Every grid is centred on the station (a :class:`~twin.environment.terrain.GridModel`), rows from
north to south, built the same way for the same site and seed on every machine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .ephemeris import SITES
from .terrain import GridModel

# Aristarchus (LROC, lroc.sese.asu.edu/posts/1022): 40 km across, 2.7 km deep, a central peak
# 300 m above the floor and 3.2 km wide.
PEAK_WIDTH_PER_HEIGHT = 3.2 / 0.3

#: ``[site] terrain``: the built-in synthetic terrain, or a smooth sphere.
TERRAIN_CHOICES = ("morphometry", "flat")


@dataclass(frozen=True)
class ComplexCrater:
    """A fresh complex crater of rim-crest diameter ``diameter_km`` centred on the station; a
    measured depth or central peak replaces the size relation's."""

    diameter_km: float
    measured_depth_km: float | None = None
    measured_peak_height_km: float | None = None
    measured_peak_width_km: float | None = None

    @property
    def depth_km(self) -> float:  # rim crest to floor (Pike 1977)
        return self.measured_depth_km if self.measured_depth_km is not None else 1.044 * self.diameter_km ** 0.301

    @property
    def rim_height_km(self) -> float:  # rim crest above the surroundings (Pike 1977)
        return 0.236 * self.diameter_km ** 0.399

    @property
    def floor_diameter_km(self) -> float:  # (Pike 1977)
        return 0.187 * self.diameter_km ** 1.249

    @property
    def peak_height_km(self) -> float:  # above the floor (Pike 1977)
        return self.measured_peak_height_km if self.measured_peak_height_km is not None else 0.032 * self.diameter_km ** 0.900

    @property
    def peak_diameter_km(self) -> float:
        # At its base: Aristarchus's peak, 300 m high and 3.2 km wide (LROC), scaled by height.
        if self.measured_peak_width_km is not None:
            return self.measured_peak_width_km
        return self.peak_height_km * PEAK_WIDTH_PER_HEIGHT


    def heights_m(self, r_m: np.ndarray) -> np.ndarray:
        """Height above the pre-impact surface at distance ``r_m`` from the centre."""
        R = self.diameter_km * 500.0
        rf = min(self.floor_diameter_km * 500.0, 0.9 * R)
        h, d = self.rim_height_km * 1000.0, self.depth_km * 1000.0
        floor = h - d
        r = np.asarray(r_m, dtype=np.float64)
        wall = floor + d * (np.clip(r - rf, 0.0, None) / (R - rf)) ** 2
        z = np.where(r <= R, wall, h * (np.maximum(r, R) / R) ** -3.0)
        if self.peak_height_km > 0:
            rp = self.peak_diameter_km * 500.0
            z = z + np.where(r < rp, self.peak_height_km * 1000.0 * np.cos(0.5 * math.pi * np.minimum(r, rp) / rp) ** 2, 0.0)
        return z

    def extent_m(self) -> float:
        """Half-width of the tile: out to where the flank has fallen to a tenth of the rim."""
        return self.diameter_km * 500.0 * 10.0 ** (1.0 / 3.0)


@dataclass(frozen=True)
class Edifices:
    """One population of volcanic edifices: ``per_1000_km2`` of them, basal diameters and heights
    log-uniform in the given ranges, each a cosine bell."""

    per_1000_km2: float
    diameter_km: tuple[float, float]
    height_m: tuple[float, float]


@dataclass(frozen=True)
class VolcanicField:
    """Domes and cones on a mare plain, placed at random; the station stands on the plain, at
    least its own radius clear of every edifice."""

    populations: tuple[Edifices, ...]
    half_width_km: float

    def heights_m(self, north_m: np.ndarray, east_m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        w = self.half_width_km * 1000.0
        z = np.zeros(np.broadcast(north_m, east_m).shape)
        for population in self.populations:
            for _ in range(rng.poisson(population.per_1000_km2 * (2 * self.half_width_km) ** 2 / 1000.0)):
                radius = 500.0 * math.exp(rng.uniform(*np.log(population.diameter_km)))
                height = math.exp(rng.uniform(*np.log(population.height_m)))
                cn, ce = rng.uniform(-w, w, size=2)
                if math.hypot(cn, ce) < 2.0 * radius:
                    continue
                r = np.hypot(north_m - cn, east_m - ce)
                z += np.where(r < radius, height * np.cos(0.5 * math.pi * np.minimum(r, radius) / radius) ** 2, 0.0)
        return z

    def extent_m(self) -> float:
        return self.half_width_km * 1000.0


@dataclass(frozen=True)
class Roughness:
    """nu(L) = nu0 (L / L0)^H: the RMS height difference between points ``L`` apart."""

    hurst: float
    nu0_m: float
    baseline_m: float
    corner_m: float
    source: str


@dataclass(frozen=True)
class SiteTerrain:
    landform: ComplexCrater | VolcanicField
    roughness: Roughness
    spacing_m: float
    pad_m: float
    source: str

    def model(self, lat_deg: float, lon_deg: float, seed: int, label: str) -> GridModel:
        return GridModel(_heights(self, seed), self.spacing_m, lat_deg, lon_deg, label=label)


# Rosenburg et al. 2011 (JGR 116, E02001), LOLA: median RMS deviation at the 17 m baseline, and the
# Hurst exponent from 17 m to 2.7 km, for the highlands and the maria.
HIGHLAND = Roughness(hurst=0.95, nu0_m=8.0, baseline_m=57.0, corner_m=2000.0, source="Rosenburg et al. 2011, highlands")
MARE = Roughness(hurst=0.76, nu0_m=3.0, baseline_m=57.0, corner_m=2000.0, source="Rosenburg et al. 2011, maria")

# The Marius Hills field, about 35,000 km^2 [U], holds 22 domes and 360 cones; the cones' median
# basal width is 2.7 km and height 115 m; domes are 2.5-24 km across and 100-500 m high
# (Lawrence et al. 2013, JGR Planets 118:615; NASA LOLA) [S].
MARIUS_DOMES = Edifices(per_1000_km2=22 / 35.0, diameter_km=(2.5, 24.0), height_m=(100.0, 500.0))
MARIUS_CONES = Edifices(per_1000_km2=360 / 35.0, diameter_km=(1.0, 6.0), height_m=(40.0, 300.0))

SITE_TERRAIN: dict[str, SiteTerrain] = {
    "amundsen": SiteTerrain(ComplexCrater(103.0), HIGHLAND, spacing_m=250.0, pad_m=500.0,
                            source="Amundsen: 103 km across (USGS gazetteer), a flat floor with central peaks near its midpoint; depth and peak from Pike 1977"),
    "aristarchus": SiteTerrain(ComplexCrater(40.0, measured_depth_km=2.7, measured_peak_height_km=0.3, measured_peak_width_km=3.2), HIGHLAND, spacing_m=100.0, pad_m=300.0,
                               source="Aristarchus: 40 km across, 2.7 km deep, central peak 300 m high and 3.2 km wide (LROC)"),
    "marius-hills": SiteTerrain(VolcanicField((MARIUS_DOMES, MARIUS_CONES), half_width_km=30.0), MARE, spacing_m=100.0, pad_m=300.0,
                                source="Marius Hills: volcanic domes and cones on the mare of Oceanus Procellarum"),
}


def fractal(shape: tuple[int, int], spacing_m: float, roughness: Roughness, rng: np.random.Generator) -> np.ndarray:
    """A fractional Brownian surface (power spectrum ~ k^-(2H+2)), scaled so that its RMS height
    difference at the grid's own lags follows nu(L) = nu0 (L / L0)^H at the lag nearest 1 km."""
    ny, nx = shape
    k = np.hypot(np.fft.fftfreq(ny, spacing_m)[:, None], np.fft.rfftfreq(nx, spacing_m)[None, :])
    # von Karman: the power law up to the corner wavelength, flat beyond (the landforms carry the
    # long wavelengths).
    spectrum = (k**2 + 1.0 / roughness.corner_m**2) ** (-(roughness.hurst + 1.0) / 2.0) * (rng.standard_normal(k.shape) + 1j * rng.standard_normal(k.shape))
    z = np.fft.irfft2(spectrum, s=shape)
    lag = 1
    target = roughness.nu0_m * (lag * spacing_m / roughness.baseline_m) ** roughness.hurst
    return z * (target / deviation(z, lag))


def deviation(z: np.ndarray, lag: int) -> float:
    """The RMS height difference between grid points ``lag`` apart along rows and columns."""
    return math.sqrt(0.5 * (np.mean((z[:, lag:] - z[:, :-lag]) ** 2) + np.mean((z[lag:, :] - z[:-lag, :]) ** 2)))


@lru_cache(maxsize=4)
def _heights(terrain: SiteTerrain, seed: int) -> np.ndarray:
    half = terrain.landform.extent_m()
    n = 2 * int(math.ceil(half / terrain.spacing_m)) + 1  # odd: the station is on the centre cell
    axis = (np.arange(n) - (n - 1) / 2.0) * terrain.spacing_m
    north, east = -axis[:, None], axis[None, :]
    rng = np.random.default_rng([seed, n])
    if isinstance(terrain.landform, ComplexCrater):
        z = terrain.landform.heights_m(np.hypot(north, east))
    else:
        z = terrain.landform.heights_m(north, east, rng)
    r = np.hypot(north, east)
    rough = fractal((n, n), terrain.spacing_m, terrain.roughness, rng)
    # The pad: level ground at the height a survey would pick, a local rise (the 90th percentile of
    # the roughness within ten pad radii), blended into the rough ground around it.
    rise = float(np.percentile(rough[r <= 10.0 * terrain.pad_m], 90.0))
    taper = 1.0 - np.exp(-((r / terrain.pad_m) ** 2))
    z = z + taper * rough + (1.0 - taper) * rise
    z.setflags(write=False)
    return z


def site_model(name: str, seed: int = 1) -> GridModel:
    """The built-in synthetic elevation model of a candidate site, centred on its station."""
    if name not in SITE_TERRAIN:
        raise ValueError(f"site: {name!r} has no built-in terrain (built in: {', '.join(SITE_TERRAIN)}); give an elevation model with dem")
    lat, lon = SITES[name]
    return SITE_TERRAIN[name].model(lat, lon, seed, label=f"{name} (built-in morphometry, seed {seed})")
