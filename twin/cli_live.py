"""`ilrs-twin serve` (a live twin behind one gRPC address) and `ilrs-twin probe` (its client)."""
from __future__ import annotations

import json
import math
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from twin.cli import Runtime, fail, prepare_run
from twin.clock import iso, parse_duration, parse_utc

TOKEN_ENV = "ILRS_TWIN_TOKEN"
READ_TOKEN_ENV = "ILRS_TWIN_READ_TOKEN"
ADDRESS_ENV = "ILRS_TWIN_ADDRESS"
DEFAULT_PORT = 50051

probe_app = typer.Typer(
    help="Read and steer a live twin (`ilrs-twin serve`): list, get, watch, clock; pause, resume, step, speed; "
    "command, fault, clear; snapshot, restore; fork (a what-if on a copy). "
    f"--address or ${ADDRESS_ENV} (default 127.0.0.1:{DEFAULT_PORT}); the token from ${TOKEN_ENV} or --token-file.",
    no_args_is_help=True,
)


def _speed(text: str, option: str = "--speed") -> Optional[float]:
    """'max' -> None; a number of simulated seconds per wall second."""
    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        fail(f"{option}: {text!r} is not a number of simulated seconds per wall second (e.g. 3600) or max")
    if not (math.isfinite(value) and value > 0):
        fail(f"{option}: {text!r} must be a positive number of simulated seconds per wall second, or max")
    return value


def _read_token(path: Optional[Path], option: str) -> Optional[str]:
    if path is None:
        return None
    try:
        token = path.read_text().strip()
    except OSError as exc:
        fail(f"{option}: cannot read {path}: {exc.strerror or exc}")
    if not token or any(c.isspace() for c in token) or not token.isprintable():
        fail(f"{option}: {path} must hold one token (printable, no spaces)")
    return token


def _token(path: Optional[Path], env: str, option: str) -> Optional[str]:
    return _read_token(path, option) or (os.environ.get(env) or None)


