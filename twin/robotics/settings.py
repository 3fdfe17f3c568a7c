"""The scenario's ``[robotics]`` table: how robot sorties are costed.

``fidelity = "surrogate"`` costs every leg with the robot's calibrated table (physics/tables);
``"physics"`` drives every leg in PyBullet. ``physics_ranges`` asks for full physics only for the
sorties that leave within them (UTC); everywhere else the surrogate is used.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from twin.clock import parse_utc, unix_s
from twin.params import Strict


class Robotics(Strict):
    fidelity: Literal["surrogate", "physics"] = Field(default="surrogate", description="surrogate: calibrated tables for every leg; physics: every leg driven in PyBullet (slow)")
    physics_ranges: list[tuple[datetime, datetime]] = Field(default_factory=list, max_length=1000,
                                                             description="[start, end] UTC pairs: sorties leaving within them are driven in full physics")
    workers: int | Literal["auto"] = Field(default="auto", description="physics workers (Ray actors) that calibrate a missing surrogate table before the run: a count, or auto for one per CPU")
    rate_hz: float = Field(default=240.0, ge=60.0, le=2000.0, description="physics rate of full-physics legs, Hz")

    @field_validator("physics_ranges", mode="before")
    @classmethod
    def _utc_pairs(cls, value):
        if not isinstance(value, list):
            raise ValueError("give a list of [start, end] pairs of UTC instants")
        pairs = []
        for i, pair in enumerate(value):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError(f"entry {i} is not a [start, end] pair")
            try:
                pairs.append((parse_utc(pair[0]), parse_utc(pair[1])))
            except ValueError as exc:
                raise ValueError(f"entry {i}: {exc}") from None
        return pairs

    @field_validator("workers")
    @classmethod
    def _positive(cls, value):
        if value != "auto" and value < 1:
            raise ValueError("give a positive worker count or \"auto\"")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "Robotics":
        for i, (a, b) in enumerate(self.physics_ranges):
            if b <= a:
                raise ValueError(f"physics_ranges: entry {i} ends before it starts")
        return self

    def physics_at(self, t_unix_s: float) -> bool:
        """Whether a sortie leaving at ``t_unix_s`` is driven in full physics."""
        if self.fidelity == "physics":
            return True
        return any(unix_s(a) <= t_unix_s < unix_s(b) for a, b in self.physics_ranges)
