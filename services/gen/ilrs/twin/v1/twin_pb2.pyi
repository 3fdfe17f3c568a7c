import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from services.gen.ilrs.twin.v1 import isru_pb2 as _isru_pb2
from services.gen.ilrs.twin.v1 import robotics_pb2 as _robotics_pb2
from services.gen.ilrs.twin.v1 import state_pb2 as _state_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FaultMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAULT_MODE_UNSPECIFIED: _ClassVar[FaultMode]
    FAULT_MODE_FAIL: _ClassVar[FaultMode]
    FAULT_MODE_DEGRADE: _ClassVar[FaultMode]
FAULT_MODE_UNSPECIFIED: FaultMode
FAULT_MODE_FAIL: FaultMode
FAULT_MODE_DEGRADE: FaultMode

class ListSubsystemsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VariableInfo(_message.Message):
    __slots__ = ("name", "unit", "description", "kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    unit: str
    description: str
    kind: str
    def __init__(self, name: _Optional[str] = ..., unit: _Optional[str] = ..., description: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class SubsystemInfo(_message.Message):
    __slots__ = ("id", "kind", "summary", "endpoint", "variables", "commands", "fault_components")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    FAULT_COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    summary: str
    endpoint: str
    variables: _containers.RepeatedCompositeFieldContainer[VariableInfo]
    commands: _containers.RepeatedCompositeFieldContainer[CommandInfo]
    fault_components: _containers.RepeatedCompositeFieldContainer[FaultComponentInfo]
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., summary: _Optional[str] = ..., endpoint: _Optional[str] = ..., variables: _Optional[_Iterable[_Union[VariableInfo, _Mapping]]] = ..., commands: _Optional[_Iterable[_Union[CommandInfo, _Mapping]]] = ..., fault_components: _Optional[_Iterable[_Union[FaultComponentInfo, _Mapping]]] = ...) -> None: ...

class CommandInfo(_message.Message):
    __slots__ = ("name", "description", "arguments")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    arguments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., arguments: _Optional[_Iterable[str]] = ...) -> None: ...

