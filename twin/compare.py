"""The site trade: the KPIs of several runs side by side, from their summary.json files.

Each row is one KPI with its unit; instances of one kind are added together (two research
modules' hours are the station's research hours). A KPI a run does not have (no ISRU plant, a
kind it lacks) is left empty, never shown as zero.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Kpi:
    name: str
    unit: str
    value: Callable[[dict], float | int | str | None]
    digits: int = 1


def _energy(key: str):
    return lambda s: s.get("energy", {}).get(key)


def _shed(cls: str):
    return lambda s: s.get("energy", {}).get("shed_hours", {}).get(cls)


def _kind_sum(kind: str, key: str):
    def value(s: dict):
        found = [v[key] for id, v in s.get("modules", {}).items() if s.get("kinds", {}).get(id) == kind and key in v]
        return sum(found) if found else None

    return value


def _per(value, divisor: float):
    return lambda s: None if value(s) is None else value(s) / divisor


def _specific_o2(s: dict):
    energy, o2 = _kind_sum("isru", "energy_kwh")(s), _kind_sum("isru", "o2_produced_kg")(s)
    return None if energy is None or not o2 else energy / o2


KPIS: tuple[Kpi, ...] = (
    Kpi("site", "", lambda s: s.get("site")),
    Kpi("span", "", lambda s: f"{s['start'][:10]} to {s['end'][:10]}" if "start" in s else None),
    Kpi("generated", "MWh", _per(_energy("generated_kwh"), 1000.0)),
    Kpi("solar", "MWh", _per(_energy("solar_kwh"), 1000.0)),
    Kpi("unserved", "MWh", _per(_energy("unserved_kwh"), 1000.0), 2),
    Kpi("curtailed", "MWh", _per(_energy("curtailed_kwh"), 1000.0)),
    Kpi("minimum state of charge", "fraction", _energy("min_storage_soc_frac"), 3),
    Kpi("shed: survival", "h", _shed("survival")),
    Kpi("shed: communications", "h", _shed("communications")),
    Kpi("shed: science", "h", _shed("science")),
    Kpi("shed: isru", "h", _shed("isru")),
    Kpi("lit fraction (arrays)", "fraction", _kind_sum("energy", "lit_frac"), 3),
    Kpi("longest darkness (arrays)", "h", _kind_sum("energy", "longest_dark_hours")),
    Kpi("direct-to-Earth link", "h", _kind_sum("communications", "dte_hours")),
    Kpi("relay link", "h", _kind_sum("communications", "relay_hours")),
    Kpi("data downlinked", "TB", _per(_kind_sum("communications", "downlinked_bytes"), 1e12), 3),
    Kpi("data lost", "GB", _per(_kind_sum("communications", "lost_bytes"), 1e9), 3),
    Kpi("oxygen produced", "kg", _kind_sum("isru", "o2_produced_kg")),
    Kpi("ISRU energy per kg of oxygen", "kWh/kg", _specific_o2),
    Kpi("observing", "h", _kind_sum("astronomy", "observing_hours")),
    Kpi("observing degraded by the Earth", "h", _kind_sum("astronomy", "degraded_hours")),
    Kpi("experiments completed", "count", _kind_sum("research", "completed_experiments_count"), 0),
    Kpi("heater energy", "kWh", _kind_sum("thermal", "heater_kwh")),
    Kpi("modules failed from the cold", "count", _kind_sum("thermal", "failures_count"), 0),
    Kpi("hours modules were failed", "h", _kind_sum("thermal", "failed_hours")),
)


def read_summary(run: Path) -> dict:
    path = Path(run) / "summary.json"
    if not path.is_file():
        raise ValueError(f"{run}: no summary.json here (give a run's output folder; an unfinished run has none)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a summary written by ilrs-twin ({exc})") from None


def table(runs: list[Path]) -> tuple[list[str], list[dict]]:
    """Run labels (their folder names) and one row per KPI: name, unit and a value per run."""
    summaries = [read_summary(r) for r in runs]
    labels = [Path(r).resolve().name for r in runs]
    rows = []
    for kpi in KPIS:
        values = [kpi.value(s) for s in summaries]
        if all(v is None for v in values):
            continue  # no run has it (a KPI of a kind none of them has)
        rows.append({"kpi": kpi.name, "unit": kpi.unit, "digits": kpi.digits, "values": values})
    return labels, rows


def formatted(value, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}"
