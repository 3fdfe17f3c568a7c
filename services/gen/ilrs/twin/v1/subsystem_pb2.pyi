from services.gen.ilrs.twin.v1 import coupling_pb2 as _coupling_pb2
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

class DescribeResponse(_message.Message):
    __slots__ = ("name", "kind", "stage", "environment", "consumes", "load_class")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    CONSUMES_FIELD_NUMBER: _ClassVar[int]
    LOAD_CLASS_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    stage: int
    environment: _containers.RepeatedScalarFieldContainer[str]
    consumes: _containers.RepeatedScalarFieldContainer[str]
    load_class: _coupling_pb2.LoadClass
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., stage: _Optional[int] = ..., environment: _Optional[_Iterable[str]] = ..., consumes: _Optional[_Iterable[str]] = ..., load_class: _Optional[_Union[_coupling_pb2.LoadClass, str]] = ...) -> None: ...

class ExchangeRequest(_message.Message):
    __slots__ = ("commit_steps", "window", "environment", "inputs", "assumed")
    COMMIT_STEPS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    ASSUMED_FIELD_NUMBER: _ClassVar[int]
    commit_steps: int
    window: _coupling_pb2.Window
    environment: _containers.RepeatedCompositeFieldContainer[_coupling_pb2.Series]
    inputs: _containers.RepeatedCompositeFieldContainer[_coupling_pb2.Series]
    assumed: _containers.RepeatedCompositeFieldContainer[_coupling_pb2.ClassSchedule]
    def __init__(self, commit_steps: _Optional[int] = ..., window: _Optional[_Union[_coupling_pb2.Window, _Mapping]] = ..., environment: _Optional[_Iterable[_Union[_coupling_pb2.Series, _Mapping]]] = ..., inputs: _Optional[_Iterable[_Union[_coupling_pb2.Series, _Mapping]]] = ..., assumed: _Optional[_Iterable[_Union[_coupling_pb2.ClassSchedule, _Mapping]]] = ...) -> None: ...

class ExchangeResponse(_message.Message):
    __slots__ = ("outputs", "step")
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    outputs: _containers.RepeatedCompositeFieldContainer[_coupling_pb2.Series]
    step: int
    def __init__(self, outputs: _Optional[_Iterable[_Union[_coupling_pb2.Series, _Mapping]]] = ..., step: _Optional[int] = ...) -> None: ...

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
