"""Shared pieces of module parameter models: strict bases, the ledgers' budgets, units."""
from __future__ import annotations

import re
import types
import typing
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from twin.clock import parse_utc, unix_s

# Energy ledgers count integer millijoules: 1 kWh = 3.6e6 J = 3.6e9 mJ.
MILLIJOULES_PER_KWH = 3.6e9

INT64_MAX = 2**63 - 1

# -- what the ephemeris covers ------------------------------------------------------------------
# JPL DE421 (skyfield-data) covers 1899-07-29 to 2053-10-09 and the Moon principal-axis kernel
# moon_pa_de421_1900-2050.bpc (lunarsky) 1900-01-01 to 2051-01-01 (TDB). The sky grids reach an
# hour before a run's start and up to three hours past its end, so a run lies within these instants
# (a day's margin inside the kernel; tests/test_bad_input.py checks them against the kernels).
EPHEMERIS_START = datetime(1900, 1, 2, tzinfo=timezone.utc)
EPHEMERIS_END = datetime(2050, 12, 31, tzinfo=timezone.utc)
EPHEMERIS_RANGE = "1900-01-02T00:00:00Z to 2050-12-31T00:00:00Z"
#: The longest run the ephemeris allows, s (about 151 years).
LONGEST_RUN_S = unix_s(EPHEMERIS_END) - unix_s(EPHEMERIS_START)

# -- budgets that keep the integer ledgers inside int64 over the longest run -------------------
# Energy is counted in integer millijoules: 1 MW for 151 years is 4.8e18 mJ, under 2^63 = 9.2e18
# (the generation and the demand of a station are each held to it, so every ledger total, sum and
# running storage level fits). 1 MW is 25 times NASA's 40 kWe fission surface power class.
MAX_POWER_W = 1e6
# Data are counted in integer bytes: 10 Gbit/s for 151 years is 6.0e18 bytes (every source of a
# station together, and any one link).
MAX_DATA_RATE_BPS = 1e10
MAX_DATA_BYTES = int(MAX_DATA_RATE_BPS / 8 * LONGEST_RUN_S)
#: The most a micro step may be, s: the models hold the sky and every rate constant over a step.
MAX_STEP_S = 86_400
#: The most items a list parameter may hold (instruments, ground stations, relays, experiments).
MAX_ITEMS = 256


def optional_utc(value: Any) -> datetime | None:
    """Validator for optional instants: None stays None, anything else becomes aware UTC."""
    return None if value is None else parse_utc(value)


def within_ephemeris(value: datetime) -> datetime:
    """An instant the sky can be computed at (a run's start and end, a relay's epoch)."""
    if not EPHEMERIS_START <= value <= EPHEMERIS_END:
        raise ValueError(f"{value:%Y-%m-%dT%H:%M:%SZ} is outside the ephemeris coverage, {EPHEMERIS_RANGE} "
                         "(JPL DE421 and the Moon PA kernel cover 1900-2050)")
    return value


_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def identifier(value: str, what: str) -> str:
    """Validator for names that become column and variable prefixes."""
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{what} name {value!r}: use lower case letters, digits and underscores, starting with a letter")
    return value


def repeated_names(names: list[str]) -> list[str]:
    """Names that occur more than once, sorted (for 'must be unique' errors)."""
    return sorted({n for n in names if names.count(n) > 1})


# -- booleans are not numbers ---------------------------------------------------------------------
_NUMBERS = (int, float)


def _is_union(origin) -> bool:
    return origin is typing.Union or origin is types.UnionType


def _bool_in_number(value: Any, annotation: Any, where: str = "") -> str | None:
    """Where ``value`` holds a true/false where ``annotation`` expects a number (None: nowhere).

    Pydantic's lax mode reads ``true`` as 1 for int and float fields; a scenario that says
    ``area_m2 = true`` is a mistake, not one square metre.
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _bool_in_number(value, args[0], where)
    if annotation is bool or annotation is Any:
        return None
    if annotation in _NUMBERS:
        return (where or ".") if isinstance(value, bool) else None
    if _is_union(origin):
        if bool in args:
            return None
        if isinstance(value, bool):
            return (where or ".") if any(a in _NUMBERS for a in args) else None
        for arg in args:
            found = _bool_in_number(value, arg, where)
            if found:
                return found
        return None
    if origin in (list, tuple, set, frozenset) and isinstance(value, (list, tuple)):
        if origin is tuple and args and args[-1] is not Ellipsis:
            pairs = zip(value, args)
        else:
            pairs = ((item, args[0] if args else Any) for item in value)
        for i, (item, arg) in enumerate(pairs):
            found = _bool_in_number(item, arg, f"{where}[{i}]")
            if found:
                return found
        return None
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        for key, item in value.items():
            found = _bool_in_number(item, args[1], f"{where}.{key}")
            if found:
                return found
    return None


class Strict(BaseModel):
    """Base of every scenario table: unknown keys are errors, numbers are finite, true/false is no number."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name) if info.field_name else None
        if field is None or not isinstance(value, (bool, list, tuple, dict)):
            return value
        where = _bool_in_number(value, field.annotation)
        if where:
            inside = "" if where == "." else f" (at {where.lstrip('.')})"
            raise ValueError(f"true/false is not a number{inside}; give a number")
        return value


