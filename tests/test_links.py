"""Tests for twin.environment.links: ground stations, relay orbits, link geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.environment.ephemeris import MOON_RADIUS_KM, SITES, _kernels, unix_to_time
from twin.environment.links import (
    EARTH_STATIONS_KEYS,
    GROUND_STATIONS,
    MOON_GM_KM3_S2,
    EarthStationsGrid,
    LinkGeometry,
    RelayOrbit,
    kepler_E,
    stations_from_names,
)
from twin.environment.sky import HorizonMask

DAY = 86400.0
T0 = 1_900_000_000.0  # 2030-03-17 UTC
SPAN = 31 * DAY
R = MOON_RADIUS_KM
GM = MOON_GM_KM3_S2


def circular(r_km: float, incl_deg: float, raan_deg: float, u_deg: float, epoch: float) -> RelayOrbit:
    """Circular orbit with argument of latitude u_deg at the epoch (arg. periapsis 0)."""
    return RelayOrbit(r_km, 0.0, incl_deg, raan_deg, 0.0, u_deg, epoch)


@pytest.fixture(scope="module")
def stations5():
    # minimum elevation 10 deg: an assumption [U] for the test
    return EarthStationsGrid(stations_from_names(None, 10.0), T0, T0 + SPAN)


@pytest.fixture(scope="module")
def kashi():
    lat, lon = GROUND_STATIONS["kashi"]
    return EarthStationsGrid([(lat, lon, 0.0)], T0, T0 + SPAN)


@pytest.fixture(scope="module")
def amundsen_links():
    relays = [
        RelayOrbit.queqiao2_like(epoch_unix_s=T0),
        RelayOrbit.queqiao2_like(epoch_unix_s=T0 + 3 * DAY, raan_deg=180.0, mean_anomaly_deg=180.0),
    ]
    return LinkGeometry(*SITES["amundsen"], relays, T0, T0 + SPAN)


# ------------------------------------------------------------------ orbits


def test_queqiao2_period_and_shape():
    q = RelayOrbit.from_altitudes(200.0, 16000.0, 62.4, epoch_unix_s=T0)
    assert q == RelayOrbit.queqiao2_like(epoch_unix_s=T0)
    # docs/references.md, Communications: two-body period 24.32 h
    assert q.period_s / 3600.0 == pytest.approx(24.32, abs=0.005)
    assert q.semi_major_axis_km == pytest.approx(R + 8100.0)
    assert q.periapsis_radius_km == pytest.approx(R + 200.0)
    assert q.apoapsis_radius_km == pytest.approx(R + 16000.0)
    # arg. periapsis 90 deg: periapsis over the north, apoapsis over the south
    peri = q.position_km(np.array([T0]))[0]
    apo = q.position_km(np.array([T0 + 0.5 * q.period_s]))[0]
    assert np.linalg.norm(peri) == pytest.approx(R + 200.0, rel=1e-12)
    assert np.linalg.norm(apo) == pytest.approx(R + 16000.0, rel=1e-12)
    assert peri[2] > 0 and apo[2] < 0
    assert math.degrees(math.asin(-apo[2] / np.linalg.norm(apo))) == pytest.approx(62.4, abs=1e-9)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(semi_major_axis_km=5000.0, eccentricity=1.0),
        dict(semi_major_axis_km=5000.0, eccentricity=-0.1),
        dict(semi_major_axis_km=2000.0, eccentricity=0.2),  # periapsis 1600 km < R
        dict(semi_major_axis_km=5000.0, eccentricity=0.1, inclination_deg=181.0),
        dict(semi_major_axis_km=float("nan"), eccentricity=0.1),
    ],
)
def test_orbit_validation(kwargs):
    base = dict(inclination_deg=30.0, raan_deg=0.0, arg_periapsis_deg=0.0, mean_anomaly_deg=0.0, epoch_unix_s=T0)
    base.update(kwargs)
    with pytest.raises(ValueError):
        RelayOrbit(**base)


def test_from_altitudes_validation():
    with pytest.raises(ValueError):
        RelayOrbit.from_altitudes(-10.0, 1000.0, 30.0, epoch_unix_s=T0)
    with pytest.raises(ValueError):
        RelayOrbit.from_altitudes(2000.0, 1000.0, 30.0, epoch_unix_s=T0)
    with pytest.raises(TypeError):  # the epoch is required
        RelayOrbit.from_altitudes(200.0, 1000.0, 30.0)


@settings(max_examples=40, deadline=None)
@given(st.floats(1800.0, 60000.0), st.floats(0.0, 180.0), st.floats(0.0, 360.0), st.floats(0.0, 360.0))
def test_circular_speed(r, inc, raan, u0):
    o = circular(r, inc, raan, u0, T0)
    t = T0 + np.linspace(0.0, 2.0 * o.period_s, 101)
    p, v = o.state_km(t)
    assert np.allclose(np.linalg.norm(p, axis=1), r, rtol=1e-13)
    assert np.allclose(np.linalg.norm(v, axis=1), math.sqrt(GM / r), rtol=1e-12)
    assert np.allclose(np.sum(p * v, axis=1), 0.0, atol=1e-9 * r)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 0.99), st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=20))
def test_kepler_equation(e, M):
    M = np.array(M)
    E = kepler_E(M, e)
    assert np.all(np.abs(E) <= math.pi)
    res = E - e * np.sin(E) - M
    res = (res + math.pi) % (2 * math.pi) - math.pi
    # M itself carries ~1 ulp of |M|; the solve is at machine precision
    assert np.all(np.abs(res) <= 8e-16 * (np.abs(M) + 4.0)), (e, M, res)


def test_kepler_dense_high_eccentricity():
    for e in (0.5, 0.8030577, 0.95, 0.99):
        M = np.linspace(-math.pi, math.pi, 200_001, endpoint=False)  # pi maps to -pi
        E = kepler_E(M, e)
        assert np.abs(E - e * np.sin(E) - M).max() < 4e-15, e
        assert np.all(np.diff(E) > 0), e  # monotone


def test_energy_and_angular_momentum_conserved():
    q = RelayOrbit.queqiao2_like(epoch_unix_s=T0, raan_deg=37.0, mean_anomaly_deg=11.0)
    t = T0 + np.linspace(0.0, 3.0 * q.period_s, 20_001)
    p, v = q.state_km(t)
    r = np.linalg.norm(p, axis=1)
    # vis-viva: v^2 = GM (2/r - 1/a)
    assert np.allclose(np.sum(v * v, axis=1), GM * (2.0 / r - 1.0 / q.semi_major_axis_km), rtol=1e-12)
    h = np.cross(p, v)
    h_expected = math.sqrt(GM * q.semi_major_axis_km * (1.0 - q.eccentricity**2))
    assert np.allclose(np.linalg.norm(h, axis=1), h_expected, rtol=1e-12)
    assert np.allclose(h / np.linalg.norm(h, axis=1)[:, None], h[0] / np.linalg.norm(h[0]), atol=1e-13)
    assert r.min() == pytest.approx(q.periapsis_radius_km, rel=1e-6)
    assert r.max() == pytest.approx(q.apoapsis_radius_km, rel=1e-6)
    # velocity is the time derivative of position (central difference)
    dt = 0.5
    fd = (q.position_km(t[::50] + dt) - q.position_km(t[::50] - dt)) / (2 * dt)
    assert np.allclose(fd, v[::50], rtol=0, atol=1e-5)


def test_position_elementwise():
    q = RelayOrbit.queqiao2_like(epoch_unix_s=T0)
    u = T0 + np.random.default_rng(3).uniform(-5 * DAY, 400 * DAY, 20_001)
    whole = q.position_km(u)
    pieces = np.concatenate([q.position_km(u[a:b]) for a, b in ((0, 1), (1, 777), (777, 9000), (9000, 20_001))])
    assert np.array_equal(whole, pieces)
    assert np.array_equal(whole[::-7], q.position_km(u[::-7]))
    assert np.array_equal(whole[[5]], q.position_km(u[5]))


# -------------------------------------------------------------- link geometry


@settings(max_examples=10, deadline=None)
@given(st.floats(1900.0, 12000.0), st.floats(0.0, 360.0), st.floats(0.0, 360.0))
def test_polar_orbit_visible_fraction_from_south_pole(r, raan, u0):
    """Circular polar orbit seen from the south pole with a flat horizon: visible
    exactly while z < -R, i.e. sin(u) < -R/r: fraction (pi - 2 asin(R/r)) / (2 pi).
    The pole does not move with the Moon's rotation, so this holds at any time."""
    o = circular(r, 90.0, raan, u0, T0 + 0.3 * DAY)
    n_orb = 4
    span = n_orb * o.period_s
    g = LinkGeometry(-90.0, 0.0, [o], T0, T0 + span + DAY)
    dt = o.period_s / 2000.0
    t = T0 + 0.3 * DAY + np.arange(0.0, span, dt)
    s = g.sample(t)
    want = (math.pi - 2.0 * math.asin(R / r)) / (2.0 * math.pi)
    tol = (2 * n_orb + 2) * dt / span + 1e-3
    assert abs(s["relay0_visible"].mean() - want) < tol
    # pointwise: visible <=> z < -R, away from the crossings (the pole drifts in the frozen frame by
    # up to ~5e-4 rad over the ~5 days of the longest case: physical libration; allow 1e-3)
    z = o.position_km(t)[:, 2]
    clear = np.abs(z + R) > 1e-3 * r + 1e-3
    assert np.array_equal(s["relay0_visible"][clear], (z < -R)[clear].astype(float))
    # height above the pole's horizontal plane: range sin(elevation) = -z - R
    # (up to the pole's drift in the frozen frame)
    up = s["relay0_range_km"] * np.sin(np.radians(s["relay0_elevation_deg"]))
    assert np.abs(up - (-z - R)).max() < 1e-3 * r


