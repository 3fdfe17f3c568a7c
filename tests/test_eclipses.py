"""Lunar eclipses seen from the site: the Earth's disk over the Sun's, from the same ephemeris,
against the published contacts of two total lunar eclipses, and the arrays going dark."""
from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.clock import parse_utc, unix_s
from twin.environment.ephemeris import SITES
from twin.environment.sky import SkyGrid, disk_overlap_frac

# Contacts (UT) as published for the Moon's whole disk: P1, U1, U2, greatest, U3, U4, P4.
# 2025-03-14: moonblink.info/Eclipse/eclipse/2025_03_14 (after NASA's eclipse web site);
# 2025-09-07: the same circumstances as reported from NASA/timeanddate (spaceweekly.com).
ECLIPSES = {
    "2025-03-14": ("03:57:24", "05:09:33", "06:25:59", "06:58:42", "07:31:23", "08:47:48", "10:00:01"),
    "2025-09-07": ("15:28:21", "16:27:02", "17:30:41", "18:11:43", "18:52:47", "19:56:26", "20:55:00"),
}
SLACK_S = 180.0  # the Earth's effective radius (Danjon's 1/85) against each catalogue's own shadow model


def contacts(day: str) -> list[float]:
    return [unix_s(parse_utc(f"{day}T{hms}Z")) for hms in ECLIPSES[day]]


def eclipse_at(lat, lon, day):
    p1, *_, p4 = contacts(day)
    times = np.arange(p1 - 3600.0, p4 + 3600.0, 10.0)
    sky = SkyGrid(lat, lon, times[0], times[-1]).sample(times, ["sun_eclipsed_frac", "sun_visible_frac", "sun_elevation_deg"])
    return times, sky


def test_disk_overlap_against_hand_computed_areas():
    # Equal disks one radius apart: lens = 2 acos(1/2) - sqrt(3)/2 = 1.2284, over pi = 0.39100.
    assert disk_overlap_frac(1.0, 1.0, 1.0) == pytest.approx((2 * math.acos(0.5) - math.sqrt(3) / 2) / math.pi, rel=1e-12)
    assert disk_overlap_frac(0.27, 0.95, 0.0) == 1.0  # the Sun behind the Earth
    assert disk_overlap_frac(0.27, 0.95, 1.22) == 0.0  # apart by the sum of the radii
    assert disk_overlap_frac(1.0, 0.5, 0.2) == pytest.approx(0.25)  # an annulus: (r2 / r1)^2


@given(r1=st.floats(0.1, 1.0), r2=st.floats(0.1, 2.0), d=st.floats(0.0, 3.0), e=st.floats(1e-6, 0.5))
def test_disk_overlap_is_a_fraction_that_falls_as_the_disks_part(r1, r2, d, e):
    near, far = disk_overlap_frac(r1, r2, d), disk_overlap_frac(r1, r2, d + e)
    assert 0.0 <= far <= near <= 1.0


@pytest.mark.parametrize("day", sorted(ECLIPSES))
@pytest.mark.parametrize("site", ["aristarchus", "marius-hills"])
def test_a_near_side_site_is_in_the_umbra_between_the_published_contacts(day, site):
    """Any point of the Earth-facing disk enters the umbra after U1 (the first limb in) and before
    U2 (the whole Moon in), and leaves it between U3 and U4; its partial phases lie within P1-P4."""
    p1, u1, u2, _, u3, u4, p4 = contacts(day)
    times, sky = eclipse_at(*SITES[site], day)
    hidden = sky["sun_eclipsed_frac"]
    total, partial = times[hidden >= 1.0], times[hidden > 0.0]
    assert u1 - SLACK_S <= total[0] <= u2 + SLACK_S and u3 - SLACK_S <= total[-1] <= u4 + SLACK_S
    assert partial[0] >= p1 - SLACK_S and partial[-1] <= p4 + SLACK_S
    # The Sun stands high there, yet the arrays see none of it in totality.
    in_total = hidden >= 1.0
    assert sky["sun_elevation_deg"][in_total].min() > 10.0 and sky["sun_visible_frac"][in_total].max() == 0.0


@pytest.mark.parametrize("day", sorted(ECLIPSES))
def test_totality_at_the_centre_of_the_disk_is_centred_on_greatest_eclipse(day):
    greatest = contacts(day)[3]
    times, sky = eclipse_at(0.0, 0.0, day)  # the mean sub-Earth point (libration moves it a few degrees)
    total = times[sky["sun_eclipsed_frac"] >= 1.0]
    assert abs((total[0] + total[-1]) / 2 - greatest) < 300.0


def test_the_arrays_go_dark_in_an_eclipse(tmp_path):
    from twin.run import run
    from twin.scenario import parse

    text = """
[scenario]
name = "eclipse"

[site]
name = "aristarchus"

[time]
start = "2025-03-14T00:00:00Z"
end = "2025-03-14T12:00:00Z"
step = "60s"

[modules.energy]
deployed = "2025-03-14T00:00:00Z"
"""
    run(parse(text, "eclipse.toml"), runtime="local", out=tmp_path / "run")
    energy = pq.read_table(tmp_path / "run" / "telemetry" / "energy.parquet").to_pydict()
    hidden, solar = np.array(energy["sun_eclipsed_frac"]), np.array(energy["solar_w"])
    before = solar[: 3 * 60].mean()  # 00:00-03:00, before the penumbra
    assert before > 1000.0 and solar[hidden >= 1.0].max() == 0.0
    partly = (hidden > 0.2) & (hidden < 0.8)
    assert (solar[partly] < before).all() and (solar[partly] > 0).all()


def test_disks_that_nearly_coincide_are_concentric():
    assert disk_overlap_frac(0.25, 0.25, 5e-324) == 1.0  # found by hypothesis: 0 / 0 in the lens formula
