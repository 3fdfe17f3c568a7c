"""Tests for twin.environment.sky: HorizonMask, disk fraction, SkyGrid."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.environment import (
    AU_KM,
    SAMPLE_KEYS,
    SITES,
    HorizonMask,
    SkyGrid,
    disk_fraction_above,
    elevation_azimuth,
    sky_vectors,
)

DAY = 86400.0
T0 = 1_900_000_000.0  # 2030-03-17 UTC
SPAN = 60 * DAY


@pytest.fixture(scope="module")
def amundsen_grid():
    return SkyGrid(*SITES["amundsen"], T0, T0 + SPAN)


@pytest.fixture(scope="module")
def aristarchus_grid():
    return SkyGrid(*SITES["aristarchus"], T0, T0 + SPAN)


# ------------------------------------------------------------------ HorizonMask


def test_flat_horizon():
    for m in (HorizonMask(), HorizonMask(None), HorizonMask([])):
        assert np.array_equal(m.min_elevation_deg(np.array([0.0, 90.0, 359.9, 720.0])), np.zeros(4))
        assert m.is_flat


def test_mask_interpolates_between_points_in_any_order():
    m = HorizonMask([(180.0, 4.0), (90.0, 2.0), (270.0, 0.0), (0.0, 1.0)])
    az = np.array([0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0])
    assert np.allclose(m.min_elevation_deg(az), [1.0, 1.5, 2.0, 3.0, 4.0, 2.0, 0.0, 0.5])


def test_mask_wraps_around_north():
    m = HorizonMask([(10.0, 2.0), (350.0, 4.0), (180.0, 0.0)])
    # between 350 and 10 (20 deg apart through north)
    assert np.allclose(m.min_elevation_deg(np.array([350.0, 355.0, 0.0, 5.0, 10.0])), [4.0, 3.5, 3.0, 2.5, 2.0])
    # outside [0, 360) azimuths are wrapped
    assert np.allclose(m.min_elevation_deg(np.array([-5.0, 365.0, 720.0])), [3.5, 2.5, 3.0])


def test_single_point_mask_is_constant():
    m = HorizonMask([(123.0, 1.5)])
    assert np.allclose(m.min_elevation_deg(np.linspace(0, 359, 50)), 1.5)


@pytest.mark.parametrize(
    "points, word",
    [
        ([(360.0, 1.0)], "azimuth"),
        ([(-1.0, 1.0)], "azimuth"),
        ([(10.0, 91.0)], "elevation"),
        ([(10.0, -90.5)], "elevation"),
        ([(10.0, 1.0), (20.0, 2.0), (10.0, 3.0)], "duplicate"),
        ([(10.0, float("nan"))], "finite"),
        ([(1.0, 2.0, 3.0)], "pairs"),
    ],
)
def test_mask_validation(points, word):
    with pytest.raises(ValueError, match=word):
        HorizonMask(points)


points_strategy = st.lists(
    # azimuths on a 0.1 deg lattice keep slopes finite for the periodicity check
    st.tuples(st.integers(0, 3599).map(lambda i: i / 10.0), st.floats(-90.0, 90.0)),
    min_size=1,
    max_size=12,
    unique_by=lambda p: p[0],
)


@settings(max_examples=60, deadline=None)
@given(points_strategy, st.floats(-720.0, 720.0))
def test_mask_properties(points, az):
    m = HorizonMask(points)
    el = [p[1] for p in points]
    v = m.min_elevation_deg(np.array([az, az + 360.0]))
    assert min(el) - 1e-9 <= v[0] <= max(el) + 1e-9
    assert v[0] == pytest.approx(v[1], abs=1e-7)  # periodic
    # exact at the given points
    got = m.min_elevation_deg(np.array([p[0] for p in points]))
    assert np.allclose(got, el, atol=1e-9)


# ---------------------------------------------------------------- disk fraction


def test_disk_fraction_hand_values():
    r = 0.267
    assert disk_fraction_above(0.0, r) == pytest.approx(0.5, abs=1e-15)
    assert disk_fraction_above(r, r) == 1.0
    assert disk_fraction_above(5.0, r) == 1.0
    assert disk_fraction_above(-r, r) == 0.0
    assert disk_fraction_above(-5.0, r) == 0.0
    # centre half a radius above the line: 1 - (acos(0.5) - 0.5 sqrt(0.75)) / pi
    assert disk_fraction_above(0.5 * r, r) == pytest.approx(1 - (np.pi / 3 - 0.5 * np.sqrt(0.75)) / np.pi)
    assert disk_fraction_above(0.5 * r, r) == pytest.approx(0.80449, abs=1e-5)


@settings(max_examples=80, deadline=None)
@given(st.floats(-1.0, 1.0), st.floats(-1.0, 1.0), st.floats(0.1, 1.0))
def test_disk_fraction_properties(h1, h2, r):
    f1, f2 = disk_fraction_above(np.array([h1, h2]), r)
    assert 0.0 <= f1 <= 1.0
    assert (f1 <= f2) if h1 <= h2 else (f1 >= f2)  # monotonic
    assert f1 + disk_fraction_above(-h1, r) == pytest.approx(1.0, abs=1e-12)  # symmetric


# ---------------------------------------------------------------------- SkyGrid


def test_sample_keys_and_types(amundsen_grid):
    u = T0 + np.arange(10) * 600.0
    s = amundsen_grid.sample(u)
    assert tuple(s) == SAMPLE_KEYS
    for k, v in s.items():
        assert v.dtype == np.float64 and v.shape == (10,), k
    assert np.all((s["sun_azimuth_deg"] >= 0) & (s["sun_azimuth_deg"] < 360))
    assert np.all((s["earth_azimuth_deg"] >= 0) & (s["earth_azimuth_deg"] < 360))
    assert set(np.unique(s["earth_visible"])) <= {0.0, 1.0}
    assert amundsen_grid.sample(T0)["sun_elevation_deg"].shape == (1,)
    assert amundsen_grid.sample(np.empty(0))["sun_elevation_deg"].shape == (0,)


def test_grid_covers_requested_range_and_rejects_outside(amundsen_grid):
    lo, hi = amundsen_grid.valid_range_unix_s
    assert lo <= T0 - 3600.0 and hi >= T0 + SPAN + 2 * 3600.0
    amundsen_grid.sample(np.array([lo, T0, T0 + SPAN, hi]))
    with pytest.raises(ValueError, match="outside"):
        amundsen_grid.sample(np.array([T0, lo - 1.0]))
    with pytest.raises(ValueError, match="outside"):
        amundsen_grid.sample(np.array([hi + 1.0]))
    with pytest.raises(ValueError):
        amundsen_grid.sample(np.array([np.nan]))
    with pytest.raises(ValueError):
        SkyGrid(0.0, 0.0, T0, T0 - 1.0)
    with pytest.raises(ValueError):
        SkyGrid(0.0, 0.0, T0, T0 + 1.0, grid_step_s=0.0)


@pytest.mark.parametrize("grid_name", ["amundsen_grid", "aristarchus_grid"])
def test_interpolation_error(grid_name, request):
    """1 h grid vs direct DE421 at random whole-minute times.

    Measured: Sun elevation error about 1.5e-5 deg, Earth about 1e-4 deg
    (the Earth's direction carries the Moon's libration wobble).
    """
    grid = request.getfixturevalue(grid_name)
    rng = np.random.default_rng(42)
    u = T0 + np.round(rng.uniform(0.0, SPAN, 1500) / 60.0) * 60.0
    s = grid.sample(u)
    d = sky_vectors(grid.lat_deg, grid.lon_deg, u)
    for b in ("sun", "earth"):
        el, az = elevation_azimuth(d[f"{b}_enu"])
        assert np.abs(s[f"{b}_elevation_deg"] - el).max() < 0.01, b
        daz = (s[f"{b}_azimuth_deg"] - az + 180.0) % 360.0 - 180.0
        assert np.abs(daz * np.cos(np.radians(el))).max() < 0.01, b
    # measured: Sun distance within ~4 km, Earth distance within ~0.3 km
    assert np.allclose(s["sun_distance_au"] * AU_KM, d["sun_distance_km"], rtol=0, atol=20.0)
    assert np.allclose(s["earth_distance_km"], d["earth_distance_km"], rtol=0, atol=2.0)


def test_sample_on_grid_nodes_is_exact(aristarchus_grid):
    u = aristarchus_grid.grid_unix_s[5:15]
    s = aristarchus_grid.sample(u)
    d = sky_vectors(aristarchus_grid.lat_deg, aristarchus_grid.lon_deg, u)
    el, _ = elevation_azimuth(d["sun_enu"])
    assert np.allclose(s["sun_elevation_deg"], el, atol=1e-12)


def test_sample_is_elementwise_and_deterministic(amundsen_grid):
    rng = np.random.default_rng(7)
    u = T0 + rng.uniform(0.0, SPAN, 10_081)
    whole = amundsen_grid.sample(u)
    again = amundsen_grid.sample(u.copy())
    cuts = [0, 1, 2, 9, 16, 33, 100, 1000, 4097, 10_000, 10_081]
    pieces = [amundsen_grid.sample(u[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    singles = [amundsen_grid.sample(u[i : i + 1]) for i in (0, 17, 5000, 10_080)]
    for k in SAMPLE_KEYS:
        assert np.array_equal(whole[k], again[k]), k
        assert np.array_equal(whole[k], np.concatenate([p[k] for p in pieces])), k
        assert np.array_equal(whole[k][[0, 17, 5000, 10_080]], np.concatenate([p[k] for p in singles])), k
        # strided / reversed input gives the same per-element values
        assert np.array_equal(whole[k][::-3], amundsen_grid.sample(u[::-3])[k]), k


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.0, SPAN), min_size=1, max_size=40), st.integers(0, 39))
def test_sample_elementwise_hypothesis(offsets, cut):
    grid = _shared_grid()
    u = T0 + np.array(offsets)
    cut = min(cut, len(u))
    whole = grid.sample(u)
    a, b = grid.sample(u[:cut]), grid.sample(u[cut:])
    for k in SAMPLE_KEYS:
        assert np.array_equal(whole[k], np.concatenate([a[k], b[k]])), k


_h_grid_cache: list = []


def _shared_grid():
    # hypothesis does not mix with function-scoped fixtures; share one grid
    if not _h_grid_cache:
        _h_grid_cache.append(SkyGrid(*SITES["amundsen"], T0, T0 + SPAN))
    return _h_grid_cache[0]


def test_irradiance_and_distance(aristarchus_grid):
    s = aristarchus_grid.sample(T0 + np.linspace(0, SPAN, 200))
    # 1361 W/m^2 x (1 AU / r)^2 (docs/references.md, Energy); r within 0.983-1.017 AU
    assert np.allclose(s["solar_irradiance_w_m2"], 1361.0 / s["sun_distance_au"] ** 2, rtol=1e-12)
    assert np.all((s["solar_irradiance_w_m2"] > 1300) & (s["solar_irradiance_w_m2"] < 1425))


def test_visibility_flat_horizon(amundsen_grid, aristarchus_grid):
    u = T0 + np.arange(0.0, SPAN, 1800.0)
    s = aristarchus_grid.sample(u)
    assert np.all(s["earth_visible"] == 1.0)  # near side: Earth never sets
    s = amundsen_grid.sample(u)
    assert np.array_equal(s["earth_visible"], (s["earth_elevation_deg"] > 0).astype(float))
    assert 0.2 < s["earth_visible"].mean() < 0.8  # pole: up about half the time
    el, f = s["sun_elevation_deg"], s["sun_visible_frac"]
    assert np.all(f[el > 0.3] == 1.0) and np.all(f[el < -0.3] == 0.0)
    grazing = np.abs(el) < 0.26
    assert np.all((f[grazing] > 0.0) & (f[grazing] < 1.0))


def test_sun_visible_frac_with_mask():
    """Sun centre exactly on the mask line -> 0.5; mask well below -> 1; well above -> 0."""
    lat, lon = SITES["amundsen"]
    t = T0 + 3 * DAY + 1234.0
    probe = SkyGrid(lat, lon, T0, T0 + 6 * DAY).sample(np.array([t]))
    el = float(probe["sun_elevation_deg"][0])
    for mask_el, want in ((el, 0.5), (el - 1.0, 1.0), (el + 1.0, 0.0)):
        g = SkyGrid(lat, lon, T0, T0 + 6 * DAY, horizon=HorizonMask([(0.0, mask_el)]))
        got = g.sample(np.array([t]))["sun_visible_frac"][0]
        assert got == pytest.approx(want, abs=1e-9)
    # a mask given as a list of points works too, and the Earth is hidden by a high wall
    g = SkyGrid(lat, lon, T0, T0 + 6 * DAY, horizon=[(0.0, 30.0), (180.0, 30.0)])
    s = g.sample(T0 + np.arange(0, 5 * DAY, 3600.0))
    assert np.all(s["earth_visible"] == 0.0) and np.all(s["sun_visible_frac"] == 0.0)


def test_sun_angular_radius_from_distance(amundsen_grid):
    # Sun centre exactly on a flat horizon at one instant: check that half a
    # solar radius (asin(695700 km / r), about 0.267 deg) above it gives the
    # circular-segment value.
    s = amundsen_grid.sample(np.array([T0]))
    r_deg = np.degrees(np.arcsin(695700.0 / (s["sun_distance_au"][0] * AU_KM)))
    assert 0.26 < r_deg < 0.275
    m = HorizonMask([(0.0, s["sun_elevation_deg"][0] - 0.5 * r_deg)])
    g = SkyGrid(*SITES["amundsen"], T0, T0 + 3600.0, horizon=m)
    assert g.sample(np.array([T0]))["sun_visible_frac"][0] == pytest.approx(0.80449, abs=1e-4)


# ------------------------------------------------- asymmetric masks, real sky
# A mask is looked up at the azimuth of the body it hides (from north, clockwise through east).
# Constant masks cannot tell which azimuth is fed in; a wall on one side only can: at
# Aristarchus the Sun rises at azimuth ~89 deg and sets at ~271 deg, so a wall in the east must
# delay sunrise and leave sunset alone, and one in the west the reverse.

WALL_DEG = 3.0
STEP = 60.0


def wall(lo: float, hi: float, height: float) -> HorizonMask:
    """``height`` between azimuths ``lo`` and ``hi``, 0 elsewhere (half-degree ramps at the ends)."""
    return HorizonMask([(lo - 0.5, 0.0), (lo, height), (hi, height), (hi + 0.5, 0.0)])


def crossings(above: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first sample above (rises) and the first sample not above (sets)."""
    rises = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    sets = np.flatnonzero(~above[1:] & above[:-1]) + 1
    return rises, sets


