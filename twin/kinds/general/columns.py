"""Telemetry columns of the general kind."""
from twin.model import Column

COLUMNS = {
    "requested_w": Column("W", "rate", "power requested (day or night level)"),
    "power_w": Column("W", "rate", "power drawn (0 while its class is shed)"),
    "powered_frac": Column("fraction", "rate", "1 while its load class is switched on"),
    "data_produced_bytes": Column("bytes", "amount", "data produced this step"),
}