def test_overhead_and_far_side_at_pole():
    te = T0 + 1234.5
    r = 5000.0
    above = circular(r, 90.0, 0.0, 270.0, te)  # z = -r at the epoch
    below = circular(r, 90.0, 0.0, 90.0, te)  # z = +r
    g = LinkGeometry(-90.0, 0.0, [above, below], T0, T0 + DAY)
    s = g.sample(np.array([te]))
    assert s["relay0_elevation_deg"][0] == pytest.approx(90.0, abs=1e-3)
    assert s["relay0_range_km"][0] == pytest.approx(r - R, abs=1e-3)
    assert s["relay0_visible"][0] == 1.0
    assert s["relay1_elevation_deg"][0] == pytest.approx(-90.0, abs=1e-3)
    assert s["relay1_range_km"][0] == pytest.approx(r + R, abs=1e-3)
    assert s["relay1_visible"][0] == 0.0


@settings(max_examples=15, deadline=None)
@given(st.floats(-89.0, 89.0), st.floats(-180.0, 180.0), st.floats(2000.0, 20000.0), st.floats(0.0, 1.0))
def test_overhead_and_far_side_any_site(lat, lon, r, frac):
    """A relay on the site's radial (frozen frame = MOON_ME at the epoch) is at
    elevation 90 and range r - R; on the opposite radial it is hidden."""
    te = T0 + frac * DAY
    over = circular(r, 90.0, lon, lat, te)
    anti = circular(r, 90.0, lon + 180.0, -lat, te)
    g = LinkGeometry(lat, lon, [over, anti], T0, T0 + 2 * DAY)
    s = g.sample(np.array([te]))
    # tolerances: linear interpolation of the rotation at 1 h (~1.2e-5 rad)
    assert s["relay0_elevation_deg"][0] > 89.99
    assert s["relay0_range_km"][0] == pytest.approx(r - R, abs=2e-5 * r + 1e-3)  # chord shrink
    assert s["relay0_visible"][0] == 1.0
    assert s["relay1_elevation_deg"][0] < -89.99
    assert s["relay1_visible"][0] == 0.0


