from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RobotPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROBOT_PHASE_UNSPECIFIED: _ClassVar[RobotPhase]
    ROBOT_PHASE_NOT_LANDED: _ClassVar[RobotPhase]
    ROBOT_PHASE_HOME: _ClassVar[RobotPhase]
    ROBOT_PHASE_CHARGING: _ClassVar[RobotPhase]
    ROBOT_PHASE_OUTBOUND: _ClassVar[RobotPhase]
    ROBOT_PHASE_WORKING: _ClassVar[RobotPhase]
    ROBOT_PHASE_INBOUND: _ClassVar[RobotPhase]
    ROBOT_PHASE_RECOVERING: _ClassVar[RobotPhase]
    ROBOT_PHASE_DEAD: _ClassVar[RobotPhase]
ROBOT_PHASE_UNSPECIFIED: RobotPhase
ROBOT_PHASE_NOT_LANDED: RobotPhase
ROBOT_PHASE_HOME: RobotPhase
ROBOT_PHASE_CHARGING: RobotPhase
ROBOT_PHASE_OUTBOUND: RobotPhase
ROBOT_PHASE_WORKING: RobotPhase
ROBOT_PHASE_INBOUND: RobotPhase
ROBOT_PHASE_RECOVERING: RobotPhase
ROBOT_PHASE_DEAD: RobotPhase

class RoverState(_message.Message):
    __slots__ = ("phase", "x_m", "y_m", "battery_kwh", "battery_frac", "distance_km", "sorties_count", "bin_kg", "regolith_delivered_kg", "regolith_refused_kg", "survey_data_bytes", "charged_kwh", "grid_kwh", "energy_used_kwh", "availability_frac", "failures_count", "aborts_count")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    BATTERY_KWH_FIELD_NUMBER: _ClassVar[int]
    BATTERY_FRAC_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_KM_FIELD_NUMBER: _ClassVar[int]
    SORTIES_COUNT_FIELD_NUMBER: _ClassVar[int]
    BIN_KG_FIELD_NUMBER: _ClassVar[int]
    REGOLITH_DELIVERED_KG_FIELD_NUMBER: _ClassVar[int]
    REGOLITH_REFUSED_KG_FIELD_NUMBER: _ClassVar[int]
    SURVEY_DATA_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHARGED_KWH_FIELD_NUMBER: _ClassVar[int]
    GRID_KWH_FIELD_NUMBER: _ClassVar[int]
    ENERGY_USED_KWH_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FRAC_FIELD_NUMBER: _ClassVar[int]
    FAILURES_COUNT_FIELD_NUMBER: _ClassVar[int]
    ABORTS_COUNT_FIELD_NUMBER: _ClassVar[int]
    phase: RobotPhase
    x_m: float
    y_m: float
    battery_kwh: float
    battery_frac: float
    distance_km: float
    sorties_count: float
    bin_kg: float
    regolith_delivered_kg: float
    regolith_refused_kg: float
    survey_data_bytes: float
    charged_kwh: float
    grid_kwh: float
    energy_used_kwh: float
    availability_frac: float
    failures_count: float
    aborts_count: float
    def __init__(self, phase: _Optional[_Union[RobotPhase, str]] = ..., x_m: _Optional[float] = ..., y_m: _Optional[float] = ..., battery_kwh: _Optional[float] = ..., battery_frac: _Optional[float] = ..., distance_km: _Optional[float] = ..., sorties_count: _Optional[float] = ..., bin_kg: _Optional[float] = ..., regolith_delivered_kg: _Optional[float] = ..., regolith_refused_kg: _Optional[float] = ..., survey_data_bytes: _Optional[float] = ..., charged_kwh: _Optional[float] = ..., grid_kwh: _Optional[float] = ..., energy_used_kwh: _Optional[float] = ..., availability_frac: _Optional[float] = ..., failures_count: _Optional[float] = ..., aborts_count: _Optional[float] = ...) -> None: ...

class HopperState(_message.Message):
    __slots__ = ("phase", "x_m", "y_m", "battery_kwh", "battery_frac", "distance_km", "sorties_count", "hops_count", "survey_data_bytes", "charged_kwh", "grid_kwh", "energy_used_kwh", "availability_frac", "failures_count", "aborts_count")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    BATTERY_KWH_FIELD_NUMBER: _ClassVar[int]
    BATTERY_FRAC_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_KM_FIELD_NUMBER: _ClassVar[int]
    SORTIES_COUNT_FIELD_NUMBER: _ClassVar[int]
    HOPS_COUNT_FIELD_NUMBER: _ClassVar[int]
    SURVEY_DATA_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHARGED_KWH_FIELD_NUMBER: _ClassVar[int]
    GRID_KWH_FIELD_NUMBER: _ClassVar[int]
    ENERGY_USED_KWH_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FRAC_FIELD_NUMBER: _ClassVar[int]
    FAILURES_COUNT_FIELD_NUMBER: _ClassVar[int]
    ABORTS_COUNT_FIELD_NUMBER: _ClassVar[int]
    phase: RobotPhase
    x_m: float
    y_m: float
    battery_kwh: float
    battery_frac: float
    distance_km: float
    sorties_count: float
    hops_count: float
    survey_data_bytes: float
    charged_kwh: float
    grid_kwh: float
    energy_used_kwh: float
    availability_frac: float
    failures_count: float
    aborts_count: float
    def __init__(self, phase: _Optional[_Union[RobotPhase, str]] = ..., x_m: _Optional[float] = ..., y_m: _Optional[float] = ..., battery_kwh: _Optional[float] = ..., battery_frac: _Optional[float] = ..., distance_km: _Optional[float] = ..., sorties_count: _Optional[float] = ..., hops_count: _Optional[float] = ..., survey_data_bytes: _Optional[float] = ..., charged_kwh: _Optional[float] = ..., grid_kwh: _Optional[float] = ..., energy_used_kwh: _Optional[float] = ..., availability_frac: _Optional[float] = ..., failures_count: _Optional[float] = ..., aborts_count: _Optional[float] = ...) -> None: ...

class DockState(_message.Message):
    __slots__ = ("holder", "held_hours", "refused_hours", "handovers_count")
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    HELD_HOURS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_HOURS_FIELD_NUMBER: _ClassVar[int]
    HANDOVERS_COUNT_FIELD_NUMBER: _ClassVar[int]
    holder: str
    held_hours: float
    refused_hours: float
    handovers_count: float
    def __init__(self, holder: _Optional[str] = ..., held_hours: _Optional[float] = ..., refused_hours: _Optional[float] = ..., handovers_count: _Optional[float] = ...) -> None: ...

class RobotCommand(_message.Message):
    __slots__ = ("recall", "hold", "release")
    RECALL_FIELD_NUMBER: _ClassVar[int]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    recall: RecallRobot
    hold: HoldRobot
    release: ReleaseRobot
    def __init__(self, recall: _Optional[_Union[RecallRobot, _Mapping]] = ..., hold: _Optional[_Union[HoldRobot, _Mapping]] = ..., release: _Optional[_Union[ReleaseRobot, _Mapping]] = ...) -> None: ...

class RecallRobot(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HoldRobot(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReleaseRobot(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
