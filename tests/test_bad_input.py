"""Bad input never runs: every class of bad scenario field and CLI option is refused with exit 2,
one line per problem naming the file, the field and the reason, and nothing written; a hypothesis
test mutates valid scenarios and each either runs with sane output or is refused that way."""
from __future__ import annotations

import copy
import json
import math
import os
import socket
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import SMALL
from twin.cli import app
from twin.clock import iso, parse_utc, unix_s
from twin.params import (EPHEMERIS_END, EPHEMERIS_START, INT64_MAX, LONGEST_RUN_S, MAX_DATA_BYTES, MAX_DATA_RATE_BPS, MAX_POWER_W)
from twin.scenario import ScenarioError, parse

runner = CliRunner()

# Every kind, landing at the start, for two days: short enough to run hundreds of times.
BRIEF = SMALL.format(step="600s", window="1d").replace('end = "2030-01-22T00:00:00Z"', 'end = "2030-01-03T00:00:00Z"')
for _late in ('deployed = "2030-01-03T00:00:00Z"', 'deployed = "2030-01-05T00:00:00Z"', 'deployed = "2030-01-02T00:00:00Z"'):
    BRIEF = BRIEF.replace(_late, 'deployed = "2030-01-01T00:00:00Z"')
BRIEF += '\n[checkpoint]\nevery = "1d"\n'
# Parts close only at the end: a run stopped before has published nothing.
UNPUBLISHED = BRIEF.replace('every = "1d"', 'every = "off"')


