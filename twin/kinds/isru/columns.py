"""Telemetry columns of the ISRU kind."""
from twin.model import Column

COLUMNS = {
    "requested_w": Column("W", "rate", "operating or standby power requested"),
    "power_w": Column("W", "rate", "power drawn (0 while the ISRU class is shed)"),
    "producing_frac": Column("fraction", "rate", "oxygen made this step over the nominal rate"),
    "warming_frac": Column("fraction", "rate", "1 while warming up after a power loss"),
    "regolith_stock_kg": Column("kg", "level", "regolith in the hopper at the end of the step"),
    "regolith_delivered_kg": Column("kg", "amount", "regolith accepted into the hopper this step"),
    "regolith_refused_kg": Column("kg", "amount", "regolith refused this step (hopper full, or not landed); sources keep theirs"),
    "regolith_processed_kg": Column("kg", "amount", "regolith processed this step"),
    "o2_produced_kg": Column("kg", "cumulative", "oxygen produced since the start"),
    "o2_tank_kg": Column("kg", "level", "oxygen in the tank at the end of the step"),
    "o2_offtake_kg": Column("kg", "amount", "oxygen taken from the tank this step"),
    "o2_shortfall_kg": Column("kg", "amount", "oxygen asked for that the tank could not supply this step"),
    "tailings_kg": Column("kg", "cumulative", "processed regolith left as tailings since the start"),
}