def test_earth_occultation():
    g0 = LinkGeometry(0.0, 0.0, [], T0, T0 + 2 * DAY)
    te = T0 + 0.7 * DAY
    e = g0.earth_position_me_km(np.array([te]))[0]
    d = np.linalg.norm(e)
    lat = math.degrees(math.asin(e[2] / d))
    lon = math.degrees(math.atan2(e[1], e[0]))
    assert abs(lat) < 7.0 and abs(lon) < 9.0  # libration envelope (docs/references.md, Geometry)
    r = 3000.0
    relays = [
        circular(r, 90.0, lon, lat, te),  # between Moon and Earth
        circular(r, 90.0, lon + 180.0, -lat, te),  # behind the Moon
        circular(r, 90.0, lon + 90.0, 0.0, te),  # off to the side: sight line passes ~r > R from centre
    ]
    g = LinkGeometry(0.0, 0.0, relays, T0, T0 + 2 * DAY)
    s = g.sample(np.array([te]))
    assert s["relay0_earth_visible"][0] == 1.0
    assert s["relay1_earth_visible"][0] == 0.0
    assert s["relay2_earth_visible"][0] == 1.0
    assert s["relay0_earth_range_km"][0] == pytest.approx(d - r, abs=1.0)
    assert s["relay1_earth_range_km"][0] == pytest.approx(d + r, abs=1.0)
    assert s["relay2_earth_range_km"][0] == pytest.approx(math.hypot(d, r), abs=1.0)


