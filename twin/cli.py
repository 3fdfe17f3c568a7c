"""ilrs-twin: run ILRS station scenarios, list model kinds and built-in scenarios, print lunar ephemerides and horizons."""
from __future__ import annotations

if __name__ == "__main__":  # python -m twin.cli: run the module proper, so that twin.cli_live imports the same one
    from twin.cli import main

    raise SystemExit(main())

import csv
import json
import math
import os
import socket
import sys
import threading
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from twin.clock import iso, parse_duration, parse_utc, unix_s

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=__doc__,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
scenarios_app = typer.Typer(help="List built-in scenarios, or print one as TOML (`scenarios show NAME`).", invoke_without_command=True)
app.add_typer(scenarios_app, name="scenarios")
robots_app = typer.Typer(help="Surface robots in full physics (PyBullet): `robots episode` runs one and writes its track.")
app.add_typer(robots_app, name="robots")
kinds_app = typer.Typer(help="List the registered model kinds and their ports, or one kind's parameters (`kinds show KIND`).", invoke_without_command=True)
app.add_typer(kinds_app, name="kinds")


class Runtime(str, Enum):
    """Where the models run (twin.run.RUNTIMES)."""

    ray = "ray"
    local = "local"


class Format(str, Enum):
    csv = "csv"
    json = "json"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"ilrs-twin {version('ilrs-twin')}")
        except PackageNotFoundError:
            typer.echo("ilrs-twin (not installed)")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """ilrs-twin: run ILRS station scenarios, list model kinds and built-in scenarios, print lunar ephemerides and horizons."""


def fail(message: str) -> None:
    """Bad input: say what and why on stderr (one line per problem), exit 2, write nothing."""
    for line in message.splitlines() or [""]:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(2)


def _scenario(ref: str):
    from twin.scenario import ScenarioError, load

    try:
        return load(ref)
    except ScenarioError as exc:
        fail(str(exc))


# -- checks of the run options before anything is written -----------------------------------------
ADDRESS_TIMEOUT_S = 10.0


def _check_out(out: Path, default: bool) -> None:
    """The output folder can be made (and, by default, lies inside the working folder)."""
    try:
        _check_out_folder(out, default)
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a folder we may not look into
        fail(f"--out: {out} cannot be used: {getattr(exc, 'strerror', None) or exc}")


def _check_out_folder(out: Path, default: bool) -> None:
    if default:
        here = os.path.abspath(os.getcwd())
        if os.path.commonpath([here, os.path.abspath(out)]) != here:
            fail(f"--out: the default {out} is outside the working folder; give --out")
    if out.exists():
        if not out.is_dir():
            fail(f"--out: {out} exists and is not a folder")
        if not os.access(out, os.W_OK | os.X_OK):
            fail(f"--out: {out} is not writable")
        return
    # Make it to see that it can be made, then take back what was made: a run that is refused writes nothing.
    made = []
    probe = out.absolute()
    try:
        while not probe.exists():
            made.append(probe)
            probe = probe.parent
        if not probe.is_dir():
            fail(f"--out: {out} cannot be created: {probe} is a file, not a folder")
        out.mkdir(parents=True)
    except (OSError, ValueError) as exc:
        fail(f"--out: {out} cannot be created: {getattr(exc, 'strerror', None) or exc}")
    finally:
        for path in made:
            try:
                path.rmdir()
            except OSError:
                pass


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) to reach for a Ray address; None for ones Ray resolves itself (auto, local)."""
    if address in ("auto", "local"):
        return None
    target, port = address, 6379  # a head's GCS port
    if target.startswith("ray://"):
        target, port = target[len("ray://"):], 10001  # the Ray client server
    elif "://" in target:
        fail(f"--address: {address!r}: give ray://HOST:PORT (Ray client), HOST:PORT (the head node) or auto")
    target = target.rstrip("/")
    if target.startswith("["):  # [IPv6]:port
        host, _, rest = target[1:].partition("]")
        text = rest.removeprefix(":")
    elif target.count(":") == 1:
        host, _, text = target.partition(":")
    else:
        host, text = target, ""
    if text:
        if not text.isdigit() or not 0 < int(text) < 65536:
            fail(f"--address: {address!r}: the port must be a number from 1 to 65535")
        port = int(text)
    if not host:
        fail(f"--address: {address!r}: no host")
    return host, port


def _ray_answers(host: str, port: int, client: bool) -> str | None:
    """None when a Ray head answers at host:port (its GCS, or with ``client`` its Ray client
    server), else why not. An answer that asks for Ray's auth token counts: ray.init sends it."""
    import grpc

    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        if client:
            from ray.core.generated import ray_client_pb2 as messages, ray_client_pb2_grpc as services
        else:
            from ray.core.generated import gcs_service_pb2 as messages, gcs_service_pb2_grpc as services
    except ImportError:  # a Ray without these: a TCP connection is all we can check
        try:
            socket.create_connection((host, port), timeout=ADDRESS_TIMEOUT_S).close()
            return None
        except OSError as exc:
            return exc.strerror or str(exc) or type(exc).__name__
    channel = grpc.insecure_channel(target)
    try:
        if client:
            request = messages.ClusterInfoRequest(type=messages.ClusterInfoType.PING)
            services.RayletDriverStub(channel).ClusterInfo(request, timeout=ADDRESS_TIMEOUT_S)
        else:
            services.NodeInfoGcsServiceStub(channel).GetClusterId(messages.GetClusterIdRequest(), timeout=ADDRESS_TIMEOUT_S)
        return None
    except grpc.RpcError as exc:
        code = exc.code()
        if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
            return None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return f"no answer within {ADDRESS_TIMEOUT_S:.0f} s"
        details = (exc.details() or "").split(";")[-1].strip()
        return f"{'not a Ray client server' if client else 'not a Ray head node'}? {code.name}: {details}" if code == grpc.StatusCode.UNIMPLEMENTED else f"{code.name}: {details}"
    finally:
        channel.close()


