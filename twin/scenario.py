"""Scenario files: TOML, validated on load, every error naming the file, the field and the reason."""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from twin.clock import Clock, iso, parse_duration, parse_utc, unix_s
from twin.environment.ephemeris import SITES
from twin.params import (EPHEMERIS_END, EPHEMERIS_RANGE, LONGEST_RUN_S, MAX_DATA_BYTES, MAX_DATA_RATE_BPS, MAX_POWER_W, MAX_STEP_S,
                         Strict, field_at, number_text, range_of, unit_of, within_ephemeris)
from twin.robotics.settings import Robotics
from twin.station import Connection

# A scenario's name: the default output folder is runs/<name>, so a name is never a path.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]*")


class ScenarioError(ValueError):
    """A scenario that cannot be used. ``str()`` names the source, the field and the reason."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {field}: {reason}" if field else f"{source}: {reason}" for field, reason in problems]
        super().__init__("\n".join(lines))


class Meta(Strict):
    name: str = Field(min_length=1, max_length=64, description="a name (letters, digits, spaces, '.', '_', '-'); the default output folder is runs/<name>")
    description: str = Field(default="", max_length=2000)
    seed: int = Field(default=0, ge=0, lt=2**63)

    @field_validator("name")
    @classmethod
    def _only_a_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value) or ".." in value or value != value.strip():
            raise ValueError(f"{value!r} is not a name: use letters, digits, spaces, '.', '_' and '-', starting with a letter or digit; "
                             "no '/', '\\' or '..' (the default output folder is runs/<name>; choose a folder with --out)")
        return value


class RegolithSpec(Strict):
    """The site's regolith; each figure defaults to the built-in site's (twin/environment/regolith.py)."""

    feo_wt_pct: float | None = Field(default=None, ge=0, le=60, description="FeO in the regolith, wt%")
    tio2_wt_pct: float | None = Field(default=None, ge=0, le=60, description="TiO2 in the regolith, wt%")
    oxygen_wt_pct: float | None = Field(default=None, gt=0, le=60, description="total oxygen in the regolith, wt%")
    ice_wt_pct: float | None = Field(default=None, ge=0, le=100, description="water ice in reach (polar cold traps), wt%")


class Site(Strict):
    name: str | None = None
    latitude_deg: float | None = Field(default=None, ge=-90, le=90)
    longitude_deg: float | None = Field(default=None, ge=-180, le=360)
    # Pairs [azimuth_deg, minimum_elevation_deg], azimuth from north through east.
    horizon_mask: list[tuple[float, float]] = Field(default_factory=list, max_length=3600)
    # An elevation model instead of a mask: each instance's horizon is computed from it at its own
    # height (twin/environment/terrain.py). A relative path is relative to the scenario file.
    dem: str | None = Field(default=None, min_length=1, max_length=4096, description="elevation model: a GeoTIFF in a lunar CRS, or a .npy of heights in metres centred on the site (with dem_spacing_m)")
    dem_spacing_m: float | None = Field(default=None, gt=0, le=100_000, description="grid spacing of a .npy elevation model, metres")
    # A built-in site without dem or horizon_mask has synthetic terrain from its landforms'
    # published morphometry (twin/environment/morphometry.py).
    terrain: Literal["morphometry", "flat"] | None = Field(default=None, description="morphometry: the built-in site's synthetic terrain (the default for a named site without dem or horizon_mask); flat: a smooth sphere")
    terrain_seed: int = Field(default=1, ge=0, le=2**31 - 1, description="seed of the built-in terrain's roughness and volcanic edifices")
    regolith: RegolithSpec = Field(default_factory=RegolithSpec, description="regolith composition (default: the built-in site's)")

    @model_validator(mode="after")
    def _named_or_located(self) -> "Site":
        located = self.latitude_deg is not None or self.longitude_deg is not None
        if self.name is not None and self.name not in SITES and not located:
            raise ValueError(f"unknown site {self.name!r}; known sites: {', '.join(SITES)}, or give latitude_deg and longitude_deg")
        if located and (self.latitude_deg is None or self.longitude_deg is None):
            raise ValueError("give both latitude_deg and longitude_deg")
        if self.name is None and not located:
            raise ValueError("give a site name or latitude_deg and longitude_deg")
        if self.dem is not None and self.horizon_mask:
            raise ValueError("give either dem (the horizon computed from terrain) or horizon_mask, not both")
        if self.dem_spacing_m is not None and (self.dem is None or not self.dem.lower().endswith(".npy")):
            raise ValueError("dem_spacing_m is for a .npy elevation model (a GeoTIFF carries its own geometry)")
        if self.terrain == "morphometry":
            if self.dem is not None or self.horizon_mask:
                raise ValueError('terrain = "morphometry" is the built-in terrain: give it, dem or horizon_mask, not two of them')
            if located:
                raise ValueError('terrain = "morphometry" is built for the named sites at their own coordinates; with latitude_deg and longitude_deg give a dem')
        return self

    @property
    def builtin_terrain(self) -> bool:
        """Whether the site's horizons come from its built-in synthetic terrain."""
        located = self.latitude_deg is not None or self.longitude_deg is not None
        return self.terrain != "flat" and self.dem is None and not self.horizon_mask and not located and self.name in SITES

    @field_validator("horizon_mask")
    @classmethod
    def _mask(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        azimuths = [az for az, _ in points]
        for az, el in points:
            if not 0 <= az < 360:
                raise ValueError(f"azimuth {az} is outside [0, 360)")
            if not -90 <= el <= 90:
                raise ValueError(f"minimum elevation {el} is outside [-90, 90]")
        if len(set(azimuths)) != len(azimuths):
            raise ValueError("azimuths must not repeat")
        return points

    @property
    def location(self) -> tuple[float, float]:
        if self.latitude_deg is not None and self.longitude_deg is not None:
            return self.latitude_deg, self.longitude_deg
        return SITES[self.name]  # type: ignore[index]

    @property
    def regolith_composition(self):
        """The regolith: the scenario's figures over the built-in site's (None where neither gives one)."""
        from twin.environment.regolith import SITE_REGOLITH, Regolith

        base = SITE_REGOLITH.get(self.name) if self.latitude_deg is None else None
        given = self.regolith

        def pick(name: str, default=None):
            value = getattr(given, name)
            if value is not None:
                return value
            return getattr(base, name) if base is not None else default

        feo, tio2 = pick("feo_wt_pct"), pick("tio2_wt_pct")
        if feo is None:
            return None
        return Regolith(feo, tio2 if tio2 is not None else 0.0, pick("oxygen_wt_pct", 45.0), pick("ice_wt_pct"))

    @property
    def label(self) -> str:
        lat, lon = self.location
        return self.name or f"{lat:.3f},{lon:.3f}"


def _duration(value: Any, what: str, off: bool = False) -> Any:
    """A positive, finite duration of at most the longest run ('60s', '7d' or seconds); kept as given."""
    if off and value == "off":
        return value
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"{what} must be positive" + (' or "off"' if off else ""))
    if seconds > LONGEST_RUN_S:
        raise ValueError(f"{what} {value!r} is longer than the longest run the ephemeris allows ({LONGEST_RUN_S // 86400} d)")
    return value