def test_earth_occultation_invariants(amundsen_links):
    t = T0 + np.arange(0.0, 10 * DAY, 120.0)
    s = amundsen_links.sample(t)
    e = amundsen_links.earth_position_me_km(t)
    for i in range(2):
        p = amundsen_links.relay_position_me_km(i, t)
        hidden = s[f"relay{i}_earth_visible"] == 0.0
        assert hidden.any() and (~hidden).any()
        # hidden only behind the Moon: relay on the far hemisphere and within
        # the Moon's shadow cylinder (Earth ~ at infinity; 3e-3 rad parallax slack)
        ed = e / np.linalg.norm(e, axis=1)[:, None]
        along = np.sum(p * ed, axis=1)
        perp = np.linalg.norm(p - along[:, None] * ed, axis=1)
        assert np.all(along[hidden] < 0)
        assert np.all(perp[hidden] < R + 3e-3 * np.linalg.norm(p[hidden], axis=1))
        # and conversely: clearly outside the shadow cylinder -> Earth visible
        assert np.all(~hidden[(along > 0) | (perp > R + 3e-3 * np.linalg.norm(p, axis=1))])
        assert np.allclose(s[f"relay{i}_earth_range_km"], np.linalg.norm(e - p, axis=1), rtol=1e-12)


def test_rotation_and_earth_interpolation_error(amundsen_links):
    """1 h grid: rotation within ~1.2e-5 rad (measured 1.15e-5), Earth vector within ~1 km."""
    k = _kernels()
    u = T0 + np.random.default_rng(11).uniform(0.0, SPAN, 2000)
    t = unix_to_time(u)
    exact = np.moveaxis(k.frame.rotation_at(t), -1, 0)
    interp = amundsen_links.moon_rotation(u)
    D = np.einsum("nij,nkj->nik", interp, exact) - np.eye(3)
    err = np.sqrt(np.sum(D * D, axis=(1, 2)) / 2.0)
    assert err.max() < 2e-5, err.max()
    e_exact = np.einsum("nij,jn->ni", exact, k.moon.at(t).observe(k.bodies["earth"]).xyz.km)
    assert np.abs(amundsen_links.earth_position_me_km(u) - e_exact).max() < 2.0


