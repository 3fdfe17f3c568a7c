"""Shared pieces of module parameter models."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from twin.clock import parse_utc, unix_s

# Energy ledgers count integer millijoules: 1 kWh = 3.6e6 J = 3.6e9 mJ.
MILLIJOULES_PER_KWH = 3.6e9


def optional_utc(value: Any) -> datetime | None:
    """Validator for optional instants: None stays None, anything else becomes aware UTC."""
    return None if value is None else parse_utc(value)


_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def identifier(value: str, what: str) -> str:
    """Validator for names that become column and variable prefixes."""
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{what} name {value!r}: use lower case letters, digits and underscores, starting with a letter")
    return value


def repeated_names(names: list[str]) -> list[str]:
    """Names that occur more than once, sorted (for 'must be unique' errors)."""
    return sorted({n for n in names if names.count(n) > 1})


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Deployed(Params):
    # Landing date: before it the module draws no power and produces nothing.
    deployed: datetime = Field(description="landing date (UTC): before it the instance draws no power and produces nothing")

    @field_validator("deployed", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> datetime:
        return parse_utc(value)

    @property
    def deployed_unix_s(self) -> int:
        return unix_s(self.deployed)


# Units from the name's suffix, for parameter tables (one convention across the kinds).
_UNITS = (
    ("_kwh_per_kg_o2", "kWh/kg"), ("_kg_per_kg_regolith", "kg/kg"), ("_kg_per_day", "kg/d"), ("_per_year", "1/yr"),
    ("_soc_frac", "fraction"), ("_frac", "fraction"), ("_kwh", "kWh"), ("_kwe", "kWe"), ("_kw", "kW"), ("_w", "W"),
    ("_m2", "m^2"), ("_km", "km"), ("_deg", "deg"), ("_bps", "bit/s"), ("_bytes", "bytes"), ("_kg", "kg"), ("_h", "h"),
)


def unit_of(name: str, field) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "unit" in extra:
        return str(extra["unit"])
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def describe(params: type[BaseModel], prefix: str = "") -> list[dict]:
    """Rows (name, default, unit, description, source) for every field, nested tables flattened."""
    rows = []
    for name, field in params.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += describe(annotation, f"{prefix}{name}.")
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if field.is_required():
            default = "(required)"
        else:
            value = field.get_default(call_default_factory=True)
            default = "-" if value is None else (f"{len(value)} items" if isinstance(value, (tuple, list)) and value and isinstance(value[0], BaseModel) else str(value))
        rows.append({
            "name": prefix + name,
            "default": default if len(default) <= 22 else default[:19] + "...",
            "unit": unit_of(name, field),
            "description": field.description or "",
            "source": str(extra.get("source", "")),
        })
    return rows