def problems(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse(text, "station.toml")
    return str(info.value)


def changed(old: str, new: str, text: str = BRIEF) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def cli(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def refused(result, *named: str) -> str:
    """Exit 2, no traceback, every line of stderr an error line naming ``named``."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    stderr = result.stderr
    assert "Traceback" not in result.output
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("error: ") for line in lines), stderr
    for name in named:
        assert name in stderr, (name, stderr)
    return stderr


def run_file(tmp_path: Path, text: str, *extra: str, name: str = "station.toml"):
    path = tmp_path / name
    path.write_text(text)
    return cli("run", path, "--runtime", "local", "--out", tmp_path / "out", "--quiet", *extra)


def test_the_brief_scenario_is_valid_and_runs(tmp_path):
    result = run_file(tmp_path, BRIEF)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["steps"] == 288 and summary["warnings"] == []
    sane(summary, tmp_path / "out")


# -- numbers: finite, never true/false, within a stated range -----------------------------------------
@pytest.mark.parametrize("old, new, field", [
    ("area_m2 = 20.0", "area_m2 = inf", "modules.energy.solar.area_m2"),
    ("area_m2 = 20.0", "area_m2 = nan", "modules.energy.solar.area_m2"),
    ("capacity_kwh = 40.0", "capacity_kwh = -inf", "modules.energy.storage.capacity_kwh"),
    ("power_w = 300.0", "power_w = nan", "modules.general.power_w"),
    ('name = "amundsen"', 'name = "amundsen"\nhorizon_mask = [[0, nan]]', "site.horizon_mask"),
    ("restore_soc_frac = 0.5", "restore_soc_frac = 0.5\nfloor_soc_frac = { isru = nan }", "modules.energy.storage.floor_soc_frac"),
    ('name = "amundsen"', "latitude_deg = nan\nlongitude_deg = 0.0", "site.latitude_deg"),
])
def test_non_finite_numbers_are_refused(old, new, field):
    message = problems(changed(old, new))
    assert f"station.toml: {field}" in message and "finite" in message, message


def test_fission_power_of_inf_is_refused_at_once(tmp_path):
    """It used to hang the run (an infinite reactor overflows the millijoule ledger)."""
    started = time.perf_counter()
    text = changed("[modules.energy.storage]", "[modules.energy.fission]\npower_kwe = inf\n\n[modules.energy.storage]")
    stderr = refused(run_file(tmp_path, text), "modules.energy.fission.power_kwe", "finite")
    assert "kWe" in stderr
    assert time.perf_counter() - started < 10
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("old, new, field", [
    ("area_m2 = 20.0", "area_m2 = true", "modules.energy.solar.area_m2"),
    ("seed = 7", "seed = true", "scenario.seed"),
    ('step = "600s"', "step = true", "time.step"),
    ('max_window = "1d"', "max_window = false", "exchange.max_window"),
    ('every = "1d"', "every = true", "checkpoint.every"),
    ("power_w = 300.0", "power_w = false", "modules.general.power_w"),
    ("store_capacity_bytes = 500_000_000_000", "store_capacity_bytes = true", "modules.communications.store_capacity_bytes"),
    ('name = "amundsen"', 'name = "amundsen"\nhorizon_mask = [[true, 1.0]]', "site.horizon_mask"),
    ("restore_soc_frac = 0.5", "restore_soc_frac = 0.5\nfloor_soc_frac = { isru = true }", "modules.energy.storage.floor_soc_frac"),
    ("[modules.astronomy]", "[modules.astronomy]\ninstruments = [{ name = \"t\", kind = \"optical\", power_w = true, data_rate_bps = 1 }]",
     "modules.astronomy.instruments.0.power_w"),
])
def test_booleans_are_not_numbers(old, new, field):
    message = problems(changed(old, new))
    assert f"station.toml: {field}" in message and "true/false is not a number" in message, message


def test_booleans_stay_booleans_where_they_are_flags():
    text = changed("[modules.research]", "[modules.research]\nexperiments = [{ name = \"x\", power_w = 10.0, duration_h = 1.0, data_bytes = 10, requires_daylight = true }]")
    assert parse(text, "ok.toml").modules["research"].params.experiments[0].requires_daylight is True


def test_a_bound_names_the_unit_and_the_range():
    message = problems(changed("power_w = 300.0", "power_w = 1e300"))
    assert "modules.general.power_w: Input should be less than or equal to 1000000 W (allowed: [0, 1000000] W; got 1e+300)" in message, message
    message = problems(changed("area_m2 = 20.0", "area_m2 = -3"))
    assert "modules.energy.solar.area_m2: Input should be greater than or equal to 0 m^2 (allowed: [0, 10000] m^2; got -3)" in message, message
    # One line per problem, each with the file and the field.
    both = problems(changed("area_m2 = 20.0", "area_m2 = -3", changed("power_w = 300.0", "power_w = -1")))
    assert both.count("\n") == 1 and all(line.startswith("station.toml: modules.") for line in both.splitlines())


def test_kinds_show_states_each_range():
    shown = cli("kinds", "show", "energy").stdout
    assert "(allowed: [0, 10000] m^2)" in shown and "(allowed: [0, 1000] kWe)" in shown


def test_every_numeric_parameter_of_every_kind_is_bounded_above():
    """A number with no upper bound could overflow a ledger; each has one (or is an angle, a fraction, a count of the model's own)."""
    from pydantic import BaseModel

    from twin.params import range_of
    from twin.registry import kinds

    def walk(model: type[BaseModel], prefix: str):
        for name, field in model.model_fields.items():
            annotation = field.annotation
            nested = [a for a in (annotation, *getattr(annotation, "__args__", ())) if isinstance(a, type) and issubclass(a, BaseModel)]
            if nested:
                yield from walk(nested[0], f"{prefix}{name}.")
            elif annotation in (int, float) or annotation in (int | None, float | None):
                yield prefix + name, range_of(name, field)

    unbounded = [f"{kind}.{name}" for kind, cls in kinds().items() if cls.__module__.startswith("twin.")
                 for name, allowed in walk(cls.Params, "") if not allowed or allowed.split(",")[1].strip().startswith("inf")]
    assert unbounded == []


# -- the integer ledgers cannot overflow over the longest run ------------------------------------------
def test_the_budgets_fit_int64_over_the_longest_run():
    assert LONGEST_RUN_S > 150 * 365 * 86400
    assert MAX_POWER_W * 1000 * LONGEST_RUN_S < INT64_MAX / 1.9  # millijoules: generation + demand each within it
    assert MAX_DATA_BYTES < INT64_MAX / 1.5 and MAX_DATA_RATE_BPS / 8 * LONGEST_RUN_S <= MAX_DATA_BYTES


@pytest.mark.parametrize("old, new, field, reason", [
    ("power_w = 300.0", "power_w = 1e300", "modules.general.power_w", "less than or equal to 1000000 W"),
    ("area_m2 = 20.0", "area_m2 = 5000.0", "modules.energy", "add up to 1,487,974 W; at most 1,000,000 W"),
    ("[modules.energy.storage]", "[modules.energy.fission]\npower_kwe = 5000\n[modules.energy.storage]", "modules.energy.fission.power_kwe", "1000 kWe"),
    ("capacity_kwh = 40.0", "capacity_kwh = 1e12", "modules.energy.storage.capacity_kwh", "1000000 kWh"),
    ("data_rate_bps = 20000.0", "data_rate_bps = 1e300", "modules.general.data_rate_bps", "[0, 1e+10] bit/s"),
    ("store_capacity_bytes = 500_000_000_000", "store_capacity_bytes = 9_000_000_000_000_000_000", "modules.communications.store_capacity_bytes", "bytes"),
    ("store_capacity_bytes = 500_000_000_000", "store_capacity_bytes = 5\ndte_rate_bps = 1e12", "modules.communications.dte_rate_bps", "bit/s"),
    ("[modules.isru]", "[modules.isru]\nregolith_delivery_kg_per_day = 1e6", "modules.isru.regolith_delivery_kg_per_day", "kg/d"),
    ("[modules.isru]", "[modules.isru]\nenergy_kwh_per_kg_o2 = 1e-300", "modules.isru.energy_kwh_per_kg_o2", "kWh/kg"),
    ("power_w = 300.0", "power_w = 999000.0", "modules", "at most 1,000,000 W"),  # with the isru plant and the rest: over 1 MW together
    ("[modules.astronomy]", "[modules.astronomy]\ninstruments = [{ name = \"a\", kind = \"optical\", power_w = 1.0, data_rate_bps = 6_000_000_000 },"
     " { name = \"b\", kind = \"optical\", power_w = 1.0, data_rate_bps = 6_000_000_000 }]", "modules.astronomy", "add up to 12,000,000,000 bit/s"),
    ("[modules.research]", "[modules.research]\nexperiments = [{ name = \"x\", power_w = 1.0, duration_h = 1.0, data_bytes = 4_000_000_000_000_000_000, repeat = 2 }]",
     "modules.research", "the queue's data"),
    ("data_rate_bps = 20000.0", "data_rate_bps = 9e9\n[modules.bulk]\nkind = \"general\"\ndeployed = 2030-01-01T00:00:00Z\npower_w = 1.0\ndata_rate_bps = 9e9",
     "modules", "may produce"),
])
def test_quantities_that_feed_the_ledgers_are_bounded(old, new, field, reason):
    message = problems(changed(old, new))
    assert f"station.toml: {field}: " in message and reason in message, message


@pytest.mark.slow
def test_at_the_limits_the_ledgers_hold_over_the_longest_run():
    """1 MW generated and asked for and 10 Gbit/s of data for the 151 years the ephemeris covers:
    every ledger stays positive and balanced (an int64 overflow would turn it negative)."""
    from twin.run import run

    text = f"""
[scenario]
name = "longest"
[site]
name = "amundsen"
[time]
start = "{iso(unix_s(EPHEMERIS_START))}"
end = "{iso(unix_s(EPHEMERIS_END))}"
step = "1d"
[exchange]
max_window = "20000d"
[checkpoint]
every = "off"
[modules.energy]
deployed = "{iso(unix_s(EPHEMERIS_START))}"
[modules.energy.solar]
area_m2 = 1500.0
efficiency = 0.2
[modules.energy.fission]
power_kwe = 570.0
[modules.energy.storage]
capacity_kwh = 1000000.0
[modules.communications]
deployed = "{iso(unix_s(EPHEMERIS_START))}"
dte_rate_bps = 1e10
standby_w = 1000.0
transmit_w = 1000.0
store_capacity_bytes = {2**62}
[modules.general]
deployed = "{iso(unix_s(EPHEMERIS_START))}"
power_w = 997000.0
data_rate_bps = 1e10
"""
    scenario = parse(text, "longest.toml")
    assert scenario.clock.simulated_s == LONGEST_RUN_S
    summary = run(scenario, runtime="local")
    e = summary["energy"]
    assert all(value >= 0 for value in (e["generated_kwh"], e["demand_kwh"], e["delivered_kwh"], e["unserved_kwh"], e["storage_losses_kwh"]))
    assert e["demand_kwh"] > 1.3e9  # about 1 MW for 151 years: 4.8e18 mJ, near the int64 range
    assert e["delivered_kwh"] + e["unserved_kwh"] == pytest.approx(e["demand_kwh"], rel=1e-9)
    c = summary["modules"]["communications"]
    assert c["received_bytes"] > 3e18 and c["received_bytes"] == c["downlinked_bytes"] + c["stored_bytes"] + c["lost_bytes"]
    assert summary["modules"]["general"]["data_produced_bytes"] == c["received_bytes"]


# -- time: inside the ephemeris, a whole number of steps -------------------------------------------
@pytest.mark.parametrize("old, new, field", [
    ('start = "2030-01-01T00:00:00Z"', 'start = "1899-12-01T00:00:00Z"', "time.start"),
    ('end = "2030-01-03T00:00:00Z"', 'end = "2051-06-01T00:00:00Z"', "time.end"),
    ('end = "2030-01-03T00:00:00Z"', 'end = "9999-12-31T23:00:00-05:00"', "time.end"),
])
def test_a_span_outside_the_ephemeris_names_the_field_and_the_covered_range(old, new, field):
    message = problems(changed(old, new))
    assert f"station.toml: {field}: " in message, message
    if "9999" not in new:
        assert "1900-01-02T00:00:00Z to 2050-12-31T00:00:00Z" in message and "1900-2050" in message, message


def test_the_covered_range_lies_inside_the_kernels():
    """The sky grids reach an hour before the start and up to three hours past the end."""
    from twin.environment.ephemeris import sky_vectors

    t = np.array([unix_s(EPHEMERIS_START) - 3600.0, unix_s(EPHEMERIS_END) + 4 * 3600.0])
    vectors = sky_vectors(-84.5, 82.8, t)
    assert np.all(np.isfinite(vectors["sun_enu"]))
    with pytest.raises(Exception):
        sky_vectors(-84.5, 82.8, np.array([float(unix_s(parse_utc("1899-07-01T00:00:00Z")))]))


@pytest.mark.parametrize("args", [["--at", "1850-01-01T00:00:00Z"], ["--start", "2050-12-01T00:00:00Z", "--end", "2052-01-01T00:00:00Z", "--step", "1d"]])
def test_the_ephemeris_command_refuses_instants_outside_the_coverage(args):
    refused(cli("ephemeris", "--site", "amundsen", *args), "outside the ephemeris coverage", "1900-2050")


def test_a_relay_epoch_outside_the_ephemeris_is_refused():
    text = changed("store_capacity_bytes = 500_000_000_000", "store_capacity_bytes = 500_000_000_000\nrelays = [{ epoch = 1850-01-01T00:00:00Z }]")
    assert "modules.communications.relays.0.epoch: 1850-01-01T00:00:00Z is outside the ephemeris coverage" in problems(text)


def test_a_step_that_does_not_divide_the_span_is_refused_naming_the_nearest_valid_end(tmp_path):
    # 2 days = 172800 s; 7 s steps: 24685 x 7 = 172795 (5 s early), 24686 x 7 = 172802 (2 s late).
    message = problems(changed('step = "600s"', 'step = "7s"'))
    assert "station.toml: time.end: " in message and "the nearest valid end is 2030-01-03T00:00:02Z" in message, message
    assert "nearest valid end is 2030-01-02T23:50:00Z" in problems(changed('end = "2030-01-03T00:00:00Z"', 'end = "2030-01-02T23:54:00Z"'))
    # --until off the grid names the nearest instant on it.
    (tmp_path / "s.toml").write_text(BRIEF)
    stderr = refused(cli("run", tmp_path / "s.toml", "--runtime", "local", "--out", tmp_path / "out", "--until", "2030-01-02T00:04:00Z"), "--until")
    assert "2030-01-02T00:00:00Z" in stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("old, new, field", [
    ('max_window = "1d"', "max_window = nan", "exchange.max_window"),
    ('max_window = "1d"', "max_window = inf", "exchange.max_window"),
    ('max_window = "1d"', "max_window = -5", "exchange.max_window"),
    ('max_window = "1d"', "max_window = 1e300", "exchange.max_window"),
    ('max_window = "1d"', 'max_window = "forever"', "exchange.max_window"),
    ('max_window = "1d"', "max_window = [1]", "exchange.max_window"),
    ('every = "1d"', "every = nan", "checkpoint.every"),
    ('every = "1d"', 'every = "0s"', "checkpoint.every"),
    ('step = "600s"', "step = 1e300", "time.step"),
    ('step = "600s"', 'step = "2.5s"', "time.step"),
    ('step = "600s"', 'step = "2d"', "time.step"),
    ('start = "2030-01-01T00:00:00Z"', 'start = "2030-01-01T00:00:00.5Z"', "time.start"),
    ('start = "2030-01-01T00:00:00Z"', "start = 5", "time.start"),
])
def test_durations_and_instants_are_checked(old, new, field):
    message = problems(changed(old, new))
    assert f"station.toml: {field}: " in message and message.count("\n") == 0, message


# -- deployments after the end ---------------------------------------------------------------------
def test_an_energy_system_landing_after_the_end_is_an_error():
    text = BRIEF.replace('[modules.energy]\ndeployed = "2030-01-01T00:00:00Z"', '[modules.energy]\ndeployed = "2030-02-01T00:00:00Z"')
    message = problems(text)
    assert "station.toml: modules.energy.deployed: 2030-02-01T00:00:00Z is at or after the end of the run (2030-01-03T00:00:00Z)" in message, message


def test_other_instances_landing_after_the_end_are_warned_about_on_stderr_and_in_the_summary(tmp_path):
    text = BRIEF.replace('[modules.isru]\ndeployed = "2030-01-01T00:00:00Z"', '[modules.isru]\ndeployed = "2030-03-01T00:00:00Z"')
    text = changed("area_m2 = 20.0", 'area_m2 = 20.0\ndeployed = "2030-01-05T00:00:00Z"', text)
    scenario = parse(text, "late.toml")
    assert [field for field, _ in scenario.warnings] == ["modules.energy.solar.deployed", "modules.isru.deployed"]
    result = run_file(tmp_path, text)
    assert result.exit_code == 0, result.output
    assert f"warning: {tmp_path / 'station.toml'}: modules.isru.deployed: 2030-03-01T00:00:00Z is at or after the end of the run" in result.stderr
    summary = json.loads(result.stdout)
    assert any(w.startswith("modules.isru.deployed: ") and "isru never runs" in w for w in summary["warnings"])
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["warnings"] == summary["warnings"]


# -- files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, reason", [
    (b"\xff\xfe[\x00s\x00]\x00", "a binary file"),
    ("[scenario]\nname = \"caf\u00e9\"\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 on line 2)"),
    (bytes(range(256)), "a binary file"),
])
def test_non_utf8_and_binary_files_are_refused_with_one_line(tmp_path, content, reason):
    path = tmp_path / "odd.toml"
    path.write_bytes(content)
    stderr = refused(cli("run", path, "--runtime", "local", "--out", tmp_path / "out"), reason)
    assert stderr.count("\n") == 1 and not (tmp_path / "out").exists()


def test_a_folder_or_a_device_is_no_scenario_file(tmp_path):
    (tmp_path / "dir.toml").mkdir()
    refused(cli("run", tmp_path / "dir.toml", "--runtime", "local", "--out", tmp_path / "out"), "not a file")
    refused(cli("run", "/dev/null", "--runtime", "local", "--out", tmp_path / "out"), "not a file")


def test_names_too_long_for_the_file_system_are_refused(tmp_path):
    long = "a" * 5000
    refused(cli("run", long, "--runtime", "local"), "File name too long")
    refused(cli("run", f"{long}.toml", "--runtime", "local"), "File name too long")
    (tmp_path / "s.toml").write_text(BRIEF)
    refused(cli("run", tmp_path / "s.toml", "--runtime", "local", "--out", tmp_path / long), "--out", "File name too long")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_toml_nested_too_deeply_is_refused():
    assert "nested too deeply" in problems("a = " + "[" * 100_000 + "]" * 100_000)


# -- names and folders ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "a/b", "a\\b", "..", ".hidden", "x\ny", ""])
def test_a_scenario_name_is_only_a_name(name):
    message = problems(BRIEF.replace('name = "small"', f"name = {json.dumps(name)}"))
    assert "station.toml: scenario.name: " in message, message


def test_without_out_a_run_writes_under_runs_in_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(BRIEF.replace('name = "small"', 'name = "my station.v2"'))
    result = cli("run", "s.toml", "--runtime", "local", "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "my station.v2" / "summary.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs", "s.toml"]


def test_an_out_that_cannot_be_created_exits_2(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "s.toml").write_text(BRIEF)
    refused(cli("run", tmp_path / "s.toml", "--runtime", "local", "--out", tmp_path / "file" / "out"), "--out", "cannot be created")
    refused(cli("run", tmp_path / "s.toml", "--runtime", "local", "--out", tmp_path / "file"), "--out", "not a folder")
    refused(cli("run", tmp_path / "s.toml", "--runtime", "local", "--out", "/proc/ilrs/out"), "--out", "cannot be created")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root may write anyway
            refused(cli("run", tmp_path / "s.toml", "--runtime", "local", "--out", locked / "a" / "b"), "--out")
            assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "locked", "s.toml"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", [f"127.0.0.1:{_closed_port()}", f"ray://127.0.0.1:{_closed_port()}", "no-such-host.invalid:6379", "http://x:1"])
def test_an_unreachable_address_exits_2_within_15_s(tmp_path, address):
    started = time.perf_counter()
    refused(cli("run", "quickstart", "--address", address, "--out", tmp_path / "out"), "--address")
    assert time.perf_counter() - started < 15
    assert not (tmp_path / "out").exists()


def test_a_listening_port_that_is_no_ray_cluster_exits_2(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        started = time.perf_counter()
        refused(cli("run", "quickstart", "--address", f"127.0.0.1:{port}", "--out", tmp_path / "out"), "--address")
        assert time.perf_counter() - started < 15


@pytest.mark.parametrize("cpus, reason", [("100", "need 600 CPUs"), ("-1", "not a number of CPUs"), ("nan", "not a number of CPUs"), ("inf", "not a number of CPUs")])
def test_an_impossible_actor_cpus_exits_2(tmp_path, cpus, reason):
    refused(cli("run", "quickstart", "--actor-cpus", cpus, "--out", tmp_path / "out"), "--actor-cpus", reason)
    assert not (tmp_path / "out").exists()


def test_a_cluster_too_small_for_the_actors_exits_2(tmp_path, monkeypatch):
    """The runtime's own check (a joined cluster's CPUs) reads as bad input too, with nothing left behind."""
    import twin.run as run_module

    def too_small(*args, **kwargs):
        raise RuntimeError("5 subsystem actors at 4 CPU each need 20 CPUs but the cluster has 2; lower --actor-cpus or add nodes")

    monkeypatch.setattr(run_module, "make_runtime", too_small)
    monkeypatch.setenv("RAY_ADDRESS", "example:6379")  # a cluster elsewhere: no local CPU count to check first
    out = tmp_path / "new" / "out"
    refused(cli("run", "quickstart", "--actor-cpus", "4", "--out", out), "--actor-cpus", "need 20 CPUs")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [ConnectionError("Could not find any running Ray instance."), SystemExit(15)])
def test_a_cluster_that_cannot_be_joined_exits_2(tmp_path, monkeypatch, error):
    """ray.init's own failures (no cluster for `auto`, a GCS that never answers) read as bad input."""
    import twin.run as run_module

    def unjoinable(*args, **kwargs):
        raise error

    monkeypatch.setattr(run_module, "make_runtime", unjoinable)
    refused(cli("run", "quickstart", "--address", "auto", "--out", tmp_path / "out"), "--address", "cannot join the Ray cluster auto")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("when", ["start", "run"])
def test_a_failed_or_interrupted_run_leaves_no_folder_it_created(tmp_path, monkeypatch, when):
    import twin.run as run_module

    scenario = parse(UNPUBLISHED, "brief.toml")
    out = tmp_path / "a" / "b" / "out"
    if when == "start":
        def broken(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(run_module, "make_runtime", broken)
        with pytest.raises(KeyboardInterrupt):
            run_module.run(scenario, runtime="local", out=out)
    else:
        def interrupt(step: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run_module.run(scenario, runtime="local", out=out, on_progress=interrupt)
    assert list(tmp_path.iterdir()) == []
    # A folder that was there stays (empty), and a rerun into it is not refused.
    kept = tmp_path / "kept"
    kept.mkdir()
    with pytest.raises(KeyboardInterrupt):
        run_module.run(scenario, runtime="local", out=kept, on_progress=interrupt if when == "run" else None)
    assert list(kept.iterdir()) == []


def test_ctrl_c_in_the_cli_leaves_nothing_and_exits_130(tmp_path, monkeypatch):
    import twin.run as run_module

    real = run_module.run

    def interrupted(*args, **kwargs):
        def stop(step):
            raise KeyboardInterrupt
        return real(*args, **{**kwargs, "on_progress": stop})

    monkeypatch.setattr(run_module, "run", interrupted)
    (tmp_path / "s.toml").write_text(UNPUBLISHED)
    result = cli("run", tmp_path / "s.toml", "--runtime", "local", "--out", tmp_path / "runs" / "x")
    assert result.exit_code == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


# -- small things --------------------------------------------------------------------------------
def test_version():
    from importlib.metadata import version

    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"ilrs-twin {version('ilrs-twin')}"


def test_runtime_and_format_are_choices_in_help():
    import re

    plain = lambda text: re.sub(r"\x1b\[[0-9;]*m", "", text)  # noqa: E731
    assert "ray|local" in plain(cli("run", "--help").stdout)
    assert "csv|json" in plain(cli("ephemeris", "--help").stdout)
    bad = cli("run", "quickstart", "--runtime", "dask")
    assert bad.exit_code == 2 and "dask" in bad.stderr and "Traceback" not in bad.output


def test_the_progress_bar_fits_80_columns():
    import io

    from rich.console import Console

    from twin.cli import make_progress

    buffer = io.StringIO()
    console = Console(file=buffer, width=80, force_terminal=True, color_system=None, legacy_windows=False)
    progress = make_progress(console)
    task = progress.add_task("roadmap-marius-hills"[:16], total=7_889_400, date="starting", speed="")
    progress.update(task, completed=3_000_000, date="2031-09-14", speed="1,234,567x")
    line = progress.get_renderable()
    console.print(line)
    text = buffer.getvalue()
    rows = [row for row in text.splitlines() if row.strip()]
    assert len(rows) == 1 and len(rows[0]) <= 80, text
    assert "roadmap-marius-h" in rows[0] and "38.0%" in rows[0] and "2031-09-14" in rows[0] and "1,234,567x" in rows[0], text


def test_endpoints_are_printed_plainly_without_a_terminal(tmp_path, monkeypatch):
    import twin.run as run_module

    from twin.cli import endpoint_lines

    endpoints = [{"id": "energy", "kind": "energy", "address": "127.0.0.1:50001"}, {"id": "communications", "kind": "communications", "address": "127.0.0.1:50002"}]
    lines = endpoint_lines(endpoints, tmp_path / "out")
    assert lines[1:] == ["  energy          127.0.0.1:50001", "  communications  127.0.0.1:50002"]

    def fake(scenario, on_ready=None, **kwargs):
        on_ready(endpoints)
        return {"scenario": "small", "warnings": []}

    monkeypatch.setattr(run_module, "run", fake)
    (tmp_path / "s.toml").write_text(BRIEF)
    result = cli("run", tmp_path / "s.toml", "--out", tmp_path / "out", "--actor-cpus", "0")
    assert result.exit_code == 0, result.output
    assert "  energy          127.0.0.1:50001" in result.stderr and "\x1b[" not in result.stderr
    quiet = cli("run", tmp_path / "s.toml", "--out", tmp_path / "out2", "--actor-cpus", "0", "--quiet")
    assert "127.0.0.1" not in quiet.stderr


# -- a hypothesis test: mutated valid scenarios ------------------------------------------------------
BASE = parse(BRIEF, "brief.toml").to_data()


def _paths(node, prefix=()):
    """Every place in the scenario data a value sits (tables, arrays and their items, leaves)."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]
BAD = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e300, 2**63, -(2**63), 10**18, -1, -1e9, 0, 0.0, 1e-300, True, False,
                     "", "x", "60s", "-5s", "2030-01-01T00:00:00Z", "1800-01-01T00:00:00Z", "inf", "nan", "..", "\x00", [], [1, 2], {}, {"x": 1}]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=8),
)


@st.composite
def mutated(draw):
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        # Steps of 60 s or more (a valid smaller one would make a long test, not a harder one).
        values = st.sampled_from(["60s", "1h", 0, -1, 1e300, math.nan, True, "7s", "x", [], 10**18]) if path == ("time", "step") else BAD
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]]
            if not isinstance(parent, (dict, list)):
                raise TypeError("a string's characters are not places in the scenario")
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced this part
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "extra"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "extra":
            target = parent[path[-1]] if isinstance(parent[path[-1]], dict) else parent
            if isinstance(target, dict):
                # Copies: sampled_from hands out the same {} and [] objects, which must not nest in themselves.
                target[draw(st.sampled_from(["bogus", "colour", "area_m3", "kind"]))] = copy.deepcopy(draw(BAD))
        else:
            parent[path[-1]] = copy.deepcopy(draw(values))
    return data


def sane(summary: dict, out: Path) -> None:
    """Physically sane results: finite, nothing negative, the balances hold."""
    def numbers(node):
        if isinstance(node, dict):
            for value in node.values():
                yield from numbers(value)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            yield node

    for id, variables in summary["modules"].items():
        for value in numbers(variables):
            assert math.isfinite(value) and value >= 0, (id, variables)
    e = summary.get("energy")
    if e is not None:
        assert e["generated_kwh"] == pytest.approx(e["solar_kwh"] + e["fission_kwh"], abs=0.01)
        assert e["delivered_kwh"] + e["unserved_kwh"] == pytest.approx(e["demand_kwh"], abs=0.01)
        assert 0 <= e["min_storage_soc_frac"] <= 1
    for id, kind in summary["kinds"].items():
        if kind == "communications":
            c = summary["modules"][id]
            assert c["received_bytes"] == c["downlinked_bytes"] + c["stored_bytes"] + c["lost_bytes"]
    energy = pq.read_table(out / "telemetry" / "energy.parquet")
    for name in energy.column_names:
        if name != "time":
            column = energy.column(name).to_numpy()
            assert np.all(np.isfinite(column)), name
            if name.endswith(("_w", "_kwh", "_frac")):
                assert np.all(column >= 0), name


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=mutated())
def test_mutated_scenarios_run_sanely_or_exit_2_with_nothing_written(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("mutant")
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):
        return  # not expressible in TOML (never reaches the CLI)
    path = folder / "mutant.toml"
    path.write_text(text)
    out = folder / "out"
    started = time.perf_counter()
    result = runner.invoke(app, ["run", str(path), "--runtime", "local", "--out", str(out), "--quiet"])
    assert result.exception is None or isinstance(result.exception, SystemExit), (text, result.output, repr(result.exception))
    assert result.exit_code in (0, 2), (text, result.output)
    event("ran" if result.exit_code == 0 else "refused")
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines and all(line.startswith("error: ") for line in lines), result.stderr
        assert not out.exists()
    else:
        sane(json.loads(result.stdout), out)
    assert time.perf_counter() - started < 60
