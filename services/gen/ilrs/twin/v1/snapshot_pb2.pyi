from services.gen.ilrs.twin.v1 import coupling_pb2 as _coupling_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InstanceSnapshot(_message.Message):
    __slots__ = ("id", "kind", "schema_version", "step", "payload", "rng_state")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    RNG_STATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    schema_version: int
    step: int
    payload: bytes
    rng_state: bytes
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., schema_version: _Optional[int] = ..., step: _Optional[int] = ..., payload: _Optional[bytes] = ..., rng_state: _Optional[bytes] = ...) -> None: ...

class ExchangeStats(_message.Message):
    __slots__ = ("windows", "cut_windows", "proposals")
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    CUT_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    PROPOSALS_FIELD_NUMBER: _ClassVar[int]
    windows: int
    cut_windows: int
    proposals: int
    def __init__(self, windows: _Optional[int] = ..., cut_windows: _Optional[int] = ..., proposals: _Optional[int] = ...) -> None: ...

class StationSnapshot(_message.Message):
    __slots__ = ("scenario_sha256", "step", "instances", "plan", "stats", "commands", "pending")
    SCENARIO_SHA256_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    scenario_sha256: str
    step: int
    instances: _containers.RepeatedCompositeFieldContainer[InstanceSnapshot]
    plan: _containers.RepeatedCompositeFieldContainer[_coupling_pb2.Series]
    stats: ExchangeStats
    commands: _containers.RepeatedCompositeFieldContainer[AppliedCommand]
    pending: _containers.RepeatedCompositeFieldContainer[AppliedCommand]
    def __init__(self, scenario_sha256: _Optional[str] = ..., step: _Optional[int] = ..., instances: _Optional[_Iterable[_Union[InstanceSnapshot, _Mapping]]] = ..., plan: _Optional[_Iterable[_Union[_coupling_pb2.Series, _Mapping]]] = ..., stats: _Optional[_Union[ExchangeStats, _Mapping]] = ..., commands: _Optional[_Iterable[_Union[AppliedCommand, _Mapping]]] = ..., pending: _Optional[_Iterable[_Union[AppliedCommand, _Mapping]]] = ...) -> None: ...

class AppliedCommand(_message.Message):
    __slots__ = ("target", "command", "args_json", "step")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    target: str
    command: str
    args_json: str
    step: int
    def __init__(self, target: _Optional[str] = ..., command: _Optional[str] = ..., args_json: _Optional[str] = ..., step: _Optional[int] = ...) -> None: ...
