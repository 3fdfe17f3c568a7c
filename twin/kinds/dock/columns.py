"""Telemetry columns of the dock kind."""
from twin.model import Column

COLUMNS = {
    "held": Column("1", "state", "1 while a robot holds the dock"),
    "waiting": Column("1", "state", "robots asking for the dock and refused this step"),
}