def test_relay_elevation_matches_exact_rotation(amundsen_links):
    k = _kernels()
    u = T0 + 3 * DAY + np.random.default_rng(5).uniform(0.0, 20 * DAY, 1000)
    s = amundsen_links.sample(u)
    t = unix_to_time(u)
    Rm = np.moveaxis(k.frame.rotation_at(t), -1, 0)  # ICRS -> ME at each time
    lat, lon = map(math.radians, SITES["amundsen"])
    up = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    for i, relay in enumerate(amundsen_links.relays):
        Re = k.frame.rotation_at(unix_to_time(np.array([relay.epoch_unix_s])))[:, :, 0]
        q_icrs = relay.position_km(u) @ Re  # frozen -> ICRS (Re^T q)
        p = np.einsum("nij,nj->ni", Rm, q_icrs)
        d = p - R * up
        rng = np.linalg.norm(d, axis=1)
        el = np.degrees(np.arcsin(d @ up / rng))
        assert np.abs(s[f"relay{i}_elevation_deg"] - el).max() < 0.005
        assert np.abs(s[f"relay{i}_range_km"] - rng).max() < 0.5
        assert np.array_equal(s[f"relay{i}_visible"], (s[f"relay{i}_elevation_deg"] > 0).astype(float))


def test_horizon_mask_paths():
    relays = [RelayOrbit.queqiao2_like(epoch_unix_s=T0)]
    t = T0 + np.arange(0.0, 5 * DAY, 300.0)
    flat = LinkGeometry(*SITES["amundsen"], relays, T0, T0 + 6 * DAY).sample(t)
    const = LinkGeometry(*SITES["amundsen"], relays, T0, T0 + 6 * DAY, horizon=[(10.0, 20.0)]).sample(t)
    varying = LinkGeometry(
        *SITES["amundsen"], relays, T0, T0 + 6 * DAY,
        horizon=HorizonMask([(0.0, 20.0), (90.0, 20.0), (180.0, 20.0), (270.0, 20.0 + 1e-9)]),
    ).sample(t)
    el = flat["relay0_elevation_deg"]
    assert np.array_equal(const["relay0_elevation_deg"], el)
    assert np.array_equal(const["relay0_visible"], (el > 20.0).astype(float))
    clear = np.abs(el - 20.0) > 1e-6
    assert np.array_equal(varying["relay0_visible"][clear], const["relay0_visible"][clear])
    assert const["relay0_visible"].sum() < flat["relay0_visible"].sum()


