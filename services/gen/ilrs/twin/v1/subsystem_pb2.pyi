from services.gen.ilrs.twin.v1 import coupling_pb2 as _coupling_pb2
from services.gen.ilrs.twin.v1 import snapshot_pb2 as _snapshot_pb2
from services.gen.ilrs.twin.v1 import state_pb2 as _state_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PortInfo(_message.Message):
    __slots__ = ("name", "quantity", "unit", "direction", "feedback", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    quantity: str
    unit: str
    direction: str
    feedback: bool
    description: str
    def __init__(self, name: _Optional[str] = ..., quantity: _Optional[str] = ..., unit: _Optional[str] = ..., direction: _Optional[str] = ..., feedback: _Optional[bool] = ..., description: _Optional[str] = ...) -> None: ...

class RouteInfo(_message.Message):
    __slots__ = ("source", "source_port", "target", "target_port", "feedback")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PORT_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TARGET_PORT_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    source: str
    source_port: str
    target: str
    target_port: str
    feedback: bool
    def __init__(self, source: _Optional[str] = ..., source_port: _Optional[str] = ..., target: _Optional[str] = ..., target_port: _Optional[str] = ..., feedback: _Optional[bool] = ...) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("name", "kind", "environment", "ports", "routes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    environment: _containers.RepeatedScalarFieldContainer[str]
    ports: _containers.RepeatedCompositeFieldContainer[PortInfo]
    routes: _containers.RepeatedCompositeFieldContainer[RouteInfo]
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., environment: _Optional[_Iterable[str]] = ..., ports: _Optional[_Iterable[_Union[PortInfo, _Mapping]]] = ..., routes: _Optional[_Iterable[_Union[RouteInfo, _Mapping]]] = ...) -> None: ...

class ExchangeRequest(_message.Message):
    __slots__ = ("commit_steps", "window", "inputs", "snapshot")
    COMMIT_STEPS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    commit_steps: int
    window: _coupling_pb2.Window
    inputs: _containers.RepeatedCompositeFieldContainer[_coupling_pb2.Series]
    snapshot: bool
    def __init__(self, commit_steps: _Optional[int] = ..., window: _Optional[_Union[_coupling_pb2.Window, _Mapping]] = ..., inputs: _Optional[_Iterable[_Union[_coupling_pb2.Series, _Mapping]]] = ..., snapshot: _Optional[bool] = ...) -> None: ...

class ExchangeResponse(_message.Message):
    __slots__ = ("outputs", "step", "snapshot")
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    outputs: _containers.RepeatedCompositeFieldContainer[_coupling_pb2.Series]
    step: int
    snapshot: _snapshot_pb2.InstanceSnapshot
    def __init__(self, outputs: _Optional[_Iterable[_Union[_coupling_pb2.Series, _Mapping]]] = ..., step: _Optional[int] = ..., snapshot: _Optional[_Union[_snapshot_pb2.InstanceSnapshot, _Mapping]] = ...) -> None: ...

class FinishRequest(_message.Message):
    __slots__ = ("discard",)
    DISCARD_FIELD_NUMBER: _ClassVar[int]
    discard: bool
    def __init__(self, discard: _Optional[bool] = ...) -> None: ...

class FinishResponse(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, files: _Optional[_Iterable[str]] = ...) -> None: ...

class GetStateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStateResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: _state_pb2.SubsystemState
    def __init__(self, state: _Optional[_Union[_state_pb2.SubsystemState, _Mapping]] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SnapshotResponse(_message.Message):
    __slots__ = ("snapshot",)
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    snapshot: _snapshot_pb2.InstanceSnapshot
    def __init__(self, snapshot: _Optional[_Union[_snapshot_pb2.InstanceSnapshot, _Mapping]] = ...) -> None: ...

class RestoreRequest(_message.Message):
    __slots__ = ("snapshot",)
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    snapshot: _snapshot_pb2.InstanceSnapshot
    def __init__(self, snapshot: _Optional[_Union[_snapshot_pb2.InstanceSnapshot, _Mapping]] = ...) -> None: ...

class RestoreResponse(_message.Message):
    __slots__ = ("step",)
    STEP_FIELD_NUMBER: _ClassVar[int]
    step: int
    def __init__(self, step: _Optional[int] = ...) -> None: ...

class SubsystemServiceCommandRequest(_message.Message):
    __slots__ = ("command", "args_json", "step")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    command: str
    args_json: str
    step: int
    def __init__(self, command: _Optional[str] = ..., args_json: _Optional[str] = ..., step: _Optional[int] = ...) -> None: ...

class SubsystemServiceCommandResponse(_message.Message):
    __slots__ = ("variables",)
    class VariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    variables: _containers.ScalarMap[str, float]
    def __init__(self, variables: _Optional[_Mapping[str, float]] = ...) -> None: ...
