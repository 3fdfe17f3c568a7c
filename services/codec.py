"""numpy <-> protobuf: arrays travel as raw little-endian bytes, decoded without copying per element."""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp

from services.gen.ilrs.twin.v1 import coupling_pb2 as pb
from twin.clock import Clock
from twin.models.base import LOAD_CLASSES, Window

_DTYPES = {
    pb.ELEMENT_TYPE_FLOAT64: np.dtype("<f8"),
    pb.ELEMENT_TYPE_INT64: np.dtype("<i8"),
    pb.ELEMENT_TYPE_UINT8: np.dtype("u1"),
}
_CODES = {dtype: code for code, dtype in _DTYPES.items()}


def to_series(name: str, values: np.ndarray) -> pb.Series:
    array = np.asarray(values)
    dtype = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
    if dtype not in _CODES:
        dtype = np.dtype("<i8") if array.dtype.kind in "iub" else np.dtype("<f8")
    return pb.Series(name=name, element_type=_CODES[dtype], data=np.ascontiguousarray(array, dtype=dtype).tobytes())


def from_series(series: pb.Series) -> np.ndarray:
    if series.element_type not in _DTYPES:
        raise ValueError(f"series {series.name!r}: unknown element_type {series.element_type}")
    dtype = _DTYPES[series.element_type]
    if len(series.data) % dtype.itemsize:
        raise ValueError(f"series {series.name!r}: {len(series.data)} bytes is not a whole number of {dtype.itemsize}-byte values")
    return np.frombuffer(series.data, dtype=_DTYPES[series.element_type]).astype(_DTYPES[series.element_type].newbyteorder("="), copy=False)


def encode_arrays(arrays: Mapping[str, np.ndarray]) -> list[pb.Series]:
    return [to_series(name, values) for name, values in arrays.items()]


def decode_arrays(series: Iterable[pb.Series]) -> dict[str, np.ndarray]:
    return {s.name: from_series(s) for s in series}


def encode_window(window: Window) -> pb.Window:
    start = Timestamp(seconds=window.clock.start_unix_s + window.start_step * window.clock.step_s)
    return pb.Window(start_step=window.start_step, steps=window.steps, start_time=start, step_s=window.clock.step_s)


def decode_window(message: pb.Window, clock: Clock) -> Window:
    if message.step_s != clock.step_s:
        raise ValueError(f"window.step_s: {message.step_s} s does not match the run's micro step of {clock.step_s} s")
    if message.steps < 0 or message.start_step < 0:
        raise ValueError("window: start_step and steps must not be negative")
    return Window(message.start_step, message.steps, clock)


def encode_schedules(on: np.ndarray) -> list[pb.ClassSchedule]:
    """(classes, steps) bool -> one ClassSchedule per load class."""
    rows = np.asarray(on, dtype=np.uint8)
    return [pb.ClassSchedule(load_class=int(cls), on=rows[i].tobytes()) for i, cls in enumerate(LOAD_CLASSES)]


def decode_schedules(schedules: Iterable[pb.ClassSchedule], steps: int) -> np.ndarray:
    on = np.zeros((len(LOAD_CLASSES), steps), dtype=bool)
    seen = set()
    for schedule in schedules:
        if not 1 <= schedule.load_class <= len(LOAD_CLASSES):
            raise ValueError(f"assumed: load_class {schedule.load_class} is not a load class")
        if len(schedule.on) != steps:
            raise ValueError(f"assumed: the schedule of load_class {schedule.load_class} has {len(schedule.on)} steps for a window of {steps}")
        seen.add(schedule.load_class)
        on[schedule.load_class - 1] = np.frombuffer(schedule.on, dtype=np.uint8) != 0
    if len(seen) != len(LOAD_CLASSES):
        raise ValueError("assumed: give the schedule of every load class")
    return on
