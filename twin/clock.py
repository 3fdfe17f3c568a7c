"""Simulation time: a fixed micro step on a UTC grid, addressed by integer step index.

Step ``i`` covers ``[start + i*step, start + (i+1)*step)``. Times are kept as integer seconds
so that every runtime and every window split computes bit-identical instants.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|min|m|h|d)\s*$")
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | int | float) -> float:
    """'60s', '10min', '1h', '7d' (or a number of seconds) -> seconds (finite, maybe not positive)."""
    if isinstance(text, bool):
        raise ValueError("true/false is not a number; give a duration with s, min, h or d, e.g. '60s' or '7d'")
    if isinstance(text, (int, float)):
        seconds = float(text)
        if not math.isfinite(seconds):
            raise ValueError(f"{text!r} is not a finite duration")
        return seconds
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration; use a number with s, min, h or d, e.g. '60s' or '7d'")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration; use a number with s, min, h or d, e.g. '60s' or '7d'")
    seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"{text!r} is not a finite duration")
    return seconds


def parse_utc(text: str | datetime) -> datetime:
    """ISO 8601 instant -> aware UTC datetime; a naive time is taken as UTC."""
    if isinstance(text, datetime):
        value = text
    elif isinstance(text, (str, date)) and not isinstance(text, bool):
        try:
            value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{str(text)!r} is not an ISO 8601 instant, e.g. 2030-01-01T00:00:00Z") from None
    else:
        raise ValueError(f"{text!r} is not an instant; give an ISO 8601 UTC time, e.g. 2030-01-01T00:00:00Z")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{text} is outside the years 1 to 9999 in UTC") from None


def unix_s(value: datetime) -> int:
    return int(round(value.timestamp()))


def iso(value_unix_s: float) -> str:
    return datetime.fromtimestamp(float(value_unix_s), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Clock:
    start_unix_s: int
    step_s: int
    n_steps: int

    @classmethod
    def from_span(cls, start: datetime, end: datetime, step_s: float) -> "Clock":
        step = int(step_s)
        if step != step_s or step <= 0:
            raise ValueError("step must be a positive whole number of seconds")
        span = unix_s(end) - unix_s(start)
        if span < step:
            raise ValueError("end must be at least one step after start")
        return cls(unix_s(start), step, span // step)

    @property
    def end_unix_s(self) -> int:
        return self.start_unix_s + self.n_steps * self.step_s

    @property
    def simulated_s(self) -> int:
        return self.n_steps * self.step_s

    def times(self, start_step: int, steps: int) -> np.ndarray:
        """Start instants (Unix seconds, float64, exact integers) of steps [start_step, start_step+steps)."""
        idx = np.arange(start_step, start_step + steps, dtype=np.int64)
        return (self.start_unix_s + idx * self.step_s).astype(np.float64)

    def step_at(self, when: datetime) -> int:
        """Index of the first step that starts at or after ``when`` (clamped to the run)."""
        offset = unix_s(when) - self.start_unix_s
        return int(min(max(-(-offset // self.step_s), 0), self.n_steps))

    def unix_at(self, step: int) -> int:
        """Unix seconds at the start of step ``step``."""
        return self.start_unix_s + step * self.step_s

    def datetime_at(self, step: int) -> datetime:
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=self.unix_at(step))
