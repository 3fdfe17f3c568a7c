"""Telemetry columns of the hopper kind."""
from twin.model import Column
from twin.robotics.robot import ROBOT_COLUMNS

COLUMNS = {**ROBOT_COLUMNS, "hops": Column("1", "cumulative", "hops since landing")}
