"""Telemetry columns of the rover kind."""
from twin.model import Column
from twin.robotics.robot import ROBOT_COLUMNS

COLUMNS = {
    **ROBOT_COLUMNS,
    "regolith_offered_kg": Column("kg", "amount", "regolith offered to the hopper this step"),
    "regolith_refused_kg": Column("kg", "amount", "regolith the hopper refused this step (kept in the bin)"),
    "bin_kg": Column("kg", "level", "regolith in the bin at the end of the step"),
}