class Time(Strict):
    start: datetime = Field(description=f"first instant of the run (UTC), within {EPHEMERIS_RANGE}")
    end: datetime = Field(description=f"end of the run (UTC), within {EPHEMERIS_RANGE}; a whole number of steps after start")
    step: str | float = Field(default="60s", description=f"micro step: a whole number of seconds, 1 s to {MAX_STEP_S // 86400} d")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> datetime:
        return parse_utc(value)

    @field_validator("start", "end")
    @classmethod
    def _covered(cls, value: datetime) -> datetime:
        if value.microsecond:
            raise ValueError(f"{value.isoformat()} is not a whole second")
        return within_ephemeris(value)

    @field_validator("step", mode="before")
    @classmethod
    def _step(cls, value: Any) -> Any:
        seconds = parse_duration(value)
        if seconds <= 0 or seconds != int(seconds):
            raise ValueError("must be a positive whole number of seconds")
        if seconds > MAX_STEP_S:
            raise ValueError(f"{value!r} is longer than {MAX_STEP_S // 86400} d; the models hold the sky and every rate constant over a step")
        return value

    @model_validator(mode="after")
    def _order(self) -> "Time":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).total_seconds() < parse_duration(self.step):
            raise ValueError("the run must be at least one step long")
        return self

    @property
    def step_s(self) -> int:
        return int(parse_duration(self.step))