def _check_address(address: str) -> None:
    """A cluster address answers within ADDRESS_TIMEOUT_S (Ray itself would retry for minutes)."""
    target = _host_port(address)
    if target is None:
        return
    outcome: dict[str, str | None] = {}

    def probe() -> None:
        try:
            outcome["reason"] = _ray_answers(*target, client=address.startswith("ray://"))
        except Exception as exc:  # a broken name, an odd grpc error: say what it was
            outcome["reason"] = str(exc) or type(exc).__name__

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(ADDRESS_TIMEOUT_S + 2.0)
    reason = outcome["reason"] if "reason" in outcome else f"no answer within {ADDRESS_TIMEOUT_S:.0f} s"
    if reason is not None:
        fail(f"--address: cannot reach a Ray cluster at {address} ({reason}); start it (ray start --head) or check the address")


def _local_cpus() -> int:
    """CPUs of the Ray cluster this machine would start (Ray's own count: affinity and cgroup limits)."""
    try:
        from ray._private.utils import get_num_cpus

        return int(get_num_cpus())
    except Exception:  # a Ray without that helper: the CPUs this process may use
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _check_actor_cpus(actor_cpus: Optional[float], instances: int, address: Optional[str]) -> None:
    if actor_cpus is None:
        return  # the runtime shares the cluster's CPUs out
    if not math.isfinite(actor_cpus) or actor_cpus < 0:
        fail(f"--actor-cpus: {actor_cpus} is not a number of CPUs (0 or more)")
    if address is not None or os.environ.get("RAY_ADDRESS"):
        return  # another cluster: the runtime checks its resources when it joins
    have = _local_cpus()
    need = actor_cpus * instances
    if need > have:
        fail(f"--actor-cpus: {instances} subsystem actors at {actor_cpus:g} CPU each need {need:g} CPUs but this machine has {have}; "
             f"lower --actor-cpus (at most {have / instances:.3g}) or join a cluster with --address")


def _until(spec, until: str):
    """The scenario ending at --until, which must lie on its step grid."""
    try:
        end = parse_utc(until)
    except ValueError as exc:
        fail(f"--until: {exc}")
    start, stop, step = unix_s(spec.time.start), unix_s(spec.time.end), spec.time.step_s
    if not start < unix_s(end) <= stop:
        fail(f"--until: {iso(unix_s(end))} is not within the scenario ({iso(start)} to {iso(stop)}]")
    offset = unix_s(end) - start
    if end.microsecond or offset % step:
        below = start + offset // step * step
        above = min(below + step, stop)
        nearest = above if below == start or above - unix_s(end) < unix_s(end) - below else below
        fail(f"--until: {until} is not on the scenario's {step} s step grid; the nearest valid instant is {iso(nearest)}")
    try:
        return spec.with_end(end)
    except ValueError as exc:
        fail(f"--until: {exc}")


