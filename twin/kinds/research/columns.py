"""Telemetry columns of the research kind."""
from twin.model import Column

COLUMNS = {
    "requested_w": Column("W", "rate", "standby plus the active runs' power"),
    "power_w": Column("W", "rate", "power drawn (0 while the science class is shed)"),
    "active_experiments": Column("count", "state", "runs running this step (scheduled and powered)"),
    "scheduled_experiments": Column("count", "state", "runs that would run if powered"),
    "completed_experiments": Column("count", "cumulative", "runs completed since the start"),
    "experiment_hours": Column("h", "cumulative", "running time achieved by all runs since the start"),
    "data_produced_bytes": Column("bytes", "amount", "data produced this step"),
}