class FaultComponentInfo(_message.Message):
    __slots__ = ("name", "description", "modes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    modes: _containers.RepeatedScalarFieldContainer[FaultMode]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., modes: _Optional[_Iterable[_Union[FaultMode, str]]] = ...) -> None: ...

class ListSubsystemsResponse(_message.Message):
    __slots__ = ("subsystems", "clock")
    SUBSYSTEMS_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    subsystems: _containers.RepeatedCompositeFieldContainer[SubsystemInfo]
    clock: ClockStatus
    def __init__(self, subsystems: _Optional[_Iterable[_Union[SubsystemInfo, _Mapping]]] = ..., clock: _Optional[_Union[ClockStatus, _Mapping]] = ...) -> None: ...

class TwinServiceGetStateRequest(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class TwinServiceGetStateResponse(_message.Message):
    __slots__ = ("step", "time", "states", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STEP_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    step: int
    time: _timestamp_pb2.Timestamp
    states: _containers.RepeatedCompositeFieldContainer[_state_pb2.SubsystemState]
    values: _containers.ScalarMap[str, float]
    def __init__(self, step: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., states: _Optional[_Iterable[_Union[_state_pb2.SubsystemState, _Mapping]]] = ..., values: _Optional[_Mapping[str, float]] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("names", "every")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    EVERY_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    every: _duration_pb2.Duration
    def __init__(self, names: _Optional[_Iterable[str]] = ..., every: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WatchResponse(_message.Message):
    __slots__ = ("step", "time", "values", "finished")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STEP_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    step: int
    time: _timestamp_pb2.Timestamp
    values: _containers.ScalarMap[str, float]
    finished: bool
    def __init__(self, step: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., values: _Optional[_Mapping[str, float]] = ..., finished: _Optional[bool] = ...) -> None: ...

class GetClockRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClockStatus(_message.Message):
    __slots__ = ("step", "time", "end_step", "end", "paused", "speed", "hold_at_step", "finished", "step_s")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    END_STEP_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    HOLD_AT_STEP_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    STEP_S_FIELD_NUMBER: _ClassVar[int]
    step: int
    time: _timestamp_pb2.Timestamp
    end_step: int
    end: _timestamp_pb2.Timestamp
    paused: bool
    speed: float
    hold_at_step: int
    finished: bool
    step_s: int
    def __init__(self, step: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_step: _Optional[int] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paused: _Optional[bool] = ..., speed: _Optional[float] = ..., hold_at_step: _Optional[int] = ..., finished: _Optional[bool] = ..., step_s: _Optional[int] = ...) -> None: ...

class PauseRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResumeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StepToRequest(_message.Message):
    __slots__ = ("time", "ahead")
    TIME_FIELD_NUMBER: _ClassVar[int]
    AHEAD_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    ahead: _duration_pb2.Duration
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ahead: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SetSpeedRequest(_message.Message):
    __slots__ = ("speed", "max")
    SPEED_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    speed: float
    max: bool
    def __init__(self, speed: _Optional[float] = ..., max: _Optional[bool] = ...) -> None: ...

class GetClockResponse(_message.Message):
    __slots__ = ("clock",)
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    clock: ClockStatus
    def __init__(self, clock: _Optional[_Union[ClockStatus, _Mapping]] = ...) -> None: ...

class PauseResponse(_message.Message):
    __slots__ = ("clock",)
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    clock: ClockStatus
    def __init__(self, clock: _Optional[_Union[ClockStatus, _Mapping]] = ...) -> None: ...

class ResumeResponse(_message.Message):
    __slots__ = ("clock",)
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    clock: ClockStatus
    def __init__(self, clock: _Optional[_Union[ClockStatus, _Mapping]] = ...) -> None: ...

class StepToResponse(_message.Message):
    __slots__ = ("clock",)
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    clock: ClockStatus
    def __init__(self, clock: _Optional[_Union[ClockStatus, _Mapping]] = ...) -> None: ...

class SetSpeedResponse(_message.Message):
    __slots__ = ("clock",)
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    clock: ClockStatus
    def __init__(self, clock: _Optional[_Union[ClockStatus, _Mapping]] = ...) -> None: ...

class CommandRequest(_message.Message):
    __slots__ = ("subsystem", "isru", "rover", "hopper")
    SUBSYSTEM_FIELD_NUMBER: _ClassVar[int]
    ISRU_FIELD_NUMBER: _ClassVar[int]
    ROVER_FIELD_NUMBER: _ClassVar[int]
    HOPPER_FIELD_NUMBER: _ClassVar[int]
    subsystem: str
    isru: _isru_pb2.IsruCommand
    rover: _robotics_pb2.RobotCommand
    hopper: _robotics_pb2.RobotCommand
    def __init__(self, subsystem: _Optional[str] = ..., isru: _Optional[_Union[_isru_pb2.IsruCommand, _Mapping]] = ..., rover: _Optional[_Union[_robotics_pb2.RobotCommand, _Mapping]] = ..., hopper: _Optional[_Union[_robotics_pb2.RobotCommand, _Mapping]] = ...) -> None: ...

class CommandResponse(_message.Message):
    __slots__ = ("clock", "applied_step", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    APPLIED_STEP_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    clock: ClockStatus
    applied_step: int
    values: _containers.ScalarMap[str, float]
    def __init__(self, clock: _Optional[_Union[ClockStatus, _Mapping]] = ..., applied_step: _Optional[int] = ..., values: _Optional[_Mapping[str, float]] = ...) -> None: ...

class InjectFaultRequest(_message.Message):
    __slots__ = ("target", "mode", "level", "duration")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    target: str
    mode: FaultMode
    level: float
    duration: _duration_pb2.Duration
    def __init__(self, target: _Optional[str] = ..., mode: _Optional[_Union[FaultMode, str]] = ..., level: _Optional[float] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class InjectFaultResponse(_message.Message):
    __slots__ = ("clock", "applied_step", "clears_at_step")
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    APPLIED_STEP_FIELD_NUMBER: _ClassVar[int]
    CLEARS_AT_STEP_FIELD_NUMBER: _ClassVar[int]
    clock: ClockStatus
    applied_step: int
    clears_at_step: int
    def __init__(self, clock: _Optional[_Union[ClockStatus, _Mapping]] = ..., applied_step: _Optional[int] = ..., clears_at_step: _Optional[int] = ...) -> None: ...

class ClearFaultRequest(_message.Message):
    __slots__ = ("target",)
    TARGET_FIELD_NUMBER: _ClassVar[int]
    target: str
    def __init__(self, target: _Optional[str] = ...) -> None: ...

class ClearFaultResponse(_message.Message):
    __slots__ = ("clock", "applied_step")
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    APPLIED_STEP_FIELD_NUMBER: _ClassVar[int]
    clock: ClockStatus
    applied_step: int
    def __init__(self, clock: _Optional[_Union[ClockStatus, _Mapping]] = ..., applied_step: _Optional[int] = ...) -> None: ...

class TwinServiceSnapshotRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TwinServiceSnapshotResponse(_message.Message):
    __slots__ = ("snapshot_id", "step", "time")
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    snapshot_id: str
    step: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, snapshot_id: _Optional[str] = ..., step: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TwinServiceRestoreRequest(_message.Message):
    __slots__ = ("snapshot_id",)
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    snapshot_id: str
    def __init__(self, snapshot_id: _Optional[str] = ...) -> None: ...

class TwinServiceRestoreResponse(_message.Message):
    __slots__ = ("clock",)
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    clock: ClockStatus
    def __init__(self, clock: _Optional[_Union[ClockStatus, _Mapping]] = ...) -> None: ...

class ForkAction(_message.Message):
    __slots__ = ("command", "fault", "clear_fault")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    FAULT_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FAULT_FIELD_NUMBER: _ClassVar[int]
    command: CommandRequest
    fault: InjectFaultRequest
    clear_fault: ClearFaultRequest
    def __init__(self, command: _Optional[_Union[CommandRequest, _Mapping]] = ..., fault: _Optional[_Union[InjectFaultRequest, _Mapping]] = ..., clear_fault: _Optional[_Union[ClearFaultRequest, _Mapping]] = ...) -> None: ...

class ForkRequest(_message.Message):
    __slots__ = ("ahead", "actions", "names", "every")
    AHEAD_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    EVERY_FIELD_NUMBER: _ClassVar[int]
    ahead: _duration_pb2.Duration
    actions: _containers.RepeatedCompositeFieldContainer[ForkAction]
    names: _containers.RepeatedScalarFieldContainer[str]
    every: _duration_pb2.Duration
    def __init__(self, ahead: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., actions: _Optional[_Iterable[_Union[ForkAction, _Mapping]]] = ..., names: _Optional[_Iterable[str]] = ..., every: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ForkResponse(_message.Message):
    __slots__ = ("start_step", "start", "end_step", "end", "kpis", "end_values", "change", "samples", "wall_s")
    class KpisEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class EndValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ChangeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    START_STEP_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_STEP_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    KPIS_FIELD_NUMBER: _ClassVar[int]
    END_VALUES_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    WALL_S_FIELD_NUMBER: _ClassVar[int]
    start_step: int
    start: _timestamp_pb2.Timestamp
    end_step: int
    end: _timestamp_pb2.Timestamp
    kpis: _containers.ScalarMap[str, float]
    end_values: _containers.ScalarMap[str, float]
    change: _containers.ScalarMap[str, float]
    samples: _containers.RepeatedCompositeFieldContainer[WatchResponse]
    wall_s: float
    def __init__(self, start_step: _Optional[int] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_step: _Optional[int] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kpis: _Optional[_Mapping[str, float]] = ..., end_values: _Optional[_Mapping[str, float]] = ..., change: _Optional[_Mapping[str, float]] = ..., samples: _Optional[_Iterable[_Union[WatchResponse, _Mapping]]] = ..., wall_s: _Optional[float] = ...) -> None: ...

class ForkStreamRequest(_message.Message):
    __slots__ = ("fork",)
    FORK_FIELD_NUMBER: _ClassVar[int]
    fork: ForkRequest
    def __init__(self, fork: _Optional[_Union[ForkRequest, _Mapping]] = ...) -> None: ...

class ForkStreamResponse(_message.Message):
    __slots__ = ("sample", "result")
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    sample: WatchResponse
    result: ForkResponse
    def __init__(self, sample: _Optional[_Union[WatchResponse, _Mapping]] = ..., result: _Optional[_Union[ForkResponse, _Mapping]] = ...) -> None: ...
