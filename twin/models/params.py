"""Shared pieces of module parameter models."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from twin.clock import parse_utc, unix_s


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