@pytest.fixture(scope="module")
def aristarchus_minutes(aristarchus_grid):
    u = T0 + np.arange(0.0, 59 * DAY, STEP)
    return u, aristarchus_grid.sample(u)


@pytest.mark.parametrize("side", ["east", "west"])
def test_a_wall_on_one_side_moves_only_that_side_of_the_day(aristarchus_minutes, side):
    u, flat = aristarchus_minutes
    el, az = flat["sun_elevation_deg"], flat["sun_azimuth_deg"]
    lo, hi = (60.0, 120.0) if side == "east" else (240.0, 300.0)
    masked = SkyGrid(*SITES["aristarchus"], T0, T0 + SPAN, horizon=wall(lo, hi, WALL_DEG)).sample(u)
    frac = masked["sun_visible_frac"]
    # Sunrise and sunset: the disk's centre crossing the horizon line (visible fraction 1/2).
    flat_rises, flat_sets = crossings(flat["sun_visible_frac"] > 0.5)
    rises, sets = crossings(frac > 0.5)
    assert len(flat_rises) == len(rises) == 2 and len(flat_sets) == len(sets) == 2
    assert np.all((az[flat_rises] > 80) & (az[flat_rises] < 100))  # in the east ...
    assert np.all((az[flat_sets] > 260) & (az[flat_sets] < 280))  # ... and in the west
    # The expected crossings, from the flat-horizon Sun itself: the first minute the Sun's centre
    # is above the wall after it rose (or the first minute it is not, before it sets), with the
    # Sun inside the wall's azimuths then.
    above_wall = el > WALL_DEG
    rate_deg_h = (el[flat_rises + 60] - el[flat_rises - 60]) / 2.0  # ~0.46 deg/h at the horizon
    if side == "east":
        expected = np.array([r + np.flatnonzero(above_wall[r:])[0] for r in flat_rises])
        assert np.all((az[expected] > lo) & (az[expected] < hi))
        assert np.array_equal(rises, expected)
        assert np.array_equal(sets, flat_sets)  # nothing in the west: sunset unchanged
        delay_h = (rises - flat_rises) * STEP / 3600.0
    else:
        expected = np.array([s - 1 - np.flatnonzero(above_wall[:s][::-1])[0] + 1 for s in flat_sets])
        assert np.all((az[expected - 1] > lo) & (az[expected - 1] < hi))
        assert np.array_equal(sets, expected)
        assert np.array_equal(rises, flat_rises)  # nothing in the east: sunrise unchanged
        delay_h = (flat_sets - sets) * STEP / 3600.0
        rate_deg_h = -(el[flat_sets + 60] - el[flat_sets - 60]) / 2.0
    # By hand: 3 deg at the Sun's vertical rate near the horizon, ~ (360 deg / 29.53 d) cos(23.7 deg)
    # = 0.465 deg/h: about 6.5 h.
    assert 0.44 < rate_deg_h.min() and rate_deg_h.max() < 0.49
    assert delay_h == pytest.approx(WALL_DEG / rate_deg_h, rel=0.02)
    assert np.all((delay_h > 6.0) & (delay_h < 7.0))
    # Step by step: outside the wall the fraction is the flat one, bit for bit; inside it is the
    # disk above a line WALL_DEG higher.
    inside = (az > lo) & (az < hi)
    outside = (az < lo - 0.5) | (az > hi + 0.5)
    assert np.array_equal(frac[outside], flat["sun_visible_frac"][outside])
    radius = np.degrees(np.arcsin(695700.0 / (flat["sun_distance_au"] * AU_KM)))
    assert np.allclose(frac[inside], disk_fraction_above(el[inside] - WALL_DEG, radius[inside]), rtol=0, atol=1e-12)
    grazing = inside & (np.abs(el - WALL_DEG) < 0.2)
    assert grazing.sum() > 100 and np.all((frac[grazing] > 0.0) & (frac[grazing] < 1.0))