class Params(Strict):
    """Base of a kind's parameters.

    ``peak_power_w`` and ``data_bytes_bound`` feed the station's ledger budgets (see
    :data:`MAX_POWER_W`, :data:`MAX_DATA_BYTES`); a kind overrides them when its request or its
    data is not simply its top-level ``*_w`` and ``*_bps`` fields.
    """

    def peak_power_w(self) -> float:
        """The most power the instance can ask for at one step, W (default: its ``*_w`` fields added up)."""
        return sum(float(v) for k, v in self if k.endswith("_w") and isinstance(v, (int, float)) and not isinstance(v, bool))

    def data_bytes_bound(self) -> float:
        """The most data the instance can produce over the longest run, bytes (default: its ``*_bps`` fields)."""
        rate = sum(float(v) for k, v in self if k.endswith("_bps") and isinstance(v, (int, float)) and not isinstance(v, bool))
        return rate / 8.0 * LONGEST_RUN_S


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
    ("_kwh_per_kg_o2", "kWh/kg"), ("_wt_pct", "wt%"), ("_kg_per_kg_regolith", "kg/kg"), ("_kg_per_day", "kg/d"), ("_per_year", "1/yr"),
    ("_soc_frac", "fraction"), ("_frac", "fraction"), ("_kwh", "kWh"), ("_kwe", "kWe"), ("_kw", "kW"), ("_w", "W"),
    ("_wh", "Wh"), ("_m2", "m^2"), ("_km", "km"), ("_m_s", "m/s"), ("_m", "m"), ("_deg", "deg"), ("_bps", "bit/s"), ("_bytes", "bytes"),
    ("_kg_per_h", "kg/h"), ("_kg", "kg"), ("_hours", "h"), ("_h", "h"), ("_j", "J"), ("_count", "count"),
    ("_temp_k", "K"), ("_s", "s"),
)


def unit_of_name(name: str) -> str:
    """The unit a name's suffix gives (``storage_soc_frac`` -> fraction), or ""."""
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def unit_of(name: str, field) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "unit" in extra:
        return str(extra["unit"])
    return unit_of_name(name)


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
            "range": range_of(name, field),
            "description": field.description or "",
            "source": str(extra.get("source", "")),
        })
    return rows


def _model_in(annotation) -> type[BaseModel] | None:
    """The model class a field holds (directly, optionally, or as the items of a list/tuple)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def field_at(model: type[BaseModel], loc: tuple) -> tuple[str, Any] | None:
    """The (name, FieldInfo) a pydantic error location points at, following nested tables and lists."""
    found = None
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            continue
        found = (part, field)
        model = _model_in(field.annotation)
    return found


def number_text(value: float | int) -> str:
    """A bound as people write it: 1000000, 0.05, 1e+10."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e7:
        value = int(value)
    return str(value) if isinstance(value, int) and abs(value) < 10**7 else f"{value:g}"


def range_of(name: str, field) -> str:
    """The allowed range of a numeric field with its unit, e.g. '[0, 1000000] W' ('' when unbounded)."""
    lower = upper = None
    for item in field.metadata:
        for attr in ("ge", "gt", "le", "lt"):
            value = getattr(item, attr, None)
            if value is None:
                continue
            if attr in ("ge", "gt"):
                lower = ("[" if attr == "ge" else "(") + number_text(value)
            else:
                upper = number_text(value) + ("]" if attr == "le" else ")")
    if lower is None and upper is None:
        return ""
    unit = unit_of(name, field)
    unit = "" if unit in ("", "1") else f" {unit}"
    return f"{lower or '(-inf'}, {upper or 'inf)'}{unit}"
