"""numpy <-> protobuf: arrays travel as raw little-endian bytes, decoded without copying per element.

Piecewise-constant series (most of a window's coupling: power requests, switch schedules,
visibility flags) go run-length encoded when that is much smaller; runs are found on the bit
patterns, so decoding gives back exactly the same values (-0.0 and NaN payloads included).
"""
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


_RUN = np.dtype("<u4")
_BITS = {1: np.uint8, 8: np.uint64}


def to_series(name: str, values: np.ndarray) -> pb.Series:
    array = np.asarray(values)
    dtype = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
    if dtype not in _CODES:
        dtype = np.dtype("<i8") if array.dtype.kind in "iub" else np.dtype("<f8")
    raw = np.ascontiguousarray(array, dtype=dtype).reshape(-1)
    n = raw.size
    if n >= 64:
        bits = raw.view(_BITS[dtype.itemsize])
        starts = np.flatnonzero(bits[1:] != bits[:-1]) + 1
        if (starts.size + 1) * (dtype.itemsize + _RUN.itemsize) * 4 < n * dtype.itemsize:
            starts = np.concatenate(([0], starts))
            lengths = np.diff(np.concatenate((starts, [n]))).astype(_RUN)
            return pb.Series(name=name, element_type=_CODES[dtype], data=raw[starts].tobytes(), run_lengths=lengths.tobytes())
    return pb.Series(name=name, element_type=_CODES[dtype], data=raw.tobytes())


def from_series(series: pb.Series, length: int | None = None) -> np.ndarray:
    """Decode one series; with ``length``, refuse (before expanding any runs) one of another length."""
    if series.element_type not in _DTYPES:
        raise ValueError(f"series {series.name!r}: unknown element_type {series.element_type}")
    dtype = _DTYPES[series.element_type]
    if len(series.data) % dtype.itemsize:
        raise ValueError(f"series {series.name!r}: {len(series.data)} bytes is not a whole number of {dtype.itemsize}-byte values")
    values = np.frombuffer(series.data, dtype=dtype)
    if series.run_lengths:
        if len(series.run_lengths) % _RUN.itemsize or len(series.run_lengths) // _RUN.itemsize != values.size:
            raise ValueError(f"series {series.name!r}: run_lengths must hold one 4-byte length per value")
        lengths = np.frombuffer(series.run_lengths, dtype=_RUN)
        total = int(lengths.sum(dtype=np.int64))
    else:
        lengths, total = None, values.size
    if length is not None and total != length:
        raise ValueError(f"series {series.name!r} has {total} values for a window of {length} steps")
    if lengths is not None:
        values = np.repeat(values, lengths)
    return values.astype(dtype.newbyteorder("="), copy=False)


def encode_arrays(arrays: Mapping[str, np.ndarray]) -> list[pb.Series]:
    return [to_series(name, values) for name, values in arrays.items()]


def decode_arrays(series: Iterable[pb.Series], length: int | None = None) -> dict[str, np.ndarray]:
    return {s.name: from_series(s, length) for s in series}


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
