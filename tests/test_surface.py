"""The regolith surface temperature model against Diviner's anchors and analytic limits."""
from __future__ import annotations

import numpy as np
import pytest

from twin.clock import parse_utc, unix_s
from twin.environment.sky import SkyGrid
from twin.environment.surface import SIGMA, RegolithThermal, albedo, surface_temperature

LUNATION_S = 29.53 * 86400


def site_run(lat, lon, step_s=3600.0, lunations=2, spin=3):
    t0 = unix_s(parse_utc("2030-01-01T00:00:00Z"))
    times = np.arange(t0, t0 + (spin + lunations) * LUNATION_S, step_s)
    sky = SkyGrid(lat, lon, times[0], times[-1]).sample(times, ["sun_elevation_deg", "solar_irradiance_w_m2", "sun_visible_frac"])
    el = sky["sun_elevation_deg"]
    flux = sky["solar_irradiance_w_m2"] * np.maximum(np.sin(np.radians(el)), 0.0) * sky["sun_visible_frac"]
    spin_steps = int(spin * LUNATION_S / step_s)
    return surface_temperature(flux, 90.0 - el, step_s, spin_up=spin_steps), el[spin_steps:], flux[spin_steps:]


def test_the_equator_reaches_diviners_noon_and_predawn_temperatures():
    """Diviner: about 390 K at equatorial noon, about 95 K just before dawn."""
    t, el, flux = site_run(0.0, 0.0)
    assert t.max() == pytest.approx(390.0, abs=10.0)
    sunrise = np.flatnonzero((el[1:] > 0) & (el[:-1] <= 0))
    assert sunrise.size >= 1 and all(t[i] == pytest.approx(95.0, abs=8.0) for i in sunrise)
    # Never above radiative equilibrium with the noon Sun: the regolith only stores heat.
    p = RegolithThermal()
    ceiling = ((1 - albedo(p, 0.0)) * flux.max() / (p.emissivity * SIGMA)) ** 0.25
    assert t.max() <= ceiling + 0.5


def test_without_sunlight_the_geothermal_flux_sets_a_cold_trap_near_25_k():
    p = RegolithThermal()
    # Daily steps over 30 years: the 2 m column takes decades to carry the geothermal flux.
    t = surface_temperature(np.zeros(11_000), np.full(11_000, 90.0), 86400.0)
    assert t[-1] == pytest.approx((p.geothermal_w_m2 / (p.emissivity * SIGMA)) ** 0.25, abs=1.0)
    assert 23.0 < t[-1] < 27.0  # polar cold traps: about 26 K


def test_noon_and_night_do_not_depend_on_the_step():
    hourly, _, _ = site_run(0.0, 0.0, 3600.0, lunations=1)
    fine, _, _ = site_run(0.0, 0.0, 600.0, lunations=1)
    assert hourly.max() == pytest.approx(fine.max(), abs=1.0) and hourly.min() == pytest.approx(fine.min(), abs=1.0)


def test_near_the_pole_the_low_sun_keeps_the_ground_cold():
    t, el, _ = site_run(-84.5, 82.8)
    assert el.max() < 7.5 and 120.0 < t.max() < 230.0
