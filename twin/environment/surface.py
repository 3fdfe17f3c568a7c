"""The regolith surface's temperature at a site: a 1-D heat conduction model after Hayne et al.
(2017, JGR Planets 122:2371), the model fitted to Diviner's global observations.

The regolith's density rises with depth from 1100 kg/m^3 at the surface to 1800 kg/m^3 with an
e-folding depth H = 0.07 m; its contact conductivity rises with density from 7.4e-4 to 3.4e-3
W/(m K), times (1 + chi (T / 350 K)^3) for radiation between grains (chi = 2.7); its heat
capacity is Hayne et al.'s polynomial in temperature. At the surface, absorbed sunlight (albedo
0.12 rising at oblique incidence: A = A0 + a (i/45)^3 + b (i/90)^8, a = 0.06, b = 0.25) and the
heat conducted up balance the emission e sigma T^4 (e = 0.95); at the bottom the geothermal flux
is 0.018 W/m^2. Time steps are implicit (unconditionally stable), the grid fine at the surface and
coarser below; the model is spun up over earlier lunations before the span starts.

Anchors (tests/test_surface.py): about 390 K at equatorial noon and 95 K before dawn (Diviner),
and, with no sunlight at all, the geothermal equilibrium of a polar cold trap (about 25 K).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SIGMA = 5.670374419e-8  # Stefan-Boltzmann, W/(m^2 K^4)


@dataclass(frozen=True)
class RegolithThermal:
    """Hayne et al. 2017, table A1 (the standard model of the Moon's regolith)."""

    density_surface_kg_m3: float = 1100.0
    density_deep_kg_m3: float = 1800.0
    h_parameter_m: float = 0.07
    conductivity_surface_w_m_k: float = 7.4e-4
    conductivity_deep_w_m_k: float = 3.4e-3
    radiative_chi: float = 2.7
    albedo: float = 0.12
    albedo_a: float = 0.06
    albedo_b: float = 0.25
    emissivity: float = 0.95
    geothermal_w_m2: float = 0.018


def heat_capacity(t_k: np.ndarray) -> np.ndarray:
    """J/(kg K): Hayne et al. 2017, eq. A6 (after Ledlow et al. 1992 and Hemingway et al. 1981)."""
    t = np.asarray(t_k, dtype=np.float64)
    return -3.6125 + 2.7431 * t + 2.3616e-3 * t**2 - 1.2340e-5 * t**3 + 8.9093e-9 * t**4


def albedo(p: RegolithThermal, incidence_deg: np.ndarray) -> np.ndarray:
    i = np.clip(np.asarray(incidence_deg, dtype=np.float64), 0.0, 90.0)
    return p.albedo + p.albedo_a * (i / 45.0) ** 3 + p.albedo_b * (i / 90.0) ** 8


def _grid(p: RegolithThermal, layers: int = 32, first_m: float = 2e-3, growth: float = 1.18):
    dz = first_m * growth ** np.arange(layers)
    z = np.cumsum(dz) - dz / 2.0  # layer centres
    rho = p.density_deep_kg_m3 - (p.density_deep_kg_m3 - p.density_surface_kg_m3) * np.exp(-z / p.h_parameter_m)
    kc = p.conductivity_deep_w_m_k - (p.conductivity_deep_w_m_k - p.conductivity_surface_w_m_k) * (p.density_deep_kg_m3 - rho) / (p.density_deep_kg_m3 - p.density_surface_kg_m3)
    return dz, z, rho, kc


def surface_temperature(flux_w_m2: np.ndarray, incidence_deg: np.ndarray, step_s: float, spin_up: int = 0,
                        p: RegolithThermal = RegolithThermal()) -> np.ndarray:
    """Surface temperature (K) at the end of each step, for the sunlight falling on a horizontal
    surface (W/m^2: irradiance x cos(incidence) x the visible part of the disk) at each step.

    ``spin_up``: the first ``spin_up`` steps only bring the column to its periodic state and are
    not returned (give a few lunations of the same geometry before the span).
    """
    flux = np.asarray(flux_w_m2, dtype=np.float64)
    absorbed = (1.0 - albedo(p, incidence_deg)) * np.maximum(flux, 0.0)
    dz, z, rho, kc = _grid(p)
    n = dz.size
    eps_sigma = p.emissivity * SIGMA
    # Start near the mean of the equilibrium over the forcing: spin-up does the rest.
    mean_abs = float(absorbed.mean()) if absorbed.size else 0.0
    t = np.full(n, max(((mean_abs / 2.0 + p.geothermal_w_m2) / eps_sigma) ** 0.25, 25.0))
    out = np.empty(flux.size)
    # Distances between layer centres (the first from the surface node to the first centre).
    dist = np.diff(z)
    a = np.zeros(n)
    b = np.zeros(n)
    c = np.zeros(n)
    d = np.zeros(n)
    for step in range(flux.size):
        k = kc * (1.0 + p.radiative_chi * (t / 350.0) ** 3)
        k_face = 2.0 * k[:-1] * k[1:] / (k[:-1] + k[1:])  # between layers j and j+1
        cap = rho * heat_capacity(t) * dz / step_s  # J/(m^2 K s)
        g = k_face / dist  # W/(m^2 K)
        # Interior and bottom: cap (T - T_old) = flux in - flux out.
        a[1:] = -g
        c[:-1] = -g
        b[:] = cap
        b[:-1] += g
        b[1:] += g
        d[:] = cap * t
        d[-1] += p.geothermal_w_m2
        # Surface layer: absorbed sunlight in, emission out. The emission is linearised about the
        # surface temperature and re-solved until it settles (a cold surface meeting the morning
        # Sun would otherwise overshoot its equilibrium).
        b0, d0, guess = b[0], d[0] + absorbed[step], t[0]
        for _ in range(8):
            b[0] = b0 + 4.0 * eps_sigma * guess**3
            d[0] = d0 + 3.0 * eps_sigma * guess**4
            new = _thomas(a, b, c, d)
            settled = abs(new[0] - guess) < 1e-3
            guess = new[0]
            if settled:
                break
        t = new
        out[step] = t[0]
    return out[spin_up:]


def _thomas(a, b, c, d) -> np.ndarray:
    """Tridiagonal solve (sub-diagonal a, diagonal b, super-diagonal c), on Python floats: for 32
    unknowns the per-element numpy indexing would cost more than the arithmetic."""
    a, b, c, d = a.tolist(), b.tolist(), c.tolist(), d.tolist()
    n = len(b)
    cp = [0.0] * n
    dp = [0.0] * n
    cp[0] = c[0] / b[0]
    dp[0] = d[0] / b[0]
    for i in range(1, n):
        m = b[i] - a[i] * cp[i - 1]
        cp[i] = c[i] / m
        dp[i] = (d[i] - a[i] * dp[i - 1]) / m
    x = [0.0] * n
    x[-1] = dp[-1]
    for i in range(n - 2, -1, -1):
        x[i] = dp[i] - cp[i] * x[i + 1]
    return np.array(x)


LUNATION_S = 29.530589 * 86400.0


class SurfaceTemperatureGrid:
    """The site's surface temperature on a coarse grid (default 1 h), for the run and three
    lunations of spin-up before it; ``sample(times)`` interpolates linearly. Sunlight is what the
    ground sees above ``horizon`` (eclipses included). Built once per site and span (cached)."""

    def __init__(self, lat_deg: float, lon_deg: float, start_unix_s: float, end_unix_s: float, horizon=None,
                 grid_step_s: float = 3600.0, p: RegolithThermal = RegolithThermal()):
        from twin import cache
        from twin.clock import unix_s
        from twin.params import EPHEMERIS_START

        from .sky import HorizonMask, SkyGrid

        mask = horizon if isinstance(horizon, HorizonMask) else HorizonMask(horizon)
        earliest = float(unix_s(EPHEMERIS_START)) + 86400.0
        spin_start = max(float(start_unix_s) - 3.0 * LUNATION_S, earliest)
        spin_steps = int((float(start_unix_s) - spin_start) // grid_step_s)
        first = float(start_unix_s) - spin_steps * grid_step_s
        times = first + grid_step_s * np.arange(spin_steps + int(math.ceil((float(end_unix_s) - float(start_unix_s)) / grid_step_s)) + 2)

        def build():
            sky = SkyGrid(lat_deg, lon_deg, float(times[0]), float(times[-1]), horizon=mask).sample(
                times, ["sun_elevation_deg", "solar_irradiance_w_m2", "sun_visible_frac"])
            el = sky["sun_elevation_deg"]
            flux = sky["solar_irradiance_w_m2"] * np.maximum(np.sin(np.radians(el)), 0.0) * sky["sun_visible_frac"]
            return {"temperature_k": surface_temperature(flux, 90.0 - el, grid_step_s, p=p)}

        inputs = {"lat": float(lat_deg), "lon": float(lon_deg), "times": times, "mask": [mask.azimuth_deg, mask.elevation_deg],
                  "model": [float(v) for v in vars(p).values()]}
        code = ("twin.environment.surface", "twin.environment.sky", "twin.environment.ephemeris", "twin.environment.grid")
        self.times = times
        self.temperature_k = cache.arrays("surface-temperature", inputs, code, build)["temperature_k"]

    def sample(self, unix_s) -> dict[str, np.ndarray]:
        return {"surface_temperature_k": np.interp(np.asarray(unix_s, dtype=np.float64), self.times, self.temperature_k)}
