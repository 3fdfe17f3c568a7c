"""Shared pieces of module parameter models."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from twin.clock import parse_utc, unix_s

MJ_PER_KWH = 3.6e9


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
    deployed: datetime

    @field_validator("deployed", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> datetime:
        return parse_utc(value)

    @property
    def deployed_unix_s(self) -> int:
        return unix_s(self.deployed)