class Exchange(Strict):
    # Longest window of micro steps exchanged in one round; windows are cut early at the first
    # step where the power allocation changes (see twin.conductor).
    max_window: str | float = "30d"

    @field_validator("max_window", mode="before")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        return _duration(value, "max_window")


class Checkpoint(Strict):
    # Snapshots of the whole station at the first window boundary after every `every` of
    # simulated time, for --resume and actor recovery; "off" keeps only the start.
    every: str | float = "30d"

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: Any) -> Any:
        return _duration(value, "every", off=True)


class TelemetryRows(Strict):
    # One row per `step` of simulated time, each column aggregated by its kind (rate: mean,
    # amount: sum, level, cumulative and state: the last step's). Default: every micro step.
    step: str | float | None = Field(default=None, description="row spacing of the telemetry: a whole number of micro steps (default: every micro step)")

    @field_validator("step", mode="before")
    @classmethod
    def _step(cls, value: Any) -> Any:
        return None if value is None else _duration(value, "step")


class Frame(Strict):
    """Everything of a scenario but its instances and connections."""

    scenario: Meta
    site: Site
    time: Time
    exchange: Exchange = Exchange()
    checkpoint: Checkpoint = Checkpoint()
    telemetry: TelemetryRows = TelemetryRows()
    robotics: Robotics = Robotics()

    @model_validator(mode="after")
    def _rows_fit(self) -> "Frame":
        if self.telemetry.step is None:
            return self
        rows, step = parse_duration(self.telemetry.step), self.time.step_s
        if rows % step:
            raise ValueError(f"telemetry.step: {self.telemetry.step!r} is not a whole number of micro steps ({step} s)")
        if self.checkpoint.every != "off" and parse_duration(self.checkpoint.every) % rows:
            raise ValueError(f"checkpoint.every: {self.checkpoint.every!r} must be a whole number of telemetry rows ({self.telemetry.step!r}), so a checkpoint is a resume point")
        return self


class ConnectionSpec(Strict):
    source: str = Field(alias="from")
    target: str = Field(alias="to")


@dataclass(frozen=True)
class Instance:
    kind: str
    params: BaseModel


