"""Telemetry columns of the astronomy kind."""
from twin.model import Column

COLUMNS = {
    "requested_w": Column("W", "rate", "observing and standby power requested"),
    "power_w": Column("W", "rate", "power drawn (0 while the science class is shed)"),
    "observing_instruments": Column("count", "state", "instruments observing this step"),
    "observing_hours": Column("h", "cumulative", "instrument-hours observed since the start"),
    "degraded_hours": Column("h", "cumulative", "instrument-hours degraded by Earth radio interference since the start"),
    "data_produced_bytes": Column("bytes", "amount", "data produced this step"),
}