@app.command()
def run(
    scenario: str = typer.Argument(..., help="A scenario file (.toml) or the name of a built-in scenario (see `ilrs-twin scenarios`)."),
    runtime: Runtime = typer.Option(Runtime.ray, "--runtime", "-r", help="ray: each subsystem a Ray actor serving gRPC; local: all in this process. Both give identical telemetry."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder: telemetry/<subsystem>.parquet, summary.json, scenario.toml. Default: runs/<scenario name>."),
    until: Optional[str] = typer.Option(None, "--until", help="Stop at this UTC instant (ISO 8601) instead of the scenario's end."),
    address: Optional[str] = typer.Option(None, "--address", help="Join this Ray cluster (e.g. ray://head:10001 or auto); default starts a local one."),
    actor_cpus: Optional[float] = typer.Option(None, "--actor-cpus", help="CPUs Ray reserves for each subsystem actor (all of them together at most the cluster's). Default: 0.25, or the cluster's CPUs shared out among the instances where that is less."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Allow writing into a non-empty output folder (its old run is replaced)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last complete checkpoint (after a crash, a kill or Ctrl-C)."),
    telemetry_step: Optional[str] = typer.Option(None, "--telemetry-step", help="One telemetry row per this much simulated time (e.g. 1h), aggregated by column kind; sets [telemetry] step."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; print the summary as one JSON line."),
    replay: Optional[Path] = typer.Option(None, "--replay", help="A live session's OUT/events.jsonl: apply its commands, faults, snapshots and restores at the same simulation steps (the telemetry is the session's)."),
) -> None:
    """Run a scenario and write its telemetry (Parquet), summary.json and the resolved scenario."""
    from twin.run import run as run_scenario

    runtime = runtime.value
    actions = None
    if replay is not None:
        from twin.actions import read_events

        if resume:
            fail("--replay: not with --resume (a replay starts from the beginning, as the session did)")
        try:
            actions = read_events(replay)
        except ValueError as exc:
            fail(str(exc))
    spec, out = prepare_run(scenario, out, until, telemetry_step, runtime, address, actor_cpus, overwrite, resume)
    if actions is not None:
        check_replay(actions, spec)
    again = f"ilrs-twin run {scenario} --out {out}" + (f" --until {until}" if until else "") + (f" --telemetry-step {telemetry_step}" if telemetry_step else "") + (f" --runtime {runtime}" if runtime != "ray" else "")
    interactive = sys.stderr.isatty() and not quiet
    clock = spec.clock
    options = dict(runtime=runtime, out=out, address=address, actor_cpus=actor_cpus, resume=resume)
    if actions is not None:
        from twin.actions import replay_drive

        options["drive"] = replay_drive(actions)
    if interactive:
        progress = make_progress()
        first, last = clock.datetime_at(0), clock.datetime_at(clock.n_steps)
        style = "%Y-%m-%d" if first.time() == last.time() == datetime.min.time() else "%Y-%m-%d %H:%M"
        progress.console.print(f"{spec.scenario.name}: {first:{style}} to {last:{style}}, {clock.n_steps:,} steps of {clock.step_s} s ({runtime})",
                               markup=False, highlight=False)
        task = progress.add_task(spec.scenario.name[:16], total=clock.n_steps, date="starting", speed="")
        started = {}

        def on_progress(step: int) -> None:
            import time

            now = time.perf_counter()
            first = started.setdefault("t", (now, step))
            rate = (step - first[1]) * clock.step_s / max(now - first[0], 1e-9)
            progress.update(task, completed=step, date=clock.datetime_at(step).strftime("%Y-%m-%d"), speed=f"{rate:,.0f}x" if step > first[1] else "")

        def on_ready(endpoints: list[dict]) -> None:
            for line in endpoint_lines(endpoints, out):
                progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

        with progress:
            summary = _run_or_explain(run_scenario, again, spec, on_progress=on_progress, on_ready=on_ready, **options)
    else:
        def on_ready(endpoints: list[dict]) -> None:
            if not quiet:
                for line in endpoint_lines(endpoints, out):
                    typer.echo(line, err=True)

        summary = _run_or_explain(run_scenario, again, spec, on_ready=on_ready, **options)

    if interactive:
        e = summary["energy"]
        day = lambda instant: instant.removesuffix("T00:00:00Z")  # noqa: E731
        typer.echo(
            f"{summary['scenario']} at {summary['site']}: {day(summary['start'])} to {day(summary['end'])}\n"
            f"  {summary['wall_s']:.1f} s ({summary['speedup']:,.0f}x real time)\n"
            f"  generated {e['generated_kwh']:,.0f} kWh, delivered {e['delivered_kwh']:,.0f} kWh, unserved {e['unserved_kwh']:,.0f} kWh\n"
            f"  min state of charge {e['min_storage_soc_frac']:.0%}\n"
            f"  load shed (h): " + ", ".join(f"{k} {v:,.0f}" for k, v in e["shed_hours"].items()) + f"\n  written to {out}/"
        )
    else:
        typer.echo(json.dumps(summary))


def check_replay(actions, spec) -> None:
    """Refuse (one line, exit 2) a log whose actions this scenario cannot take, before anything runs."""
    n = spec.clock.n_steps
    for i, (step, action) in enumerate(actions, 1):
        if not 0 <= step <= n:
            fail(f"--replay: action {i} ({action.kind}) is at step {step}, outside this run (0 to {n}): the log is of another scenario or --until")
        if action.command is not None and action.command.target not in spec.modules:
            fail(f"--replay: action {i} commands {action.command.target!r}, which this scenario does not have (instances: {', '.join(spec.modules)})")


def prepare_run(scenario: str, out: Optional[Path], until: Optional[str], telemetry_step: Optional[str], runtime: str, address: Optional[str],
                actor_cpus: Optional[float], overwrite: bool, resume: bool):
    """The scenario and output folder of a run (or a serve), every option checked before anything
    is written; warnings printed."""
    from twin.scenario import source_of

    spec = _scenario(scenario)
    if until is not None:
        spec = _until(spec, until)
    if telemetry_step is not None:
        from twin.scenario import ScenarioError

        try:
            spec = spec.with_values("telemetry", step=telemetry_step)
        except ScenarioError as exc:
            fail(f"--telemetry-step: {'; '.join(reason for _, reason in exc.problems)}")
    default_out = out is None
    out = out or Path("runs") / spec.scenario.name
    _check_out(out, default_out)
    if actor_cpus is not None and (not math.isfinite(actor_cpus) or actor_cpus < 0):
        fail(f"--actor-cpus: {actor_cpus} is not a number of CPUs (0 or more)")
    if runtime == "ray":
        _check_actor_cpus(actor_cpus, len(spec.modules), address)
        if address is not None:
            _check_address(address)
    if resume and overwrite:
        fail("--resume and --overwrite: choose one (continue the run in --out, or replace it)")
    if resume:
        from twin.run import ResumeError, check_resume

        try:
            check_resume(spec, out)
        except ResumeError as exc:
            fail(str(exc))
    elif out.is_dir() and any(out.iterdir()) and not overwrite:
        hint = " or --resume to continue it" if (out / "scenario.toml").exists() and not (out / "summary.json").exists() else ""
        fail(f"--out: {out} is not empty; choose another folder, pass --overwrite to replace it{hint}")
    for line in spec.warning_lines:
        typer.echo(f"warning: {source_of(scenario)}: {line}", err=True)
    return spec, out


def make_progress(console=None):
    """The run's progress bar, one line of at most 80 columns: name, bar, percent, simulated date,
    speed (simulated seconds per wall second), elapsed and remaining wall time."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description:<16}"),
        BarColumn(bar_width=16),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[date]:<10}"),
        TextColumn("{task.fields[speed]:>9}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
        console=console,
    )


def endpoint_lines(endpoints: list[dict], out: Path) -> list[str]:
    """Every instance's gRPC address, plain text (also in OUT/endpoints.json)."""
    width = max((len(e["id"]) for e in endpoints), default=0)
    return [f"gRPC endpoints (reflection, health; also in {out / 'endpoints.json'}):"] + [f"  {e['id']:<{width}}  {e['address']}" for e in endpoints]


def _run_or_explain(run_scenario, again: str, spec, **kwargs) -> dict:
    """Run; on Ctrl-C say how to continue (exit 130) instead of a traceback; a cluster that cannot
    be joined or cannot hold the actors is bad input (exit 2)."""
    from twin.station import StationError

    address = kwargs.get("address")
    try:
        return run_scenario(spec, **kwargs)
    except StationError as exc:  # found only once a robot's table was calibrated: nothing was kept
        fail(f"{exc.field}: {exc.reason}")
    except RuntimeError as exc:
        if "--actor-cpus" in str(exc):
            fail(f"--actor-cpus: {exc}")
        raise
    except ValueError as exc:
        if str(exc).startswith("--replay:"):  # an action the run refused: the log is not of this scenario
            fail(str(exc))
        raise
    except (ConnectionError, SystemExit) as exc:  # ray.init: no cluster there, or it gave up waiting for one
        if kwargs.get("runtime") != "ray":
            raise
        fail(f"--address: cannot join the Ray cluster {address or os.environ.get('RAY_ADDRESS') or '(local)'}: {exc or type(exc).__name__}")
    except KeyboardInterrupt:
        if (kwargs["out"] / "scenario.toml").exists():
            typer.echo(f"interrupted; continue from the last checkpoint with: {again} --resume", err=True)
        raise typer.Exit(130)


def _instants(start: Optional[str], end: Optional[str], step: str, at: Optional[str]) -> list[float]:
    import numpy as np

    if at is not None:
        if start or end:
            fail("give either --at or --start/--end, not both")
        try:
            return [float(unix_s(parse_utc(part))) for part in at.split(",") if part.strip()]
        except ValueError as exc:
            fail(f"--at: {exc}")
    if not (start and end):
        fail("give --start and --end (with --step), or --at with comma-separated instants")
    try:
        t0, t1 = unix_s(parse_utc(start)), unix_s(parse_utc(end))
    except ValueError as exc:
        fail(f"--start/--end: {exc}")
    try:
        dt = parse_duration(step)
    except ValueError as exc:
        fail(f"--step: {exc}")
    if dt <= 0:
        fail("--step: must be positive")
    if t1 < t0:
        fail("--end: must not be before --start")
    count = int((t1 - t0) // dt) + 1
    if count > 5_000_000:
        fail(f"--step: {count:,} instants is too many; use a longer step")
    return list(t0 + np.arange(count) * dt)


def _covered(times: list[float]) -> None:
    from twin.params import EPHEMERIS_END, EPHEMERIS_RANGE, EPHEMERIS_START

    outside = [t for t in times if not unix_s(EPHEMERIS_START) <= t <= unix_s(EPHEMERIS_END)]
    if outside:
        fail(f"{iso(outside[0])} is outside the ephemeris coverage, {EPHEMERIS_RANGE} (JPL DE421 and the Moon PA kernel cover 1900-2050)")


def _observer(site: str | None, lat: float | None, lon: float | None) -> tuple[float, float]:
    """--site, or --lat and --lon: a position on the Moon, checked."""
    from twin.scenario import SITES

    if site is not None:
        if lat is not None or lon is not None:
            fail("give either --site or --lat/--lon, not both")
        if site not in SITES:
            fail(f"--site: unknown site {site!r}; known: {', '.join(SITES)}")
        return SITES[site]
    if lat is None or lon is None:
        fail("give --site NAME or both --lat and --lon")
    if not -90 <= lat <= 90:
        fail(f"--lat: {lat} is outside [-90, 90]")
    if not -180 <= lon <= 360:
        fail(f"--lon: {lon} is outside [-180, 360]")
    return lat, lon


@app.command()
def ephemeris(
    site: Optional[str] = typer.Option(None, "--site", help="amundsen, aristarchus or marius-hills."),
    lat: Optional[float] = typer.Option(None, "--lat", help="Selenographic latitude, degrees (north positive)."),
    lon: Optional[float] = typer.Option(None, "--lon", help="Selenographic longitude, degrees (east positive)."),
    start: Optional[str] = typer.Option(None, "--start", help="First instant, ISO 8601 UTC."),
    end: Optional[str] = typer.Option(None, "--end", help="Last instant (included when on the step grid)."),
    step: str = typer.Option("1h", "--step", help="Spacing: e.g. 60s, 10min, 1h, 1d."),
    at: Optional[str] = typer.Option(None, "--at", help="Comma-separated instants instead of a range."),
    fmt: Format = typer.Option(Format.csv, "--format", help="csv: one row per instant; json: a list of objects."),
) -> None:
    """Sun and Earth elevation and azimuth at a lunar site (JPL DE421 + Moon PA kernels, offline).

    Azimuth is measured from local north, clockwise through east. Elevation is of the body's
    centre above the flat local horizon.
    """
    fmt = fmt.value
    lat, lon = _observer(site, lat, lon)
    times = _instants(start, end, step, at)
    _covered(times)

    import numpy as np

    from twin.environment.ephemeris import elevation_azimuth, sky_vectors

    t = np.asarray(times, dtype=np.float64)
    rows = []
    for chunk in range(0, len(t), 100_000):
        part = t[chunk:chunk + 100_000]
        vectors = sky_vectors(lat, lon, part)
        sun_el, sun_az = elevation_azimuth(vectors["sun_enu"])
        earth_el, earth_az = elevation_azimuth(vectors["earth_enu"])
        rows.extend(zip(part, sun_el, sun_az, earth_el, earth_az))
    header = ["time", "sun_elevation_deg", "sun_azimuth_deg", "earth_elevation_deg", "earth_azimuth_deg"]
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        for when, *values in rows:
            writer.writerow([iso(when), *(f"{v:.4f}" for v in values)])
    else:
        typer.echo(json.dumps([dict(zip(header, [iso(when), *(round(float(v), 4) for v in values)])) for when, *values in rows]))


@app.command()
def horizon(
    site: Optional[str] = typer.Option(None, "--site", help="amundsen, aristarchus or marius-hills (the observer's position)."),
    lat: Optional[float] = typer.Option(None, "--lat", help="Observer's selenographic latitude, degrees (north positive)."),
    lon: Optional[float] = typer.Option(None, "--lon", help="Observer's selenographic longitude, degrees (east positive)."),
    dem: Optional[Path] = typer.Option(None, "--dem", help="Elevation model: a GeoTIFF in a lunar CRS, or a .npy of heights (m) centred on the observer (with --dem-spacing-m)."),
    dem_spacing_m: Optional[float] = typer.Option(None, "--dem-spacing-m", help="Grid spacing of a .npy elevation model, metres."),
    height: float = typer.Option(0.0, "--height", help="Eye height above the ground, metres (an array's mast, an antenna)."),
    azimuth_step: float = typer.Option(0.5, "--azimuth-step", help="Azimuth spacing, degrees (must divide 360)."),
    terrain_seed: int = typer.Option(1, "--terrain-seed", min=0, max=2**31 - 1, help="Seed of a built-in site's terrain roughness (the scenario's [site] terrain_seed)."),
    flat: bool = typer.Option(False, "--flat", help="Ignore a built-in site's terrain: the smooth sphere."),
    fmt: Format = typer.Option(Format.csv, "--format", help="csv: azimuth_deg,elevation_deg rows; json: an object with both lists."),
) -> None:
    """The horizon at an observer: elevation of the terrain's skyline at each azimuth (from north
    through east), on the 1737.4 km sphere, from the eye's height above the ground.

    --site alone uses the site's built-in terrain (its landforms' published morphometry, with
    --terrain-seed for the roughness); --dem a measured elevation model; --flat, or --lat/--lon
    without --dem, the smooth sphere, whose horizon is the limb below 0 deg.
    """
    lat, lon = _observer(site, lat, lon)

    import numpy as np

    from twin.environment import morphometry, terrain

    try:
        if dem is None and site is not None and not flat:
            found = terrain.horizon(morphometry.site_model(site, terrain_seed), lat, lon, height, azimuth_step)
            azimuths, elevations = found.azimuth_deg, found.elevation_deg
        elif dem is None:
            terrain.check(height, azimuth_step)
            azimuths = np.arange(0.0, 360.0, azimuth_step)
            elevations = np.full(azimuths.size, terrain.limb_deg(height))
        else:
            found = terrain.horizon(terrain.load(dem, dem_spacing_m, (lat, lon)), lat, lon, height, azimuth_step)
            azimuths, elevations = found.azimuth_deg, found.elevation_deg
    except ValueError as exc:
        field, sep, reason = str(exc).partition(": ")
        fail(f"--{field.replace('_', '-')}: {reason}" if sep and " " not in field else str(exc))
    if fmt.value == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["azimuth_deg", "elevation_deg"])
        for az, el in zip(azimuths, elevations):
            writer.writerow([f"{az:g}", f"{el:.4f}"])
    else:
        typer.echo(json.dumps({"azimuth_deg": [float(a) for a in azimuths], "elevation_deg": [round(float(e), 4) for e in elevations]}))


@app.command()
def illumination(
    dem: Optional[Path] = typer.Option(None, "--dem", help="Elevation model: a GeoTIFF in a lunar CRS, or a .npy of heights (m) with --dem-spacing-m and its centre (--site or --lat/--lon). Without it, --site's built-in terrain."),
    start: str = typer.Option(..., "--start", help="First instant, ISO 8601 UTC."),
    end: str = typer.Option(..., "--end", help="End of the span (not included)."),
    out: Path = typer.Option(..., "--out", help="Folder for illumination.parquet and illumination.png."),
    height: float = typer.Option(0.0, "--height", help="Eye height above the ground, metres (an array's mast)."),
    step: str = typer.Option("1h", "--step", help="Spacing of the instants: e.g. 10min, 1h."),
    every: int = typer.Option(1, "--every", help="Every k-th cell in both directions (1: all)."),
    dem_spacing_m: Optional[float] = typer.Option(None, "--dem-spacing-m", help="Grid spacing of a .npy elevation model, metres."),
    site: Optional[str] = typer.Option(None, "--site", help="amundsen, aristarchus or marius-hills: the built-in terrain without --dem, the centre of a .npy model with it."),
    terrain_seed: int = typer.Option(1, "--terrain-seed", min=0, max=2**31 - 1, help="Seed of a built-in site's terrain roughness."),
    lat: Optional[float] = typer.Option(None, "--lat", help="Centre of a .npy model: latitude, degrees."),
    lon: Optional[float] = typer.Option(None, "--lon", help="Centre of a .npy model: longitude, degrees."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace maps already in --out."),
) -> None:
    """Where inside a tile the Sun is seen longest: for every cell, the fraction of the span the
    Sun is seen from --height above the ground and the longest darkness, as Parquet (one row per
    cell, with latitude and longitude) and a PNG map with colour bars."""
    import time

    import numpy as np

    from twin.environment import illumination as maps
    from twin.environment import morphometry, terrain

    t0, t1 = _span_option(start, "--start"), _span_option(end, "--end")
    _covered([t0, t1])
    try:
        seconds = parse_duration(step)
    except ValueError as exc:
        fail(f"--step: {exc}")
    centre = _observer(site, lat, lon) if site is not None or lat is not None or lon is not None else None
    if (out / "illumination.parquet").exists() and not overwrite:
        fail(f"--out: {out} already holds maps; choose another folder or pass --overwrite")
    if dem is None and site is None:
        fail("--dem: give an elevation model, or --site for a built-in site's terrain")
    try:
        model = terrain.load(dem, dem_spacing_m, centre) if dem is not None else morphometry.site_model(site, terrain_seed)
        began = time.perf_counter()
        result = maps.illumination(model, t0, t1, height, seconds, every, progress=lambda what: typer.echo(f"computing {what} ...", err=True))
    except ValueError as exc:
        field, sep, reason = str(exc).partition(": ")
        fail(f"--{field.replace('_', '-')}: {reason}" if sep and " " not in field and field != "latitude, longitude" else str(exc))
    elapsed = time.perf_counter() - began
    try:
        written = maps.write(result, out, {"dem": model.label, "start": iso(t0), "end": iso(t1), "height_m": height, "step_s": seconds, "every": every})
    except OSError as exc:
        fail(f"--out: cannot write into {out} ({exc.strerror or exc})")
    typer.echo(f"{result.lit_frac.size:,} cells x {result.instants:,} instants in {elapsed:.1f} s: lit {np.nanmin(result.lit_frac):.1%} to {np.nanmax(result.lit_frac):.1%}; wrote {', '.join(str(p) for p in written)}", err=True)


class Robot(str, Enum):
    rover = "rover"
    hopper = "hopper"


@robots_app.command("episode")
def robots_episode(
    robot: Robot = typer.Option(..., "--robot", help="rover: a four-wheeled mini-rover; hopper: a jumping robot."),
    task: str = typer.Option(..., "--task", help='rover: "traverse 20,0 20,20" (waypoints, m east,north of the tile\'s centre); hopper: "hop 12 m at 45 deg [towards 90 deg]".'),
    out: Path = typer.Option(..., "--out", help="Folder for episode.parquet, episode.json and track.png."),
    terrain_spec: str = typer.Option("seed:1", "--terrain", help="seed:N for a procedural lunar tile, or an elevation model (GeoTIFF, or .npy with --dem-spacing-m) cut around --site or --lat/--lon."),
    size_m: float = typer.Option(100.0, "--size-m", min=5.0, max=2000.0, help="Width of the tile, metres."),
    spacing_m: float = typer.Option(0.25, "--spacing-m", min=0.05, max=10.0, help="Grid spacing of the tile, metres."),
    rate_hz: float = typer.Option(240.0, "--rate-hz", min=30.0, max=2000.0, help="Physics steps per simulated second."),
    max_s: float = typer.Option(1800.0, "--max-s", min=1.0, max=86400.0, help="Longest episode, simulated seconds."),
    dem_spacing_m: Optional[float] = typer.Option(None, "--dem-spacing-m", help="Grid spacing of a .npy elevation model, metres."),
    site: Optional[str] = typer.Option(None, "--site", help="Centre of an elevation model's tile: amundsen, aristarchus or marius-hills."),
    lat: Optional[float] = typer.Option(None, "--lat", help="Centre of an elevation model's tile: latitude, degrees."),
    lon: Optional[float] = typer.Option(None, "--lon", help="Centre of an elevation model's tile: longitude, degrees."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an episode already in --out."),
) -> None:
    """One full-physics episode on a terrain tile: the robot's track (Parquet), its summary
    (outcome, distance, time, energy) and a PNG of the track over the terrain. Deterministic: the
    same terrain, robot and task give the same track."""
    from physics import report
    from physics.episode import hop, traverse
    from physics.robots import HopperBody

    if (out / "episode.json").exists() and not overwrite:
        fail(f"--out: {out} already holds an episode; choose another folder or pass --overwrite")
    centre = _observer(site, lat, lon) if site is not None or lat is not None or lon is not None else None
    try:
        parsed = report.parse_task(task, robot.value)
        tile = report.terrain_from(terrain_spec, size_m, spacing_m, centre, dem_spacing_m)
        if isinstance(parsed, report.Hop):
            energy = parsed.energy_j(HopperBody())
            typer.echo(f"hopping: {energy:.1f} J in the spring for {parsed.range_m:g} m at {parsed.elevation_deg:g} deg ...", err=True)
            track = hop(tile, energy, parsed.elevation_deg, parsed.azimuth_deg, rate_hz=rate_hz, max_s=max_s)
        else:
            for x, y in parsed.waypoints:
                if not tile.inside(x, y):
                    raise ValueError(f"task: waypoint ({x:g}, {y:g}) m is outside the {tile.size_m:g} m tile")
            typer.echo(f"driving through {len(parsed.waypoints)} waypoint(s) on {tile.label} ...", err=True)
            track = traverse(tile, list(parsed.waypoints), rate_hz=rate_hz, max_s=max_s)
    except ValueError as exc:
        field, sep, reason = str(exc).partition(": ")
        fail(f"--{field.replace('_', '-')}: {reason}" if sep and " " not in field else str(exc))
    about = {"robot": robot.value, "terrain": tile.label, "task": task, "rate_hz": rate_hz}
    try:
        written = report.write(out, tile, track, about)
    except OSError as exc:
        fail(f"--out: cannot write into {out} ({exc.strerror or exc})")
    typer.echo(f"{track.outcome}: {track.distance_m:.2f} m in {track.duration_s:.1f} s, {track.energy_j / 3600:.3f} Wh; wrote {', '.join(str(p) for p in written)}", err=True)


@app.command()
def calibrate(
    robot: Robot = typer.Option(Robot.rover, "--robot", help="rover: speed and drive energy against grade and load; hopper: range, time and failures against the spring's energy."),
    terrain_spec: str = typer.Option("seed:7", "--terrain", help="seed:N, the seed of the calibration's procedural tiles."),
    out: Path = typer.Option(..., "--out", help="Folder for the table (rover-<hash>.parquet or hopper-<hash>.parquet; the hash covers the robot, the settings and the physics)."),
    grades: Optional[str] = typer.Option(None, "--grades", help="Rover: grades of the path to calibrate at, degrees, comma-separated (uphill positive; default -15,-10,-5,0,5,10,15)."),
    loads: Optional[str] = typer.Option(None, "--loads", help="Rover: loads carried, kg, comma-separated (default 0,15,30)."),
    lanes: Optional[int] = typer.Option(None, "--lanes", min=1, max=16, help="Rover: runs per grade and load (default 3)."),
    energies: Optional[str] = typer.Option(None, "--energies", help="Hopper: the spring's energies, J, comma-separated, at most the spring's 200 J (default 40,60,80,120,160,200)."),
    hops: Optional[int] = typer.Option(None, "--hops", min=1, max=64, help="Hopper: hops per energy, from start points and azimuths around the tile (default 8)."),
    elevation_deg: Optional[float] = typer.Option(None, "--elevation-deg", min=5.0, max=85.0, help="Hopper: launch elevation above the horizontal, degrees (default 45)."),
    workers: str = typer.Option("auto", "--workers", help="Physics workers (Ray actors or tasks): a count, or auto for one per CPU."),
    address: Optional[str] = typer.Option(None, "--address", help="Join a running Ray cluster instead of starting one here."),
) -> None:
    """Run the physics workers and write the robot's surrogate table. A rover: lanes over rough
    tiles at each grade and load give speed, drive energy per metre and failure fraction, plus the
    cost of turning. A hopper: hops on rough tiles at each spring energy give the range, the
    distance to rest, the time from launch to rest and the failure fraction. A table for the same
    robot and settings is reused, not rebuilt."""
    from physics import surrogate, tables
    from physics.robots import HopperBody, RoverBody

    if not terrain_spec.startswith("seed:") or not terrain_spec[5:].isdigit():
        fail("--terrain: the calibration runs on procedural tiles: give seed:N")
    seed = int(terrain_spec[5:])
    try:
        if robot is Robot.rover:
            _not_for("rover", {"--energies": energies, "--hops": hops, "--elevation-deg": elevation_deg})
            body = RoverBody()
            base = surrogate.Calibration()
            settings = surrogate.Calibration(grades_deg=base.grades_deg if grades is None else _numbers(grades, "--grades", -30.0, 30.0),
                                             loads_kg=base.loads_kg if loads is None else _numbers(loads, "--loads", 0.0, 500.0),
                                             lanes=base.lanes if lanes is None else lanes, seed=seed)
        else:
            _not_for("hopper", {"--grades": grades, "--loads": loads, "--lanes": lanes})
            body = HopperBody()
            base = surrogate.HopperCalibration()
            chosen = base.energies_j if energies is None else _numbers(energies, "--energies", 0.0, body.max_spring_j)
            if len(chosen) < 2 or chosen[0] <= 0.0:
                raise ValueError(f"--energies: give at least two spring energies above 0 and at most {body.max_spring_j:g} J")
            settings = surrogate.HopperCalibration(energies_j=chosen, hops=base.hops if hops is None else hops,
                                                   elevation_deg=base.elevation_deg if elevation_deg is None else float(elevation_deg), seed=seed)
        count = workers if workers == "auto" else int(workers) if workers.isdigit() and int(workers) > 0 else None
    except ValueError as exc:
        fail(str(exc))
    if count is None:
        fail(f"--workers: {workers!r} is not a worker count (a positive integer or auto)")
    existing = out / surrogate.table_name(body, settings)
    if existing.exists():
        typer.echo(f"already calibrated: {existing}", err=True)
        return
    if address is not None:
        _check_address(address)
    import ray

    ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        progress = lambda what: typer.echo(f"calibrating: {what} ...", err=True)  # noqa: E731
        if robot is Robot.rover:
            table = surrogate.calibrate(body, settings, workers=count, progress=progress)
        else:
            table = surrogate.calibrate_hopper(body, settings, workers=count, progress=progress)
    except ValueError as exc:
        fail(str(exc))
    finally:
        ray.shutdown()
    try:
        written = surrogate.write(table, out, settings)
    except OSError as exc:
        fail(f"--out: cannot write into {out} ({exc.strerror or exc})")
    typer.echo(f"wrote {written}: {tables.summary(table)}", err=True)


def _not_for(robot: str, options: dict) -> None:
    """Options of the other robot's calibration, given for this one: an error naming them."""
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise ValueError(f"{given[0]}: does not apply to a {robot}'s calibration (the rover's are --grades, --loads, --lanes; "
                         "the hopper's --energies, --hops, --elevation-deg)")


def _numbers(text: str, option: str, lo: float, hi: float) -> tuple[float, ...]:
    try:
        values = tuple(sorted({float(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a comma-separated list of numbers") from None
    if not values or not all(lo <= v <= hi for v in values):
        raise ValueError(f"{option}: give numbers within {lo:g} to {hi:g}")
    return values


def _span_option(value: str, option: str) -> float:
    try:
        return float(unix_s(parse_utc(value)))
    except ValueError as exc:
        fail(f"{option}: {exc}")


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"
    markdown = "markdown"
    json = "json"


@app.command()
def compare(
    runs: list[Path] = typer.Argument(..., help="Output folders of finished runs (each has a summary.json)."),
    fmt: TableFormat = typer.Option(TableFormat.table, "--format", help="table: aligned text; csv; markdown; json: {runs, kpis}."),
) -> None:
    """The KPIs of several runs side by side (a site trade): energy generated and unserved, shed
    hours by class, lit fraction and longest darkness, link hours, data lost, oxygen, observing
    and experiments. Instances of one kind are added together; a KPI a run lacks stays empty."""
    from twin.compare import formatted, table

    try:
        labels, rows = table(runs)
    except ValueError as exc:
        fail(str(exc))
    if fmt.value == "json":
        typer.echo(json.dumps({"runs": labels, "kpis": [{"kpi": r["kpi"], "unit": r["unit"], "values": r["values"]} for r in rows]}, indent=1))
        return
    header = ["kpi", "unit", *labels]
    cells = [[r["kpi"], r["unit"], *(formatted(v, r["digits"]) for v in r["values"])] for r in rows]
    if fmt.value == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[r["kpi"], r["unit"], *("" if v is None else v for v in r["values"])] for r in rows])
    elif fmt.value == "markdown":
        typer.echo("| " + " | ".join(header) + " |")
        typer.echo("|" + "---|" * 2 + "---:|" * len(labels))
        for row in cells:
            typer.echo("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
        for row in [header, *cells]:
            typer.echo("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())


@scenarios_app.callback()
def scenarios(ctx: typer.Context) -> None:
    """List the built-in scenarios (name and description)."""
    if ctx.invoked_subcommand is not None:
        return
    from twin.scenario import builtin_names, load

    for name in builtin_names():
        typer.echo(f"{name:24} {load(name).scenario.description}")


@scenarios_app.command("show")
def scenarios_show(name: str = typer.Argument(..., help="Built-in scenario name.")) -> None:
    """Print a built-in scenario as TOML (a starting point for your own file)."""
    from twin.scenario import ScenarioError, builtin_text

    try:
        typer.echo(builtin_text(name), nl=False)
    except ScenarioError as exc:
        fail(str(exc))


@kinds_app.callback()
def kinds(ctx: typer.Context) -> None:
    """List the registered kinds: their ports (quantity, unit, direction) and where they come from."""
    if ctx.invoked_subcommand is not None:
        return
    from twin.registry import kinds as registered, origin

    for name, cls in registered().items():
        limit = f", at most {cls.max_instances} per station" if cls.max_instances else ""
        typer.echo(f"{name}: {cls.summary}{limit}\n  from {origin(name)}")
        for port in cls.ports:
            arrow = "<-" if port.direction == "in" else "->"
            flags = " (feedback)" if port.feedback else ""
            typer.echo(f"  {arrow} {port.name:18} {port.quantity:22} {port.unit}{flags}")


@kinds_app.command("show")
def kinds_show(kind: str = typer.Argument(..., help="A kind name (see `ilrs-twin kinds`).")) -> None:
    """A kind's parameters: name, type, default, unit, description and source."""
    from twin.params import describe
    from twin.registry import KindError, get, origin

    try:
        cls = get(kind)
    except KindError as exc:
        fail(str(exc))
    typer.echo(f"{kind}: {cls.summary}\nfrom {origin(kind)}\n")
    typer.echo(f"{'parameter':44} {'default':>22}  {'unit':10} description [source]")
    for row in describe(cls.Params):
        source = f" [{row['source']}]" if row["source"] else ""
        allowed = f" (allowed: {row['range']})" if row["range"] else ""
        typer.echo(f"{row['name']:44} {row['default']:>22}  {row['unit']:10} {row['description']}{allowed}{source}")


# The live twin's commands live beside (they need the helpers above).
from twin.cli_live import probe_app, serve  # noqa: E402

app.command()(serve)
app.add_typer(probe_app, name="probe")


def main() -> None:
    app()

