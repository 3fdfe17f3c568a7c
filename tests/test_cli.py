"""The ilrs-twin command line, as a user types it."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import SMALL
from twin.cli import app
from twin.clock import parse_utc, unix_s
from twin.environment.ephemeris import elevation_azimuth, sky_vectors

runner = CliRunner()
HEADER = ["time", "sun_elevation_deg", "sun_azimuth_deg", "earth_elevation_deg", "earth_azimuth_deg"]


def cli(*args: str):
    return runner.invoke(app, list(args))


def rows(output: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(output)))


def test_ephemeris_range_csv():
    result = cli("ephemeris", "--lat", "-84.5", "--lon", "82.8", "--start", "2030-01-01T00:00:00Z",
                 "--end", "2030-02-01T00:00:00Z", "--step", "1h", "--format", "csv")
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    assert table[0] == HEADER
    assert len(table) == 1 + 31 * 24 + 1
    assert table[1][0] == "2030-01-01T00:00:00Z" and table[-1][0] == "2030-02-01T00:00:00Z"
    sun = np.array([float(r[1]) for r in table[1:]])
    assert sun.max() < 7.1 and sun.min() > -7.1  # 84.5 S: 5.5 deg colatitude + 1.54 deg tilt
    # Same numbers as the library, to the printed precision.
    t = np.array([float(unix_s(parse_utc(table[100][0])))])
    el, az = elevation_azimuth(sky_vectors(-84.5, 82.8, t)["sun_enu"])
    assert float(table[100][1]) == pytest.approx(el[0], abs=6e-5)
    assert float(table[100][2]) == pytest.approx(az[0], abs=6e-5)


def test_ephemeris_at_instants():
    result = cli("ephemeris", "--site", "aristarchus", "--at", "2031-05-01T12:00:00Z,2031-05-02T12:00:00Z", "--format", "csv")
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    assert [r[0] for r in table[1:]] == ["2031-05-01T12:00:00Z", "2031-05-02T12:00:00Z"]
    assert all(float(r[3]) > 20 for r in table[1:])  # the Earth never sets at Aristarchus


@pytest.mark.parametrize(
    "args, named",
    [
        (["--lat", "95", "--lon", "0", "--at", "2030-01-01T00:00:00Z"], "--lat"),
        (["--site", "tycho", "--at", "2030-01-01T00:00:00Z"], "--site"),
        (["--site", "amundsen"], "--start"),
        (["--site", "amundsen", "--start", "2030-01-01", "--end", "2030-01-02", "--step", "soon"], "--step"),
        (["--site", "amundsen", "--at", "yesterday"], "--at"),
        (["--site", "amundsen", "--at", "2030-01-01T00:00:00Z", "--format", "xml"], "--format"),
    ],
)
def test_ephemeris_bad_input_exits_2(args, named):
    result = cli("ephemeris", *args)
    assert result.exit_code == 2
    assert named in result.stderr


def ring_wall(tmp_path):
    n, spacing = 201, 50.0
    rows_, cols_ = np.mgrid[0:n, 0:n]
    r = np.hypot(rows_ - 100, cols_ - 100) * spacing
    path = tmp_path / "ring.npy"
    np.save(path, 500.0 * np.exp(-0.5 * ((r - 3000.0) / 200.0) ** 2))
    return path


def test_horizon_csv_from_an_elevation_model(tmp_path):
    from twin.environment.terrain import MOON_RADIUS_M as R

    result = cli("horizon", "--site", "amundsen", "--dem", str(ring_wall(tmp_path)), "--dem-spacing-m", "50", "--height", "2", "--format", "csv")
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    assert table[0] == ["azimuth_deg", "elevation_deg"] and len(table) == 1 + 720
    s = np.linspace(1.0, 5000.0, 50_001)
    z = 500.0 * np.exp(-0.5 * ((s - 3000.0) / 200.0) ** 2)
    crest = np.degrees(np.arctan2((R + z) * np.cos(s / R) - (R + 2.0), (R + z) * np.sin(s / R))).max()
    assert all(abs(float(el) - crest) < 0.2 for _, el in table[1:])


def test_horizon_without_a_model_is_the_limb_of_the_sphere():
    result = cli("horizon", "--lat", "10", "--lon", "20", "--height", "10", "--azimuth-step", "10", "--format", "json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["azimuth_deg"] == [10.0 * k for k in range(36)]
    assert answer["elevation_deg"] == pytest.approx([-np.degrees(np.arccos(1737.4e3 / (1737.4e3 + 10.0)))] * 36, abs=1e-4)


@pytest.mark.parametrize(
    "args, named",
    [
        (["--lat", "10", "--lon", "20", "--height", "-1"], "--height"),
        (["--lat", "10", "--lon", "20", "--azimuth-step", "0"], "--azimuth-step"),
        (["--lat", "10", "--lon", "20", "--dem", "missing.tif"], "--dem"),
        (["--site", "amundsen", "--dem", "RING"], "--dem-spacing-m"),
        (["--lat", "12", "--lon", "20", "--dem", "RING", "--dem-spacing-m", "0"], "--dem-spacing-m"),
    ],
)
def test_horizon_bad_input_exits_2(tmp_path, args, named):
    ring = str(ring_wall(tmp_path))
    result = cli("horizon", *[ring if a == "RING" else a for a in args])
    assert result.exit_code == 2, result.output
    assert named in result.stderr and "Traceback" not in result.output


def test_scenarios_list_and_show():
    listing = cli("scenarios")
    assert listing.exit_code == 0 and "quickstart" in listing.stdout
    shown = cli("scenarios", "show", "quickstart")
    assert shown.exit_code == 0 and "[modules.energy]" in shown.stdout
    assert cli("scenarios", "show", "nope").exit_code == 2


def test_run_local_and_refuse_to_overwrite(tmp_path):
    scenario = tmp_path / "station.toml"
    scenario.write_text(SMALL.format(step="600s", window="2d"))
    out = tmp_path / "out"
    result = cli("run", str(scenario), "--runtime", "local", "--out", str(out), "--until", "2030-01-08T00:00:00Z")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # not a terminal: one JSON line
    assert summary["end"] == "2030-01-08T00:00:00Z" and summary["steps"] == 7 * 144
    assert pq.read_table(out / "telemetry" / "energy.parquet").num_rows == 7 * 144
    again = cli("run", str(scenario), "--runtime", "local", "--out", str(out))
    assert again.exit_code == 2 and "--out" in again.stderr and "--overwrite" in again.stderr


def test_overwrite_replaces_the_previous_run(tmp_path):
    from twin.checkpoint import CheckpointStore
    from twin.telemetry import parts

    daily = tmp_path / "daily.toml"
    daily.write_text(SMALL.format(step="600s", window="2d") + '\n[checkpoint]\nevery = "1d"\n')
    plain = tmp_path / "plain.toml"
    plain.write_text(SMALL.format(step="600s", window="2d"))
    out = tmp_path / "out"
    first = cli("run", str(daily), "--runtime", "local", "--out", str(out), "--until", "2030-01-08T00:00:00Z")
    assert first.exit_code == 0, first.output
    assert len(CheckpointStore(out / "checkpoints", None).steps()) == 8  # days 0 to 7
    (out / "notes.txt").write_text("mine")
    # Not empty: refused without --overwrite, and nothing is touched.
    refused = cli("run", str(plain), "--runtime", "local", "--out", str(out), "--until", "2030-01-04T00:00:00Z")
    assert refused.exit_code == 2 and "is not empty" in refused.stderr and "--overwrite" in refused.stderr
    assert json.loads((out / "summary.json").read_text())["steps"] == 7 * 144
    both = cli("run", str(plain), "--runtime", "local", "--out", str(out), "--overwrite", "--resume")
    assert both.exit_code == 2 and "--resume and --overwrite" in both.stderr
    # With --overwrite the old run is replaced: its telemetry, checkpoints and summary are gone.
    again = cli("run", str(plain), "--runtime", "local", "--out", str(out), "--until", "2030-01-04T00:00:00Z", "--overwrite")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["steps"] == 3 * 144 and json.loads((out / "summary.json").read_text())["steps"] == 3 * 144
    assert CheckpointStore(out / "checkpoints", None).steps() == [0]  # 30-day checkpoints: only the start
    for name in ("energy", "communications", "general"):
        folder = out / "telemetry" / f"{name}.parquet"
        assert [(a, b) for a, b, _ in parts(folder)] == [(0, 3 * 144)], name
        assert pq.read_table(folder).num_rows == 3 * 144, name
    assert "every = \"1d\"" not in (out / "scenario.toml").read_text()
    assert (out / "notes.txt").read_text() == "mine"  # not the run's: left alone


def test_an_interrupted_run_is_refused_with_a_hint_to_resume(tmp_path):
    scenario = tmp_path / "station.toml"
    scenario.write_text(SMALL.format(step="600s", window="2d"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "scenario.toml").write_text("left by a run that was killed")
    result = cli("run", str(scenario), "--runtime", "local", "--out", str(out))
    assert result.exit_code == 2 and "--overwrite" in result.stderr and "--resume to continue it" in result.stderr


@pytest.mark.parametrize(
    "change, named",
    [
        (("capacity_kwh = 40.0", "capacity_kwh = 0"), "modules.energy.storage.capacity_kwh"),
        (("[modules.energy.solar]", "[modules.energy.solar]\ncolour = 'blue'"), "modules.energy.solar.colour"),
    ],
)
def test_run_bad_scenario_exits_2_and_writes_nothing(tmp_path, change, named):
    scenario = tmp_path / "bad.toml"
    scenario.write_text(SMALL.format(step="600s", window="2d").replace(*change))
    out = tmp_path / "out"
    result = cli("run", str(scenario), "--runtime", "local", "--out", str(out))
    assert result.exit_code == 2
    assert str(scenario) in result.stderr and named in result.stderr
    assert not out.exists()


def test_run_bad_options_exit_2(tmp_path):
    assert cli("run", "quickstart", "--runtime", "dask", "--out", str(tmp_path / "a")).exit_code == 2
    late = cli("run", "quickstart", "--runtime", "local", "--until", "2035-01-01T00:00:00Z", "--out", str(tmp_path / "b"))
    assert late.exit_code == 2 and "--until" in late.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_readme_run_command_with_the_default_ray_runtime(tmp_path):
    """`ilrs-twin run quickstart --out ...` (Ray by default) in a fresh process equals the local runtime."""
    exe = os.path.join(os.path.dirname(sys.executable), "ilrs-twin")
    common = ["run", "quickstart", "--until", "2030-01-15T00:00:00Z"]
    done = subprocess.run([exe, *common, "--out", str(tmp_path / "q1")], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["runtime"] == "ray"
    local = cli(*common, "--runtime", "local", "--out", str(tmp_path / "q2"))
    assert local.exit_code == 0
    for name in ("energy", "communications", "research", "isru", "astronomy"):  # quickstart has no ILRS-4 module
        a = pq.read_table(tmp_path / "q1" / "telemetry" / f"{name}.parquet")
        b = pq.read_table(tmp_path / "q2" / "telemetry" / f"{name}.parquet")
        assert a.num_rows == 14 * 1440 and a.equals(b), name


def test_compare_puts_the_runs_kpis_side_by_side(tmp_path):
    from conftest import small_scenario
    from twin.run import run

    pole = run(small_scenario(), runtime="local", out=tmp_path / "pole")
    near = run(small_scenario().with_values("site", name="aristarchus"), runtime="local", out=tmp_path / "near")
    result = cli("compare", str(tmp_path / "pole"), str(tmp_path / "near"), "--format", "json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["runs"] == ["pole", "near"]
    kpis = {k["kpi"]: k for k in answer["kpis"]}
    assert kpis["site"]["values"] == ["amundsen", "aristarchus"]
    assert kpis["generated"]["unit"] == "MWh"
    assert kpis["generated"]["values"] == [pytest.approx(pole["energy"]["generated_kwh"] / 1000), pytest.approx(near["energy"]["generated_kwh"] / 1000)]
    assert kpis["oxygen produced"]["values"][0] == pole["modules"]["isru"]["o2_produced_kg"]
    isru = pole["modules"]["isru"]
    assert kpis["ISRU energy per kg of oxygen"]["values"][0] == pytest.approx(isru["energy_kwh"] / isru["o2_produced_kg"])
    # The Earth never sets on the near side: every hour there has a direct link.
    assert kpis["direct-to-Earth link"]["values"][1] > kpis["direct-to-Earth link"]["values"][0]
    table = cli("compare", str(tmp_path / "pole"), str(tmp_path / "near"))
    assert table.exit_code == 0 and "longest darkness (arrays)" in table.stdout
    markdown = cli("compare", str(tmp_path / "pole"), str(tmp_path / "near"), "--format", "markdown")
    assert markdown.stdout.splitlines()[0] == "| kpi | unit | pole | near |"
    rows_ = rows(cli("compare", str(tmp_path / "pole"), "--format", "csv").stdout)
    assert rows_[0] == ["kpi", "unit", "pole"] and ["shed: survival", "h", str(pole["energy"]["shed_hours"]["survival"])] in rows_


def test_compare_refuses_a_folder_that_is_not_a_run(tmp_path):
    result = cli("compare", str(tmp_path))
    assert result.exit_code == 2 and "no summary.json" in result.stderr


def test_illumination_writes_a_parquet_map_and_a_png(tmp_path):
    import pyarrow.parquet as pq

    n = 41
    rows_, cols_ = np.mgrid[0:n, 0:n]
    r = np.hypot(rows_ - 20, cols_ - 20) * 100.0
    np.save(tmp_path / "bowl.npy", 400.0 * np.exp(-0.5 * ((r - 1500.0) / 200.0) ** 2))
    args = ["illumination", "--dem", str(tmp_path / "bowl.npy"), "--dem-spacing-m", "100", "--site", "amundsen",
            "--start", "2030-01-01T00:00:00Z", "--end", "2030-01-15T00:00:00Z", "--height", "2", "--every", "4", "--out", str(tmp_path / "map")]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    table = pq.read_table(tmp_path / "map" / "illumination.parquet")
    assert table.num_rows == 11 * 11
    assert table.schema.field("lit_frac").metadata[b"unit"] == b"fraction"
    lit = np.array(table.column("lit_frac"))
    assert 0.0 <= lit.min() < lit.max() <= 1.0
    png = (tmp_path / "map" / "illumination.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    again = cli(*args)
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    bad = cli(*args[:-2], "--out", str(tmp_path / "other"), "--every", "0")
    assert bad.exit_code == 2 and "--every" in bad.stderr and not (tmp_path / "other").exists()