def test_link_sample_elementwise_and_deterministic(amundsen_links):
    u = T0 + np.random.default_rng(7).uniform(0.0, SPAN, 20_001)
    whole = amundsen_links.sample(u)
    again = amundsen_links.sample(u.copy())
    cuts = [0, 1, 2, 9, 100, 4097, 8192, 8193, 17_000, 20_001]
    pieces = [amundsen_links.sample(u[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    rev = amundsen_links.sample(u[::-3])
    assert set(whole) == set(amundsen_links.keys()) and len(whole) == 10
    for k in whole:
        assert whole[k].dtype == np.float64 and whole[k].shape == u.shape
        assert np.array_equal(whole[k], again[k]), k
        assert np.array_equal(whole[k], np.concatenate([p[k] for p in pieces])), k
        assert np.array_equal(whole[k][::-3], rev[k]), k


def test_link_range_and_validation(amundsen_links):
    lo, hi = amundsen_links.valid_range_unix_s
    assert lo <= T0 - 3600.0 and hi >= T0 + SPAN + 3600.0
    amundsen_links.sample(np.array([lo, hi]))
    for bad in (lo - 1.0, hi + 1.0, float("nan")):
        with pytest.raises(ValueError):
            amundsen_links.sample(np.array([T0, bad]))
    with pytest.raises(ValueError):
        LinkGeometry(-91.0, 0.0, [], T0, T0 + DAY)
    with pytest.raises(ValueError):
        LinkGeometry(0.0, 0.0, [], T0, T0 - 1.0)
    with pytest.raises(ValueError):
        LinkGeometry(0.0, 0.0, [(1, 2)], T0, T0 + DAY)
    assert LinkGeometry(0.0, 0.0, [], T0, T0 + DAY).sample(np.array([T0])) == {}


# ------------------------------------------------------------ ground stations


def test_stations_from_names():
    assert len(GROUND_STATIONS) == 5
    assert stations_from_names(["kashi"], 5.0) == [(39.5, 76.0, 5.0)]
    with pytest.raises(ValueError):
        stations_from_names(["goldstone"], 5.0)


def test_five_stations_cover_most_of_the_day(stations5):
    t = T0 + np.arange(0.0, 30 * DAY, 300.0)
    s = stations5.sample(t)
    frac = s["dte_station_visible"].mean()
    # measured 0.97 for March-April 2030 with a 10 deg minimum elevation (1.0 at 0 deg)
    assert 0.5 < frac < 1.0, frac
    daily = s["dte_station_visible"].reshape(30, -1).mean(axis=1)
    assert np.all(daily > 0.4), daily
    el = stations5.elevation_deg(t)
    count = np.sum(el > 10.0, axis=1)
    assert np.array_equal(s["stations_in_view_count"], count.astype(float))
    assert np.array_equal(s["dte_station_visible"], (count > 0).astype(float))
    assert s["stations_in_view_count"].max() >= 3  # the three East Asian stations overlap


def test_single_station_sees_moon_about_half_the_day(kashi):
    t = T0 + np.arange(0.0, 30 * DAY, 60.0)
    vis = kashi.sample(t)["dte_station_visible"]
    hours = vis.reshape(30, -1).sum(axis=1) / 60.0
    # 39.5 N, declination within +-28.6 deg: half-arc acos(-tan(lat) tan(dec)) -> 8.5-15.5 h
    assert 11.0 < hours.mean() < 13.0, hours.mean()
    assert np.all((hours > 7.0) & (hours < 17.5)), hours


def test_station_elevation_matches_skyfield_altaz(stations5):
    from skyfield.api import wgs84

    k = _kernels()
    u = T0 + np.random.default_rng(17).uniform(0.0, SPAN, 60)
    el = stations5.elevation_deg(u)
    t = unix_to_time(u)
    for j, (lat, lon, _) in enumerate(stations5.stations):
        alt = (k.eph["earth"] + wgs84.latlon(lat, lon)).at(t).observe(k.eph["moon"]).apparent().altaz()[0].degrees
        # measured: < 0.001 deg at grid nodes, ~0.02 deg between them (10 min grid)
        assert np.abs(el[:, j] - alt).max() < 0.1, (j, np.abs(el[:, j] - alt).max())


def test_station_interpolation_error(kashi):
    u = np.sort(T0 + np.random.default_rng(23).uniform(0.0, SPAN, 3000))
    direct = kashi._compute_elevations(u)
    err = np.abs(kashi.elevation_deg(u) - direct)
    assert err.max() < 0.06, err.max()  # measured max ~0.03 deg, ~0.007 deg near 10 deg elevation
    nodes = kashi.grid_unix_s[10:20]
    assert np.allclose(kashi.elevation_deg(nodes), kashi._compute_elevations(nodes), atol=1e-9)


def test_stations_sample_elementwise_and_validation(stations5):
    u = T0 + np.random.default_rng(9).uniform(0.0, SPAN, 20_001)
    whole = stations5.sample(u)
    cuts = [0, 1, 5, 8191, 8192, 12_345, 20_001]
    pieces = [stations5.sample(u[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    assert tuple(whole) == EARTH_STATIONS_KEYS
    for k in EARTH_STATIONS_KEYS:
        assert np.array_equal(whole[k], np.concatenate([p[k] for p in pieces])), k
        assert np.array_equal(whole[k][::-2], stations5.sample(u[::-2])[k]), k
    lo, hi = stations5.valid_range_unix_s
    for bad in (lo - 1.0, hi + 1.0):
        with pytest.raises(ValueError):
            stations5.sample(np.array([bad]))
    with pytest.raises(ValueError):
        EarthStationsGrid([], T0, T0 + DAY)
    with pytest.raises(ValueError):
        EarthStationsGrid([(95.0, 0.0, 5.0)], T0, T0 + DAY)


def test_an_east_wall_hides_relays_rising_in_the_east_only(amundsen_links):
    """A wall only in the east (10 deg between azimuths 45 and 135) against the relays' real
    passes over Amundsen: a relay that rises behind it is seen once it clears 10 deg, one rising
    in the west is seen at 0 deg as with a flat horizon. Azimuth and elevation here come from the
    relay's and the site's positions, not from LinkGeometry."""
    height, lo, hi = 10.0, 45.0, 135.0
    relays = amundsen_links.relays
    mask = HorizonMask([(lo - 0.5, 0.0), (lo, height), (hi, height), (hi + 0.5, 0.0)])
    walled = LinkGeometry(*SITES["amundsen"], relays, T0, T0 + SPAN, horizon=mask)
    t = T0 + np.arange(0.0, 30 * DAY, 60.0)
    flat, s = amundsen_links.sample(t), walled.sample(t)
    lat, lon = map(math.radians, SITES["amundsen"])
    up = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    east = np.array([-math.sin(lon), math.cos(lon), 0.0])
    north = np.cross(up, east)
    east_rises = west_rises = 0
    for i in range(len(relays)):
        d = amundsen_links.relay_position_me_km(i, t) - R * up
        az = np.degrees(np.arctan2(d @ east, d @ north)) % 360.0
        el = np.degrees(np.arcsin(d @ up / np.linalg.norm(d, axis=1)))
        vis, seen = flat[f"relay{i}_visible"], s[f"relay{i}_visible"]
        assert np.array_equal(s[f"relay{i}_elevation_deg"], flat[f"relay{i}_elevation_deg"])
        # Step by step, away from the wall's ramps and from the lines themselves (the 1 h
        # rotation grid puts LinkGeometry's elevation within ~1e-3 deg of this one):
        inside, outside = (az > lo + 0.1) & (az < hi - 0.1), (az < lo - 0.6) | (az > hi + 0.6)
        clear = np.abs(el - height) > 0.01
        assert np.array_equal(seen[inside & clear], (el > height)[inside & clear].astype(float))
        assert np.array_equal(seen[outside], vis[outside])
        # Low passes on both sides: hidden in the east, seen in the west (a mirrored lookup swaps them).
        low = (el > 0.01) & (el < height - 0.01)
        assert seen[low & inside].sum() == 0 and (low & inside).sum() > 100
        west = (az > 360.0 - hi + 0.1) & (az < 360.0 - lo - 0.1)
        assert np.all(seen[low & west] == 1.0) and (low & west).sum() > 100
        # Each rise: behind the wall it comes the first minute the relay is above 10 deg (computed
        # from the flat-horizon pass), elsewhere at the flat-horizon rise.
        for r in np.flatnonzero((vis[1:] > 0) & (vis[:-1] == 0)) + 1:
            if r + 1 >= len(t):
                continue
            above = np.flatnonzero(el[r:] > height + 0.01)
            k = r + above[0] if above.size else None
            if k is not None and np.all((az[r:k + 1] > lo + 0.1) & (az[r:k + 1] < hi - 0.1)):
                assert np.all(seen[r:k - 1] == 0.0) and seen[k] == 1.0 and k - r > 5
                east_rises += 1
            elif 225.0 < az[r] < 315.0:
                assert seen[r] == 1.0 and seen[r - 1] == 0.0
                west_rises += 1
    assert east_rises >= 4 and west_rises >= 4