def _check_listen(bind: str, port: int) -> None:
    """The address can be listened on (before anything is written; gRPC's own refusal is a log line
    of its core and a bare exception)."""
    import socket

    try:
        infos = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        fail(f"--bind: {bind!r} is not an address to listen on ({exc})")
    family, kind, proto, _, where = infos[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(where)
        except OSError as exc:
            fail(f"--port: cannot listen on {bind}:{port}: {exc.strerror or exc} (another serve there? choose another --port, or 0 for any free one)")


# -- serve ------------------------------------------------------------------------------------------
def serve(
    scenario: str = typer.Argument(..., help="A built-in scenario name (see `ilrs-twin scenarios`) or a TOML file."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder: telemetry, summary.json and events.jsonl, as in a batch run. Default: runs/<scenario name>."),
    port: int = typer.Option(DEFAULT_PORT, "--port", "-p", min=0, max=65535, help="The gateway's port (0: any free one, printed)."),
    bind: str = typer.Option("127.0.0.1", "--bind", help="Address to listen on. Anything but loopback exposes the twin to the network: use a token file and TLS."),
    speed: str = typer.Option("3600", "--speed", help="Simulated seconds per wall second (3600: an hour a second), or max to run as fast as a batch run."),
    paused: bool = typer.Option(False, "--paused", help="Start paused (at the scenario's start); `probe resume` or `probe step` sets it going."),
    hold: bool = typer.Option(False, "--hold", help="Keep serving the final state after the end, until Ctrl-C."),
    until: Optional[str] = typer.Option(None, "--until", help="Stop at this UTC instant (ISO 8601) instead of the scenario's end."),
    runtime: Runtime = typer.Option(Runtime.local, "--runtime", "-r", help="local: all instances in the simulation's process (the default here); ray: each a Ray actor with its own gRPC endpoint."),
    address: Optional[str] = typer.Option(None, "--address", help="With --runtime ray: join this Ray cluster."),
    actor_cpus: Optional[float] = typer.Option(None, "--actor-cpus", help="With --runtime ray: CPUs reserved for each subsystem actor."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Allow writing into a non-empty output folder (its old run is replaced)."),
    token_file: Optional[Path] = typer.Option(None, "--token-file", help=f"File holding the token mutating calls need (default: ${TOKEN_ENV}; with neither, one is made, printed and saved as OUT/token)."),
    read_token_file: Optional[Path] = typer.Option(None, "--read-token-file", help=f"File holding a token that may only read (default: ${READ_TOKEN_ENV}); it gets PERMISSION_DENIED on any change."),
    protect_reads: bool = typer.Option(False, "--protect-reads", help="Reads need a token too (the full or the read token); health and reflection stay open."),
    tls_cert: Optional[Path] = typer.Option(None, "--tls-cert", help="PEM certificate chain: serve TLS instead of plaintext (with --tls-key)."),
    tls_key: Optional[Path] = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert."),
) -> None:
    """Run a scenario as a live twin behind one gRPC address (TwinService, reflection, health):
    read and stream its state, pause, step and pace it with `ilrs-twin probe`, grpcurl or any
    gRPC client. Telemetry and state are those of a batch run of the same scenario."""
    from services.twin_server import serve as serve_gateway
    from twin.events import EventLog
    from twin.live_process import LiveProcess

    pace = _speed(speed)
    if (tls_cert is None) != (tls_key is None):
        fail("--tls-cert and --tls-key: give both, or neither for plaintext")
    tls = None
    if tls_cert is not None:
        try:
            tls = (tls_cert.read_bytes(), tls_key.read_bytes())
        except OSError as exc:
            fail(f"--tls-cert/--tls-key: cannot read {exc.filename}: {exc.strerror}")
    token = _token(token_file, TOKEN_ENV, "--token-file")
    read_token = _token(read_token_file, READ_TOKEN_ENV, "--read-token-file")
    if read_token is not None and read_token == token:
        fail("--read-token-file: the read token must differ from the full token")
    _check_listen(bind, port)
    spec, out = prepare_run(scenario, out, until, None, runtime.value, address, actor_cpus, overwrite, False)
    made_token = token is None
    if made_token:
        token = secrets.token_urlsafe(24)
    # The simulation in a process of its own: clients' calls cannot take its interpreter lock.
    live = LiveProcess(spec, runtime=runtime.value, out=out, speed=pace, paused=paused, address=address, actor_cpus=actor_cpus)
    try:
        server, bound, _ = serve_gateway(live, token, bind=bind, port=port, events=EventLog(out / "events.jsonl"),
                                         read_token=read_token, protect_reads=protect_reads, tls=tls)
    except RuntimeError as exc:  # grpc: the address cannot be bound
        fail(f"--port: cannot listen on {bind}:{port}: {exc}")
    except Exception as exc:  # grpc raises bare Exceptions for bad TLS material
        fail(f"--bind/--tls-cert: cannot serve on {bind}:{port}: {exc}")
    where = f"{bind}:{bound}"
    say = lambda text: typer.echo(text, err=True)  # noqa: E731

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    # A service manager stops it with SIGTERM: the same clean stop as Ctrl-C.
    signal.signal(signal.SIGTERM, interrupted)
    live.start()
    if made_token:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "token"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        say(f"token for mutating calls (saved in {path}; printed only now): export {TOKEN_ENV}={token}")
    plain = "" if tls else "-plaintext "
    say(f"serving {spec.scenario.name} on {where} ({'max speed' if pace is None else f'{pace:g}x'}{', paused' if paused else ''}): "
        f"ilrs-twin probe --address {where} get | grpcurl {plain}{where} list")
    try:
        live.ready.wait()
        while not live.wait(1.0):
            pass
        if live.error is not None:
            raise live.error
        summary = live.summary or {}
        say(f"{spec.scenario.name}: reached {summary.get('end', 'the end')} in {summary.get('wall_s', 0):.1f} s; written to {out}/")
        if hold:
            say(f"holding the final state on {where} (Ctrl-C to stop)")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        live.stop(timeout=60)
        server.stop(grace=1.0)
        at = iso(spec.clock.unix_at(live.frame.step))
        if (out / "scenario.toml").exists() and not (out / "summary.json").exists():
            say(f"stopped at {at}; continue the run from its last checkpoint with: ilrs-twin run {scenario} --out {out} --resume")
            if (out / "events.jsonl").exists():
                say(f"(commands after that checkpoint are not applied there; the whole session again: ilrs-twin run {scenario} --replay {out / 'events.jsonl'} --out OTHER)")
        elif not (out / "summary.json").exists():
            say(f"stopped at {at}, before its first checkpoint: nothing was kept")
        raise typer.Exit(130)
    except Exception as exc:
        server.stop(grace=1.0)
        from twin.station import StationError

        if isinstance(exc, StationError):
            fail(f"{exc.field}: {exc.reason}")
        raise
    server.stop(grace=1.0)


# -- probe ------------------------------------------------------------------------------------------
ADDRESS = typer.Option(None, "--address", "-a", help=f"The serve's host:port (default ${ADDRESS_ENV} or 127.0.0.1:{DEFAULT_PORT}).")
AS_JSON = typer.Option(False, "--json", help="One JSON object per answer (per line for watch), for scripts.")
TOKEN_FILE = typer.Option(None, "--token-file", help=f"File holding the token (default ${TOKEN_ENV}).")
TLS_CA = typer.Option(None, "--tls-ca", help="PEM of the certificate authority of a TLS serve.")


def _client(address: Optional[str], token_file: Optional[Path], tls_ca: Optional[Path], timeout_s: float = 10.0):
    from services.client import TwinClient

    address = address or os.environ.get(ADDRESS_ENV) or f"127.0.0.1:{DEFAULT_PORT}"
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"--address: {address!r} is not host:port")
    ca = None
    if tls_ca is not None:
        try:
            ca = tls_ca.read_bytes()
        except OSError as exc:
            fail(f"--tls-ca: cannot read {tls_ca}: {exc.strerror}")
    return TwinClient(address, token=_token(token_file, TOKEN_ENV, "--token-file") or "", timeout_s=timeout_s, tls_ca=ca)


def _refused(client, exc) -> None:
    """A refused call is one line naming the status and the server's reason, exit 2 (1 when the
    twin cannot be reached)."""
    import grpc

    if exc.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        typer.echo(f"error: no live twin answers at {client.address} ({exc.code.name}: {exc.message}); start one with `ilrs-twin serve SCENARIO`", err=True)
        raise typer.Exit(1)
    fail(f"{exc.code.name}: {exc.message}")


def _call(client, fn, *args, **kwargs):
    from services.client import TwinError

    try:
        return fn(*args, **kwargs)
    except TwinError as exc:
        _refused(client, exc)
    except ValueError as exc:
        fail(str(exc))


def _show_clock(c, as_json: bool) -> None:
    typer.echo(json.dumps(_clock_json(c)) if as_json else _clock_line(c))


def _table(rows: list[tuple[str, str, str]]) -> None:
    width = max((len(r[0]) for r in rows), default=0)
    for name, value, unit in rows:
        typer.echo(f"{name:{width}}  {value:>16}  {unit}")


def _units(client) -> dict[str, str]:
    return {v["name"]: v["unit"] for s in _call(client, client.subsystems) for v in s["variables"]}


def _fmt(value: float) -> str:
    return f"{value:.6g}" if abs(value) < 1e6 or value == int(value) else f"{value:.4e}"


def _clock_line(c) -> str:
    pace = "max speed" if c.speed is None else f"{c.speed:g}x"
    state = "finished" if c.finished else ("paused" if c.paused else f"running at {pace}")
    hold = f", holding at step {c.hold_at_step}" if c.hold_at_step >= 0 else ""
    return f"{c.time:%Y-%m-%dT%H:%M:%SZ} (step {c.step:,} of {c.end_step:,}, {c.step_s} s steps): {state}{hold}"


def _clock_json(c) -> dict:
    return {"step": c.step, "time": iso(c.time.timestamp()), "end_step": c.end_step, "end": iso(c.end.timestamp()), "paused": c.paused,
            "speed": c.speed, "hold_at_step": c.hold_at_step, "finished": c.finished, "step_s": c.step_s}


@probe_app.command("list")
def probe_list(address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """The twin's subsystems and their variables, with units."""
    with _client(address, token_file, tls_ca) as client:
        subsystems = _call(client, client.subsystems)
    if as_json:
        typer.echo(json.dumps(subsystems))
        return
    for s in subsystems:
        where = f" at {s['endpoint']}" if s["endpoint"] else ""
        typer.echo(f"{s['id']} ({s['kind']}{where}): {s['summary']}")
        for v in s["variables"]:
            typer.echo(f"  {v['name']:44} {v['unit']:10} {v['description']}")
        for c in s["commands"]:
            typer.echo(f"  command {s['id']} {c['name']} {' '.join(a.upper() for a in c['arguments'])}: {c['description']}")
        for f in s["fault_components"]:
            typer.echo(f"  fault {s['id']}.{f['name']} {'|'.join(f['modes'])}: {f['description']}")


@probe_app.command("get")
def probe_get(names: Optional[List[str]] = typer.Argument(None, help="Instance ids and <id>.<variable> names; none: every instance."),
              address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """The current state, stamped with simulation time."""
    with _client(address, token_file, tls_ca) as client:
        step, at, values = _call(client, client.state, names or [])
        units = {} if as_json else _units(client)
    if as_json:
        typer.echo(json.dumps({"step": step, "time": iso(at.timestamp()), "values": values}))
        return
    typer.echo(f"{at:%Y-%m-%dT%H:%M:%SZ} (step {step:,})")
    _table([(name, _fmt(value), units.get(name, "")) for name, value in values.items()])


def _echo_update(update, as_json: bool) -> None:
    """One line of a stream, as it comes."""
    if as_json:
        typer.echo(json.dumps({"step": update.step, "time": iso(update.time.timestamp()), "values": update.values, "finished": update.finished}))
    else:
        typer.echo(f"{update.time:%Y-%m-%dT%H:%M:%SZ}  " + "  ".join(f"{k}={_fmt(v)}" for k, v in update.values.items()))
    sys.stdout.flush()


@probe_app.command("watch")
def probe_watch(names: Optional[List[str]] = typer.Argument(None, help="Instance ids and <id>.<variable> names; none: every instance."),
                every: str = typer.Option("0s", "--every", help="Simulated time between updates (e.g. 10m, 1h, 1d); 0s: every window boundary."),
                count: int = typer.Option(0, "--count", "-n", min=0, help="Stop after this many updates (0: until the end)."),
                address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """Stream variables as the simulation moves (one line per update) until its end or Ctrl-C."""
    every_s = _duration(every, "--every")
    if every_s < 0:
        fail(f"--every: {every} must not be negative")
    from services.client import TwinError

    seen = 0
    with _client(address, token_file, tls_ca) as client:
        try:
            for update in client.watch(names or [], every_s=every_s):
                seen += 1
                _echo_update(update, as_json)
                if count and seen >= count:
                    break
        except TwinError as exc:  # at the stream's start or in its course
            _refused(client, exc)
        except KeyboardInterrupt:
            raise typer.Exit(130)


@probe_app.command("clock")
def probe_clock(address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """Simulation time, speed and whether it is paused."""
    with _client(address, token_file, tls_ca) as client:
        c = _call(client, client.clock)
    _show_clock(c, as_json)


def _mutation(name: str, doc: str):
    def command(address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
        with _client(address, token_file, tls_ca) as client:
            c = _call(client, getattr(client, name))
        _show_clock(c, as_json)

    command.__doc__ = doc
    return command


probe_app.command("pause")(_mutation("pause", "Pause the simulation at the next window boundary (needs the token)."))
probe_app.command("resume")(_mutation("resume", "Resume at the current speed (needs the token)."))


@probe_app.command("step")
def probe_step(ahead: Optional[str] = typer.Argument(None, help="How far to run, in simulated time (e.g. 6h, 2d), then pause."),
               to: Optional[str] = typer.Option(None, "--to", help="Run to this UTC instant (ISO 8601) instead, then pause."),
               address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """Run ahead by a duration (or to a time) at the current speed, then hold there paused (needs the token)."""
    if (ahead is None) == (to is None):
        fail("step: give a duration (e.g. `probe step 6h`) or --to TIME")
    kwargs = {}
    if to is not None:
        try:
            kwargs["at"] = parse_utc(to)
        except ValueError as exc:
            fail(f"--to: {exc}")
    else:
        kwargs["ahead_s"] = _duration(ahead, "ahead")
        if not kwargs["ahead_s"] > 0:
            fail(f"ahead: {ahead} must be a positive duration")
    with _client(address, token_file, tls_ca) as client:
        c = _call(client, client.step_to, **kwargs)
    _show_clock(c, as_json)


@probe_app.command("speed")
def probe_speed(speed: str = typer.Argument(..., help="Simulated seconds per wall second (e.g. 600), or max."),
                address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """Set the pace (needs the token)."""
    pace = _speed(speed, "speed")
    with _client(address, token_file, tls_ca) as client:
        c = _call(client, client.set_speed, pace)
    _show_clock(c, as_json)


def _duration(text: str, option: str) -> float:
    """A duration option (e.g. 72h, 14d), or one line naming the option (exit 2)."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        fail(f"{option}: {exc}")


def _applied(what: str, applied, as_json: bool, extra: dict | None = None) -> None:
    if as_json:
        typer.echo(json.dumps({"applied_step": applied.step, "clock": _clock_json(applied.clock), **(extra or {}), **({"values": applied.values} if applied.values else {})}))
        return
    clears = f"; it clears itself at step {applied.clears_at_step:,}" if applied.clears_at_step >= 0 else ""
    typer.echo(f"{what}: applied at step {applied.step:,}{clears}")
    typer.echo(_clock_line(applied.clock))


@probe_app.command("command")
def probe_command(subsystem: str = typer.Argument(..., help="The instance commanded (probe list shows each one's commands)."),
                  command: str = typer.Argument(..., help="Its command, e.g. set-throttle."),
                  arguments: Optional[List[str]] = typer.Argument(None, help="The command's arguments, in order (e.g. 0.5)."),
                  address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """Command an instance, e.g. `probe command isru set-throttle 0.5`; it takes effect at the next
    window boundary and is logged to events.jsonl (needs the token)."""
    with _client(address, token_file, tls_ca, timeout_s=90.0) as client:
        applied = _call(client, client.command, subsystem, command, *(arguments or []))
    _applied(f"{subsystem} {command} {' '.join(arguments or [])}".strip(), applied, as_json)


FAULT_FOR = typer.Option("0s", "--for", help="How long it lasts in simulated time (e.g. 72h, 3d); 0s: until `probe clear`.")


@probe_app.command("fault")
def probe_fault(target: str = typer.Argument(..., help="<id>.<component>, e.g. energy.array (probe list shows the components)."),
                mode: str = typer.Argument("fail", help="fail, or degrade (with --level)."),
                level: Optional[float] = typer.Option(None, "--level", help="degrade: the fraction of capacity left (0 < level < 1)."),
                lasts: str = FAULT_FOR,
                address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """Fail or degrade a component, e.g. `probe fault energy.array fail --for 72h` (needs the token)."""
    duration_s = _duration(lasts, "--for")
    with _client(address, token_file, tls_ca, timeout_s=90.0) as client:
        applied = _call(client, client.inject_fault, target, mode, level, duration_s)
    _applied(f"{target} {mode}", applied, as_json)


@probe_app.command("clear")
def probe_clear(target: str = typer.Argument(..., help="<id>.<component> whose fault ends now."),
                address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """End a component's fault now (needs the token)."""
    with _client(address, token_file, tls_ca, timeout_s=90.0) as client:
        applied = _call(client, client.clear_fault, target)
    _applied(f"{target} cleared", applied, as_json)


@probe_app.command("snapshot")
def probe_snapshot(address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """Keep the whole station as it is now, for `probe restore ID` (in the serve's memory; needs the token)."""
    with _client(address, token_file, tls_ca, timeout_s=90.0) as client:
        id, step = _call(client, client.snapshot)
    typer.echo(json.dumps({"snapshot_id": id, "step": step}) if as_json else f"snapshot {id} at step {step:,}")


@probe_app.command("restore")
def probe_restore(snapshot_id: str = typer.Argument(..., help="What `probe snapshot` printed."),
                  address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """Go back to a snapshot: state, clock and telemetry (needs the token)."""
    with _client(address, token_file, tls_ca, timeout_s=90.0) as client:
        c = _call(client, client.restore, snapshot_id)
    _show_clock(c, as_json)


@probe_app.command("fork")
def probe_fork(ahead: str = typer.Option(..., "--ahead", help="How far to run the copy, in simulated time (e.g. 14d)."),
               commands: Optional[List[str]] = typer.Option(None, "--command", help="A command for the copy, e.g. \"isru set-throttle 1.0\" (repeatable)."),
               faults: Optional[List[str]] = typer.Option(None, "--fault", help="A fault for the copy: \"<id>.<component> fail|degrade [LEVEL] [DURATION]\", e.g. \"energy.array fail 72h\" (repeatable)."),
               names: Optional[List[str]] = typer.Option(None, "--watch", help="Variables to sample along the way (repeatable)."),
               every: str = typer.Option("0s", "--every", help="Between samples (e.g. 1d); 0s: start and end only."),
               stream: bool = typer.Option(False, "--stream", help="Print each sample as the copy reaches it (one line each, JSON lines with --json), then the KPIs."),
               address: Optional[str] = ADDRESS, as_json: bool = AS_JSON, token_file: Optional[Path] = TOKEN_FILE, tls_ca: Optional[Path] = TLS_CA) -> None:
    """What happens if...: a copy of the station from now, given the commands and faults, run ahead
    and discarded; prints its KPIs and what changed. The live twin is untouched (needs the token)."""
    ahead_s, every_s = _duration(ahead, "--ahead"), _duration(every, "--every")
    parsed = []
    for text in faults or []:
        words = text.split()
        if len(words) < 2:
            fail(f"--fault: {text!r} is not \"<id>.<component> fail|degrade [LEVEL] [DURATION]\"")
        level, duration_s = None, 0.0
        for word in words[2:]:
            try:
                level = float(word)
                continue
            except ValueError:
                pass
            try:
                duration_s = parse_duration(word)
            except ValueError:
                fail(f"--fault: {word!r} in {text!r} is neither a level nor a duration")
        parsed.append((words[0], words[1], level, duration_s))
    with _client(address, token_file, tls_ca) as client:
        if stream:
            from services.client import ForkOutcome

            def streamed():
                for item in client.fork_stream(ahead_s, commands or [], parsed, names or [], every_s):
                    if isinstance(item, ForkOutcome):
                        return item
                    _echo_update(item, as_json)

            outcome = _call(client, streamed)
        else:
            outcome = _call(client, client.fork, ahead_s, commands or [], parsed, names or [], every_s)
    if as_json:
        typer.echo(json.dumps({"start_step": outcome.start_step, "start": iso(outcome.start.timestamp()), "end_step": outcome.end_step,
                               "end": iso(outcome.end.timestamp()), "kpis": outcome.kpis, "end_values": outcome.end_values, "change": outcome.change,
                               "samples": [{"step": u.step, "time": iso(u.time.timestamp()), "values": u.values} for u in outcome.samples],
                               "wall_s": outcome.wall_s}))
        return
    typer.echo(f"fork: {outcome.start:%Y-%m-%dT%H:%M:%SZ} to {outcome.end:%Y-%m-%dT%H:%M:%SZ} (steps {outcome.start_step:,} to {outcome.end_step:,}) in {outcome.wall_s:.1f} s; the live twin is untouched")
    typer.echo("KPIs over the fork:")
    _table([(name, _fmt(value), "") for name, value in outcome.kpis.items()])
    changed = [(name, _fmt(value), f"(now {_fmt(outcome.end_values[name])})") for name, value in outcome.change.items() if value != 0]
    if changed:
        typer.echo("What changed:")
        _table(changed)
    if not stream:  # a stream printed them as they came
        for u in outcome.samples:
            _echo_update(u, False)
