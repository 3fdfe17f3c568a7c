"""ilrs-twin: run ILRS station scenarios, list model kinds and built-in scenarios, print lunar ephemerides."""
from __future__ import annotations

import csv
import json
import sys
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
kinds_app = typer.Typer(help="List the registered model kinds and their ports, or one kind's parameters (`kinds show KIND`).", invoke_without_command=True)
app.add_typer(kinds_app, name="kinds")


def fail(message: str) -> None:
    """Bad input: say what and why on stderr, exit 2, write nothing."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _scenario(ref: str):
    from twin.scenario import ScenarioError, load

    try:
        return load(ref)
    except ScenarioError as exc:
        fail(str(exc))


@app.command()
def run(
    scenario: str = typer.Argument(..., help="A scenario file (.toml) or the name of a built-in scenario (see `ilrs-twin scenarios`)."),
    runtime: str = typer.Option("ray", "--runtime", "-r", help="ray: each subsystem a Ray actor serving gRPC; local: all in this process. Both give identical telemetry."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder: telemetry/<subsystem>.parquet, summary.json, scenario.toml. Default: runs/<scenario name>."),
    until: Optional[str] = typer.Option(None, "--until", help="Stop at this UTC instant (ISO 8601) instead of the scenario's end."),
    address: Optional[str] = typer.Option(None, "--address", help="Join this Ray cluster (e.g. ray://head:10001 or auto); default starts a local one."),
    actor_cpus: float = typer.Option(0.25, "--actor-cpus", min=0.0, help="CPUs Ray reserves for each subsystem actor."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Allow writing into a non-empty output folder (its old run is replaced)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last complete checkpoint (after a crash, a kill or Ctrl-C)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; print the summary as one JSON line."),
) -> None:
    """Run a scenario and write its telemetry (Parquet), summary.json and the resolved scenario."""
    from twin.run import RUNTIMES, run as run_scenario

    spec = _scenario(scenario)
    if runtime not in RUNTIMES:
        fail(f"--runtime: must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if until is not None:
        try:
            end = parse_utc(until)
        except ValueError as exc:
            fail(f"--until: {exc}")
        if not spec.time.start < end <= spec.time.end:
            fail(f"--until: {iso(unix_s(end))} is not within the scenario ({iso(unix_s(spec.time.start))} to {iso(unix_s(spec.time.end))}]")
        try:
            spec = spec.with_end(end)
        except ValueError as exc:
            fail(f"--until: {exc}")
    out = out or Path("runs") / spec.scenario.name
    if out.exists() and not out.is_dir():
        fail(f"--out: {out} exists and is not a folder")
    if resume and overwrite:
        fail("--resume and --overwrite: choose one (continue the run in --out, or replace it)")
    if resume:
        from twin.run import ResumeError, _check_resume

        try:
            _check_resume(spec, out)
        except ResumeError as exc:
            fail(str(exc))
    elif out.is_dir() and any(out.iterdir()) and not overwrite:
        hint = " or --resume to continue it" if (out / "scenario.toml").exists() and not (out / "summary.json").exists() else ""
        fail(f"--out: {out} is not empty; choose another folder, pass --overwrite to replace it{hint}")

    again = f"ilrs-twin run {scenario} --out {out}" + (f" --until {until}" if until else "") + (f" --runtime {runtime}" if runtime != "ray" else "")
    interactive = sys.stderr.isatty() and not quiet
    clock = spec.clock
    if interactive:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[date]}"),
            TextColumn("{task.fields[speed]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        task = progress.add_task(f"{spec.scenario.name} ({runtime})", total=clock.n_steps, date="starting", speed="")
        started = {}

        def on_progress(step: int) -> None:
            import time

            now = time.perf_counter()
            first = started.setdefault("t", (now, step))
            rate = (step - first[1]) * clock.step_s / max(now - first[0], 1e-9)
            progress.update(task, completed=step, date=clock.datetime_at(step).strftime("%Y-%m-%d %H:%M"), speed=f"{rate:,.0f}x real time" if step > first[1] else "")

        def on_ready(endpoints: list[dict]) -> None:
            progress.console.print("gRPC (reflection, health), also in endpoints.json: " + ", ".join(f"{e['id']} {e['address']}" for e in endpoints), markup=False, highlight=False)

        with progress:
            summary = _run_or_explain(run_scenario, again, spec, runtime=runtime, out=out, address=address, actor_cpus=actor_cpus, on_progress=on_progress, on_ready=on_ready, resume=resume)
    else:
        summary = _run_or_explain(run_scenario, again, spec, runtime=runtime, out=out, address=address, actor_cpus=actor_cpus, resume=resume)

    if interactive:
        e = summary["energy"]
        typer.echo(
            f"{summary['scenario']} at {summary['site']}: {summary['start']} to {summary['end']} in {summary['wall_s']:.1f} s "
            f"({summary['speedup']:,.0f}x real time)\n"
            f"  generated {e['generated_kwh']:,.0f} kWh, delivered {e['delivered_kwh']:,.0f} kWh, unserved {e['unserved_kwh']:,.0f} kWh, "
            f"min state of charge {e['min_storage_soc_frac']:.0%}\n"
            f"  load shed (h): " + ", ".join(f"{k} {v:,.0f}" for k, v in e["shed_hours"].items()) + f"\n  written to {out}/"
        )
    else:
        typer.echo(json.dumps(summary))


def _run_or_explain(run_scenario, again: str, spec, **kwargs) -> dict:
    """Run; on Ctrl-C say how to continue (exit 130) instead of a traceback."""
    try:
        return run_scenario(spec, **kwargs)
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


@app.command()
def ephemeris(
    site: Optional[str] = typer.Option(None, "--site", help="amundsen, aristarchus or marius-hills."),
    lat: Optional[float] = typer.Option(None, "--lat", help="Selenographic latitude, degrees (north positive)."),
    lon: Optional[float] = typer.Option(None, "--lon", help="Selenographic longitude, degrees (east positive)."),
    start: Optional[str] = typer.Option(None, "--start", help="First instant, ISO 8601 UTC."),
    end: Optional[str] = typer.Option(None, "--end", help="Last instant (included when on the step grid)."),
    step: str = typer.Option("1h", "--step", help="Spacing: e.g. 60s, 10min, 1h, 1d."),
    at: Optional[str] = typer.Option(None, "--at", help="Comma-separated instants instead of a range."),
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
) -> None:
    """Sun and Earth elevation and azimuth at a lunar site (JPL DE421 + Moon PA kernels, offline).

    Azimuth is measured from local north, clockwise through east. Elevation is of the body's
    centre above the flat local horizon.
    """
    from twin.scenario import SITES

    if fmt not in ("csv", "json"):
        fail(f"--format: must be csv or json, not {fmt!r}")
    if site is not None:
        if lat is not None or lon is not None:
            fail("give either --site or --lat/--lon, not both")
        if site not in SITES:
            fail(f"--site: unknown site {site!r}; known: {', '.join(SITES)}")
        lat, lon = SITES[site]
    elif lat is None or lon is None:
        fail("give --site NAME or both --lat and --lon")
    if not -90 <= lat <= 90:
        fail(f"--lat: {lat} is outside [-90, 90]")
    if not -180 <= lon <= 360:
        fail(f"--lon: {lon} is outside [-180, 360]")
    times = _instants(start, end, step, at)

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
        typer.echo(f"{row['name']:44} {row['default']:>22}  {row['unit']:10} {row['description']}{source}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
