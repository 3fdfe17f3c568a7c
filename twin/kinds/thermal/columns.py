"""Telemetry columns of the thermal kind (per enclosure ones are added by ThermalModel.columns)."""
from twin.model import Column

COLUMNS = {
    "surface_temperature_k": Column("K", "state", "temperature of the regolith surface around the station"),
    "requested_w": Column("W", "rate", "heater power asked for, all enclosures (survival class)"),
    "heater_w": Column("W", "rate", "heater power drawn (0 while survival is shed)"),
    "failed_count": Column("count", "state", "enclosures failed from the cold at the end of the step"),
}


def enclosure_columns(id: str) -> dict[str, Column]:
    return {
        f"{id}_temperature_k": Column("K", "level", f"temperature of {id} at the end of the step"),
        f"{id}_heater_w": Column("W", "rate", f"heater power drawn for {id}"),
        f"{id}_operable": Column("1", "state", f"1 while {id} is operable, 0 while it has failed"),
    }
