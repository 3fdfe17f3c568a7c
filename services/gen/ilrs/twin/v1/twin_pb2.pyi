import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from services.gen.ilrs.twin.v1 import state_pb2 as _state_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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
    __slots__ = ("id", "kind", "summary", "endpoint", "variables")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    summary: str
    endpoint: str
    variables: _containers.RepeatedCompositeFieldContainer[VariableInfo]
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., summary: _Optional[str] = ..., endpoint: _Optional[str] = ..., variables: _Optional[_Iterable[_Union[VariableInfo, _Mapping]]] = ...) -> None: ...

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