@pytest.fixture(scope="module")
def amundsen_hours():
    """Ninety days at Amundsen every 10 min: the Earth near the western limb (azimuth ~270-284
    deg) rises and sets with the libration."""
    return T0 + np.arange(0.0, 89 * DAY, 600.0)


def test_a_wall_on_the_earths_side_delays_earthrise_and_one_opposite_does_not(amundsen_hours):
    u = amundsen_hours
    lat, lon = SITES["amundsen"]
    flat = SkyGrid(lat, lon, T0, T0 + 90 * DAY).sample(u)
    el, az = flat["earth_elevation_deg"], flat["earth_azimuth_deg"]
    assert 265.0 < az.min() and az.max() < 290.0  # the Earth stays in the west at Amundsen
    height = 2.0
    west = SkyGrid(lat, lon, T0, T0 + 90 * DAY, horizon=wall(255.0, 300.0, height)).sample(u)
    east = SkyGrid(lat, lon, T0, T0 + 90 * DAY, horizon=wall(60.0, 105.0, height)).sample(u)  # the mirror image
    # By hand, from the flat sky: behind the western wall the Earth is seen while its centre is
    # above 2 deg; the eastern wall is where the Earth never is and hides nothing.
    assert np.array_equal(west["earth_visible"], (el > height).astype(float))
    assert np.array_equal(east["earth_visible"], flat["earth_visible"])
    flat_rises, flat_sets = crossings(flat["earth_visible"] > 0)
    rises, sets = crossings(west["earth_visible"] > 0)
    assert len(flat_rises) >= 3 and len(rises) == len(flat_rises)
    expected = np.array([r + np.flatnonzero(el[r:] > height)[0] for r in flat_rises])
    assert np.array_equal(rises, expected) and np.all(rises > flat_rises)
    assert np.all(sets < flat_sets[: len(sets)]) and len(sets) == len(flat_sets)
    # The Earth's elevation changes slowly at Amundsen (libration, ~1 deg/day): hours of delay.
    assert np.all((rises - flat_rises) * 600.0 > 12 * 3600.0)


