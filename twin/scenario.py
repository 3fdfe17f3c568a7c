"""Scenario files: TOML, validated on load, every error naming the file, the field and the reason."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from twin.clock import Clock, parse_duration, parse_utc
from twin.environment.ephemeris import SITES
from twin.station import Connection


class ScenarioError(ValueError):
    """A scenario that cannot be used. ``str()`` names the source, the field and the reason."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {field}: {reason}" if field else f"{source}: {reason}" for field, reason in problems]
        super().__init__("\n".join(lines))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Meta(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(default=0, ge=0, lt=2**63)


class Site(Strict):
    name: str | None = None
    latitude_deg: float | None = Field(default=None, ge=-90, le=90)
    longitude_deg: float | None = Field(default=None, ge=-180, le=360)
    # Pairs [azimuth_deg, minimum_elevation_deg], azimuth from north through east.
    horizon_mask: list[tuple[float, float]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _named_or_located(self) -> "Site":
        located = self.latitude_deg is not None or self.longitude_deg is not None
        if self.name is not None and self.name not in SITES and not located:
            raise ValueError(f"unknown site {self.name!r}; known sites: {', '.join(SITES)}, or give latitude_deg and longitude_deg")
        if located and (self.latitude_deg is None or self.longitude_deg is None):
            raise ValueError("give both latitude_deg and longitude_deg")
        if self.name is None and not located:
            raise ValueError("give a site name or latitude_deg and longitude_deg")
        return self

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
    def label(self) -> str:
        lat, lon = self.location
        return self.name or f"{lat:.3f},{lon:.3f}"


class Time(Strict):
    start: datetime
    end: datetime
    step: str | float = "60s"

    @field_validator("start", "end", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> datetime:
        return parse_utc(value)

    @field_validator("step")
    @classmethod
    def _step(cls, value: Any) -> Any:
        seconds = parse_duration(value)
        if seconds <= 0 or seconds != int(seconds):
            raise ValueError("must be a positive whole number of seconds")
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

    @field_validator("max_window")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        if parse_duration(value) <= 0:
            raise ValueError("must be positive")
        return value


class Checkpoint(Strict):
    # Snapshots of the whole station at the first window boundary after every `every` of
    # simulated time, for --resume and actor recovery; "off" keeps only the start.
    every: str | float = "30d"

    @field_validator("every")
    @classmethod
    def _every(cls, value: Any) -> Any:
        if value != "off" and parse_duration(value) <= 0:
            raise ValueError("must be a positive duration or \"off\"")
        return value


class Frame(Strict):
    """Everything of a scenario but its instances and connections."""

    scenario: Meta
    site: Site
    time: Time
    exchange: Exchange = Exchange()
    checkpoint: Checkpoint = Checkpoint()


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

    def of_kind(self, kind: str) -> list[str]:
        return [id for id, instance in self.modules.items() if instance.kind == kind]

    def to_data(self) -> dict:
        data = {name: getattr(self, name).model_dump(mode="json", exclude_none=True) for name in Frame.model_fields}
        data["modules"] = {id: {"kind": i.kind, **i.params.model_dump(mode="json", exclude_none=True)} for id, i in self.modules.items()}
        if self.connections:
            data["connections"] = [{"from": a, "to": b} for a, b in self.connections]
        return data

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_data())

    def with_end(self, end: datetime) -> "Scenario":
        return self.with_span(self.time.start, end)

    def with_span(self, start: datetime, end: datetime) -> "Scenario":
        data = self.to_data()
        data["time"]["start"], data["time"]["end"] = start, end
        return from_data(data, f"scenario {self.scenario.name}")


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if not str(part).startswith(("function-", "tagged-union"))]
    return ".".join(parts)


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for item in error.errors():
        reason = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            reason = "unknown key (check the spelling; unknown keys are not ignored)"
        problems.append((_field(item["loc"]), reason))
    return problems


def parse(text: str, source: str) -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [("", f"TOML syntax error: {exc}")]) from None
    return from_data(data, source)


_ID = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def from_data(data: dict, source: str) -> Scenario:
    """Validate a scenario's data (as read from TOML): the frame, each instance, the graph."""
    from twin.registry import KindError, get
    from twin.station import Station, StationError

    data = dict(data)
    modules = data.pop("modules", None)
    connections = data.pop("connections", [])
    problems: list[tuple[str, str]] = []
    frame = None
    try:
        frame = Frame.model_validate(data)
    except ValidationError as exc:
        problems += _problems(exc)
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
            instances[id] = Instance(kind, cls.Params.model_validate(table))
        except ValidationError as exc:
            problems += [(f"{where}.{field}" if field else where, reason) for field, reason in _problems(exc)]
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
            problems += [(f"connections[{i}].{field}", reason) for field, reason in _problems(exc)]
        except ValueError as exc:
            problems.append((f"connections[{i}]", str(exc)))
    if problems:
        raise ScenarioError(source, problems)
    scenario = Scenario(frame.scenario, frame.site, frame.time, frame.exchange, frame.checkpoint, instances, tuple(pairs))
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


def load(ref: str | Path) -> Scenario:
    """A scenario file path, or the name of a built-in scenario."""
    path = Path(ref)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError(str(path), [("", "file not found")])
        return parse(path.read_text(), str(path))
    return parse(builtin_text(str(ref)), f"built-in scenario {ref}")
