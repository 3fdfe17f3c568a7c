"""Scenario files: TOML, validated on load, every error naming the file, the field and the reason."""
from __future__ import annotations

import tomllib
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from twin.clock import Clock, parse_duration, parse_utc
from twin.models.registry import Modules


class ScenarioError(ValueError):
    """A scenario that cannot be used. ``str()`` names the source, the field and the reason."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {field}: {reason}" if field else f"{source}: {reason}" for field, reason in problems]
        super().__init__("\n".join(lines))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Candidate sites of the ILRS roadmap (REFERENCE.md, "Geometry": USGS gazetteer and secondary sources).
SITES: dict[str, tuple[float, float]] = {
    "amundsen": (-84.5, 82.8),
    "aristarchus": (23.7, -47.4),
    "marius-hills": (13.4, -55.0),
}


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


class Scenario(Strict):
    scenario: Meta
    site: Site
    time: Time
    exchange: Exchange = Exchange()
    modules: Modules

    @property
    def clock(self) -> Clock:
        return Clock.from_span(self.time.start, self.time.end, self.time.step_s)

    @property
    def window_steps(self) -> int:
        return max(1, int(parse_duration(self.exchange.max_window) // self.time.step_s))

    def to_toml(self) -> str:
        data = self.model_dump(mode="json", exclude_none=True)
        return tomli_w.dumps(data)

    def with_end(self, end: datetime) -> "Scenario":
        return self.with_span(self.time.start, end)

    def with_span(self, start: datetime, end: datetime) -> "Scenario":
        data = self.model_dump()
        data["time"]["start"], data["time"]["end"] = start, end
        return Scenario.model_validate(data)


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
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _problems(exc)) from None


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