@dataclass(frozen=True)
class Scenario:
    scenario: Meta
    site: Site
    time: Time
    exchange: Exchange
    checkpoint: Checkpoint
    modules: dict[str, Instance]
    connections: tuple[tuple[str, str], ...] = ()
    telemetry: TelemetryRows = TelemetryRows()
    robotics: Robotics = Robotics()

    def __hash__(self) -> int:
        return hash(self.to_toml())

    @property
    def clock(self) -> Clock:
        return Clock.from_span(self.time.start, self.time.end, self.time.step_s)

    @property
    def window_steps(self) -> int:
        return max(1, int(parse_duration(self.exchange.max_window) // self.time.step_s))

    @property
    def checkpoint_steps(self) -> int | None:
        if self.checkpoint.every == "off":
            return None
        return max(1, int(parse_duration(self.checkpoint.every) // self.time.step_s))

    @property
    def telemetry_every(self) -> int:
        """Micro steps per telemetry row."""
        return 1 if self.telemetry.step is None else int(parse_duration(self.telemetry.step) // self.time.step_s)

    def of_kind(self, kind: str) -> list[str]:
        return [id for id, instance in self.modules.items() if instance.kind == kind]

    @property
    def warnings(self) -> tuple[tuple[str, str], ...]:
        """(field, reason) of what will run but is probably not meant: instances (or their
        parts) that land at or after the end, so they never run."""
        return tuple(_late_deployments(self.modules, self.time.end, errors=False))

    @property
    def warning_lines(self) -> list[str]:
        return [f"{field}: {reason}" for field, reason in self.warnings]

    def to_data(self) -> dict:
        data = {name: getattr(self, name).model_dump(mode="json", exclude_none=True) for name in Frame.model_fields}
        data["modules"] = {id: {"kind": i.kind, **i.params.model_dump(mode="json", exclude_none=True)} for id, i in self.modules.items()}
        if self.connections:
            data["connections"] = [{"from": a, "to": b} for a, b in self.connections]
        return data

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_data())

    def with_values(self, section: str, **values) -> "Scenario":
        """The same scenario with some fields of one section changed (validated again)."""
        data = self.to_data()
        data.setdefault(section, {}).update(values)
        return from_data(data, f"scenario {self.scenario.name} ({section}: {', '.join(values)})")

    def with_end(self, end: datetime) -> "Scenario":
        return self.with_span(self.time.start, end)

    def with_span(self, start: datetime, end: datetime) -> "Scenario":
        data = self.to_data()
        data["time"]["start"], data["time"]["end"] = start, end
        return from_data(data, f"scenario {self.scenario.name}")


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if not str(part).startswith(("function-", "tagged-union"))]
    return ".".join(parts)


_BOUNDS = {"greater_than": ("gt", "greater than"), "greater_than_equal": ("ge", "greater than or equal to"),
           "less_than": ("lt", "less than"), "less_than_equal": ("le", "less than or equal to")}


def _problems(error: ValidationError, model: type[BaseModel] | None = None) -> list[tuple[str, str]]:
    """One (field, reason) per error; a bound names the field's unit and range and what was given."""
    problems = []
    for item in error.errors():
        reason = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            reason = "unknown key (check the spelling; unknown keys are not ignored)"
        elif model is not None and (item["type"] in _BOUNDS or item["type"] == "finite_number"):
            found = field_at(model, item["loc"])
            if found is not None:
                name, info = found
                unit = unit_of(name, info)
                unit = "" if unit in ("", "1", "fraction") else f" {unit}"
                allowed = range_of(name, info)
                given = item.get("input")
                given = number_text(given) if isinstance(given, (int, float)) and not isinstance(given, bool) else repr(given)
                if item["type"] in _BOUNDS:
                    key, words = _BOUNDS[item["type"]]
                    reason = f"Input should be {words} {number_text(item.get('ctx', {}).get(key))}{unit}"
                reason += f" (allowed: {allowed}; got {given})" if allowed else f" (got {given})"
        problems.append((_field(item["loc"]), reason))
    return problems


def parse(text: str, source: str, base: Path | None = None) -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [("", f"TOML syntax error: {exc}")]) from None
    except RecursionError:
        raise ScenarioError(source, [("", "TOML nested too deeply to be a scenario")]) from None
    return from_data(data, source, base)


_ID = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def _late_deployments(modules: dict[str, Instance], end: datetime, errors: bool) -> list[tuple[str, str]]:
    """Instances, and their parts with their own landing date, that land at or after ``end``.

    ``errors``: only the energy system (it would leave the whole station without power: an error);
    otherwise every other late landing (it runs, but that instance or part never does: a warning).
    """
    found = []
    for id, instance in modules.items():
        energy = instance.kind == "energy"
        deployed = getattr(instance.params, "deployed", None)
        if isinstance(deployed, datetime) and deployed >= end:
            if energy == errors:
                what = "the station would have no power at all; land the energy system before the end" if energy else f"{id} never runs"
                found.append((f"modules.{id}.deployed", f"{iso(unix_s(deployed))} is at or after the end of the run ({iso(unix_s(end))}): {what}"))
            continue
        if errors:
            continue
        for name, part in instance.params:
            landed = getattr(part, "deployed", None) if isinstance(part, BaseModel) else None
            if isinstance(landed, datetime) and landed >= end:
                found.append((f"modules.{id}.{name}.deployed", f"{iso(unix_s(landed))} is at or after the end of the run ({iso(unix_s(end))}): the {name} of {id} never runs"))
    return found


def _span_problems(time: Time) -> list[tuple[str, str]]:
    """A run is a whole number of steps: the end is never moved silently."""
    start, end, step = unix_s(time.start), unix_s(time.end), time.step_s
    span = end - start
    if span % step == 0:
        return []
    below = start + span // step * step
    above = below + step
    nearest = above if (above - end < end - below and above <= unix_s(EPHEMERIS_END)) else below
    return [("time.end", f"{span} s after start is not a whole number of {time.step!r} steps ({step} s); "
                         f"the nearest valid end is {iso(nearest)}")]


def _budget_problems(instances: dict[str, Instance]) -> list[tuple[str, str]]:
    """The station's integer ledgers must not overflow over the longest run the ephemeris allows."""
    problems = []
    power = {id: float(i.params.peak_power_w()) for id, i in instances.items() if hasattr(i.params, "peak_power_w")}
    if sum(power.values()) > MAX_POWER_W:
        biggest = ", ".join(f"{id} {w:,.0f} W" for id, w in sorted(power.items(), key=lambda kv: -kv[1])[:4])
        problems.append(("modules", f"the instances may ask for {sum(power.values()):,.0f} W at once ({biggest}); a station may ask for "
                                    f"at most {MAX_POWER_W:,.0f} W (1 MW: the energy ledger counts integer millijoules over runs of up to 151 years)"))
    data = {id: float(i.params.data_bytes_bound()) for id, i in instances.items() if hasattr(i.params, "data_bytes_bound")}
    if sum(data.values()) > MAX_DATA_BYTES:
        biggest = ", ".join(f"{id} {b:.3g} bytes" for id, b in sorted(data.items(), key=lambda kv: -kv[1])[:4])
        problems.append(("modules", f"the instances may produce {sum(data.values()):.3g} bytes over the longest run ({biggest}); a station may produce "
                                    f"at most {MAX_DATA_BYTES:.3g} bytes ({MAX_DATA_RATE_BPS:g} bit/s for 151 years: data are counted in integer bytes)"))
    return problems


def _terrain_problems(site: Site, base: Path | None) -> tuple[Site, list[tuple[str, str]]]:
    """The site with its elevation model's path resolved (against the scenario file's folder), and
    whether the model can be read and covers the site."""
    from twin.environment import terrain

    path = Path(site.dem).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    site = site.model_copy(update={"dem": str(path.resolve())})
    try:
        model = terrain.load(site.dem, site.dem_spacing_m, site.location)
        model.ground_m(*site.location)
    except ValueError as exc:
        field, sep, reason = str(exc).partition(": ")
        if sep and field in ("dem", "dem_spacing_m"):
            return site, [(f"site.{field}", reason)]
        return site, [("site.dem", str(exc))]
    return site, []


def from_data(data: dict, source: str, base: Path | None = None) -> Scenario:
    """Validate a scenario's data (as read from TOML): the frame, each instance, the graph.

    ``base``: the folder relative paths in it (an elevation model) are taken from."""
    from twin.registry import KindError, get
    from twin.station import Station, StationError

    if not isinstance(data, dict):
        raise ScenarioError(source, [("", "a scenario is a TOML document of tables")])
    data = dict(data)
    modules = data.pop("modules", None)
    connections = data.pop("connections", [])
    problems: list[tuple[str, str]] = []
    frame = None
    try:
        frame = Frame.model_validate(data)
    except ValidationError as exc:
        problems += _problems(exc, Frame)
    instances: dict[str, Instance] = {}
    if not isinstance(modules, dict) or not modules:
        problems.append(("modules", "give at least one [modules.<id>] table (an energy system: [modules.energy])"))
        modules = {}
    for id, table in modules.items():
        where = f"modules.{id}"
        if not _ID.match(id):
            problems.append((where, "an instance id is 1-32 lower-case letters, digits or '-', starting with a letter"))
            continue
        if not isinstance(table, dict):
            problems.append((where, "must be a table"))
            continue
        table = dict(table)
        kind = table.pop("kind", id)
        try:
            cls = get(kind) if isinstance(kind, str) else None
        except KindError as exc:
            problems.append((f"{where}.kind", str(exc)))
            continue
        if cls is None:
            problems.append((f"{where}.kind", "must be the name of a kind"))
            continue
        try:
            params = cls.Params.model_validate(table)
            # Site-dependent defaults (ISRU's feed from the site's regolith), filled here so the
            # resolved scenario (OUT/scenario.toml) shows them.
            if frame is not None and hasattr(params, "with_site"):
                params = params.with_site(frame.site)
            instances[id] = Instance(kind, params)
        except ValidationError as exc:
            problems += [(f"{where}.{field}" if field else where, reason) for field, reason in _problems(exc, cls.Params)]
    pairs: list[tuple[str, str]] = []
    if not isinstance(connections, list):
        problems.append(("connections", "must be an array of tables: [[connections]] from = \"<id>.<port>\", to = \"<id>.<port>\""))
        connections = []
    for i, item in enumerate(connections):
        try:
            spec = ConnectionSpec.model_validate(item)
            Connection.parse(spec.source, spec.target)
            pairs.append((spec.source, spec.target))
        except ValidationError as exc:
            problems += [(f"connections[{i}].{field}", reason) for field, reason in _problems(exc, ConnectionSpec)]
        except ValueError as exc:
            problems.append((f"connections[{i}]", str(exc)))
    if frame is not None and frame.site.dem is not None:
        site, found = _terrain_problems(frame.site, base)
        frame = frame.model_copy(update={"site": site})
        problems += found
    if frame is not None:
        problems += _span_problems(frame.time)
        problems += _late_deployments(instances, frame.time.end, errors=True)
    problems += _budget_problems(instances)
    if problems:
        raise ScenarioError(source, problems)
    scenario = Scenario(frame.scenario, frame.site, frame.time, frame.exchange, frame.checkpoint, instances, tuple(pairs), frame.telemetry, frame.robotics)
    for id, instance in instances.items():
        check = getattr(instance.params, "check_station", None)
        if check is not None:
            try:
                check(id, scenario)
            except ValueError as exc:
                problems.append((f"modules.{id}", str(exc)))
    if problems:
        raise ScenarioError(source, problems)
    try:
        Station(scenario)
    except StationError as exc:
        raise ScenarioError(source, [(exc.field, exc.reason)]) from None
    return scenario


def builtin_names() -> list[str]:
    folder = resources.files("twin") / "scenarios"
    return sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml"))


def builtin_text(name: str) -> str:
    path = resources.files("twin") / "scenarios" / f"{name}.toml"
    if not path.is_file():
        raise ScenarioError(name, [("", f"no built-in scenario named {name!r}; built-in: {', '.join(builtin_names())}")])
    return path.read_text()


#: The largest scenario file read (a scenario is a few kB; this refuses a wrong file quickly).
MAX_FILE_BYTES = 10_000_000


def read_text(path: Path) -> str:
    """A scenario file's text: a regular file of UTF-8 text, or a ScenarioError naming why not."""
    source = str(path)
    try:
        if not path.exists():
            raise ScenarioError(source, [("", "file not found")])
        if not path.is_file():
            raise ScenarioError(source, [("", "not a file (give a scenario .toml file)")])
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(source, [("", f"{size:,} bytes is too large for a scenario file (at most {MAX_FILE_BYTES:,})")])
        raw = path.read_bytes()
    except (OSError, ValueError) as exc:
        raise ScenarioError(source, [("", f"cannot read it: {getattr(exc, 'strerror', None) or exc}")]) from None
    if b"\x00" in raw:
        raise ScenarioError(source, [("", "a binary file, not a TOML scenario")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ScenarioError(source, [("", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8")]) from None


def _is_file_ref(path: Path) -> bool:
    """A reference that names a file (a .toml, or anything that exists) rather than a built-in."""
    try:
        return path.suffix == ".toml" or path.exists() or str(path) not in builtin_names() and os.sep in str(path)
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return True


def source_of(ref: str | Path) -> str:
    """How errors and warnings name a scenario reference (its path, or the built-in's name)."""
    path = Path(ref)
    return str(path) if _is_file_ref(path) else f"built-in scenario {ref}"


def load(ref: str | Path) -> Scenario:
    """A scenario file path, or the name of a built-in scenario."""
    path = Path(ref)
    if _is_file_ref(path):
        return parse(read_text(path), str(path), path.resolve().parent)
    if str(ref) not in builtin_names():
        raise ScenarioError(str(ref), [("", f"no built-in scenario named {str(ref)!r} and no such file; built-in: {', '.join(builtin_names())}")])
    return parse(builtin_text(str(ref)), f"built-in scenario {ref}")
